// Issue #14: the transformer stack. Every new layer, the attention layer with its projections
// (including the selector head's path through F) and a whole two-layer selective TransformerLM
// are checked against central differences in double, over all parameters; a plain-attention model
// equals a materialised reference forward; one batch can be overfitted; the optimizer pieces
// (no decay on norms / biases / embeddings, warm-up + cosine, clipping) do what they say.
#include <attnsel/attnsel.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "../catch_compat.hpp"
#include "gradcheck.hpp"
#include "threads.hpp"
#include "tiny_lm.hpp"

using attnsel::Index;
using attnsel::RowMatrix;
using M = RowMatrix<double>;

namespace {

/// Σ Y ⊙ R: a loss whose gradient w.r.t. Y is R.
double dot_loss(const M& Y, const M& R) { return Y.cwiseProduct(R).sum(); }

M random_matrix(Index r, Index c, attnsel::Rng& rng, double sd = 1.0) {
  M x(r, c);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = attnsel::random::normal(rng, 0.0, sd);
  return x;
}

/// Checks a Layer's dX and parameter gradients against central differences of Σ Y ⊙ R.
void check_layer(attnsel::Layer<double>& layer, M X, bool train, double tol = 1e-7) {
  attnsel::Rng rng(7);
  M Y;
  layer.forward(X, Y, train);
  const M R = random_matrix(Y.rows(), Y.cols(), rng);
  M dX;
  layer.forward(X, Y, train);
  layer.backward(X, Y, R, &dX);
  std::vector<M> analytic;
  for (auto* p : layer.parameters()) analytic.push_back(p->grad);
  auto f = [&] {
    M Yp;
    layer.forward(X, Yp, train);
    return dot_loss(Yp, R);
  };
  CHECK(gradcheck::rel_error(dX, gradcheck::numeric(X, f)) < tol);
  std::size_t i = 0;
  for (auto* p : layer.parameters()) {
    INFO("parameter " << p->name);
    CHECK(gradcheck::rel_error(analytic[i++], gradcheck::numeric(p->value, f)) < tol);
  }
}

}  // namespace

TEST_CASE("LayerNorm, GELU and Dropout gradients match central differences", "[lm][gradcheck]") {
  attnsel::Rng rng(3);
  SECTION("LayerNorm") {
    attnsel::LayerNorm<double> ln(6);
    randomise(ln.parameters(), rng, 0.5);
    check_layer(ln, random_matrix(5, 6, rng, 2.0), true);
  }
  SECTION("GELU") {
    attnsel::GELU<double> g(7);
    check_layer(g, random_matrix(4, 7, rng, 2.0), true);
  }
  SECTION("Dropout in training (the mask is redrawn per forward: a fixed-seed layer per evaluation)") {
    const M X = random_matrix(6, 5, rng);
    attnsel::Dropout<double> first(5, 0.3, 11);
    M Y, dX;
    first.forward(X, Y, true);
    const M R = random_matrix(6, 5, rng);
    first.backward(X, Y, R, &dX);
    M Xv = X;
    const M num = gradcheck::numeric(Xv, [&] {
      attnsel::Dropout<double> d(5, 0.3, 11);
      M Yp;
      d.forward(Xv, Yp, true);
      return dot_loss(Yp, R);
    });
    CHECK(gradcheck::rel_error(dX, num) < 1e-8);
    const Index zeros = (Y.array() == 0.0).count();
    CHECK(zeros > 0);
    CHECK(zeros < Y.size());
    M Ye;
    first.forward(X, Ye, false);
    CHECK(Ye == X);
  }
  SECTION("Embedding and positional embedding") {
    attnsel::Embedding<double> emb(5, 4, rng, 1.0);
    attnsel::PositionalEmbedding<double> pos(6, 4, rng, 1.0);
    const std::vector<std::int32_t> ids = {0, 3, 3, 1, 4, 2, 0, 4};  // two sequences of 4
    const M R = random_matrix(8, 4, rng);
    auto f = [&] {
      M Y;
      emb.forward(ids, Y);
      pos.forward_add(Y, 4);
      return dot_loss(Y, R);
    };
    f();
    emb.backward(ids, R);
    pos.backward(R, 4);
    const M ge = emb.table().grad, gp = pos.table().grad;
    CHECK(gradcheck::rel_error(ge, gradcheck::numeric(emb.table().value, f)) < 1e-9);
    CHECK(gradcheck::rel_error(gp, gradcheck::numeric(pos.table().value, f)) < 1e-9);
    CHECK(gp.bottomRows(2).norm() == 0.0);
    M scratch;
    CHECK_THROWS_AS(emb.forward({0, 5}, scratch), std::invalid_argument);
  }
}

TEST_CASE("CausalSelfAttention: every projection's gradient, with the selector head's path through F",
          "[lm][gradcheck]") {
  for (bool selective : {true, false}) {
    INFO("selective = " << selective);
    attnsel::Rng rng(5);
    attnsel::CausalSelfAttention<double> attn(8, 2, 3, selective, 1, rng);  // inner width 6
    randomise(attn.parameters(), rng, 0.6);
    M X = random_matrix(2 * 7, 8, rng);  // two sequences of 7 tokens
    M Y, dX;
    attn.forward(X, 7, Y);
    const M R = random_matrix(Y.rows(), Y.cols(), rng);
    attn.backward(X, R, &dX);
    std::vector<M> analytic;
    for (auto* p : attn.parameters()) analytic.push_back(p->grad);
    auto f = [&] {
      M Yp;
      attn.forward(X, 7, Yp);
      return dot_loss(Yp, R);
    };
    CHECK(gradcheck::rel_error(dX, gradcheck::numeric(X, f)) < 1e-7);
    std::size_t i = 0;
    for (auto* p : attn.parameters()) {
      INFO("parameter " << p->name << " " << i);
      CHECK(gradcheck::rel_error(analytic[i++], gradcheck::numeric(p->value, f)) < 1e-7);
    }
    if (selective) {
      // The votes matter here: the same weights without the selection give other outputs, and
      // the selector's Q/K gradient without the path through F is measurably different.
      attnsel::Rng rng2(5);
      attnsel::CausalSelfAttention<double> plain(8, 2, 3, false, 1, rng2);
      auto pp = plain.parameters();
      auto sp = attn.parameters();
      for (std::size_t k = 0; k < pp.size(); ++k) pp[k]->value = sp[k]->value;
      M Yplain;
      plain.forward(X, 7, Yplain);
      CHECK((Yplain - Y).norm() > 1e-2 * Y.norm());
    }
  }
}

TEST_CASE("a two-layer selective TransformerLM: all parameters' gradients match central differences",
          "[lm][gradcheck]") {
  for (bool tied : {true, false}) {
    INFO("tied embeddings = " << tied << " (untied: head_dim 3)");
    attnsel::TransformerConfig c = lm_config(7, 8, 2, 2, 8);
    c.mlp_ratio = 2;
    c.tied_embeddings = tied;
    c.head_dim = tied ? 0 : 3;  // untied: an attention inner width (6) unlike the model width
    c.selective = true;
    c.selector_heads = {0, 1};
    attnsel::TransformerLM<double> lm(c);
    attnsel::Rng rng(9);
    randomise(lm.parameters(), rng, 0.5);
    const std::vector<std::int32_t> ids = {0, 3, 5, 1, 1, 6, 2, 0, 4, 4, 2, 6, 5, 3};  // 2 × 7
    const std::vector<std::int32_t> targets = {3, 5, 1, 1, 6, 2, -1, 4, 4, 2, 6, 5, 3, 0};
    const double loss = lm.forward_backward(ids, targets, 7);
    CHECK(std::isfinite(loss));
    std::vector<M> analytic;
    for (auto* p : lm.parameters()) analytic.push_back(p->grad);
    auto f = [&] {
      lm.forward(ids, 7, true);
      return lm.loss(targets);
    };
    Index checked = 0;
    std::size_t i = 0;
    for (auto* p : lm.parameters()) {
      INFO("parameter " << i << " " << p->name);
      CHECK(gradcheck::rel_error(analytic[i++], gradcheck::numeric(p->value, f)) < 1e-6);
      checked += p->value.size();
    }
    CHECK(checked == lm.parameter_count());
  }
}

