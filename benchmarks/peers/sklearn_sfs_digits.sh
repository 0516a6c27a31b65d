#!/usr/bin/env bash
# Sequential Attention vs scikit-learn's SequentialFeatureSelector and L1 SelectFromModel on the
# bundled digits, k = 20. Installs python3-sklearn when missing; builds feature_selection.
#   bash benchmarks/peers/sklearn_sfs_digits.sh [--k 20] [--seeds 3]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$root/scripts/attnsel.sh" deps
if ! /usr/bin/python3 -c "import sklearn" 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-sklearn >/dev/null
fi
build="$root/build-bench"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_TESTS=OFF -DATTNSEL_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target feature_selection -j "$(nproc)" >/dev/null
OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 "$root/benchmarks/peers/sklearn_sfs_digits.py" "$build/examples/feature_selection" "$@"
