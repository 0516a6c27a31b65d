#!/usr/bin/env bash
# attnsel vs a PyTorch port of the reference Sequential Attention model on MNIST, k = 50, same
# epochs / batch / learning rate, 2 threads each; fetches MNIST into the data cache. Prints the
# PyTorch port's line, then attnsel's selection_protocol report (one seed, no learning-rate grid, both
# trained on all 60,000 training images: --val-fraction 0).
#   bash benchmarks/peers/torch_sequential_attention.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_torch
mnist="$(bash "$peer_root/scripts/get_data.sh" mnist | sed 's/^mnist: //')"
peer_build selection_protocol
/usr/bin/python3 "$peer_root/benchmarks/peers/torch_sequential_attention.py" "$mnist" --k 50 --epochs 20 --batch 256 --lr 2e-3 --seed 1
echo
"$peer_root/build-bench/benchmarks/selection_protocol" --idx "$mnist" --name mnist --preset mnist_attnsel --k 50 --seeds 1 \
  --methods sa --val-fraction 0 --quiet
