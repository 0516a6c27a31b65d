// Block-sparse inference benchmarks: Y = X·Wᵀ with W square (1024 or 4096), X batch x N, as
//  - "bsr":   attnsel::BlockSparseMatrix<float>::multiply (xsimd kernels, OpenMP over tiles);
//  - "dense": Eigen's GEMM, Y.noalias() = X * W.transpose(), on the dense W (zeros included);
//  - "csr":   Eigen::SparseMatrix<float, RowMajor> holding the same non-zeros, in the layout
//             Eigen's sparse x dense product likes best: Yᵀ = W_csr · Xᵀ with Xᵀ row-major
//             (transposed once outside the timing loop; the strict baseline);
//  - "csrrm": the same CSR matrix on the same row-major X and Y as bsr and dense,
//             Y.noalias() = X * W_csr.transpose() (what a row-major caller would write).
// Names are impl/N/density%/B/batch ("dense/N/all/all/batch": it ignores density and B), so
// benchmarks/kernels/sparse_ratios.py can pair them. Block masks are random with a fixed seed and hold
// exactly round(density · blocks) blocks. Before timing, the suite checks bsr and csr against
// the dense product once.
#include "bench_main.hpp"

#include <attnsel/sparse/sparse.hpp>

#include <Eigen/SparseCore>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

namespace {

using T = float;
using attnsel::Index;
using attnsel::RowMatrix;
using Csr = Eigen::SparseMatrix<T, Eigen::RowMajor>;
using Mask = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr std::uint64_t kSeed = 20240606;

RowMatrix<T> random_dense(Index rows, Index cols, attnsel::Rng& rng) {
  RowMatrix<T> m(rows, cols);
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) m(i, j) = T(attnsel::random::uniform(rng, -1.0, 1.0));
  return m;
}

/// Exactly round(density * cells) blocks, chosen uniformly.
Mask random_mask(Index grid, double density, attnsel::Rng& rng) {
  std::vector<Index> cells(std::size_t(grid * grid));
  for (std::size_t i = 0; i < cells.size(); ++i) cells[i] = Index(i);
  attnsel::random::shuffle(cells, rng);
  const auto keep = std::size_t(std::llround(density * double(cells.size())));
  Mask m = Mask::Zero(grid, grid);
  for (std::size_t i = 0; i < keep; ++i) m(cells[i] / grid, cells[i] % grid) = 1;
  return m;
}

/// Weights of one (N, density, B) configuration, shared by the benchmarks that use it (one
/// configuration is kept at a time: the benchmarks of a configuration run back to back).
struct Problem {
  Index n = 0, block = 0;
  int percent = 0;
  RowMatrix<T> w_masked;  // dense W with the dropped blocks zeroed
  attnsel::BlockSparseMatrix<T> bsr;
  Csr csr;
  double nnz = 0;  // stored entries inside the matrix
};

const RowMatrix<T>& dense_weights(Index n) {
  static Index cached_n = -1;
  static RowMatrix<T> w;
  if (cached_n != n) {
    attnsel::Rng rng(kSeed + std::uint64_t(n));
    w = random_dense(n, n, rng);
    cached_n = n;
  }
  return w;
}

const Problem& problem(Index n, int percent, Index block) {
  static std::unique_ptr<Problem> p;
  if (!p || p->n != n || p->percent != percent || p->block != block) {
    p.reset();  // free the previous configuration first (4096² weights are large)
    auto q = std::make_unique<Problem>();
    q->n = n;
    q->percent = percent;
    q->block = block;
    attnsel::Rng rng(kSeed ^ (std::uint64_t(n) << 20) ^ (std::uint64_t(percent) << 8) ^ std::uint64_t(block));
    const Index grid = (n + block - 1) / block;
    const Mask mask = random_mask(grid, percent / 100.0, rng);
    const RowMatrix<T>& w = dense_weights(n);
    q->bsr = attnsel::BlockSparseMatrix<T>(w, mask, {block, block});
    q->w_masked = q->bsr.to_dense();
    q->csr = q->w_masked.sparseView();
    q->csr.makeCompressed();
    q->nnz = double(q->csr.nonZeros());
    p = std::move(q);
  }
  return *p;
}

const RowMatrix<T>& input(Index batch, Index n) {
  static Index cb = -1, cn = -1;
  static RowMatrix<T> x;
  if (cb != batch || cn != n) {
    attnsel::Rng rng(kSeed + 7);
    x = random_dense(batch, n, rng);
    cb = batch;
    cn = n;
  }
  return x;
}

