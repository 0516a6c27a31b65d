#!/usr/bin/python3
"""attnsel.SequentialAttentionSelector (the Python module) next to scikit-learn's selectors, all
called from the same Python process on the same stratified splits with the same k:

  - attnsel.SequentialAttentionSelector, default settings (60 epochs, one hidden layer of 67)
  - attnsel.SequentialAttentionSelector(method="omp") on the 0/1 or class-id target (two-class
    data only: OMP is a regression method)
  - sklearn SequentialFeatureSelector(LogisticRegression), forward, 5-fold CV
  - sklearn SelectFromModel(L1 LogisticRegression), C raised until k features are nonzero, top k

No selector is tuned (each runs with its defaults); the test split is touched once per selection,
to score it: a LogisticRegression (standardised inputs) retrained on the selected columns.
Times: wall-clock seconds of fit(X_train, y_train) alone. Data: scikit-learn's bundled digits
(k = 10 of 64) and breast_cancer (k = 5 of 30)."""
import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import SelectFromModel, SequentialFeatureSelector
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import attnsel


class L1Top:
    """SelectFromModel with an L1 logistic regression, at the smallest C that keeps >= k features."""

    def __init__(self, k):
        self.k = k

    def fit(self, X, y):
        Xs = StandardScaler().fit_transform(X)
        for C in np.geomspace(0.001, 10, 40):
            sfm = SelectFromModel(LogisticRegression(penalty="l1", solver="saga", C=C, max_iter=3000),
                                  max_features=self.k, threshold=-np.inf).fit(Xs, y)
            norms = np.linalg.norm(sfm.estimator_.coef_, axis=0)
            if (norms > 0).sum() >= self.k:
                break
        self.cols_ = list(np.flatnonzero(sfm.get_support()))
        return self


def score(cols, Xtr, ytr, Xte, yte):
    m = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))
    m.fit(Xtr[:, cols], ytr)
    return m.score(Xte[:, cols], yte)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    print(f"attnsel {attnsel.__version__} (kernels: {attnsel.simd_arch()}, "
          f"{attnsel.max_threads()} OpenMP threads); seeds 1..{args.seeds}, 25 % test, stratified\n")
    print("| data | k | selector | test accuracy (mean ± sd) | fit seconds (mean) |")
    print("|---|---|---|---|---|")
    for name, loader, k in (("digits", load_digits, 10), ("breast_cancer", load_breast_cancer, 5)):
        X, y = loader(return_X_y=True)
        two = len(np.unique(y)) == 2
        selectors = {
            "attnsel SequentialAttentionSelector": lambda s: attnsel.SequentialAttentionSelector(k, random_state=s),
            "sklearn SequentialFeatureSelector(LogReg, cv=5)": lambda s: SequentialFeatureSelector(
                LogisticRegression(max_iter=2000), n_features_to_select=k, cv=5),
            "sklearn SelectFromModel(L1 LogReg)": lambda s: L1Top(k),
        }
        if two:
            selectors["attnsel SequentialAttentionSelector(method='omp')"] = (
                lambda s: attnsel.SequentialAttentionSelector(k, method="omp", task="regression"))
        for label, make in selectors.items():
            accs, secs = [], []
            for seed in range(1, args.seeds + 1):
                Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
                sel = make(seed)
                Xfit = StandardScaler().fit_transform(Xtr) if "SequentialFeatureSelector" in label else Xtr
                t0 = time.perf_counter()
                sel.fit(Xfit, ytr if "omp" not in label else ytr.astype(float))
                secs.append(time.perf_counter() - t0)
                cols = list(sel.selected_features_) if hasattr(sel, "selected_features_") else (
                    sel.cols_ if hasattr(sel, "cols_") else list(np.flatnonzero(sel.get_support())))
                accs.append(score(cols, Xtr, ytr, Xte, yte))
            print(f"| {name} | {k} | {label} | {np.mean(accs):.4f} ± {np.std(accs):.4f} | {np.mean(secs):.4g} |")


if __name__ == "__main__":
    main()
