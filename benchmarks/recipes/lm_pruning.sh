#!/usr/bin/env bash
# Context pruning of trained language models (issue #15): attention memory at equal perplexity.
#
# 1. Trains, with examples/train_lm (built with -march=native as train_lm_native), character-level
#    LMs on the fortunes text at each context of --contexts: standard attention, Selective
#    Attention, and Selective Attention with the memory loss (--memory-loss, tau 1), seeds 1..--seeds,
#    (--long-seeds for the contexts after the first), 4 layers of width 128 (4 heads of 32), --steps steps of --tokens-per-step tokens (batch =
#    tokens / context), the peak learning rates chosen on validation by benchmarks/recipes/lm_text.sh
#    (results/lm_text.md: 2e-3 standard, 4e-3 selective; the memory-loss models take selective's).
#    Also a Selective Attention model of Variable Assignment (3 variables, length 64; the setting and
#    learning rate of results/lm_variable_assignment.md), seeds 1..--va-seeds (default --seeds). Runs go --jobs at a time,
#    one thread each. A model is kept in --models (default build-bench/lm_pruning_models) with its
#    command line and output, and reused when the command line is the same.
# 2. For every text model and every policy (SelectiveF, H2O, StreamingLLM; the standard models
#    have no F, so H2O and StreamingLLM only) benchmarks/lm_pruning fits per-layer budgets on
#    validation (greedy, attnsel::fit_budgets) and decodes the test part with the budgets fitted at
#    each tolerance, and (selective models) with the budgets that reach the standard models'
#    unpruned validation perplexity; the selective models are saved with their budgets
#    (NAME.budgets.bin: examples/generate --budget auto). The Variable Assignment models get
#    accuracy vs a uniform budget. Then decode speed at the largest context, full caches vs budgets.
# 3. Prints a markdown report on stdout (benchmarks/protocols/lm_pruning_report.py) and draws perplexity vs
#    kept memory into --plot (and Variable Assignment accuracy vs budget next to it).
#   bash benchmarks/recipes/lm_pruning.sh [--contexts 256,512] [--seeds 3] [--long-seeds N] [--va-seeds N] [--steps 1000] [--tokens-per-step 4096]
#       [--memory-loss 0.1] [--jobs 2] [--models DIR] [--plot FILE.png] [--shrink 0.5] [--fit-tokens 8192]
#       [--test-tokens 16384] [--tolerances 0,0.0025,0.005,0.01] [--train-only]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
contexts="256,512" seeds=3 long_seeds="" va_seeds="" steps=1000 tokens=4096 memory_loss=0.1 jobs=2 train_only=0
shrink=0.5 fit_tokens=8192 test_tokens=16384 tolerances=0,0.0025,0.005,0.01 va_budgets=64,48,32,24,16,12,8,6,4,2
build="$root/build-bench"
models="$build/lm_pruning_models"
plot="$root/benchmarks/results/lm_pruning.png"
while [ $# -gt 0 ]; do
  case "$1" in
    --contexts) contexts="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --long-seeds) long_seeds="$2"; shift 2 ;;
    --va-seeds) va_seeds="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --tokens-per-step) tokens="$2"; shift 2 ;;
    --memory-loss) memory_loss="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --plot) plot="$2"; shift 2 ;;
    --shrink) shrink="$2"; shift 2 ;;
    --fit-tokens) fit_tokens="$2"; shift 2 ;;
    --test-tokens) test_tokens="$2"; shift 2 ;;
    --tolerances) tolerances="$2"; shift 2 ;;
    --train-only) train_only=1; shift ;;
    *) echo "lm_pruning.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
