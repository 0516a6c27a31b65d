#!/usr/bin/env bash
# Character-level language models on the fortunes text (issue #14): standard attention, Selective
# Attention at equal size, and standard attention with twice the heads (same head dimension:
# twice the attention parameters), over seeds, all trained by examples/train_lm (built with
# -march=native as train_lm_native) with the same steps, batch and context. The text is cut into
# train (80 %), validation (10 %) and test (the last 10 %). Each model's peak learning rate is chosen
# by the same search: every rate of --lr-grid for --search-steps steps (seed 1), by validation loss;
# the full runs then report validation and test loss (test measured once per run, never used to
# choose). Prints a markdown report (losses, perplexity, tokens/s) on stdout and draws the learning
# curves into a PNG.
#   bash benchmarks/recipes/lm_text.sh [--steps N] [--seeds N] [--context 256] [--layers 4] [--heads 4]
#       [--head-dim 32] [--batch 16] [--lr-grid 1e-3,2e-3,4e-3] [--search-steps 300] [--plot FILE.png]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
steps=2000 seeds=3 context=256 layers=4 heads=4 head_dim=32 batch=16 grid=1e-3,2e-3,4e-3 search_steps=300
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
    --lr-grid) grid="$2"; shift 2 ;;
    --search-steps) search_steps="$2"; shift 2 ;;
    --plot) plot="$2"; shift 2 ;;
    *) echo "lm_text.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
build="$root/build-bench"
bash "$root/scripts/attnsel.sh" deps >&2
# The plots are drawn with Debian's matplotlib (not one of the build's packages).
dpkg-query -W -f='${Status}' python3-matplotlib 2>/dev/null | grep -q "install ok installed" ||
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-matplotlib >/dev/null; } >&2
text="$(bash "$root/scripts/get_data.sh" fortunes | sed -n 's/^fortunes: //p')"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON -DATTNSEL_BUILD_TESTS=OFF \
  -DATTNSEL_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target train_lm_native -j "$(nproc)" >&2
width=$((heads * head_dim))
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

IFS=',' read -r -a lrs <<<"$grid"
models=("standard $heads off" "selective $heads on" "standard $((2 * heads)) off")
train() {  # train STEPS HEADS SELECTIVE SEED LR [more train_lm options]
  local n="$1" h="$2" sel="$3" seed="$4" lr="$5"
  shift 5
  "$build/benchmarks/train_lm_native" --text "$text" --context "$context" --layers "$layers" --heads "$h" \
    --head-dim "$head_dim" --width "$width" --selective "$sel" --steps "$n" --batch "$batch" --lr "$lr" \
    --warmup $((n / 20)) --eval-windows 64 --val-fraction 0.1 --test-fraction 0.1 --seed "$seed" --quiet "$@"
}
loss_of() { sed -n "s/^$1: loss \([0-9.]*\) nats.*/\1/p"; }

echo "## Character-level LM on the fortunes text"
echo
echo "$layers layers, width $width, head dimension $head_dim, context $context; batches of $batch sequences; AdamW with"
echo "warm-up over the first 5 % of the steps and cosine decay to a tenth. Train / validation / test: 80 / 10 / 10 % of"
echo "the text, contiguous; losses over 64 windows of $context characters of each held-out part."
echo
echo "### Peak learning rate, chosen on validation ($search_steps steps, seed 1)"
echo
echo "| model | $(printf 'lr %s | ' "${lrs[@]}")chosen |"
echo "|---|$(printf -- '---|%.0s' "${lrs[@]}")---|"
declare -A chosen
for model in "${models[@]}"; do
  set -- $model
  best="" best_loss=1e9 cells=""
  for lr in "${lrs[@]}"; do
    loss=$(train "$search_steps" "$2" "$3" 1 "$lr" --eval-every 0 | loss_of validation)
    echo "search: $1 attention, $2 heads, lr $lr: validation loss $loss" >&2
    cells+="$loss | "
    if awk -v a="$loss" -v b="$best_loss" 'BEGIN {exit !(a < b)}'; then best="$lr" best_loss="$loss"; fi
  done
  chosen["$1 $2"]="$best"
  echo "| $1 attention, $2 heads | $cells$best |"
done
echo
echo "### $steps steps at the chosen rate, mean ± sd over seeds 1..$seeds"
echo
echo "| model | parameters | lr | validation loss | test loss (nats/char) | test perplexity | training tokens/s |"
echo "|---|---|---|---|---|---|---|"
for model in "${models[@]}"; do
  set -- $model
  label="$1 attention, $2 heads"
  lr="${chosen["$1 $2"]}"
  rows=()
  for ((s = 1; s <= seeds; ++s)); do
    out="$(train "$steps" "$2" "$3" "$s" "$lr" --eval-every 100 --curve "$tmp/curve_${1}_${2}_$s.csv")"
    params=$(echo "$out" | sed -n 's/.* \([0-9]*\) parameters$/\1/p')
    vloss=$(echo "$out" | loss_of validation)
    tloss=$(echo "$out" | loss_of test)
    tps=$(echo "$out" | sed -n 's/.*), \([0-9]*\) tokens\/s$/\1/p')
    echo "$label seed $s: validation loss $vloss, test loss $tloss, $tps tokens/s" >&2
    rows+=("$vloss $tloss $tps")
  done
  printf '%s\n' "${rows[@]}" | awk -v label="$label" -v params="$params" -v lr="$lr" '
    function sd(x, n, m,   i, v) { v = 0; for (i = 1; i <= n; ++i) v += (x[i] - m) ^ 2; return n > 1 ? sqrt(v / (n - 1)) : 0 }
    {v[NR] = $1; t[NR] = $2; vs += $1; ts += $2; ps += $3}
    END {
      mv = vs / NR; mt = ts / NR
      printf "| %s | %s | %s | %.4f ± %.4f | %.4f ± %.4f | %.3f | %.0f |\n", label, params, lr, mv, sd(v, NR, mv), mt, sd(t, NR, mt), exp(mt), ps / NR
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
fig.savefig(out, dpi=110, metadata={"Description": "written by benchmarks/recipes/lm_text.sh (bash benchmarks/reproduce.sh lm_text), commit " + commit})
print(f"Learning curves (validation loss, every seed): `{os.path.basename(out)}` next to this file.")
PY
