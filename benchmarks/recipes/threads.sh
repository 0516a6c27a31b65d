#!/usr/bin/env bash
# Threads only where they pay (issue #13): wall-clock time of the main job (feature_selection on
# the bundled digits, k = 10) with OMP_NUM_THREADS=1 and 2, on an idle machine and with one other
# busy process (a spinning shell loop), and of the large cases (MNIST selection k = 50, OMP
# n = 20000, Selective Attention prefill N = 2048, an MLP fit of three 60,000-example epochs) with 1 and 2
# threads on the idle machine. Prints a markdown report on stdout; build chatter on stderr.
#   bash benchmarks/recipes/threads.sh [--rev REV] [--runs N]
#     --rev REV   measure the programs as of commit REV (built in a temporary worktree), e.g. the
#                 commit before a change, for a before/after comparison
#     --runs N    runs of the main job per setting (median reported; default 15). The 1- and
#                 2-thread runs alternate, so a slow phase of the (virtual) machine hits both alike;
#                 the large cases alternate the same way (5 runs each).
# Run it on an otherwise idle machine (reproduce.sh threads / threads_before).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rev="" runs=15 bench_runs=5
while [ $# -gt 0 ]; do
  case "$1" in
    --rev) rev="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    *) echo "threads.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "threads.sh: --runs takes a positive number, got '$runs'" >&2; exit 2; }

src="$root"
build="$root/build-bench"
if [ -n "$rev" ]; then
  full="$(git -C "$root" rev-parse --verify "$rev^{commit}")"
  src="$root/build-bench/rev-${full:0:12}/src"
  build="$root/build-bench/rev-${full:0:12}/build"
  if [ ! -d "$src" ]; then
    mkdir -p "$(dirname "$src")"
    git -C "$root" worktree add --detach "$src" "$full" >&2
  fi
fi
bash "$root/scripts/attnsel.sh" deps >&2
# strace counts the threads the main job starts (Debian package strace).
command -v strace >/dev/null || { [ "$(id -u)" -eq 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq strace >/dev/null; } >&2 || true
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON -DATTNSEL_BUILD_TESTS=OFF \
  -DATTNSEL_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target feature_selection attnsel_bench_selection attnsel_bench_selective attnsel_bench_train \
  -j "$(nproc)" >&2

tmp="$(mktemp -d)"
spinner=""
cleanup() { [ -n "$spinner" ] && kill "$spinner" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# main_job_times: $runs runs each of the main job with OMP_NUM_THREADS=1 and 2, alternating; prints
# one line per run: "THREADS WALL_SECONDS CPU_SECONDS" (CPU = user + system of the program).
main_job_times() {
  local i t
  local TIMEFORMAT='%R %U %S'
  for ((i = 0; i < runs; ++i)); do
    for t in 1 2; do
      { time OMP_NUM_THREADS="$t" "$build/examples/feature_selection" --quiet --picture "$tmp/p.png" >/dev/null; } 2>"$tmp/time"
      awk -v t="$t" '{printf "%s %.3f %.3f\n", t, $1, $2 + $3}' "$tmp/time"
    done
  done
}

# median COLUMN THREADS FILE: the median of column COLUMN over the lines of FILE for THREADS.
median() {
  awk -v c="$1" -v t="$2" '$1 == t {print $c}' "$3" | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}
# minimum COLUMN THREADS FILE
minimum() {
  awk -v c="$1" -v t="$2" '$1 == t {print $c}' "$3" | sort -n | head -1
}

# bench_times THREADS PROGRAM FILTER: the real time in seconds of each repetition of the benchmark.
bench_times() {
  OMP_NUM_THREADS="$1" "$build/benchmarks/$2" --benchmark_filter="$3" --benchmark_repetitions=1 \
    --benchmark_format=json 2>/dev/null |
    /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}
for b in d["benchmarks"]:
    if b.get("run_type", "iteration") == "iteration":
        print("%.4f" % (b["real_time"] * scale[b["time_unit"]]))
'
}

# threads_started THREADS: how many threads the main job creates besides its own (strace counts
# clone calls): 0 means that no OpenMP parallel region ran.
threads_started() {
  OMP_NUM_THREADS="$1" strace -f -qq -e trace=clone,clone3 -o "$tmp/strace" \
    "$build/examples/feature_selection" --quiet --picture "$tmp/p.png" >/dev/null
  grep -c -E 'clone3?\(' "$tmp/strace" || true
}

echo "## Threads: one vs two OpenMP threads${rev:+ at commit ${rev}}"
echo
echo "Main job (feature_selection, bundled digits, k = 10), whole program: $runs runs per setting, 1- and"
echo "2-thread runs alternating; wall-clock median (and minimum), and the median CPU time (user + system,"
echo "all threads) — a thread that spins or waits busily shows up there."
echo
echo "| machine | 1 thread (s) | 2 threads (s) | 2 threads / 1 thread | minimum, 1 / 2 threads (s) | CPU time, 1 / 2 threads (s) |"
echo "|---|---|---|---|---|---|"
for load in idle busy; do
  if [ "$load" = busy ]; then
    sh -c 'while :; do :; done' &
    spinner=$!
    sleep 1
  fi
  main_job_times >"$tmp/runs"
  one=$(median 2 1 "$tmp/runs") two=$(median 2 2 "$tmp/runs")
  label="idle"
  [ "$load" = busy ] && label="one other busy process"
  echo "| $label | $one | $two | $(awk -v a="$one" -v b="$two" 'BEGIN {printf "%.2f", b / a}') |" \
    "$(minimum 2 1 "$tmp/runs") / $(minimum 2 2 "$tmp/runs") | $(median 3 1 "$tmp/runs") / $(median 3 2 "$tmp/runs") |"
  if [ -n "$spinner" ]; then kill "$spinner"; wait "$spinner" 2>/dev/null || true; spinner=""; fi
done
echo
if command -v strace >/dev/null; then
  echo "Threads the main job starts besides its own (strace, clone calls): $(threads_started 1) with 1 thread," \
    "$(threads_started 2) with 2 (0: no OpenMP parallel region ran)."
else
  echo "(strace is not installed: the count of threads the main job starts is not measured.)"
fi
echo
echo "Large cases on the idle machine (Google Benchmark): $bench_runs runs of each with 1 and with 2 threads,"
echo "alternating; the median of all repetitions."
echo
echo "| case | 1 thread (s) | 2 threads (s) | speed-up |"
echo "|---|---|---|---|"
while IFS='|' read -r label program filter; do
  : >"$tmp/bench"
  for ((r = 0; r < bench_runs; ++r)); do
    for t in 1 2; do bench_times "$t" "$program" "$filter" | sed "s/^/$t /" >>"$tmp/bench"; done
  done
  one=$(median 2 1 "$tmp/bench") two=$(median 2 2 "$tmp/bench")
  echo "| $label | $one | $two | $(awk -v a="$one" -v b="$two" 'BEGIN {printf "%.2f", a / b}') |"
done <<'CASES'
MNIST selection, k = 50 (BM_sa_select_k50)|attnsel_bench_selection|^BM_sa_select_k50
OMP, n = 20000, d = 1000, k = 100, automatic (BM_omp<double>)|attnsel_bench_selection|^BM_omp<double>/n:20000/d:1000/k:100/variant:3
Selective Attention prefill, N = 2048 (BM_prefill_tiled)|attnsel_bench_selective|^BM_prefill_tiled/N:2048/selective:1
MLP 784-256-128-10, a fit of three 60,000-example epochs (BM_epoch_60k)|attnsel_bench_train|^BM_epoch_60k
CASES
