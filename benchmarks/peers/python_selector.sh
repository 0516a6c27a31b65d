#!/usr/bin/env bash
# attnsel's Python estimator next to scikit-learn's SequentialFeatureSelector and SelectFromModel
# (same splits, same k), in one Python process.
#   bash benchmarks/peers/python_selector.sh [--seeds 3]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_sklearn
peer_build _attnsel
PYTHONPATH="$peer_root/build-bench/python" /usr/bin/python3 "$peer_root/benchmarks/peers/python_selector.py" "$@"
