// Training-step benchmarks: one step (forward + backward + Adam) of a 784-256-128-10 MLP at
// batch 256, next to the bare Eigen GEMMs of the same shapes, both in GFLOP/s of GEMM work; and
// whole 60,000-example epochs through attnsel::fit (seconds per epoch, by fit's own clock).
#include <attnsel/attnsel.hpp>

#include <benchmark/benchmark.h>

#include "bench_main.hpp"

#include <cstdio>
#include <string>

namespace {

using T = float;
using M = attnsel::RowMatrix<T>;
constexpr attnsel::Index kIn = 784, kH1 = 256, kH2 = 128, kOut = 10;

/// GEMM flops of one training step at batch B: 3 forward products, 3 weight gradients, and the
/// input gradients of the 2nd and 3rd layers (the first layer's is not needed).
double step_flops(double B) {
  const double fwd = 2 * B * (kIn * kH1 + kH1 * kH2 + kH2 * kOut);
  const double dx = 2 * B * (kH1 * kH2 + kH2 * kOut);
  return 2 * fwd + dx;
}

M random_matrix(attnsel::Index r, attnsel::Index c, std::uint64_t seed) {
  attnsel::Rng rng(seed);
  M m(r, c);
  for (attnsel::Index i = 0; i < m.size(); ++i) m.data()[i] = T(attnsel::random::uniform(rng, -1, 1));
  return m;
}

M labels(attnsel::Index n, std::uint64_t seed) {
  attnsel::Rng rng(seed);
  M y(n, 1);
  for (attnsel::Index i = 0; i < n; ++i) y(i, 0) = T(attnsel::random::index(rng, kOut));
  return y;
}

void BM_train_step(benchmark::State& state) {
  const attnsel::Index B = state.range(0);
  attnsel::MLPOptions mo;
  mo.hidden = {kH1, kH2};
  attnsel::Sequential<T> model = attnsel::make_mlp<T>(kIn, kOut, mo);
  attnsel::Adam<T> adam;
  adam.add_parameters(model.parameters());
  const attnsel::SoftmaxCrossEntropy<T> loss;
  const M X = random_matrix(B, kIn, 1), Y = labels(B, 2);
  M dOut;
  for (auto _ : state) {
    const M& out = model.forward(X, true);
    T l = loss.value_and_grad(out, Y, dOut);
    model.backward(dOut);
    adam.step();
    benchmark::DoNotOptimize(l);
  }
  state.counters["GFLOP/s"] = benchmark::Counter(step_flops(double(B)) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = attnsel::max_threads();
}

void BM_gemm_only(benchmark::State& state) {
  const attnsel::Index B = state.range(0);
  const M X = random_matrix(B, kIn, 1), W1 = random_matrix(kIn, kH1, 2), W2 = random_matrix(kH1, kH2, 3),
          W3 = random_matrix(kH2, kOut, 4);
  M A1(B, kH1), A2(B, kH2), A3(B, kOut), G1(kIn, kH1), G2(kH1, kH2), G3(kH2, kOut), D2(B, kH1), D3(B, kH2);
  for (auto _ : state) {
    A1.noalias() = X * W1;
    A2.noalias() = A1 * W2;
    A3.noalias() = A2 * W3;
    G3.noalias() = A2.transpose() * A3;
    D3.noalias() = A3 * W3.transpose();
    G2.noalias() = A1.transpose() * D3;
    D2.noalias() = D3 * W2.transpose();
    G1.noalias() = X.transpose() * D2;
    benchmark::DoNotOptimize(G1.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(step_flops(double(B)) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["threads"] = Eigen::nbThreads();
}

void BM_epoch_60k(benchmark::State& state) {
  const attnsel::Index B = state.range(0);
  const M X = random_matrix(60000, kIn, 5), Y = labels(60000, 6);
  attnsel::MLPOptions mo;
  mo.hidden = {kH1, kH2};
  attnsel::Sequential<T> model = attnsel::make_mlp<T>(kIn, kOut, mo);
  attnsel::Adam<T> adam;
  attnsel::TrainOptions<T> opt;
  opt.epochs = 3;
  opt.batch_size = B;
  double seconds_per_epoch = 0;
  for (auto _ : state) {
    const auto h = attnsel::fit(model, attnsel::SoftmaxCrossEntropy<T>{}, adam, X, Y, opt);
    seconds_per_epoch = h.seconds / double(h.epochs_run);  // fit's own clock, without its input checks
    benchmark::DoNotOptimize(h.steps);
  }
  state.counters["s/epoch"] = seconds_per_epoch;
  state.counters["GFLOP/s"] = step_flops(double(B)) * 1e-9 * double((60000 + B - 1) / B) / seconds_per_epoch;
}

BENCHMARK(BM_train_step)->Arg(256)->ArgName("batch")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_gemm_only)->Arg(256)->ArgName("batch")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_epoch_60k)->Arg(256)->ArgName("batch")->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1);

}  // namespace

ATTNSEL_BENCHMARK_MAIN()
