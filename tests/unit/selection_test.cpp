// Feature selection: the attention mask module's schedule and gradient, the Sequential Attention
// selector on planted problems, OMP against scikit-learn's fixture, the Lasso path, baselines.
#include "../catch_compat.hpp"
#include "gradcheck.hpp"

#include <attnsel/attnsel.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace attnsel;
using M = RowMatrix<double>;

namespace {

/// τ values of a training run with `steps` steps.
std::vector<double> taus(int steps) {
  std::vector<double> t;
  for (int s = 0; s < steps; ++s) t.push_back(double(s) / steps);
  return t;
}

/// The step at which each round fired.
std::vector<int> firing_steps(AttentionMask<double>& m, int steps) {
  std::vector<int> at;
  Index rounds = 0;
  for (int s = 0; s < steps; ++s) {
    m.update(double(s) / steps);
    if (m.rounds() > rounds) {
      at.push_back(s);
      rounds = m.rounds();
    }
  }
  return at;
}

}  // namespace

TEST_CASE("attention mask: warm-up, weights, reference and end-of-phase schedules", "[selection][mask]") {
  AttentionMaskOptions o;
  o.k = 4;
  o.timing = MaskTiming::reference;
  AttentionMask<double> ref(10, o);
  ref.update(0.05);
  CHECK(ref.in_warmup());
  CHECK(ref.weights().isOnes());
  // 100 steps, start 0.1: phases of 22.5 steps; reference rounds at steps 10, 33, 55, 78.
  AttentionMask<double> r2(10, o);
  CHECK(firing_steps(r2, 100) == std::vector<int>{10, 33, 55, 78});
  CHECK(r2.selected().size() == 4);
  r2.finish();
  CHECK(r2.selected().size() == 4);
  // End of phase: rounds 0..2 one phase later, the last in finish().
  o.timing = MaskTiming::end_of_phase;
  AttentionMask<double> e(10, o);
  CHECK(firing_steps(e, 100) == std::vector<int>{33, 55, 78});
  e.finish();
  CHECK(e.selected().size() == 4);
  // After the warm-up: selected features weigh exactly 1, the rest share a softmax summing to 1.
  e.update(0.5);
  const M a = e.weights();
  double rest = 0;
  for (Index j = 0; j < 10; ++j) {
    if (e.selected_mask()(0, j) == 1.0) CHECK(a(0, j) == 1.0);
    else rest += a(0, j);
  }
  CHECK(std::fabs(rest - 1.0) < 1e-12);
}

TEST_CASE("attention mask: the largest logits are picked, ties by lowest index, logits re-drawn", "[selection][mask]") {
  AttentionMaskOptions o;
  o.k = 2;
  o.timing = MaskTiming::reference;
  o.start = 0.0;
  AttentionMask<double> m(6, o);
  m.logits().value << 0.1, 0.9, 0.3, 0.9, -1.0, 0.0;
  m.update(0.0);  // round 0 fires at once
  REQUIRE(m.selected() == std::vector<Index>{1});
  CHECK(m.history().front()[3] == 0.9);
  CHECK(std::fabs(m.logits().value(0, 1)) < 1e-3);  // re-drawn ~ N(0, 1e-10)
  m.logits().value << 0.0, 5.0, 0.2, 0.1, -1.0, 0.0;  // feature 1 is already selected
  m.update(0.6);
  CHECK(m.selected() == std::vector<Index>{1, 2});
  // Same seed, same logit draws.
  AttentionMask<double> a(6, o), b(6, o);
  CHECK(a.logits().value == b.logits().value);
}

TEST_CASE("attention mask: per_round > 1, reference round count vs the fix", "[selection][mask]") {
  AttentionMaskOptions o;
  o.k = 50;
  o.per_round = 5;
  o.timing = MaskTiming::reference;
  o.round_count = MaskRoundCount::reference;
  AttentionMask<double> ref(200, o);
  for (double t : taus(1000)) ref.update(t);
  CHECK(ref.selected().size() == 10);  // the reference code's bug: rounds at idx 0 and 5 only
  ref.finish();
  CHECK(ref.selected().size() == 50);
  o.round_count = MaskRoundCount::fixed;
  AttentionMask<double> fixed(200, o);
  for (double t : taus(1000)) fixed.update(t);
  CHECK(fixed.selected().size() == 50);
  CHECK(fixed.rounds() == 10);
  std::set<Index> distinct(fixed.selected().begin(), fixed.selected().end());
  CHECK(distinct.size() == 50);
}

TEST_CASE("attention mask: gradient w.r.t. the logits (finite differences)", "[selection][mask][gradcheck]") {
  AttentionMaskOptions o;
  o.k = 3;
  o.start = 0.0;
  o.timing = MaskTiming::reference;
  AttentionMask<double> m(7, o);
  m.update(0.0);  // one feature selected
  Rng rng(4);
  m.logits().value = gradcheck::random_away_from_zero(1, 7, rng);
  const M R = gradcheck::random_away_from_zero(1, 7, rng);  // L = sum(a ⊙ R)
  auto f = [&] {
    // recompute a for the current logits without firing rounds
    RowMatrix<double> a(1, 7);
    simd::masked_softmax(m.logits().value.data(), (RowMatrix<double>::Ones(1, 7) - m.selected_mask()).eval().data(),
                         a.data(), 7);
    a += m.selected_mask();
    return a.cwiseProduct(R).sum();
  };
  m.update(0.0);  // refresh a with the new logits (no round is due)
  REQUIRE(m.rounds() == 1);
  m.backward(R);
  const M analytic = m.logits().grad;
  CHECK(gradcheck::rel_error(gradcheck::numeric(m.logits().value, f), analytic) <= 1e-6);
  CHECK(analytic(0, m.selected()[0]) == 0.0);
  AttentionMaskOptions wo;
  wo.k = 3;
  AttentionMask<double> w(7, wo);
  w.update(0.0);  // warm-up: no gradient
  w.backward(R);
  CHECK(w.logits().grad.isZero());
}

