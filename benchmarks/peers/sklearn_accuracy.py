#!/usr/bin/python3
"""Accuracy of attnsel's training core next to scikit-learn on the same splits.

For each bundled table and seed, attnsel's train_classifier makes a stratified split, trains,
and exports the standardised train/test CSVs; scikit-learn's LogisticRegression and
MLPClassifier then train on exactly those files. Prints per-table means over the seeds.

Run through benchmarks/peers/sklearn_accuracy.sh (it installs python3-sklearn and builds the
example). Arguments: path to train_classifier, then options (see --help)."""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier


def load(path):
    a = np.loadtxt(path, delimiter=",", skiprows=1)
    return a[:, :-1], a[:, -1].astype(int)


def attnsel_run(binary, table, hidden, seed, epochs, batch, lr, C, out_dir):
    cmd = [binary, "--data", table, "--hidden", hidden, "--seed", str(seed), "--epochs", str(epochs),
           "--batch", str(batch), "--lr", str(lr), "--C", str(C), "--quiet", "--export-split", out_dir]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return float(re.search(r"test accuracy ([0-9.]+)", out).group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary")
    ap.add_argument("--tables", default="breast_cancer,wine,digits")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=200, help="MLP epochs (both sides)")
    ap.add_argument("--epochs-logistic", type=int, default=500,
                    help="epochs for attnsel's logistic regression (Adam needs them to reach the optimum lbfgs finds)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    args = ap.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)

    print(f"{'table':<15}{'model':<22}{'attnsel':>9}{'sklearn':>9}{'diff (pts)':>12}   seeds={args.seeds}")
    worst = 0.0
    for table in args.tables.split(","):
        for model in ("logistic", "mlp64"):  # logistic: L2 with C = 1 on both sides
            ours, peer = [], []
            for seed in range(1, args.seeds + 1):
                with tempfile.TemporaryDirectory() as d:
                    hidden = "0" if model == "logistic" else "64"
                    # Same objective on both sides: L2 on the weights, lambda = 1 / (C n) per example
                    # for LogisticRegression(C=1); the MLP runs without a penalty on both sides.
                    C = 1.0 if model == "logistic" else 0.0
                    epochs = args.epochs_logistic if model == "logistic" else args.epochs
                    ours.append(attnsel_run(args.binary, table, hidden, seed, epochs, args.batch, args.lr, C, d))
                    Xtr, ytr = load(os.path.join(d, "train.csv"))
                    Xte, yte = load(os.path.join(d, "test.csv"))
                    if model == "logistic":
                        clf = LogisticRegression(C=1.0, max_iter=5000)
                    else:
                        clf = MLPClassifier(hidden_layer_sizes=(64,), solver="adam", alpha=0.0, batch_size=args.batch,
                                            learning_rate_init=args.lr, max_iter=args.epochs,
                                            n_iter_no_change=args.epochs + 1, random_state=seed)
                    clf.fit(Xtr, ytr)
                    peer.append(clf.score(Xte, yte))
            a, s = 100 * np.mean(ours), 100 * np.mean(peer)
            worst = max(worst, abs(a - s))
            print(f"{table:<15}{model:<22}{a:9.2f}{s:9.2f}{a - s:+12.2f}")
    print(f"largest |difference|: {worst:.2f} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
