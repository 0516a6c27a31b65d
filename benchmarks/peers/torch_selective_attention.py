#!/usr/bin/python3
"""PyTorch (CPU) Selective Attention in the paper's materialised formulation, for the side-by-side
with attnsel's tiled kernel (benchmarks/kernels/bench_selective.cpp): float32, H heads of size d, N tokens,
torch.set_num_threads(THREADS). Times (median of RUNS after a warm-up) plain causal forward,
selective forward, and selective forward + backward (gradients of sum(O * G) w.r.t. Q, K, V).
Prints one JSON object.

    torch_selective_attention.py [N] [THREADS] [RUNS]

Run through benchmarks/peers/torch_selective_attention.sh (installs Debian's python3-torch)."""
import json
import math
import sys
import time

import torch


def attend(q, k, v, selective, selector=0):
    """q, k, v: [H, N, d]. softmax(q k^T / sqrt(d) - F) v with the causal mask; F from head
    `selector`: ReLU of its masked logits, BOS column and diagonal zeroed, shifted down one query,
    cumulative sum over queries, subtracted from every head."""
    n, d = q.shape[1], q.shape[2]
    logits = torch.matmul(q, k.transpose(1, 2)) / math.sqrt(d)
    future = torch.ones(n, n, dtype=torch.bool).triu(1)
    logits = logits.masked_fill(future, float("-inf"))
    if selective:
        votes = torch.relu(logits[selector])          # future entries: relu(-inf) = 0
        keep = torch.ones(n, n)
        keep[:, 0] = 0                                # BOS is never masked
        keep.fill_diagonal_(0)                        # nor a query's own key
        votes = votes * keep
        shifted = torch.cat([torch.zeros(1, n), votes[:-1]], dim=0)  # only later queries
        logits = logits - torch.cumsum(shifted, dim=0).unsqueeze(0)
    return torch.matmul(torch.softmax(logits, dim=-1), v)


def median_time(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[len(times) // 2]


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2048
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    heads, d = 8, 64
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    q, k, v, g = (torch.randn(heads, n, d) for _ in range(4))

    with torch.no_grad():
        plain = median_time(lambda: attend(q, k, v, False), runs)
        selective = median_time(lambda: attend(q, k, v, True), runs)

    def forward_backward():
        qq, kk, vv = (t.clone().requires_grad_(True) for t in (q, k, v))
        (attend(qq, kk, vv, True) * g).sum().backward()
        return qq.grad

    both = median_time(forward_backward, runs)
    print(json.dumps({"torch": torch.__version__, "threads": threads, "N": n, "heads": heads, "d": d,
                      "plain_forward_ms": plain * 1e3, "selective_forward_ms": selective * 1e3,
                      "selective_forward_backward_ms": both * 1e3}))


if __name__ == "__main__":
    main()
