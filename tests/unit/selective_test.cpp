// Selective Attention kernels (selective/): the tiled forward pass against the materialised
// double reference, the spec's hand-checked vector, layouts and options, the backward pass
// against central finite differences, and bad arguments.
#include "../catch_compat.hpp"
#include "selective_reference.hpp"

#include <attnsel/selective/selective.hpp>
#include <attnsel/random.hpp>

#include <cmath>
#include <limits>
#include <vector>

using attnsel::HeadsView;
using attnsel::Index;
using attnsel::RowMatrix;
using attnsel::SelectiveAttentionOptions;
using attnsel_test::Mat;

namespace {

template <class T>
std::vector<RowMatrix<T>> random_heads(Index heads, Index n, Index d, std::uint64_t seed, double sd = 1.0) {
  attnsel::Rng rng(seed);
  std::vector<RowMatrix<T>> out;
  for (Index h = 0; h < heads; ++h) {
    RowMatrix<T> m(n, d);
    for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(attnsel::random::normal(rng, 0.0, sd));
    out.push_back(m);
  }
  return out;
}

template <class T>
attnsel_test::Heads to_double(const std::vector<RowMatrix<T>>& v) {
  attnsel_test::Heads out;
  for (const auto& m : v) out.push_back(m.template cast<double>());
  return out;
}

template <class T>
RowMatrix<T> pack(const std::vector<RowMatrix<T>>& v) {
  RowMatrix<T> out(v.front().rows(), v.front().cols() * Index(v.size()));
  for (std::size_t h = 0; h < v.size(); ++h) out.middleCols(Index(h) * v.front().cols(), v.front().cols()) = v[h];
  return out;
}

/// max |a - b| / max(max |b|, 1e-30) over all heads.
template <class T>
double rel_error(const std::vector<RowMatrix<T>>& a, const attnsel_test::Heads& b) {
  double num = 0, den = 1e-30;
  for (std::size_t h = 0; h < b.size(); ++h) {
    num = std::max(num, (a[h].template cast<double>() - b[h]).cwiseAbs().maxCoeff());
    den = std::max(den, b[h].cwiseAbs().maxCoeff());
  }
  return num / den;
}

template <class T>
constexpr double tolerance() {
  return std::is_same_v<T, float> ? 1e-5 : 1e-12;
}

}  // namespace

TEST_CASE("Selective attention: the spec's 5-token vector", "[selective]") {
  // K = identity and scale 1, so head 0's logit (i, j) is Q(i, j): the spec's raw lower triangle.
  Mat q = Mat::Zero(5, 5);
  q.row(0) << 0.5, 0, 0, 0, 0;
  q.row(1) << 1, 2, 0, 0, 0;
  q.row(2) << 3, -1, 0.7, 0, 0;
  q.row(3) << 0.2, 1.5, 2.5, -0.3, 0;
  q.row(4) << 4, 0.5, 1, 2, 1;
  const std::vector<Mat> Q{q}, K{Mat::Identity(5, 5)};
  std::vector<Mat> V{Mat::Random(5, 3)};
  SelectiveAttentionOptions o;
  o.scale = 1.0;
  o.return_F = true;
  o.return_weights = true;
  attnsel::SelectiveAttentionAux<double> aux;
  const auto out = attnsel::selective_attention(Q, K, V, o, &aux);
  Mat expected = Mat::Zero(5, 5);
  expected(4, 1) = 1.5;  // query 3's vote; query 2's -1 is clipped by the ReLU
  expected(4, 2) = 2.5;  // query 3's vote
  CHECK((aux.F - expected).cwiseAbs().maxCoeff() == 0.0);
  CHECK((attnsel_test::reference_F(q, K[0], 1.0) - expected).cwiseAbs().maxCoeff() == 0.0);
  const auto ref = attnsel_test::reference_attention(Q, K, V, true, 0, 1.0);
  CHECK(rel_error(out, ref.out) < 1e-14);
  CHECK((aux.weights[0] - ref.weights[0]).cwiseAbs().maxCoeff() < 1e-14);
  // Column votes: the votes each key got from all 5 queries (queries 2, 3, 4 vote on keys 1..).
  Eigen::VectorXd votes = Eigen::VectorXd::Zero(5);
  votes(1) = 1.5 + 0.5;  // query 3 (1.5), query 4 (0.5); query 2's -1 clipped
  votes(2) = 2.5 + 1.0;
  votes(3) = 2.0;
  CHECK((aux.column_votes - votes).cwiseAbs().maxCoeff() < 1e-15);
}

