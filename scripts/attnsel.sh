#!/usr/bin/env bash
# attnsel's one set-up entry point. Run from anywhere, as root on Debian 12 (or with the
# packages already installed):
#   bash scripts/attnsel.sh example    install what is missing, build, run the main example
#                                      (feature_selection on the bundled digits; extra arguments
#                                      go to it, e.g. --data breast_cancer --k 5)
#   bash scripts/attnsel.sh test       install what is missing, build, run every test (ctest)
#   bash scripts/attnsel.sh sanitize   the tests again under ASan + UBSan
#   bash scripts/attnsel.sh tsan       the concurrency test under ThreadSanitizer
#   bash scripts/attnsel.sh fuzz [s]   build the libFuzzer targets with clang and run each for s
#                                      seconds (default 30) over a copy of fuzz/corpus/
#   bash scripts/attnsel.sh python     install what is missing, then `pip install .` for Debian's
#                                      /usr/bin/python3 (then: import attnsel; pip uninstall attnsel)
#   bash scripts/attnsel.sh deps       only install the Debian packages that are missing
# Build folders: build/ (and build-asan/, build-tsan/, build-fuzz/) inside the checkout;
# ATTNSEL_BUILD_DIR overrides.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="$(nproc 2>/dev/null || echo 2)"
build="${ATTNSEL_BUILD_DIR:-$root/build}"

packages=(cmake g++ make git pkg-config libeigen3-dev libxsimd-dev zlib1g-dev catch2 libbenchmark-dev libcli11-dev libstb-dev
  nlohmann-json3-dev libsentencepiece-dev python3 pybind11-dev python3-dev python3-numpy python3-sklearn python3-pytest python3-pandas
  python3-pip python3-setuptools python3-wheel python3-venv python3-threadpoolctl qemu-user)

deps() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  echo "attnsel: installing ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "attnsel: run as root, or install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

configure() {  # configure <dir> [cmake args...]
  local dir="$1"
  shift
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
}

