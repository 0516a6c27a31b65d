#!/usr/bin/env bash
# attnsel vs PyTorch (CPU): seconds per 60,000-example epoch of the 784-256-128-10 MLP, batch 256,
# Adam, 2 threads each (OMP_NUM_THREADS to change).
#   bash benchmarks/peers/torch_mlp_epoch.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_torch
peer_build attnsel_bench_train
/usr/bin/python3 "$peer_root/benchmarks/peers/torch_mlp_epoch.py" "$OMP_NUM_THREADS" 3
"$peer_root/build-bench/benchmarks/attnsel_bench_train" --benchmark_filter=epoch
"$peer_root/build-bench/benchmarks/attnsel_bench_train" --benchmark_filter='step|gemm' \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