TEST_CASE("attention mask: bad options", "[selection][mask][errors]") {
  AttentionMaskOptions o;
  o.k = 0;
  ATTNSEL_CHECK_INVALID(AttentionMask<double>(5, o), "'k' is 0", "[1, 5]");
  o.k = 6;
  ATTNSEL_CHECK_INVALID(AttentionMask<double>(5, o), "'k' is 6");
  o.k = 4;
  o.per_round = 3;
  ATTNSEL_CHECK_INVALID(AttentionMask<double>(5, o), "'per_round' is 3", "divisor of k = 4");
  o.per_round = 1;
  o.start = 0.5;
  o.stop = 0.4;
  ATTNSEL_CHECK_INVALID(AttentionMask<double>(5, o), "'start' and 'stop'");
}

namespace {

/// n x d standard normal features; the class depends on features 0..3 only.
Dataset<float> planted_classification(Index n, Index d, std::uint64_t seed) {
  Rng rng(seed);
  Dataset<float> ds;
  ds.X.resize(n, d);
  ds.y.resize(n);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < d; ++j) ds.X(i, j) = float(random::normal(rng));
    const double s = 2 * ds.X(i, 0) - 1.5 * ds.X(i, 1) + ds.X(i, 2) * ds.X(i, 3);
    ds.y(i) = s > 0.3 ? 2.0f : (s < -0.3 ? 0.0f : 1.0f);
  }
  ds.classes = {"a", "b", "c"};
  return ds;
}

}  // namespace

TEST_CASE("Sequential Attention finds planted features and is deterministic for a seed", "[selection][sa]") {
  const Dataset<float> ds = planted_classification(1500, 20, 3);
  SequentialAttentionOptions<float> o;
  o.k = 4;
  o.epochs = 40;
  o.batch_size = 64;
  o.hidden = {16};
  o.seed = 7;
  SequentialAttentionSelector<float> sa(o);
  const Selection<float> s1 = sa.fit(ds.X, ds.y);
  const Selection<float> s2 = SequentialAttentionSelector<float>(o).fit(ds.X, ds.y);
  std::set<Index> got(s1.features.begin(), s1.features.end());
  INFO("selected " << s1.features[0] << " " << s1.features[1] << " " << s1.features[2] << " " << s1.features[3]);
  // The two strong main effects first, in order, then at least one of the interacting pair:
  // a random pick of 4 of 20 does that with probability 1/380 · 33/153 ≈ 0.06 % (the check was
  // "0 and 1 among the 4": 3 %). Option seeds 1..8 all pick 0, 1 first; 7 of 8 all four.
  CHECK(std::vector<Index>(s1.features.begin(), s1.features.begin() + 2) == std::vector<Index>{0, 1});
  CHECK(std::count_if(got.begin(), got.end(), [](Index j) { return j < 4; }) >= 3);
  CHECK(s1.features == s2.features);
  CHECK(s1.history == s2.history);
  CHECK(s1.history.size() == 4);
  CHECK(s1.losses.size() == 40);
  CHECK(s1.losses.back() < s1.losses.front());
  const RowMatrix<float> Xs = sa.transform(ds.X);
  CHECK(Xs.cols() == 4);
  CHECK(Xs.col(2) == ds.X.col(s1.features[2]));
}

TEST_CASE("Sequential Attention for regression", "[selection][sa]") {
  Rng rng(5);
  const Index n = 800, d = 15;
  RowMatrix<float> X(n, d);
  Vector<float> y(n);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < d; ++j) X(i, j) = float(random::normal(rng));
    y(i) = 3 * X(i, 4) - 2 * X(i, 9) + 0.1f * float(random::normal(rng));
  }
  SequentialAttentionOptions<float> o;
  o.k = 2;
  o.task = Task::regression;
  o.epochs = 30;
  o.batch_size = 64;
  o.hidden = {8};
  o.learning_rate = 0.01f;  // unscaled targets: the default 1e-3 trains too slowly in 360 steps
  const Selection<float> s = SequentialAttentionSelector<float>(o).fit(X, y);
  std::set<Index> got(s.features.begin(), s.features.end());
  CHECK(got == std::set<Index>{4, 9});
}

