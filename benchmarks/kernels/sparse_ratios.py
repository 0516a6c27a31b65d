#!/usr/bin/env python3
"""Speed-ups of the block-sparse product (bsr) over dense GEMM and CSR, from bench_sparse JSON.

Usage: sparse_ratios.py results.json [--markdown-out table.md]
       sparse_ratios.py --threads T=results.json [T=results.json ...]

Benchmarks are named impl/N/density%/B/batch (dense: dense/N/all/all/batch). The median
aggregate is used when repetitions were run, else the single run. Printed per
(N, density, B, batch): times, the speed-up of bsr over dense, over csr (Eigen's CSR in its
favourite layout, Yᵀ = W·Xᵀ) and over csrrm (CSR on the same row-major X as bsr), and the
issue's targets where they apply:
  - dense: at B >= 16 and batch >= 32, speed-up >= 0.7 / density;
  - csr:   at 10 % density (B >= 16, batch >= 32), speed-up >= 3.
With --threads (JSON files of runs at T threads, from run_sparse.sh --threads): one row per cell
and thread count with the times in µs, bsr's GFLOP/s and its speed-ups, without the targets.
"""
import json
import sys
from collections import defaultdict


def load(path, entries=None):
    with open(path) as f:
        data = json.load(f)
    times = {}
    for b in data["benchmarks"]:
        agg = b.get("aggregate_name")
        if agg not in (None, "median"):
            continue
        name = b.get("run_name", b["name"])
        name = name.replace("/real_time", "")
        parts = name.split("/")
        if len(parts) != 5:
            continue
        times[tuple(parts)] = float(b["real_time"])
        if entries is not None:
            entries[tuple(parts)] = b
    return data.get("context", {}), times


def threads_table(specs):
    """specs: ["T=path", ...]. One markdown row per (N, density, B, batch, T) with a bsr run."""
    runs = []
    for spec in specs:
        t, _, path = spec.partition("=")
        entries = {}
        ctx, times = load(path, entries)
        runs.append((int(t), ctx, times, entries))
    ctx = runs[0][1]
    print(f"BSR vs Eigen dense GEMM vs Eigen CSR at {' and '.join(str(r[0]) for r in runs)} thread(s) "
          "(OMP_NUM_THREADS; Eigen uses the same count), medians of the repetitions; csr = Eigen "
          "SparseMatrix<RowMajor> * Xᵀ (its fastest layout), csrrm = the same CSR on the row-major X "
          "the BSR product takes.")
    print()
    print(f"host {ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} cpus, attnsel arch "
          f"{ctx.get('attnsel_simd_arch', '?')}, build {ctx.get('library_build_type', '?')}, eigen threads "
          f"{' / '.join(str(r[1].get('eigen_threads', '?')) for r in runs)}")
    print()
    print("| N | density | B | batch | threads | bsr µs | dense µs | csr µs | csrrm µs | bsr GFLOP/s | vs dense | vs csr | vs csrrm |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    cells = sorted({(int(n), int(pct), int(block), int(batch))
                    for _, _, times, _ in runs for (impl, n, pct, block, batch) in times if impl == "bsr"},
                   key=lambda k: (k[0], -k[1], k[2], k[3]))
    fmt = lambda x, spec, unit="": format(x, spec) + unit if x is not None else "-"
    for (n, pct, block, batch) in cells:
        key = lambda impl: (impl, str(n), str(pct), str(block), str(batch))
        for t, _, times, entries in runs:
            bsr = times.get(key("bsr"))
            if bsr is None:
                continue
            dense = times.get(("dense", str(n), "all", "all", str(batch)))
            csr, csrrm = times.get(key("csr")), times.get(key("csrrm"))
            gflops = entries[key("bsr")].get("GFLOPs")
            ratio = lambda x: x / bsr if x is not None else None
            print(f"| {n} | {pct}% | {block} | {batch} | {t} | {bsr:.1f} | {fmt(dense, '.1f')} | {fmt(csr, '.1f')} | "
                  f"{fmt(csrrm, '.1f')} | {fmt(gflops, '.1f')} | {fmt(ratio(dense), '.1f', 'x')} | "
                  f"{fmt(ratio(csr), '.2f', 'x')} | {fmt(ratio(csrrm), '.1f', 'x')} |")
    return 0


def fmt_time(us):
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.1f} us"


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    if argv[1] == "--threads":
        return threads_table(argv[2:])
    ctx, times = load(argv[1])
    dense = {(n, batch): t for (impl, n, _, _, batch), t in times.items() if impl == "dense"}
    cells = defaultdict(dict)
    for (impl, n, pct, block, batch), t in times.items():
        if impl != "dense":
            cells[(int(n), int(pct), int(block), int(batch))][impl] = t
    lines = []
    lines.append(f"host {ctx.get('host_name', '?')}, {ctx.get('num_cpus', '?')} cpus, "
                 f"attnsel arch {ctx.get('attnsel_simd_arch', '?')}, eigen threads "
                 f"{ctx.get('eigen_threads', '?')}, build {ctx.get('library_build_type', '?')}")
    lines.append("")
    lines.append("| N | density | B | batch | bsr | dense | csr | csrrm | vs dense | target | vs csr | vs csrrm | targets met |")
    lines.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---|")
    met = missed = 0
    for (n, pct, block, batch) in sorted(cells, key=lambda k: (k[0], -k[1], k[2], k[3])):
        c = cells[(n, pct, block, batch)]
        if "bsr" not in c:
            continue
        t = c["bsr"]
        td = dense.get((str(n), str(batch)))
        sd = td / t if td else None
        sc = c["csr"] / t if "csr" in c else None
        scr = c["csrrm"] / t if "csrrm" in c else None
        target = 0.7 * 100.0 / pct
        verdicts = []
        if block >= 16 and batch >= 32:
            if sd is not None:
                ok = sd >= target
                verdicts.append(("dense " + ("yes" if ok else "NO")))
                met, missed = met + ok, missed + (not ok)
            if pct == 10 and sc is not None:
                ok = sc >= 3.0
                verdicts.append(("csr>=3x " + ("yes" if ok else "NO")))
                met, missed = met + ok, missed + (not ok)
                if scr is not None:
                    verdicts.append("csrrm>=3x " + ("yes" if scr >= 3.0 else "NO"))
        cell = lambda x: f"{x:.2f}x" if x is not None else "-"
        lines.append(f"| {n} | {pct}% | {block} | {batch} | {fmt_time(t)} | "
                     f"{fmt_time(td) if td else '-'} | {fmt_time(c['csr']) if 'csr' in c else '-'} | "
                     f"{fmt_time(c['csrrm']) if 'csrrm' in c else '-'} | {cell(sd)} | "
                     f"{target:.1f}x | {cell(sc)} | {cell(scr)} | {', '.join(verdicts)} |")
    lines.append("")
    lines.append(f"targeted cells (B >= 16, batch >= 32; csr only at 10 %): {met} met, {missed} missed")
    text = "\n".join(lines)
    print(text)
    if "--markdown-out" in argv:
        with open(argv[argv.index("--markdown-out") + 1], "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
