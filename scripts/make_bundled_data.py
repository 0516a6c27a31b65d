#!/usr/bin/python3
"""Regenerates the small real data sets bundled under examples/data/ from the copies that
Debian's python3-sklearn ships (sklearn/datasets/data/). Run with Debian's /usr/bin/python3 after
`apt-get install python3-sklearn`. The output is plain CSV with a header row; see
examples/data/README.md for sources and licences."""
import csv
import os
import sys

from sklearn import datasets

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples", "data")


def write(name, feature_names, X, label_name, labels):
    path = os.path.join(OUT, name)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(list(feature_names) + [label_name])
        for row, lab in zip(X, labels):
            w.writerow([repr(float(v)) if float(v) != int(v) else str(int(v)) for v in row] + [lab])
    print(f"{path}: {len(labels)} rows, {len(feature_names)} features")


def main():
    bc = datasets.load_breast_cancer()
    write("breast_cancer.csv", bc.feature_names, bc.data, "diagnosis", [bc.target_names[t] for t in bc.target])
    wine = datasets.load_wine()
    write("wine.csv", wine.feature_names, wine.data, "cultivar", [str(t + 1) for t in wine.target])
    digits = datasets.load_digits()
    names = [f"pixel_{r}_{c}" for r in range(8) for c in range(8)]
    write("digits.csv", names, digits.data, "digit", [str(t) for t in digits.target])
    diab = datasets.load_diabetes(scaled=False)
    write("diabetes.csv", diab.feature_names, diab.data, "progression", [repr(float(t)) for t in diab.target])
    return 0


if __name__ == "__main__":
    sys.exit(main())
