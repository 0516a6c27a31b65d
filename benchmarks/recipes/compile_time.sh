#!/usr/bin/env bash
# What a user pays to compile attnsel: wall time and peak compiler memory of
#   - benchmarks/recipes/compile_time/ten_lines.cpp (fits a SequentialAttentionSelector; 10 lines) at -O2,
#     with <attnsel/attnsel.hpp> and with only <attnsel/selection/selection.hpp>, and -O0;
#   - an empty TU that includes <attnsel/attnsel.hpp> (the parsing cost alone), and the same TU
#     with one explicit instantiation of a part of what ten_lines.cpp's fit uses (Dense alone,
#     its products on simd/gemm.hpp alone, BatchNorm, ...): where the time goes;
#   - before: ten_lines.cpp against the headers of commit 9687ca4 (the training floor on Eigen's
#     expressions and products), in the same round-robin group;
#   - yardsticks: a program of Eigen alone that runs one product (compile_time/eigen_product.cpp),
#     and ten_lines.cpp against a copy of include/ in which compile_time/stub_bodies.py emptied the
#     bodies of the products, BatchNorm's passes and the optimizers' step (compiled, not run:
#     what the rest of the fit costs if those parts cost nothing);
#   - each example at -O3 (CMake's Release) and feature_selection at -O0; the header-only
#     ten_lines.cpp object of the first table is linked and run;
#   - compiled mode (docs/conventions.md §7): the library's TUs (src/instantiate_*.cpp timed, and
#     src/alignment.cpp, built once), then ten_lines.cpp and feature_selection.cpp with
#     -DATTNSEL_COMPILED=1, each linked against the library's objects and run (so what is timed is
#     a working program).
# g++ as a user's build of the CMake target would call it (C++17, -fopenmp, which the target adds
# when OpenMP is found; no -march), one compile at a time, median of
# --repeats runs for the small TUs. The first table's TUs are compiled round-robin (each round
# compiles every one of them once), so a drift of the machine's speed during the run reaches them
# alike: compare them with each other, and with the empty TU as the yardstick of the machine's
# speed. Prints Markdown tables on stdout.
#   bash benchmarks/recipes/compile_time.sh [--repeats 3]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
repeats=3
[ "${1:-}" = "--repeats" ] && repeats="$2"
bash "$root/scripts/attnsel.sh" deps >&2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cxx="${CXX:-g++}"
out="$work/out.o"
common=(-std=c++17 -fopenmp -I"$root/include" -isystem /usr/include/eigen3 -DATTNSEL_WITH_ZLIB=0 -c)
printf '#include <attnsel/attnsel.hpp>\nint main() { return 0; }\n' > "$work/empty.cpp"
sed 's|<attnsel/attnsel.hpp>|<attnsel/selection/selection.hpp>|' "$root/benchmarks/recipes/compile_time/ten_lines.cpp" > "$work/ten_lines_wing.cpp"
# The floor: the library's headers include each other by relative paths, so including the copy's
# umbrella header by its path compiles the copy alone.
/usr/bin/python3 "$root/benchmarks/recipes/compile_time/stub_bodies.py" "$root/include" "$work/stubbed"
sed "s|<attnsel/attnsel.hpp>|\"$work/stubbed/attnsel/attnsel.hpp\"|" "$root/benchmarks/recipes/compile_time/ten_lines.cpp" > "$work/ten_lines_stubbed.cpp"
# Before: ten_lines.cpp against include/ of commit 9687ca4, the last one whose training floor ran
# on Eigen's expressions and products (git archive; the row is left out when the commit is not in
# the clone).
before_rev=9687ca4
before_src=""
if git -C "$root" cat-file -e "$before_rev^{commit}" 2>/dev/null; then
  mkdir -p "$work/before"
  git -C "$root" archive "$before_rev" include | tar -x -C "$work/before"
  sed "s|<attnsel/attnsel.hpp>|\"$work/before/include/attnsel/attnsel.hpp\"|" "$root/benchmarks/recipes/compile_time/ten_lines.cpp" > "$work/ten_lines_before.cpp"
  before_src="$work/ten_lines_before.cpp"
fi

