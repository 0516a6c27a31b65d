// The kernels behind the runtime instruction-set dispatch (issue #36), called the way a program
// calls them (float): the masked softmax and an Adam update (simd/dispatch.hpp), the product kernel on the shapes of
// the 784-256-128-10 MLP's forward pass at batch 256 (simd::gemm), and the Selective Attention
// prefill at N = 2048 (8 heads of 64). Built twice by benchmarks/recipes/dispatch.sh: linked to
// attnsel::compiled with no instruction-set flag (the kernels come from the table chosen at run
// time; ATTNSEL_ISA forces one) and as a -march=native build. The label names the kernels that ran.
#include "bench_main.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace {

using T = float;
using M = attnsel::RowMatrix<T>;
using attnsel::Index;

M random_matrix(Index r, Index c, std::uint64_t seed) {
  attnsel::Rng rng(seed);
  M m(r, c);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = T(attnsel::random::normal(rng));
  return m;
}

void label(benchmark::State& state) { state.SetLabel(attnsel::simd::arch_name<T>()); }

void BM_masked_softmax(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const M x = random_matrix(1, Index(n), 1);
  std::vector<T> mask(n), out(n);
  for (std::size_t i = 0; i < n; ++i) mask[i] = T(i % 3 != 1);
  for (auto _ : state) {
    const auto stats = attnsel::simd::masked_softmax(x.data(), mask.data(), out.data(), n);
    benchmark::DoNotOptimize(stats);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(n));
  label(state);
}

/// One Adam update of n parameters (what Adam::step runs per parameter block).
void BM_adam(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const M g = random_matrix(1, Index(n), 2);
  std::vector<T> w(n, T(0.5)), grad(n), m(n, T(0)), v(n, T(0));
  const attnsel::simd::AdamStep<T> s{T(0.9), T(0.999), T(1e-3), T(1) / (T(1) - T(0.999)), T(1e-8), T(0), T(0)};
  for (auto _ : state) {
    std::copy(g.data(), g.data() + n, grad.data());
    attnsel::simd::adam(s, w.data(), grad.data(), m.data(), v.data(), n);
    benchmark::DoNotOptimize(w.data());
  }
  state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(n));
  label(state);
}

/// Y = X·Wᵀ for the three layers of a 784-256-128-10 MLP at batch 256 (what Dense::forward runs).
void BM_mlp_products(benchmark::State& state) {
  const Index batch = state.range(0);
  const Index dims[] = {784, 256, 128, 10};
  std::vector<M> W, X;
  for (int l = 0; l < 3; ++l) {
    W.push_back(random_matrix(dims[l + 1], dims[l], 10 + std::uint64_t(l)));
    X.push_back(random_matrix(batch, dims[l], 20 + std::uint64_t(l)));
  }
  std::vector<M> Y(3);
  for (int l = 0; l < 3; ++l) Y[std::size_t(l)].resize(batch, dims[l + 1]);
  double flops = 0;
  for (int l = 0; l < 3; ++l) flops += 2.0 * double(batch) * double(dims[l]) * double(dims[l + 1]);
  for (auto _ : state) {
    for (std::size_t l = 0; l < 3; ++l) {
      const Index in = dims[l], out = dims[l + 1];
      attnsel::simd::gemm<T>(std::size_t(batch), std::size_t(out), std::size_t(in),
                             attnsel::simd::GemmOperand<T>{X[l].data(), std::ptrdiff_t(in), 1},
                             attnsel::simd::GemmOperand<T>{W[l].data(), 1, std::ptrdiff_t(in)}, Y[l].data(),
                             std::size_t(out));
    }
    benchmark::DoNotOptimize(Y[2].data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  label(state);
}

void BM_selective_prefill(benchmark::State& state) {
  const Index N = state.range(0), heads = 8, dim = 64;
  const M Q = random_matrix(N, heads * dim, 1), K = random_matrix(N, heads * dim, 2), V = random_matrix(N, heads * dim, 3);
  M out(N, heads * dim);
  attnsel::SelectiveAttentionOptions o;
  o.heads = heads;
  o.check_finite = false;
  using CV = attnsel::HeadsView<const T>;
  const CV q = CV::packed(Q, heads), k = CV::packed(K, heads), v = CV::packed(V, heads);
  const attnsel::HeadsView<T> ov = attnsel::HeadsView<T>::packed(out, heads);
  for (auto _ : state) {
    attnsel::selective_attention<T>(q, k, v, ov, o);
    benchmark::DoNotOptimize(out.data());
  }
  const double flops = 2.0 * 2.0 * double(N) * double(N + 1) / 2.0 * double(dim) * double(heads);
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  label(state);
}

}  // namespace

BENCHMARK(BM_masked_softmax)->Arg(1 << 12)->Arg(1 << 16)->UseRealTime();
BENCHMARK(BM_adam)->Arg(1 << 16)->UseRealTime();
BENCHMARK(BM_mlp_products)->Arg(256)->ArgName("batch")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_selective_prefill)->Arg(2048)->ArgName("N")->Unit(benchmark::kMillisecond)->UseRealTime();

ATTNSEL_BENCHMARK_MAIN()
