#!/usr/bin/env bash
# The Selective Attention benchmarks: JSON in benchmarks/results/selective.json, then the
# summary against the targets (benchmarks/selective_summary.py).
#   bash benchmarks/run_selective.sh [extra Google Benchmark flags]
# Environment: BUILD, REPS (default 3) as in bench_common.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench_common.sh"
run_benchmark attnsel_bench_selective selective selective_summary.py "$@"
