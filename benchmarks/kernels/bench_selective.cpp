// Selective Attention benchmarks (float, H = 8, d = 64):
// - prefill: the tiled kernel selective vs plain causal (same kernel) vs a naive Eigen version
//   that materialises softmax(QKᵀ/√d − F)·V per head; GFLOP/s on the causal FLOPs
//   (2 products × 2·N(N+1)/2·d·H) and the peak heap memory the call adds beyond its inputs and a
//   preallocated output (malloc interposed; measured once per case outside the timed loop);
// - forward + backward of the tiled kernel, next to the SGEMM rate of Eigen on 2 cores;
// - decode: per-token latency of a KV cache against context length, full and with budgets
//   {32, 64, 128}, with the KV bytes held.
#include "bench_main.hpp"

#include <attnsel/selective/selective.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "../../tests/heap_counter.hpp"

namespace {

using T = float;
using M = attnsel::RowMatrix<T>;
using attnsel::Index;
constexpr Index kHeads = 8, kDim = 64;

M random_matrix(Index r, Index c, std::uint64_t seed) {
  attnsel::Rng rng(seed);
  M m(r, c);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = T(attnsel::random::normal(rng));
  return m;
}

double causal_flops(double N) { return 2.0 * 2.0 * N * (N + 1) / 2.0 * double(kDim) * double(kHeads); }

/// Heap accounting: tests/heap_counter.hpp interposes malloc and friends (glibc's __libc_*
/// underneath), so a call's peak heap use beyond what was live before it is measured, Eigen's and
/// OpenMP's allocations included. Peak heap bytes a call adds, in MB. The call runs once before, so one-time start-up
/// (OpenMP's thread pool) is not counted.
double peak_extra_mb(const std::function<void()>& f) {
  f();
  return double(heap_counter::peak_extra(f).first) / (1024.0 * 1024.0);
}

}  // namespace

