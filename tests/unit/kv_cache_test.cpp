// KVCache (selective/kv_cache.hpp): decoding equals the prefill kernel with a large budget,
// equals the masked reference under a budget, the eviction rules of the five policies (against
// an independent transcription of each rule, for every budget 2..9), a user's own policy, and
// bad arguments.
#include "../catch_compat.hpp"
#include "selective_reference.hpp"

#include <attnsel/selective/selective.hpp>
#include <attnsel/random.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <string>
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
      CHECK(seen[std::size_t(t)].count(t) == 1);                 // the newest token is never evicted
      if (t > 0) CHECK(seen[std::size_t(t)].count(t - 1) == 1);  // nor the previous one (F = 0 on it)
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

TEST_CASE("KVCache: SelectiveF evicts the largest F, BOS included, ties to the oldest", "[kvcache]") {
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
    REQUIRE(gone >= 0);
    double best = -1;
    Index expect = -1;
    for (std::size_t i = 0; i < pos.size(); ++i) {
      if (f[i] > best || (f[i] == best && pos[i] < expect)) {
        best = f[i];
        expect = pos[i];
      }
    }
    CHECK(gone == expect);
  }
}

TEST_CASE("KVCache: with all votes zero SelectiveF keeps a sliding window, BOS going first", "[kvcache]") {
  // q_0 = 0, so every vote of the selector head is 0: all F tie at 0 and go to the oldest.
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
    std::vector<Index> expect;
    for (Index p = std::max<Index>(0, t - 4); p <= t; ++p) expect.push_back(p);
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

namespace {

/// One eviction rule and its options, for the transcription test below.
struct RuleCase {
  enum Kind { selective, h2o, streaming, tova, knorm };
  Kind kind;
  Index option = 0;  // H2O's recent, StreamingLLM's sinks
  double threshold = std::numeric_limits<double>::infinity();  // SelectiveF's
  const char* label = "";
  double share = 0.5;  // H2O's recent_share (when option is 0)
};

/// What the rules keep, written from their documentation as a plain simulation over positions,
/// with every score from a dense double computation over the sequence (not the cache's code).
struct ReferenceRun {
  std::vector<std::vector<Index>> kept;          // positions after each step, ascending
  std::vector<std::map<Index, double>> last;     // attention of each step's query, mean over heads
  std::vector<std::map<Index, double>> summed;   // attention received so far, summed over heads
  std::vector<double> norm;                      // (1/H) Σ_h ‖k_h‖ of every position
};

ReferenceRun simulate(const Sequence<double>& s, bool selective, Index sel, Index budget, const RuleCase& rule) {
  const Index H = s.H, d = s.d;
  const double scale = 1.0 / std::sqrt(double(d));
  auto logit = [&](Index h, Index i, Index j) {
    double x = 0;
    for (Index c = 0; c < d; ++c) x += s.Q(i, h * d + c) * s.K(j, h * d + c);
    return scale * x;
  };
  // F as query t sees key j: the votes of the queries strictly between them; BOS gets none.
  auto F = [&](Index t, Index j) {
    double f = 0;
    if (!selective || j == 0) return f;
    for (Index k = j + 1; k < t; ++k) f += std::max(0.0, logit(sel, k, j));
    return f;
  };
  ReferenceRun r;
  for (Index j = 0; j < s.N; ++j) {
    double n = 0;
    for (Index h = 0; h < H; ++h) n += s.K.row(j).segment(h * d, d).norm();
    r.norm.push_back(n / double(H));
  }
  std::vector<Index> kept;  // ascending: the first of equals found is the oldest
  std::map<Index, double> summed, last;
  for (Index t = 0; t < s.N; ++t) {
    if (budget > 0 && Index(kept.size()) >= budget) {
      Index v = -1;
      switch (rule.kind) {
        case RuleCase::selective:  // the largest F
          for (Index j : kept)
            if (v < 0 || F(t, j) > F(t, v)) v = j;
          break;
        case RuleCase::h2o: {  // the lowest summed attention older than the window, else the oldest
          const Index w = rule.option > 0 ? rule.option : std::max<Index>(1, Index(std::floor(rule.share * double(budget))));
          for (Index j : kept)
            if (j < t - w && (v < 0 || summed[j] < summed[v])) v = j;
          if (v < 0) v = kept.front();
          break;
        }
        case RuleCase::streaming: {  // the oldest after the first min(sinks, budget - 2)
          const Index m = std::max<Index>(0, std::min(rule.option, budget - 2));
          for (Index j : kept)
            if (j >= m) {
              v = j;
              break;
            }
          break;
        }
        case RuleCase::tova:  // the lowest attention from the last query
          for (Index j : kept)
            if (v < 0 || last[j] < last[v]) v = j;
          break;
        case RuleCase::knorm:  // the largest key norm
          for (Index j : kept)
            if (v < 0 || r.norm[std::size_t(j)] > r.norm[std::size_t(v)]) v = j;
          break;
      }
      kept.erase(std::find(kept.begin(), kept.end(), v));
    }
    kept.push_back(t);
    last.clear();
    for (Index h = 0; h < H; ++h) {
      std::vector<double> z;
      for (Index j : kept) z.push_back(logit(h, t, j) - F(t, j));
      const double mx = *std::max_element(z.begin(), z.end());
      double sum = 0;
      for (double x : z) sum += std::exp(x - mx);
      for (std::size_t i = 0; i < kept.size(); ++i) {
        const double p = std::exp(z[i] - mx) / sum;
        summed[kept[i]] += p;
        last[kept[i]] += p / double(H);
      }
    }
    if (rule.kind == RuleCase::selective && std::isfinite(rule.threshold))  // drops, never the newest
      kept.erase(std::remove_if(kept.begin(), kept.end(), [&](Index j) { return j != t && F(t + 1, j) > rule.threshold; }),
                 kept.end());
    r.kept.push_back(kept);
    r.last.push_back(last);
    r.summed.push_back(summed);
  }
  return r;
}

/// Empty when the cache's state after step t is the reference's; otherwise what differs. The
/// summed attention is compared when `summed_too` (a tiled prefill does not accumulate it).
template <class P>
std::string compare_state(const KVCache<double, P>& cache, const ReferenceRun& ref, Index t, bool summed_too = true) {
  std::ostringstream diff;
  const auto pos = cache.positions();
  std::vector<Index> sorted = pos;
  std::sort(sorted.begin(), sorted.end());
  const auto& want = ref.kept[std::size_t(t)];
  if (sorted != want) {
    diff << "after step " << t << " the cache holds {";
    for (Index p : sorted) diff << ' ' << p;
    diff << " }, the rule keeps {";
    for (Index p : want) diff << ' ' << p;
    diff << " }";
    return diff.str();
  }
  const auto last = cache.last_attention(), norm = cache.key_norms(), summed = cache.accumulated_attention();
  for (std::size_t i = 0; i < pos.size(); ++i) {
    const Index p = pos[i];
    const auto l = ref.last[std::size_t(t)].find(p);
    if (l == ref.last[std::size_t(t)].end() || std::fabs(last[i] - l->second) > 1e-12)
      diff << "last attention of position " << p << " after step " << t << "; ";
    if (std::fabs(norm[i] - ref.norm[std::size_t(p)]) > 1e-12) diff << "key norm of position " << p << "; ";
    if (summed_too && std::fabs(summed[i] - ref.summed[std::size_t(t)].at(p)) > 1e-11)
      diff << "summed attention of position " << p << " after step " << t << "; ";
  }
  return diff.str();
}

}  // namespace

TEST_CASE("KVCache: every policy keeps exactly what its rule says, budgets 2..9 (an independent transcription)",
          "[kvcache][policies]") {
  const Sequence<double> s(40, 2, 4, 101);
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<RuleCase> rules = {
      {RuleCase::selective, 0, inf, "SelectiveF"},      {RuleCase::selective, 0, 2.0, "SelectiveF, threshold 2"},
      {RuleCase::h2o, 0, inf, "H2O, recent budget / 2"}, {RuleCase::h2o, 1, inf, "H2O, recent 1"},
      {RuleCase::h2o, 3, inf, "H2O, recent 3"},         {RuleCase::streaming, 0, inf, "StreamingLLM, 0 sinks"},
      {RuleCase::streaming, 1, inf, "StreamingLLM, 1 sink"}, {RuleCase::streaming, 4, inf, "StreamingLLM, 4 sinks"},
      {RuleCase::tova, 0, inf, "TOVA"},                 {RuleCase::knorm, 0, inf, "KNorm"},
      {RuleCase::h2o, 0, inf, "H2O, recent a quarter of the budget", 0.25},
      {RuleCase::h2o, 0, inf, "H2O, recent the whole budget", 1.0}};
  Index bos_evicted = 0;
  for (bool selective : {true, false})
    for (const RuleCase& rule : rules)
      for (Index b = 2; b <= 9; ++b) {
        INFO(rule.label << ", budget " << b << (selective ? ", selective" : ", plain attention"));
        const ReferenceRun ref = simulate(s, selective, 1, b, rule);
        if (rule.kind == RuleCase::streaming) {  // the documented closed form of the kept set
          const Index m = std::min(rule.option, b - 2);
          for (Index t = 0; t < s.N; ++t) {
            std::vector<Index> expect;
            for (Index p = 0; p <= t; ++p)
              if (p < m || p > t - (b - m)) expect.push_back(p);
            CHECK(ref.kept[std::size_t(t)] == expect);
          }
        }
        KVCacheOptions o;
        o.heads = s.H;
        o.head_dim = s.d;
        o.budget = b;
        o.selective = selective;
        o.selector_head = 1;
        auto run = [&](auto policy) {
          using P = decltype(policy);
          KVCache<double, P> cache(o, policy);
          RowMatrix<double> out(s.N, s.H * s.d);
          std::string first;
          for (Index t = 0; t < s.N; ++t) {
            out.row(t) = cache.decode_step(s.Q.row(t), s.K.row(t), s.V.row(t));
            if (first.empty()) first = compare_state(cache, ref, t);
            // the previous token survives every step under the rules that promise it
            const bool keeps_previous = rule.kind == RuleCase::streaming || rule.kind == RuleCase::h2o ||
                                        (rule.kind == RuleCase::selective && !std::isfinite(rule.threshold));
            if (keeps_previous && t > 0 && !cache.contains(t - 1) && first.empty())
              first = "position " + std::to_string(t - 1) + " evicted at step " + std::to_string(t);
            if (!cache.contains(0) && t == s.N - 1) ++bos_evicted;
          }
          CHECK(first == "");
          if (!policy.needs_steps()) {  // the tiled prefill leaves the same state
            KVCache<double, P> pre(o, policy);
            const RowMatrix<double> all = pre.prefill(s.Q, s.K, s.V);
            CHECK(compare_state(pre, ref, s.N - 1, false) == "");
            CHECK(max_rel(all, out) <= 1e-12);
          }
        };
        switch (rule.kind) {
          case RuleCase::selective: run(evict::SelectiveF{rule.threshold}); break;
          case RuleCase::h2o: run(evict::H2O{rule.option, rule.share}); break;
          case RuleCase::streaming: run(evict::StreamingLLM{rule.option}); break;
          case RuleCase::tova: run(evict::TOVA{}); break;
          case RuleCase::knorm: run(evict::KNorm{}); break;
        }
      }
  CHECK(bos_evicted > 0);  // BOS is an ordinary token: the rules do evict it
}

namespace {

/// A user's own policy: only `victim` (no needs_steps, check or drop). It evicts the oldest odd
/// position (the oldest token when none is cached) and records the scores the cache shows it.
struct OddFirst {
  std::vector<double>* shown = nullptr;  // Σ last_attention + Σ key_norm of each state it saw
  template <class T>
  Index victim(const attnsel::CacheState<T>& s) const {
    Index v = -1;
    for (Index i = 0; i < s.size; ++i)
      if (s.positions[i] % 2 == 1 && (v < 0 || s.positions[i] < s.positions[v])) v = i;
    if (v < 0)
      for (Index i = 0; i < s.size; ++i)
        if (v < 0 || s.positions[i] < s.positions[v]) v = i;
    double sum = 0;
    for (Index i = 0; i < s.size; ++i) sum += double(s.last_attention[i]) + double(s.key_norm[i]);
    if (shown) shown->push_back(sum);
    return v;
  }
};

/// A user's policy with a drop rule: every position divisible by 3 goes after its step.
struct DropThirds {
  template <class T>
  Index victim(const attnsel::CacheState<T>&) const {
    return 0;
  }
  template <class T>
  bool drop(const attnsel::CacheState<T>& s, Index slot) const {
    return s.positions[slot] % 3 == 0;
  }
};

}  // namespace

TEST_CASE("KVCache: a user's own policy type works, with victim only and with victim and drop", "[kvcache][policies]") {
  const Sequence<double> s(30, 2, 4, 111);
  KVCacheOptions o;
  o.heads = 2;
  o.head_dim = 4;
  o.budget = 6;
  std::vector<double> shown;
  KVCache<double, OddFirst> cache(o, OddFirst{&shown});
  std::vector<Index> kept;
  std::vector<double> expect_shown;
  for (Index t = 0; t < s.N; ++t) {
    if (Index(kept.size()) >= o.budget) {
      auto odd = std::find_if(kept.begin(), kept.end(), [](Index p) { return p % 2 == 1; });
      kept.erase(odd != kept.end() ? odd : kept.begin());
      double sum = 0;
      for (double x : cache.last_attention()) sum += x;
      for (double x : cache.key_norms()) sum += x;
      expect_shown.push_back(sum);
    }
    kept.push_back(t);
    cache.decode_step(s.Q.row(t), s.K.row(t), s.V.row(t));
    auto pos = cache.positions();
    std::sort(pos.begin(), pos.end());
    CHECK(pos == kept);
  }
  REQUIRE(shown.size() == expect_shown.size());
  for (std::size_t i = 0; i < shown.size(); ++i) CHECK(shown[i] == Approx(expect_shown[i]).epsilon(1e-12));
  // No needs_steps(): prefill decodes step by step, to the same state.
  KVCache<double, OddFirst> pre(o);
  pre.prefill(s.Q, s.K, s.V);
  CHECK(pre.positions() == cache.positions());

  o.budget = 0;
  KVCache<double, DropThirds> thirds(o);
  for (Index t = 0; t < s.N; ++t) {
    thirds.decode_step(s.Q.row(t), s.K.row(t), s.V.row(t));
    std::vector<Index> expect;
    for (Index p = 0; p <= t; ++p)
      if (p % 3 != 0 || p == t) expect.push_back(p);  // never the newest
    auto pos = thirds.positions();
    std::sort(pos.begin(), pos.end());
    CHECK(pos == expect);
  }
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
      if (pos[i] != t) CHECK(f[i] <= tau);  // every token but the newest, BOS by the same rule
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
