#!/usr/bin/env bash
# attnsel's OMP vs scikit-learn's OrthogonalMatchingPursuit (precompute on and off) at
# n=20000, d=1000, k=100 and n=500, d=100, k=10: times, speed-ups, identical selection (issue #5).
# 2 threads each (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS to change).
#   bash benchmarks/peers/sklearn_omp.sh [--repeats 5] [--small-repeats 300]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_sklearn
peer_build omp_peer
/usr/bin/python3 "$peer_root/benchmarks/peers/sklearn_omp.py" "$peer_root/build-bench/benchmarks/omp_peer" "$@"
