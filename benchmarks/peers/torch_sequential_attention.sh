#!/usr/bin/env bash
# attnsel vs a PyTorch port of the reference Sequential Attention model on MNIST, k = 50, same
# epochs / batch / learning rate; fetches MNIST into the data cache. Prints the PyTorch port's line
# under every thread setting of torch_settings (common.sh; each a fresh process) and its fastest,
# then (attnsel with OMP_NUM_THREADS, 2 by default) attnsel's selection_protocol report (one seed, no learning-rate grid, both
# trained on all 60,000 training images: --val-fraction 0).
#   bash benchmarks/peers/torch_sequential_attention.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_torch
mnist="$(bash "$peer_root/scripts/get_data.sh" mnist | sed 's/^mnist: //')"
peer_build selection_protocol
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
while read -r omp blas; do
  OMP_NUM_THREADS="$omp" OPENBLAS_NUM_THREADS="$blas" /usr/bin/python3 "$peer_root/benchmarks/peers/torch_sequential_attention.py" \
    "$mnist" --k 50 --epochs 20 --batch 256 --lr 2e-3 --seed 1 --threads "$omp" | sed "s/^torch/OMP_NUM_THREADS=$omp OPENBLAS_NUM_THREADS=$blas: torch/"
done < <(torch_settings) | tee "$tmp/torch.txt"
awk 'match($0, / in [0-9.]+ s;/) { v = substr($0, RSTART + 4, RLENGTH - 7) + 0;
       if (best == "" || v < best) { best = v; at = substr($0, 1, index($0, ":") - 1) } }
     END { printf "PyTorch at its fastest setting (%s): selected in %.2f s\n", at, best }' "$tmp/torch.txt"
echo
"$peer_root/build-bench/benchmarks/selection_protocol" --idx "$mnist" --name mnist --preset mnist_attnsel --k 50 --seeds 1 \
  --methods sa --val-fraction 0 --quiet