TEMPLATE_TEST_CASE("Selective attention matches the materialised reference", "[selective]", float, double) {
  using T = TestType;
  const Index heads_list[] = {1, 3, 8};
  const Index dims[] = {1, 7, 64};
  const Index lengths[] = {1, 2, 3, 17, 64, 129, 1000};
  std::uint64_t seed = 11;
  for (Index N : lengths)
    for (Index d : dims)
      for (Index H : heads_list) {
        if (N == 1000 && H == 8 && d == 64) continue;  // the next test case
        const auto Q = random_heads<T>(H, N, d, ++seed), K = random_heads<T>(H, N, d, ++seed);
        const auto V = random_heads<T>(H, N, d, ++seed);
        for (bool selective : {true, false}) {
          SelectiveAttentionOptions o;
          o.selective = selective;
          o.selector_head = H - 1;  // not always head 0
          const auto out = attnsel::selective_attention(Q, K, V, o);
          const auto ref = attnsel_test::reference_attention(to_double(Q), to_double(K), to_double(V), selective,
                                                             H - 1, 1.0 / std::sqrt(double(d)));
          INFO("N=" << N << " d=" << d << " H=" << H << " selective=" << selective);
          CHECK(rel_error(out, ref.out) <= tolerance<T>());
        }
      }
}

TEMPLATE_TEST_CASE("Selective attention at N = 1000, H = 8, d = 64", "[selective][large]", float, double) {
  using T = TestType;
  const Index N = 1000, H = 8, d = 64;
  const auto Q = random_heads<T>(H, N, d, 1), K = random_heads<T>(H, N, d, 2), V = random_heads<T>(H, N, d, 3);
  SelectiveAttentionOptions o;
  attnsel::SelectiveAttentionAux<T> aux;
  const auto out = attnsel::selective_attention(Q, K, V, o, &aux);
  const auto ref = attnsel_test::reference_attention(to_double(Q), to_double(K), to_double(V), true, 0, 0.125);
  CHECK(rel_error(out, ref.out) <= tolerance<T>());
  // lse: log Σ_j exp(L - F) per row, from the reference's own logits.
  const Mat L0 = 0.125 * (to_double(Q)[3] * to_double(K)[3].transpose()) - ref.F;
  for (Index i : {Index(0), Index(1), Index(500), N - 1}) {
    const double mx = L0.row(i).head(i + 1).maxCoeff();
    const double lse = mx + std::log((L0.row(i).head(i + 1).array() - mx).exp().sum());
    CHECK(std::fabs(double(aux.lse(3, i)) - lse) <= 1e-4 * std::max(1.0, std::fabs(lse)));
  }
}

