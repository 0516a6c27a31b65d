#!/usr/bin/env bash
# attnsel vs PyTorch (CPU): seconds per 60,000-example epoch of the 784-256-128-10 MLP, batch 256,
# Adam; PyTorch under every thread setting of torch_settings (common.sh), each in a fresh process,
# and at its fastest; attnsel with OMP_NUM_THREADS (2 by default).
#   bash benchmarks/peers/torch_mlp_epoch.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_torch
peer_build attnsel_bench_train
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
while read -r omp blas; do
  OMP_NUM_THREADS="$omp" OPENBLAS_NUM_THREADS="$blas" /usr/bin/python3 "$peer_root/benchmarks/peers/torch_mlp_epoch.py" "$omp" 3 |
    sed "s/^/OMP_NUM_THREADS=$omp OPENBLAS_NUM_THREADS=$blas: /"
done < <(torch_settings) | tee "$tmp/torch.txt"
awk 'match($0, /: ([0-9.]+) s per epoch/) { v = substr($0, RSTART + 2, RLENGTH - 2) + 0;
       if (best == "" || v < best) { best = v; at = substr($0, 1, index($0, ":") - 1) } }
     END { printf "PyTorch at its fastest setting (%s): %.3f s per epoch\n", at, best }' "$tmp/torch.txt"
"$peer_root/build-bench/benchmarks/attnsel_bench_train" --benchmark_filter=epoch
"$peer_root/build-bench/benchmarks/attnsel_bench_train" --benchmark_filter='step|gemm' \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