measure() {  # measure REPEATS FLAGS... -- SOURCE: prints "median_seconds max_rss_MB"
  local n="$1"; shift
  local flags=() src
  while [ "$1" != "--" ]; do flags+=("$1"); shift; done
  src="$2"
  local times=() rss=0
  for _ in $(seq "$n"); do
    /usr/bin/time -f "%e %M" -o "$work/t" "$cxx" "${common[@]}" -o "$out" "${flags[@]}" "$src" 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    read -r t m < "$work/t"
    times+=("$t")
    [ "$m" -gt "$rss" ] && rss="$m"
  done
  local median
  median="$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  echo "$median $((rss / 1024))"
}

echo "$("$cxx" --version | head -1); $(nproc --all) cores; load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
echo
echo "| translation unit | flags | seconds (median of runs) | peak compiler memory (MB) |"
echo "|---|---|---|---|"
row() {  # row LABEL RUNS FLAGS... -- SOURCE
  local label="$1" n="$2"; shift 2
  local flags=("$@")
  read -r s m <<< "$(measure "$n" "${flags[@]}")"
  local shown=()
  for f in "${flags[@]}"; do
    [ "$f" = "--" ] && break
    case "$f" in -I*|-D*EXAMPLES_DATA_DIR*) ;; *) shown+=("$f") ;; esac  # paths: not shown
  done
  echo "| $label | ${shown[*]} | $s ($n) | $m |"
}
# The round-robin group: header-only and compiled mode side by side. Compiling a compiled-mode TU
# needs no library (only linking it does: after the library's rows below).
ten="$root/benchmarks/recipes/compile_time/ten_lines.cpp"
g_label=("empty TU including attnsel.hpp" "ten_lines.cpp (attnsel.hpp)" "ten_lines.cpp (attnsel.hpp), compiled mode"
  "ten_lines.cpp (selection/selection.hpp only)" "ten_lines.cpp (attnsel.hpp)" "ten_lines.cpp (attnsel.hpp), compiled mode"
  "yardstick: eigen_product.cpp (Eigen alone, one product)"
  "yardstick: ten_lines.cpp, products, BatchNorm and optimizer steps emptied (stub_bodies.py)"
  "before: ten_lines.cpp (attnsel.hpp) at commit $before_rev, the training floor on Eigen's expressions")
g_flags=("-O2" "-O2" "-O2 -DATTNSEL_COMPILED=1" "-O2" "-O0" "-O0 -DATTNSEL_COMPILED=1" "-O2" "-O2" "-O2")
g_src=("$work/empty.cpp" "$ten" "$ten" "$work/ten_lines_wing.cpp" "$ten" "$ten"
  "$root/benchmarks/recipes/compile_time/eigen_product.cpp" "$work/ten_lines_stubbed.cpp" "$before_src")