TEMPLATE_TEST_CASE("Selective attention: packed, per-head and strided views agree", "[selective]", float, double) {
  using T = TestType;
  const Index N = 77, H = 3, d = 5, dv = 4;
  const auto Q = random_heads<T>(H, N, d, 5), K = random_heads<T>(H, N, d, 6), V = random_heads<T>(H, N, dv, 7);
  SelectiveAttentionOptions o;
  o.heads = H;
  o.selector_head = 1;
  o.tile = 16;
  const auto per_head = attnsel::selective_attention(Q, K, V, o);
  const RowMatrix<T> packed = attnsel::selective_attention(pack(Q), pack(K), pack(V), o);
  for (Index h = 0; h < H; ++h) CHECK(packed.middleCols(h * dv, dv) == per_head[std::size_t(h)]);
  // Heads as column blocks of wider matrices (outer stride > H*d), output into a strided block.
  RowMatrix<T> wideQ = RowMatrix<T>::Random(N, H * d + 9), wideK = RowMatrix<T>::Random(N, H * d + 9);
  RowMatrix<T> wideV = RowMatrix<T>::Random(N, H * dv + 2), wideO = RowMatrix<T>::Zero(N, H * dv + 5);
  wideQ.middleCols(3, H * d) = pack(Q);
  wideK.middleCols(3, H * d) = pack(K);
  wideV.middleCols(1, H * dv) = pack(V);
  using CV = HeadsView<const T>;
  auto q = wideQ.middleCols(3, H * d);
  auto k = wideK.middleCols(3, H * d);
  auto v = wideV.middleCols(1, H * dv);
  auto out = wideO.middleCols(2, H * dv);
  attnsel::selective_attention<T>(CV::packed(q, H), CV::packed(k, H), CV::packed(v, H), HeadsView<T>::packed(out, H), o);
  CHECK(wideO.middleCols(2, H * dv) == packed);
  CHECK(wideO.leftCols(2).isZero());
  CHECK(wideO.rightCols(3).isZero());
  // A column-major input is accepted (copied once) and gives the same result.
  const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> colQ = pack(Q);
  CHECK(attnsel::selective_attention(colQ, pack(K), pack(V), o) == packed);
}

TEMPLATE_TEST_CASE("Selective attention: options", "[selective]", float, double) {
  using T = TestType;
  const Index N = 70, H = 4, d = 8;
  const auto Q = random_heads<T>(H, N, d, 21, 2.0), K = random_heads<T>(H, N, d, 22, 2.0);
  const auto V = random_heads<T>(H, N, d, 23);
  const auto Qd = to_double(Q), Kd = to_double(K), Vd = to_double(V);
  SECTION("custom scale and tile sizes give the reference") {
    const std::pair<Index, Index> tiles[] = {{8, 1}, {13, 7}, {64, 64}, {128, 300}, {16, 40}, {64, 256}};
    for (const auto& [tile, query_tile] : tiles) {
      SelectiveAttentionOptions o;
      o.scale = 0.3;
      o.tile = tile;
      o.query_tile = query_tile;
      o.selector_head = 2;
      const auto ref = attnsel_test::reference_attention(Qd, Kd, Vd, true, 2, 0.3);
      INFO("tile " << tile << " query_tile " << query_tile);
      CHECK(rel_error(attnsel::selective_attention(Q, K, V, o), ref.out) <= tolerance<T>());
    }
  }
  SECTION("selective = false is plain causal attention, and F changes the result") {
    SelectiveAttentionOptions o;
    o.selective = false;
    o.return_F = true;
    attnsel::SelectiveAttentionAux<T> aux;
    const auto plain = attnsel::selective_attention(Q, K, V, o, &aux);
    CHECK(aux.F.isZero());
    CHECK(aux.column_votes.size() == 0);
    o.selective = true;
    const auto sel = attnsel::selective_attention(Q, K, V, o, &aux);
    CHECK(aux.F.maxCoeff() > T(1));
    CHECK(rel_error(sel, to_double(plain)) > 1e-2);
  }
  SECTION("returned F and weights equal the reference; weights rows sum to 1") {
    SelectiveAttentionOptions o;
    o.return_F = o.return_weights = true;
    attnsel::SelectiveAttentionAux<T> aux;
    attnsel::selective_attention(Q, K, V, o, &aux);
    const auto ref = attnsel_test::reference_attention(Qd, Kd, Vd, true, 0, 1.0 / std::sqrt(8.0));
    CHECK((aux.F.template cast<double>() - ref.F).cwiseAbs().maxCoeff() <= 1e-5 * ref.F.maxCoeff());
    REQUIRE(aux.weights.size() == std::size_t(H));
    for (Index h = 0; h < H; ++h) {
      CHECK((aux.weights[std::size_t(h)].template cast<double>() - ref.weights[std::size_t(h)]).cwiseAbs().maxCoeff() < 1e-5);
      CHECK((aux.weights[std::size_t(h)].rowwise().sum().array() - T(1)).abs().maxCoeff() < T(1e-5));
    }
    // Column votes = total column sums of R = F of a query one past the end.
    for (Index j = 0; j < N; ++j) {
      double col = 0;
      const Mat S = (1.0 / std::sqrt(8.0)) * (Qd[0] * Kd[0].transpose());
      for (Index kq = j + 1; kq < N; ++kq)
        if (j >= 1) col += std::max(S(kq, j), 0.0);
      CHECK(std::fabs(double(aux.column_votes(j)) - col) <= 1e-5 * std::max(1.0, col));
    }
  }
  SECTION("threads do not change the forward result") {
    SelectiveAttentionOptions o;
    o.parallel = false;
    const auto one = attnsel::selective_attention(Q, K, V, o);
    o.parallel = true;
    const auto many = attnsel::selective_attention(Q, K, V, o);
    for (Index h = 0; h < H; ++h) CHECK(one[std::size_t(h)] == many[std::size_t(h)]);
  }
  SECTION("extreme logits stay finite") {
    auto Qx = Q;
    for (auto& m : Qx) m *= T(300);  // logits of order 1e3-1e4
    const auto out = attnsel::selective_attention(Qx, K, V);
    for (const auto& m : out) CHECK(m.allFinite());
  }
  SECTION("N = 0 gives an empty output") {
    const auto e = random_heads<T>(H, 0, d, 1);
    const auto out = attnsel::selective_attention(e, e, e);
    CHECK(out.size() == std::size_t(H));
    CHECK(out[0].rows() == 0);
  }
}

