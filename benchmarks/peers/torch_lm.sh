#!/usr/bin/env bash
# attnsel's TransformerLM training step vs the identical PyTorch 1.13 model (benchmarks/peers/torch_lm.py),
# 2 threads each, same initial weights (exported with save_lm), same batches, same AdamW and
# clipping; standard and Selective Attention. Prints both programs' outputs and, per model, the
# largest difference between the two loss curves and the throughput ratio.
#   bash benchmarks/peers/torch_lm.sh [lm_step options, e.g. --context 256 --layers 4 --heads 4 --width 128 --batch 16 --steps 20]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_torch
peer_build lm_step
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for selective in 0 1; do
  name=$([ "$selective" = 1 ] && echo selective || echo standard)
  echo "### $name attention"
  echo
  echo '```text'
  "$peer_root/build-bench/benchmarks/lm_step" --selective "$selective" --out "$tmp" "$@" | tee "$tmp/ours.txt"
  /usr/bin/python3 "$peer_root/benchmarks/peers/torch_lm.py" "$tmp" "$OMP_NUM_THREADS" | tee "$tmp/torch.txt"
  /usr/bin/python3 - "$tmp/ours.txt" "$tmp/torch.txt" <<'PY'
import re, sys
def read(p):
    text = open(p).read()
    losses = [float(v) for v in re.search(r"step losses:(.*)", text).group(1).split()]
    tps = float(re.search(r"([0-9.]+) tokens/s", text).group(1))
    return losses, tps
(a, ta), (b, tb) = read(sys.argv[1]), read(sys.argv[2])
diff = max(abs(x - y) for x, y in zip(a, b))
print("largest |loss difference| over %d steps: %.2e (first loss %.6f vs %.6f, last %.6f vs %.6f)" % (len(a), diff, a[0], b[0], a[-1], b[-1]))
print("throughput: attnsel %.0f vs PyTorch %.0f tokens/s = %.2fx" % (ta, tb, ta / tb))
PY
  echo '```'
  echo
done
