// KVCache (selective/kv_cache.hpp): decoding equals the prefill kernel with a large budget,
// equals the masked reference under a budget, the eviction rules of the three policies, and bad
// arguments.
#include "../catch_compat.hpp"
#include "selective_reference.hpp"

#include <attnsel/selective/selective.hpp>
#include <attnsel/random.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <thread>
#include <vector>

using attnsel::Index;
using attnsel::KVCache;
using attnsel::KVCacheOptions;
using attnsel::RowMatrix;
namespace evict = attnsel::evict;

namespace {

template <class T>
RowMatrix<T> random_matrix(Index r, Index c, std::uint64_t seed, double sd = 1.0) {
  attnsel::Rng rng(seed);
  RowMatrix<T> m(r, c);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(attnsel::random::normal(rng, 0.0, sd));
  return m;
}

template <class T>
attnsel_test::Heads split(const RowMatrix<T>& packed, Index heads) {
  attnsel_test::Heads out;
  const Index d = packed.cols() / heads;
  for (Index h = 0; h < heads; ++h) out.push_back(packed.middleCols(h * d, d).template cast<double>());
  return out;
}

template <class T>
struct Sequence {
  Index N, H, d;
  RowMatrix<T> Q, K, V;
  Sequence(Index n, Index h, Index dd, std::uint64_t seed, double sd = 1.5)
      : N(n), H(h), d(dd), Q(random_matrix<T>(n, h * dd, seed, sd)), K(random_matrix<T>(n, h * dd, seed + 1, sd)),
        V(random_matrix<T>(n, h * dd, seed + 2)) {}
};

/// Decodes the whole sequence, recording the cached positions seen by every query.
template <class T, class P>
RowMatrix<T> decode_all(KVCache<T, P>& cache, const Sequence<T>& s, std::vector<std::set<Index>>* seen = nullptr,
                        Index* max_size = nullptr) {
  RowMatrix<T> out(s.N, s.Q.cols());
  for (Index t = 0; t < s.N; ++t) {
    out.row(t) = cache.decode_step(s.Q.row(t), s.K.row(t), s.V.row(t));
    if (seen) {
      // what query t attended to: the cache after the step, plus anything a drop removed after it
      const auto pos = cache.positions();
      seen->emplace_back(pos.begin(), pos.end());
    }
    if (max_size) *max_size = std::max(*max_size, cache.size());
  }
  return out;
}

double max_rel(const RowMatrix<double>& a, const RowMatrix<double>& b) {
  return (a - b).cwiseAbs().maxCoeff() / std::max(1e-30, b.cwiseAbs().maxCoeff());
}

template <class T>
RowMatrix<double> reference_packed(const Sequence<T>& s, bool selective, Index sel,
                                   const std::function<bool(Index, Index)>& visible = {}) {
  const auto r = attnsel_test::reference_attention(split(s.Q, s.H), split(s.K, s.H), split(s.V, s.H), selective, sel,
                                                   1.0 / std::sqrt(double(s.d)), visible);
  RowMatrix<double> out(s.N, s.Q.cols());
  for (Index h = 0; h < s.H; ++h) out.middleCols(h * s.d, s.d) = r.out[std::size_t(h)];
  return out;
}

template <class T>
constexpr double tol() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-11;
}

}  // namespace

