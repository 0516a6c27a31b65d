#!/usr/bin/python3
"""PyTorch (CPU) time per 60,000-example epoch of the 784-256-128-10 MLP that
benchmarks/kernels/bench_train.cpp times for attnsel: batch 256, Adam (lr 1e-3), float32, a shuffled
epoch of random data, torch.set_num_threads(THREADS). Prints seconds per epoch (median of runs).

Run through benchmarks/peers/torch_mlp_epoch.sh, which installs Debian's python3-torch."""
import sys
import time

import torch


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    n, batch = 60000, 256
    X = torch.rand(n, 784) * 2 - 1
    y = torch.randint(0, 10, (n,))
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()

    def epoch():
        perm = torch.randperm(n)
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            xb, yb = X[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()

    epoch()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - t)
    times.sort()
    print(f"torch {torch.__version__}, {threads} threads: {times[len(times) // 2]:.3f} s per epoch "
          f"(runs: {', '.join(f'{t:.3f}' for t in times)})")


if __name__ == "__main__":
    main()