TEST_CASE("memory loss: the value of its definition, and a whole LM's gradients with it on match central differences",
          "[lm][gradcheck][memory]") {
  // The value against F, M_i and max_i M_i built in full from the definitions.
  attnsel::Rng rng(12);
  const Index N = 150, d = 5;  // three blocks of 64 queries
  M q(N, d), k(N, d);
  for (Index i = 0; i < q.size(); ++i) q.data()[i] = attnsel::random::normal(rng);
  for (Index i = 0; i < k.size(); ++i) k.data()[i] = attnsel::random::normal(rng);
  const double scale = 0.3, tau = 2.0;
  M F = M::Zero(N, N);
  for (Index i = 0; i < N; ++i)
    for (Index j = 1; j < i; ++j)
      for (Index kk = j + 1; kk < i; ++kk) F(i, j) += std::max(0.0, scale * q.row(kk).dot(k.row(j)));
  double best = 0;
  Index best_i = 0;
  for (Index i = 0; i < N; ++i) {
    double m = double(i);
    for (Index j = 0; j <= i; ++j) m -= std::min(F(i, j), tau) / tau;
    if (m > best) best = m, best_i = i;
  }
  Index got_i = -1;
  const double got = attnsel::detail::lm::memory_term<double>(q, k, scale, tau, 1.0, static_cast<M*>(nullptr),
                                                              static_cast<M*>(nullptr), &got_i);
  CHECK(got == Approx(best).epsilon(1e-12));
  CHECK(got_i == best_i);
  CHECK(best < double(N - 1) - 1.0);  // the masking counts

  for (bool tied : {true, false}) {
    INFO("tied embeddings = " << tied);
    attnsel::TransformerConfig c = lm_config(7, 8, 2, 2, 8);
    c.mlp_ratio = 2;
    c.tied_embeddings = tied;
    c.selective = true;
    c.selector_heads = {1, 0};
    attnsel::TransformerLM<double> lm(c);
    attnsel::Rng r(10);
    randomise(lm.parameters(), r, 0.6);
    attnsel::MemoryLossOptions mo;
    mo.weight = 0.7;
    mo.tau = 0.4;  // some F above τ (no gradient), some below
    const std::vector<std::int32_t> ids = {0, 3, 5, 1, 1, 6, 2, 0, 4, 4, 2, 6, 5, 3};  // 2 × 7
    const std::vector<std::int32_t> targets = {3, 5, 1, 1, 6, 2, -1, 4, 4, 2, 6, 5, 3, 0};
    lm.forward_backward(ids, targets, 7);
    std::vector<M> plain;
    for (auto* p : lm.parameters()) plain.push_back(p->grad);
    lm.set_memory_loss(mo);
    const double total = lm.forward_backward(ids, targets, 7);
    CHECK(lm.memory_loss() > 0.0);
    CHECK(total == Approx(lm.loss(targets) + mo.weight * lm.memory_loss()).epsilon(1e-12));
    std::vector<M> analytic;
    for (auto* p : lm.parameters()) analytic.push_back(p->grad);
    auto f = [&] {
      lm.forward(ids, 7, true);
      return lm.loss(targets) + mo.weight * lm.memory_loss();
    };
    std::size_t i = 0;
    double changed = 0;
    for (auto* p : lm.parameters()) {
      INFO("parameter " << i << " " << p->name);
      CHECK(gradcheck::rel_error(analytic[i], gradcheck::numeric(p->value, f)) < 1e-6);
      changed = std::max(changed, (analytic[i] - plain[i]).cwiseAbs().maxCoeff());
      ++i;
    }
    CHECK(changed > 1e-3);  // the memory loss moved some gradient
    // Evaluation passes leave it out.
    lm.forward(ids, 7, false);
    CHECK(lm.memory_loss() == 0.0);
  }
}

namespace {

// A materialised reference forward pass of a TransformerLM<double>: every attention matrix is
// built in full (with F for a selective model), straight from the definitions.
M reference_logits(attnsel::TransformerLM<double>& lm, const std::vector<std::int32_t>& ids, Index T) {
  const auto& c = lm.config();
  const Index d = attnsel::head_dim_of(c), B = Index(ids.size()) / T;
  auto layer_norm = [](const M& X, attnsel::LayerNorm<double>& ln) {
    M Y(X.rows(), X.cols());
    for (Index i = 0; i < X.rows(); ++i) {
      const double mean = X.row(i).mean();
      const double var = (X.row(i).array() - mean).square().mean();
      for (Index j = 0; j < X.cols(); ++j)
        Y(i, j) = (X(i, j) - mean) / std::sqrt(var + ln.epsilon()) * ln.gamma().value(0, j) + ln.beta().value(0, j);
    }
    return Y;
  };
  auto dense = [](const M& X, attnsel::Dense<double>& l) {
    M Y = X * l.weight().value;
    Y.rowwise() += l.bias().value.row(0);
    return Y;
  };
  M X(ids.size(), c.width);
  for (std::size_t i = 0; i < ids.size(); ++i)
    X.row(Index(i)) = lm.token_embedding().table().value.row(ids[i]) +
                      lm.position_embedding().table().value.row(Index(i) % T);
  for (Index l = 0; l < lm.layers(); ++l) {
    auto& blk = lm.block(l);
    const Index H = attnsel::heads_of(c, l), W = H * d;
    M X1 = X;  // a layer without attention (H = 0) passes X on; without an MLP, X1
    if (H > 0) {
      const M Hn = layer_norm(X, blk.norm1());
      const M QKV = dense(Hn, blk.attention().qkv());
      M O(X.rows(), W);
      for (Index b = 0; b < B; ++b) {
        const Index s = blk.attention().selector_head();
        auto logits = [&](Index h) {
          M L = M::Constant(T, T, -std::numeric_limits<double>::infinity());
          for (Index i = 0; i < T; ++i)
            for (Index j = 0; j <= i; ++j)
              L(i, j) = QKV.row(b * T + i).segment(h * d, d).dot(QKV.row(b * T + j).segment(W + h * d, d)) / std::sqrt(double(d));
          return L;
        };
        M F = M::Zero(T, T);
        if (c.selective) {
          const M Ls = logits(s);
          for (Index i = 0; i < T; ++i)
            for (Index j = 1; j < T; ++j)
              for (Index k = j + 1; k <= i - 1; ++k) F(i, j) += std::max(Ls(k, j), 0.0);
        }
        for (Index h = 0; h < H; ++h) {
          const M L = logits(h) - F;
          for (Index i = 0; i < T; ++i) {
            const double mx = L.row(i).head(i + 1).maxCoeff();
            Eigen::RowVectorXd p = (L.row(i).head(i + 1).array() - mx).exp();
            p /= p.sum();
            for (Index e = 0; e < d; ++e) {
              double acc = 0;
              for (Index j = 0; j <= i; ++j) acc += p(j) * QKV(b * T + j, 2 * W + h * d + e);
              O(b * T + i, h * d + e) = acc;
            }
          }
        }
      }
      X1 = X + dense(O, blk.attention().output());
    }
    X = X1;
    if (attnsel::mlp_hidden_of(c, l) > 0) {
      M U = dense(layer_norm(X1, blk.norm2()), blk.mlp_in());
      for (Index i = 0; i < U.size(); ++i) {
        const double x = U.data()[i];
        U.data()[i] = 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / 3.141592653589793) * (x + 0.044715 * x * x * x)));
      }
      X = X1 + dense(U, blk.mlp_out());
    }
  }
  const M Hf = layer_norm(X, lm.final_norm());
  if (lm.output_layer()) return dense(Hf, *lm.output_layer());
  return Hf * lm.token_embedding().table().value.transpose();
}

}  // namespace