TEMPLATE_TEST_CASE("KVCache: a budget >= the sequence decodes exactly the prefill output", "[kvcache]", float, double) {
  using T = TestType;
  const Sequence<T> s(150, 3, 16, 7);
  for (bool selective : {true, false}) {
    attnsel::SelectiveAttentionOptions so;
    so.heads = 3;
    so.selective = selective;
    so.selector_head = 1;
    const RowMatrix<T> prefill = attnsel::selective_attention(s.Q, s.K, s.V, so);
    for (Index budget : {Index(0), Index(150), Index(400)}) {
      KVCacheOptions o;
      o.heads = 3;
      o.head_dim = 16;
      o.budget = budget;
      o.selective = selective;
      o.selector_head = 1;
      KVCache<T> cache(o);
      const RowMatrix<T> dec = decode_all(cache, s);
      INFO("selective " << selective << " budget " << budget);
      CHECK(max_rel(dec.template cast<double>(), prefill.template cast<double>()) <= tol<T>());
      CHECK(cache.size() == 150);
      CHECK(cache.evicted() == 0);
      // The cache's own prefill (tiled kernel) leaves the same state: continuing gives the same.
      KVCache<T> cache2(o);
      const RowMatrix<T> pre = cache2.prefill(s.Q.topRows(100), s.K.topRows(100), s.V.topRows(100));
      CHECK(max_rel(pre.template cast<double>(), prefill.topRows(100).template cast<double>()) <= tol<T>());
      for (Index t = 100; t < 150; ++t) {
        const auto row = cache2.decode_step(s.Q.row(t), s.K.row(t), s.V.row(t));
        CHECK(max_rel(row.template cast<double>(), prefill.row(t).template cast<double>()) <= tol<T>());
      }
      const auto f1 = cache.accumulated_f(), f2 = cache2.accumulated_f();
      for (std::size_t i = 0; i < f1.size(); ++i)
        CHECK(std::fabs(double(f1[i] - f2[i])) <= 1e-4 * std::max(1.0, std::fabs(double(f1[i]))));
    }
  }
}

TEMPLATE_TEST_CASE("KVCache: under a budget it equals the reference with the evicted keys masked", "[kvcache]",
                   float, double) {
  using T = TestType;
  const Sequence<T> s(120, 2, 8, 21, 2.0);
  for (Index budget : {Index(2), Index(3), Index(17), Index(64)}) {
    KVCacheOptions o;
    o.heads = 2;
    o.head_dim = 8;
    o.budget = budget;
    KVCache<T> cache(o);
    std::vector<std::set<Index>> seen;
    Index max_size = 0;
    const RowMatrix<T> dec = decode_all(cache, s, &seen, &max_size);
    INFO("budget " << budget);
    CHECK(max_size == budget);  // never more than the budget
    CHECK(cache.evicted() == 120 - budget);
    for (Index t = 0; t < s.N; ++t) {
      CHECK(seen[std::size_t(t)].count(0) == 1);  // BOS never evicted
      CHECK(seen[std::size_t(t)].count(t) == 1);  // nor the newest token
    }
    const auto ref = reference_packed(s, true, 0, [&](Index i, Index j) { return seen[std::size_t(i)].count(j) > 0; });
    CHECK(max_rel(dec.template cast<double>(), ref) <= tol<T>());
    // A tiny budget changes the outputs; evicting only the most-masked tokens barely does
    // (their weights were already multiplied by exp(-F)): the point of the method.
    const double change = max_rel(dec.template cast<double>(), reference_packed(s, true, 0));
    if (budget <= 3) CHECK(change > 1e-2);
    if (budget >= 17) CHECK(change < 1e-4);
  }
}

TEST_CASE("KVCache: SelectiveF evicts the largest F, never BOS, ties to the oldest", "[kvcache]") {
  const Sequence<double> s(80, 2, 6, 31, 2.0);
  KVCacheOptions o;
  o.heads = 2;
  o.head_dim = 6;
  o.budget = 10;
  KVCache<double> cache(o);
  for (Index t = 0; t < s.N; ++t) {
    const auto pos = cache.positions();
    const auto f = cache.accumulated_f();
    cache.decode_step(s.Q.row(t), s.K.row(t), s.V.row(t));
    if (Index(pos.size()) < o.budget) continue;
    // the evicted token: cached before, gone now
    Index gone = -1;
    for (Index p : pos)
      if (!cache.contains(p)) gone = p;
    REQUIRE(gone > 0);
    double best = -1;
    Index expect = -1;
    for (std::size_t i = 0; i < pos.size(); ++i) {
      if (pos[i] == 0) continue;
      if (f[i] > best || (f[i] == best && pos[i] < expect)) {
        best = f[i];
        expect = pos[i];
      }
    }
    CHECK(gone == expect);
  }
}

