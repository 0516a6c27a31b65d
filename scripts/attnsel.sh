#!/usr/bin/env bash
# attnsel's one set-up entry point. Run from anywhere, as root on Debian 12 (or with the
# packages already installed):
#   bash scripts/attnsel.sh example    install what is missing, build, run the main example
#                                      (feature_selection on the bundled digits; extra arguments
#                                      go to it, e.g. --data breast_cancer --k 5)
#   bash scripts/attnsel.sh test       install what is missing, build, run every test (ctest)
#   bash scripts/attnsel.sh sanitize   the tests again under ASan + UBSan
#   bash scripts/attnsel.sh deps       only install the Debian packages that are missing
# Build folders: build/ (and build-asan/) inside the checkout; ATTNSEL_BUILD_DIR overrides.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jobs="$(nproc 2>/dev/null || echo 2)"
build="${ATTNSEL_BUILD_DIR:-$root/build}"

packages=(cmake g++ make git libeigen3-dev libxsimd-dev zlib1g-dev catch2 libbenchmark-dev libcli11-dev libstb-dev python3)

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
    configure "$build"
    cmake --build "$build" --target feature_selection -j "$jobs"
    shift
    "$build/examples/feature_selection" "$@"
    ;;
  test)
    deps
    configure "$build"
    cmake --build "$build" -j "$jobs"
    ctest --test-dir "$build" --output-on-failure -j "$jobs"
    ;;
  sanitize)
    deps
    dir="${ATTNSEL_BUILD_DIR:-$root/build}-asan"
    configure "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DATTNSEL_SANITIZE=ON \
      -DATTNSEL_BUILD_BENCHMARKS=OFF -DATTNSEL_BUILD_EXAMPLES=OFF -DATTNSEL_INSTALL=OFF
    cmake --build "$dir" -j "$jobs"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir "$dir" --output-on-failure -j "$jobs" -LE package
    ;;
  *)
    sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
