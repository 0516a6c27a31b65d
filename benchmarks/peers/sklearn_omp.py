#!/usr/bin/python3
"""attnsel's orthogonal_matching_pursuit next to scikit-learn's OrthogonalMatchingPursuit
(issue #5): same problems, same selection, time.

Problems (numpy default_rng(SEED), SEED = 20240605 + index of the problem): X has n standard
normal columns, each standardised to mean 0 and standard deviation 1; y = X w + 0.1·noise with w
nonzero (standard normal values) on ceil(1.5·k) random columns. Sizes n=20000, d=1000, k=100 and
n=500, d=100, k=10 (--sizes to change). fit_intercept=False everywhere.

Times are wall-clock milliseconds of a whole fit, best of --repeats (small problems: best of
--small-repeats):
  - scikit-learn: OrthogonalMatchingPursuit(n_nonzero_coefs=k, fit_intercept=False,
    precompute=True) and (precompute=False).fit(X, y), on float64; the thread count is
    OPENBLAS_NUM_THREADS / OMP_NUM_THREADS (2 from sklearn_omp.sh);
  - attnsel: benchmarks/omp_peer on the same bytes, in double and in float (X converted to float
    before the timing), OpenMP threads as OMP_NUM_THREADS.
Speed-up = scikit-learn's faster setting / attnsel.

Selection order: the estimator's coef_ only gives the support, so the order comes from
sklearn.linear_model.orthogonal_mp(X, y, n_nonzero_coefs=k, precompute=..., return_path=True),
the function the estimator calls: path column t holds the coefficients after t+1 steps, and the
feature entering at step t is the one nonzero in column t and not before. Both precompute settings
are checked to agree, the path's last support to equal the estimator's coef_ support, and
attnsel's double and float orders are compared with it ("identical").

Run through sklearn_omp.sh (installs python3-sklearn and OpenBLAS, builds omp_peer):
  /usr/bin/python3 sklearn_omp.py PATH/TO/omp_peer [--repeats 5] [--small-repeats 300]"""
import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import sklearn
from sklearn.linear_model import OrthogonalMatchingPursuit, orthogonal_mp

SEED = 20240605


def problem(n, d, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    w = np.zeros(d)
    support = rng.choice(d, size=min(d, math.ceil(1.5 * k)), replace=False)
    w[support] = rng.standard_normal(support.size)
    y = X @ w + 0.1 * rng.standard_normal(n)
    return np.asfortranarray(X), y


def write_problem(path, X, y, k):
    n, d = X.shape
    with open(path, "wb") as f:
        np.array([n, d, k], dtype=np.int64).tofile(f)
        np.asarray(X, dtype=np.float64).ravel(order="F").tofile(f)  # column by column
        np.asarray(y, dtype=np.float64).tofile(f)


def sklearn_order(X, y, k, precompute):
    path = orthogonal_mp(X, y, n_nonzero_coefs=k, precompute=precompute, return_path=True)
    path = path.reshape(X.shape[1], -1)
    order, seen = [], set()
    for t in range(path.shape[1]):
        new = [j for j in np.flatnonzero(path[:, t]) if j not in seen]
        if len(new) != 1:
            raise RuntimeError(f"step {t}: {len(new)} new features in the path, expected 1")
        order.append(int(new[0]))
        seen.add(int(new[0]))
    return order


def best_time(fn, repeats):
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run_attnsel(binary, path, repeats):
    out = subprocess.run([binary, path, str(repeats)], check=True, capture_output=True, text=True).stdout
    r = {}
    for line in out.splitlines():
        key, _, rest = line.partition(" ")
        r[key] = rest
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", help="path to attnsel's omp_peer")
    ap.add_argument("--repeats", type=int, default=5, help="best-of repeats for the large problem")
    ap.add_argument("--small-repeats", type=int, default=300, help="best-of repeats for problems with n·d < 1e6")
    ap.add_argument("--sizes", default="20000x1000x100,500x100x10", help="comma-separated n x d x k")
    args = ap.parse_args()
    warnings.simplefilter("ignore", FutureWarning)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "?"))
    print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, {threads} threads; "
          f"times = best of repeated whole fits (ms), fit_intercept=False")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for idx, size in enumerate(args.sizes.split(",")):
            n, d, k = (int(v) for v in size.split("x"))
            X, y = problem(n, d, k, SEED + idx)
            reps = args.repeats if n * d >= 1_000_000 else args.small_repeats
            times, orders = {}, {}
            for pre in (True, False):
                est = OrthogonalMatchingPursuit(n_nonzero_coefs=k, fit_intercept=False, precompute=pre)
                times[pre] = best_time(lambda: est.fit(X, y), reps)
                orders[pre] = sklearn_order(X, y, k, pre)
                if set(np.flatnonzero(est.coef_)) != set(orders[pre]):
                    raise RuntimeError(f"{size}: the path's support differs from the estimator's coef_ support")
            if orders[True] != orders[False]:
                print(f"note: {size}: scikit-learn's precompute=True and False orders differ")
            path = os.path.join(tmp, f"omp_{idx}.bin")
            write_problem(path, X, y, k)
            ours = run_attnsel(args.binary, path, reps)
            faster = min(times.values())
            row = dict(size=f"n={n} d={d} k={k}", on=times[True], off=times[False],
                       dbl=float(ours["double_seconds"]), flt=float(ours["float_seconds"]),
                       variant=ours["double_variant"], cols=ours["double_gram_columns"])
            row["same_dbl"] = [int(v) for v in ours["double_order"].split()] == orders[True]
            row["same_flt"] = [int(v) for v in ours["float_order"].split()] == orders[True]
            row["x_dbl"], row["x_flt"] = faster / row["dbl"], faster / row["flt"]
            rows.append(row)
    print(f"{'problem':<24}{'sk pre=on':>11}{'sk pre=off':>11}{'ours f64':>11}{'ours f32':>11}"
          f"{'x f64':>8}{'x f32':>8}  identical f64/f32  attnsel variant (gram columns)")
    print(f"{'':<24}{'ms':>11}{'ms':>11}{'ms':>11}{'ms':>11}")
    for r in rows:
        print(f"{r['size']:<24}{1e3 * r['on']:11.3f}{1e3 * r['off']:11.3f}{1e3 * r['dbl']:11.3f}{1e3 * r['flt']:11.3f}"
              f"{r['x_dbl']:8.2f}{r['x_flt']:8.2f}  {'yes' if r['same_dbl'] else 'NO':>8}/{'yes' if r['same_flt'] else 'NO':<8}"
              f"  {r['variant']} ({r['cols']})")
    print("x = scikit-learn's faster setting / attnsel; identical = same ordered selection as scikit-learn's")
    return 0 if all(r["same_dbl"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
