#!/usr/bin/env bash
# Variable Assignment (issue #14): answer accuracy of small transformers with standard attention,
# with Selective Attention at equal size, and with standard attention and twice the heads (same
# head dimension: twice the attention parameters), for several numbers of variables and sequence
# lengths, over seeds. Every model is trained by examples/train_lm (built with -march=native as
# train_lm_native) with the same steps and batch. The learning rate of each model is chosen by the
# same search: every rate of --lr-grid, seed 1, on the first (variables, length) cell, by accuracy on
# a fixed validation draw; the table then reports accuracy on a separate test draw (answer tokens
# only), measured once per run. Runs go --jobs at a time, one thread each (the models are small:
# two single-threaded runs train faster than one run on two threads).
# Prints a markdown report on stdout; progress on stderr.
#   bash benchmarks/recipes/lm_variable_assignment.sh [--steps N] [--seeds N] [--variables 3,6] [--context 64,128]
#       [--layers 2] [--heads 2] [--head-dim 32] [--batch 32] [--lr-grid 1e-3,3e-3] [--jobs 2]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
steps=3000 seeds=3 variables="3,6" contexts="64,128" layers=2 heads=2 head_dim=32 batch=32 grid="1e-3,3e-3" jobs=2
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
    --lr-grid) grid="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    *) echo "lm_variable_assignment.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
build="$root/build-bench"
bash "$root/scripts/attnsel.sh" deps >&2
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON -DATTNSEL_BUILD_TESTS=OFF \
  -DATTNSEL_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target train_lm_native -j "$(nproc)" >&2
width=$((heads * head_dim))
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
IFS=',' read -r -a vlist <<<"$variables"
IFS=',' read -r -a clist <<<"$contexts"
IFS=',' read -r -a lrs <<<"$grid"
models=("$heads off" "$heads on" "$((2 * heads)) off")

# One command line per run: NAME heads selective variables context seed lr.
command_for() {
  printf 'OMP_NUM_THREADS=1 %q --task variable-assignment --variables %s --context %s --layers %s --heads %s --head-dim %s --width %s --selective %s --steps %s --batch %s --lr %s --warmup %s --eval-every 0 --eval-windows 256 --seed %s --quiet > %q 2>&1 && echo "done: %s" >&2\n' \
    "$build/benchmarks/train_lm_native" "$4" "$5" "$layers" "$2" "$head_dim" "$width" "$3" "$steps" "$batch" "$7" \
    $((steps / 10)) "$6" "$tmp/$1.out" "$1"
}
run_all() { xargs -P "$jobs" -d '\n' -n 1 bash -c <"$1"; }
field() {  # field FILE validation|test accuracy|loss
  sed -n "s/^$2: loss \([0-9.]*\) nats\/token, perplexity [0-9.]*, accuracy \([0-9.]*\) over.*/\1 \2/p" "$1" |
    awk -v w="$3" '{print (w == "loss" ? $1 : $2)}'
}

# 1. The learning-rate search, the same for every model.
: >"$tmp/search.txt"
for model in "${models[@]}"; do
  set -- $model
  for lr in "${lrs[@]}"; do command_for "search_${1}_${2}_$lr" "$1" "$2" "${vlist[0]}" "${clist[0]}" 1 "$lr" >>"$tmp/search.txt"; done
done
run_all "$tmp/search.txt"
echo "## Variable Assignment: answer accuracy"
echo
echo "$layers layers, $heads heads of $head_dim (width $width), query rate 0.3, 8 values; $steps steps of $batch sequences,"
echo "AdamW with warm-up $((steps / 10)) steps and cosine decay to a tenth. Accuracy on answer tokens."
echo
echo "### Learning rate, chosen on validation (seed 1, ${vlist[0]} variables, length ${clist[0]}; 256 validation sequences)"
echo
echo "| model | $(printf '%s | ' "${lrs[@]}")chosen |"
echo "|---|$(printf -- '---|%.0s' "${lrs[@]}")---|"
declare -A chosen
for model in "${models[@]}"; do
  set -- $model
  best="" best_acc=-1 cells=""
  for lr in "${lrs[@]}"; do
    acc=$(field "$tmp/search_${1}_${2}_$lr.out" validation accuracy)
    cells+="$acc | "
    if awk -v a="$acc" -v b="$best_acc" 'BEGIN {exit !(a > b)}'; then best="$lr" best_acc="$acc"; fi
  done
  chosen["$1 $2"]="$best"
  label=$([ "$2" = on ] && echo selective || echo standard)
  echo "| $label, $1 heads | $cells$best |"
done
echo

# 2. Every cell, model and seed at the chosen rate; test accuracy reported.
: >"$tmp/runs.txt"
for v in "${vlist[@]}"; do
  for c in "${clist[@]}"; do
    for model in "${models[@]}"; do
      set -- $model
      for ((s = 1; s <= seeds; ++s)); do
        command_for "run_${v}_${c}_${1}_${2}_$s" "$1" "$2" "$v" "$c" "$s" "${chosen["$1 $2"]}" >>"$tmp/runs.txt"
      done
    done
  done
done
run_all "$tmp/runs.txt"
echo "### Test accuracy (256 test sequences, a draw separate from validation), mean ± sd over seeds 1..$seeds"
echo
echo "| variables | sequence length | standard, $heads heads | selective, $heads heads | standard, $((2 * heads)) heads |"
echo "|---|---|---|---|---|"
for v in "${vlist[@]}"; do
  for c in "${clist[@]}"; do
    cells=()
    for model in "${models[@]}"; do
      set -- $model
      cells+=("$(for ((s = 1; s <= seeds; ++s)); do field "$tmp/run_${v}_${c}_${1}_${2}_$s.out" test accuracy; done |
        awk '{s += $1; q += $1 * $1; n++} END {m = s / n; v = n > 1 ? (q - n * m * m) / (n - 1) : 0; if (v < 0) v = 0; printf "%.3f ± %.3f", m, sqrt(v)}')")
    done
    echo "| $v | $c | ${cells[0]} | ${cells[1]} | ${cells[2]} |"
  done
done
echo
echo "Per run (test accuracy, seeds 1..$seeds; training seconds with $jobs runs at a time):"
echo
echo '```text'
for v in "${vlist[@]}"; do
  for c in "${clist[@]}"; do
    for model in "${models[@]}"; do
      set -- $model
      line="variables $v, length $c, $([ "$2" = on ] && echo selective || echo standard) $1 heads, lr ${chosen["$1 $2"]}:"
      for ((s = 1; s <= seeds; ++s)); do
        f="$tmp/run_${v}_${c}_${1}_${2}_$s.out"
        line+=" $(field "$f" test accuracy) ($(sed -n 's/^training: [0-9]* steps in \([0-9.]*\) s.*/\1/p' "$f") s)"
      done
      echo "$line"
    done
  done
done
echo '```'
