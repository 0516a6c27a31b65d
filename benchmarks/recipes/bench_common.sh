#!/usr/bin/env bash
# Shared by the kernel-suite recipes (simd.sh, sparse.sh, selective.sh) (sourced, not run): configure build-bench (Release,
# benchmarks on; the benchmark targets add -O3 -march=native themselves), build one Google
# Benchmark target, run it with repetitions (aggregates only) into build-bench/<name>.json and
# print that file's summary with a Python script. Only the summary goes to stdout (it is the
# results file when benchmarks/reproduce.sh runs the script); build output goes to stderr.
#   run_benchmark <target> <name> <summary.py> [Google Benchmark flags ...]
#   bench_build <target>; bench_json <target> <name> [flags ...]   (the two steps, for scripts
#   that run a target more than once; bench_json prints the JSON's path)
# Environment: BUILD (build folder, default build-bench), REPS (repetitions, default 3).
set -euo pipefail
bench_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bench_root="$(cd "$bench_here/../.." && pwd)"
bench_build_dir="${BUILD:-$bench_root/build-bench}"

bench_build() {
  bash "$bench_root/scripts/attnsel.sh" deps >&2
  cmake -S "$bench_root" -B "$bench_build_dir" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON \
    -DATTNSEL_BUILD_TESTS=OFF -DATTNSEL_BUILD_EXAMPLES=ON >/dev/null
  cmake --build "$bench_build_dir" --target "$1" -j "$(nproc)" >&2
}

bench_json() {
  local target="$1" name="$2"
  shift 2
  local out="$bench_build_dir/$name.json"
  "$bench_build_dir/benchmarks/$target" --benchmark_repetitions="${REPS:-3}" --benchmark_report_aggregates_only=true \
    --benchmark_out="$out" --benchmark_out_format=json "$@" >/dev/null || return 1
  echo "results: $out" >&2
  echo "$out"
}

run_benchmark() {
  local target="$1" name="$2" summary="$3"
  shift 3
  bench_build "$target"
  local out
  out="$(bench_json "$target" "$name" "$@")"
  /usr/bin/python3 "$bench_root/benchmarks/kernels/$summary" "$out"
}
