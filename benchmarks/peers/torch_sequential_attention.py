#!/usr/bin/python3
"""A PyTorch port of the reference Sequential Attention model (docs/sequential-attention.md §1-§2),
for a side-by-side run with attnsel on MNIST: BatchNorm(input) → x ⊙ a → Dense(67) + ReLU →
Dense(10); a = 1 during the 10 % warm-up, else masked_softmax(w, 1 − S) + S; rounds evenly spaced
over the remaining 90 %, one feature per round picked at the end of its phase (attnsel's default
timing: the last pick after training), logits re-drawn N(0, 1e-5²) after each pick; Adam
(eps 1e-7) on network and logits together. Then a fresh model is retrained on the selected pixels
and scored on the test set, as attnsel's selection_protocol does.

Usage: torch_sequential_attention.py MNIST_DIR [--k 50] [--epochs 20] [--batch 256] [--lr 2e-3]
       [--seed 1] [--threads 2]
Prints the selection time, the selected pixels and the retrained test accuracy."""
import argparse
import gzip
import math
import os
import struct
import sys
import time

import numpy as np
import torch


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    nd = data[3]
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def find(d, stem):
    for p in (os.path.join(d, stem), os.path.join(d, stem + ".gz")):
        if os.path.exists(p):
            return p
    raise FileNotFoundError(stem)


class SAModel(torch.nn.Module):
    def __init__(self, d, classes, k, total_steps):
        super().__init__()
        self.bn = torch.nn.BatchNorm1d(d, momentum=0.01, eps=1e-3)
        self.l1 = torch.nn.Linear(d, 67)
        self.l2 = torch.nn.Linear(67, classes)
        for l in (self.l1, self.l2):
            torch.nn.init.xavier_uniform_(l.weight)
            torch.nn.init.zeros_(l.bias)
        self.logits = torch.nn.Parameter(torch.randn(d) * 1e-5)
        self.register_buffer("S", torch.zeros(d))
        self.k, self.total = k, total_steps
        self.order = []

    def select(self):
        masked = self.logits.detach().clone()
        masked[self.S > 0] = -math.inf
        j = int(torch.argmax(masked))
        self.S[j] = 1.0
        self.order.append(j)
        with torch.no_grad():
            self.logits.copy_(torch.randn_like(self.logits) * 1e-5)

    def weights(self, step):
        tau = step / self.total
        q = (tau - 0.1) / 0.9
        idx = min(math.floor(q * self.k), self.k - 1)
        if idx < 0:
            return None
        if idx > len(self.order) and len(self.order) < self.k:  # end of phase: round r at idx >= r + 1
            self.select()
        w = self.logits.masked_fill(self.S > 0, -math.inf)
        return torch.softmax(w, 0) + self.S

    def forward(self, x, a):
        x = self.bn(x)
        if a is not None:
            x = x * a
        return self.l2(torch.relu(self.l1(x)))


def train(model, X, y, epochs, batch, lr, step_fn=None):
    opt = torch.optim.Adam(model.parameters(), lr=lr, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = X.shape[0]
    step = 0
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n - batch + 1, batch):  # drop the remainder, as the reference
            idx = perm[i:i + batch]
            a = step_fn(step) if step_fn else None
            opt.zero_grad(set_to_none=True)
            out = model(X[idx], a) if step_fn else model(X[idx])
            loss_fn(out, y[idx]).backward()
            opt.step()
            step += 1


class Plain(torch.nn.Module):
    def __init__(self, d, classes):
        super().__init__()
        self.bn = torch.nn.BatchNorm1d(d, momentum=0.01, eps=1e-3)
        self.l1 = torch.nn.Linear(d, 67)
        self.l2 = torch.nn.Linear(67, classes)

    def forward(self, x):
        return self.l2(torch.relu(self.l1(self.bn(x))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mnist_dir")
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    Xtr = torch.tensor(read_idx(find(args.mnist_dir, "train-images-idx3-ubyte")).reshape(60000, -1), dtype=torch.float32) / 255
    ytr = torch.tensor(read_idx(find(args.mnist_dir, "train-labels-idx1-ubyte")), dtype=torch.long)
    Xte = torch.tensor(read_idx(find(args.mnist_dir, "t10k-images-idx3-ubyte")).reshape(10000, -1), dtype=torch.float32) / 255
    yte = torch.tensor(read_idx(find(args.mnist_dir, "t10k-labels-idx1-ubyte")), dtype=torch.long)
    steps = args.epochs * (Xtr.shape[0] // args.batch)
    model = SAModel(Xtr.shape[1], 10, args.k, steps)
    t = time.perf_counter()
    model.train()
    train(model, Xtr, ytr, args.epochs, args.batch, args.lr, step_fn=model.weights)
    while len(model.order) < args.k:
        model.select()
    sel_time = time.perf_counter() - t
    cols = model.order
    plain = Plain(len(cols), 10)
    plain.train()
    train(plain, Xtr[:, cols], ytr, args.epochs, args.batch, args.lr)
    plain.eval()
    with torch.no_grad():
        acc = (plain(Xte[:, cols]).argmax(1) == yte).float().mean().item()
    print(f"torch {torch.__version__}, {args.threads} threads: selected k={args.k} in {sel_time:.2f} s; "
          f"retrained test accuracy {acc:.4f}")
    print("pixels:", " ".join(str(c) for c in cols))
    return 0


if __name__ == "__main__":
    sys.exit(main())
