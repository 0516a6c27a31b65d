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
# The third stage, Variable Assignment (benchmarks/protocols/va_protocol.py, its own pinned trainer
# VA_TRAINER_COMMIT), is a queue of its own: --va trains, reports (--status: shows) it instead.
#   bash benchmarks/recipes/lm_quality.sh [--rev COMMIT] [--jobs 2] [--hours H] [--train-only] [--status]
#       [--memory | --va] [--models DIR] [--plot FILE.png | PREFIX (--va)]
set -euo pipefail
# The whole recipe is one function, read before it runs: editing this file while a queue runs is safe.
main() {
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
      --va) report=va; shift ;;
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

  # pinned DIR COMMIT TARGET...: the targets built at COMMIT in DIR of the cache (the same path
  # whatever the checkout), once.
  pinned() {
    local dir="$1" commit="$2" t missing=0
    shift 2
    for t in "$@"; do [ -n "$(find "$dir/build" -type f -name "$t" -perm -u+x 2>/dev/null | head -n 1)" ] || missing=1; done
    if [ "$missing" = 1 ]; then
      rm -rf "$dir/src"
      mkdir -p "$dir/src"
      git -C "$root" archive "$commit" | tar -x -C "$dir/src"
      cmake -S "$dir/src" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON \
        -DATTNSEL_BUILD_TESTS=OFF -DATTNSEL_BUILD_EXAMPLES=ON -DATTNSEL_BUILD_PYTHON=OFF >/dev/null
      cmake --build "$dir/build" --target "$@" -j "$(nproc)" >&2
    fi
  }
  constant() { sed -n "s/^$1 = \"\([0-9a-f]*\)\".*/\1/p" "$root/benchmarks/protocols/$2"; }

  # The trainer of the language models (TRAINER_COMMIT, or --rev).
  pinned "$cache/trainer-${full:0:12}" "$full" train_lm_native train_tokenizer
  trainer="$cache/trainer-${full:0:12}/build/benchmarks/train_lm_native"
  # The memory stage's lm_pruning (PRUNER_COMMIT).
  prev="$(constant PRUNER_COMMIT lm_protocol.py)"
  pinned "$cache/pruner-${prev:0:12}" "$prev" lm_pruning
  pruned="$cache/pruner-${prev:0:12}"
  # The Variable Assignment stage's trainer (VA_TRAINER_COMMIT).
  varev="$(constant VA_TRAINER_COMMIT va_protocol.py)"
  pinned "$cache/trainer-${varev:0:12}" "$varev" train_lm_native
  va_trainer="$cache/trainer-${varev:0:12}/build/benchmarks/train_lm_native"

  # The subword model: 4096 unigram pieces learned from the training part only.
  mkdir -p "$models"
  tokenizer="$models/english_unigram4096.model"
  if [ ! -s "$tokenizer" ]; then
    "$cache/trainer-${full:0:12}/build/examples/train_tokenizer" --text "$data/train.txt" --pieces 4096 --type unigram --out "$tokenizer.tmp" >&2
    mv "$tokenizer.tmp" "$tokenizer"
  fi

  protocol=(/usr/bin/python3 "$root/benchmarks/protocols/lm_protocol.py")
  common=(--trainer "$trainer" --rev "$full" --data "$data" --models "$models" --tokenizer "$tokenizer"
    --pruner "$pruned/build/benchmarks/lm_pruning" --pruner-rev "$prev")
  # Earlier pins (EARLIER_TRAINERS): their runs count once train has shown they train the same models.
  local earlier
  for earlier in $(sed -n 's/^EARLIER_TRAINERS = (\(.*\)).*/\1/p' "$root/benchmarks/protocols/lm_protocol.py" | grep -o '[0-9a-f]\{40\}'); do
    pinned "$cache/trainer-${earlier:0:12}" "$earlier" train_lm_native
    common+=(--earlier-trainer "$earlier=$cache/trainer-${earlier:0:12}/build/benchmarks/train_lm_native")
  done
  if [ "$report" = va ]; then
    protocol=(/usr/bin/python3 "$root/benchmarks/protocols/va_protocol.py")
    common=(--trainer "$va_trainer" --rev "$varev" --models "$models" --pruner "$pruned/build/benchmarks/lm_pruning"
      --pruner-rev "$prev")
  fi
  case "$mode" in
    status) "${protocol[@]}" status "${common[@]}" ;;
    train) "${protocol[@]}" train "${common[@]}" --jobs "$jobs" --hours "$hours" ;;
    all)
      "${protocol[@]}" train "${common[@]}" --jobs "$jobs" --hours "$hours"
      case "$report" in
        report) "${protocol[@]}" report "${common[@]}" --plot "${plot:-$root/benchmarks/results/lm_quality_curves.png}" ;;
        memory-report) "${protocol[@]}" memory-report "${common[@]}" --plot "${plot:-$root/benchmarks/results/lm_memory.png}" ;;
        va) "${protocol[@]}" report "${common[@]}" --plot "${plot:-$root/benchmarks/results/lm_variable_assignment}" ;;
      esac
      ;;
  esac
}
main "$@"
