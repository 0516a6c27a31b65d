#!/usr/bin/env bash
# Do the peers oversubscribe the cores? Every peer workload (torch, numpy/OpenBLAS, scikit-learn,
# attnsel's Python selector) in one process with the peer scripts' thread settings; the runnable
# threads sampled every millisecond (benchmarks/peers/peer_threads.py).
#   bash benchmarks/peers/peer_threads.sh [--seconds 3]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_torch
peer_apt python3-threadpoolctl
peer_build _attnsel
PYTHONPATH="$peer_root/build-bench/python" /usr/bin/python3 "$peer_root/benchmarks/peers/peer_threads.py" "$@"