TEST_CASE("Sequential Attention rejects bad input", "[selection][sa][errors]") {
  const Dataset<float> ds = planted_classification(50, 6, 1);
  SequentialAttentionOptions<float> o;
  o.k = 7;
  ATTNSEL_CHECK_INVALID(SequentialAttentionSelector<float>(o).fit(ds.X, ds.y), "'k' is 7", "[1, 6]");
  o.k = 0;
  ATTNSEL_CHECK_INVALID(SequentialAttentionSelector<float>(o).fit(ds.X, ds.y), "'k' is 0");
  o.k = 2;
  RowMatrix<float> bad = ds.X;
  bad(3, 1) = std::numeric_limits<float>::quiet_NaN();
  ATTNSEL_CHECK_INVALID(SequentialAttentionSelector<float>(o).fit(bad, ds.y), "'X' holds nan at (3, 1)");
  Vector<float> yb = ds.y;
  yb(4) = 0.5f;
  ATTNSEL_CHECK_INVALID(SequentialAttentionSelector<float>(o).fit(ds.X, yb), "'y' holds 0.5 at index 4");
  ATTNSEL_CHECK_INVALID(SequentialAttentionSelector<float>(o).fit(ds.X, Vector<float>(Vector<float>::Zero(49))),
                        "'y' has 49 values", "expected 50");
  ATTNSEL_CHECK_INVALID(SequentialAttentionSelector<float>(o).transform(ds.X), "call fit first");
}

namespace {

struct OmpFixture {
  Eigen::MatrixXd X;
  Eigen::VectorXd y;
  struct Case {
    Index k;
    bool fit_intercept;
    std::vector<Index> order;
    std::vector<double> coef;
    double intercept;
  };
  std::vector<Case> cases;
};

// A committed scikit-learn fixture: the problem (X, y) from `problem` and the expected results'
// non-comment lines from `expected` (tests/fixtures/).
std::vector<std::string> read_fixture(const char* problem, const char* expected, Eigen::MatrixXd& X, Eigen::VectorXd& y) {
  const std::string dir = ATTNSEL_FIXTURE_DIR;
  CsvOptions co;
  co.task = Task::regression;
  const Dataset<double> p = read_csv<double>(dir + "/" + problem, co);
  X = p.X;
  y = p.y;
  std::ifstream in(dir + "/" + expected);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') lines.push_back(line);
  return lines;
}

OmpFixture load_fixture() {
  OmpFixture f;
  const std::vector<std::string> lines = read_fixture("omp_problem.csv", "omp_expected.txt", f.X, f.y);
  for (std::size_t i = 0; i + 3 < lines.size(); i += 4) {
    OmpFixture::Case c;
    int fi = 0;
    std::istringstream(lines[i]) >> c.k >> fi;
    c.fit_intercept = fi != 0;
    std::istringstream o(lines[i + 1]), w(lines[i + 2]);
    for (Index v; o >> v;) c.order.push_back(v);
    for (double v; w >> v;) c.coef.push_back(v);
    c.intercept = std::stod(lines[i + 3]);
    f.cases.push_back(c);
  }
  return f;
}

}  // namespace

TEST_CASE("OMP selects what scikit-learn selects, with the same coefficients", "[selection][omp]") {
  const OmpFixture f = load_fixture();
  REQUIRE(f.cases.size() == 2);
  using P = OmpOptions::Precompute;
  // lazy_gram twice: the default first batch, and a first batch of 1 column (a miss every round)
  const std::vector<std::pair<P, Index>> runs = {
      {P::gram, 0}, {P::residual, 0}, {P::lazy_gram, 0}, {P::lazy_gram, 1}, {P::automatic, 0}};
  for (const auto& c : f.cases) {
    for (const auto& [pre, batch] : runs) {
      INFO("fit_intercept " << c.fit_intercept << ", precompute " << int(pre) << ", gram_batch " << batch);
      OmpOptions o;
      o.fit_intercept = c.fit_intercept;
      o.precompute = pre;
      o.gram_batch = batch;
      const OmpResult<double> r = orthogonal_matching_pursuit(f.X, f.y, c.k, o);
      CHECK(r.features == c.order);
      for (Index j = 0; j < f.X.cols(); ++j) CHECK(std::fabs(r.coef(j) - c.coef[std::size_t(j)]) <= 1e-9 * (1 + std::fabs(c.coef[std::size_t(j)])));
      CHECK(std::fabs(r.intercept - c.intercept) <= 1e-9 * (1 + std::fabs(c.intercept)));
      CHECK(r.losses.size() == std::size_t(c.k));
      CHECK(std::is_sorted(r.losses.rbegin(), r.losses.rend()));  // residual norms decrease
    }
  }
  // float gives the same selection on this well-conditioned problem
  const OmpResult<float> rf = orthogonal_matching_pursuit(f.X.cast<float>().eval(), f.y.cast<float>().eval(), 8);
  CHECK(rf.features == f.cases[0].order);
}

