#!/usr/bin/env bash
# Builds the benchmarks in Release with -O3 -march=native and runs them with repetitions,
# writing JSON to benchmarks/results/ and printing the simd/scalar and simd/Eigen ratios.
#   bash benchmarks/run.sh [extra Google Benchmark flags, e.g. --benchmark_filter=masked_softmax]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
bash "$root/scripts/attnsel.sh" deps
build="$root/build-bench"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON \
  -DATTNSEL_BUILD_TESTS=OFF -DATTNSEL_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target attnsel_bench_simd -j "$(nproc)"
mkdir -p "$here/results"
out="$here/results/simd.json"
"$build/benchmarks/attnsel_bench_simd" --benchmark_repetitions=5 \
  --benchmark_report_aggregates_only=true --benchmark_enable_random_interleaving=true \
  --benchmark_min_time=0.1 --benchmark_out="$out" --benchmark_out_format=json "$@" >/dev/null
echo "results: $out"
/usr/bin/python3 "$here/ratios.py" "$out"