TEST_CASE("TransformerLM's forward equals a materialised reference (plain within 1e-5 in float)", "[lm]") {
  for (int kind = 0; kind < 3; ++kind) {
    const bool selective = kind > 0;
    INFO("selective = " << selective << (kind == 2 ? ", per-layer heads {3, 0, 1} and MLP widths {0, 7, 20}" : ""));
    attnsel::TransformerConfig c = lm_config(11, 16, 2, 4, 16);
    c.selective = selective;
    if (kind == 2) c = per_layer(c, 5, {3, 0, 1}, {0, 7, 20}, {2, 0, 0});
    attnsel::TransformerLM<double> ref_model(c);
    attnsel::TransformerLM<float> lm(c);
    attnsel::Rng rng(4);
    randomise(ref_model.parameters(), rng, 0.4);
    auto pf = lm.parameters();
    auto pd = ref_model.parameters();
    for (std::size_t k = 0; k < pf.size(); ++k) pf[k]->value = pd[k]->value.cast<float>();
    std::vector<std::int32_t> ids;
    for (Index i = 0; i < 3 * 13; ++i) ids.push_back(std::int32_t(attnsel::random::index(rng, 11)));
    const M ref = reference_logits(ref_model, ids, 13);
    const M got = lm.forward(ids, 13).cast<double>();
    CHECK((got - ref).cwiseAbs().maxCoeff() < 1e-5 * std::max(1.0, ref.cwiseAbs().maxCoeff()));
    const M got_d = ref_model.forward(ids, 13);
    CHECK((got_d - ref).cwiseAbs().maxCoeff() < 1e-10);
  }
}

TEST_CASE("LMDecoder: token-by-token logits equal the full forward's at every position; budgets bound the caches", "[lm][decode]") {
  for (bool selective : {false, true}) {
    for (bool tied : {true, false}) {
      INFO("selective = " << selective << ", tied = " << tied);
      attnsel::TransformerConfig c = lm_config(13, 24, 2, 4, 16);
      c.selective = selective;
      c.tied_embeddings = tied;
      c.selector_heads = {1, 2};
      attnsel::TransformerLM<float> lm(c);
      attnsel::Rng rng(5);
      randomise(lm.parameters(), rng, 0.4);  // large weights: F is far from 0 and masks
      std::vector<std::int32_t> ids;
      for (Index i = 0; i < 24; ++i) ids.push_back(std::int32_t(attnsel::random::index(rng, 13)));
      const RowMatrix<float> full = lm.forward(ids, 24);
      attnsel::LMDecoder<float> dec(lm);
      for (Index t = 0; t < 24; ++t) {
        INFO("position " << t);
        const RowMatrix<float>& z = dec.step(ids[std::size_t(t)]);
        REQUIRE(z.cols() == 13);
        CHECK((z.row(0) - full.row(t)).cwiseAbs().maxCoeff() < 1e-5 * std::max(1.0f, full.row(t).cwiseAbs().maxCoeff()));
      }
      const attnsel::LMCacheUsage all = dec.usage();
      CHECK(all.total_tokens == 2 * 24);
      CHECK(all.total_bytes == std::size_t(2 * 24 * 2 * 16) * sizeof(float));
      CHECK_THROWS_AS(dec.step(0), std::invalid_argument);  // the context is full
      dec.reset();
      CHECK(dec.position() == 0);
      CHECK((dec.step(ids[0]).row(0) - full.row(0)).cwiseAbs().maxCoeff() < 1e-5);

      // Budgets: each layer keeps at most its budget; once a token is evicted the logits
      // leave the full forward's, for every policy through the same path.
      auto run = [&](auto policy) {
        attnsel::LMDecoder<float, decltype(policy)> d(lm, {6, 9}, policy);
        double worst = 0;
        for (Index t = 0; t < 24; ++t) {
          const RowMatrix<float>& z = d.step(ids[std::size_t(t)]);
          worst = std::max(worst, double((z.row(0) - full.row(t)).cwiseAbs().maxCoeff()));
          const attnsel::LMCacheUsage u = d.usage();
          CHECK(u.tokens[0] <= 6);
          CHECK(u.tokens[1] <= 9);
        }
        CHECK(d.usage().tokens == std::vector<Index>{6, 9});
        CHECK(d.cache(0).evicted() == 24 - 6);
        return worst;
      };
      CHECK(run(attnsel::evict::SelectiveF{}) > 1e-3);
      CHECK(run(attnsel::evict::H2O{}) > 1e-3);
      CHECK(run(attnsel::evict::StreamingLLM{}) > 1e-3);
      CHECK(run(attnsel::evict::TOVA{}) > 1e-3);
      CHECK(run(attnsel::evict::KNorm{}) > 1e-3);
      // Three sequences in lockstep: each row as its own full forward; budgets per sequence.
      {
        std::vector<std::int32_t> three;
        for (Index i = 0; i < 3 * 24; ++i) three.push_back(std::int32_t(attnsel::random::index(rng, 13)));
        const RowMatrix<float> full3 = lm.forward(three, 24);
        attnsel::LMDecoder<float> many(lm, {}, {}, 3);
        attnsel::LMDecoder<float> pruned(lm, {5, 5}, {}, 3);
        attnsel::LMDecoder<float> single(lm, {5, 5});
        for (Index t = 0; t < 24; ++t) {
          std::vector<std::int32_t> col = {three[std::size_t(t)], three[std::size_t(24 + t)], three[std::size_t(48 + t)]};
          const RowMatrix<float>& z = many.step(col);
          for (Index b = 0; b < 3; ++b)
            CHECK((z.row(b) - full3.row(b * 24 + t)).cwiseAbs().maxCoeff() <
                  1e-5 * std::max(1.0f, full3.row(b * 24 + t).cwiseAbs().maxCoeff()));
          const RowMatrix<float> zp = pruned.step(col);
          CHECK((zp.row(0) - single.step(col[0]).row(0)).cwiseAbs().maxCoeff() < 1e-6);
        }
        CHECK(pruned.usage().tokens == std::vector<Index>{15, 15});
        CHECK_THROWS_AS(many.step(std::int32_t(0)), std::invalid_argument);  // one token for three sequences
      }
      // A budget as large as the context evicts nothing: the unbounded logits.
      attnsel::LMDecoder<float> roomy(lm, {24, 24});
      for (Index t = 0; t < 24; ++t)
        CHECK((roomy.step(ids[std::size_t(t)]).row(0) - full.row(t)).cwiseAbs().maxCoeff() <
              1e-5 * std::max(1.0f, full.row(t).cwiseAbs().maxCoeff()));
    }
  }
}

