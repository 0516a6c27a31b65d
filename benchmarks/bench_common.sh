#!/usr/bin/env bash
# Shared by the benchmarks/run*.sh scripts (sourced, not run): configure build-bench (Release,
# benchmarks on; the benchmark targets add -O3 -march=native themselves), build one Google
# Benchmark target, run it with repetitions (aggregates only) into benchmarks/results/<name>.json
# and print that file's summary with a Python script.
#   run_benchmark <target> <name> <summary.py> [Google Benchmark flags ...]
# Environment: BUILD (build folder, default build-bench), REPS (repetitions, default 3).
set -euo pipefail
bench_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bench_root="$(dirname "$bench_here")"

run_benchmark() {
  local target="$1" name="$2" summary="$3"
  shift 3
  bash "$bench_root/scripts/attnsel.sh" deps
  local build="${BUILD:-$bench_root/build-bench}"
  cmake -S "$bench_root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON \
    -DATTNSEL_BUILD_TESTS=OFF -DATTNSEL_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$build" --target "$target" -j "$(nproc)"
  mkdir -p "$bench_here/results"
  local out="$bench_here/results/$name.json"
  "$build/benchmarks/$target" --benchmark_repetitions="${REPS:-3}" --benchmark_report_aggregates_only=true \
    --benchmark_out="$out" --benchmark_out_format=json "$@" >/dev/null
  echo "results: $out"
  /usr/bin/python3 "$bench_here/$summary" "$out"
}
