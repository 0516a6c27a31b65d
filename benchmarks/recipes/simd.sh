#!/usr/bin/env bash
# The SIMD kernel benchmarks: JSON in build-bench/simd.json, then the simd/scalar and simd/Eigen
# ratios on stdout (benchmarks/results/simd.md: bash benchmarks/reproduce.sh simd).
#   bash benchmarks/recipes/simd.sh [extra Google Benchmark flags, e.g. --benchmark_filter=masked_softmax]
# Environment: BUILD, REPS (default 5) as in bench_common.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"
REPS="${REPS:-5}" run_benchmark attnsel_bench_simd simd ratios.py \
  --benchmark_enable_random_interleaving=true --benchmark_min_time=0.1 "$@"
