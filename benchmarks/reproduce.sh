#!/usr/bin/env bash
# Regenerates one results file of benchmarks/results/ by name, whole: the file starts with the
# command, the commit, the date and the machine, then what the producing program printed.
#   bash benchmarks/reproduce.sh NAME      e.g. protocol_mnist, sklearn_omp, sparse_threads
#   bash benchmarks/reproduce.sh --list    the names, what each runs, what it needs
# Builds what it runs (build-bench/: Release, -O3 -march=native on the benchmark targets).
# Data sets come from scripts/get_data.sh (run it first for the MNIST / Fashion-MNIST names).
# Timing results (--list marks them) need an idle machine: a warning when the 1-minute load
# average is above 0.5 before the run; the header records the load at the start and the end.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
cache="${ATTNSEL_DATA_CACHE:-$HOME/.cache/attnsel}"
build="$root/build-bench"
results="$here/results"

# name | threads | what it runs (relative to the checkout; $cache and $build expanded) [| flags]
# "what it runs" is a program built in build-bench/ and its arguments, or script:PATH ARGS, a
# script of the checkout that builds what it needs itself and prints the results on stdout
# (progress and build output on stderr). threads: OMP_NUM_THREADS (and OPENBLAS_NUM_THREADS for
# scripts); a list such as 1,2 means the script runs each count itself. flags, comma-separated:
#   timing  the file holds times: needs an idle machine (a warning when the load is high)
#   text    plain-text output: fenced as a code block in the .md file
# Arguments are split on spaces (no quoting) and never glob-expanded.
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
mnist_mlp|2|train_classifier --idx $cache/mnist --hidden 256,128 --epochs 12 --batch 128 --schedule cosine --quiet|timing,text
simd|1|script:benchmarks/recipes/simd.sh|timing,text
sparse|1|script:benchmarks/recipes/sparse.sh|timing
sparse_threads|1,2|script:benchmarks/recipes/sparse.sh --threads 1,2|timing
selective|2|script:benchmarks/recipes/selective.sh|timing
omp_variants|1|attnsel_bench_selection --benchmark_filter=BM_omp --benchmark_repetitions=5 --benchmark_report_aggregates_only=true|timing,text
sklearn_accuracy|2|script:benchmarks/peers/sklearn_accuracy.sh --seeds 5|text
sklearn_omp|2|script:benchmarks/peers/sklearn_omp.sh --runs 3 --repeats 7 --small-repeats 1000|timing,text
sklearn_sfs_digits|2|script:benchmarks/peers/sklearn_sfs_digits.sh --k 20 --seeds 3|timing,text
python_selector|2|script:benchmarks/peers/python_selector.sh --seeds 3|timing
compile_time|1|script:benchmarks/recipes/compile_time.sh --repeats 3|timing
torch_mlp_epoch|2|script:benchmarks/peers/torch_mlp_epoch.sh|timing,text
torch_selective_attention|2|script:benchmarks/peers/torch_selective_attention.sh 2048|timing,text
torch_sequential_attention|2|script:benchmarks/peers/torch_sequential_attention.sh|timing
threads|1,2|script:benchmarks/recipes/threads.sh|timing
threads_before|1,2|script:benchmarks/recipes/threads.sh --rev d4b24e2|timing
torch_lm|2|script:benchmarks/peers/torch_lm.sh --context 256 --layers 4 --heads 4 --width 128 --batch 16 --steps 20|timing
peer_threads|2|script:benchmarks/peers/peer_threads.sh --seconds 3 --repeats 3|timing
dispatch|2|script:benchmarks/recipes/dispatch.sh --rounds 5|timing
lm_variable_assignment|2|script:benchmarks/recipes/lm_variable_assignment.sh --steps 3000 --seeds 3 --lr-grid 1e-3,3e-3,6e-3
lm_text|2|script:benchmarks/recipes/lm_text.sh --steps 1000 --seeds 3 --lr-grid 1e-3,2e-3,4e-3 --search-steps 200|timing
lm_pruning|1|script:benchmarks/recipes/lm_pruning.sh --contexts 256,512 --seeds 3 --long-seeds 3 --steps 1000 --fit-tokens 8192|timing
LIST
}

# recipe LINE: sets name, threads, cmd, flags (the last field is flags when it is only [a-z,]).
recipe() {
  IFS='|' read -r name threads cmd <<<"$1"
  flags=""
  if [[ "$cmd" =~ ^(.*)\|([a-z,]+)$ ]]; then
    cmd="${BASH_REMATCH[1]}"
    flags="${BASH_REMATCH[2]}"
  fi
}
has_flag() { [[ ",$flags," == *",$1,"* ]]; }

list() {
  echo "names (threads, command):"
  local l
  while IFS= read -r l; do
    recipe "$l"
    printf '  %-26s %s thread(s): %s\n' "$name" "$threads" "$cmd"
    if has_flag timing; then printf '  %-26s timing: needs an idle machine\n' ""; fi
  done < <(recipes)
}