TEST_CASE("OMP recovers a planted support, stops on linear dependence, rejects bad input", "[selection][omp]") {
  Rng rng(9);
  const Index n = 200, d = 40;
  Eigen::MatrixXd X(n, d);
  for (Index i = 0; i < X.size(); ++i) X.data()[i] = random::normal(rng);
  Eigen::VectorXd w = Eigen::VectorXd::Zero(d);
  w(3) = 5;
  w(17) = -4;
  w(30) = 3;
  const Eigen::VectorXd y = X * w;
  const OmpResult<double> r = orthogonal_matching_pursuit(X, y, 3);
  CHECK(r.features == std::vector<Index>{3, 17, 30});
  CHECK((r.coef - w).cwiseAbs().maxCoeff() < 1e-10);
  CHECK(r.losses.back() < 1e-6 * y.norm());  // the Gram variant's norm formula cancels to ~sqrt(eps)
  // Duplicated column: OMP stops instead of selecting a dependent column.
  Eigen::MatrixXd D(50, 3);
  for (Index i = 0; i < 50; ++i) {
    D(i, 0) = random::normal(rng);
    D(i, 1) = 2 * D(i, 0);
    D(i, 2) = 0;
  }
  const OmpResult<double> dep = orthogonal_matching_pursuit(D, D.col(0).eval(), 3);
  CHECK(dep.stopped_early);
  CHECK(dep.features.size() == 1);
  ATTNSEL_CHECK_INVALID(orthogonal_matching_pursuit(X, y, 0), "'k' is 0");
  ATTNSEL_CHECK_INVALID(orthogonal_matching_pursuit(X, y, 41), "'k' is 41", "[1, 40]");
  ATTNSEL_CHECK_INVALID(orthogonal_matching_pursuit(X, y.head(10).eval(), 2), "'y' has 10 values");
  Eigen::MatrixXd bad = X;
  bad(0, 0) = std::numeric_limits<double>::infinity();
  ATTNSEL_CHECK_INVALID(orthogonal_matching_pursuit(bad, y, 2), "'X' holds NaN or inf");
}

namespace {

/// A planted regression problem for the OMP variant tests. kind 0: iid gaussian columns;
/// 1: coherent columns (each 0.8·previous + 0.6·fresh noise); 2: near ties, column j+1 = column j
/// + 1e-7·noise for even j (double resolves the pair's correlations, float cannot); 3: exact
/// duplicates, column j+1 = column j for even j.
std::pair<Eigen::MatrixXd, Eigen::VectorXd> omp_case(Index n, Index d, int kind, std::uint64_t seed) {
  Rng rng(seed);
  Eigen::MatrixXd Z(n, d);
  for (Index i = 0; i < Z.size(); ++i) Z.data()[i] = random::normal(rng);
  Eigen::MatrixXd X = Z;
  for (Index j = 1; j < d; ++j) {
    if (kind == 1) X.col(j) = 0.8 * X.col(j - 1) + 0.6 * Z.col(j);
    if (kind == 2 && j % 2 == 1) X.col(j) = X.col(j - 1) + 1e-7 * Z.col(j);
    if (kind == 3 && j % 2 == 1) X.col(j) = X.col(j - 1);
  }
  Eigen::VectorXd w = Eigen::VectorXd::Zero(d);
  for (Index j = 0; j < d; ++j)
    if (random::uniform01(rng) < 0.3) w(j) = random::normal(rng);
  Eigen::VectorXd y = X * w;
  for (Index i = 0; i < n; ++i) y(i) += 0.1 * random::normal(rng);
  return {X, y};
}

/// OMP without intercept in long double, written independently of the library: correlations
/// Xᵀr of the residual r = y projected off the selected columns (modified Gram-Schmidt, twice).
/// Its decisions are those of exact arithmetic wherever double's are.
std::vector<Index> omp_reference(const Eigen::MatrixXd& X, const Eigen::VectorXd& y, Index k) {
  using LM = Eigen::Matrix<long double, Eigen::Dynamic, Eigen::Dynamic>;
  using LV = Eigen::Matrix<long double, Eigen::Dynamic, 1>;
  const LM Xl = X.cast<long double>();
  LV r = y.cast<long double>();
  LM Q(X.rows(), k);
  std::vector<Index> S;
  for (Index t = 0; t < k; ++t) {
    const LV c = Xl.transpose() * r;
    Index best = -1;
    long double best_abs = -1;
    for (Index j = 0; j < X.cols(); ++j)
      if (std::find(S.begin(), S.end(), j) == S.end() && std::fabs(c(j)) > best_abs) {
        best_abs = std::fabs(c(j));
        best = j;
      }
    LV q = Xl.col(best);
    for (int pass = 0; pass < 2; ++pass)
      for (Index i = 0; i < t; ++i) q -= Q.col(i) * Q.col(i).dot(q);
    Q.col(t) = q / q.norm();
    r -= Q.col(t) * Q.col(t).dot(r);
    S.push_back(best);
  }
  return S;
}

}  // namespace