case "${1:-}" in
  deps)
    deps
    ;;
  example)
    deps
    # Linked to attnsel::compiled: its kernels are chosen at run time for this CPU (issue #36).
    configure "$build" -DATTNSEL_EXAMPLES_COMPILED=ON
    cmake --build "$build" --target feature_selection -j "$jobs"
    shift
    "$build/examples/feature_selection" "$@"
    ;;
  python)
    deps
    # `pip install .` for Debian's /usr/bin/python3 (PEP 668: the system interpreter needs
    # --break-system-packages; inside a virtual environment leave it out). Offline: the build
    # backend (setuptools) and numpy / scikit-learn are Debian's. Builds in build-python/.
    site="$(/usr/bin/python3 -c 'import sysconfig; print(sysconfig.get_path("platlib"))')"
    if [ -d "$site/attnsel" ] && ! ls -d "$site"/attnsel-*.dist-info >/dev/null 2>&1; then
      rm -rf "$site/attnsel"  # a copy installed by this script before it used pip
    fi
    (cd "$root" && CMAKE_BUILD_PARALLEL_LEVEL="$jobs" /usr/bin/python3 -m pip install --no-build-isolation --no-index \
      --break-system-packages .)
    (cd / && /usr/bin/python3 -c "import attnsel; print('attnsel', attnsel.__version__, 'for /usr/bin/python3 in', attnsel.__path__[0])")
    ;;
  test)
    deps
    # Benchmarks are built by their own scripts (benchmarks/recipes/*.sh): not here, for CI time.
    configure "$build" -DATTNSEL_BUILD_BENCHMARKS=OFF -DATTNSEL_BUILD_PROTOCOLS=ON -DATTNSEL_EXAMPLES_COMPILED=ON
    cmake --build "$build" -j "$jobs"
    ctest --test-dir "$build" --output-on-failure -j "$jobs"
    ;;
  fuzz)
    packages+=(clang libclang-rt-14-dev)  # libFuzzer: only this command needs them
    deps
    seconds="${2:-30}"
    [[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "attnsel: fuzz takes a number of seconds, got '$seconds'" >&2; exit 2; }
    dir="${ATTNSEL_BUILD_DIR:-$root/build}-fuzz"
    configure "$dir" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug -DATTNSEL_BUILD_FUZZERS=ON \
      -DATTNSEL_BUILD_TESTS=OFF -DATTNSEL_BUILD_EXAMPLES=OFF -DATTNSEL_BUILD_BENCHMARKS=OFF -DATTNSEL_BUILD_PYTHON=OFF -DATTNSEL_INSTALL=OFF -DATTNSEL_BUILD_COMPILED=OFF
    cmake --build "$dir" --target fuzz_csv fuzz_idx fuzz_args -j "$jobs"
    # Each target mutates a temporary copy of its seed corpus: fuzz/corpus/ is never modified.
    # Crashing inputs are kept in $dir/artifacts/<target>/.
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    failed=()
    for t in csv idx args; do
      case "$t" in
        csv) extra=(-max_len=2048 "-dict=$root/fuzz/csv.dict") ;;
        idx) extra=(-max_len=4096) ;;
        args) extra=(-max_len=512) ;;
      esac
      cp -r "$root/fuzz/corpus/$t" "$work/$t"
      mkdir -p "$dir/artifacts/$t"
      log="$dir/artifacts/fuzz_$t.log"
      status=0
      "$dir/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/$t/" "${extra[@]}" "$work/$t" >"$log" 2>&1 || status=$?
      if [ "$status" -ne 0 ] || grep -qE "ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error:" "$log"; then
        echo "attnsel: fuzz_$t FAILED (exit $status); log $log, inputs in $dir/artifacts/$t/:" >&2
        grep -E "ERROR|runtime error|SUMMARY|Test unit written" "$log" | head -20 >&2
        failed+=("fuzz_$t")
      else
        runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
        echo "attnsel: fuzz_$t: ${runs:-?} runs in $seconds s, corpus $(ls "$work/$t" | wc -l) inputs, no findings"
      fi
    done
    [ ${#failed[@]} -eq 0 ] || { echo "attnsel: fuzzing found problems in ${failed[*]}" >&2; exit 1; }
    ;;
  sanitize)
    deps
    dir="${ATTNSEL_BUILD_DIR:-$root/build}-asan"
    # -O1 -g1: faster to compile than RelWithDebInfo's -O2 -g (-g1 keeps the line tables and
    # function names a sanitizer report needs: a fifth less compile time, a third of the objects),
    # still quick to run under ASan.
    configure "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" -DATTNSEL_SANITIZE=ON \
      -DATTNSEL_BUILD_BENCHMARKS=OFF -DATTNSEL_BUILD_PYTHON=OFF -DATTNSEL_BUILD_EXAMPLES=OFF -DATTNSEL_INSTALL=OFF
    # (attnsel::compiled is built sanitized too, and the unit tests marked COMPILED link it.)
    cmake --build "$dir" -j "$jobs"
    # Not the package tests, nor the protocol drivers' self-tests (Python with fake trainers: no
    # C++ of their own to sanitize; `test` runs them).
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir "$dir" --output-on-failure -j "$jobs" -LE package -E '_protocol[.]self_test$'
    ;;
  tsan)
    # Two selectors, OMP runs, pruned trainings and KV caches on two threads at once. Built
    # without OpenMP (ATTNSEL_SANITIZE_THREAD drops it from this target): libgomp is not
    # TSan-instrumented, so its barriers would be reported as races (false positives).
    deps
    dir="${ATTNSEL_BUILD_DIR:-$root/build}-tsan"
    configure "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" -DATTNSEL_SANITIZE_THREAD=ON \
      -DATTNSEL_BUILD_BENCHMARKS=OFF -DATTNSEL_BUILD_PYTHON=OFF -DATTNSEL_BUILD_EXAMPLES=OFF -DATTNSEL_INSTALL=OFF \
      -DATTNSEL_BUILD_COMPILED=OFF
    cmake --build "$dir" --target attnsel_concurrency -j "$jobs"
    OMP_NUM_THREADS=1 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" "$dir/tests/attnsel_concurrency"
    ;;
  *)
    sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
