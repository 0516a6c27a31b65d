"""Do the peers oversubscribe the cores? (issue #35, item 13.) For each peer workload of the
benchmarks (PyTorch's MLP step and selective-attention forward, numpy's GEMM, scikit-learn's OMP,
and attnsel's own selector from Python), run in this process with the thread settings the peer
scripts use, a sampler thread reads /proc/self/task/*/stat every millisecond and records how many
of the process's threads are runnable (state R) at once, and how many threads exist. More runnable
threads than cores means two pools (e.g. torch's OpenMP pool and OpenBLAS's pthreads) compete.
Also prints every thread pool threadpoolctl finds, with its size.

Then the torch peers' two workloads under other thread settings, each in a fresh process: their
speed and oversubscription (a timing: an idle machine).

  /usr/bin/python3 benchmarks/peers/peer_threads.py [--seconds 3] [--repeats 3]
Prints markdown on stdout."""
import argparse
import os
import threading
import time

import numpy as np


def task_states():
    """[(tid, state)] of this process's threads."""
    out = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/{}/stat".format(tid)) as f:
                s = f.read()
        except OSError:
            continue
        out.append((int(tid), s[s.rindex(")") + 2]))
    return out


class Sampler(object):
    """Counts, every `period` seconds, the runnable threads of this process other than itself."""

    def __init__(self, period=0.001):
        self.period, self.samples, self.max_threads = period, [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        me = threading.get_native_id()
        while not self._stop.is_set():
            st = task_states()
            self.max_threads = max(self.max_threads, len(st) - 1)
            self.samples.append(sum(1 for tid, s in st if s == "R" and tid != me))
            time.sleep(self.period)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def measure(name, work, seconds, cores):
    work()  # warm-up: pools start
    with Sampler() as s:
        t0 = time.time()
        runs = 0
        while time.time() - t0 < seconds:
            work()
            runs += 1
    xs = sorted(s.samples)
    over = sum(1 for x in xs if x > cores) / max(1, len(xs))
    p99 = xs[min(len(xs) - 1, int(0.99 * len(xs)))] if xs else 0
    print("| {} | {} | {} | {} | {} | {:.1f} % |".format(name, runs, s.max_threads, p99, xs[-1] if xs else 0, 100 * over))


SETTINGS = (  # the torch peers' thread settings compared (environment of a fresh process each)
    {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"},
    {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "1"},
    {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2", "OMP_WAIT_POLICY": "passive"},
    {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "1", "OMP_WAIT_POLICY": "passive"},
    {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
)


def torch_work(which):
    import torch
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    torch.manual_seed(0)
    if which == "mlp":
        net = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                  torch.nn.ReLU(), torch.nn.Linear(128, 10))
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        xb, yb = torch.randn(256, 784), torch.randint(0, 10, (256,))

        def work():
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xb), yb).backward()
            opt.step()
        return work
    q = torch.randn(8, 1024, 64)
    mask = torch.triu(torch.ones(1024, 1024, dtype=torch.bool), 1)

    def work():
        s = (q @ q.transpose(1, 2) / 8.0).masked_fill(mask, float("-inf"))
        torch.softmax(s, dim=-1) @ q
    return work


def child(which, seconds, cores):
    """In a process started with one of SETTINGS: runs/s and the share of samples above the cores."""
    work = torch_work(which)
    work()
    with Sampler() as s:
        t0 = time.time()
        runs = 0
        while time.time() - t0 < seconds:
            work()
            runs += 1
        dt = time.time() - t0
    over = sum(1 for x in s.samples if x > cores) / max(1, len(s.samples))
    print("{:.3f} {:.4f}".format(runs / dt, over))


def compare_settings(seconds, cores, repeats):
    import subprocess
    import sys
    print("\nThe torch peers under other thread settings (each a fresh process; runs per second, the median of {} "
          "runs interleaved in a random order, [min, max]; the share of samples with more runnable threads than "
          "cores). Timings: an idle machine.\n".format(repeats))
    print("| settings | MLP steps/s | MLP samples above {0} | attention forwards/s | attention samples above {0} |".format(cores))
    print("|---|---|---|---|---|")
    import random
    order = [(i, w, r) for i in range(len(SETTINGS)) for w in ("mlp", "attention") for r in range(repeats)]
    random.Random(7).shuffle(order)
    got = {}
    for i, w, _ in order:
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY")}
        env.update(SETTINGS[i])
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", w, "--seconds", str(seconds)],
                             env=env, check=True, capture_output=True, text=True).stdout.split()
        got.setdefault((i, w), []).append((float(out[0]), float(out[1])))
    for i, st in enumerate(SETTINGS):
        cells = []
        for w in ("mlp", "attention"):
            xs = sorted(r for r, _ in got[(i, w)])
            ov = sorted(o for _, o in got[(i, w)])
            cells += ["{:.1f} [{:.1f}, {:.1f}]".format(xs[len(xs) // 2], xs[0], xs[-1]), "{:.0f} %".format(100 * ov[len(ov) // 2])]
        print("| {} | {} |".format(" ".join("{}={}".format(k, v) for k, v in st.items()), " | ".join(cells)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=3, help="runs per torch setting (the comparison)")
    ap.add_argument("--child", choices=["mlp", "attention"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    if a.child:
        return child(a.child, a.seconds, cores)
    import torch
    import threadpoolctl
    import sklearn
    from sklearn.linear_model import OrthogonalMatchingPursuit
    import attnsel
    threads = int(os.environ.get("OMP_NUM_THREADS", "2"))
    torch.set_num_threads(threads)  # as torch_*.py do
    print("## Peer thread pools on {} cores (oversubscription check)\n".format(cores))
    print("torch {} (intra-op threads {}, inter-op {}), numpy {}, scikit-learn {}, attnsel {} (OpenMP threads {}).\n".format(
        torch.__version__, torch.get_num_threads(), torch.get_num_interop_threads(), np.__version__, sklearn.__version__,
        attnsel.__version__, attnsel.max_threads()))
    print("Thread pools loaded in the process (threadpoolctl):\n")
    print("| library | API | threads | file |")
    print("|---|---|---|---|")
    for p in threadpoolctl.threadpool_info():
        print("| {} | {} | {} | {} |".format(p.get("internal_api"), p.get("user_api"), p.get("num_threads"),
                                            os.path.basename(p.get("filepath", ""))))
    print("\nPer workload, sampled every millisecond for {:g} s: the process's threads, and how many are "
          "runnable (state R) at once — more than {} (the cores) means pools compete.\n".format(a.seconds, cores))
    print("| workload | runs | threads in the process | runnable, 99th percentile | runnable, max | samples above {} |".format(cores))
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    A = rng.standard_normal((512, 512))
    measure("numpy float64 GEMM 512³", lambda: A @ A, a.seconds, cores)
    measure("torch MLP 784-256-128-10 step, batch 256 (torch_mlp_epoch)", torch_work("mlp"), a.seconds, cores)
    measure("torch attention, 8 heads × 1024 tokens (torch_selective_attention)", torch_work("attention"), a.seconds, cores)
    X = rng.standard_normal((2000, 200))
    y = X[:, :5].sum(axis=1) + 0.1 * rng.standard_normal(2000)
    measure("scikit-learn OMP, 2000 × 200, 20 atoms (sklearn_omp)",
            lambda: OrthogonalMatchingPursuit(n_nonzero_coefs=20).fit(X, y), a.seconds, cores)
    from sklearn.datasets import load_digits
    Xd, yd = load_digits(return_X_y=True)
    measure("attnsel selector, digits, 2 features, 2 epochs (python_selector)",
            lambda: attnsel.SequentialAttentionSelector(2, epochs=2, random_state=0).fit(Xd, yd), a.seconds, cores)
    print("\nA sample counts the threads in state R: running, waiting for a core, or spinning while it waits for "
          "work (OpenBLAS and libgomp workers spin for a while after a parallel call), so samples above the cores "
          "mean one pool's spinning workers take cores another pool's threads want.")
    compare_settings(a.seconds, cores, a.repeats)


if __name__ == "__main__":
    main()