TEST_CASE("KVCache: with all votes zero SelectiveF keeps BOS and a sliding window", "[kvcache]") {
  // Selector head logits all negative: q_0 = -k_0 direction... use q_0 = 0 so every vote is 0.
  Sequence<double> s(40, 2, 4, 41);
  s.Q.leftCols(4).setZero();
  KVCacheOptions o;
  o.heads = 2;
  o.head_dim = 4;
  o.budget = 5;
  KVCache<double> cache(o);
  for (Index t = 0; t < s.N; ++t) {
    cache.decode_step(s.Q.row(t), s.K.row(t), s.V.row(t));
    auto pos = cache.positions();
    std::sort(pos.begin(), pos.end());
    std::vector<Index> expect{0};
    for (Index p = std::max<Index>(1, t - 3); p <= t; ++p) expect.push_back(p);
    CHECK(pos == expect);
  }
}

TEST_CASE("KVCache: StreamingLLM keeps the sinks and the recent window", "[kvcache]") {
  const Sequence<double> s(50, 2, 4, 51);
  KVCacheOptions o;
  o.heads = 2;
  o.head_dim = 4;
  o.budget = 7;
  o.selective = false;
  KVCache<double, evict::StreamingLLM> cache(o, evict::StreamingLLM{3});
  std::vector<std::set<Index>> seen;
  const RowMatrix<double> dec = decode_all(cache, s, &seen);
  for (Index t = 10; t < s.N; ++t) {
    std::set<Index> expect{0, 1, 2, t - 3, t - 2, t - 1, t};
    CHECK(seen[std::size_t(t)] == expect);
  }
  const auto ref = reference_packed(s, false, 0, [&](Index i, Index j) { return seen[std::size_t(i)].count(j) > 0; });
  CHECK(max_rel(dec, ref) <= 1e-11);
}

TEST_CASE("KVCache: H2O evicts the lowest accumulated attention outside the recent window", "[kvcache]") {
  const Sequence<double> s(60, 2, 4, 61, 2.0);
  KVCacheOptions o;
  o.heads = 2;
  o.head_dim = 4;
  o.budget = 8;
  o.selective = false;
  KVCache<double, evict::H2O> cache(o, evict::H2O{3});
  std::vector<std::set<Index>> seen;
  RowMatrix<double> dec(s.N, s.Q.cols());
  for (Index t = 0; t < s.N; ++t) {
    const auto pos = cache.positions();
    const auto att = cache.accumulated_attention();
    dec.row(t) = cache.decode_step(s.Q.row(t), s.K.row(t), s.V.row(t));
    const auto now = cache.positions();
    seen.emplace_back(now.begin(), now.end());
    if (Index(pos.size()) < o.budget) continue;
    Index gone = -1;
    for (Index p : pos)
      if (!cache.contains(p)) gone = p;
    double best = std::numeric_limits<double>::infinity();
    Index expect = -1;
    for (std::size_t i = 0; i < pos.size(); ++i) {
      if (pos[i] >= t - 3) continue;  // recent window
      if (att[i] < best || (att[i] == best && pos[i] < expect)) {
        best = att[i];
        expect = pos[i];
      }
    }
    CHECK(gone == expect);
  }
  const auto ref = reference_packed(s, false, 0, [&](Index i, Index j) { return seen[std::size_t(i)].count(j) > 0; });
  CHECK(max_rel(dec, ref) <= 1e-11);
}

TEST_CASE("KVCache: an F threshold drops masked tokens and matches the masked reference", "[kvcache]") {
  const Sequence<double> s(90, 2, 6, 71, 2.0);
  KVCacheOptions o;
  o.heads = 2;
  o.head_dim = 6;
  const double tau = 3.0;
  KVCache<double> cache(o, evict::SelectiveF{tau});
  // What query t attends to is the cache *before* the drops that follow its step, so record the
  // positions right after appending: the cache after step t-1 plus t.
  std::vector<std::set<Index>> seen;
  RowMatrix<double> dec(s.N, s.Q.cols());
  std::set<Index> before;
  for (Index t = 0; t < s.N; ++t) {
    std::set<Index> visible = before;
    visible.insert(t);
    seen.push_back(visible);
    dec.row(t) = cache.decode_step(s.Q.row(t), s.K.row(t), s.V.row(t));
    const auto pos = cache.positions();
    const auto f = cache.accumulated_f();
    before = std::set<Index>(pos.begin(), pos.end());
    for (std::size_t i = 0; i < pos.size(); ++i)
      if (pos[i] != 0 && pos[i] != t) CHECK(f[i] <= tau);
  }
  CHECK(cache.evicted() > 20);  // the threshold bites
  CHECK(cache.contains(0));
  const auto ref = reference_packed(s, true, 0, [&](Index i, Index j) { return seen[std::size_t(i)].count(j) > 0; });
  CHECK(max_rel(dec, ref) <= 1e-11);
}