TEST_CASE("evaluate_decoding equals the full forward's evaluation without budgets; fit_budgets walks down within the tolerance",
          "[lm][decode][budgets]") {
  attnsel::TransformerConfig c = lm_config(9, 20, 2, 2, 16);
  attnsel::TransformerLM<float> lm(c);
  attnsel::Rng rng(6);
  randomise(lm.parameters(), rng, 0.3);
  std::vector<std::int32_t> stream;
  for (int i = 0; i < 400; ++i) stream.push_back(std::int32_t(attnsel::random::index(rng, 9)));
  const std::vector<attnsel::TokenBatch> val = attnsel::tile_windows(stream, 4, 20, 8);  // two batches of 4
  const attnsel::LMEvaluation full = attnsel::evaluate_lm(lm, val);
  const attnsel::LMEvaluation dec = attnsel::evaluate_decoding(lm, val);
  CHECK(dec.tokens == full.tokens);
  CHECK(dec.loss == Approx(full.loss).epsilon(1e-5));
  CHECK(dec.accuracy == Approx(full.accuracy).margin(1e-9));
  const attnsel::LMEvaluation pruned = attnsel::evaluate_decoding(lm, val, {3, 3});
  CHECK(std::abs(pruned.loss - full.loss) > 1e-4);

  attnsel::BudgetFitOptions fo;
  fo.tolerance = 0.05;
  std::vector<Index> seen;
  fo.progress = [&](const attnsel::BudgetFitStep& s) { seen.push_back(s.total); };
  const attnsel::BudgetFitResult r = attnsel::fit_budgets(lm, val, attnsel::evict::SelectiveF{}, fo);
  CHECK(r.unpruned_perplexity == Approx(dec.perplexity).epsilon(1e-9));
  REQUIRE(r.path.size() >= 2);
  CHECK(r.path.front().total == 2 * 20);
  CHECK(seen.size() == r.path.size());
  for (std::size_t k = 0; k < r.path.size(); ++k) {
    INFO("path step " << k);
    const auto& s = r.path[k];
    CHECK(s.perplexity <= r.unpruned_perplexity * 1.05);
    // Each step's perplexity is what decoding with its budgets gives.
    CHECK(s.perplexity == Approx(attnsel::evaluate_decoding(lm, val, s.budgets).perplexity).epsilon(1e-9));
    if (k > 0) CHECK(s.total < r.path[k - 1].total);
  }
  // The next cut of every layer would leave the tolerance (or no layer can shrink further).
  for (Index l = 0; l < 2; ++l) {
    std::vector<Index> b = r.best().budgets;
    if (b[std::size_t(l)] <= 2) continue;
    b[std::size_t(l)] = std::max<Index>(2, std::min<Index>(b[std::size_t(l)] - 1, Index(std::floor(double(b[std::size_t(l)]) * 0.8))));
    CHECK(attnsel::evaluate_decoding(lm, val, b).perplexity > r.unpruned_perplexity * 1.05);
  }
  CHECK(r.within(0.0).perplexity <= r.unpruned_perplexity);
  CHECK(r.within(0.05).total == r.best().total);
  // The same fitting runs for the other policies.
  const auto h2o = attnsel::fit_budgets(lm, val, attnsel::evict::H2O{}, fo);
  const auto stream_llm = attnsel::fit_budgets(lm, val, attnsel::evict::StreamingLLM{}, fo);
  const auto tova = attnsel::fit_budgets(lm, val, attnsel::evict::TOVA{}, fo);
  const auto knorm = attnsel::fit_budgets(lm, val, attnsel::evict::KNorm{}, fo);
  for (const auto* fit : {&h2o, &stream_llm, &tova, &knorm}) {
    CHECK(fit->unpruned_perplexity == Approx(dec.perplexity).epsilon(1e-9));  // no budget, no policy
    CHECK(fit->best().perplexity <= fit->unpruned_perplexity * 1.05);
  }
}

TEST_CASE("TransformerLM overfits one batch with AdamW", "[lm]") {
  attnsel::TransformerConfig c = lm_config(12, 16, 2, 2, 32);
  attnsel::TransformerLM<float> lm(c);
  attnsel::Rng rng(2);
  std::vector<std::int32_t> ids, targets;
  for (int b = 0; b < 4; ++b) {
    std::vector<std::int32_t> s;
    for (int t = 0; t <= 16; ++t) s.push_back(std::int32_t(attnsel::random::index(rng, 12)));
    ids.insert(ids.end(), s.begin(), s.end() - 1);
    targets.insert(targets.end(), s.begin() + 1, s.end());
  }
  attnsel::AdamOptions<float> ao;
  ao.learning_rate = 3e-3f;
  ao.weight_decay = 0.01f;
  attnsel::Adam<float> adam(ao);
  adam.add_parameters(lm.parameters());
  const double first = lm.forward_backward(ids, targets, 16);
  double last = first;
  for (int step = 0; step < 300; ++step) {
    attnsel::clip_grad_norm(lm.parameters(), 1.0);
    adam.step();
    last = lm.forward_backward(ids, targets, 16);
  }
  CHECK(first > 2.0);  // about log(12) = 2.48 at the start
  CHECK(last < 0.05);
}

TEST_CASE("train_lm's curve: a point every eval_every steps and after the last, with the validation loss and accuracy "
          "evaluate_lm gives", "[lm]") {
  attnsel::VariableAssignmentOptions vo;
  vo.variables = 2;
  vo.values = 4;
  vo.seq_len = 16;
  const attnsel::VariableAssignment va(vo);
  attnsel::TransformerLM<float> lm(lm_config(va.vocab_size(), 16, 1, 2, 16));
  attnsel::Rng vr(7);
  const std::vector<attnsel::TokenBatch> validation{va.sample(8, vr)};
  attnsel::LMTrainOptions o;
  o.steps = 60;
  o.eval_every = 25;
  o.warmup_steps = 5;
  o.learning_rate = 1e-2;
  std::vector<double> seen_accuracy;
  o.progress = [&](const attnsel::LMProgress& p) {
    if (p.validation_loss == p.validation_loss) seen_accuracy.push_back(p.validation_accuracy);
  };
  const auto r = attnsel::train_lm(lm, [&](attnsel::Rng& rng) { return va.sample(8, rng); }, validation, o, 3);
  REQUIRE(r.curve.size() == 3);
  CHECK(r.curve[0].step == 25);
  CHECK(r.curve[1].step == 50);
  CHECK(r.curve[2].step == 60);
  const attnsel::LMEvaluation e = attnsel::evaluate_lm(lm, validation);
  REQUIRE(e.accuracy > 0.0);  // so that an accuracy left at its default would not match
  CHECK(r.curve.back().validation_loss == e.loss);
  CHECK(r.curve.back().validation_accuracy == e.accuracy);
  REQUIRE(seen_accuracy.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(seen_accuracy[i] == r.curve[i].validation_accuracy);
    CHECK(r.curve[i].validation_accuracy >= 0.0);
    CHECK(r.curve[i].validation_accuracy <= 1.0);
  }
}

