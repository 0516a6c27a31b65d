#!/usr/bin/env bash
# attnsel vs a PyTorch port of the reference Sequential Attention model on MNIST, k = 50, same
# epochs / batch / learning rate, 2 threads each. Installs python3-torch (+ OpenBLAS) when
# missing, fetches MNIST into the data cache, builds selection_protocol.
#   bash benchmarks/peers/torch_sequential_attention.sh [seed]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seed="${1:-1}"
bash "$root/scripts/attnsel.sh" deps
if ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch >/dev/null
fi
if ! dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q "install ok installed"; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread >/dev/null
fi
mnist="$(bash "$root/scripts/get_data.sh" mnist | sed 's/^mnist: //')"
build="$root/build-bench"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON -DATTNSEL_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" --target selection_protocol -j "$(nproc)" >/dev/null
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
/usr/bin/python3 "$root/benchmarks/peers/torch_sequential_attention.py" "$mnist" --k 50 --epochs 20 --batch 256 --lr 2e-3 --seed "$seed"
"$build/benchmarks/selection_protocol" --idx "$mnist" --name mnist --preset mnist_attnsel --k 50 --seeds "$seed" --methods sa 2>/dev/null | tail -1
