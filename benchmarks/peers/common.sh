# Shared by the peer scripts (sourced): the project's packages, and the peers' Debian packages.
# The peer scripts print their results, and only those, on stdout (benchmarks/reproduce.sh makes
# a results file of it); installs and builds write to stderr or nowhere.
peer_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bash "$peer_root/scripts/attnsel.sh" deps >&2

peer_apt() {  # peer_apt PACKAGE...: installs the packages that are missing
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Debian's torch and numpy call the system BLAS, which is the reference BLAS until OpenBLAS is
# installed (torch epochs ~6x slower here without it).
need_sklearn() { peer_apt python3-sklearn libopenblas0-pthread; peer_blas; }
need_torch() { peer_apt python3-torch libopenblas0-pthread; peer_blas; }

# Debian 12's OpenBLAS (0.3.21) does not know CPUs newer than it (here an Intel family 6 model 207
# with AVX-512) and falls back to its generic "Prescott" kernels, which make numpy's DGEMM ~4x
# slower. So that a peer runs at its best, the peers then get the newest kernels the CPU can run
# (SkylakeX with AVX-512, Haswell with AVX2); an OPENBLAS_CORETYPE set by the caller is kept. The
# choice is printed as the first line of the results.
peer_blas() {
  [ -n "${OPENBLAS_CORETYPE:-}" ] && { echo "OpenBLAS kernels: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE (set by the caller)."; echo; return 0; }
  local core
  core="$(OPENBLAS_VERBOSE=2 /usr/bin/python3 -c 'import numpy' 2>&1 | sed -n 's/^Core: //p' | head -1)"
  if [ "$core" = Prescott ]; then
    local forced=""
    if grep -qw avx512f /proc/cpuinfo; then forced=SkylakeX; elif grep -qw avx2 /proc/cpuinfo; then forced=Haswell; fi
    if [ -n "$forced" ]; then
      export OPENBLAS_CORETYPE="$forced"
      echo "OpenBLAS kernels: OpenBLAS detects this CPU as the generic Prescott; the peers ran with OPENBLAS_CORETYPE=$forced."
      echo
      return 0
    fi
  fi
  echo "OpenBLAS kernels: ${core:-unknown} (OpenBLAS's own detection)."
  echo
}

# The torch peers' thread settings "OMP BLAS" (benchmarks/results/peer_threads.md): at n + n on n
# cores, torch's OpenMP pool and OpenBLAS's own pool oversubscribe the cores (torch's MLP step runs
# 2.5x slower than at 1 + 1 here). Each torch peer runs under every setting, each in a fresh
# process, and is compared with attnsel at its fastest; the results show all of them.
torch_settings() {
  local n
  n="$(nproc)"
  echo "1 1"
  if [ "$n" -gt 1 ]; then echo "$n 1"; echo "$n $n"; fi
}

peer_build() {  # peer_build TARGET...: Release build in build-bench/ with examples and benchmarks
  local build="$peer_root/build-bench"
  cmake -S "$peer_root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_TESTS=OFF \
    -DATTNSEL_BUILD_EXAMPLES=ON -DATTNSEL_BUILD_BENCHMARKS=ON >/dev/null
  cmake --build "$build" --target "$@" -j "$(nproc)" >/dev/null
}
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-2}"