TEST_CASE("train_lm with a checkpoint: a run stopped and continued ends bit for bit where an uninterrupted run "
          "ends; another run's or a corrupt checkpoint is refused and changes nothing", "[lm][checkpoint]") {
  // Selective, with dropout (its engines advance) and the memory loss, in double and float; the
  // run stops (the progress callback throws) one step after a checkpoint, so the steps after it
  // are lost and must be redone from the file.
  auto check = [](auto zero) {
    using T = decltype(zero);
    attnsel::VariableAssignmentOptions vo;
    vo.variables = 2;
    vo.values = 4;
    vo.seq_len = 16;
    const attnsel::VariableAssignment va(vo);
    attnsel::TransformerConfig c = lm_config(va.vocab_size(), 16, 2, 2, 16);
    c.selective = true;
    c.dropout = 0.1;
    attnsel::Rng vr(7);
    const std::vector<attnsel::TokenBatch> validation{va.sample(4, vr)};
    auto batches = [&](attnsel::Rng& rng) { return va.sample(4, rng); };
    attnsel::LMTrainOptions o;
    o.steps = 11;
    o.eval_every = 3;
    o.warmup_steps = 2;
    o.learning_rate = 1e-2;
    o.memory_loss.weight = 0.1;
    attnsel::TransformerLM<T> whole(c);
    const attnsel::LMTrainResult a = attnsel::train_lm(whole, batches, validation, o, 5);

    const std::string path = (std::filesystem::temp_directory_path() /
                              ("attnsel_ckpt_" + std::to_string(::getpid()) + "_" + std::to_string(sizeof(T)))).string();
    std::remove(path.c_str());
    attnsel::LMTrainOptions oc = o;
    oc.checkpoint_path = path;
    oc.checkpoint_every = 4;
    oc.checkpoint_tag = "variable assignment, 2 variables";
    struct Stop {};
    attnsel::LMTrainOptions stopping = oc;
    stopping.progress = [](const attnsel::LMProgress& p) {
      if (p.step == 6) throw Stop{};
    };
    {
      attnsel::TransformerLM<T> first(c);
      CHECK_THROWS_AS(attnsel::train_lm(first, batches, validation, stopping, 5), Stop);
    }
    REQUIRE(std::ifstream(path).good());  // the checkpoint of step 4

    // Another run's checkpoint: refused, naming the field; the model is left as it was.
    attnsel::TransformerLM<T> fresh(c);
    const RowMatrix<T> before = fresh.parameters()[2]->value;
    attnsel::LMTrainOptions other = oc;
    other.learning_rate = 2e-2;
    try {
      attnsel::train_lm(fresh, batches, validation, other, 5);
      FAIL("a checkpoint of another learning rate was accepted");
    } catch (const std::invalid_argument& e) {
      CHECK_THAT(e.what(), Catch::Matchers::Contains("checkpoint_path") && Catch::Matchers::Contains("learning_rate"));
    }
    other = oc;
    other.checkpoint_tag = "other data";
    CHECK_THROWS_AS(attnsel::train_lm(fresh, batches, validation, other, 5), std::invalid_argument);
    CHECK_THROWS_AS(attnsel::train_lm(fresh, batches, validation, oc, 6), std::invalid_argument);  // another seed
    CHECK(fresh.parameters()[2]->value == before);

    // A truncated copy: a parse error, nothing changed.
    const std::string cut = path + ".cut";
    {
      std::ifstream in(path, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 9);
    }
    attnsel::LMTrainOptions truncated = oc;
    truncated.checkpoint_path = cut;
    CHECK_THROWS_AS(attnsel::train_lm(fresh, batches, validation, truncated, 5), attnsel::parse_error);
    CHECK(fresh.parameters()[2]->value == before);
    std::remove(cut.c_str());

    // Continued: the same losses, curve, tokens and parameters as the uninterrupted run.
    const attnsel::LMTrainResult b = attnsel::train_lm(fresh, batches, validation, oc, 5);
    CHECK(b.resumed_from == 4);
    CHECK(b.losses == a.losses);
    CHECK(b.tokens == a.tokens);
    REQUIRE(b.curve.size() == a.curve.size());
    for (std::size_t i = 0; i < a.curve.size(); ++i) {
      INFO("curve point " << i);
      CHECK(b.curve[i].step == a.curve[i].step);
      CHECK(b.curve[i].train_loss == a.curve[i].train_loss);
      CHECK(b.curve[i].validation_loss == a.curve[i].validation_loss);
      CHECK(b.curve[i].validation_accuracy == a.curve[i].validation_accuracy);
    }
    const auto pa = whole.named_parameters(), pb = fresh.named_parameters();
    for (std::size_t i = 0; i < pa.size(); ++i) {
      INFO("parameter " << pa[i].first);
      CHECK(pb[i].second->value == pa[i].second->value);
    }
    // The checkpoint after the last step: a run given it trains nothing (no batch is drawn).
    attnsel::TransformerLM<T> done(c);
    int drawn = 0;
    const attnsel::LMTrainResult d = attnsel::train_lm(
        done, [&](attnsel::Rng& rng) { ++drawn; return va.sample(4, rng); }, validation, oc, 5);
    CHECK(drawn == 0);
    CHECK(d.resumed_from == 11);
    CHECK(d.losses == a.losses);
    CHECK(done.parameters().back()->value == whole.parameters().back()->value);
    std::remove(path.c_str());
    // Without a path, checkpoint_every is an error.
    attnsel::LMTrainOptions bad = o;
    bad.checkpoint_every = 2;
    CHECK_THROWS_AS(attnsel::train_lm(done, batches, validation, bad, 5), std::invalid_argument);
  };
  SECTION("double") { check(0.0); }
  SECTION("float") { check(0.0f); }
}

TEST_CASE("TransformerLM: the same seed gives the same model and losses; 1 and 2 threads agree", "[lm][determinism]") {
  attnsel::TransformerConfig c = lm_config(20, 64, 2, 4, 64);
  c.mlp_ratio = 6;
  c.dropout = 0.1;
  // 16 sequences of 64 tokens at width 64: above the threshold at which the sequences' attention
  // runs on threads and the products' chunks run on threads. The MLP's inner dimension (384) and
  // the weight gradients' (1024 rows) are deep enough that a product blocked by the thread count
  // would round differently for 1 and 2 threads, so a layer on such a path fails this test.
  struct Run {
    std::vector<double> losses;
    std::vector<attnsel::RowMatrix<float>> grads;
  };
  auto run = [&](int threads) {
    return attnsel_test::with_threads(threads, [&] {
      attnsel::TransformerLM<float> lm(c);
      attnsel::Adam<float> adam;
      adam.add_parameters(lm.parameters());
      attnsel::Rng rng(8);
      Run r;
      for (int step = 0; step < 4; ++step) {
        std::vector<std::int32_t> ids, targets;
        for (int i = 0; i < 16 * 64; ++i) ids.push_back(std::int32_t(attnsel::random::index(rng, 20)));
        for (int i = 0; i < 16 * 64; ++i) targets.push_back(ids[std::size_t((i + 1) % (16 * 64))]);
        r.losses.push_back(lm.forward_backward(ids, targets, 64));
        if (step == 3)
          for (auto* p : lm.parameters()) r.grads.push_back(p->grad);
        adam.step();
      }
      return r;
    });
  };
  const Run one = run(1), again = run(1), two = run(2);
  CHECK(one.losses == again.losses);
  CHECK(one.losses == two.losses);
  REQUIRE(one.grads.size() == two.grads.size());
  for (std::size_t i = 0; i < one.grads.size(); ++i) {
    INFO("parameter " << i);
    CHECK(one.grads[i] == two.grads[i]);
  }
}

