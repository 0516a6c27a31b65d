// Concurrency (issue #8): two selectors, two OMP runs, two pruned trainings and two KV caches
// used from two std::threads at once give exactly the sequential results. attnsel has no global
// mutable state; every object is used by one thread. `bash scripts/attnsel.sh tsan` runs this
// test under ThreadSanitizer (built without OpenMP there: libgomp is not TSan-instrumented and
// reports false races).
#include "../catch_compat.hpp"
#include "generated_problems.hpp"

#include <attnsel/attnsel.hpp>

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

using attnsel::Index;
using attnsel::RowMatrix;
using attnsel::Selection;
using attnsel::Vector;

namespace {

/// Runs a() and b() on two threads released together; returns both results.
template <class A, class B>
auto run_together(A&& a, B&& b) {
  std::atomic<int> ready{0};
  auto sync = [&ready] {
    ready.fetch_add(1);
    while (ready.load() < 2) std::this_thread::yield();
  };
  decltype(a()) ra;
  decltype(b()) rb;
  std::thread ta([&] {
    sync();
    ra = a();
  });
  std::thread tb([&] {
    sync();
    rb = b();
  });
  ta.join();
  tb.join();
  return std::make_pair(std::move(ra), std::move(rb));
}

struct Problem {
  RowMatrix<float> X;
  Vector<float> y;
};

Problem classes(Index n, Index d, std::uint64_t seed, Index a, Index b) {
  Problem p;
  attnsel_test::planted_classes<float>(n, d, seed, p.X, p.y, a, b);
  return p;
}

Selection<float> select(const Problem& p, std::uint64_t seed) {
  attnsel::SequentialAttentionOptions<float> o;
  o.k = 3;
  o.epochs = 30;  // long enough for the two threads to overlap
  o.batch_size = 32;
  o.hidden = {8};
  o.seed = seed;
  return attnsel::SequentialAttentionSelector<float>(o).fit(p.X, p.y);
}

/// A decode of `n` tokens through a budgeted cache; returns every step's output.
template <class Policy>
RowMatrix<double> decode(std::uint64_t seed, Index n, Policy policy) {
  const Index H = 2, d = 8;
  const RowMatrix<double> Q = attnsel_test::normal_matrix<double>(n, H * d, seed),
                          K = attnsel_test::normal_matrix<double>(n, H * d, seed + 1),
                          V = attnsel_test::normal_matrix<double>(n, H * d, seed + 2);
  attnsel::KVCacheOptions ko;
  ko.heads = H;
  ko.head_dim = d;
  ko.budget = 12;
  attnsel::KVCache<double, Policy> cache(ko, policy);
  RowMatrix<double> out(n, H * d);
  for (Index t = 0; t < n; ++t) out.row(t) = cache.decode_step(Q.row(t), K.row(t), V.row(t));
  return out;
}

attnsel::BlockMask prune(const Problem& p, std::uint64_t seed) {
  attnsel::MLPOptions mo;
  mo.hidden = {16};
  mo.seed = seed;
  auto model = attnsel::make_mlp<float>(p.X.cols(), 3, mo);
  attnsel::Adam<float> adam(attnsel::AdamOptions<float>{});
  attnsel::BlockPruning<float, attnsel::Adam<float>> pruning(adam);
  attnsel::PruningOptions<float> po;
  po.sparsity = 0.5;
  po.min_blocks = 0;
  pruning.add(model, 0, attnsel::PruningMethod::sequential_attention_pp, 4, po);
  adam.add_parameters(model.parameters());
  attnsel::TrainOptions<float> t;
  t.epochs = 4;
  t.batch_size = 50;
  t.seed = seed;
  const RowMatrix<float> Y = p.y;
  attnsel::fit(model, attnsel::SoftmaxCrossEntropy<float>{}, adam, p.X, Y, t, pruning);
  return pruning.pruner(0).mask();
}

}  // namespace