TEST_CASE("KVCache: two caches on two threads give the sequential results", "[kvcache][threads]") {
  const Sequence<float> a(200, 4, 16, 81), b(200, 4, 16, 91);
  KVCacheOptions o;
  o.heads = 4;
  o.head_dim = 16;
  o.budget = 32;
  KVCache<float> ca(o), cb(o);
  const RowMatrix<float> seq_a = decode_all(ca, a), seq_b = decode_all(cb, b);
  KVCache<float> pa(o), pb(o);
  RowMatrix<float> par_a, par_b;
  std::thread ta([&] { par_a = decode_all(pa, a); });
  std::thread tb([&] { par_b = decode_all(pb, b); });
  ta.join();
  tb.join();
  CHECK(par_a == seq_a);
  CHECK(par_b == seq_b);
  CHECK(pa.positions() == ca.positions());
}

TEST_CASE("KVCache: bad arguments", "[kvcache][errors]") {
  KVCacheOptions o;
  o.heads = 2;
  o.head_dim = 4;
  SECTION("options") {
    auto bad = o;
    bad.budget = 1;
    ATTNSEL_CHECK_INVALID(KVCache<float>{bad}, "budget", "1", ">= 2");
    bad = o;
    bad.budget = -3;
    ATTNSEL_CHECK_INVALID(KVCache<float>{bad}, "budget", "-3");
    bad = o;
    bad.selector_head = 2;
    ATTNSEL_CHECK_INVALID(KVCache<float>{bad}, "selector_head", "2", "[0, 2)");
    bad = o;
    bad.head_dim = 0;
    ATTNSEL_CHECK_INVALID(KVCache<float>{bad}, "head_dim", "0");
    bad = o;
    bad.heads = 0;
    ATTNSEL_CHECK_INVALID(KVCache<float>{bad}, "heads", "0");
    bad = o;
    bad.scale = -2;
    ATTNSEL_CHECK_INVALID(KVCache<float>{bad}, "scale", "-2");
  }
  SECTION("steps") {
    KVCache<float> cache(o);
    const Eigen::VectorXf ok = Eigen::VectorXf::Ones(8);
    ATTNSEL_CHECK_INVALID(cache.decode_step(Eigen::VectorXf::Ones(7), ok, ok), "q", "7", "8");
    ATTNSEL_CHECK_INVALID(cache.decode_step(ok, Eigen::VectorXf::Ones(9), ok), "k", "9", "8");
    ATTNSEL_CHECK_INVALID(cache.decode_step(ok, ok, Eigen::VectorXf::Ones(3)), "v", "3", "8");
    Eigen::VectorXf nan = ok;
    nan(5) = std::numeric_limits<float>::quiet_NaN();
    ATTNSEL_CHECK_INVALID(cache.decode_step(ok, nan, ok), "k", "non-finite", "index 5");
    CHECK(cache.size() == 0);  // nothing was appended by the failed steps
    const RowMatrix<float> M = RowMatrix<float>::Ones(3, 8);
    ATTNSEL_CHECK_INVALID(cache.prefill(M, M.topRows(2), M), "same number of rows", "2");
    ATTNSEL_CHECK_INVALID(cache.prefill(M.leftCols(6), M.leftCols(6), M), "heads x head_dim", "6");
    const auto row = cache.decode_step(ok, ok, ok);  // a good step still works
    CHECK(row.size() == 8);
    CHECK(cache.size() == 1);
  }
}
