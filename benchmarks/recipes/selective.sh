#!/usr/bin/env bash
# The Selective Attention benchmarks: JSON in build-bench/selective.json, then the summary against
# the targets (benchmarks/kernels/selective_summary.py) on stdout (benchmarks/results/selective.md:
# bash benchmarks/reproduce.sh selective).
#   bash benchmarks/recipes/selective.sh [extra Google Benchmark flags]
# Environment: BUILD, REPS (default 3) as in bench_common.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"
run_benchmark attnsel_bench_selective selective selective_summary.py "$@"
