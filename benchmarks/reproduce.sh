#!/usr/bin/env bash
# Regenerates one results file of benchmarks/results/ by name, whole: the file starts with the
# command, the commit, the date and the machine, then what the producing program printed.
#   bash benchmarks/reproduce.sh NAME      e.g. protocol_mnist, pruning_fashion
#   bash benchmarks/reproduce.sh --list    the names, what each runs, what it needs
# Builds what it runs (build-bench/: Release, -O3 -march=native on the benchmark targets).
# Data sets come from scripts/get_data.sh (run it first for the MNIST / Fashion-MNIST names).
# Timing results need a quiet machine: check `uptime` first; the header records the load.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cache="${ATTNSEL_DATA_CACHE:-$HOME/.cache/attnsel}"
build="$root/build-bench"
results="$here/results"

# name | threads | what it runs (relative to the checkout; $cache and $build expanded)
recipes() {
  cat <<'LIST'
protocol_mnist|1|selection_protocol --idx $cache/mnist --name mnist --k 50 --seeds 5 --methods sa,lly,seql,gl,gomp,random,all --epochs 20 --epochs-fit 20 --batch 256 --grid-lr 2e-3,4e-3,8e-3
protocol_fashion|1|selection_protocol --idx $cache/fashion-mnist --name fashion --k 50 --seeds 5 --methods sa,lly,seql,gl,gomp,random,all --epochs 20 --epochs-fit 20 --batch 256 --grid-lr 2e-3,4e-3,8e-3
protocol_mnist_reference|1|selection_protocol --idx $cache/mnist --name mnist --k 50 --seeds 5 --methods sa,sa_reference,random --preset mnist
protocol_digits|1|selection_protocol --data digits --k 10 --seeds 5 --methods sa,lly,seql,gl,gomp,random,all --grid-lr 2e-3,5e-3,1e-2
protocol_breast_cancer|1|selection_protocol --data breast_cancer --k 5 --seeds 5 --methods sa,lly,seql,gl,gomp,omp,lasso,random,all --grid-lr 2e-3,5e-3,1e-2
protocol_wine|1|selection_protocol --data wine --k 5 --seeds 5 --methods sa,lly,seql,gl,gomp,random,all --grid-lr 2e-3,5e-3,1e-2
pruning_mnist|1|pruning_protocol --idx $cache/mnist --name mnist --epochs 5 --seeds 3 --grid-lr 5e-4,1e-3,2e-3
pruning_fashion|1|pruning_protocol --idx $cache/fashion-mnist --name fashion --epochs 5 --seeds 3 --grid-lr 5e-4,1e-3,2e-3
LIST
}

list() {
  echo "names (threads, command):"
  recipes | while IFS='|' read -r name threads cmd; do printf '  %-26s %s thread(s): %s\n' "$name" "$threads" "$cmd"; done
}

[ $# -eq 1 ] || { sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
[ "$1" = "--list" ] && { list; exit 0; }
name="$1"
line="$(recipes | awk -F'|' -v n="$name" '$1 == n')"
[ -n "$line" ] || { echo "reproduce.sh: no results file named '$name'" >&2; list >&2; exit 2; }
IFS='|' read -r _ threads cmd <<<"$line"
program="${cmd%% *}"
args="${cmd#* }"
args="${args//\$cache/$cache}"

bash "$root/scripts/attnsel.sh" deps
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON -DATTNSEL_BUILD_TESTS=OFF \
  -DATTNSEL_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" --target "$program" -j "$(nproc)" >/dev/null
bin="$(find "$build" -type f -name "$program" -perm -u+x | head -n 1)"
[ -n "$bin" ] || { echo "reproduce.sh: built no '$program'" >&2; exit 1; }

commit="$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)"
dirty=""
[ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ] && dirty=" (with uncommitted changes)"
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
start="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
t0=$(date +%s)
# shellcheck disable=SC2086
OMP_NUM_THREADS="$threads" "$bin" $args >"$tmp"
t1=$(date +%s)
{
  echo "<!-- written whole by: bash benchmarks/reproduce.sh $name -->"
  echo "Command: \`bash benchmarks/reproduce.sh $name\`, which runs \`OMP_NUM_THREADS=$threads $program ${cmd#* }\`"
  echo "(\$cache = ~/.cache/attnsel, filled by scripts/get_data.sh)."
  echo "Commit: $commit$dirty. Date: $start, $((t1 - t0)) s."
  echo "Machine: ${cpu:-unknown CPU}, $(nproc) cores, $threads thread(s) used; load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
  echo
  cat "$tmp"
} >"$results/$name.md"
echo "reproduce.sh: wrote $results/$name.md"