TEST_CASE("OMP variants (lazy Gram columns, mixed precision, full Gram, residual) make exact-arithmetic decisions, near ties included",
          "[selection][omp]") {
  using P = OmpOptions::Precompute;
  const Index n = 300, d = 120, k = 12;
  for (int kind = 0; kind < 4; ++kind) {
    for (std::uint64_t seed = 1; seed <= 3; ++seed) {
      const auto [X, y] = omp_case(n, d, kind, seed);
      INFO("kind " << kind << ", seed " << seed);
      const std::vector<Index> ref = omp_reference(X, y, k);
      // exact duplicates tie exactly: compare pairs (j, j+1 for even j) there
      auto key = [kind](const std::vector<Index>& v) {
        std::vector<Index> out = v;
        if (kind == 3)
          for (Index& j : out) j -= j % 2;
        return out;
      };
      OmpOptions o;
      o.fit_intercept = false;
      o.precompute = P::gram;
      const OmpResult<double> full = orthogonal_matching_pursuit(X, y, k, o);
      REQUIRE(full.features.size() == std::size_t(k));
      CHECK(key(full.features) == key(ref));
      Index exact_evaluations = 0;
      using Mx = OmpOptions::Mixed;
      for (const auto& [pre, batch, mixed] : std::vector<std::tuple<P, Index, Mx>>{
               {P::residual, 0, Mx::off}, {P::residual, 0, Mx::on}, {P::residual, 0, Mx::automatic},
               {P::lazy_gram, 0, Mx::off}, {P::lazy_gram, 1, Mx::off}, {P::lazy_gram, 5, Mx::off}, {P::lazy_gram, d, Mx::off},
               {P::automatic, 0, Mx::off}, {P::lazy_gram, 0, Mx::on}, {P::lazy_gram, 1, Mx::on}, {P::lazy_gram, 0, Mx::automatic}}) {
        INFO("precompute " << int(pre) << ", gram_batch " << batch << ", mixed_precision " << int(mixed));
        o.precompute = pre;
        o.gram_batch = batch;
        o.mixed_precision = mixed;
        const OmpResult<double> r = orthogonal_matching_pursuit(X, y, k, o);
        // automatic: float screening for the residual variant (k >= 4), not for lazy_gram
        CHECK(r.mixed == (mixed == Mx::on || (mixed == Mx::automatic && pre == P::residual)));
        exact_evaluations += r.exact_evaluations;
        if (kind == 3)
          CHECK(key(r.features) == key(full.features));
        else
          CHECK(r.features == full.features);
        CHECK((r.coef - full.coef).cwiseAbs().maxCoeff() <= 1e-6 * (1 + full.coef.cwiseAbs().maxCoeff()));
        for (std::size_t t = 0; t < r.losses.size(); ++t) CHECK(std::fabs(r.losses[t] - full.losses[t]) <= 1e-6 * full.losses[0]);
        if (pre == P::lazy_gram) {
          CHECK(r.variant == P::lazy_gram);
          CHECK(r.gram_columns >= k);
          CHECK(r.gram_columns <= d);
        }
      }
      // the float-based bounds cannot separate the near ties: those rounds fell back to double
      if (kind == 2) CHECK(exact_evaluations > 0);
      // with intercept the variants agree with each other too
      o.fit_intercept = true;
      o.gram_batch = 0;
      o.precompute = P::gram;
      const std::vector<Index> centred = orthogonal_matching_pursuit(X, y, k, o).features;
      o.precompute = P::lazy_gram;
      CHECK(key(orthogonal_matching_pursuit(X, y, k, o).features) == key(centred));
      o.precompute = P::residual;
      CHECK(key(orthogonal_matching_pursuit(X, y, k, o).features) == key(centred));
      o.precompute = P::lazy_gram;
      o.mixed_precision = Mx::on;
      CHECK(key(orthogonal_matching_pursuit(X, y, k, o).features) == key(centred));
      o.precompute = P::residual;
      CHECK(key(orthogonal_matching_pursuit(X, y, k, o).features) == key(centred));
      o.mixed_precision = Mx::automatic;
    }
  }
  // mixed precision is refused where float would under- or overflow, and ignored for float
  auto [X, y] = omp_case(100, 40, 0, 4);
  OmpOptions o;
  o.fit_intercept = false;  // X as given
  o.precompute = P::lazy_gram;
  o.mixed_precision = OmpOptions::Mixed::on;
  CHECK(orthogonal_matching_pursuit(X, y, 4, o).mixed);
  o.precompute = P::residual;
  CHECK(orthogonal_matching_pursuit(X, y, 4, o).mixed);
  o.precompute = P::gram;
  CHECK_FALSE(orthogonal_matching_pursuit(X, y, 4, o).mixed);  // nothing to screen
  o.precompute = P::lazy_gram;
  X(5, 7) = 1e-30;  // below 2⁻⁶⁰
  const OmpResult<double> tiny = orthogonal_matching_pursuit(X, y, 4, o);
  CHECK_FALSE(tiny.mixed);
  o.mixed_precision = OmpOptions::Mixed::off;
  CHECK(orthogonal_matching_pursuit(X, y, 4, o).features == tiny.features);
  o.mixed_precision = OmpOptions::Mixed::on;
  CHECK_FALSE(orthogonal_matching_pursuit(X.cast<float>().eval(), y.cast<float>().eval(), 4, o).mixed);
  // residual screening when r grows past float's range: exact rounds instead, same selection
  o.precompute = P::residual;
  X(5, 7) = 0.5;
  const Eigen::VectorXd big = y * 1e30;
  const OmpResult<double> screened = orthogonal_matching_pursuit(X, big, 4, o);
  CHECK(screened.mixed);
  o.mixed_precision = OmpOptions::Mixed::off;
  CHECK(orthogonal_matching_pursuit(X, big, 4, o).features == screened.features);
}

