#!/usr/bin/env bash
# Builds the Selective Attention benchmarks in Release with -O3 -march=native, runs them with
# repetitions (medians kept), writes benchmarks/results/selective.json and prints the summary
# against the targets (benchmarks/selective_summary.py).
#   bash benchmarks/run_selective.sh [extra Google Benchmark flags]
# Environment: BUILD (build folder, default build-bench), REPS (default 3).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
bash "$root/scripts/attnsel.sh" deps
build="${BUILD:-$root/build-bench}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON \
  -DATTNSEL_BUILD_TESTS=OFF -DATTNSEL_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target attnsel_bench_selective -j "$(nproc)"
mkdir -p "$here/results"
out="$here/results/selective.json"
"$build/benchmarks/attnsel_bench_selective" --benchmark_repetitions="${REPS:-3}" \
  --benchmark_report_aggregates_only=true --benchmark_out="$out" --benchmark_out_format=json "$@" >/dev/null
echo "results: $out"
/usr/bin/python3 "$here/selective_summary.py" "$out"
