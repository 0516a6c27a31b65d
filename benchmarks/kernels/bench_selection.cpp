// Selection benchmarks: OMP (residual, full Gram, lazy Gram and automatic variants, double and
// float) at the sizes the scikit-learn comparison uses; Sequential Attention's one-pass cost next to one plain training
// run of the same model, epochs and batch size (MNIST from the data cache when present, else a
// random table of the same shape).
#include <attnsel/attnsel.hpp>

#include <benchmark/benchmark.h>

#include "bench_main.hpp"

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

/// variant: 0 residual, 1 full Gram, 2 lazy Gram columns, 3 automatic (the cost model's pick),
/// 4 lazy Gram columns in mixed precision (float GEMMs, certified; double only, float ignores it).
/// fit_intercept off, as in the scikit-learn comparison (benchmarks/peers/sklearn_omp.py).
template <class T>
void BM_omp(benchmark::State& state) {
  const attnsel::Index n = state.range(0), d = state.range(1), k = state.range(2);
  const auto p = omp_problem<T>(n, d, 42);
  using P = attnsel::OmpOptions::Precompute;
  attnsel::OmpOptions o;
  o.fit_intercept = false;
  constexpr P variants[] = {P::residual, P::gram, P::lazy_gram, P::automatic, P::lazy_gram, P::residual};
  o.precompute = variants[state.range(3)];
  // variant 4: lazy Gram with float batches; variant 5: residual without float screening
  o.mixed_precision = state.range(3) == 4 ? attnsel::OmpOptions::Mixed::on
                      : state.range(3) == 5 ? attnsel::OmpOptions::Mixed::off : attnsel::OmpOptions::Mixed::automatic;
  attnsel::Index columns = 0, exact = 0;
  for (auto _ : state) {
    auto r = attnsel::orthogonal_matching_pursuit(p.X, p.y, k, o);
    columns = r.gram_columns;
    exact = r.exact_evaluations;
    benchmark::DoNotOptimize(r.features.data());
  }
  state.counters["features/s"] = benchmark::Counter(double(k), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["gram_cols"] = double(columns);
  state.counters["exact_evals"] = double(exact);
}

void omp_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"n", "d", "k", "variant"});
  for (int v : {3, 2, 4, 1, 0, 5}) {
    b->Args({20000, 1000, 100, v});
    b->Args({500, 100, 10, v});
  }
}

BENCHMARK_TEMPLATE(BM_omp, double)->Apply(omp_args)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_TEMPLATE(BM_omp, float)->Apply(omp_args)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- Sequential Attention's one-pass cost: selection vs one plain training run ----

struct Table {
  attnsel::RowMatrix<float> X;
  attnsel::Vector<float> y;
};

/// MNIST's training set from $ATTNSEL_DATA_CACHE/mnist (default ~/.cache/attnsel/mnist) when it
/// is there, else a random 60000 x 784 table with 10 classes.
const Table& mnist_or_random() {
  static const Table t = [] {
    const char* cache = std::getenv("ATTNSEL_DATA_CACHE");
    const char* home = std::getenv("HOME");
    const std::string dir = cache ? std::string(cache) + "/mnist" : std::string(home ? home : ".") + "/.cache/attnsel/mnist";
    try {
      auto d = attnsel::read_idx_dataset<float>(dir + "/train-images-idx3-ubyte", dir + "/train-labels-idx1-ubyte");
      return Table{std::move(d.X), std::move(d.y)};
    } catch (const std::exception&) {
      attnsel::Rng rng(1);
      Table r{attnsel::RowMatrix<float>(60000, 784), attnsel::Vector<float>(60000)};
      for (attnsel::Index i = 0; i < r.X.size(); ++i) r.X.data()[i] = float(attnsel::random::uniform01(rng));
      for (attnsel::Index i = 0; i < r.y.size(); ++i) r.y(i) = float(attnsel::random::index(rng, 10));
      return r;
    }
  }();
  return t;
}

constexpr attnsel::Index kSaEpochs = 2, kSaBatch = 256;

void BM_sa_select_k50(benchmark::State& state) {
  const Table& t = mnist_or_random();
  attnsel::SequentialAttentionOptions<float> o;
  o.k = 50;
  o.epochs = kSaEpochs;
  o.batch_size = kSaBatch;
  for (auto _ : state) {
    auto s = attnsel::SequentialAttentionSelector<float>(o).fit(t.X, t.y);
    benchmark::DoNotOptimize(s.features.data());
  }
}

/// The same model (batch norm + MLP 67), epochs and batch size, without the attention mask.
void BM_plain_training(benchmark::State& state) {
  const Table& t = mnist_or_random();
  const attnsel::RowMatrix<float> Y = attnsel::RowMatrix<float>(t.y);
  for (auto _ : state) {
    attnsel::MLPOptions mo;
    mo.hidden = {67};
    mo.input_batch_norm = true;
    auto model = attnsel::make_mlp<float>(784, 10, mo);
    attnsel::Adam<float> adam;
    attnsel::TrainOptions<float> to;
    to.epochs = kSaEpochs;
    to.batch_size = kSaBatch;
    to.drop_last = true;
    auto h = attnsel::fit(model, attnsel::SoftmaxCrossEntropy<float>{}, adam, t.X, Y, to);
    benchmark::DoNotOptimize(h.steps);
  }
}

BENCHMARK(BM_sa_select_k50)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1)->Repetitions(3);
BENCHMARK(BM_plain_training)->Unit(benchmark::kSecond)->UseRealTime()->Iterations(1)->Repetitions(3);

}  // namespace

ATTNSEL_BENCHMARK_MAIN()