TEST_CASE("two selectors on two threads select as they do sequentially", "[concurrency][selection]") {
  const Problem p1 = classes(600, 16, 1, 2, 9), p2 = classes(600, 16, 2, 4, 12);
  const Selection<float> s1 = select(p1, 3), s2 = select(p2, 4);
  const auto [c1, c2] = run_together([&] { return select(p1, 3); }, [&] { return select(p2, 4); });
  CHECK(c1.features == s1.features);
  CHECK(c1.losses == s1.losses);
  CHECK(c1.history == s1.history);
  CHECK(c2.features == s2.features);
  CHECK(c2.losses == s2.losses);
  // The same input shared read-only by both threads.
  const auto [d1, d2] = run_together([&] { return select(p1, 3); }, [&] { return select(p1, 3); });
  CHECK(d1.features == s1.features);
  CHECK(d2.features == s1.features);
  CHECK(d2.losses == s1.losses);
}

TEST_CASE("two OMP runs and two pruned trainings on two threads", "[concurrency][selection][pruning]") {
  RowMatrix<double> X;
  Vector<double> y;
  attnsel_test::planted_regression<double>(400, 60, 5, X, y, 3, 40);
  attnsel::OmpOptions lazy, res;
  lazy.precompute = attnsel::OmpOptions::Precompute::lazy_gram;
  res.precompute = attnsel::OmpOptions::Precompute::residual;
  const auto r1 = attnsel::orthogonal_matching_pursuit(X, y, 8, lazy), r2 = attnsel::orthogonal_matching_pursuit(X, y, 8, res);
  const auto [c1, c2] = run_together([&] { return attnsel::orthogonal_matching_pursuit(X, y, 8, lazy); },
                                     [&] { return attnsel::orthogonal_matching_pursuit(X, y, 8, res); });
  CHECK(c1.features == r1.features);
  CHECK(c1.coef == r1.coef);
  CHECK(c2.features == r2.features);
  CHECK(c2.coef == r2.coef);

  const Problem p = classes(200, 16, 7, 0, 5);
  const attnsel::BlockMask m1 = prune(p, 1), m2 = prune(p, 2);
  const auto [q1, q2] = run_together([&] { return prune(p, 1); }, [&] { return prune(p, 2); });
  CHECK(q1 == m1);
  CHECK(q2 == m2);
}

TEST_CASE("two KV caches decoding on two threads match the sequential decode", "[concurrency][selective]") {
  const RowMatrix<double> a = decode(10, 150, attnsel::evict::SelectiveF{});
  const RowMatrix<double> b = decode(20, 150, attnsel::evict::H2O{});
  const auto [ca, cb] = run_together([&] { return decode(10, 150, attnsel::evict::SelectiveF{}); },
                                     [&] { return decode(20, 150, attnsel::evict::H2O{}); });
  CHECK(ca == a);
  CHECK(cb == b);
  // Both threads with the same policy type (same template instantiation).
  const auto [s1, s2] = run_together([&] { return decode(10, 150, attnsel::evict::SelectiveF{}); },
                                     [&] { return decode(10, 150, attnsel::evict::SelectiveF{}); });
  CHECK(s1 == a);
  CHECK(s2 == a);
  // Selective attention forward passes at once.
  const RowMatrix<float> Q = attnsel_test::normal_matrix<float>(100, 32, 1), K = attnsel_test::normal_matrix<float>(100, 32, 2),
                         V = attnsel_test::normal_matrix<float>(100, 32, 3);
  attnsel::SelectiveAttentionOptions so;
  so.heads = 2;
  const RowMatrix<float> O = attnsel::selective_attention(Q, K, V, so);
  const auto [o1, o2] = run_together([&] { return attnsel::selective_attention(Q, K, V, so); },
                                     [&] { return attnsel::selective_attention(Q, K, V, so); });
  CHECK(o1 == O);
  CHECK(o2 == O);
}
