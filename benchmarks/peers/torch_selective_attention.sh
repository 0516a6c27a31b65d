#!/usr/bin/env bash
# attnsel's tiled Selective Attention vs PyTorch's materialised version (CPU, float32, H = 8,
# d = 64, N = 2048, 2 threads each; OMP_NUM_THREADS to change): plain causal forward, selective
# forward, selective forward + backward, and the ratios, on stdout
# (benchmarks/results/torch_selective_attention.md: bash benchmarks/reproduce.sh torch_selective_attention).
#   bash benchmarks/peers/torch_selective_attention.sh [N]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_torch
peer_build attnsel_bench_selective
n="${1:-2048}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$peer_root/benchmarks/peers/torch_selective_attention.py" "$n" "$OMP_NUM_THREADS" 5 > "$tmp/torch.json"
"$peer_root/build-bench/benchmarks/attnsel_bench_selective" \
  --benchmark_filter="(prefill_tiled|forward_backward_tiled)/N:$n/|sgemm_square" \
  --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
  --benchmark_out="$tmp/attnsel.json" --benchmark_out_format=json >/dev/null
/usr/bin/python3 - "$tmp/torch.json" "$tmp/attnsel.json" <<'PY'
import json, sys
torch = json.load(open(sys.argv[1]))
runs = json.load(open(sys.argv[2]))
def median(prefix):
    for b in runs["benchmarks"]:
        if b["name"].startswith(prefix) and b.get("aggregate_name") == "median":
            return b
    raise SystemExit(f"missing {prefix}")
def repetitions(prefix):  # the single runs (the repetitions are interleaved at random with the others)
    return [b for b in runs["benchmarks"] if b["name"].startswith(prefix) and b.get("run_type") == "iteration"]
n = torch["N"]
ours = {
    "plain_forward_ms": median(f"BM_prefill_tiled/N:{n}/selective:0"),
    "selective_forward_ms": median(f"BM_prefill_tiled/N:{n}/selective:1"),
    "selective_forward_backward_ms": median(f"BM_forward_backward_tiled/N:{n}/selective:1"),
}
sgemm = median("BM_sgemm_square/2048")["GFLOP/s"]
print(f"Selective Attention, N = {n}, H = {torch['heads']}, d = {torch['d']}, float32, "
      f"{torch['threads']} threads; torch {torch['torch']} (materialised) vs attnsel (tiled)")
print(f"{'':32s} {'torch ms':>10s} {'attnsel ms':>11s} {'speed-up':>9s}")
for key, b in ours.items():
    ms = b["real_time"] if b["time_unit"] == "ms" else b["real_time"] / 1e6
    print(f"{key:32s} {torch[key]:10.1f} {ms:11.1f} {torch[key] / ms:8.1f}x")
fwd = ours["selective_forward_ms"]["GFLOP/s"]
fwd_runs = sorted(b["GFLOP/s"] for b in repetitions(f"BM_prefill_tiled/N:{n}/selective:1"))
sgemm_runs = sorted(b["GFLOP/s"] for b in repetitions("BM_sgemm_square/2048"))
print(f"attnsel selective forward: {fwd:.0f} GFLOP/s on the causal FLOPs = "
      f"{100 * fwd / sgemm:.0f} % of Eigen's SGEMM rate (2048^3 product: {sgemm:.0f} GFLOP/s), medians of "
      f"{len(fwd_runs)} and {len(sgemm_runs)} repetitions interleaved at random in one process; the forward ranged "
      f"{fwd_runs[0]:.0f}-{fwd_runs[-1]:.0f} GFLOP/s, the SGEMM {sgemm_runs[0]:.0f}-{sgemm_runs[-1]:.0f}")
PY
