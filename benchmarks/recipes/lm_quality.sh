#!/usr/bin/env bash
# Selective Attention at convergence, quality (issue #35): selective (4 heads) vs standard (4 heads)
# vs standard (8 heads, twice the attention parameters) language models on the English corpus
# (scripts/get_data.sh english), characters at contexts 256, 512 and 1024 and SentencePiece
# subwords (4096 pieces, trained on the training part only) at 256, trained to convergence under
# the protocol of docs/language-models.md §10 by benchmarks/protocols/lm_protocol.py.
#
# The models are trained by train_lm built at one pinned commit (--rev, default below), in a
# folder of its own under the cache, so that the trainer binary, and with it every cached model's
# key (the binary's SHA-256 and the command line), does not change with later library work or with
# the checkout it is run from. Models stay in the cache (--models) between sessions: each call
# trains what is still missing, --jobs runs at a time (one thread each), and starts no new run after
# --hours; the markdown report (stdout) and the curves (--plot) come once every run is there.
# The protocol's second stage, memory at equal perplexity, prunes the reported character models
# with lm_pruning pinned the same way (PRUNER_COMMIT); its jobs join the queue as their models are
# trained, and --memory prints its report (and draws benchmarks/results/lm_memory.png) instead.
#   bash benchmarks/recipes/lm_quality.sh [--rev COMMIT] [--jobs 2] [--hours H] [--train-only] [--status]
#       [--memory] [--models DIR] [--plot FILE.png]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${ATTNSEL_DATA_CACHE:-$HOME/.cache/attnsel}"
rev="" jobs=2 hours=0 mode=all models="$cache/lm_quality" plot="" report=report
while [ $# -gt 0 ]; do
  case "$1" in
    --rev) rev="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --hours) hours="$2"; shift 2 ;;
    --train-only) mode=train; shift ;;
    --status) mode=status; shift ;;
    --memory) report=memory-report; shift ;;
    --models) models="$2"; shift 2 ;;
    --plot) plot="$2"; shift 2 ;;
    *) echo "lm_quality.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
# The pinned training commit (docs/language-models.md §10): every model of the protocol is trained
# by train_lm built at it.
[ -n "$rev" ] || rev="$(sed -n 's/^TRAINER_COMMIT = "\([0-9a-f]*\)".*/\1/p' "$root/benchmarks/protocols/lm_protocol.py")"
full="$(git -C "$root" rev-parse --verify "$rev^{commit}")"
bash "$root/scripts/attnsel.sh" deps >&2
dpkg-query -W -f='${Status}' python3-matplotlib 2>/dev/null | grep -q "install ok installed" ||
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-matplotlib >/dev/null; } >&2
data="$(bash "$root/scripts/get_data.sh" english | sed -n 's/^english: //p')"

# The trainer at the pinned commit, built in the cache (the same path whatever the checkout).
pinned="$cache/trainer-${full:0:12}"
if [ ! -x "$pinned/build/benchmarks/train_lm_native" ] || [ ! -x "$pinned/build/examples/train_tokenizer" ]; then
  rm -rf "$pinned/src"
  mkdir -p "$pinned/src"
  git -C "$root" archive "$full" | tar -x -C "$pinned/src"
  cmake -S "$pinned/src" -B "$pinned/build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON \
    -DATTNSEL_BUILD_TESTS=OFF -DATTNSEL_BUILD_EXAMPLES=ON -DATTNSEL_BUILD_PYTHON=OFF >/dev/null
  cmake --build "$pinned/build" --target train_lm_native train_tokenizer -j "$(nproc)" >&2
fi
trainer="$pinned/build/benchmarks/train_lm_native"

# The memory stage's lm_pruning, pinned the same way (PRUNER_COMMIT).
prev="$(sed -n 's/^PRUNER_COMMIT = "\([0-9a-f]*\)".*/\1/p' "$root/benchmarks/protocols/lm_protocol.py")"
pruned="$cache/pruner-${prev:0:12}"
if [ ! -x "$pruned/build/benchmarks/lm_pruning" ]; then
  rm -rf "$pruned/src"
  mkdir -p "$pruned/src"
  git -C "$root" archive "$prev" | tar -x -C "$pruned/src"
  cmake -S "$pruned/src" -B "$pruned/build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON \
    -DATTNSEL_BUILD_TESTS=OFF -DATTNSEL_BUILD_EXAMPLES=OFF -DATTNSEL_BUILD_PYTHON=OFF >/dev/null
  cmake --build "$pruned/build" --target lm_pruning -j "$(nproc)" >&2
fi

# The subword model: 4096 unigram pieces learned from the training part only.
mkdir -p "$models"
tokenizer="$models/english_unigram4096.model"
if [ ! -s "$tokenizer" ]; then
  "$pinned/build/examples/train_tokenizer" --text "$data/train.txt" --pieces 4096 --type unigram --out "$tokenizer.tmp" >&2
  mv "$tokenizer.tmp" "$tokenizer"
fi

protocol=(/usr/bin/python3 "$root/benchmarks/protocols/lm_protocol.py")
common=(--trainer "$trainer" --rev "$full" --data "$data" --models "$models" --tokenizer "$tokenizer"
  --pruner "$pruned/build/benchmarks/lm_pruning" --pruner-rev "$prev")
case "$mode" in
  status) "${protocol[@]}" status "${common[@]}" ;;
  train) "${protocol[@]}" train "${common[@]}" --jobs "$jobs" --hours "$hours" ;;
  all)
    "${protocol[@]}" train "${common[@]}" --jobs "$jobs" --hours "$hours"
    if [ -z "$plot" ]; then
      plot="$root/benchmarks/results/lm_quality_curves.png"
      [ "$report" = report ] || plot="$root/benchmarks/results/lm_memory.png"
    fi
    "${protocol[@]}" "$report" "${common[@]}" --plot "$plot"
    ;;
esac
