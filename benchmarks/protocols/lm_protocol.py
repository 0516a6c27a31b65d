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
again; a run cut off (a session ends) leaves only a .part file and runs again from the start.
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
import subprocess
import sys
import time

# ---- The protocol (docs/language-models.md §10); changing any of it is a new protocol. ----
TRAINER_COMMIT = "881357d6d5aff4d9367f22526134e3fb5ddcf840"  # train_lm of every run is built here
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


class Store(object):
    """The models folder: NAME.bin, NAME.out, NAME.csv and NAME.key per finished run."""

    def __init__(self, a):
        self.a = a
        self.dir = a.models
        os.makedirs(self.dir, exist_ok=True)
        with open(a.trainer, "rb") as f:
            self.trainer_hash = hashlib.sha256(f.read()).hexdigest()

    def path(self, run, ext):
        return os.path.join(self.dir, run.name + ext)

    def command(self, run):
        return [self.a.trainer] + run.args(self.a.data, self.a.tokenizer) + [
            "--save", self.path(run, ".bin"), "--curve", self.path(run, ".csv")]

    def key(self, run):
        tok = ""
        if run.tok == "subwords":
            with open(self.a.tokenizer, "rb") as f:
                tok = "tokenizer sha256 {}\n".format(hashlib.sha256(f.read()).hexdigest())
        return "trainer sha256 {}\ncommit {}\n{}command {}\n".format(self.trainer_hash, self.a.rev, tok, " ".join(run.args(
            self.a.data, self.a.tokenizer)))

    def done(self, run):
        try:
            with open(self.path(run, ".key")) as f:
                return f.read() == self.key(run) and all(os.path.exists(self.path(run, e)) for e in (".bin", ".out", ".csv"))
        except OSError:
            return False

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
    return ("final", todo) if todo else ("done", [])


def train(store, a):
    deadline = time.time() + a.hours * 3600 if a.hours else None
    running = {}
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
        time.sleep(5)
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
            print("{} done {} in {:.0f} s: validation {:.4f}".format(time.strftime("%H:%M:%S"), run.name, time.time() - t0,
                                                                  store.loss(run, "validation")), file=sys.stderr, flush=True)
    stage, todo = plan(store)
    print("lm_protocol: next stage {}, {} run(s) to do".format(stage, len(todo)), file=sys.stderr)
    return 0


def status(store):
    stage, todo = plan(store)
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
    draw(curves, a.plot, a.rev)
    print("\nValidation curves of every reported run: `{}` next to this file.".format(os.path.basename(a.plot)))
    return 0


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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["train", "status", "report"])
    ap.add_argument("--trainer", required=True, help="train_lm built at the pinned commit")
    ap.add_argument("--rev", required=True, help="the commit the trainer was built at")
    ap.add_argument("--data", required=True, help="the english corpus folder (scripts/get_data.sh english)")
    ap.add_argument("--tokenizer", default="", help="the SentencePiece model of the subword runs")
    ap.add_argument("--models", required=True)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--hours", type=float, default=0, help="start no new run after this many hours (0: no limit)")
    ap.add_argument("--only", choices=["pilot", "search", "final"], help="train: only this stage")
    ap.add_argument("--plot", default="lm_quality_curves.png")
    a = ap.parse_args(argv)
    if a.jobs < 1:
        ap.error("--jobs must be >= 1")
    if any(tok == "subwords" for tok, _ in SETTINGS) and not a.tokenizer:
        ap.error("--tokenizer: the subword runs need the SentencePiece model")
    store = Store(a)
    return {"train": lambda: train(store, a), "status": lambda: status(store), "report": lambda: report(store, a)}[a.command]()


if __name__ == "__main__":
    sys.exit(main())