namespace {

/// loss = Σ_h Σ O_h ∘ G_h through the double reference (F optionally held fixed).
double reference_loss(const attnsel_test::Heads& Q, const attnsel_test::Heads& K, const attnsel_test::Heads& V,
                      const attnsel_test::Heads& G, bool selective, Index sel, double scale, const Mat* F_fixed) {
  const auto r = attnsel_test::reference_attention(Q, K, V, selective, sel, scale, {}, F_fixed);
  double s = 0;
  for (std::size_t h = 0; h < G.size(); ++h) s += (r.out[h].array() * G[h].array()).sum();
  return s;
}

}  // namespace

TEST_CASE("Selective attention backward matches central finite differences", "[selective][backward]") {
  const Index N = 19, H = 3, d = 4, dv = 3;
  const double scale = 0.9;
  struct Case {
    bool selective, stop;
    Index sel;
  };
  for (const Case c : {Case{true, false, 0}, Case{true, false, 2}, Case{true, true, 1}, Case{false, false, 0}}) {
    auto Q = random_heads<double>(H, N, d, 31, 1.5), K = random_heads<double>(H, N, d, 32, 1.5);
    auto V = random_heads<double>(H, N, dv, 33);
    const auto G = random_heads<double>(H, N, dv, 34);
    SelectiveAttentionOptions o;
    o.selective = c.selective;
    o.selector_head = c.sel;
    o.stop_selector_gradient = c.stop;
    o.scale = scale;
    o.tile = 8;  // three query tiles, three key tiles
    attnsel::SelectiveAttentionAux<double> aux;
    const auto O = attnsel::selective_attention(Q, K, V, o, &aux);
    std::vector<Mat> dQ(H, Mat(N, d)), dK(H, Mat(N, d)), dV(H, Mat(N, dv));
    using CV = HeadsView<const double>;
    using MV = HeadsView<double>;
    attnsel::selective_attention_backward<double>(CV::per_head(Q), CV::per_head(K), CV::per_head(V), CV::per_head(O),
                                                  CV::per_head(G), aux.lse, MV::per_head(dQ), MV::per_head(dK),
                                                  MV::per_head(dV), o);
    const Mat F_fixed = attnsel_test::reference_F(Q[std::size_t(c.sel)], K[std::size_t(c.sel)], scale);
    const Mat* Ff = c.stop ? &F_fixed : nullptr;
    const double eps = 1e-6;
    double worst = 0;
    auto check = [&](std::vector<Mat>& X, const std::vector<Mat>& dX, const char* name) {
      for (Index h = 0; h < H; ++h)
        for (Index i = 0; i < X[0].rows(); ++i)
          for (Index j = 0; j < X[0].cols(); ++j) {
            double& x = X[std::size_t(h)](i, j);
            const double keep = x;
            x = keep + eps;
            const double up = reference_loss(Q, K, V, G, c.selective, c.sel, scale, Ff);
            x = keep - eps;
            const double down = reference_loss(Q, K, V, G, c.selective, c.sel, scale, Ff);
            x = keep;
            const double fd = (up - down) / (2 * eps);
            const double an = dX[std::size_t(h)](i, j);
            const double err = std::fabs(fd - an) / std::max(1.0, std::fabs(fd));
            worst = std::max(worst, err);
            if (err > 1e-6) {
              INFO(name << " head " << h << " (" << i << "," << j << "): fd " << fd << " analytic " << an);
              CHECK(err <= 1e-6);
            }
          }
    };
    check(Q, dQ, "dQ");
    check(K, dK, "dK");
    check(V, dV, "dV");
    INFO("selective=" << c.selective << " stop=" << c.stop << " sel=" << c.sel << " worst rel err " << worst);
    CHECK(worst <= 1e-6);
  }
}