TEST_CASE("OMP lazy Gram: few columns when k is small, the cost model's choice, float, input layouts", "[selection][omp]") {
  using P = OmpOptions::Precompute;
  const auto [X, y] = omp_case(500, 100, 0, 7);
  OmpOptions o;
  o.fit_intercept = false;
  // the small problem: X fits in L2, 10 GEMVs beat a GEMM batch plus its packing
  const OmpResult<double> a = orthogonal_matching_pursuit(X, y, 10, o);
  CHECK(a.variant == P::residual);
  CHECK(a.gram_columns == 0);
  o.precompute = P::lazy_gram;
  const OmpResult<double> lz = orthogonal_matching_pursuit(X, y, 10, o);
  CHECK(lz.gram_columns < 50);  // ~k columns, not d
  o.precompute = P::gram;
  const OmpResult<double> g = orthogonal_matching_pursuit(X, y, 10, o);
  CHECK(g.gram_columns == 100);
  CHECK(a.features == g.features);
  CHECK(lz.features == g.features);
  CHECK(orthogonal_matching_pursuit(X, y, 60, OmpOptions{}).variant == P::gram);  // k near d: the full Gram
  {
    const auto [Xb, yb] = omp_case(1000, 400, 0, 8);  // X beyond L2, k << d: a batch of Gram columns
    const OmpResult<double> big = orthogonal_matching_pursuit(Xb, yb, 10, OmpOptions{});
    CHECK(big.variant == P::lazy_gram);
    CHECK(big.gram_columns < 40);
    OmpOptions og;
    og.precompute = P::gram;
    CHECK(orthogonal_matching_pursuit(Xb, yb, 10, og).features == big.features);
  }
  // float: the variants agree on a well-separated problem
  const Eigen::MatrixXf Xf = X.cast<float>();
  const Eigen::VectorXf yf = y.cast<float>();
  const OmpResult<float> fa = orthogonal_matching_pursuit(Xf, yf, 10, OmpOptions{});
  for (P pre : {P::gram, P::residual, P::lazy_gram}) {
    OmpOptions of;
    of.precompute = pre;
    CHECK(orthogonal_matching_pursuit(Xf, yf, 10, of).features == fa.features);
  }
  // layouts: row-major (copied), a block of a wider matrix and a strided Map (used in place)
  o.precompute = P::automatic;
  const RowMatrix<double> Xr = X;
  CHECK(orthogonal_matching_pursuit(Xr, y, 10, o).features == a.features);
  Eigen::MatrixXd wide = Eigen::MatrixXd::Zero(520, 103);
  wide.block(10, 2, 500, 100) = X;
  CHECK(orthogonal_matching_pursuit(wide.block(10, 2, 500, 100), y, 10, o).features == a.features);
  const Eigen::Map<const Eigen::MatrixXd, 0, Eigen::OuterStride<>> mapped(wide.data() + 10 + 2 * 520, 500, 100,
                                                                            Eigen::OuterStride<>(520));
  const OmpResult<double> m = orthogonal_matching_pursuit(mapped, y, 10, o);
  CHECK(m.features == a.features);
  CHECK((m.coef - a.coef).cwiseAbs().maxCoeff() <= 1e-12 * (1 + a.coef.cwiseAbs().maxCoeff()));
  // X used in place is still checked for NaN and inf
  wide(10 + 499, 2 + 99) = std::numeric_limits<double>::quiet_NaN();
  ATTNSEL_CHECK_INVALID(orthogonal_matching_pursuit(wide.block(10, 2, 500, 100), y, 10, o), "'X' holds NaN or inf");
  Eigen::VectorXd yb = y;
  yb(3) = std::numeric_limits<double>::infinity();
  ATTNSEL_CHECK_INVALID(orthogonal_matching_pursuit(X, yb, 10, o), "'y' holds NaN or inf");
  o.gram_batch = -1;
  ATTNSEL_CHECK_INVALID(orthogonal_matching_pursuit(X, y, 10, o), "'options.gram_batch' is -1");
}

TEST_CASE("Lasso path: planted features enter first, in order of strength", "[selection][lasso]") {
  Rng rng(11);
  const Index n = 300, d = 25;
  Eigen::MatrixXd X(n, d);
  for (Index i = 0; i < X.size(); ++i) X.data()[i] = random::normal(rng);
  Eigen::VectorXd y = 6 * X.col(12) - 3 * X.col(2) + 1.0 * X.col(20);
  for (Index i = 0; i < n; ++i) y(i) += 0.1 * random::normal(rng);
  const Selection<double> s = lasso_path_selection(X, y, 3);
  CHECK(s.features == std::vector<Index>{12, 2, 20});
  const Selection<double> more = lasso_path_selection(X, y, 10);
  CHECK(more.features.size() == 10);
  CHECK(std::set<Index>(more.features.begin(), more.features.end()).size() == 10);
  ATTNSEL_CHECK_INVALID(lasso_path_selection(X, y, 26), "'k' is 26");
}

namespace {

/// tests/fixtures/lasso_expected.txt (made by make_lasso_fixture.py from scikit-learn's exact
/// lars_path on lasso_problem.csv): per (fit_intercept, standardize), the order of entry on
/// attnsel's λ grid and, at each grid point where features entered, its step, λ and the exact
/// Lasso coefficients of the centred / standardised problem.
struct LassoFixture {
  Eigen::MatrixXd X;
  Eigen::VectorXd y;
  struct Event {
    Index step;
    double lambda;
    std::vector<double> coef;
  };
  struct Case {
    Index k;
    bool fit_intercept, standardize;
    std::vector<Index> order, lars_order;
    std::vector<Event> events;
  };
  std::vector<Case> cases;
};

LassoFixture load_lasso_fixture() {
  LassoFixture f;
  const std::vector<std::string> lines = read_fixture("lasso_problem.csv", "lasso_expected.txt", f.X, f.y);
  for (std::size_t i = 0; i + 2 < lines.size();) {
    LassoFixture::Case c;
    int fi = 0, st = 0;
    std::size_t events = 0;
    std::istringstream(lines[i]) >> c.k >> fi >> st >> events;
    c.fit_intercept = fi != 0;
    c.standardize = st != 0;
    std::istringstream o(lines[i + 1]), lo(lines[i + 2]);
    for (Index v; o >> v;) c.order.push_back(v);
    for (Index v; lo >> v;) c.lars_order.push_back(v);
    i += 3;
    for (std::size_t e = 0; e < events && i < lines.size(); ++e, ++i) {
      LassoFixture::Event ev;
      std::istringstream w(lines[i]);
      w >> ev.step >> ev.lambda;
      for (double v; w >> v;) ev.coef.push_back(v);
      c.events.push_back(ev);
    }
    f.cases.push_back(c);
  }
  return f;
}

}  // namespace

