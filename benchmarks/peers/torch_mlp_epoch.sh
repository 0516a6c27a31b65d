#!/usr/bin/env bash
# attnsel vs PyTorch (CPU): seconds per 60,000-example epoch of the 784-256-128-10 MLP, batch 256,
# Adam, 2 threads each. Installs Debian's python3-torch when missing; builds the benchmark.
#   bash benchmarks/peers/torch_mlp_epoch.sh [threads]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
threads="${1:-2}"
bash "$root/scripts/attnsel.sh" deps
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null
fi
# Debian's torch calls the system BLAS; without OpenBLAS it is the reference BLAS (~6x slower here).
if ! dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q "install ok installed"; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread >/dev/null
fi
build="$root/build-bench"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON -DATTNSEL_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target attnsel_bench_train -j "$(nproc)" >/dev/null
OMP_NUM_THREADS="$threads" OPENBLAS_NUM_THREADS="$threads" /usr/bin/python3 "$root/benchmarks/peers/torch_mlp_epoch.py" "$threads" 3
OMP_NUM_THREADS="$threads" "$build/benchmarks/attnsel_bench_train" --benchmark_filter=epoch
OMP_NUM_THREADS="$threads" "$build/benchmarks/attnsel_bench_train" --benchmark_filter='step|gemm' \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