TEST_CASE("AdamW skips decay on parameters marked decay = false; warm-up + cosine; clipping", "[lm][optim]") {
  attnsel::Parameter<double> w("w", 1, 2), g("gamma", 1, 2);
  w.value << 1.0, -2.0;
  g.value << 1.0, -2.0;
  g.decay = false;
  w.grad.setZero();
  g.grad.setZero();
  attnsel::AdamOptions<double> ao;
  ao.learning_rate = 0.1;
  ao.weight_decay = 0.5;
  attnsel::Adam<double> adam(ao);
  adam.add_parameters({&w, &g});
  adam.step();
  CHECK(w.value(0, 0) == Catch::Detail::Approx(1.0 - 0.1 * 0.5 * 1.0));
  CHECK(g.value(0, 0) == 1.0);
  CHECK(g.value(0, 1) == -2.0);

  attnsel::WarmupCosineLR<double> s{1.0, 10, 0.1};
  CHECK(s(0, 110) == Catch::Detail::Approx(0.1));
  CHECK(s(9, 110) == Catch::Detail::Approx(1.0));
  CHECK(s(10, 110) == Catch::Detail::Approx(1.0));
  CHECK(s(60, 110) == Catch::Detail::Approx(0.55).margin(0.01));
  CHECK(s(109, 110) == Catch::Detail::Approx(0.1));

  attnsel::Parameter<double> a("a", 1, 2), b("b", 2, 1);
  a.grad << 3.0, 0.0;
  b.grad << 0.0, 4.0;
  CHECK(attnsel::clip_grad_norm<double>({&a, &b}, 10.0) == Catch::Detail::Approx(5.0));
  CHECK(a.grad(0, 0) == 3.0);
  CHECK(attnsel::clip_grad_norm<double>({&a, &b}, 1.0) == Catch::Detail::Approx(5.0));
  CHECK(attnsel::global_grad_norm<double>({&a, &b}) == Catch::Detail::Approx(1.0));
  CHECK(a.grad(0, 0) == Catch::Detail::Approx(0.6));
  CHECK_THROWS_AS(attnsel::clip_grad_norm<double>({&a}, 0.0), std::invalid_argument);
}

TEST_CASE("per-layer heads and MLP widths, removed branches: gradients, decoding, save and load, bad input",
          "[lm][structure]") {
  // Layer 0: 2 heads (selector head 1), no MLP; layer 1: no attention, an MLP of 3; layer 2: 1 head,
  // an MLP of 5. head_dim 3 is unlike width / heads.
  attnsel::TransformerConfig c = per_layer(lm_config(7, 8, 3, 2, 6), 3, {2, 0, 1}, {0, 3, 5}, {1, 0, 0});
  c.selective = true;
  SECTION("shapes and parameters") {
    attnsel::TransformerLM<double> lm(c);
    CHECK(lm.block(0).has_attention());
    CHECK_FALSE(lm.block(0).has_mlp());
    CHECK_FALSE(lm.block(1).has_attention());
    CHECK(lm.block(1).has_mlp());
    CHECK(lm.block(0).attention().heads() == 2);
    CHECK(lm.block(0).attention().selector_head() == 1);
    CHECK(lm.block(2).attention().heads() == 1);
    CHECK(lm.block(1).mlp_in().weight().value.cols() == 3);
    CHECK(lm.block(2).mlp_out().weight().value.rows() == 5);
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { lm.block(1).attention(); }),
               Catch::Matchers::Contains("layer 1 has no attention branch"));
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { lm.block(0).mlp_out(); }),
               Catch::Matchers::Contains("layer 0 has no MLP branch"));
    // Embeddings 7·6 + 8·6, final norm 12, and per block: attention 12 + 6·3h·3 + 3h + 3h·3·6 ... counted:
    const Index W = 6;
    auto attn = [&](Index h) { return 2 * W + W * 9 * h + 9 * h + 3 * h * W + W; };
    auto mlp = [&](Index m) { return 2 * W + W * m + m + m * W + W; };
    CHECK(lm.parameter_count() == 7 * W + 8 * W + attn(2) + mlp(3) + attn(1) + mlp(5) + 2 * W);
    std::vector<std::string> names;
    for (const auto& np : lm.named_parameters()) names.push_back(np.first);
    CHECK(std::count(names.begin(), names.end(), "block1.mlp.in.weight") == 1);
    CHECK(std::count(names.begin(), names.end(), "block1.attention.qkv.weight") == 0);
    CHECK(std::count(names.begin(), names.end(), "block0.norm2.gamma") == 0);
  }
  SECTION("every parameter's gradient matches central differences, with the memory loss on") {
    for (bool tied : {true, false}) {
      INFO("tied embeddings = " << tied);
      c.tied_embeddings = tied;
      attnsel::TransformerLM<double> lm(c);
      attnsel::Rng rng(19);
      randomise(lm.parameters(), rng, 0.5);
      lm.set_memory_loss({0.3, 1.5});
      const std::vector<std::int32_t> ids = {0, 3, 5, 1, 1, 6, 2, 0, 4, 4, 2, 6, 5, 3};
      const std::vector<std::int32_t> targets = {3, 5, 1, 1, 6, 2, -1, 4, 4, 2, 6, 5, 3, 0};
      const double loss = lm.forward_backward(ids, targets, 7);
      REQUIRE(std::isfinite(loss));
      CHECK(lm.memory_loss() > 0.0);  // the mean over the two layers with attention
      std::vector<M> analytic;
      for (auto* p : lm.parameters()) analytic.push_back(p->grad);
      auto f = [&] {
        lm.forward(ids, 7, true);
        return lm.loss(targets) + 0.3 * lm.memory_loss();
      };
      std::size_t i = 0;
      for (auto* p : lm.parameters()) {
        INFO("parameter " << i << " " << p->name);
        CHECK(gradcheck::rel_error(analytic[i++], gradcheck::numeric(p->value, f)) < 1e-6);
      }
    }
  }
  SECTION("token-by-token decoding equals the full forward; a layer without attention has no cache") {
    attnsel::TransformerLM<float> lm(c);
    attnsel::Rng rng(5);
    randomise(lm.parameters(), rng, 0.4);
    std::vector<std::int32_t> ids;
    for (Index i = 0; i < 8; ++i) ids.push_back(std::int32_t(attnsel::random::index(rng, 7)));
    const RowMatrix<float> full = lm.forward(ids, 8);
    attnsel::LMDecoder<float> dec(lm);
    for (Index t = 0; t < 8; ++t)
      CHECK((dec.step(ids[std::size_t(t)]).row(0) - full.row(t)).cwiseAbs().maxCoeff() <
            1e-5 * std::max(1.0f, full.row(t).cwiseAbs().maxCoeff()));
    CHECK(dec.usage().tokens == std::vector<Index>{8, 0, 8});
    CHECK(dec.usage().total_bytes == std::size_t(8 * 2 * 6 + 8 * 2 * 3) * sizeof(float));
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { dec.cache(1); }),
               Catch::Matchers::Contains("'layer' = 1 names a layer without attention"));
    attnsel::LMDecoder<float> pruned(lm, {3, 0, 4});
    for (Index t = 0; t < 8; ++t) pruned.step(ids[std::size_t(t)]);
    CHECK(pruned.usage().tokens == std::vector<Index>{3, 0, 4});
    // The budget fit leaves the layer without attention at 0 and counts only the others.
    std::vector<attnsel::TokenBatch> val(1);
    val[0].batch = 1;
    val[0].seq_len = 8;
    val[0].inputs = ids;
    val[0].targets = std::vector<std::int32_t>(ids.begin() + 1, ids.end());
    val[0].targets.push_back(-1);
    const attnsel::BudgetFitResult fit = attnsel::fit_budgets(lm, val, attnsel::evict::SelectiveF{}, {1.0, 0.5, 2, {}});
    CHECK(fit.path.front().total == 16);
    for (const auto& step : fit.path) CHECK(step.budgets[1] == 0);
    CHECK(fit.path.size() > 1);
  }
  SECTION("save and load (format version 4) round-trip the shapes; a file whose shapes disagree is refused") {
    namespace fs = std::filesystem;
    const fs::path dir = fs::temp_directory_path() / ("attnsel_lm_structure_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string path = (dir / "model.bin").string();
    attnsel::TransformerLM<float> lm(c);
    attnsel::Rng rng(8);
    randomise(lm.parameters(), rng, 0.4);
    attnsel::save_lm(lm, path);
    const std::vector<std::int32_t> ids = {1, 2, 3, 4, 5, 6};
    const RowMatrix<float> expected = lm.forward(ids, 6);
    auto loaded = attnsel::load_lm<float>(path);
    CHECK(loaded.model.config().layer_heads == c.layer_heads);
    CHECK(loaded.model.config().layer_mlp == c.layer_mlp);
    CHECK(loaded.model.forward(ids, 6) == expected);
    std::string bytes;
    {
      std::ifstream in(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    // layer_mlp's last entry (5) sits right before the tokenizer's kind (4 zero bytes: none).
    const std::size_t mlp_last = 8 + 4 + 4 + 7 * 8 + 2 + 8 + 3 * 8 + 8 + 8 + 8 + 3 * 8 + 8 + 2 * 8;
    REQUIRE(bytes[mlp_last] == 5);
    // The load error of the file with byte `at` set to `value`.
    auto error_with = [&](std::size_t at, char value) -> std::string {
      std::string wrong = bytes;
      wrong[at] = value;
      {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(wrong.data(), std::streamsize(wrong.size()));
      }
      try {
        attnsel::load_lm<float>(path);
      } catch (const attnsel::parse_error& e) {
        return e.what();
      }
      return "<no error>";
    };
    CHECK_THAT(error_with(mlp_last, 4), Catch::Matchers::Contains("tensor 'block2.mlp.in.weight' is 6x5, the model's is 6x4"));
    // layer_heads[0] = 9: the selector head stays valid, the shapes do not.
    CHECK_THAT(error_with(mlp_last - 2 * 8 - 8 - 3 * 8, 9),
               Catch::Matchers::Contains("'block0.attention.qkv.weight' is 6x18, the model's is 6x81"));
    fs::remove_all(dir);
  }
  SECTION("bad configurations name the field") {
    attnsel::TransformerConfig b = c;
    b.layer_heads = {2, 1};
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::TransformerLM<float> lm(b); }),
               Catch::Matchers::Contains("'layer_heads' has 2 entries, expected 0 (uniform) or layers = 3"));
    b = c;
    b.head_dim = 0;
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::TransformerLM<float> lm(b); }),
               Catch::Matchers::Contains("explicit head_dim"));
    b = c;
    b.layer_mlp = {0, -3, 5};
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::TransformerLM<float> lm(b); }),
               Catch::Matchers::Contains("'layer_mlp' holds -3 for layer 1"));
    b = c;
    b.selector_heads = {1, 0, 1};
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::TransformerLM<float> lm(b); }),
               Catch::Matchers::Contains("'selector_heads' holds 1 for layer 2, expected a head in [0, 1)"));
    b.selector_heads = {1, 1, 0};
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::TransformerLM<float> lm(b); }),
               Catch::Matchers::Contains("'selector_heads' holds 1 for layer 1, expected 0 (the layer has no attention"));
  }
}

