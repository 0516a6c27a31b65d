#!/usr/bin/env bash
# attnsel's tiled Selective Attention vs PyTorch's materialised version (CPU, float32, H = 8,
# d = 64, N = 2048; PyTorch under every thread setting of torch_settings (common.sh), each in a fresh
# process, compared at its fastest per measurement; attnsel with OMP_NUM_THREADS, 2 by default):
# plain causal forward, selective forward, selective forward + backward, and the ratios, on stdout
# (benchmarks/results/torch_selective_attention.md: bash benchmarks/reproduce.sh torch_selective_attention).
#   bash benchmarks/peers/torch_selective_attention.sh [N]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_torch
peer_build attnsel_bench_selective
n="${1:-2048}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
while read -r omp blas; do
  OMP_NUM_THREADS="$omp" OPENBLAS_NUM_THREADS="$blas" /usr/bin/python3 "$peer_root/benchmarks/peers/torch_selective_attention.py" \
    "$n" "$omp" 5 > "$tmp/torch_${omp}_${blas}.json"
done < <(torch_settings)
"$peer_root/build-bench/benchmarks/attnsel_bench_selective" \
  --benchmark_filter="(prefill_tiled|forward_backward_tiled)/N:$n/|sgemm_square" \
  --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true \
  --benchmark_out="$tmp/attnsel.json" --benchmark_out_format=json >/dev/null
/usr/bin/python3 - "$tmp/attnsel.json" "$OMP_NUM_THREADS" "$tmp"/torch_*.json <<'PY'
import json, os, re, sys
runs = json.load(open(sys.argv[1]))
ours_threads = sys.argv[2]
settings = {}  # "OMP_NUM_THREADS=a OPENBLAS_NUM_THREADS=b": that process's times
for path in sys.argv[3:]:
    omp, blas = re.match(r"torch_(\d+)_(\d+)\.json", os.path.basename(path)).groups()
    settings["OMP_NUM_THREADS={} OPENBLAS_NUM_THREADS={}".format(omp, blas)] = json.load(open(path))
torch = dict(next(iter(settings.values())))
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
print(f"Selective Attention, N = {n}, H = {torch['heads']}, d = {torch['d']}, float32; "
      f"torch {torch['torch']} (materialised) at its fastest thread setting per measurement vs attnsel (tiled), "
      f"{ours_threads} threads")
print("PyTorch per thread setting (ms, median of its runs):")
for name, t in sorted(settings.items()):
    print("  {:44s} ".format(name) + "  ".join("{} {:.1f}".format(key, t[key]) for key in ours))
print(f"{'':32s} {'torch ms':>10s} {'attnsel ms':>11s} {'speed-up':>9s}  torch's fastest setting")
for key, b in ours.items():
    ms = b["real_time"] if b["time_unit"] == "ms" else b["real_time"] / 1e6
    at = min(settings, key=lambda name: settings[name][key])
    best = settings[at][key]
    print(f"{key:32s} {best:10.1f} {ms:11.1f} {best / ms:8.1f}x  {at}")
fwd = ours["selective_forward_ms"]["GFLOP/s"]
fwd_runs = sorted(b["GFLOP/s"] for b in repetitions(f"BM_prefill_tiled/N:{n}/selective:1"))
sgemm_runs = sorted(b["GFLOP/s"] for b in repetitions("BM_sgemm_square/2048"))
print(f"attnsel selective forward: {fwd:.0f} GFLOP/s on the causal FLOPs = "
      f"{100 * fwd / sgemm:.0f} % of Eigen's SGEMM rate (2048^3 product: {sgemm:.0f} GFLOP/s), medians of "
      f"{len(fwd_runs)} and {len(sgemm_runs)} repetitions interleaved at random in one process; the forward ranged "
      f"{fwd_runs[0]:.0f}-{fwd_runs[-1]:.0f} GFLOP/s, the SGEMM {sgemm_runs[0]:.0f}-{sgemm_runs[-1]:.0f}")
PY
