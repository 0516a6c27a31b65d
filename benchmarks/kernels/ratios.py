#!/usr/bin/env python3
"""Pairs Google Benchmark results named kernel/impl/type/n and prints speed ratios.

Usage: ratios.py results.json [--ref simd]
Reads the median aggregate when repetitions were used (else the single run) and prints, per
kernel/type/n, the throughput of each implementation and its ratio to the reference one.
"""
import json
import sys
from collections import defaultdict


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    ref = "simd"
    if "--ref" in argv:
        ref = argv[argv.index("--ref") + 1]
    with open(argv[1]) as f:
        data = json.load(f)
    rows = defaultdict(dict)
    for b in data["benchmarks"]:
        agg = b.get("aggregate_name")
        if agg not in (None, "median"):
            continue
        name = b.get("run_name", b["name"])
        parts = name.split("/")
        if len(parts) != 4:
            continue
        kernel, impl, typ, n = parts
        rows[(kernel, typ, int(n))][impl] = b["real_time"]
    ctx = data.get("context", {})
    print(f"# {ctx.get('host_name', '?')}  cpus={ctx.get('num_cpus', '?')}  "
          f"attnsel arch={ctx.get('attnsel_simd_arch', '?')}  build={ctx.get('library_build_type', '?')}")
    print(f"{'kernel':<22}{'type':<5}{'n':>7}  {'ref time':>12}  speed-up of {ref} over the others")
    for (kernel, typ, n) in sorted(rows):
        impls = rows[(kernel, typ, n)]
        if ref not in impls:
            continue
        t = impls[ref]
        others = "  ".join(f"{k}={impls[k] / t:6.2f}x" for k in sorted(impls) if k != ref)
        print(f"{kernel:<22}{typ:<5}{n:>7}  {t:>10.1f}ns  {others}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
