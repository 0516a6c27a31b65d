#!/usr/bin/env bash
# attnsel's TransformerLM training step vs the identical PyTorch 1.13 model (benchmarks/peers/torch_lm.py),
# same initial weights (exported with save_lm), same batches, same AdamW and
# clipping; standard and Selective Attention. Each pair runs three times, alternating (attnsel,
# PyTorch, attnsel, ...), because this VM's speed drifts over minutes; prints both programs' outputs,
# per round the largest difference between the two loss curves and the throughput ratio, and the
# ratio of the two programs' median throughputs over the rounds. attnsel runs with OMP_NUM_THREADS
# (2 by default); PyTorch first once under every thread setting of torch_settings (common.sh), and
# the rounds at the fastest of them. Then the
# peak heap of a training step at 2x and 4x the context with B*T fixed (attnsel only).
#   bash benchmarks/peers/torch_lm.sh [lm_step options, e.g. --context 256 --layers 4 --heads 4 --width 128 --batch 16 --steps 20]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_torch
peer_build lm_step
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
compare() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import re, sys
def read(p):
    text = open(p).read()
    losses = [float(v) for v in re.search(r"step losses:(.*)", text).group(1).split()]
    tps = float(re.search(r"([0-9.]+) tokens/s", text).group(1))
    return losses, tps
(a, ta), (b, tb) = read(sys.argv[2]), read(sys.argv[3])
diff = max(abs(x - y) for x, y in zip(a, b))
print("round %s: largest |loss difference| over %d steps: %.2e (first loss %.6f vs %.6f, last %.6f vs %.6f)" % (sys.argv[1], len(a), diff, a[0], b[0], a[-1], b[-1]))
print("round %s: throughput: attnsel %.0f vs PyTorch %.0f tokens/s = %.2fx" % (sys.argv[1], ta, tb, ta / tb))
PY
}
for selective in 0 1; do
  name=$([ "$selective" = 1 ] && echo selective || echo standard)
  echo "### $name attention"
  echo
  echo '```text'
  : >"$tmp/rates.txt"
  # PyTorch's thread setting: the fastest of one run each (the model and batches lm_step exports).
  "$peer_root/build-bench/benchmarks/lm_step" --selective "$selective" --out "$tmp" "$@" >/dev/null
  best="" best_rate=0
  while read -r omp blas; do
    rate="$(OMP_NUM_THREADS="$omp" OPENBLAS_NUM_THREADS="$blas" /usr/bin/python3 "$peer_root/benchmarks/peers/torch_lm.py" "$tmp" "$omp" |
      sed -n 's/.* \([0-9.]*\) tokens\/s.*/\1/p' | head -n 1)"
    echo "-- PyTorch with OMP_NUM_THREADS=$omp OPENBLAS_NUM_THREADS=$blas: $rate tokens/s"
    if awk -v a="$rate" -v b="$best_rate" 'BEGIN { exit !(a > b) }'; then best="$omp $blas" best_rate="$rate"; fi
  done < <(torch_settings)
  read -r torch_omp torch_blas <<<"$best"
  echo "-- the rounds: PyTorch with OMP_NUM_THREADS=$torch_omp OPENBLAS_NUM_THREADS=$torch_blas (its fastest), attnsel with OMP_NUM_THREADS=$OMP_NUM_THREADS"
  for round in 1 2 3; do
    echo "-- round $round: attnsel"
    "$peer_root/build-bench/benchmarks/lm_step" --selective "$selective" --out "$tmp" "$@" | tee "$tmp/ours.txt"
    echo "-- round $round: PyTorch"
    OMP_NUM_THREADS="$torch_omp" OPENBLAS_NUM_THREADS="$torch_blas" /usr/bin/python3 "$peer_root/benchmarks/peers/torch_lm.py" \
      "$tmp" "$torch_omp" | tee "$tmp/torch.txt"
    compare "$round" "$tmp/ours.txt" "$tmp/torch.txt" | tee -a "$tmp/rates.txt"
  done
  /usr/bin/python3 - "$tmp/rates.txt" <<'PY'
import re, statistics, sys
rates = [tuple(float(v) for v in m.groups()) for m in re.finditer(r"attnsel (\d+) vs PyTorch (\d+) tokens/s", open(sys.argv[1]).read())]
a, b = statistics.median(r[0] for r in rates), statistics.median(r[1] for r in rates)
print("median over %d rounds: attnsel %.0f vs PyTorch %.0f tokens/s = %.2fx" % (len(rates), a, b, a / b))
PY
  echo '```'
  echo
done
# Peak heap with B*T fixed: constant if nothing grows with T^2 (the attention keeps O(T) per head).
args=("$@")
ctx=256 batch=16
for ((i = 0; i < ${#args[@]}; ++i)); do
  case "${args[i]}" in
    --context) ctx="${args[i + 1]}" ;;
    --batch) batch="${args[i + 1]}" ;;
  esac
done
echo "### peak heap of a training step vs context (B*T fixed, Selective Attention)"
echo
echo '```text'
for f in 1 2 4; do
  c=$((ctx * f)) b=$((batch / f))
  [ "$b" -ge 1 ] || continue
  rest=()
  for ((i = 0; i < ${#args[@]}; ++i)); do
    case "${args[i]}" in
      --context | --batch | --steps) i=$((i + 1)) ;;
      *) rest+=("${args[i]}") ;;
    esac
  done
  echo "-- context $c, batch $b"
  "$peer_root/build-bench/benchmarks/lm_step" --selective 1 "${rest[@]}" --context "$c" --batch "$b" --steps 3 | grep -E "^(model|peak heap)"
done
echo '```'
