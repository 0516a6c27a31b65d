#!/usr/bin/env bash
# Character-level language models on the fortunes text (issue #14): standard attention, Selective
# Attention at equal size, and standard attention with twice the heads (same head dimension:
# twice the attention parameters), over seeds, all trained by examples/train_lm (built with
# -march=native as train_lm_native) with the same steps, batch, context and learning rate. Prints a markdown report (validation loss and
# perplexity, tokens/s) on stdout and draws the learning curves into a PNG.
#   bash benchmarks/lm_text.sh [--steps N] [--seeds N] [--context 256] [--layers 4] [--heads 4]
#       [--head-dim 32] [--batch 16] [--lr 2e-3] [--plot FILE.png]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
steps=2000 seeds=3 context=256 layers=4 heads=4 head_dim=32 batch=16 lr=2e-3
plot="$root/benchmarks/results/lm_text_curves.png"
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --context) context="$2"; shift 2 ;;
    --layers) layers="$2"; shift 2 ;;
    --heads) heads="$2"; shift 2 ;;
    --head-dim) head_dim="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --lr) lr="$2"; shift 2 ;;
    --plot) plot="$2"; shift 2 ;;
    *) echo "lm_text.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
build="$root/build-bench"
bash "$root/scripts/attnsel.sh" deps >&2
text="$(bash "$root/scripts/get_data.sh" fortunes | sed -n 's/^fortunes: //p')"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON -DATTNSEL_BUILD_TESTS=OFF \
  -DATTNSEL_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target train_lm_native -j "$(nproc)" >&2
width=$((heads * head_dim))
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "## Character-level LM on the fortunes text"
echo
echo "$layers layers, width $width, head dimension $head_dim, context $context; $steps steps of $batch sequences,"
echo "AdamW at peak rate $lr (warm-up $((steps / 20)) steps, cosine to a tenth), validation on 64 windows of the last"
echo "10 % of the text every 100 steps; mean ± sd over seeds 1..$seeds."
echo
echo "| model | parameters | validation loss (nats/char) | perplexity | training tokens/s |"
echo "|---|---|---|---|---|"
for model in "standard $heads off" "selective $heads on" "standard $((2 * heads)) off"; do
  set -- $model
  label="$1 attention, $2 heads"
  rows=()
  for ((s = 1; s <= seeds; ++s)); do
    out="$("$build/benchmarks/train_lm_native" --text "$text" --context "$context" --layers "$layers" --heads "$2" \
      --head-dim "$head_dim" --width "$width" --selective "$3" --steps "$steps" --batch "$batch" --lr "$lr" \
      --warmup $((steps / 20)) --eval-every 100 --eval-windows 64 --seed "$s" --quiet \
      --curve "$tmp/curve_${1}_${2}_$s.csv")"
    params=$(echo "$out" | sed -n 's/.* \([0-9]*\) parameters$/\1/p')
    loss=$(echo "$out" | sed -n 's/^validation: loss \([0-9.]*\) nats.*/\1/p')
    tps=$(echo "$out" | sed -n 's/.*), \([0-9]*\) tokens\/s$/\1/p')
    echo "$label seed $s: validation loss $loss, $tps tokens/s" >&2
    rows+=("$loss $tps")
  done
  printf '%s\n' "${rows[@]}" | awk -v label="$label" -v params="$params" '
    {l[NR] = $1; t[NR] = $2; s += $1; ts += $2}
    END {
      m = s / NR; v = 0; for (i = 1; i <= NR; ++i) v += (l[i] - m) ^ 2; sd = NR > 1 ? sqrt(v / (NR - 1)) : 0
      printf "| %s | %s | %.4f ± %.4f | %.3f | %.0f |\n", label, params, m, sd, exp(m), ts / NR
    }'
done
echo
/usr/bin/python3 - "$tmp" "$plot" "$(git -C "$root" rev-parse HEAD)" <<'PY'
import csv, glob, os, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
folder, out, commit = sys.argv[1], sys.argv[2], sys.argv[3]
fig, ax = plt.subplots(figsize=(7, 4.5))
palette = ["tab:blue", "tab:red", "tab:green", "tab:purple"]
models = []
for path in sorted(glob.glob(os.path.join(folder, "curve_*.csv"))):
    _, kind, heads, seed = os.path.basename(path)[:-4].split("_")
    label = f"{kind}, {heads} heads"
    if label not in models:
        models.append(label)
    rows = list(csv.DictReader(open(path)))
    ax.plot([int(r["step"]) for r in rows], [float(r["validation_loss"]) for r in rows],
            color=palette[models.index(label) % len(palette)], alpha=0.8, label=label if seed == "1" else None)
ax.set_xlabel("training step")
ax.set_ylabel("validation loss (nats / character)")
ax.set_title("Character-level LM on the fortunes text")
ax.grid(alpha=0.3)
ax.legend()
fig.tight_layout()
fig.savefig(out, dpi=110, metadata={"Description": "written by benchmarks/lm_text.sh (bash benchmarks/reproduce.sh lm_text), commit " + commit})
print(f"Learning curves (validation loss, every seed): `{os.path.basename(out)}` next to this file.")
PY