TEST_CASE("TransformerConfig and TransformerLM reject bad input with the field's name", "[lm][errors]") {
  attnsel::TransformerConfig c;
  c.width = 30;
  c.heads = 4;
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::TransformerLM<float> lm(c); }),
             Catch::Matchers::Contains("'width' is 30"));
  c = attnsel::TransformerConfig{};
  c.selector_heads = {0, 1, 2, 9};
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::TransformerLM<float> lm(c); }),
             Catch::Matchers::Contains("'selector_heads' holds 9"));
  c = attnsel::TransformerConfig{};
  c.vocab = 5;
  c.context = 4;
  c.layers = 1;
  c.width = 8;
  c.heads = 2;
  attnsel::TransformerLM<float> lm(c);
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { lm.forward({1, 2, 3, 4, 0}, 5); }),
             Catch::Matchers::Contains("'seq_len' is 5"));
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { lm.forward({1, 2, 3}, 2); }),
             Catch::Matchers::Contains("multiple of seq_len = 2"));
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { lm.forward({1, 7}, 2); }),
             Catch::Matchers::Contains("holds 7 at position 1"));
  lm.forward({1, 2}, 2);
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { lm.loss({1}); }),
             Catch::Matchers::Contains("'targets' holds 1 tokens"));
}

