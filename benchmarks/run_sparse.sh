#!/usr/bin/env bash
# The block-sparse benchmark: JSON in benchmarks/results/sparse.json, then the table of BSR
# speed-ups over dense GEMM and CSR with the issue's targets.
#   bash benchmarks/run_sparse.sh [extra Google Benchmark flags, e.g. --benchmark_filter=/1024/]
# Environment: BUILD, REPS (default 3) as in bench_common.sh; MIN_TIME (default 0.05).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"
run_benchmark attnsel_bench_sparse sparse sparse_ratios.py --benchmark_min_time="${MIN_TIME:-0.05}" "$@"
