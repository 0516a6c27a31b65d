#!/usr/bin/env python3
"""Selective Attention at convergence (issue #35): the training protocol, its resumable queue and
its quality report. The protocol is written down in docs/language-models.md §10 and fixed in the
constants below before any test number is read; benchmarks/recipes/lm_quality.sh runs this file.

  lm_protocol.py train  --trainer BIN --rev COMMIT --data DIR --models DIR [--tokenizer FILE]
                        [--jobs 2] [--hours H] [--only pilot|search|final]
  lm_protocol.py status --trainer BIN --rev COMMIT --data DIR --models DIR [--tokenizer FILE]
  lm_protocol.py report --trainer BIN --rev COMMIT --data DIR --models DIR [--tokenizer FILE] --plot FILE.png

Every run is one train_lm command (the trainer built at the pinned commit COMMIT); its model,
output and learning curve are kept in --models under the run's name, with a key: the SHA-256 of
the trainer binary and the whole command line. A run whose files and key are there is never run
again; a run cut off (a session ends) leaves its .part file and its checkpoint (written every
CHECKPOINT_EVERY steps), and the next call continues it from there, ending bit for bit where an
uninterrupted run ends. Runs of an earlier pinned trainer (EARLIER_TRAINERS, --earlier-trainer)
count only once `train` has shown that it trains the same models: every configuration of the
protocol trained EQUIVALENCE_STEPS steps by both binaries gives byte-identical model files.
`train` runs what the protocol needs next, --jobs at a time (one thread each), and starts nothing
new after --hours; stage by stage: the pilot, the learning-rate searches (extended where a choice
falls on the grid's edge), then the reported seeds at the chosen rates. `report` prints markdown
(stdout) once every run is there and draws the validation curves; it reads the test losses, which
nothing here uses to choose anything.
Standard library only (the plot: Debian's python3-matplotlib)."""
import argparse
import csv
import hashlib
import math
import os
import signal
import subprocess
import sys
import time

# ---- The protocol (docs/language-models.md §10); changing any of it is a new protocol. ----
TRAINER_COMMIT = "fd61da1e52cecd3ca9c55256c6b2b954c5457b31"  # train_lm of every run is built here
# Earlier pins whose runs still count when `train` verifies that they train the same models bit
# for bit (§10 "Moving the pinned trainer"): 881357d, before train_lm could resume a cut-off run.
EARLIER_TRAINERS = ("881357d6d5aff4d9367f22526134e3fb5ddcf840",)
EQUIVALENCE_STEPS = 60                       # steps of the verification runs, one per configuration
CHECKPOINT_EVERY = 500                       # a run cut off loses at most this many steps
LAYERS, HEAD_DIM, WIDTH = 4, 32, 128
TOKENS_PER_STEP = 4096                       # batch = TOKENS_PER_STEP / context
PILOT_STEPS = (5000, 10000, 20000)           # the reported runs' steps: the first that the pilot
                                             # shows converged (20.5M, 41M, 82M tokens)
WARMUP_SHARE = 0.05                          # linear warm-up, then cosine decay to a tenth
EVAL_POINTS = 20                             # validation points per run (the curves)
EVAL_WINDOWS = 128                           # validation windows (spread) per curve point; the
                                             # final validation and test losses use every window
LR_GRID = (1e-3, 2e-3, 4e-3)                 # every model and context; an edge choice extends it
MAX_EXTENSIONS = 2                           # by a factor 2 beyond the edge, at most twice
SEARCH_SEED = 101                            # chooses the rate; never a reported seed
PILOT = ("chars", "standard4", 256, 2e-3)    # the convergence pilot, on the search seed
KINDS = {                                    # name: (heads, selective)
    "standard4": (4, "off"),
    "selective4": (4, "on"),
    "standard8": (8, "off"),                 # twice the attention parameters of the others
}
SETTINGS = {                                 # (tokenizer, context): reported seeds
    ("chars", 256): (1, 2, 3),
    ("chars", 512): (1, 2, 3),
    ("chars", 1024): (1, 2),
    ("subwords", 256): (1, 2, 3),
}
CONVERGED = 0.01                             # standard4's validation loss improves < 1 % over
CONVERGED_TAIL = 0.2                         # the last 20 % of its steps
# The memory stage (§10 "Memory at equal perplexity"): lm_pruning built at PRUNER_COMMIT (the first
# commit with --no-test, --decode and the five policies as §10 states them).
PRUNER_COMMIT = "cdb0c8e726804aec64c0cee5b110b9a2e0f47227"
MEMORY_TOKENIZER = "chars"
MEMORY_CONTEXTS = (256, 512, 1024)
MEMORY_SEEDS = (1, 2)
FIT_TOKENS = 16384                           # validation tokens the budgets are fitted on (spread)
TEST_TOKENS = 65536                          # test tokens the chosen budgets are decoded on (spread)
SHRINK = 0.5
TOLERANCES = (0.0, 0.005, 0.01)              # of the model's own unpruned validation perplexity
POLICIES = (                                 # policy: its settings, in the order ties go by
    ("selective", ("selective",)),           # SelectiveF: selective4 only
    ("h2o", ("h2o:0.25", "h2o:0.5", "h2o:0.75")),
    ("streaming", ("streaming:1", "streaming:4", "streaming:16")),
    ("tova", ("tova",)),
    ("knorm", ("knorm",)),
)
TARGET_FROM = {"selective4": "standard4"}    # also at that model's unpruned validation perplexity


def fmt_lr(lr):
    return "{:g}".format(lr)


