#!/usr/bin/env bash
# Sequential Attention vs scikit-learn's SequentialFeatureSelector and L1 SelectFromModel on the
# bundled digits, k = 20.
#   bash benchmarks/peers/sklearn_sfs_digits.sh [--k 20] [--seeds 3]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_sklearn
peer_build feature_selection
/usr/bin/python3 "$peer_root/benchmarks/peers/sklearn_sfs_digits.py" "$peer_root/build-bench/examples/feature_selection" "$@"