g_out=("$work/out.o" "$work/ten_lines.o" "$work/ten_lines_compiled.o" "$work/out.o" "$work/out.o" "$work/out.o" "$work/out.o" "$work/out.o" "$work/out.o")
if [ -z "$before_src" ]; then  # the commit is not in this clone: no "before" row
  last=$((${#g_label[@]} - 1))
  unset "g_label[$last]" "g_flags[$last]" "g_src[$last]" "g_out[$last]"
fi
declare -a g_times g_rss
for _ in $(seq "$repeats"); do
  for i in "${!g_label[@]}"; do
    # shellcheck disable=SC2086  # the flags are words
    /usr/bin/time -f "%e %M" -o "$work/t" "$cxx" "${common[@]}" -o "${g_out[$i]}" ${g_flags[$i]} "${g_src[$i]}" 2>"$work/err" ||
      { cat "$work/err" >&2; exit 1; }
    read -r t m < "$work/t"
    g_times[$i]="${g_times[$i]:-} $t"
    [ "$m" -gt "${g_rss[$i]:-0}" ] && g_rss[$i]="$m"
  done
done
for i in "${!g_label[@]}"; do
  # shellcheck disable=SC2086
  median="$(printf '%s\n' ${g_times[$i]} | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  echo "| ${g_label[$i]} | ${g_flags[$i]} | $median ($repeats, round-robin) | $((g_rss[$i] / 1024)) |"
done
echo
echo "| translation unit | flags | seconds (median of runs) | peak compiler memory (MB) |"
echo "|---|---|---|---|"
# Where ten_lines.cpp's time goes: the empty TU plus one explicit instantiation of what its fit
# uses (subtract the empty TU's time for the part's own cost; the parts add up to about the whole).
part() {  # part LABEL DECLARATION [FLAGS...]
  printf '#include <attnsel/attnsel.hpp>\n%s\nint main() { return 0; }\n' "$2" > "$work/part.cpp"
  local label="$1"
  shift 2
  row "empty TU + \`$label\`" "$repeats" -O2 "$@" -- "$work/part.cpp"
}
part "Dense<float>" "template class attnsel::Dense<float>;"
part "detail::matmul<float>"  \
  "template void attnsel::detail::matmul<float>(const attnsel::detail::ConstRowView<float>&, attnsel::detail::Op, const attnsel::detail::ConstRowView<float>&, attnsel::detail::Op, const attnsel::detail::RowView<float>&);"
part "BatchNorm<float>" "template class attnsel::BatchNorm<float>;"
part "AttentionMask<float>" "template class attnsel::AttentionMask<float>;"
part "Adam<float> + SGD<float>" "template class attnsel::Adam<float>; template class attnsel::SGD<float>;"
part "ReLU, FeatureScale, Sequential, SoftmaxCrossEntropy, MeanSquaredError<float>" "template class attnsel::ReLU<float>; template class attnsel::FeatureScale<float>; template class attnsel::Sequential<float>; template struct attnsel::SoftmaxCrossEntropy<float>; template struct attnsel::MeanSquaredError<float>;"
ex=(-I"$root/examples" -DATTNSEL_EXAMPLES_DATA_DIR=\""$root/examples/data"\")
for e in feature_selection train_classifier block_pruning selective_attention train_lm generate kernel_tour; do
  row "examples/$e.cpp" 1 -O3 -DNDEBUG "${ex[@]}" -- "$root/examples/$e.cpp"
done
row "examples/feature_selection.cpp" 1 -O0 "${ex[@]}" -- "$root/examples/feature_selection.cpp"
run_alone() {  # run_alone OBJECT OUTPUT ARGS...: links OBJECT alone (header-only) and runs it
  local obj="$1" exe="$work/$2"
  shift 2
  "$cxx" -fopenmp "$obj" -o "$exe" ${ZLIB_LIBS:-} || exit 1
  "$exe" "$@" > "$work/run.txt" 2>&1 || { echo "compile_time.sh: $exe failed:" >&2; cat "$work/run.txt" >&2; exit 1; }
}
run_alone "$work/ten_lines.o" ten_lines  # the -O2 header-only object of the first table

# Compiled mode. The library as CMake's Release builds it (with OpenMP, as the target links it).
for t in float double; do
  out="$work/lib_$t.o"
  row "compiled library: src/instantiate_$t.cpp" 1 -O3 -DNDEBUG -- "$root/src/instantiate_$t.cpp"
done
# The library's third TU, its alignment marker (a few lines; not timed).
"$cxx" "${common[@]}" -O3 -DNDEBUG -o "$work/lib_alignment.o" "$root/src/alignment.cpp"
linked() {  # linked OBJECT OUTPUT ARGS...: links OBJECT with the library and runs it
  local obj="$1" exe="$work/$2"
  shift 2
  "$cxx" -fopenmp "$obj" "$work/lib_float.o" "$work/lib_double.o" "$work/lib_alignment.o" -o "$exe" ${ZLIB_LIBS:-} || exit 1
  "$exe" "$@" > "$work/run.txt" 2>&1 || { echo "compile_time.sh: $exe failed:" >&2; cat "$work/run.txt" >&2; exit 1; }
}
linked "$work/ten_lines_compiled.o" ten_lines  # the -O2 compiled-mode object of the first table
out="$work/feature_selection_compiled.o"
row "examples/feature_selection.cpp, compiled mode" 1 -O3 -DNDEBUG -DATTNSEL_COMPILED=1 "${ex[@]}" -- "$root/examples/feature_selection.cpp"
linked "$out" feature_selection --k 3 --epochs 2 --no-picture
echo
echo "\`detail::matmul<float>\` is the dense product (A·B, Aᵀ·B, A·Bᵀ on strided row-major views, on"
echo "simd/gemm.hpp) that every Dense forward and backward pass runs. The header-only ten_lines object is"
echo "linked and run. Compiled mode: the library's TUs are built once; the compiled-mode TUs are linked"
echo "against them and run (ten_lines; feature_selection --k 3 --epochs 2)."
echo "Every compile has \`-std=c++17 -fopenmp\` (what the CMake target adds) besides the flags shown. The"
echo "yardsticks are not programs a user runs: the Eigen one shows what one run-time-sized product"
echo "costs to compile, the stubbed one what the rest of ten_lines' fit costs (the second is compiled, never run)."
echo
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