TEST_CASE("save_lm / load_lm round-trip; truncated, foreign and mismatched files are rejected", "[lm][io]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("attnsel_lm_io_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "model.bin").string();
  attnsel::TransformerConfig c = lm_config(9, 12, 2, 2, 8);
  c.tied_embeddings = false;
  c.selector_heads = {1, 0};
  attnsel::TransformerLM<float> lm(c);
  attnsel::Rng rng(6);
  for (auto* p : lm.parameters())
    for (Index i = 0; i < p->value.size(); ++i) p->value.data()[i] = float(attnsel::random::normal(rng));
  const attnsel::CharTokenizer tok = attnsel::CharTokenizer::from_corpus("hello, world");
  const std::vector<attnsel::SavedBudgets> sets = {{"selective", {4, 0}, 0.01, 3.25}, {"h2o", {6, 5}, 0.005, 3.5},
                                                   {"selective", {3, 2}, 0.02, 3.75}};
  attnsel::save_lm(lm, path, &tok, sets);
  const std::vector<std::int32_t> ids = {1, 2, 3, 4, 5, 6, 7, 8, 0, 1};
  const RowMatrix<float> expected = lm.forward(ids, 5);

  auto loaded = attnsel::load_lm<float>(path);
  CHECK(loaded.model.config().selector_heads == c.selector_heads);
  CHECK_FALSE(loaded.model.config().tied_embeddings);
  CHECK(loaded.tokenizer.symbols() == tok.symbols());
  CHECK(loaded.saved_tokenizer.kind == "chars");
  CHECK(loaded.saved_tokenizer.data == tok.symbols());
  CHECK(loaded.model.forward(ids, 5) == expected);
  REQUIRE(loaded.budgets.size() == 3);
  CHECK(loaded.budgets[1].policy == "h2o");
  CHECK(loaded.budgets[1].budgets == std::vector<Index>{6, 5});
  CHECK(loaded.budgets[1].tolerance == 0.005);
  CHECK(loaded.budgets[1].perplexity == 3.5);
  REQUIRE(loaded.budgets_for(attnsel::evict::SelectiveF::name) != nullptr);
  CHECK(loaded.budgets_for("selective")->budgets == std::vector<Index>{3, 2});  // the last set saved for it
  CHECK(loaded.budgets_for(attnsel::evict::StreamingLLM::name) == nullptr);
  auto as_double = attnsel::load_lm<double>(path);
  CHECK((as_double.model.forward(ids, 5).cast<float>() - expected).cwiseAbs().maxCoeff() < 1e-5f);
  CHECK(as_double.budgets.size() == 3);
  // Budget sets that do not fit the model are refused before anything is written.
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::save_lm(lm, path, &tok, {{"h2o", {4}, 0, 0}}); }),
             Catch::Matchers::Contains("has 1 budgets, expected one per layer (2)"));
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::save_lm(lm, path, &tok, {{"h2o", {4, 1}, 0, 0}}); }),
             Catch::Matchers::Contains("holds 1 for layer 1"));
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::save_lm(lm, path, &tok, {{"", {4, 4}, 0, 0}}); }),
             Catch::Matchers::Contains("policy name ''"));
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::save_lm(lm, path, attnsel::SavedTokenizer{"bytes", "x"}); }),
             Catch::Matchers::Contains("tokenizer kind 'bytes'"));
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::save_lm(lm, path, attnsel::SavedTokenizer{"", "x"}); }),
             Catch::Matchers::Contains("without a kind"));
  CHECK(attnsel::load_lm<float>(path).budgets.size() == 3);

  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::string& b) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(b.data(), std::streamsize(b.size()));
  };
  auto load_error = [&]() -> std::string {
    try {
      attnsel::load_lm<float>(path);
    } catch (const attnsel::parse_error& e) {
      return e.what();
    }
    return "<no error>";
  };
  // Every truncation is an error (a sample of cut points, all of the header and the budget sets).
  const std::size_t tail = bytes.size() - 150;
  for (std::size_t cut = 0; cut < bytes.size(); cut += (cut < 200 || cut >= tail ? 1 : 97)) {
    write(bytes.substr(0, cut));
    INFO("cut at " << cut);
    CHECK(load_error().find("truncated") != std::string::npos);
  }
  std::string wrong = bytes;
  wrong[0] = 'X';
  write(wrong);
  CHECK(load_error().find("wrong magic") != std::string::npos);
  wrong = bytes;
  wrong[8] = 5;  // version 5
  write(wrong);
  CHECK(load_error().find("version 5") != std::string::npos);
  // The tokenizer's kind (version 3): "chars" right after the config; an unknown kind is refused.
  const std::string kind_field = std::string("\x05\0\0\0", 4) + "chars";
  const std::size_t kind_at = bytes.find(kind_field);
  REQUIRE(kind_at != std::string::npos);
  wrong = bytes;
  wrong.replace(kind_at + 4, 5, "bytes");
  write(wrong);
  CHECK(load_error().find("unknown tokenizer kind 'bytes'") != std::string::npos);
  // Versions 1 to 3 (version 3: no per-layer lists; 2: no kind, the symbols of a CharTokenizer;
  // 1: no budget section) still load.
  attnsel::save_lm(lm, path, &tok);
  std::string v3;
  {
    std::ifstream in(path, std::ios::binary);
    v3.assign(std::istreambuf_iterator<char>(in), {});
  }
  REQUIRE(v3.substr(kind_at - 16, 16) == std::string(16, '\0'));  // two empty per-layer lists
  v3.erase(kind_at - 16, 16);
  v3[8] = 3;
  write(v3);
  {
    auto old = attnsel::load_lm<float>(path);
    CHECK(old.model.forward(ids, 5) == expected);
    CHECK(attnsel::is_uniform(old.model.config()));
  }
  std::string v2 = v3;
  v2.erase(kind_at - 16, kind_field.size());
  v2[8] = 2;
  write(v2);
  {
    auto old = attnsel::load_lm<float>(path);
    CHECK(old.model.forward(ids, 5) == expected);
    CHECK(old.saved_tokenizer.kind == "chars");
    CHECK(old.tokenizer.symbols() == tok.symbols());
  }
  std::string v1 = v2;
  v1[8] = 1;
  v1.resize(v1.size() - 8);  // drop the (empty) budget section's count
  write(v1);
  {
    auto old = attnsel::load_lm<float>(path);
    CHECK(old.model.forward(ids, 5) == expected);
    CHECK(old.budgets.empty());
  }
  write(v1 + "x");
  CHECK(load_error().find("unexpected bytes after the last tensor") != std::string::npos);
  // A budget set whose layer count no longer matches (the count of the first set is at a fixed
  // distance from the end: 3 sets of 2 budgets).
  wrong = bytes;
  const std::size_t set3 = bytes.size() - (4 + 9 + 8 + 16 + 16);  // the last set: "selective", 2 budgets, 2 doubles
  wrong[set3 + 4 + 9] = 3;
  write(wrong);
  CHECK(load_error().find("has 3 budgets for 2 layers") != std::string::npos);
  wrong = bytes;
  wrong[16] = 10;  // vocab 10: the tensors no longer fit
  write(wrong);
  CHECK(load_error().find("is 9x8, the model's is 10x8") != std::string::npos);
  write(bytes + "x");
  CHECK(load_error().find("unexpected bytes after the budget sets") != std::string::npos);
  fs::remove_all(dir);
  CHECK_THROWS_AS(attnsel::load_lm<float>(path), attnsel::parse_error);
}

TEST_CASE("CharTokenizer, token windows and Variable Assignment", "[lm][data]") {
  const auto tok = attnsel::CharTokenizer::from_corpus("abcab ca");
  CHECK(tok.vocab_size() == 4);
  CHECK(tok.symbols() == " abc");
  CHECK(tok.decode(tok.encode("cab a")) == "cab a");
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { tok.encode("abz"); }),
             Catch::Matchers::Contains("byte 122 at offset 2"));
  std::vector<std::int32_t> stream(100);
  for (std::size_t i = 0; i < stream.size(); ++i) stream[i] = std::int32_t(i);
  const auto split = attnsel::split_tokens(stream, 0.1);
  CHECK(split.train.size() == 90);
  CHECK(split.validation.front() == 90);
  CHECK(split.test.empty());
  const auto three = attnsel::split_tokens(stream, 0.1, 0.2);
  CHECK(three.train.size() == 70);
  CHECK(three.validation.front() == 70);
  CHECK(three.validation.size() == 10);
  CHECK(three.test.front() == 80);
  CHECK(three.test.back() == 99);
  attnsel::Rng rng(1), rng2(1);
  const auto b = attnsel::sample_windows(split.train, 3, 8, rng);
  CHECK(b.inputs == attnsel::sample_windows(split.train, 3, 8, rng2).inputs);
  for (std::size_t i = 0; i < b.inputs.size(); ++i) CHECK(b.targets[i] == b.inputs[i] + 1);
  const auto tiles = attnsel::tile_windows(split.validation, 4, 3);
  REQUIRE(tiles.size() == 1);
  CHECK(tiles[0].batch == 3);
  CHECK(tiles[0].inputs.front() == 90);
  CHECK(tiles[0].targets.back() == 99);

  attnsel::VariableAssignmentOptions vo;
  vo.variables = 3;
  vo.values = 5;
  vo.seq_len = 40;
  vo.query_rate = 0.4;
  const attnsel::VariableAssignment va(vo);
  CHECK(va.vocab_size() == 11);
  attnsel::Rng r(3);
  const auto batch = va.sample(50, r);
  Index answers = 0;
  for (Index s = 0; s < 50; ++s) {
    // Replay the sequence: every counted target is the latest value of the queried variable.
    std::vector<std::int32_t> latest(3, -1);
    CHECK(batch.inputs[std::size_t(s * 40)] == attnsel::VariableAssignment::bos);
    for (Index t = 1; t + 2 < 40; t += 3) {
      const std::int32_t x = batch.inputs[std::size_t(s * 40 + t)] - 3, op = batch.inputs[std::size_t(s * 40 + t + 1)];
      const std::int32_t target = batch.targets[std::size_t(s * 40 + t + 1)];
      if (op == attnsel::VariableAssignment::assign) {
        latest[std::size_t(x)] = batch.inputs[std::size_t(s * 40 + t + 2)];
        CHECK(target < 0);
      } else {
        REQUIRE(op == attnsel::VariableAssignment::query);
        CHECK(target == latest[std::size_t(x)]);
        ++answers;
      }
    }
  }
  CHECK(answers > 100);
}
