#!/usr/bin/env bash
# attnsel's OMP vs scikit-learn's OrthogonalMatchingPursuit (precompute on and off) at
# n=20000, d=1000, k=100 and n=500, d=100, k=10: times, speed-ups, identical selection (issue #5).
# 2 threads each (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS to change). --runs N (first argument)
# repeats the whole comparison N times in a row, to show the run-to-run noise; the other
# arguments go to sklearn_omp.py. The tables go to stdout.
#   bash benchmarks/peers/sklearn_omp.sh [--runs 3] [--repeats 5] [--small-repeats 300]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
runs=1
if [ "${1:-}" = "--runs" ]; then
  [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "sklearn_omp.sh: --runs takes a positive count" >&2; exit 2; }
  runs="$2"
  shift 2
fi
need_sklearn
peer_build omp_peer
for ((run = 1; run <= runs; run++)); do
  if [ "$runs" -gt 1 ]; then
    [ "$run" -eq 1 ] || echo
    echo "run $run of $runs"
  fi
  /usr/bin/python3 "$peer_root/benchmarks/peers/sklearn_omp.py" "$peer_root/build-bench/benchmarks/omp_peer" "$@"
done
