// Selection benchmarks: OMP (Gram and residual variants, double and float) at the sizes the
// scikit-learn comparison uses; Sequential Attention's one-pass cost next to one plain training
// run of the same model, epochs and batch size (MNIST from the data cache when present, else a
// random table of the same shape).
#include <attnsel/attnsel.hpp>

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <string>

namespace {

using attnsel::Vector;

template <class T>
struct OmpProblem {
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> X;
  Vector<T> y;
};

template <class T>
OmpProblem<T> omp_problem(attnsel::Index n, attnsel::Index d, std::uint64_t seed) {
  attnsel::Rng rng(seed);
  OmpProblem<T> p{Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>(n, d), Vector<T>(n)};
  for (attnsel::Index i = 0; i < p.X.size(); ++i) p.X.data()[i] = T(attnsel::random::normal(rng));
  Vector<T> w = Vector<T>::Zero(d);
  for (attnsel::Index j = 0; j < d; j += 7) w(j) = T(attnsel::random::normal(rng));
  p.y = p.X * w;
  for (attnsel::Index i = 0; i < n; ++i) p.y(i) += T(0.1 * attnsel::random::normal(rng));
  return p;
}

template <class T>
void BM_omp(benchmark::State& state) {
  const attnsel::Index n = state.range(0), d = state.range(1), k = state.range(2);
  const auto p = omp_problem<T>(n, d, 42);
  attnsel::OmpOptions o;
  o.precompute = state.range(3) ? attnsel::OmpOptions::Precompute::gram : attnsel::OmpOptions::Precompute::residual;
  for (auto _ : state) {
    auto r = attnsel::orthogonal_matching_pursuit(p.X, p.y, k, o);
    benchmark::DoNotOptimize(r.features.data());
  }
  state.counters["features/s"] = benchmark::Counter(double(k), benchmark::Counter::kIsIterationInvariantRate);
}

void omp_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"n", "d", "k", "gram"});
  for (int gram : {1, 0}) {
    b->Args({20000, 1000, 100, gram});
    b->Args({500, 100, 10, gram});
  }
}

BENCHMARK_TEMPLATE(BM_omp, double)->Apply(omp_args)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_omp, float)->Apply(omp_args)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("attnsel_simd_arch", ATTNSEL_SIMD_ARCH_NAME);
  benchmark::AddCustomContext("eigen_threads", std::to_string(Eigen::nbThreads()));
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
