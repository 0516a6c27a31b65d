#!/usr/bin/env bash
# The block-sparse benchmark: JSON in build-bench/sparse.json, then the table of BSR speed-ups over
# dense GEMM and CSR with the issue's targets on stdout (benchmarks/results/sparse.md: bash
# benchmarks/reproduce.sh sparse).
#   bash benchmarks/recipes/sparse.sh [extra Google Benchmark flags, e.g. --benchmark_filter=/1024/]
# With --threads LIST (e.g. 1,2): one run per thread count (OMP_NUM_THREADS, which Eigen follows
# too) into build-bench/sparse_threads<T>.json, by default of the 10 % density, B = 16 and 32,
# batch 32 and 256 cells and their dense products only (a --benchmark_filter replaces that), then
# the table side by side per thread count (benchmarks/results/sparse_threads.md).
#   bash benchmarks/recipes/sparse.sh --threads 1,2 [extra Google Benchmark flags]
# Environment: BUILD, REPS (default 3) as in bench_common.sh; MIN_TIME (default 0.05).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"
if [ "${1:-}" != "--threads" ]; then
  run_benchmark attnsel_bench_sparse sparse sparse_ratios.py --benchmark_min_time="${MIN_TIME:-0.05}" "$@"
  exit 0
fi
if [ $# -lt 2 ] || ! [[ "$2" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]]; then
  echo "sparse.sh: --threads takes a list such as 1,2" >&2
  exit 2
fi
threads="$2"
shift 2
filter='--benchmark_filter=(dense/[0-9]+/all/all|(bsr|csr|csrrm)/[0-9]+/10/(16|32))/(32|256)(/|$)'
for a in "$@"; do [[ "$a" == --benchmark_filter=* ]] && filter=""; done
bench_build attnsel_bench_sparse
runs=()
for t in ${threads//,/ }; do
  out="$(OMP_NUM_THREADS="$t" bench_json attnsel_bench_sparse "sparse_threads$t" --benchmark_min_time="${MIN_TIME:-0.05}" \
    ${filter:+"$filter"} "$@")"
  runs+=("$t=$out")
done
/usr/bin/python3 "$bench_root/benchmarks/kernels/sparse_ratios.py" --threads "${runs[@]}"
