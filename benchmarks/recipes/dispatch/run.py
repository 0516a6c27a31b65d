"""The timed part of benchmarks/recipes/dispatch.sh: every setting (ATTNSEL_ISA forced to each
instruction set this CPU has, the dispatched choice, the -march=native build) runs every workload
once per round, settings rotating their order from round to round; prints Markdown on stdout."""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

PYTHON_SELECTOR = r"""
import time
import numpy as np
from sklearn.datasets import load_digits
import attnsel
X, y = load_digits(return_X_y=True)
X = X.astype(np.float32)
times = []
for _ in range(3):
    sel = attnsel.SequentialAttentionSelector(10, random_state=0)
    t0 = time.perf_counter()
    sel.fit(X[:1437], y[:1437])
    times.append(time.perf_counter() - t0)
print(sorted(times)[1], attnsel.simd_arch(), " ".join(str(i) for i in sel.selected_features_))
"""


def cpu_isas():
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    isas = ["sse2"]
    if {"avx2", "fma"} <= flags:
        isas.append("avx2")
        if {"avx512f", "avx512cd", "avx512dq", "avx512bw", "avx512vl"} <= flags:
            isas.append("avx512")
    return isas


def run(cmd, env, timed=False):
    full = dict(os.environ)
    full.pop("ATTNSEL_ISA", None)
    full.update(env)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=full, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"dispatch: {' '.join(cmd)} failed ({p.returncode}): {p.stderr}")
    return (p.stdout, seconds) if timed else p.stdout


def one_round(setting, build, env, results, arch_seen):
    out = run([f"{build}/benchmarks/attnsel_bench_dispatch", "--benchmark_format=json",
               "--benchmark_min_time=0.5"], env)
    for b in json.loads(out)["benchmarks"]:
        unit = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
        results.setdefault((b["name"], setting), []).append(b["real_time"] * unit)
        arch_seen.setdefault((b["name"], setting), set()).add(b.get("label", "?"))
    # The main job as a user runs it: the whole program (selection, the three retrained models).
    out, seconds = run([f"{build}/examples/feature_selection", "--quiet", "--no-picture"], env, timed=True)
    m = re.search(r"selected in ([0-9.]+) s on the ([a-z0-9_]+) kernels, [0-9]+ thread\(s\), in order \(indices: ([0-9 ]+)\)", out)
    if not m:
        sys.exit(f"dispatch: no selection line in the main job's output:\n{out}")
    results.setdefault(("main job", setting), []).append(seconds * 1e3)
    arch_seen.setdefault(("main job", setting), set()).add(m.group(2))
    arch_seen.setdefault(("main job selection", setting), set()).add(m.group(3).strip())
    env_py = dict(env, PYTHONPATH=f"{build}/python")
    t, arch, chosen = run(["/usr/bin/python3", "-c", PYTHON_SELECTOR], env_py).strip().split(" ", 2)
    results.setdefault(("python selector", setting), []).append(float(t) * 1e3)
    arch_seen.setdefault(("python selector", setting), set()).add(arch)
    arch_seen.setdefault(("python selector selection", setting), set()).add(chosen)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dispatch", required=True)
    ap.add_argument("--native", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    isas = cpu_isas()
    settings = [(f"ATTNSEL_ISA={i}", a.dispatch, {"ATTNSEL_ISA": i}) for i in isas]
    settings.append(("dispatched", a.dispatch, {}))
    settings.append(("-march=native", a.native, {}))
    results, arch_seen = {}, {}
    for r in range(a.rounds):
        k = r % len(settings)
        for name, build, env in settings[k:] + settings[:k]:
            print(f"dispatch: round {r + 1}/{a.rounds}, {name}", file=sys.stderr)
            one_round(name, build, env, results, arch_seen)

    workloads = [
        ("BM_masked_softmax/4096/real_time", "masked softmax, n = 4096 (µs)", 1e3),
        ("BM_masked_softmax/65536/real_time", "masked softmax, n = 65536 (µs)", 1e3),
        ("BM_mlp_products/batch:256/real_time", "product kernel, MLP 784-256-128-10 forward, batch 256 (ms)", 1.0),
        ("BM_selective_prefill/N:2048/real_time", "Selective Attention prefill, N = 2048, 8 heads × 64 (ms)", 1.0),
        ("main job", "main job: feature_selection on digits, k = 10, the whole program (ms)", 1.0),
        ("python selector", "Python SequentialAttentionSelector(10).fit on digits, median of 3 fits (ms)", 1.0),
    ]
    names = [s[0] for s in settings]
    print(f"## Speed per instruction set ({a.rounds} rounds, medians; OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')})")
    print()
    print(f"This CPU runs: {', '.join(isas)}. Columns: the build linked to attnsel::compiled with runtime "
          "dispatch (no -march) forced to each instruction set, then left to choose; last, the same "
          "programs built with -march=native (the library too, without dispatch).")
    print()
    print("| workload | " + " | ".join(names) + " | dispatched ÷ native | kernels dispatched |")
    print("|---|" + "---|" * (len(names) + 2))
    verdicts = []
    for key, label, scale in workloads:
        med = {n: statistics.median(results[(key, n)]) for n in names}
        cells = [f"{med[n] * scale:.4g}" if scale != 1.0 else f"{med[n]:.4g}" for n in names]
        ratio = med["dispatched"] / med["-march=native"]
        kern = "/".join(sorted(arch_seen[(key, "dispatched")]))
        print(f"| {label} | " + " | ".join(cells) + f" | {ratio:.3f} | {kern} |")
        forced = {n: med[n] for n in names if n.startswith("ATTNSEL_ISA=")}
        fastest = min(forced, key=forced.get)
        verdicts.append((label, ratio, fastest, kern))
    print()
    print("Kernels each column ran (what the programs report: the benchmark label, the main job's and "
          "the selector's simd_arch):")
    print()
    for key, label, _ in workloads:
        print(f"- {label.split(' (')[0]}: " + "; ".join(f"{n}: {'/'.join(sorted(arch_seen[(key, n)]))}" for n in names))
    print()
    for what in ("main job selection", "python selector selection"):
        seen = {n: arch_seen[(what, n)] for n in names}
        same = len(set().union(*seen.values())) == 1
        print(f"- {what.replace(' selection', '')}: {'the same features in every column and round' if same else 'the selections differ between columns: ' + '; '.join(f'{n}: {sorted(v)}' for n, v in seen.items())}")
    print()
    print("| workload | dispatched within 5 % of -march=native | fastest forced instruction set |")
    print("|---|---|---|")
    for label, ratio, fastest, kern in verdicts:
        print(f"| {label} | {'yes' if ratio <= 1.05 else 'no'} ({ratio:.3f}) | {fastest.split('=')[1]} |")


if __name__ == "__main__":
    main()