[ $# -eq 1 ] || { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }
[ "$1" = "--list" ] && { list; exit 0; }
line="$(recipes | awk -F'|' -v n="$1" '$1 == n')"
[ -n "$line" ] || { echo "reproduce.sh: no results file named '$1'" >&2; list >&2; exit 2; }
recipe "$line"
kind=program
if [[ "$cmd" == script:* ]]; then
  kind=script
  cmd="${cmd#script:}"
fi
program="${cmd%% *}"
args=""
[ "$program" = "$cmd" ] || args="${cmd#* }"
args="${args//\$cache/$cache}"
args="${args//\$build/$build}"
[[ "$threads" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "reproduce.sh: $name: bad threads '$threads'" >&2; exit 2; }
[ "$kind" = script ] || [[ "$threads" =~ ^[0-9]+$ ]] || { echo "reproduce.sh: $name: a program takes one thread count" >&2; exit 2; }

# Checked before any build (a build raises the load average itself).
if has_flag timing; then
  load1="$(cut -d' ' -f1 /proc/loadavg)"
  if awk -v l="$load1" 'BEGIN { exit !(l > 0.5) }'; then
    echo "reproduce.sh: warning: 1-minute load average $load1 > 0.5; '$name' holds timings and wants an idle machine" >&2
  fi
fi

env_vars=()
if [[ "$threads" =~ ^[0-9]+$ ]]; then
  env_vars=("OMP_NUM_THREADS=$threads")
  [ "$kind" = script ] && env_vars+=("OPENBLAS_NUM_THREADS=$threads")
  threads_text="$threads thread(s) used"
else
  threads_text="${threads//,/, then } thread(s) used (the script sets OMP_NUM_THREADS per run)"
fi

if [ "$kind" = program ]; then
  bash "$root/scripts/attnsel.sh" deps >&2
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DATTNSEL_BUILD_BENCHMARKS=ON -DATTNSEL_BUILD_TESTS=OFF \
    -DATTNSEL_BUILD_EXAMPLES=ON >/dev/null
  cmake --build "$build" --target "$program" -j "$(nproc)" >/dev/null
  bin="$(find "$build" -type f -name "$program" -perm -u+x | head -n 1)"
  [ -n "$bin" ] || { echo "reproduce.sh: built no '$program'" >&2; exit 1; }
  run=("$bin")
  shown="${env_vars[*]} $program${args:+ ${cmd#* }}"
else
  [ -f "$root/$program" ] || { echo "reproduce.sh: no script $program" >&2; exit 1; }
  run=(bash "$root/$program")
  shown="${env_vars[*]:+${env_vars[*]} }bash $cmd"
fi

commit="$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)"
dirty=""
# What the programs are built from: uncommitted changes there make the commit an incomplete record.
changed="$(git -C "$root" status --porcelain --untracked-files=no -- include benchmarks examples/common cmake CMakeLists.txt ':!benchmarks/results' 2>/dev/null | awk '{print $2}' | tr '\n' ' ')"
[ -n "$changed" ] && dirty=" (with uncommitted changes to: ${changed% })"
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
start="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
# The variables that steer threads and BLAS kernels, as the run sees them (the peers' too).
run_env="$(env ${env_vars[@]+"${env_vars[@]}"} env | grep -E '^(OMP_|GOMP_|KMP_|OPENBLAS_|MKL_|BLIS_|ATTNSEL_)' | sort | tr '\n' ' ' || true)"
run_env="${run_env% }"
t0=$(date +%s)
set -f
# shellcheck disable=SC2086
env ${env_vars[@]+"${env_vars[@]}"} "${run[@]}" $args >"$tmp"
set +f
t1=$(date +%s)
{
  echo "<!-- written whole by: bash benchmarks/reproduce.sh $name -->"
  echo "Command: \`bash benchmarks/reproduce.sh $name\`, which runs \`$shown\`"
  # shellcheck disable=SC2016
  if [[ "$cmd" == *'$cache'* ]]; then
    echo "(\$cache = ~/.cache/attnsel, filled by scripts/get_data.sh)."
  elif [ "$kind" = script ]; then
    echo "(the script builds what it runs in build-bench/; its progress went to stderr)."
  else
    echo "(built in build-bench/, Release)."
  fi
  echo "Commit: $commit$dirty. Date: $start, $((t1 - t0)) s."
  echo "Machine: ${cpu:-unknown CPU}, $(nproc) cores, $threads_text; load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
  echo "Environment: ${run_env:-no thread or BLAS variables}; $(c++ --version 2>/dev/null | head -n 1 || echo 'no c++')."
  echo
  if has_flag text; then
    echo '```text'
    cat "$tmp"
    echo '```'
  else
    cat "$tmp"
  fi
} >"$results/$name.md"
echo "reproduce.sh: wrote $results/$name.md"