void flop_counters(benchmark::State& state, double flops, double density) {
  state.counters["GFLOPs"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["density"] = density;
}

void bm_bsr(benchmark::State& state, Index n, int percent, Index block, Index batch) {
  const Problem& p = problem(n, percent, block);
  const RowMatrix<T>& X = input(batch, n);
  RowMatrix<T> Y(batch, n);
  for (auto _ : state) {
    p.bsr.multiply(X, Y);
    benchmark::ClobberMemory();
  }
  flop_counters(state, 2.0 * double(batch) * p.nnz, p.bsr.density());
  state.counters["MB_weights"] = double(p.bsr.memory_bytes()) / 1e6;
}

void bm_csr(benchmark::State& state, Index n, int percent, Index block, Index batch) {
  const Problem& p = problem(n, percent, block);
  const RowMatrix<T>& X = input(batch, n);
  if (batch == 1) {
    const attnsel::Vector<T> x = X.row(0).transpose();
    attnsel::Vector<T> y(n);
    for (auto _ : state) {
      y.noalias() = p.csr * x;
      benchmark::ClobberMemory();
    }
  } else {
    const RowMatrix<T> Xt = X.transpose();  // Eigen's fast layout: rows of Xᵀ contiguous
    RowMatrix<T> Yt(n, batch);
    for (auto _ : state) {
      Yt.noalias() = p.csr * Xt;
      benchmark::ClobberMemory();
    }
  }
  flop_counters(state, 2.0 * double(batch) * p.nnz, p.bsr.density());
}

void bm_csr_rowmajor(benchmark::State& state, Index n, int percent, Index block, Index batch) {
  const Problem& p = problem(n, percent, block);
  const RowMatrix<T>& X = input(batch, n);
  RowMatrix<T> Y(batch, n);
  for (auto _ : state) {
    Y.noalias() = X * p.csr.transpose();
    benchmark::ClobberMemory();
  }
  flop_counters(state, 2.0 * double(batch) * p.nnz, p.bsr.density());
}

void bm_dense(benchmark::State& state, Index n, Index batch) {
  const RowMatrix<T>& W = dense_weights(n);
  const RowMatrix<T>& X = input(batch, n);
  RowMatrix<T> Y(batch, n);
  for (auto _ : state) {
    Y.noalias() = X * W.transpose();
    benchmark::ClobberMemory();
  }
  flop_counters(state, 2.0 * double(batch) * double(n) * double(n), 1.0);
}

bool verify() {
  bool ok = true;
  for (Index block : {16, 5}) {
    const Problem& p = problem(512, 10, block);
    const RowMatrix<T>& X = input(33, 512);
    const RowMatrix<T> ref = X * p.w_masked.transpose();
    const RowMatrix<T> bsr = p.bsr.multiply(X);
    const RowMatrix<T> Xt = X.transpose();
    const RowMatrix<T> csr = (p.csr * Xt).transpose();
    const double scale = 1e-4 * (1.0 + ref.cwiseAbs().maxCoeff());
    if ((bsr - ref).cwiseAbs().maxCoeff() > scale || (csr - ref).cwiseAbs().maxCoeff() > scale) {
      std::fprintf(stderr, "bench_sparse: products disagree (B=%d)\n", int(block));
      ok = false;
    }
  }
  return ok;
}

void register_all() {
  const std::vector<Index> sizes{1024, 4096};
  const std::vector<int> percents{50, 20, 10, 5, 2};
  const std::vector<Index> blocks{4, 8, 16, 32};
  const std::vector<Index> batches{1, 32, 256};
  for (Index n : sizes) {
    for (Index batch : batches) {
      const std::string name = "dense/" + std::to_string(n) + "/all/all/" + std::to_string(batch);
      benchmark::RegisterBenchmark(name.c_str(), [n, batch](benchmark::State& s) { bm_dense(s, n, batch); })
          ->Unit(benchmark::kMicrosecond)
          ->UseRealTime();
    }
    for (int pct : percents) {
      for (Index block : blocks) {
        for (Index batch : batches) {
          const std::string tail = "/" + std::to_string(n) + "/" + std::to_string(pct) + "/" +
                                   std::to_string(block) + "/" + std::to_string(batch);
          benchmark::RegisterBenchmark(("bsr" + tail).c_str(), [=](benchmark::State& s) {
            bm_bsr(s, n, pct, block, batch);
          })->Unit(benchmark::kMicrosecond)->UseRealTime();
          benchmark::RegisterBenchmark(("csr" + tail).c_str(), [=](benchmark::State& s) {
            bm_csr(s, n, pct, block, batch);
          })->Unit(benchmark::kMicrosecond)->UseRealTime();
          if (batch > 1) {  // batch 1 is the same matrix-vector product as "csr"
            benchmark::RegisterBenchmark(("csrrm" + tail).c_str(), [=](benchmark::State& s) {
              bm_csr_rowmajor(s, n, pct, block, batch);
            })->Unit(benchmark::kMicrosecond)->UseRealTime();
          }
        }
      }
    }
  }
}

// Registered before main (checked first), so the shared main of bench_main.hpp runs them.
const bool kRegistered = [] {
  if (!verify()) std::exit(1);
  register_all();
  return true;
}();

}  // namespace

ATTNSEL_BENCHMARK_MAIN()
