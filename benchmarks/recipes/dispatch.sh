#!/usr/bin/env bash
# Runtime instruction-set dispatch (issue #36), side by side in one run on this machine:
#   - speed per instruction set: the masked softmax (n = 4096 and 65536), the product kernel on the
#     784-256-128-10 MLP's forward shapes at batch 256, the Selective Attention prefill at N = 2048
#     (kernels/bench_dispatch.cpp), the main job (examples/feature_selection on the bundled digits,
#     k = 10) and the Python selector (SequentialAttentionSelector(10) on digits): one build linked
#     to attnsel::compiled with runtime dispatch and no -march, run with ATTNSEL_ISA=sse2, avx2,
#     avx512 (those this CPU has) and unset (the dispatched choice), against a -march=native build of
#     the same programs (the library too; dispatch off). Rounds alternate every setting, so a slow
#     phase of the (virtual) machine reaches them alike; medians over rounds.
#   - what the three kernel copies cost: attnsel::compiled's clean build time and its size, without
#     dispatch (before) and with it.
# Builds in build-bench/isa/{before,dispatch,native}/. Prints Markdown on stdout, progress on stderr.
#   bash benchmarks/recipes/dispatch.sh [--rounds 5]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rounds=5
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    *) echo "dispatch.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "dispatch.sh: --rounds takes a positive number, got '$rounds'" >&2; exit 2; }
bash "$root/scripts/attnsel.sh" deps >&2
jobs="$(nproc)"
isa="$root/build-bench/isa"
mkdir -p "$isa"

configure() {  # configure NAME CMAKE-ARGS...
  local dir="$isa/$1"
  shift
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_TESTS=OFF -DATTNSEL_BUILD_EXAMPLES=ON \
    -DATTNSEL_BUILD_BENCHMARKS=ON -DATTNSEL_EXAMPLES_COMPILED=ON "$@" >/dev/null
}

# The library's clean build, timed (wall seconds), and its size: before = without dispatch.
build_rows=()
for kind in before dispatch; do
  rm -rf "$isa/$kind"
  if [ "$kind" = before ]; then
    configure before -DATTNSEL_RUNTIME_DISPATCH=OFF -DATTNSEL_BUILD_PYTHON=OFF
  else
    configure dispatch -DATTNSEL_RUNTIME_DISPATCH=ON -DATTNSEL_BUILD_PYTHON=ON
  fi
  echo "dispatch.sh: building attnsel::compiled ($kind)" >&2
  t0="$(date +%s.%N)"
  cmake --build "$isa/$kind" --target attnsel_compiled -j "$jobs" >/dev/null
  t1="$(date +%s.%N)"
  lib="$isa/$kind/libattnsel_compiled.a"
  text="$(size -t "$lib" | awk 'END {print $1}')"
  build_rows+=("$kind $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}') $(stat -c %s "$lib") $text")
done
configure native -DATTNSEL_RUNTIME_DISPATCH=OFF -DATTNSEL_BUILD_PYTHON=ON -DCMAKE_CXX_FLAGS=-march=native
for kind in dispatch native; do
  echo "dispatch.sh: building the programs ($kind)" >&2
  cmake --build "$isa/$kind" --target attnsel_bench_dispatch feature_selection _attnsel -j "$jobs" >/dev/null
done

echo "## attnsel::compiled with and without its kernel copies"
echo
echo "Clean build of the library alone (\`cmake --build --target attnsel_compiled -j $jobs\`, Release, g++), and its size."
echo
echo "| build | build time (s) | libattnsel_compiled.a (bytes) | code and data of its objects (\`size -t\`, bytes) |"
echo "|---|---|---|---|"
for r in "${build_rows[@]}"; do
  read -r kind secs bytes text <<<"$r"
  label="without dispatch (ATTNSEL_RUNTIME_DISPATCH=OFF: the baseline's kernels only)"
  [ "$kind" = dispatch ] && label="with dispatch (SSE2, AVX2 and AVX-512 kernel tables)"
  echo "| $label | $secs | $bytes | $text |"
done
echo
OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" /usr/bin/python3 "$here/dispatch/run.py" --dispatch "$isa/dispatch" \
  --native "$isa/native" --rounds "$rounds"
