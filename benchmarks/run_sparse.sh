#!/usr/bin/env bash
# Builds the block-sparse benchmark in Release with -O3 -march=native, runs it with repetitions
# (medians kept) and writes benchmarks/results/sparse.json, then prints the table of BSR
# speed-ups over dense GEMM and CSR with the issue's targets.
#   bash benchmarks/run_sparse.sh [extra Google Benchmark flags, e.g. --benchmark_filter=/1024/]
# Environment: BUILD (build folder, default build-bench), REPS (default 3), MIN_TIME (default 0.05).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
build="${BUILD:-$root/build-bench}"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON \
  -DATTNSEL_BUILD_TESTS=OFF -DATTNSEL_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target attnsel_bench_sparse -j "$(nproc)"
mkdir -p "$here/results"
out="$here/results/sparse.json"
"$build/benchmarks/attnsel_bench_sparse" --benchmark_repetitions="${REPS:-3}" \
  --benchmark_report_aggregates_only=true --benchmark_min_time="${MIN_TIME:-0.05}" \
  --benchmark_out="$out" --benchmark_out_format=json "$@" >/dev/null
echo "results: $out"
/usr/bin/python3 "$here/sparse_ratios.py" "$out"
