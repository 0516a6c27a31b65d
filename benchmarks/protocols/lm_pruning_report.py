"""The markdown report and the plots of benchmarks/recipes/lm_pruning.sh (issue #15).

    lm_pruning_report.py FITS MODELS PLOT COMMIT SEEDS STEPS TOKENS MEMORY_LOSS SHRINK FIT_TOKENS TEST_TOKENS TOLERANCES

FITS holds one lm_pruning output per model (NAME.tsv) and speed.tsv; MODELS the train_lm outputs
(NAME.out). Prints markdown on stdout; writes PLOT (perplexity vs kept tokens) and, next to it,
PLOT with _va before .png (Variable Assignment accuracy vs budget).
"""
import glob
import math
import os
import re
import statistics
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

(fits, models, plot, commit, seeds, steps, tokens, memory_loss, shrink, fit_tokens, test_tokens,
 tolerances) = sys.argv[1:13]
seeds, steps, tokens, fit_tokens, test_tokens = map(int, (seeds, steps, tokens, fit_tokens, test_tokens))
tolerances = [float(t) for t in tolerances.split(",")]
KINDS = {"standard": "standard", "selective": "selective", "memory": "selective + memory loss"}
POLICIES = {"selective": "SelectiveF", "h2o": "H2O", "streaming": "StreamingLLM"}


def rows(name):
    path = os.path.join(fits, name + ".tsv")
    if not os.path.exists(path):
        return []
    return [line.rstrip("\n").split("\t") for line in open(path) if line.strip()]