bash "$root/scripts/attnsel.sh" deps >&2
# The plots are drawn with Debian's matplotlib (not one of the build's packages).
dpkg-query -W -f='${Status}' python3-matplotlib 2>/dev/null | grep -q "install ok installed" ||
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-matplotlib >/dev/null; } >&2
text="$(bash "$root/scripts/get_data.sh" fortunes | sed -n 's/^fortunes: //p')"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON -DATTNSEL_BUILD_TESTS=OFF \
  -DATTNSEL_BUILD_EXAMPLES=ON >/dev/null
if [ "$train_only" = 1 ]; then
  cmake --build "$build" --target train_lm_native -j "$(nproc)" >&2
else
  cmake --build "$build" --target train_lm_native lm_pruning -j "$(nproc)" >&2
fi
mkdir -p "$models"
IFS=',' read -r -a clist <<<"$contexts"
[ -n "$long_seeds" ] || long_seeds="$seeds"
[ -n "$va_seeds" ] || va_seeds="$seeds"
seeds_at() { [ "$1" = "${clist[0]}" ] && echo "$seeds" || echo "$long_seeds"; }  # seeds of context $1

# 1. Training. One line per model: NAME, then the train_lm arguments.
text_kinds=("standard off 2e-3" "selective on 4e-3" "memory on 4e-3")
model_lines() {
  local c kind sel lr s extra
  for c in "${clist[@]}"; do
    for k in "${text_kinds[@]}"; do
      read -r kind sel lr <<<"$k"
      extra=""
      [ "$kind" = memory ] && extra=" --memory-loss $memory_loss --memory-tau 1"
      for ((s = 1; s <= $(seeds_at "$c"); ++s)); do
        echo "text_c${c}_${kind}_s$s --text $text --context $c --layers 4 --heads 4 --head-dim 32 --width 128 --selective $sel --steps $steps --batch $((tokens / c)) --lr $lr --warmup $((steps / 20)) --eval-every 0 --eval-windows 64 --val-fraction 0.1 --test-fraction 0.1 --seed $s$extra"
      done
    done
  done
  for ((s = 1; s <= va_seeds; ++s)); do
    echo "va_selective_s$s --task variable-assignment --variables 3 --context 64 --layers 2 --heads 2 --head-dim 32 --width 64 --selective on --steps 3000 --batch 32 --lr 3e-3 --warmup 300 --eval-every 0 --eval-windows 256 --seed $s"
  done
}
: >"$models/queue.txt"
while read -r name args; do
  if [ -f "$models/$name.bin" ] && [ -f "$models/$name.out" ] && [ "$(cat "$models/$name.cmd" 2>/dev/null)" = "$args" ]; then
    echo "reusing $models/$name.bin (same command line)" >&2
    continue
  fi
  rm -f "$models/$name.bin" "$models/$name.out"
  printf '%s\n' "$args" >"$models/$name.cmd"
  # shellcheck disable=SC2086
  printf 'OMP_NUM_THREADS=1 %q %s --quiet --save %q > %q.part 2>&1 && mv %q.part %q && echo "trained: %s" >&2\n' \
    "$build/benchmarks/train_lm_native" "$args" "$models/$name.bin" "$models/$name.out" "$models/$name.out" \
    "$models/$name.out" "$name" >>"$models/queue.txt"
done < <(model_lines)
if [ -s "$models/queue.txt" ]; then
  echo "training $(wc -l <"$models/queue.txt") model(s), $jobs at a time" >&2
  xargs -P "$jobs" -d '\n' -n 1 bash -c <"$models/queue.txt"
fi
[ "$train_only" = 1 ] && exit 0

