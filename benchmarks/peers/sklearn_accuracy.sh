#!/usr/bin/env bash
# attnsel vs scikit-learn accuracy on the bundled tables (same splits).
#   bash benchmarks/peers/sklearn_accuracy.sh [--seeds 5] [--epochs 200] [--tables digits]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_sklearn
peer_build train_classifier
/usr/bin/python3 "$peer_root/benchmarks/peers/sklearn_accuracy.py" "$peer_root/build-bench/examples/train_classifier" "$@"