def mean_sd(xs):
    m = statistics.mean(xs)
    return m, (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def fmt_ms(xs, digits=3):
    m, s = mean_sd(xs)
    return f"{m:.{digits}f} ± {s:.{digits}f}" if len(xs) > 1 else f"{m:.{digits}f}"


def trained(name):
    """validation and test perplexity printed by train_lm (full forward)."""
    out = open(os.path.join(models, name + ".out")).read()
    v = float(re.search(r"^validation: loss ([0-9.]+)", out, re.M).group(1))
    t = float(re.search(r"^test: loss ([0-9.]+)", out, re.M).group(1))
    return math.exp(v), math.exp(t)


contexts = sorted({int(m.group(1)) for f in glob.glob(os.path.join(fits, "text_c*_*.tsv"))
                   for m in [re.match(r"text_c(\d+)_", os.path.basename(f))] if m})
seed_list = list(range(1, seeds + 1))


def name(c, kind, s):
    return f"text_c{c}_{kind}_s{s}"


print("## Context pruning of character-level LMs: attention memory at equal perplexity")
print()
print(f"Models: 4 layers, width 128, 4 heads of 32, trained by train_lm on the fortunes text ({steps} steps of "
      f"{tokens} tokens, AdamW, warm-up 5 %, cosine decay; peak learning rate chosen on validation in "
      "lm_text.md: 2e-3 standard, 4e-3 selective, the same for the memory-loss models; memory loss "
      f"ε = {memory_loss}, τ = 1); seeds 1..{seeds}. Train / validation / test: 80 / 10 / 10 % of the text.")
print()
print(f"Budgets: per layer, fitted on validation ({fit_tokens} tokens: the first windows of the validation part) by "
      f"attnsel::fit_budgets: from the full context, repeatedly cut to ×{shrink} the budget of the layer whose cut "
      "costs the least validation perplexity, while the perplexity stays within the tolerance. The same fit runs "
      "for every policy (SelectiveF: evict the largest accumulated F; H2O: keep half the budget as the most recent "
      "tokens, evict the lowest accumulated attention among the rest; StreamingLLM: 4 sink tokens + the most recent). "
      f"Every number below the fit is measured on the test part ({test_tokens} tokens, windows of the context) by "
      "honest decoding: each position's logits come from the pruned caches. Kept tokens = Σ over layers of the "
      "budget (per sequence); reduction = context × layers ÷ kept tokens. Means over the seeds of each context "
      "(the table below says how many).")
print()

# 1. Unpruned models.
print("### Unpruned models")
print()
print("Validation and test perplexity (forward): what train_lm printed after training (64 windows of each part); "
      "test perplexity (decoding): the test tokens of this protocol decoded with full caches.")
print()
print("| context | model | seeds | validation perplexity | test perplexity (forward) | test perplexity (decoding) |")
print("|---|---|---|---|---|---|")
unpruned_test = {}
for c in contexts:
    for kind, label in KINDS.items():
        v, t, d = [], [], []
        for s in seed_list:
            r = [x for x in rows(name(c, kind, s)) if x[0] == "unpruned"]
            if not r:
                continue
            pv, pt = trained(name(c, kind, s))
            v.append(pv)
            t.append(pt)
            d.append(float(r[0][3]))
        if d:
            unpruned_test[(c, kind)] = d
            print(f"| {c} | {label} | {len(d)} | {fmt_ms(v)} | {fmt_ms(t)} | {fmt_ms(d)} |")
print()


def results(c, kind, policy, label):
    out = []
    for s in seed_list:
        for x in rows(name(c, kind, s)):
            if x[0] == "result" and x[1] == policy and x[2] == label:
                out.append({"total": int(x[3]), "reduction": float(x[4]), "val": float(x[5]), "test": float(x[6]),
                            "budgets": x[8]})
    return out


def label_of(t):
    return "%g" % t


# 2. Within a tolerance of each model's own perplexity.
print("### Kept tokens within a tolerance of the model's own unpruned validation perplexity")
print()
print("Cells: reduction factor (kept tokens), mean over seeds. Last column: the test perplexity at the largest "
      "tolerance, relative to the model's unpruned test perplexity by decoding.")
print()
head = " | ".join(f"tolerance {100 * t:g} %" for t in tolerances)
print(f"| context | model | policy | {head} | test perplexity change at {100 * tolerances[-1]:g} % |")
print("|---|---|---|" + "---|" * len(tolerances) + "---|")
pairs = [("standard", "h2o"), ("standard", "streaming"), ("selective", "selective"), ("selective", "h2o"),
         ("selective", "streaming"), ("memory", "selective"), ("memory", "h2o"), ("memory", "streaming")]
for c in contexts:
    for kind, policy in pairs:
        cells, last = [], None
        for t in tolerances:
            r = results(c, kind, policy, label_of(t))
            if not r:
                cells.append("–")
                continue
            cells.append(f"{statistics.mean(x['reduction'] for x in r):.1f}× "
                         f"({statistics.mean(x['total'] for x in r):.0f})")
            last = r
        if last is None:
            continue
        base = unpruned_test[(c, kind)]
        change = [100 * (x["test"] / b - 1) for x, b in zip(last, base)]
        m, _ = mean_sd(change)
        print(f"| {c} | {KINDS[kind]} | {POLICIES[policy]} | {' | '.join(cells)} | {m:+.2f} % |")
print()

# 3. At the standard model's perplexity.
print("### Kept tokens at the standard model's perplexity (the paper's comparison)")
print()
print("The selective models' budgets fitted down to the standard models' unpruned validation perplexity "
      "(mean over seeds, on the fit windows); test perplexity of the pruned selective model next to the unpruned "
      "standard model's. \"at the floor\": every layer reached the minimum budget (2 tokens: the first token and "
      "the newest) while still below the target. For scale, the paper (Leviathan et al., ICLR 2025, ~100M-parameter "
      "models on C4) reports 16×, 25× and 47× less attention memory at contexts 512, 1024 and 2048 at the same "
      "validation perplexity as its baseline without Selective Attention.")
print()
print("| context | model | policy | kept tokens | reduction | test perplexity, pruned | standard, unpruned | budgets per layer (seed 1) |")
print("|---|---|---|---|---|---|---|---|")
factors = {}
for c in contexts:
    for kind in ("selective", "memory"):
        for policy in ("selective", "h2o", "streaming"):
            r = results(c, kind, policy, "target")
            if not r:
                continue
            floor = sum(1 for x in r if all(int(b) <= 2 for b in x["budgets"].split(",")))
            red = [x["reduction"] for x in r]
            factors[(c, kind, policy)] = statistics.mean(red)
            note = f" ({floor} of {len(r)} at the floor)" if floor else ""
            print(f"| {c} | {KINDS[kind]} | {POLICIES[policy]} | {statistics.mean(x['total'] for x in r):.0f}{note} | "
                  f"{fmt_ms(red, 1)}× | {fmt_ms([x['test'] for x in r])} | {fmt_ms(unpruned_test[(c, 'standard')])} | "
                  f"{r[0]['budgets']} |")
print()

# 4. Variable Assignment.
va = {s: rows(f"va_selective_s{s}") for s in seed_list}
va = {s: r for s, r in va.items() if r}
if va:
    best = max(va, key=lambda s: float([x for x in va[s] if x[0] == "unpruned"][0][2]))
    r = va[best]
    un = [x for x in r if x[0] == "unpruned"][0]
    val_acc, test_acc = float(un[2]), float(un[4])
    print("### Variable Assignment: answer accuracy vs cache budget")
    print()
    print("Selective Attention, 2 layers, 2 heads of 32, 3 variables, sequences of 64 tokens (the setting of "
          f"lm_variable_assignment.md; 3000 steps); the model of seed {best}, the best unpruned validation accuracy "
          f"of seeds 1..{seeds} ({val_acc:.4f}). The same budget in every layer; test accuracy on answer tokens "
          f"(256 test sequences); unpruned test accuracy {test_acc:.4f}. \"Matches\": the smallest budget whose "
          "validation accuracy is within 1 % (relative) of the unpruned validation accuracy.")
    print()
    budgets = sorted({int(x[2]) for x in r if x[0] == "uniform"}, reverse=True)
    print("| budget per layer | " + " | ".join(POLICIES[p] for p in POLICIES) + " |")
    print("|---|" + "---|" * len(POLICIES))
    acc = {(x[1], int(x[2])): (float(x[3]), float(x[4])) for x in r if x[0] == "uniform"}
    for b in budgets:
        print(f"| {b} | " + " | ".join(f"{acc[(p, b)][1]:.4f}" for p in POLICIES) + " |")
    matches = []
    for p in POLICIES:
        ok = [b for b in budgets if acc[(p, b)][0] >= 0.99 * val_acc]
        matches.append(f"{min(ok)} ({acc[(p, min(ok))][1]:.4f})" if ok else "none")
    print("| **matches** (test accuracy) | " + " | ".join(matches) + " |")
    print()
    fig, ax = plt.subplots(figsize=(6, 4))
    for p, color in zip(POLICIES, ["tab:red", "tab:blue", "tab:green"]):
        ax.plot(budgets, [acc[(p, b)][1] for b in budgets], "o-", color=color, label=POLICIES[p])
    ax.axhline(test_acc, color="black", linestyle="--", linewidth=1, label="unpruned")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("cache budget per layer (tokens)")
    ax.set_ylabel("test answer accuracy")
    ax.set_title(f"Variable Assignment, selective model (seed {best})")
    ax.legend()
    fig.text(0.99, 0.01, f"attnsel {commit[:7]}", ha="right", fontsize=7, color="gray")
    fig.tight_layout()
    fig.savefig(plot.replace(".png", "_va.png"), dpi=110)

# 5. Decode speed.
speed = rows("speed")
if speed:
    c = contexts[-1]
    print(f"### Decode speed: one sequence of {c} tokens, batch 1, one thread")
    print()
    print(f"The memory-loss selective model of seed 1 at context {c}, with full caches and with each policy's budgets "
          f"fitted at tolerance {100 * tolerances[-1]:g} %; milliseconds per token (median of 5 rounds, the "
          "configurations alternating) over the positions of each range.")
    print()
    spans = []
    for x in speed:
        if (int(x[3]), int(x[4])) not in spans:
            spans.append((int(x[3]), int(x[4])))
    spans = [sp for sp in spans if sp != (0, c)] + [(0, c)]
    print("| caches | kept tokens | " + " | ".join(f"ms/token, positions {a}–{b - 1}" if (a, b) != (0, c)
                                                   else "tokens/s, all" for a, b in spans) + " |")
    print("|---|---|" + "---|" * len(spans))
    for lab in dict.fromkeys(x[1] for x in speed):
        cells = []
        for sp in spans:
            x = [y for y in speed if y[1] == lab and (int(y[3]), int(y[4])) == sp][0]
            cells.append(x[6] if sp == (0, c) else x[5])
        total = [y for y in speed if y[1] == lab][0][2]
        print(f"| {'full' if lab == 'full' else POLICIES[lab] + ' budgets'} | {total} (at position {c}) | "
              + " | ".join(cells) + " |")
    print()

# The plot: test perplexity along each fit path, one panel per context.
fig, axes = plt.subplots(1, len(contexts), figsize=(6.5 * len(contexts), 4.6), squeeze=False)
colors = {("standard", "h2o"): "tab:gray", ("standard", "streaming"): "tab:brown",
          ("selective", "selective"): "tab:red", ("selective", "h2o"): "tab:blue",
          ("selective", "streaming"): "tab:green", ("memory", "selective"): "tab:purple",
          ("memory", "h2o"): "tab:cyan", ("memory", "streaming"): "tab:olive"}
for ax, c in zip(axes[0], contexts):
    for (kind, policy), color in colors.items():
        for s in seed_list:
            pts = sorted((int(x[2]), float(x[3])) for x in rows(name(c, kind, s)) if x[0] == "curve" and x[1] == policy)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], ".-", color=color, linewidth=1, alpha=0.8,
                        label=f"{KINDS[kind]}, {POLICIES[policy]}" if s == 1 else None)
    if (c, "standard") in unpruned_test:
        ax.axhline(statistics.mean(unpruned_test[(c, "standard")]), color="black", linestyle="--", linewidth=1,
                   label="standard, unpruned")
    ax.set_xscale("log")
    ax.set_xlabel(f"kept tokens (sum over 4 layers; full cache {4 * c})")
    ax.set_ylabel("test perplexity")
    ax.set_title(f"context {c}")
    ax.grid(alpha=0.3)
axes[0][0].legend(fontsize=7)
fig.text(0.99, 0.01, f"attnsel {commit[:7]}", ha="right", fontsize=7, color="gray")
fig.tight_layout()
fig.savefig(plot, dpi=110)
print(f"Plots: `{os.path.basename(plot)}` (test perplexity along each fit path, every seed) and "
      f"`{os.path.basename(plot).replace('.png', '_va.png')}` next to this file.")
