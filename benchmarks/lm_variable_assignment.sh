#!/usr/bin/env bash
# Variable Assignment (issue #14): answer accuracy of small transformers with standard attention,
# with Selective Attention at equal size, and with standard attention and twice the heads (same
# head dimension: twice the attention parameters), for several numbers of variables and sequence
# lengths, over seeds. Every model is trained by examples/train_lm (built with -march=native) with the same steps, batch and
# learning rate; accuracy is on a fixed validation draw of sequences (answer tokens only).
# Prints a markdown report on stdout; progress on stderr.
#   bash benchmarks/lm_variable_assignment.sh [--steps N] [--seeds N] [--variables 3,6] [--context 64,128]
#       [--layers 2] [--heads 2] [--head-dim 16] [--batch 16] [--lr 3e-3]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
steps=1500 seeds=3 variables="3,6" contexts="64,128" layers=2 heads=2 head_dim=16 batch=16 lr=3e-3
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --variables) variables="$2"; shift 2 ;;
    --context) contexts="$2"; shift 2 ;;
    --layers) layers="$2"; shift 2 ;;
    --heads) heads="$2"; shift 2 ;;
    --head-dim) head_dim="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --lr) lr="$2"; shift 2 ;;
    *) echo "lm_variable_assignment.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
build="$root/build-bench"
bash "$root/scripts/attnsel.sh" deps >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON -DATTNSEL_BUILD_TESTS=OFF \
  -DATTNSEL_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target train_lm_native -j "$(nproc)" >&2
width=$((heads * head_dim))

# run NAME HEADS SELECTIVE VARIABLES CONTEXT SEED: prints "accuracy loss seconds".
run() {
  local out
  out="$("$build/benchmarks/train_lm_native" --task variable-assignment --variables "$4" --context "$5" --layers "$layers" \
    --heads "$2" --head-dim "$head_dim" --width "$width" --selective "$3" --steps "$steps" --batch "$batch" \
    --lr "$lr" --warmup $((steps / 10)) --eval-every 0 --eval-windows 256 --seed "$6" --quiet)"
  echo "$out" | sed -n 's/^validation: loss \([0-9.]*\) nats\/token, perplexity [0-9.]*, accuracy \([0-9.]*\) over.*/\2 \1/p' | tr '\n' ' '
  echo "$out" | sed -n 's/^training: [0-9]* steps in \([0-9.]*\) s.*/\1/p'
}

echo "## Variable Assignment: answer accuracy"
echo
echo "$layers layers, head dimension $head_dim, width $width; $steps steps of $batch sequences, AdamW at peak rate"
echo "$lr (warm-up $((steps / 10)) steps, cosine), query rate 0.3, 8 values; accuracy over 256 validation sequences"
echo "(answer tokens), mean ± sd over seeds 1..$seeds."
echo
echo "| variables | sequence length | standard, $heads heads | selective, $heads heads | standard, $((2 * heads)) heads |"
echo "|---|---|---|---|---|"
IFS=',' read -r -a vlist <<<"$variables"
IFS=',' read -r -a clist <<<"$contexts"
for v in "${vlist[@]}"; do
  for c in "${clist[@]}"; do
    cells=()
    for model in "$heads off" "$heads on" "$((2 * heads)) off"; do
      set -- $model
      accs=()
      for ((s = 1; s <= seeds; ++s)); do
        read -r acc loss secs <<<"$(run x "$1" "$2" "$v" "$c" "$s")"
        echo "variables $v context $c heads $1 selective $2 seed $s: accuracy $acc loss $loss ($secs s)" >&2
        accs+=("$acc")
      done
      cells+=("$(printf '%s\n' "${accs[@]}" | awk '{s += $1; q += $1 * $1; n++} END {m = s / n; v = n > 1 ? (q - n * m * m) / (n - 1) : 0; if (v < 0) v = 0; printf "%.3f ± %.3f", m, sqrt(v)}')")
    done
    echo "| $v | $c | ${cells[0]} | ${cells[1]} | ${cells[2]} |"
  done
done
