#!/usr/bin/env python3
"""Summary of bench_selective JSON against the Selective Attention targets.

Usage: selective_summary.py results.json

Prints, per N: the tiled kernel selective vs plain causal (same kernel; target <= 1.15x), the
tiled kernel vs the naive Eigen version (target >= 3x at N = 2048) and their peak heap use
(target >= 10x less), GFLOP/s on the causal FLOPs; the forward + backward time; and the decode
latency per context length with the full cache and with budgets.
"""
import json
import sys


def main():
    data = json.load(open(sys.argv[1]))
    runs = {}
    for b in data["benchmarks"]:
        if b.get("aggregate_name") not in (None, "median"):
            continue
        name = b.get("run_name", b["name"]).replace("/real_time", "").replace("/iterations:50", "")
        scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
        runs[name] = (b["real_time"] * scale, b)
    print("| N | selective ms | plain ms | selective / plain | naive Eigen ms | tiled speed-up | "
          "heap MB tiled / naive | GFLOP/s selective |")
    print("|---|---|---|---|---|---|---|---|")
    for n in (256, 512, 1024, 2048, 4096):
        sel = runs.get(f"BM_prefill_tiled/N:{n}/selective:1")
        plain = runs.get(f"BM_prefill_tiled/N:{n}/selective:0")
        naive = runs.get(f"BM_prefill_naive_eigen/N:{n}/selective:1")
        if not (sel and plain and naive):
            continue
        print(f"| {n} | {sel[0]:.2f} | {plain[0]:.2f} | {sel[0] / plain[0]:.3f} | {naive[0]:.1f} | "
              f"{naive[0] / sel[0]:.1f}x | {sel[1]['heap_MB']:.2f} / {naive[1]['heap_MB']:.1f} "
              f"({naive[1]['heap_MB'] / max(sel[1]['heap_MB'], 1e-9):.0f}x less) | {sel[1]['GFLOP/s']:.0f} |")
    for sel in (1, 0):
        fb = runs.get(f"BM_forward_backward_tiled/N:2048/selective:{sel}")
        if fb:
            print(f"\nforward + backward, N = 2048, selective = {sel}: {fb[0]:.1f} ms ({fb[1]['GFLOP/s']:.0f} GFLOP/s)")
    sq = runs.get("BM_sgemm_square/2048")
    if sq:
        print(f"Eigen SGEMM 2048^3: {sq[1]['GFLOP/s']:.0f} GFLOP/s")
    print("\n| context | full cache us | budget 32 us | budget 64 us | budget 128 us | KV KiB full / 128 |")
    print("|---|---|---|---|---|---|")
    for ctx in (256, 512, 1024, 2048, 4096, 8192):
        row = [runs.get(f"BM_decode_step/context:{ctx}/budget:{b}") for b in (0, 32, 64, 128)]
        if not all(row):
            continue
        cells = " | ".join(f"{r[0] * 1e3:.1f}" for r in row)
        print(f"| {ctx} | {cells} | {row[0][1]['kv_KiB']:.0f} / {row[3][1]['kv_KiB']:.0f} |")


if __name__ == "__main__":
    main()