# 2. Budgets: --jobs models at a time, one thread each; the fits use --fit-tokens validation
#    tokens and the reports --test-tokens test tokens (windows of the model's context).
fits="$(mktemp -d)"
trap 'rm -rf "$fits"' EXIT
# A fit's output is kept in MODELS/fits/ with a key (the hashes of the lm_pruning binary and of the
# model file, and the command line) and reused when the key is the same (and the model file it
# saved with budgets is still there).
mkdir -p "$models/fits"
prune_line() {  # prune_line NAME CONTEXT [lm_pruning options]: the command of one model's fit (or a copy)
  local name="$1" c="$2" cmd key
  shift 2
  cmd="$(printf 'OMP_NUM_THREADS=1 %q --model %q --curve-points 6 --shrink %s --fit-windows %s --test-windows %s --tolerances %s %s' \
    "$build/benchmarks/lm_pruning" "$models/$name.bin" "$shrink" $((fit_tokens / c)) $((test_tokens / c)) "$tolerances" "$*")"
  key="$(sha256sum "$build/benchmarks/lm_pruning" "$models/$name.bin" | cut -d' ' -f1 | tr '\n' ' ')$cmd"
  local saved="" a prev=""
  for a in "$@"; do [ "$prev" = --save-budgets ] && saved="$a"; prev="$a"; done
  if [ -f "$models/fits/$name.tsv" ] && [ "$(cat "$models/fits/$name.key" 2>/dev/null)" = "$key" ] &&
    { [ -z "$saved" ] || [ -f "$saved" ]; }; then
    echo "reusing the fit of $name (same binary, model and command line)" >&2
    cp "$models/fits/$name.tsv" "$fits/$name.tsv"
    return
  fi
  printf '%s\n' "$key" >"$models/fits/$name.key.new"
  printf '%s > %q 2>/dev/null && cp %q %q && mv %q %q && echo "fitted: %s" >&2\n' "$cmd" "$fits/$name.tsv" \
    "$fits/$name.tsv" "$models/fits/$name.tsv" "$models/fits/$name.key.new" "$models/fits/$name.key" "$name"
}
run_queue() { if [ -s "$1" ]; then xargs -P "$jobs" -d '\n' -n 1 bash -c <"$1"; fi; }
: >"$fits/queue1.txt"
for c in "${clist[@]}"; do
  for ((s = 1; s <= $(seeds_at "$c"); ++s)); do prune_line "text_c${c}_standard_s$s" "$c" --text "$text" --policies h2o,streaming; done
done >>"$fits/queue1.txt"
for ((s = 1; s <= va_seeds; ++s)); do
  prune_line "va_selective_s$s" 64 --task variable-assignment --variables 3 --policies selective,h2o,streaming --budgets "$va_budgets"
done >>"$fits/queue1.txt"
run_queue "$fits/queue1.txt"
# The selective models' budgets are also fitted down to the standard models' unpruned validation
# perplexity (mean over seeds, the fit windows): the paper's "same perplexity".
: >"$fits/queue2.txt"
for c in "${clist[@]}"; do
  target=$(awk -F'\t' '$1 == "unpruned" {s += $2; n++} END {printf "%.6f", s / n}' "$fits"/text_c"${c}"_standard_s*.tsv)
  for kind in selective memory; do
    for ((s = 1; s <= $(seeds_at "$c"); ++s)); do
      prune_line "text_c${c}_${kind}_s$s" "$c" --text "$text" --policies selective,h2o,streaming --target "$target" \
        --save-budgets "$models/text_c${c}_${kind}_s$s.budgets.bin"
    done
  done
done >>"$fits/queue2.txt"
run_queue "$fits/queue2.txt"
# Decode speed at the largest context: full caches vs the budgets just saved with the model.
echo "decode speed" >&2
OMP_NUM_THREADS=1 "$build/benchmarks/lm_pruning" --model "$models/text_c${clist[-1]}_memory_s1.budgets.bin" \
  --text "$text" --speed --repeats 5 >"$fits/speed.tsv"

# 3. The report and the plot.
/usr/bin/python3 "$root/benchmarks/protocols/lm_pruning_report.py" "$fits" "$models" "$plot" "$(git -C "$root" rev-parse HEAD)" \
  "$seeds" "$steps" "$tokens" "$memory_loss" "$shrink" "$fit_tokens" "$test_tokens" "$tolerances"