namespace {

struct Inputs {
  M Q, K, V;
  explicit Inputs(Index N) : Q(random_matrix(N, kHeads * kDim, 1)), K(random_matrix(N, kHeads * kDim, 2)), V(random_matrix(N, kHeads * kDim, 3)) {}
};

/// The paper's formulation with materialised N × N matrices, in Eigen.
void naive_selective(const M& Q, const M& K, const M& V, bool selective, M& O) {
  const Index N = Q.rows();
  const T scale = T(1) / std::sqrt(T(kDim));
  M F = M::Zero(N, N);
  if (selective) {
    M S = scale * (Q.leftCols(kDim) * K.leftCols(kDim).transpose());
    S = S.cwiseMax(T(0));
    S.col(0).setZero();
    S.diagonal().setZero();
    S.triangularView<Eigen::StrictlyUpper>().setZero();
    for (Index i = 2; i < N; ++i) F.row(i) = F.row(i - 1) + S.row(i - 1);  // shifted cumsum
  }
  for (Index h = 0; h < kHeads; ++h) {
    M L = scale * (Q.middleCols(h * kDim, kDim) * K.middleCols(h * kDim, kDim).transpose());
    if (selective) L -= F;
    L.triangularView<Eigen::StrictlyUpper>().setConstant(-std::numeric_limits<T>::infinity());
    for (Index i = 0; i < N; ++i) {
      auto row = L.row(i);
      row = (row.array() - row.maxCoeff()).exp();
      row /= row.sum();
    }
    O.middleCols(h * kDim, kDim).noalias() = L * V.middleCols(h * kDim, kDim);
  }
}

void set_counters(benchmark::State& state, Index N, double peak) {
  state.counters["GFLOP/s"] = benchmark::Counter(causal_flops(double(N)) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["heap_MB"] = peak;
  state.counters["N"] = double(N);
}

void BM_prefill_tiled(benchmark::State& state) {
  const Index N = state.range(0);
  const bool selective = state.range(1) != 0;
  const Inputs in(N);
  attnsel::SelectiveAttentionOptions o;
  o.heads = kHeads;
  o.selective = selective;
  o.check_finite = false;
  M out(N, kHeads * kDim);  // preallocated: the peak counts only the kernel's own memory
  using CV = attnsel::HeadsView<const T>;
  const CV q = CV::packed(in.Q, kHeads), k = CV::packed(in.K, kHeads), v = CV::packed(in.V, kHeads);
  const attnsel::HeadsView<T> o_view = attnsel::HeadsView<T>::packed(out, kHeads);
  const double peak = peak_extra_mb([&] { attnsel::selective_attention<T>(q, k, v, o_view, o); });
  for (auto _ : state) {
    attnsel::selective_attention<T>(q, k, v, o_view, o);
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, N, peak);
}

void BM_prefill_naive_eigen(benchmark::State& state) {
  const Index N = state.range(0);
  const bool selective = state.range(1) != 0;
  const Inputs in(N);
  M out(N, kHeads * kDim);
  const double peak = peak_extra_mb([&] { naive_selective(in.Q, in.K, in.V, selective, out); });
  for (auto _ : state) {
    naive_selective(in.Q, in.K, in.V, selective, out);
    benchmark::DoNotOptimize(out.data());
  }
  set_counters(state, N, peak);
}

void BM_forward_backward_tiled(benchmark::State& state) {
  const Index N = state.range(0);
  const bool selective = state.range(1) != 0;
  const Inputs in(N);
  const M G = random_matrix(N, kHeads * kDim, 4);
  attnsel::SelectiveAttentionOptions o;
  o.heads = kHeads;
  o.selective = selective;
  o.check_finite = false;
  for (auto _ : state) {
    auto g = attnsel::selective_attention_backward(in.Q, in.K, in.V, G, o);  // runs the forward too
    benchmark::DoNotOptimize(g.dQ.data());
  }
  // forward 2 products + backward 5 products of the causal size
  state.counters["GFLOP/s"] = benchmark::Counter(3.5 * causal_flops(double(N)) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["N"] = double(N);
}

/// Eigen's SGEMM rate on the attention shapes: per head, S = Q Kᵀ and O = S V at full N × N.
void BM_sgemm_rate(benchmark::State& state) {
  const Index N = state.range(0);
  const Inputs in(N);
  M S(N, N), O(N, kDim);
  for (auto _ : state) {
    for (Index h = 0; h < kHeads; ++h) {
      S.noalias() = in.Q.middleCols(h * kDim, kDim) * in.K.middleCols(h * kDim, kDim).transpose();
      O.noalias() = S * in.V.middleCols(h * kDim, kDim);
    }
    benchmark::DoNotOptimize(O.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * causal_flops(double(N)) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["N"] = double(N);
}

/// One decode step at context length L (the cache holds min(L, budget) tokens; budget 0 = full).
/// The cache is filled before timing; each timed step adds one token (50 steps per run).
void BM_decode_step(benchmark::State& state) {
  const Index L = state.range(0), budget = state.range(1);
  const M Q = random_matrix(L + 64, kHeads * kDim, 11), K = random_matrix(L + 64, kHeads * kDim, 12),
          V = random_matrix(L + 64, kHeads * kDim, 13);
  attnsel::KVCacheOptions o;
  o.heads = kHeads;
  o.head_dim = kDim;
  o.budget = budget;
  o.check_finite = false;
  attnsel::KVCache<T> cache(o);
  cache.prefill(Q.topRows(L), K.topRows(L), V.topRows(L));
  std::vector<T> out(std::size_t(kHeads * kDim));
  Index t = L;
  for (auto _ : state) {
    cache.decode_step(Q.row(t).data(), K.row(t).data(), V.row(t).data(), out.data());
    ++t;
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["context"] = double(L);
  state.counters["cached"] = double(cache.size());
  state.counters["kv_KiB"] = double(cache.bytes()) / 1024.0;
}

void decode_args(benchmark::internal::Benchmark* b) {
  for (Index budget : {0, 32, 64, 128})
    for (Index L : {256, 512, 1024, 2048, 4096, 8192}) b->Args({L, budget});
  b->ArgNames({"context", "budget"});
}

/// Eigen's SGEMM rate on a square product (the reference rate for the kernel's efficiency).
void BM_sgemm_square(benchmark::State& state) {
  const Index n = state.range(0);
  const M A = random_matrix(n, n, 5), B = random_matrix(n, n, 6);
  M C(n, n);
  for (auto _ : state) {
    C.noalias() = A * B;
    benchmark::DoNotOptimize(C.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(n) * double(n) * double(n) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = Eigen::nbThreads();
}

void prefill_args(benchmark::internal::Benchmark* b) {
  for (Index N : {256, 512, 1024, 2048, 4096})
    for (int sel : {1, 0}) b->Args({N, sel});
  b->ArgNames({"N", "selective"});
}

}  // namespace

BENCHMARK(BM_prefill_tiled)->Apply(prefill_args)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_prefill_naive_eigen)->Apply(prefill_args)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_forward_backward_tiled)->Args({2048, 1})->Args({2048, 0})->ArgNames({"N", "selective"})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_decode_step)->Apply(decode_args)->Iterations(50)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_sgemm_rate)->Arg(2048)->ArgName("N")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_sgemm_square)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();

ATTNSEL_BENCHMARK_MAIN()