class Run(object):
    def __init__(self, tok, kind, context, seed, lr, steps):
        self.tok, self.kind, self.context, self.seed, self.lr, self.steps = tok, kind, context, seed, lr, steps

    @property
    def name(self):
        return "{}_{}_c{}_s{}_lr{}_n{}".format(self.tok, self.kind, self.context, self.seed, fmt_lr(self.lr), self.steps)

    def args(self, data, tokenizer):
        heads, selective = KINDS[self.kind]
        a = ["--text-dir", data]
        if self.tok == "subwords":
            a += ["--tokenizer", tokenizer]
        a += ["--context", str(self.context), "--layers", str(LAYERS), "--heads", str(heads), "--head-dim", str(HEAD_DIM),
              "--width", str(WIDTH), "--selective", selective, "--steps", str(self.steps),
              "--batch", str(TOKENS_PER_STEP // self.context), "--lr", fmt_lr(self.lr),
              "--warmup", str(int(self.steps * WARMUP_SHARE)), "--eval-every", str(self.steps // EVAL_POINTS),
              "--eval-windows", str(EVAL_WINDOWS), "--final-windows", "0", "--seed", str(self.seed), "--quiet"]
        return a

    outputs = (".bin", ".out", ".csv")

    def command(self, store):
        # The checkpoint does not change what is trained (the trainer's tests show it bit for
        # bit), so it is not in the key.
        return [store.a.trainer] + self.args(store.a.data, store.a.tokenizer) + [
            "--save", store.path(self, ".bin"), "--curve", store.path(self, ".csv"),
            "--checkpoint", store.path(self, ".ckpt"), "--checkpoint-every", str(CHECKPOINT_EVERY)]

    def key(self, store, trainer_hash=None, rev=None):
        tok = ""
        if self.tok == "subwords":
            tok = "tokenizer sha256 {}\n".format(sha256(store.a.tokenizer))
        return "trainer sha256 {}\ncommit {}\n{}command {}\n".format(
            trainer_hash or store.trainer_hash, rev or store.a.rev, tok,
            " ".join(self.args(store.a.data, store.a.tokenizer)))

    def earlier_keys(self, store):
        """The keys of this run trained by an earlier trainer shown to train the same models."""
        return [self.key(store, h, rev) for rev, h in store.adopted()]

    def equivalence_command(self, store, trainer, out):
        """A short run of this run's configuration (no test part, a few final windows), saved to out."""
        a = self.args(store.a.data, store.a.tokenizer)
        a[a.index("--final-windows") + 1] = "4"
        return [trainer] + a + ["--test-fraction", "0", "--save", out]

    def summary(self, store):
        return "validation {:.4f}".format(store.loss(self, "validation"))


_hashes = {}


def sha256(path):
    """The file's SHA-256 (remembered while its size and modification time stay the same)."""
    st = os.stat(path)
    k = (path, st.st_size, st.st_mtime_ns)
    if k not in _hashes:
        with open(path, "rb") as f:
            _hashes[k] = hashlib.sha256(f.read()).hexdigest()
    return _hashes[k]


class Store(object):
    """The models folder: per finished job NAME.key and its outputs (a run: NAME.bin, .out, .csv;
    a memory job: memory/NAME.out)."""

    def __init__(self, a):
        self.a = a
        self.dir = a.models
        os.makedirs(os.path.join(self.dir, "memory"), exist_ok=True)
        self.trainer_hash = sha256(a.trainer)
        self.pruner_hash = sha256(a.pruner) if getattr(a, "pruner", "") else ""

    def path(self, job, ext):
        return os.path.join(self.dir, job.name + ext)

    def command(self, job):
        return job.command(self)

    def key(self, job):
        return job.key(self)

    def done(self, job):
        try:
            with open(self.path(job, ".key")) as f:
                k = f.read()
        except OSError:
            return False
        keys = [self.key(job)] + (job.earlier_keys(self) if hasattr(job, "earlier_keys") else [])
        return k in keys and all(os.path.exists(self.path(job, e)) for e in job.outputs)

    def earlier(self):
        """[(commit, binary)] of the earlier trainers given (--earlier-trainer COMMIT=BINARY)."""
        out = []
        for spec in getattr(self.a, "earlier_trainer", None) or []:
            rev, _, binary = spec.partition("=")
            out.append((rev, binary))
        return out

    def verdict_path(self, rev):
        return os.path.join(self.dir, "equivalence_{}_{}.txt".format(rev[:12], self.a.rev[:12]))

    def verdict(self, rev, binary):
        """'identical' or 'different' once `train` has compared the two trainers, else None."""
        try:
            with open(self.verdict_path(rev)) as f:
                text = f.read()
        except OSError:
            return None
        head = "earlier trainer sha256 {}\ntrainer sha256 {}\n".format(sha256(binary), self.trainer_hash)
        if not text.startswith(head):
            return None
        return text.strip().splitlines()[-1].split()[-1]

    def adopted(self):
        """[(commit, sha256)] of the earlier trainers shown to train the same models."""
        return [(rev, sha256(b)) for rev, b in self.earlier() if self.verdict(rev, b) == "identical"]

    def output(self, run):
        with open(self.path(run, ".out")) as f:
            return f.read()

    def loss(self, run, part):
        for line in self.output(run).splitlines():
            if line.startswith(part + ": loss "):
                return float(line.split()[2])
        raise ValueError("{}: no {} loss in {}".format(run.name, part, self.path(run, ".out")))

    def curve(self, run):
        with open(self.path(run, ".csv")) as f:
            return [(int(r["step"]), float(r["validation_loss"])) for r in csv.DictReader(f) if r["validation_loss"] != "nan"]


def steps_chosen(store):
    """(the reported runs' steps, pilot runs to do, the pilot runs so far): the pilot runs at each
    PILOT_STEPS in turn until its validation loss improves < CONVERGED over the last CONVERGED_TAIL
    of its steps; the steps of that run (or the last of PILOT_STEPS) are the protocol's."""
    pilots = []
    for n in PILOT_STEPS:
        run = Run(PILOT[0], PILOT[1], PILOT[2], SEARCH_SEED, PILOT[3], n)
        pilots.append(run)
        if not store.done(run):
            return None, [run], pilots
        if tail_improvement(store.curve(run), n) < CONVERGED:
            return n, [], pilots
    return PILOT_STEPS[-1], [], pilots


def search_runs(store, tok, kind, context):
    """The search runs of one model and context so far and the chosen rate (None while open)."""
    steps = steps_chosen(store)[0] or PILOT_STEPS[-1]
    grid = list(LR_GRID)
    for _ in range(MAX_EXTENSIONS + 1):
        runs = [Run(tok, kind, context, SEARCH_SEED, lr, steps // 2) for lr in grid]
        missing = [r for r in runs if not store.done(r)]
        if missing:
            return runs, missing, None
        losses = [store.loss(r, "validation") for r in runs]
        best = min(range(len(grid)), key=lambda i: (losses[i], grid[i]))
        if 0 < best < len(grid) - 1 or len(grid) >= len(LR_GRID) + MAX_EXTENSIONS:
            return runs, [], grid[best]
        grid = [grid[0] / 2] + grid if best == 0 else grid + [grid[-1] * 2]
    return runs, [], grid[best]


class Fit(object):
    """One policy setting's greedy budget fit on one reported model, on validation only."""
    outputs = (".out",)

    def __init__(self, run, setting, target=None):
        self.run, self.setting, self.target = run, setting, target

    @property
    def name(self):
        return "memory/{}_fit_{}".format(self.run.name, self.setting.replace(":", "-"))

    def args(self, store):
        a = ["--model", store.path(self.run, ".bin"), "--text-dir", store.a.data, "--fit-tokens", str(FIT_TOKENS),
             "--shrink", "{:g}".format(SHRINK), "--tolerances", ",".join("{:g}".format(t) for t in TOLERANCES),
             "--policies", self.setting, "--no-test"]
        if self.target is not None:
            a += ["--target", "{:.4f}".format(self.target)]
        return a

    def command(self, store):
        return [store.a.pruner] + self.args(store)

    def key(self, store):
        return "pruner sha256 {}\ncommit {}\nmodel sha256 {}\ncommand {}\n".format(
            store.pruner_hash, store.a.pruner_rev, sha256(store.path(self.run, ".bin")), " ".join(self.args(store)))

    def summary(self, store):
        rows = fit_results(store.output(self))
        return ", ".join("{} {} tokens".format(label, total) for label, (total, _, _) in sorted(rows.items()))


class Decode(object):
    """The chosen budgets of one model decoded on test, once (unbounded caches first)."""
    outputs = (".out",)

    def __init__(self, run, chosen):
        self.run, self.chosen = run, chosen  # chosen: [(setting, budgets)], without repeats

    @property
    def name(self):
        return "memory/{}_test".format(self.run.name)

    def args(self, store):
        a = ["--model", store.path(self.run, ".bin"), "--text-dir", store.a.data, "--test-tokens", str(TEST_TOKENS)]
        for setting, budgets in [(self.chosen[0][0], [0] * LAYERS)] + self.chosen if self.chosen else []:
            a += ["--decode", "{}={}".format(setting, ",".join(str(b) for b in budgets))]
        return a

    command, key = Fit.command, Fit.key

    def summary(self, store):
        return "{} budget sets decoded".format(len(decoded_results(store.output(self))))


def fit_results(out):
    """lm_pruning --no-test output: {label: (total, validation perplexity, budgets)} and, under
    "unpruned", the model's own validation perplexity."""
    rows = {}
    for line in out.splitlines():
        f = line.split("\t")
        if f[0] == "unpruned":
            rows["unpruned"] = (None, float(f[1]), None)
        elif f[0] == "result":
            rows[f[2]] = (int(f[3]), float(f[5]), [int(b) for b in f[8].split(",")])
    return rows


def decoded_results(out):
    """lm_pruning --decode output: {(setting, budgets tuple): test perplexity}."""
    rows = {}
    for line in out.splitlines():
        f = line.split("\t")
        if f[0] == "decoded":
            rows[(f[1], tuple(int(b) for b in f[5].split(",")))] = float(f[3])
    return rows


def choose(candidates):
    """The memory stage's choice among one policy's settings at one tolerance: the fewest tokens,
    ties to the lower validation perplexity, then to the earlier setting. candidates: [(setting,
    total, validation perplexity, budgets)] in the settings' order; returns one of them."""
    best = None
    for i, c in enumerate(candidates):
        k = (c[1], c[2], i)
        if best is None or k < best[0]:
            best = (k, c)
    return best[1] if best else None


def memory_labels():
    return ["{:g}".format(t) for t in TOLERANCES]


def memory_models(store):
    """The reported runs the memory stage prunes: [(kind, context, seed, run)]."""
    out = []
    for context in MEMORY_CONTEXTS:
        for kind in KINDS:
            lr = search_runs(store, MEMORY_TOKENIZER, kind, context)[2]
            for seed in MEMORY_SEEDS:
                out.append((kind, context, seed, Run(MEMORY_TOKENIZER, kind, context, seed, lr,
                                                     steps_chosen(store)[0] or PILOT_STEPS[-1])))
    return out


def settings_for(kind):
    return [(policy, setting) for policy, settings in POLICIES for setting in settings
            if policy != "selective" or KINDS[kind][1] == "on"]


def memory_plan(store):
    """(memory jobs to do now, whether the stage is complete): the fits of every model whose run
    is done (a model with a target once its target model's unpruned perplexity is known), then
    each model's test decode once all its fits are there."""
    todo, complete = [], True
    models = memory_models(store)
    by_key = {(k, c, s): r for k, c, s, r in models}
    for kind, context, seed, run in models:
        if not store.done(run):
            complete = False
            continue
        target = None
        if kind in TARGET_FROM:
            source = by_key[(TARGET_FROM[kind], context, seed)]
            source_fits = [Fit(source, st) for _, st in settings_for(TARGET_FROM[kind])]
            known = [f for f in source_fits if store.done(f)]
            if not known:
                complete = False
                continue
            target = fit_results(store.output(known[0]))["unpruned"][1]
        fits = [Fit(run, st, target) for _, st in settings_for(kind)]
        missing = [f for f in fits if not store.done(f)]
        if missing:
            todo += missing
            complete = False
            continue
        dec = Decode(run, chosen_budgets(store, fits)[1])
        if not store.done(dec):
            todo.append(dec)
            complete = False
    return todo, complete


def chosen_budgets(store, fits):
    """({(policy, label): (setting, total, validation perplexity, budgets)}, the distinct
    (setting, budgets) to decode) for one model's fits; label: a tolerance or "target"."""
    results = [(f.setting, fit_results(store.output(f))) for f in fits]
    choice, decode = {}, []
    for policy, settings in POLICIES:
        for label in memory_labels() + ["target"]:
            cands = [(st, r[label][0], r[label][1], r[label][2]) for st, r in results if st in settings and label in r]
            c = choose(cands)
            if c is None:
                continue
            choice[(policy, label)] = c
            if (c[0], c[3]) not in decode:
                decode.append((c[0], c[3]))
    return choice, decode


def plan(store):
    """(stage, runs still to do) for the next stage that is not complete, or ("done", [])."""
    steps, pilot, _ = steps_chosen(store)
    if pilot and pilot[0].steps != PILOT_STEPS[-1]:
        return "pilot", pilot
    # The last pilot only tells whether S = PILOT_STEPS[-1] is converged (S is that either way), so
    # the searches need not wait for it: it runs first among them.
    todo = list(pilot)
    for (tok, context) in SETTINGS:
        for kind in KINDS:
            todo += search_runs(store, tok, kind, context)[1]
    if todo:
        return ("pilot" if todo == pilot else "search"), todo
    for (tok, context), seeds in SETTINGS.items():
        for kind in KINDS:
            lr = search_runs(store, tok, kind, context)[2]
            todo += [r for r in (Run(tok, kind, context, s, lr, steps) for s in seeds) if not store.done(r)]
    if not getattr(store.a, "pruner", ""):
        return ("final", todo) if todo else ("done", [])
    # The memory stage's jobs start as their models are there, after the training runs.
    memory, complete = memory_plan(store)
    if todo:
        return "final", todo + memory
    return ("memory", memory) if not complete else ("done", [])


def verify_earlier(store, a):
    """Trains every configuration of the protocol EQUIVALENCE_STEPS steps with each earlier trainer
    not yet compared and with the pinned one, --jobs at a time, and writes the verdict: 'identical'
    when every pair of model files is byte for byte the same and the outputs agree (timings aside)."""
    configs = sorted({(tok, kind, context) for tok, context in SETTINGS for kind in KINDS})
    for rev, binary in store.earlier():
        if rev not in EARLIER_TRAINERS:
            raise SystemExit("lm_protocol: --earlier-trainer {} is not one of EARLIER_TRAINERS".format(rev))
        if store.verdict(rev, binary) is not None:
            continue
        work = os.path.join(store.dir, "equivalence_" + rev[:12])
        os.makedirs(work, exist_ok=True)
        jobs = []
        for tok, kind, context in configs:
            r = Run(tok, kind, context, SEARCH_SEED, PILOT[3], EQUIVALENCE_STEPS)
            for side, b in (("earlier", binary), ("pinned", a.trainer)):
                out = os.path.join(work, "{}_{}.bin".format(r.name, side))
                jobs.append((r.name, side, r.equivalence_command(store, b, out), out))
        print("{} verifying that trainer {} trains what {} trains: {} short runs".format(
            time.strftime("%H:%M:%S"), rev[:12], a.rev[:12], len(jobs)), file=sys.stderr, flush=True)
        results, pending, running = {}, list(jobs), []
        while pending or running:
            while pending and len(running) < a.jobs:
                name, side, cmd, out = pending.pop(0)
                p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                                     env=dict(os.environ, OMP_NUM_THREADS="1"))
                running.append((name, side, p, out))
            name, side, p, out = running.pop(0)
            text = p.communicate()[0]
            if p.returncode != 0:
                raise SystemExit("lm_protocol: the verification run {} ({}) failed:\n{}".format(name, side, text[-2000:]))
            with open(out, "rb") as f:
                model = f.read()
            kept = "\n".join(l for l in text.splitlines() if not l.startswith("training:") and not l.startswith("saved:"))
            results[(name, side)] = (hashlib.sha256(model).hexdigest(), kept)
        lines, same = [], True
        for name in sorted({n for n, _ in results}):
            e, p = results[(name, "earlier")], results[(name, "pinned")]
            ok = e == p
            same = same and ok
            lines.append("{} {} model sha256 {}{}".format(name, "same" if ok else "DIFFERENT", p[0],
                                                            "" if ok else " vs " + e[0]))
        with open(store.verdict_path(rev), "w") as f:
            f.write("earlier trainer sha256 {}\ntrainer sha256 {}\nearlier commit {}\ncommit {}\n".format(
                sha256(binary), store.trainer_hash, rev, a.rev))
            f.write("{} configurations, {} steps each, model files compared byte for byte:\n".format(
                len(configs), EQUIVALENCE_STEPS))
            f.write("\n".join(lines) + "\n")
            f.write("verdict {}\n".format("identical" if same else "different"))
        print("{} trainer {}: {}".format(time.strftime("%H:%M:%S"), rev[:12],
                                         "the same models: its runs count" if same else
                                         "other models: its runs are trained again"), file=sys.stderr, flush=True)


def train(store, a, plan=None):
    """Runs the jobs plan(store) gives, stage by stage, --jobs at a time (plan: this protocol's by
    default; va_protocol.py passes its own)."""
    plan = plan or globals()["plan"]
    running = {}
    if store.earlier():
        verify_earlier(store, a)

    def stop(signum, frame):  # SIGTERM / SIGHUP: the runs go with the queue (none left orphaned)
        raise KeyboardInterrupt
    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return run_queue(store, a, plan, running)
    except KeyboardInterrupt:
        for p, run, log, _ in running.values():
            p.terminate()
            p.wait()
            log.close()
        print("lm_protocol: stopped; {} run(s) cut off, to continue from their checkpoints (if any; else from the "
              "start): {}".format(len(running), ", ".join(running)), file=sys.stderr)
        return 130
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def run_queue(store, a, plan, running):
    deadline = time.time() + a.hours * 3600 if a.hours else None
    while True:
        stage, todo = plan(store)
        if a.only and stage != a.only:
            todo = []
        todo = [r for r in todo if r.name not in running]
        while todo and len(running) < a.jobs and (deadline is None or time.time() < deadline):
            run = todo.pop(0)
            part = store.path(run, ".part")
            env = dict(os.environ, OMP_NUM_THREADS="1")
            log = open(part, "w")
            p = subprocess.Popen(store.command(run), stdout=log, stderr=subprocess.STDOUT, env=env)
            running[run.name] = (p, run, log, time.time())
            print("{} {}: started {}".format(time.strftime("%H:%M:%S"), stage, run.name), file=sys.stderr, flush=True)
        if not running:
            break
        time.sleep(a.poll)
        for name, (p, run, log, t0) in list(running.items()):
            if p.poll() is None:
                continue
            log.close()
            del running[name]
            part = store.path(run, ".part")
            if p.returncode != 0:
                with open(part) as f:
                    tail = f.read()[-2000:]
                for other, _, other_log, _ in running.values():  # no orphaned runs left behind
                    other.terminate()
                    other.wait()
                    other_log.close()
                raise SystemExit("lm_protocol: {} failed (exit {}):\n{}".format(run.name, p.returncode, tail))
            os.replace(part, store.path(run, ".out"))
            with open(store.path(run, ".key"), "w") as f:
                f.write(store.key(run))
            print("{} done {} in {:.0f} s: {}".format(time.strftime("%H:%M:%S"), run.name, time.time() - t0,
                                                    run.summary(store)), file=sys.stderr, flush=True)
    stage, todo = plan(store)
    print("lm_protocol: next stage {}, {} run(s) to do".format(stage, len(todo)), file=sys.stderr)
    return 0


def status(store, plan=None):
    for rev, binary in store.earlier():
        v = store.verdict(rev, binary)
        print("earlier trainer {}: {}".format(rev[:12], {
            None: "not compared yet ('train' compares it first; until then its runs do not count)",
            "identical": "trains the same models; its runs count ({})".format(store.verdict_path(rev)),
            "different": "trains other models; its runs do not count ({})".format(store.verdict_path(rev))}[v]))
    stage, todo = (plan or globals()["plan"])(store)
    print("stage: {}; {} run(s) to do next:".format(stage, len(todo)))
    for r in todo:
        print("  " + r.name)
    return 0


def mean_sd(xs):
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return m, sd


def tail_improvement(curve, steps):
    """Relative improvement of the validation loss over the last CONVERGED_TAIL of the steps."""
    start = steps * (1 - CONVERGED_TAIL)
    before = [l for s, l in curve if s <= start]
    if not before:
        return float("nan")
    return (before[-1] - curve[-1][1]) / before[-1]


def bytes_per_token(out):
    for line in out.splitlines():
        if line.startswith("test: ") and "bytes per token" in line:
            return float(line.split("(")[-1].split()[0])
    return None


def report(store, a):
    stage, todo = plan(store)
    if stage != "done":
        print("lm_protocol: the protocol is not complete (stage {}, {} run(s) to do); run 'train' first".format(
            stage, len(todo)), file=sys.stderr)
        return 1
    steps, _, pilots = steps_chosen(store)
    print("## Selective Attention at convergence: language-model quality (issue #35)\n")
    print("Protocol: docs/language-models.md §10, fixed before any test loss was read. Models trained by "
          "`train_lm` built at commit `{}` (trainer SHA-256 `{}`), {} layers, width {}, heads of {}, {} tokens per "
          "step, {} steps ({:.1f}M tokens), AdamW with {:.0f} % warm-up and cosine decay; learning rate per model and "
          "context chosen on validation by runs of {} steps on seed {} (never a reported seed).\n".format(
              a.rev, store.trainer_hash[:16], LAYERS, WIDTH, HEAD_DIM, TOKENS_PER_STEP, steps,
              steps * TOKENS_PER_STEP / 1e6, WARMUP_SHARE * 100, steps // 2, SEARCH_SEED))
    for rev, binary in store.earlier():
        if store.verdict(rev, binary) == "identical":
            print("Runs trained by the earlier pinned trainer (commit `{}`) count: every configuration trained {} "
                  "steps by both trainers gave byte-identical model files (`{}`).\n".format(
                      rev, EQUIVALENCE_STEPS, os.path.basename(store.verdict_path(rev))))
    for p in pilots:
        print("Convergence pilot (standard attention, 4 heads, characters, context 256, lr {}, seed {}, {} steps): "
              "validation loss improves {:.2f} % over the last {:.0f} % of its steps.".format(
                  fmt_lr(PILOT[3]), SEARCH_SEED, p.steps, 100 * tail_improvement(store.curve(p), p.steps),
                  100 * CONVERGED_TAIL))
    print()
    print("### Learning-rate search (validation loss after {} steps, seed {})\n".format(steps // 2, SEARCH_SEED))
    print("| tokens | context | model | validation loss per rate | chosen |")
    print("|---|---|---|---|---|")
    chosen = {}
    for (tok, context) in SETTINGS:
        for kind in KINDS:
            runs, _, lr = search_runs(store, tok, kind, context)
            chosen[(tok, context, kind)] = lr
            cells = ", ".join("{}: {:.4f}".format(fmt_lr(r.lr), store.loss(r, "validation")) for r in runs)
            print("| {} | {} | {} | {} | {} |".format(tok, context, kind, cells, fmt_lr(lr)))
    print("\n### Reported runs ({} steps at the chosen rate; mean ± sd over seeds)\n".format(steps))
    print("| tokens | context | model | seeds | validation loss | test loss (nats/token) | test perplexity | "
          "test nats/byte | last-20 % improvement (standard4: < 1 % = converged) |")
    print("|---|---|---|---|---|---|---|---|---|")
    curves = []
    for (tok, context), seeds in SETTINGS.items():
        for kind in KINDS:
            runs = [Run(tok, kind, context, s, chosen[(tok, context, kind)], steps) for s in seeds]
            v = mean_sd([store.loss(r, "validation") for r in runs])
            t = mean_sd([store.loss(r, "test") for r in runs])
            bpt = [bytes_per_token(store.output(r)) for r in runs]
            nb = mean_sd([store.loss(r, "test") / b for r, b in zip(runs, bpt)]) if all(bpt) else None
            tails = [tail_improvement(store.curve(r), steps) for r in runs]
            print("| {} | {} | {} | {} | {:.4f} ± {:.4f} | {:.4f} ± {:.4f} | {:.3f} | {} | {} |".format(
                tok, context, kind, len(runs), v[0], v[1], t[0], t[1], math.exp(t[0]),
                "{:.4f} ± {:.4f}".format(*nb) if nb else "", ", ".join("{:.2f} %".format(100 * x) for x in tails)))
            curves.append((tok, context, kind, [store.curve(r) for r in runs]))
    if a.plot:
        draw(curves, a.plot, a.rev)
        print("\nValidation curves of every reported run: `{}` next to this file.".format(os.path.basename(a.plot)))
    return 0


def memory_report(store, a):
    """The memory stage's markdown (stdout) and its picture (--plot)."""
    stage, todo = plan(store)
    if stage != "done":
        print("lm_protocol: the protocol is not complete (stage {}, {} job(s) to do); run 'train' first".format(
            stage, len(todo)), file=sys.stderr)
        return 1
    labels = memory_labels()
    print("## Selective Attention at convergence: KV-cache memory at equal perplexity (issue #35)\n")
    print("Protocol: docs/language-models.md §10, fixed before any test loss was read. The reported character models "
          "of seeds {} (trainer commit `{}`) pruned by `lm_pruning` built at commit `{}` (SHA-256 `{}`): per-layer "
          "budgets fitted greedily (shrink {:g}) on {} validation tokens in spread windows, for every policy setting; "
          "per policy and tolerance the setting whose budgets hold the fewest tokens (ties: lower validation "
          "perplexity, then the order {}); those budgets decoded once on {} test tokens. Reduction = layers x context "
          "/ the budgets' total; cells: the mean over seeds [per seed], the chosen settings, and the test perplexity "
          "against the same model unpruned.\n".format(
              ", ".join(map(str, MEMORY_SEEDS)), a.rev[:12], a.pruner_rev[:12], store.pruner_hash[:16], SHRINK,
              FIT_TOKENS, ", ".join(st for _, sts in POLICIES for st in sts), TEST_TOKENS))
    models = memory_models(store)
    by_key = {(k, c, sd): r for k, c, sd, r in models}
    table = {}  # (kind, context, policy, label): [(reduction, setting, test ppl, unpruned test ppl)] per seed
    for kind, context, seed, run in models:
        fits = [Fit(run, st) for _, st in settings_for(kind)]
        if kind in TARGET_FROM:
            src = by_key[(TARGET_FROM[kind], context, seed)]
            target = fit_results(store.output(Fit(src, settings_for(TARGET_FROM[kind])[0][1])))["unpruned"][1]
            fits = [Fit(run, st, target) for _, st in settings_for(kind)]
        choice, decode = chosen_budgets(store, fits)
        tested = decoded_results(store.output(Decode(run, decode)))
        unpruned = [v for (st, b), v in tested.items() if all(x == 0 for x in b)][0]
        for (policy, label), (setting, total, _, budgets) in choice.items():
            table.setdefault((kind, context, policy, label), []).append(
                (LAYERS * context / total, setting, tested[(setting, tuple(budgets))], unpruned))
    cols = labels + ["target"]
    head = ["{:g} %".format(100 * float(l)) for l in labels] + ["at standard4's perplexity"]
    print("| context | model | policy | " + " | ".join("tolerance " + h if h[0].isdigit() else h for h in head) + " |")
    print("|---|---|---|" + "---|" * len(cols))
    for context in MEMORY_CONTEXTS:
        for kind in KINDS:
            for policy, _ in POLICIES:
                if not any((kind, context, policy, l) in table for l in cols):
                    continue
                cells = []
                for l in cols:
                    rows = table.get((kind, context, policy, l))
                    if not rows:
                        cells.append("not reached" if l == "target" and kind in TARGET_FROM else "")
                        continue
                    red = [r[0] for r in rows]
                    cells.append("{:.1f}x [{}] {}; test {}".format(
                        sum(red) / len(red), ", ".join("{:.1f}".format(x) for x in red),
                        "/".join(r[1] for r in rows),
                        ", ".join("{:+.2f} %".format(100 * (r[2] / r[3] - 1)) for r in rows)))
                print("| {} | {} | {} | {} |".format(context, kind, policy, " | ".join(cells)))
    print("\nThe paper (Leviathan et al., ICLR 2025; C4, larger models, contexts 512, 1024, 2048) reports 16x, 25x and "
          "47x less memory for the selective model at the standard model's perplexity.")
    if a.plot:
        draw_memory(table, a.plot, a.rev)
        print("\nReduction against context at the 1 % tolerance, per policy and model: `{}` next to this file.".format(
            os.path.basename(a.plot)))
    return 0


def draw_memory(table, out, rev):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    kinds = list(KINDS)
    fig, axes = plt.subplots(1, len(kinds), figsize=(4.5 * len(kinds), 4), squeeze=False, sharey=True)
    label = memory_labels()[-1]
    for ax, kind in zip(axes[0], kinds):
        for policy, _ in POLICIES:
            xs, ys = [], []
            for context in MEMORY_CONTEXTS:
                rows = table.get((kind, context, policy, label))
                if rows:
                    xs.append(context)
                    ys.append(sum(r[0] for r in rows) / len(rows))
            if xs:
                ax.plot(xs, ys, marker="o", label=policy)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_title("{}: tolerance {:g} %".format(kind, 100 * float(label)))
        ax.set_xlabel("context")
        ax.set_ylabel("KV memory reduction (x)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100, metadata={"Description": "benchmarks/protocols/lm_protocol.py memory-report, trainer commit " + rev})


def draw(curves, out, rev):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    settings = list(SETTINGS)
    fig, axes = plt.subplots(1, len(settings), figsize=(4.2 * len(settings), 4), squeeze=False)
    colors = {"standard4": "tab:blue", "selective4": "tab:red", "standard8": "tab:green"}
    for ax, (tok, context) in zip(axes[0], settings):
        for t, c, kind, runs in curves:
            if (t, c) != (tok, context):
                continue
            for i, curve in enumerate(runs):
                ax.plot([s for s, _ in curve], [l for _, l in curve], color=colors[kind], alpha=0.8,
                        label=kind if i == 0 else None)
        ax.set_title("{}, context {}".format(tok, context))
        ax.set_xlabel("step")
        ax.set_ylabel("validation loss (nats/token)")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100, metadata={"Description": "benchmarks/protocols/lm_protocol.py report, trainer commit " + rev})


FAKE_TRAINER = r"""
import json, math, os, sys, time
if os.environ.get("FAKE_TRAINER_PIDS"):  # the self-test's stop check: a run that takes long
    with open(os.environ["FAKE_TRAINER_PIDS"], "a") as f:
        f.write("{}\n".format(os.getpid()))
    time.sleep(60)
v = sys.argv[1:]
a = {x: (v[i + 1] if i + 1 < len(v) and not v[i + 1].startswith("--") else "") for i, x in enumerate(v) if x.startswith("--")}
steps, every, lr, seed = int(a["--steps"]), int(a["--eval-every"]), float(a["--lr"]), int(a["--seed"])
kind = ("selective" if a["--selective"] == "on" else "standard") + a["--heads"]
best = {"selective4": 1e-3, "standard4": 2e-3, "standard8": 8e-3}[kind]  # 1e-3: one extension, 8e-3: two
final = 1.3 + 0.01 * math.log2(lr / best) ** 2 + {"selective4": 0.0, "standard4": 0.02, "standard8": 0.01}[kind]
final += 0.001 * seed + 0.0001 * int(a["--context"]) / 256 + (0.05 if "--tokenizer" in a else 0)
loss = lambda step: final + 0.3 * math.exp(-step / 2000.0)  # converged (< 1 %) at 10000 steps, not at 5000
if "--curve" in a:
    with open(a["--curve"], "w") as f:
        f.write("step,train_loss,validation_loss,seconds\n")
        for step in range(every, steps + 1, every):
            f.write("{},{},{},0\n".format(step, loss(step) + 0.01, loss(step)))
with open(a["--save"], "w") as f:
    json.dump({"kind": kind, "context": int(a["--context"]), "seed": seed}, f)
print("validation: loss {:.4f} nats/token".format(loss(steps)))
print("test: loss {:.4f} nats/token, perplexity 1; 1 nats/byte ({} bytes per token)".format(
    loss(steps) + 0.002, "3.600" if "--tokenizer" in a else "1.000"))
"""

FAKE_PRUNER = r"""
import json, sys
args = sys.argv[1:]
a = {x: (args[i + 1] if i + 1 < len(args) and not args[i + 1].startswith("--") else "")
     for i, x in enumerate(args) if x.startswith("--")}
m = json.load(open(a["--model"]))
unpruned = {"selective4": 3.0, "standard4": 3.2, "standard8": 3.1}[m["kind"]] + 0.01 * m["seed"]
c = m["context"]
if "--decode" in a:
    for i, x in enumerate(args):
        if x == "--decode":
            spec, budgets = args[i + 1].split("=")
            b = [int(v) for v in budgets.split(",")]
            total = sum(c if v == 0 else min(v, c) for v in b)
            print("decoded\t{}\t{}\t{:.4f}\t0.5\t{}".format(spec, total, unpruned * (1 + 1.0 / total), budgets))
    sys.exit(0)
assert "--no-test" in args, "a fit must read no test token"
spec = a["--policies"]
print("unpruned\t{:.4f}\t0.5\t-\t-\t{}\t4".format(unpruned, c))
# per setting: (tokens at each tolerance, validation perplexity offset): h2o:0.5 and h2o:0.75 tie on
# tokens (the lower perplexity, h2o:0.75, wins); streaming's settings tie on both (the first wins).
sizes = {"selective": (40, 0.0), "h2o:0.25": (90, 0.0), "h2o:0.5": (60, 0.002), "h2o:0.75": (60, 0.001),
         "streaming:1": (80, 0.0), "streaming:4": (80, 0.0), "streaming:16": (80, 0.0), "tova": (70, 0.0),
         "knorm": (200, 0.0)}
n, off = sizes[spec]
for k, label in enumerate(a["--tolerances"].split(",")):
    total = n * c // 64 // (k + 1)
    b = [total // 4] * 4
    print("result\t{}\t{}\t{}\t{:.2f}\t{:.4f}\t-\t-\t{}".format(spec, label, total, 4.0 * c / total,
          unpruned * (1 + off), ",".join(map(str, b))))
if "--target" in a and float(a["--target"]) > unpruned:
    total = n * c // 64 // 8
    print("result\t{}\ttarget\t{}\t{:.2f}\t{:.4f}\t-\t-\t{}".format(spec, total, 4.0 * c / total,
          unpruned * (1 + off), ",".join([str(total // 4)] * 4)))
"""


def self_test():
    """Runs the whole protocol with a fake trainer and pruner (scripts that print what the real ones
    print) and checks the driver's decisions: the pilot's steps, the searches and their extensions,
    the reported runs, the memory stage's jobs and choices, the caching, the reports."""
    import io
    import contextlib
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, body in (("trainer", FAKE_TRAINER), ("pruner", FAKE_PRUNER)):
            paths[name] = os.path.join(tmp, name)
            with open(paths[name], "w") as f:
                f.write("#!{}\n{}".format(sys.executable, body))
            os.chmod(paths[name], 0o755)
        data, models = os.path.join(tmp, "data"), os.path.join(tmp, "models")
        os.makedirs(data)
        tokenizer = os.path.join(tmp, "tok.model")
        with open(tokenizer, "w") as f:
            f.write("pieces")
        base = ["--trainer", paths["trainer"], "--rev", "0" * 40, "--data", data, "--models", models,
                "--tokenizer", tokenizer, "--pruner", paths["pruner"], "--pruner-rev", PRUNER_COMMIT, "--plot", ""]

        def call(*args):
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                code = main(list(args) + base)
            return code, out.getvalue()

        def check(cond, what):
            if not cond:
                raise SystemExit("lm_protocol self-test: " + what)

        check(call("status")[1].startswith("stage: pilot; 1 run"), "the first stage is the 5000-step pilot")
        check(call("report")[0] == 1, "no report before the runs")
        check(call("train", "--jobs", "3", "--poll", "0.01")[0] == 0, "train")
        check(call("status")[1].startswith("stage: done; 0 run"), "everything done: " + call("status")[1][:200])
        names = sorted(f[:-4] for f in os.listdir(models) if f.endswith(".key"))
        pilots = [n for n in names if "_s101_" in n and n.startswith("chars_standard4_c256") and "lr0.002" in n]
        check(pilots == ["chars_standard4_c256_s101_lr0.002_n10000", "chars_standard4_c256_s101_lr0.002_n5000"],
              "pilots at 5000 (not converged) and 10000 (converged), not 20000: {}".format(pilots))
        check("chars_selective4_c512_s101_lr0.0005_n5000" in names and
              "chars_selective4_c512_s101_lr0.00025_n5000" not in names, "selective: one extension below")
        check("chars_standard8_c512_s101_lr0.016_n5000" in names and
              "chars_standard8_c512_s101_lr0.032_n5000" not in names, "standard8: two extensions above, no more")
        finals = [n for n in names if "_s101_" not in n]
        check(len(finals) == 3 * sum(len(v) for v in SETTINGS.values()), "the reported runs: {}".format(len(finals)))
        check(all(n.endswith("_n10000") for n in finals), "the reported runs take the pilot's steps")
        check("chars_selective4_c256_s1_lr0.001_n10000" in finals and
              "chars_standard8_c256_s2_lr0.008_n10000" in finals, "the reported runs take the chosen rates")
        mem = sorted(f[:-4] for f in os.listdir(os.path.join(models, "memory")) if f.endswith(".key"))
        per_model = {k: len(settings_for(k)) + 1 for k in KINDS}
        check(len(mem) == len(MEMORY_CONTEXTS) * len(MEMORY_SEEDS) * sum(per_model.values()),
              "memory jobs: {}".format(len(mem)))
        check(not any("_s3_" in n for n in mem) and not any("_fit_selective" in n and "standard" in n for n in mem),
              "the memory stage prunes seeds 1 and 2, SelectiveF only on selective models")
        with open(os.path.join(models, "memory", "chars_selective4_c512_s2_lr0.001_n10000_fit_h2o-0.25.key")) as f:
            check("--target 3.2200" in f.read(), "selective4's target is standard4's unpruned validation perplexity")
        with open(os.path.join(models, "memory", "chars_selective4_c512_s2_lr0.001_n10000_test.key")) as f:
            key = f.read()
        # 512 · n // 64 // (k + 1) tokens: h2o:0.75 (60, lower perplexity than h2o:0.5), streaming:1 (ties)
        for want in ("--decode selective=0,0,0,0 ", "--decode selective=80,80,80,80 ", "--decode h2o:0.75=120,120,120,120 ",
                     "--decode h2o:0.75=40,40,40,40 ", "--decode streaming:1=160,160,160,160 ",
                     "--decode tova=140,140,140,140 ", "--decode knorm=400,400,400,400 ", "--decode selective=10,10,10,10"):
            check(want in key + " ", "the test decode has '{}': {}".format(want, key))
        for unwanted in ("h2o:0.5=", "h2o:0.25=", "streaming:4=", "streaming:16=", "--no-test"):
            check(unwanted not in key, "the test decode has no '{}'".format(unwanted))
        code, text = call("report")
        check(code == 0 and "| chars | 256 | selective4 | 3 |" in text, "the quality report: " + text[-500:])
        code, text = call("memory-report")
        check(code == 0 and "| 512 | selective4 | h2o | 4.3x [4.3, 4.3] h2o:0.75/h2o:0.75" in text,
              "the memory report: " + text[-800:])
        check("| 512 | standard4 | selective |" not in text, "no SelectiveF row for standard models")
        # Moving the pin: the runs of the earlier trainer count once it is shown to train the same
        # models (a build with other bytes and the same behaviour); a trainer that trains other
        # models is found out and its runs are trained again.
        global EARLIER_TRAINERS
        saved_earlier = EARLIER_TRAINERS
        EARLIER_TRAINERS = ("0" * 40,)
        keys_before = {n: open(os.path.join(models, n + ".key")).read() for n in names}

        def moved(trainer_body, rev, *args):
            path = os.path.join(tmp, "trainer_" + rev[:1])
            with open(path, "w") as f:
                f.write("#!{}\n{}".format(sys.executable, trainer_body))
            os.chmod(path, 0o755)
            swap = {paths["trainer"]: path, "0" * 40: rev}
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
                code = main(list(args) + [swap.get(x, x) for x in base] +
                            ["--earlier-trainer", "0" * 40 + "=" + paths["trainer"]])
            return code, out.getvalue()

        same = FAKE_TRAINER + "\n# rebuilt: other bytes, the same models\n"
        code, text = moved(same, "3" * 40, "status")
        check("not compared yet" in text and "stage: pilot" in text, "an earlier trainer counts only once compared: " + text)
        check(moved(same, "3" * 40, "train", "--jobs", "2", "--poll", "0.01")[0] == 0, "train after moving the pin")
        code, text = moved(same, "3" * 40, "status")
        check("trains the same models; its runs count" in text and "stage: done; 0 run" in text,
              "the earlier trainer's runs count: " + text[:400])
        check(all(open(os.path.join(models, n + ".key")).read() == k for n, k in keys_before.items()),
              "no run was trained again")
        check(len([f for f in os.listdir(os.path.join(models, "equivalence_" + "0" * 12))]) ==
              2 * len(KINDS) * len(SETTINGS), "one short run per configuration and trainer")
        other = FAKE_TRAINER.replace('json.dump({"kind"', 'json.dump({"rebuilt": 1, "kind"')
        check(moved(other, "4" * 40, "train", "--hours", "1e-9", "--poll", "0.01")[0] == 0, "train with another trainer")
        code, text = moved(other, "4" * 40, "status")
        check("trains other models; its runs do not count" in text and "stage: pilot; 1 run" in text,
              "a trainer that trains other models retrains from the pilot: " + text[:400])
        EARLIER_TRAINERS = saved_earlier
        # Stopped (SIGTERM, as when a session ends), the queue takes its runs with it.
        pids = os.path.join(tmp, "pids")
        fresh = os.path.join(tmp, "fresh")
        queue = subprocess.Popen([sys.executable, os.path.abspath(__file__), "train", "--jobs", "2", "--poll", "0.01"] +
                                 [fresh if x == models else x for x in base], env=dict(os.environ, FAKE_TRAINER_PIDS=pids),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(1000):
            if os.path.exists(pids) and len(open(pids).read().split()) >= 1:
                break
            time.sleep(0.01)
        time.sleep(0.2)
        queue.send_signal(signal.SIGTERM)
        check(queue.wait(timeout=30) == 130, "a stopped queue exits with 130")
        started = [int(x) for x in open(pids).read().split()]
        check(started, "the slow run started")
        for pid in started:
            try:
                os.kill(pid, 0)
                alive = True
            except ProcessLookupError:
                alive = False
            check(not alive, "run {} outlived its stopped queue".format(pid))
        check(not any(f.endswith(".key") for f in os.listdir(fresh)), "a cut-off run is not recorded as done")
        # A changed trainer binary is a new protocol: nothing cached counts.
        with open(paths["trainer"], "a") as f:
            f.write("\n# changed\n")
        check(call("status")[1].startswith("stage: pilot; 1 run"), "a changed trainer retrains from the pilot")
    print("lm_protocol self-test: ok")
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["self-test"]:
        return self_test()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["train", "status", "report", "memory-report", "self-test"])
    ap.add_argument("--trainer", required=True, help="train_lm built at the pinned commit")
    ap.add_argument("--rev", required=True, help="the commit the trainer was built at")
    ap.add_argument("--data", required=True, help="the english corpus folder (scripts/get_data.sh english)")
    ap.add_argument("--tokenizer", default="", help="the SentencePiece model of the subword runs")
    ap.add_argument("--models", required=True)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--hours", type=float, default=0, help="start no new run after this many hours (0: no limit)")
    ap.add_argument("--only", choices=["pilot", "search", "final", "memory"], help="train: only this stage")
    ap.add_argument("--pruner", default="", help="lm_pruning built at PRUNER_COMMIT (the memory stage; without it "
                    "the protocol ends with the reported runs)")
    ap.add_argument("--pruner-rev", default="", help="the commit the pruner was built at")
    ap.add_argument("--earlier-trainer", action="append", metavar="COMMIT=BINARY",
                    help="an earlier pinned trainer (one of EARLIER_TRAINERS) whose runs count once shown to train the "
                    "same models")
    ap.add_argument("--plot", default="lm_quality_curves.png", help="report: the curves (empty: none)")
    ap.add_argument("--poll", type=float, default=5.0, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.jobs < 1:
        ap.error("--jobs must be >= 1")
    if any(tok == "subwords" for tok, _ in SETTINGS) and not a.tokenizer:
        ap.error("--tokenizer: the subword runs need the SentencePiece model")
    if a.pruner and a.pruner_rev != PRUNER_COMMIT:
        ap.error("--pruner-rev: {} is not the protocol's PRUNER_COMMIT {}".format(a.pruner_rev, PRUNER_COMMIT))
    store = Store(a)
    return {"train": lambda: train(store, a), "status": lambda: status(store), "report": lambda: report(store, a),
            "memory-report": lambda: memory_report(store, a)}[a.command]()


if __name__ == "__main__":
    sys.exit(main())