TEST_CASE("Selective attention backward: the gradient through F is not zero", "[selective][backward]") {
  const Index N = 40, H = 2, d = 4;
  const auto Q = random_heads<double>(H, N, d, 41, 2.0), K = random_heads<double>(H, N, d, 42, 2.0);
  const auto V = random_heads<double>(H, N, d, 43), G = random_heads<double>(H, N, d, 44);
  SelectiveAttentionOptions o;
  o.heads = H;
  const auto full = attnsel::selective_attention_backward(pack(Q), pack(K), pack(V), pack(G), o);
  o.stop_selector_gradient = true;
  const auto stopped = attnsel::selective_attention_backward(pack(Q), pack(K), pack(V), pack(G), o);
  // Only the selector head's dQ / dK differ; dV and head 1 are the same.
  CHECK((full.dQ.leftCols(d) - stopped.dQ.leftCols(d)).cwiseAbs().maxCoeff() > 1e-3);
  CHECK((full.dK.leftCols(d) - stopped.dK.leftCols(d)).cwiseAbs().maxCoeff() > 1e-3);
  CHECK((full.dQ.rightCols(d) - stopped.dQ.rightCols(d)).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((full.dV - stopped.dV).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("Selective attention backward in float follows double; threads agree", "[selective][backward]") {
  const Index N = 150, H = 3, d = 16;
  const auto Qd = random_heads<double>(H, N, d, 51), Kd = random_heads<double>(H, N, d, 52);
  const auto Vd = random_heads<double>(H, N, d, 53), Gd = random_heads<double>(H, N, d, 54);
  SelectiveAttentionOptions o;
  o.heads = H;
  o.tile = 32;
  const auto gd = attnsel::selective_attention_backward(pack(Qd), pack(Kd), pack(Vd), pack(Gd), o);
  std::vector<RowMatrix<float>> Qf, Kf, Vf, Gf;
  for (Index h = 0; h < H; ++h) {
    Qf.push_back(Qd[std::size_t(h)].cast<float>());
    Kf.push_back(Kd[std::size_t(h)].cast<float>());
    Vf.push_back(Vd[std::size_t(h)].cast<float>());
    Gf.push_back(Gd[std::size_t(h)].cast<float>());
  }
  const auto gf = attnsel::selective_attention_backward(pack(Qf), pack(Kf), pack(Vf), pack(Gf), o);
  auto rel = [](const RowMatrix<float>& a, const RowMatrix<double>& b) {
    return (a.cast<double>() - b).cwiseAbs().maxCoeff() / b.cwiseAbs().maxCoeff();
  };
  CHECK(rel(gf.dQ, gd.dQ) < 1e-4);
  CHECK(rel(gf.dK, gd.dK) < 1e-4);
  CHECK(rel(gf.dV, gd.dV) < 1e-4);
  o.parallel = false;
  const auto g1 = attnsel::selective_attention_backward(pack(Qd), pack(Kd), pack(Vd), pack(Gd), o);
  CHECK((g1.dQ - gd.dQ).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(g1.dK == gd.dK);  // key tiles are owned by one thread each: identical
  CHECK(g1.dV == gd.dV);
}

TEST_CASE("Selective attention: bad arguments", "[selective][errors]") {
  const auto Q = random_heads<float>(2, 10, 4, 1), K = random_heads<float>(2, 10, 4, 2);
  const auto V = random_heads<float>(2, 10, 3, 3);
  const RowMatrix<float> Qp = pack(Q), Kp = pack(K), Vp = pack(V);
  SelectiveAttentionOptions o;
  o.heads = 2;
  SECTION("shapes") {
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention(Qp, Kp.topRows(9), Vp, o), "K", "rows", "9", "10");
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention(Qp, Kp.leftCols(6), Vp, o), "K", "head size", "3", "4");
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention(Qp, Kp, Vp.topRows(3), o), "V", "rows", "3");
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention(Qp.leftCols(7), Kp, Vp, o), "Q", "7", "heads = 2");
    auto K3 = K;
    K3.push_back(K[0]);
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention(Q, K3, V), "same number of heads", "3");
    auto Kbad = K;
    Kbad[1] = RowMatrix<float>::Zero(10, 5);
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention(Q, Kbad, V), "head 1", "10 x 5");
    const std::vector<RowMatrix<float>> none;
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention(none, none, none), "Q", "at least one head");
  }
  SECTION("options") {
    auto bad = o;
    bad.selector_head = 2;
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention(Qp, Kp, Vp, bad), "selector_head", "2", "[0, 2)");
    bad = o;
    bad.selector_head = -1;
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention(Qp, Kp, Vp, bad), "selector_head", "-1");
    bad = o;
    bad.scale = -1;
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention(Qp, Kp, Vp, bad), "scale", "-1");
    bad.scale = std::numeric_limits<double>::quiet_NaN();
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention(Qp, Kp, Vp, bad), "scale", "nan");
    bad = o;
    bad.tile = 4;
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention(Qp, Kp, Vp, bad), "tile", "4");
    bad = o;
    bad.heads = 0;
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention(Qp, Kp, Vp, bad), "heads", "0");
  }
  SECTION("non-finite data") {
    RowMatrix<float> Qn = Qp;
    Qn(3, 5) = std::numeric_limits<float>::quiet_NaN();
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention(Qn, Kp, Vp, o), "Q", "non-finite", "head 1", "row 3", "column 1");
    RowMatrix<float> Vn = Vp;
    Vn(0, 0) = std::numeric_limits<float>::infinity();
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention(Qp, Kp, Vn, o), "V", "non-finite", "inf");
    RowMatrix<float> G = RowMatrix<float>::Zero(10, 6);
    G(9, 0) = std::numeric_limits<float>::quiet_NaN();
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention_backward(Qp, Kp, Vp, G, o), "dO", "non-finite");
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention_backward(Qp, Kp, Vp, G.topRows(4), o), "dO", "4 x 6");
  }
  SECTION("lse of the wrong shape") {
    attnsel::SelectiveAttentionAux<float> aux;
    const RowMatrix<float> O = attnsel::selective_attention(Qp, Kp, Vp, o, &aux);
    RowMatrix<float> dQ(10, 8), dK(10, 8), dV(10, 6);
    using CV = HeadsView<const float>;
    using MV = HeadsView<float>;
    const RowMatrix<float> lse_bad = aux.lse.leftCols(9);
    ATTNSEL_CHECK_INVALID(attnsel::selective_attention_backward<float>(
                              CV::packed(Qp, 2), CV::packed(Kp, 2), CV::packed(Vp, 2), CV::packed(O, 2),
                              CV::packed(O, 2), lse_bad, MV::packed(dQ, 2), MV::packed(dK, 2), MV::packed(dV, 2), o),
                          "lse", "2 x 9", "2 x 10");
  }
}