// Coefficients: scikit-learn's LARS path is exact (up to rounding); attnsel's cyclic coordinate
// descent stops a λ once no coefficient moved more than tol = 1e-7 · max|β| in a sweep, which on
// this well-conditioned problem (20 columns, neighbour correlation 0.4) leaves it at most
// 3.4e-7 · (1 + max|β|) from the exact solution (measured, all 4 cases). The check is
// |β − β_exact| <= 1e-6 · (1 + max|β_exact|), and the same support exactly (every breakpoint is at
// least 1e-4 · λ from a grid point, so no exact coefficient is within CD's error of 0).
TEST_CASE("Lasso path enters features in scikit-learn's order, with its coefficients", "[selection][lasso]") {
  const LassoFixture f = load_lasso_fixture();
  REQUIRE(f.cases.size() == 4);
  REQUIRE(f.X.cols() == 20);
  const double ratio = std::pow(1e-4, 1.0 / 199.0);  // the default grid: 200 points over 4 decades
  for (const auto& c : f.cases) {
    INFO("fit_intercept " << c.fit_intercept << ", standardize " << c.standardize);
    LassoPathOptions o;
    o.fit_intercept = c.fit_intercept;
    o.standardize = c.standardize;
    const Selection<double> s = lasso_path_selection(f.X, f.y, c.k, o);
    CHECK(s.features == c.order);
    CHECK(s.features_from_training == s.features.size());  // all entered along the path
    CHECK(c.order == c.lars_order);  // on this problem the grid order is LARS' order of entry
    REQUIRE(s.history.size() == c.events.size());
    REQUIRE(s.losses.size() == c.events.size());
    const double lambda_max = c.events[0].lambda / std::pow(ratio, double(c.events[0].step));
    for (std::size_t e = 0; e < c.events.size(); ++e) {
      const auto& ev = c.events[e];
      INFO("event " << e << ": grid step " << ev.step << ", lambda " << ev.lambda);
      CHECK(std::fabs(s.losses[e] - ev.lambda) <= 1e-12 * ev.lambda);
      CHECK(std::fabs(lambda_max * std::pow(ratio, double(ev.step)) - ev.lambda) <= 1e-10 * ev.lambda);
      REQUIRE(s.history[e].size() == ev.coef.size());
      double scale = 1;
      for (double v : ev.coef) scale = std::max(scale, 1 + std::fabs(v));
      for (std::size_t j = 0; j < ev.coef.size(); ++j) {
        INFO("coefficient " << j << ": " << s.history[e][j] << " vs scikit-learn " << ev.coef[j]);
        CHECK((s.history[e][j] != 0) == (ev.coef[j] != 0));
        CHECK(std::fabs(s.history[e][j] - ev.coef[j]) <= 1e-6 * scale);
      }
    }
  }
}

TEST_CASE("regularised linear Sequential Attention selects OMP's sequence (n=500, d=50, k=10)", "[selection][linear_sa]") {
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    Rng rng(seed);
    const Index n = 500, d = 50, k = 10;
    Eigen::MatrixXd X(n, d);
    for (Index i = 0; i < X.size(); ++i) X.data()[i] = random::normal(rng);
    std::vector<Index> cols(static_cast<std::size_t>(d));
    std::iota(cols.begin(), cols.end(), Index(0));
    random::shuffle(cols, rng);
    Eigen::VectorXd w = Eigen::VectorXd::Zero(d);  // 10 planted features of distinct strength
    for (Index i = 0; i < k; ++i) w(cols[std::size_t(i)]) = (1.0 + double(i)) * (random::uniform01(rng) < 0.5 ? -1 : 1);
    Eigen::VectorXd y = X * w;
    for (Index i = 0; i < n; ++i) y(i) += 0.5 * random::normal(rng);
    OmpOptions oo;
    oo.normalize = true;
    const OmpResult<double> omp = orthogonal_matching_pursuit(X, y, k, oo);
    const Selection<double> sa = linear_sequential_attention(X, y, k);
    INFO("seed " << seed);
    CHECK(sa.features == omp.features);
    CHECK(std::set<Index>(sa.features.begin(), sa.features.end()) == std::set<Index>(cols.begin(), cols.begin() + k));
    CHECK(sa.history.size() == std::size_t(k));
  }
}

TEST_CASE("random and all-feature baselines", "[selection]") {
  const Selection<float> r1 = random_selection<float>(30, 5, 3), r2 = random_selection<float>(30, 5, 3);
  CHECK(r1.features == r2.features);
  CHECK(std::set<Index>(r1.features.begin(), r1.features.end()).size() == 5);
  CHECK(random_selection<float>(30, 5, 4).features != r1.features);
  CHECK(all_features<float>(4).features == std::vector<Index>{0, 1, 2, 3});
  ATTNSEL_CHECK_INVALID(random_selection<float>(3, 4, 1), "'k' is 4");
}

