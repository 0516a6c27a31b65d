#!/usr/bin/python3
"""Sequential Attention next to scikit-learn's feature selectors on the bundled digits table,
k = 20, on the same stratified split (exported by attnsel's feature_selection):

  - SequentialFeatureSelector(LogisticRegression), forward, 5-fold CV (scikit-learn's greedy wrapper)
  - SelectFromModel(L1-penalised LogisticRegression), threshold tuned to keep exactly k features
  - attnsel Sequential Attention (feature_selection --method sa)

Every selection is scored the same way: a LogisticRegression (standardised inputs) retrained on
the selected columns, test accuracy; attnsel's own MLP retraining score is printed too. Times are
wall-clock seconds of the selection alone (attnsel: as the program reports it), over `--seeds`
splits. Run through sklearn_sfs_digits.sh (installs python3-sklearn, builds the example)."""
import argparse
import re
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import SelectFromModel, SequentialFeatureSelector
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def load(path):
    a = np.loadtxt(path, delimiter=",", skiprows=1)
    return a[:, :-1], a[:, -1].astype(int)


def score(cols, Xtr, ytr, Xte, yte):
    m = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    m.fit(Xtr[:, cols], ytr)
    return m.score(Xte[:, cols], yte)


def l1_selection(X, y, k):
    """Smallest L1 penalty (largest C) path point with at least k nonzero features; top-k by norm."""
    Xs = StandardScaler().fit_transform(X)
    for C in np.geomspace(0.001, 10, 60):
        m = LogisticRegression(penalty="l1", solver="saga", C=C, max_iter=3000).fit(Xs, y)
        norms = np.linalg.norm(m.coef_, axis=0)
        if (norms > 0).sum() >= k:
            return list(np.argsort(-norms, kind="stable")[:k])
    return list(np.argsort(-norms, kind="stable")[:k])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", help="path to attnsel's feature_selection")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    rows = {"sequential_attention (attnsel)": [], "SequentialFeatureSelector(LogReg)": [], "SelectFromModel(L1 LogReg)": []}
    mlp = []
    for seed in range(1, args.seeds + 1):
        with tempfile.TemporaryDirectory() as d:
            out = subprocess.run([args.binary, "--data", "digits", "--k", str(args.k), "--seed", str(seed), "--quiet",
                                  "--export-split", d, "--picture", f"{d}/p.png"],
                                 check=True, capture_output=True, text=True).stdout
            Xtr, ytr = load(f"{d}/train.csv")
            Xte, yte = load(f"{d}/test.csv")
        m = re.search(r"selected in ([0-9.]+) s[^(]*, in order \(indices: ([0-9 ]+)\)", out)
        sa_time, sa_cols = float(m.group(1)), [int(v) for v in m.group(2).split()]
        mlp.append(float(re.search(r"the \d+ selected features: ([0-9.]+)", out).group(1)))
        rows["sequential_attention (attnsel)"].append((score(sa_cols, Xtr, ytr, Xte, yte), sa_time))

        t = time.perf_counter()
        sfs = SequentialFeatureSelector(make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
                                        n_features_to_select=args.k, direction="forward", n_jobs=None)
        sfs.fit(Xtr, ytr)
        rows["SequentialFeatureSelector(LogReg)"].append(
            (score(list(np.flatnonzero(sfs.get_support())), Xtr, ytr, Xte, yte), time.perf_counter() - t))

        t = time.perf_counter()
        cols = l1_selection(Xtr, ytr, args.k)
        rows["SelectFromModel(L1 LogReg)"].append((score(cols, Xtr, ytr, Xte, yte), time.perf_counter() - t))

    print(f"digits, k = {args.k}, {args.seeds} splits; score = test accuracy of a LogisticRegression on the selection")
    print(f"{'method':<36}{'accuracy':>10}{'seconds':>10}")
    for name, vals in rows.items():
        acc = np.mean([v[0] for v in vals])
        sec = np.mean([v[1] for v in vals])
        print(f"{name:<36}{acc:10.4f}{sec:10.3f}")
    print(f"(attnsel's own MLP retraining on its selection: {np.mean(mlp):.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
