#!/usr/bin/env bash
# attnsel vs scikit-learn accuracy on the bundled tables (same splits). Installs Debian's
# python3-sklearn when missing and builds train_classifier in build-bench/.
#   bash benchmarks/peers/sklearn_accuracy.sh [--seeds 5] [--epochs 200] [--tables digits]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$root/scripts/attnsel.sh" deps
if ! /usr/bin/python3 -c "import sklearn" 2>/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-sklearn >/dev/null
fi
build="$root/build-bench"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_TESTS=OFF -DATTNSEL_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target train_classifier -j "$(nproc)" >/dev/null
/usr/bin/python3 "$root/benchmarks/peers/sklearn_accuracy.py" "$build/examples/train_classifier" "$@"