TEST_CASE("retraining on selected features scores them on held-out data", "[selection]") {
  const Dataset<float> ds = planted_classification(1200, 12, 8);
  const auto split = stratified_split(ds, 0.25, 2);
  RetrainOptions<float> ro;
  ro.epochs = 30;
  ro.batch_size = 64;
  ro.hidden = {16};
  const float good = retrain_score(split.train, split.test, {0, 1, 2, 3}, ro);
  const float bad = retrain_score(split.train, split.test, {6, 7, 8, 9}, ro);
  CHECK(good > 0.8f);
  CHECK(bad < 0.6f);
  ATTNSEL_CHECK_INVALID(retrain_score(split.train, split.test, {}, ro), "'features' is empty");
  ATTNSEL_CHECK_INVALID(retrain_score(split.train, split.test, {12}, ro), "'columns' holds 12");
}

namespace {

/// n x d standard normal features; y = 3·x0 − 2.4·x1 + 1.8·x2 − 1.2·x3 + 0.1·noise (regression),
/// or its sign with a band around 0 as a middle class (classification: 0, 1, 2).
Dataset<float> planted_linear(Index n, Index d, std::uint64_t seed, Task task) {
  Rng rng(seed);
  Dataset<float> ds;
  ds.X.resize(n, d);
  ds.y.resize(n);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < d; ++j) ds.X(i, j) = float(random::normal(rng));
    const double s = 3.0 * ds.X(i, 0) - 2.4 * ds.X(i, 1) + 1.8 * ds.X(i, 2) - 1.2 * ds.X(i, 3);
    ds.y(i) = task == Task::regression ? float(s + 0.1 * random::normal(rng)) : (s > 0.3 ? 2.0f : (s < -0.3 ? 0.0f : 1.0f));
  }
  ds.task = task;
  if (task == Task::classification) ds.classes = {"a", "b", "c"};
  return ds;
}

}  // namespace

// All four planted features of 16 (k = 4): a random pick has them with probability
// 1/C(16,4) = 1/1820, and in the order of strength (the LASSO variants) 1/43680. Measured with
// option seeds 1..20 on data seeds 21 and 22 (regression): all four methods found all four
// planted features in 40/40 runs; Sequential and Group LASSO in order in 40/40, LLY in 38/40,
// gradient OMP in only 26/40 (its first pick is made from an untrained model on one batch), so
// the order is asserted for the LASSO variants only. Classification (seed 3): the LASSO
// variants in order in 10/10 seeds; LLY and gradient OMP there are too seed-dependent for a
// strict check (about 5/10 with all four) and are checked on the regression problem.
TEST_CASE("NN baselines (LLY, Sequential LASSO, Group LASSO, gradient OMP) select the k planted features", "[selection][baselines]") {
  const std::vector<Index> planted{0, 1, 2, 3};  // by decreasing strength
  const std::set<Index> planted_set(planted.begin(), planted.end());
  SequentialAttentionOptions<float> o;
  o.k = 4;
  o.epochs = 30;
  o.batch_size = 64;
  o.learning_rate = 1e-3f;  // all set here: the measurements above are for these options
  o.hidden = {67};
  o.seed = 3;
  o.task = Task::regression;
  const Dataset<float> ds = planted_linear(2400, 16, 21, Task::regression);
  const std::vector<Selection<float>> runs = {
      lly_selection(ds.X, ds.y, o), sequential_lasso_selection(ds.X, ds.y, o, 0.01f),
      group_lasso_selection(ds.X, ds.y, o, 0.01f), gradient_omp_selection(ds.X, ds.y, o)};
  for (const Selection<float>& s : runs) {
    REQUIRE(s.features.size() == 4);
    INFO(s.method << ": " << s.features[0] << " " << s.features[1] << " " << s.features[2] << " " << s.features[3]);
    CHECK(std::set<Index>(s.features.begin(), s.features.end()) == planted_set);
    CHECK(!s.losses.empty());
  }
  CHECK(runs[0].method == "lly");
  CHECK(runs[1].features == planted);  // sequential LASSO: greedy, strongest first
  CHECK(runs[2].features == planted);  // group LASSO: one shot, by decreasing row norm
  CHECK(runs[1].history.size() == 4);  // sequential LASSO: one round per feature
  CHECK(runs[2].history.size() == 1);  // group LASSO: one round
  // deterministic for a seed
  CHECK(gradient_omp_selection(ds.X, ds.y, o).features == runs[3].features);
  // classification: the LASSO variants, in order
  SequentialAttentionOptions<float> oc = o;
  oc.task = Task::classification;
  const Dataset<float> dc = planted_linear(1200, 16, 21, Task::classification);
  CHECK(sequential_lasso_selection(dc.X, dc.y, oc, 0.01f).features == planted);
  CHECK(group_lasso_selection(dc.X, dc.y, oc, 0.01f).features == planted);
  o.k = 17;
  ATTNSEL_CHECK_INVALID(lly_selection(ds.X, ds.y, o), "'k' is 17");
  ATTNSEL_CHECK_INVALID(gradient_omp_selection(ds.X, ds.y, o), "'k' is 17");
}
