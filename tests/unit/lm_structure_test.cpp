// Issue #37: SequentialAttention++ over a transformer's structure. The weights structured pruning
// trains — per head, per MLP channel, per branch and per residual channel — are checked against
// central differences in double through the whole LM, and the LayerNorm over a subset of the
// channels against a LayerNorm over those channels alone.
#include <attnsel/attnsel.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <utility>
#include <string>
#include <vector>

#include "../catch_compat.hpp"
#include "gradcheck.hpp"
#include "tiny_lm.hpp"

using attnsel::Index;
using attnsel::RowMatrix;
using M = RowMatrix<double>;

namespace {

M random_matrix(Index r, Index c, attnsel::Rng& rng, double sd = 1.0) {
  M x(r, c);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = attnsel::random::normal(rng, 0.0, sd);
  return x;
}

/// Every scale of `s` in a fixed order, by pointer (to perturb them one at a time).
std::vector<double*> scale_entries(attnsel::StructureScales<double>& s) {
  std::vector<double*> out;
  for (auto& v : s.heads)
    for (double& x : v) out.push_back(&x);
  for (auto& v : s.channels)
    for (double& x : v) out.push_back(&x);
  for (double& x : s.attention) out.push_back(&x);
  for (double& x : s.mlp) out.push_back(&x);
  for (double& x : s.width) out.push_back(&x);
  return out;
}

/// Scales for `lm` with every kind set, values N(1, 0.3²) (none 0).
attnsel::StructureScales<double> random_scales(attnsel::TransformerLM<double>& lm, attnsel::Rng& rng) {
  attnsel::StructureScales<double> s;
  const Index L = lm.layers();
  auto draw = [&](Index n) {
    std::vector<double> v;
    for (Index i = 0; i < n; ++i) v.push_back(1.0 + attnsel::random::normal(rng, 0.0, 0.3));
    return v;
  };
  for (Index l = 0; l < L; ++l) {
    s.heads.push_back(lm.block(l).has_attention() ? draw(lm.block(l).attention().heads()) : std::vector<double>{});
    s.channels.push_back(lm.block(l).has_mlp() ? draw(lm.block(l).mlp_in().weight().value.cols()) : std::vector<double>{});
  }
  s.attention = draw(L);
  s.mlp = draw(L);
  s.width = draw(lm.config().width);
  return s;
}

}  // namespace

TEST_CASE("LayerNorm with a channel mask: a LayerNorm over the kept channels alone; gradients match central differences",
          "[lm][structure][gradcheck]") {
  attnsel::Rng rng(3);
  attnsel::LayerNorm<double> ln(7);
  ln.gamma().value = random_matrix(1, 7, rng, 0.5).array() + 1.0;
  ln.beta().value = random_matrix(1, 7, rng, 0.5);
  const std::vector<bool> keep = {true, false, true, true, false, true, true};
  ln.set_channel_mask(keep);
  const M X = random_matrix(5, 7, rng, 2.0);
  M Y;
  ln.forward(X, Y, true);
  // The kept channels alone through an unmasked LayerNorm of their size.
  const std::vector<Index> kept = {0, 2, 3, 5, 6};
  attnsel::LayerNorm<double> small(5);
  M Xs(5, 5);
  for (std::size_t k = 0; k < kept.size(); ++k) {
    Xs.col(Index(k)) = X.col(kept[k]);
    small.gamma().value(0, Index(k)) = ln.gamma().value(0, kept[k]);
    small.beta().value(0, Index(k)) = ln.beta().value(0, kept[k]);
  }
  M Ys;
  small.forward(Xs, Ys, true);
  for (std::size_t k = 0; k < kept.size(); ++k) CHECK((Y.col(kept[k]) - Ys.col(Index(k))).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(Y.col(1).cwiseAbs().maxCoeff() == 0.0);
  CHECK(Y.col(4).cwiseAbs().maxCoeff() == 0.0);

  const M R = random_matrix(5, 7, rng);
  M dX;
  ln.backward(X, Y, R, &dX);
  const M dgamma = ln.gamma().grad, dbeta = ln.beta().grad;
  auto f = [&] {
    M Yp;
    ln.forward(X, Yp, true);
    return Yp.cwiseProduct(R).sum();
  };
  M Xv = X;
  auto fx = [&] {
    M Yp;
    ln.forward(Xv, Yp, true);
    return Yp.cwiseProduct(R).sum();
  };
  CHECK(gradcheck::rel_error(dX, gradcheck::numeric(Xv, fx)) < 1e-7);
  CHECK(gradcheck::rel_error(dgamma, gradcheck::numeric(ln.gamma().value, f)) < 1e-7);
  CHECK(gradcheck::rel_error(dbeta, gradcheck::numeric(ln.beta().value, f)) < 1e-7);
  CHECK(dX.col(1).cwiseAbs().maxCoeff() == 0.0);  // a masked input does not reach the output

  CHECK_THAT(attnsel_test::invalid_argument_message([&] { ln.set_channel_mask({true, false}); }),
             Catch::Matchers::Contains("'keep' has 2 entries, expected one per channel (7)"));
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { ln.set_channel_mask(std::vector<bool>(7, false)); }),
             Catch::Matchers::Contains("keeps no channel"));
  CHECK(ln.has_channel_mask());  // the refused masks changed nothing
  ln.clear_channel_mask();
  M Yfull;
  ln.forward(X, Yfull, true);
  CHECK(Yfull.col(1).cwiseAbs().maxCoeff() > 0.0);
}

TEST_CASE("structure scales: every weight's gradient (heads, MLP channels, branches, width) and every parameter's "
          "match central differences through the whole LM",
          "[lm][structure][gradcheck]") {
  for (int kind = 0; kind < 3; ++kind) {
    // 0: a uniform selective model with tied embeddings; 1: untied, plain attention; 2: per-layer
    // heads and MLP widths with a removed attention branch and a removed MLP, selective.
    attnsel::TransformerConfig c = lm_config(7, 8, 2, 2, 6);
    c.mlp_ratio = 2;
    c.selective = kind != 1;
    c.tied_embeddings = kind != 1;
    if (kind == 2) c = per_layer(c, 4, {3, 0, 2}, {5, 4, 0}, {2, 0, 1});
    INFO("model kind " << kind);
    attnsel::TransformerLM<double> lm(c);
    attnsel::Rng rng(21);
    randomise(lm.parameters(), rng, 0.5);
    attnsel::StructureScales<double> s = random_scales(lm, rng);
    lm.set_structure_scales(s);
    REQUIRE(lm.has_structure_scales());
    const std::vector<std::int32_t> ids = {0, 3, 5, 1, 1, 6, 2, 0, 4, 4, 2, 6, 5, 3};
    const std::vector<std::int32_t> targets = {3, 5, 1, 1, 6, 2, -1, 4, 4, 2, 6, 5, 3, 0};
    const double loss = lm.forward_backward(ids, targets, 7);
    REQUIRE(std::isfinite(loss));
    attnsel::StructureScales<double> analytic = lm.structure_scale_grad();
    std::vector<M> param_grads;
    for (auto* p : lm.parameters()) param_grads.push_back(p->grad);
    auto loss_at = [&] {
      lm.forward(ids, 7, true);
      return lm.loss(targets);
    };
    const std::vector<double*> entries = scale_entries(s), grads = scale_entries(analytic);
    REQUIRE(entries.size() == grads.size());
    double worst = 0;
    for (std::size_t k = 0; k < entries.size(); ++k) {
      const double x = *entries[k], h = 1e-5;
      *entries[k] = x + h;
      lm.set_structure_scales(s);
      const double up = loss_at();
      *entries[k] = x - h;
      lm.set_structure_scales(s);
      const double down = loss_at();
      *entries[k] = x;
      const double numeric = (up - down) / (2 * h);
      INFO("scale entry " << k << ": analytic " << *grads[k] << ", numeric " << numeric);
      CHECK(std::abs(*grads[k] - numeric) < 1e-6 * std::max(1.0, std::abs(numeric)));
      worst = std::max(worst, std::abs(numeric));
    }
    CHECK(worst > 1e-3);  // the scales matter
    lm.set_structure_scales(s);
    std::size_t i = 0;
    for (auto* p : lm.parameters()) {
      INFO("parameter " << i << " " << p->name);
      CHECK(gradcheck::rel_error(param_grads[i++], gradcheck::numeric(p->value, loss_at)) < 1e-6);
    }
  }
}

TEST_CASE("structure scales: weights of 1 change nothing; a weight of 0 removes exactly its unit; bad scales are refused",
          "[lm][structure]") {
  attnsel::TransformerConfig c = lm_config(9, 10, 2, 2, 8);
  c.selective = true;
  attnsel::TransformerLM<double> lm(c);
  attnsel::Rng rng(5);
  randomise(lm.parameters(), rng, 0.4);
  std::vector<std::int32_t> ids;
  for (Index i = 0; i < 20; ++i) ids.push_back(std::int32_t(attnsel::random::index(rng, 9)));
  const M plain = lm.forward(ids, 10);
  attnsel::StructureScales<double> ones;
  ones.heads = {{1.0, 1.0}, {}};
  ones.channels = {{}, std::vector<double>(32, 1.0)};
  ones.attention = {1.0, 1.0};
  ones.mlp = {1.0, 1.0};
  ones.width = std::vector<double>(8, 1.0);
  lm.set_structure_scales(ones);
  CHECK((lm.forward(ids, 10) - plain).cwiseAbs().maxCoeff() < 1e-12);

  SECTION("head 1 of layer 0 at 0 = its rows of the output projection at 0") {
    attnsel::StructureScales<double> s;
    s.heads = {{1.0, 0.0}, {}};
    lm.set_structure_scales(s);
    const M scaled = lm.forward(ids, 10);
    lm.clear_structure_scales();
    lm.block(0).attention().output().weight().value.bottomRows(4).setZero();
    CHECK((lm.forward(ids, 10) - scaled).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((scaled - plain).cwiseAbs().maxCoeff() > 1e-3);
  }
  SECTION("MLP channel 3 of layer 1 at 0 = its row of the second MLP layer at 0") {
    attnsel::StructureScales<double> s;
    s.channels = {{}, std::vector<double>(32, 1.0)};
    s.channels[1][3] = 0.0;
    lm.set_structure_scales(s);
    const M scaled = lm.forward(ids, 10);
    lm.clear_structure_scales();
    lm.block(1).mlp_out().weight().value.row(3).setZero();
    CHECK((lm.forward(ids, 10) - scaled).cwiseAbs().maxCoeff() < 1e-12);
  }
  SECTION("the MLP branch of layer 0 at 0 = its output layer's weights and bias at 0") {
    attnsel::StructureScales<double> s;
    s.mlp = {0.0, 1.0};
    lm.set_structure_scales(s);
    const M scaled = lm.forward(ids, 10);
    lm.clear_structure_scales();
    lm.block(0).mlp_out().weight().value.setZero();
    lm.block(0).mlp_out().bias().value.setZero();
    CHECK((lm.forward(ids, 10) - scaled).cwiseAbs().maxCoeff() < 1e-12);
  }
  SECTION("residual channel 5 at 0: nothing that reads or writes only that channel changes the logits") {
    attnsel::StructureScales<double> s;
    s.width = std::vector<double>(8, 1.0);
    s.width[5] = 0.0;
    s.width[2] = 0.5;
    lm.set_structure_scales(s);
    const M scaled = lm.forward(ids, 10);
    lm.token_embedding().table().value.col(5).setRandom();
    lm.position_embedding().table().value.col(5).setRandom();
    for (Index l = 0; l < 2; ++l) {
      lm.block(l).norm1().gamma().value(0, 5) = 3.0;
      lm.block(l).norm2().beta().value(0, 5) = -2.0;
      lm.block(l).attention().qkv().weight().value.row(5).setRandom();
      lm.block(l).attention().output().bias().value(0, 5) = 4.0;
      lm.block(l).mlp_in().weight().value.row(5).setRandom();
      lm.block(l).mlp_out().weight().value.col(5).setRandom();
    }
    lm.final_norm().beta().value(0, 5) = 7.0;
    CHECK((lm.forward(ids, 10) - scaled).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((scaled - plain).cwiseAbs().maxCoeff() > 1e-3);
  }
  SECTION("bad scales name the field and change nothing") {
    attnsel::StructureScales<double> s;
    s.heads = {{1.0, 1.0, 1.0}, {}};
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { lm.set_structure_scales(s); }),
               Catch::Matchers::Contains("'heads' has 3 weights for layer 0, expected 0 or 2 (its heads)"));
    s = {};
    s.attention = {1.0};
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { lm.set_structure_scales(s); }),
               Catch::Matchers::Contains("'attention' has 1 entries, expected 0 or one per layer (2)"));
    s = {};
    s.mlp = {1.0, std::nan("")};
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { lm.set_structure_scales(s); }),
               Catch::Matchers::Contains("'mlp' holds nan at 1"));
    s = {};
    s.width = std::vector<double>(8, 0.0);
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { lm.set_structure_scales(s); }),
               Catch::Matchers::Contains("every residual channel 0"));
    CHECK(lm.has_structure_scales());  // the weights of 1 set before stay
    CHECK((lm.forward(ids, 10) - plain).cwiseAbs().maxCoeff() < 1e-12);
    // A scaled model is neither decoded nor saved as if it had none.
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::LMDecoder<double> d(lm); }),
               Catch::Matchers::Contains("structure scales set"));
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::save_lm(lm, "unused.bin"); }),
               Catch::Matchers::Contains("structure scales set"));
  }
}

TEST_CASE("slice_structure: the physically smaller model computes the scaled model's logits, for every unit kind, "
          "tied and untied, selective and standard",
          "[lm][structure][slice]") {
  // A 3-layer model, 3 heads of 4, width 10, MLP 2·10; the kinds of removal below.
  enum Kind { heads, channels, attention_branch, mlp_branch, width, whole_layer, everything, all_units };
  for (int kind = heads; kind <= all_units; ++kind)
    for (int variant = 0; variant < 4; ++variant) {
      const bool tied = variant % 2 == 0, selective = variant < 2;
      INFO("kind " << kind << ", tied " << tied << ", selective " << selective);
      attnsel::TransformerConfig c = lm_config(11, 12, 3, 3, 10);
      c.head_dim = 4;
      c.mlp_ratio = 2;
      c.tied_embeddings = tied;
      c.selective = selective;
      c.selector_heads = {1, 0, 2};
      attnsel::TransformerLM<float> lm(c);
      attnsel::Rng rng(40 + std::uint64_t(kind));
      randomise(lm.parameters(), rng, 0.4);
      // Weights around 1 everywhere (so that folding them is tested), zeros by kind.
      auto draw = [&](Index n) {
        std::vector<float> v;
        for (Index i = 0; i < n; ++i) v.push_back(float(1.0 + attnsel::random::normal(rng, 0.0, 0.3)));
        return v;
      };
      attnsel::StructureScales<float> s;
      for (Index l = 0; l < 3; ++l) {
        s.heads.push_back(draw(3));
        s.channels.push_back(draw(20));
      }
      s.attention = draw(3);
      s.mlp = draw(3);
      s.width = draw(10);
      if (kind == heads || kind == everything) {
        s.heads[0][2] = 0;  // layer 0 keeps heads 0 and 1 (its selector head)
        s.heads[2][0] = s.heads[2][1] = 0;  // layer 2 keeps its selector head 2 only
      }
      if (kind == channels || kind == everything)
        for (Index j = 0; j < 20; j += 3) s.channels[1][std::size_t(j)] = 0;
      if (kind == attention_branch || kind == everything) s.attention[1] = 0;
      if (kind == mlp_branch || kind == everything) s.mlp[0] = 0;
      if (kind == width || kind == everything) s.width[3] = s.width[7] = s.width[8] = 0;
      if (kind == whole_layer) s.attention[2] = s.mlp[2] = 0;
      if (kind == all_units) {  // every head of layer 0 and every channel of layer 2: the branches go, biases too
        s.heads[0] = {0, 0, 0};
        s.channels[2].assign(20, 0.0f);
      }
      lm.set_structure_scales(s);
      std::vector<std::int32_t> ids;
      for (Index i = 0; i < 2 * 12; ++i) ids.push_back(std::int32_t(attnsel::random::index(rng, 11)));
      const RowMatrix<float> scaled = lm.forward(ids, 12);
      attnsel::TransformerLM<float> small = attnsel::slice_structure(lm);
      CHECK_FALSE(small.has_structure_scales());
      const RowMatrix<float> got = small.forward(ids, 12);
      CHECK((got - scaled).cwiseAbs().maxCoeff() < 1e-5f * std::max(1.0f, scaled.cwiseAbs().maxCoeff()));
      // The shapes: what was removed is gone.
      const attnsel::TransformerConfig& n = small.config();
      CHECK(n.width == (kind == width || kind == everything ? 7 : 10));
      CHECK(n.layers == (kind == whole_layer ? 2 : 3));
      if (kind == heads) {
        CHECK(n.layer_heads == std::vector<Index>{2, 3, 1});
        CHECK(n.selector_heads == std::vector<Index>{1, 0, 0});  // head 2 of layer 2 is its head 0 now
      }
      if (kind == channels) CHECK(n.layer_mlp == std::vector<Index>{20, 13, 20});
      if (kind == everything) {
        CHECK(n.layer_heads == std::vector<Index>{2, 0, 1});
        CHECK(n.layer_mlp == std::vector<Index>{0, 13, 20});
      }
      if (kind == all_units) {
        CHECK(n.layer_heads == std::vector<Index>{0, 3, 3});
        CHECK(n.layer_mlp == std::vector<Index>{20, 20, 0});
      }
      CHECK(small.parameter_count() < lm.parameter_count());
      // The sliced model decodes token by token like its forward pass, and round-trips a file.
      if (kind == everything) {
        attnsel::LMDecoder<float> dec(small);
        for (Index t = 0; t < 12; ++t)
          CHECK((dec.step(ids[std::size_t(t)]).row(0) - got.row(t)).cwiseAbs().maxCoeff() <
                1e-5f * std::max(1.0f, got.row(t).cwiseAbs().maxCoeff()));
        const std::string path = "attnsel_slice_test_" + std::to_string(kind) + "_" + std::to_string(variant) + ".bin";
        attnsel::save_lm(small, path);
        auto loaded = attnsel::load_lm<float>(path);
        CHECK(loaded.model.forward(ids, 12) == got);
        std::remove(path.c_str());
      }
    }
}

TEST_CASE("slice_structure refuses scales that remove a selector head alone or every layer", "[lm][structure][slice]") {
  attnsel::TransformerConfig c = lm_config(7, 6, 2, 2, 6);
  c.selector_heads = {1, 0};
  attnsel::TransformerLM<float> lm(c);
  attnsel::StructureScales<float> s;
  s.heads = {{1.0f, 0.0f}, {}};
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::slice_structure(lm, s); }),
             Catch::Matchers::Contains("layer 0 keeps 1 of its heads but not its selector head 1"));
  s.heads = {{0.0f, 0.0f}, {}};  // the whole branch may go
  CHECK(attnsel::slice_structure(lm, s).config().layer_heads == std::vector<Index>{0, 2});
  s = {};
  s.attention = {0.0f, 0.0f};
  s.mlp = {0.0f, 0.0f};
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::slice_structure(lm, s); }),
             Catch::Matchers::Contains("remove every layer"));
  s = {};
  s.width = {1.0f, 1.0f};
  CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::slice_structure(lm, s); }),
             Catch::Matchers::Contains("'width' has 2 weights"));
  // A plain-attention model may lose any head.
  c.selective = false;
  attnsel::TransformerLM<float> plain(c);
  s = {};
  s.heads = {{1.0f, 0.0f}, {0.0f, 1.0f}};
  CHECK(attnsel::slice_structure(plain, s).config().layer_heads == std::vector<Index>{1, 1});
}

namespace {

/// Calibration batches of random tokens: `n` batches of 2 sequences of `T` tokens.
std::vector<attnsel::TokenBatch> random_batches(Index n, Index T, Index vocab, attnsel::Rng& rng) {
  std::vector<attnsel::TokenBatch> out;
  for (Index k = 0; k < n; ++k) {
    attnsel::TokenBatch b;
    b.batch = 2;
    b.seq_len = T;
    for (Index i = 0; i < 2 * T; ++i) {
      b.inputs.push_back(std::int32_t(attnsel::random::index(rng, std::uint64_t(vocab))));
      b.targets.push_back(std::int32_t(attnsel::random::index(rng, std::uint64_t(vocab))));
    }
    out.push_back(std::move(b));
  }
  return out;
}

/// The non-embedding parameters of a model: all but the embeddings and an untied output layer.
Index non_embedding(attnsel::TransformerLM<float>& m) {
  Index n = m.parameter_count() - m.token_embedding().table().value.size() - m.position_embedding().table().value.size();
  if (m.output_layer()) n -= m.output_layer()->weight().value.size() + m.output_layer()->bias().value.size();
  return n;
}

/// Removed ≥ remove · before, and restoring the removed candidate ranked highest falls short.
void check_exact_budget(const attnsel::StructuredLMPruning<float>& p) {
  const double before = double(p.parameters_before()), now = double(p.parameters_now());
  INFO("removed " << before - now << " of " << before << ", budget " << p.options().remove);
  CHECK(before - now >= p.options().remove * before - 1e-9);
  Index top = -1;
  for (std::size_t i = 0; i < p.alive().size(); ++i)
    if (!p.alive()[i] && (top < 0 || p.scores()[i] >= p.scores()[std::size_t(top)])) top = Index(i);
  REQUIRE(top >= 0);
  std::vector<bool> back = p.alive();
  back[std::size_t(top)] = true;
  CHECK(before - double(p.candidates().non_embedding_parameters(back)) < p.options().remove * before - 1e-9);
}

}  // namespace

TEST_CASE("structured pruning: the candidates' parameter accounting equals the sliced model's", "[lm][structure][prune]") {
  for (bool tied : {true, false}) {
    attnsel::TransformerConfig c = per_layer(lm_config(9, 8, 3, 3, 8), 3, {3, 0, 2}, {10, 7, 0}, {1, 0, 0});
    c.tied_embeddings = tied;
    attnsel::TransformerLM<float> lm(c);
    const attnsel::StructureCandidates<float> cand(
        lm, {attnsel::StructureUnit::width, attnsel::StructureUnit::heads, attnsel::StructureUnit::mlp, attnsel::StructureUnit::sublayers},
        3, false);
    // heads: 2 + 0 + 1 (the selector heads stay); mlp: 4 + 3 groups of 3; sublayers: 4; width: 8.
    CHECK(cand.size() == 3 + 7 + 4 + 8);
    const std::vector<bool> all(std::size_t(cand.size()), true);
    CHECK(cand.non_embedding_parameters(all) == non_embedding(lm));
    attnsel::Rng rng(tied ? 1 : 2);
    Index nothing_left = 0;
    for (int trial = 0; trial < 60; ++trial) {
      std::vector<bool> alive;
      std::vector<float> w;
      for (Index i = 0; i < cand.size(); ++i) {
        alive.push_back(attnsel::random::uniform01(rng) < 0.7);
        w.push_back(alive.back() ? 1.0f : 0.0f);
      }
      const Index counted = cand.non_embedding_parameters(alive);
      INFO("trial " << trial);
      try {
        attnsel::TransformerLM<float> small = attnsel::slice_structure(lm, cand.scales(w));
        CHECK(counted == non_embedding(small));
      } catch (const std::invalid_argument& e) {
        CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains("remove every layer"));
        CHECK(counted == 0);
        ++nothing_left;
      }
    }
    CHECK(nothing_left < 60);
  }
}

TEST_CASE("structured pruning, one-shot methods: every method and unit kind reaches the budget exactly; planted "
          "units go first; FLAP's bias compensation is exact for a constant channel",
          "[lm][structure][prune]") {
  using U = attnsel::StructureUnit;
  using Me = attnsel::StructureMethod;
  attnsel::TransformerConfig c = lm_config(11, 8, 2, 4, 12);
  c.head_dim = 6;  // heads then hold a third of the parameters
  c.selector_heads = {1, 2};
  attnsel::Rng rng(31);
  const std::vector<attnsel::TokenBatch> calib = random_batches(3, 8, 11, rng);
  const std::vector<std::pair<Me, std::vector<U>>> runs = {
      {Me::magnitude, {U::heads}}, {Me::magnitude, {U::mlp}}, {Me::magnitude, {U::sublayers}}, {Me::magnitude, {U::width}},
      {Me::taylor, {U::heads}},    {Me::taylor, {U::mlp}},    {Me::taylor, {U::sublayers}},    {Me::taylor, {U::width}},
      {Me::flap, {U::heads}},      {Me::flap, {U::mlp}},      {Me::flap, {U::heads, U::mlp}},  {Me::shortgpt, {U::sublayers}},
      {Me::random, {U::heads}},    {Me::random, {U::width}},  {Me::random, {U::mlp, U::sublayers}}};
  for (const auto& run : runs)
    for (double remove : {0.1, 0.25}) {
      INFO("method " << attnsel::to_string(run.first) << ", units " << attnsel::to_string(run.second[0]) << (run.second.size() > 1 ? "+" : "")
                     << ", remove " << remove);
      attnsel::TransformerLM<float> lm(c);
      attnsel::Rng r(8);
      randomise(lm.parameters(), r, 0.3);
      attnsel::StructuredPruningOptions o;
      o.method = run.first;
      o.units = run.second;
      o.remove = remove;
      o.mlp_group = 4;
      attnsel::StructuredLMPruning<float> p(lm, o);
      p.prune_one_shot(calib);
      check_exact_budget(p);
      attnsel::TransformerLM<float> small = p.pruned();
      CHECK(non_embedding(small) == p.parameters_now());
      // The pruned model computes the masked one's logits.
      const RowMatrix<float> masked = lm.forward(calib[0].inputs, 8);
      const RowMatrix<float> sliced = small.forward(calib[0].inputs, 8);
      CHECK((sliced - masked).cwiseAbs().maxCoeff() < 1e-5f * std::max(1.0f, masked.cwiseAbs().maxCoeff()));
    }
  // Planted units: the one that does nothing goes first.
  auto first_removed = [&](Me method, U unit, const std::function<void(attnsel::TransformerLM<float>&)>& plant, int layers) {
    attnsel::TransformerConfig one = c;
    one.layers = layers;
    one.selector_heads.resize(std::size_t(layers));
    attnsel::TransformerLM<float> lm(one);
    attnsel::Rng r(9);
    randomise(lm.parameters(), r, 0.3);
    plant(lm);
    attnsel::StructuredPruningOptions o;
    o.method = method;
    o.units = {unit};
    o.remove = 0.001;  // one unit
    o.mlp_group = 1;
    attnsel::StructuredLMPruning<float> p(lm, o);
    p.prune_one_shot(calib);
    std::vector<Index> removed;
    for (std::size_t i = 0; i < p.alive().size(); ++i)
      if (!p.alive()[i]) removed.push_back(Index(i));
    REQUIRE(removed.size() == 1);
    return p.candidates().candidates()[std::size_t(removed[0])];
  };
  auto silence_head = [](Index layer, Index head, bool inputs) {
    return [=](attnsel::TransformerLM<float>& lm) {
      auto& a = lm.block(layer).attention();
      a.output().weight().value.middleRows(head * 6, 6).setZero();
      if (inputs)
        for (Index part = 0; part < 3; ++part) a.qkv().weight().value.middleCols(part * 24 + head * 6, 6).setZero();
    };
  };
  for (Me m : {Me::magnitude, Me::taylor, Me::flap}) {
    INFO("planted head, method " << attnsel::to_string(m));
    const attnsel::StructureCandidate h = first_removed(m, U::heads, silence_head(0, 3, m == Me::magnitude), 1);
    CHECK(h.layer == 0);
    CHECK(h.first == 3);
  }
  {
    const attnsel::StructureCandidate s = first_removed(
        Me::shortgpt, U::sublayers,
        [](attnsel::TransformerLM<float>& lm) {
          lm.block(1).mlp_out().weight().value.setZero();
          lm.block(1).mlp_out().bias().value.setZero();
        },
        2);
    CHECK(s.layer == 1);
    CHECK(s.first == 1);  // the MLP branch
  }
  SECTION("FLAP moves a constant channel's output into the bias: the logits do not change") {
    attnsel::TransformerConfig one = c;
    one.layers = 1;
    one.selector_heads = {1};
    attnsel::TransformerLM<float> lm(one);
    attnsel::Rng r(10);
    randomise(lm.parameters(), r, 0.3);
    lm.block(0).mlp_in().weight().value.col(5).setZero();  // GELU(b1[5]) whatever the input
    lm.block(0).mlp_in().bias().value(0, 5) = 0.8f;
    const RowMatrix<float> before = lm.forward(calib[1].inputs, 8);
    attnsel::StructuredPruningOptions o;
    o.method = Me::flap;
    o.units = {U::mlp};
    o.mlp_group = 1;
    o.remove = 0.001;
    attnsel::StructuredLMPruning<float> p(lm, o);
    p.prune_one_shot(calib);
    REQUIRE_FALSE(p.alive()[5]);
    const RowMatrix<float> after = p.pruned().forward(calib[1].inputs, 8);
    CHECK((after - before).cwiseAbs().maxCoeff() < 1e-5f * std::max(1.0f, before.cwiseAbs().maxCoeff()));
  }
  SECTION("random: the same seed, the same units") {
    auto pick = [&](std::uint64_t seed) {
      attnsel::TransformerLM<float> lm(c);
      attnsel::StructuredPruningOptions o;
      o.method = Me::random;
      o.units = {U::width};
      o.seed = seed;
      attnsel::StructuredLMPruning<float> p(lm, o);
      p.prune_one_shot({});
      return p.alive();
    };
    CHECK(pick(3) == pick(3));
    CHECK(pick(3) != pick(4));
  }
}

TEST_CASE("structured pruning with SA++ through train_lm: the phases, the exact budget, weights of mean 1, the logits' "
          "gradient against central differences",
          "[lm][structure][prune][sapp]") {
  attnsel::TransformerConfig c = lm_config(11, 8, 2, 4, 12);
  c.head_dim = 3;
  c.selector_heads = {0, 3};
  attnsel::Rng rng(12);
  const std::vector<attnsel::TokenBatch> data = random_batches(4, 8, 11, rng);
  for (bool per_layer : {false, true}) {
    INFO("per layer " << per_layer);
    attnsel::TransformerLM<float> lm(c);
    attnsel::Rng r(13);
    randomise(lm.parameters(), r, 0.3);
    attnsel::StructuredPruningOptions o;
    o.units = {attnsel::StructureUnit::heads, attnsel::StructureUnit::mlp};
    o.mlp_group = 6;
    o.remove = 0.3;
    o.per_layer = per_layer;
    o.schedule = attnsel::PruningSchedule{0.1, 1, 0.2, 4.0};
    attnsel::StructuredLMPruning<float> p(lm, o);
    attnsel::LMTrainOptions to;
    to.steps = 60;
    to.warmup_steps = 5;
    to.learning_rate = 1e-2;
    to.eval_every = 0;
    Index k = 0;
    attnsel::train_lm(lm, [&](attnsel::Rng&) { return data[std::size_t(k++ % 4)]; }, {}, to, 1, p.hooks());
    CHECK(p.phase() == attnsel::PruningPhase::fine_tune);
    CHECK(p.resets() == 6);  // dense | sparsify, sparse, dense | sparsify, sparse | fine-tune
    check_exact_budget(p);
    if (per_layer)
      for (Index l = 0; l < 2; ++l) {
        const std::vector<bool> all(p.alive().size(), true);
        const double full = double(p.candidates().non_embedding_parameters(all, l));
        CHECK(full - double(p.candidates().non_embedding_parameters(p.alive(), l)) >= 0.3 * full);
      }
    // Per group, the alive weights have mean 1; the logits moved.
    std::vector<double> sum(std::size_t(p.candidates().groups()), 0.0), n(sum.size(), 0.0);
    for (std::size_t i = 0; i < p.alive().size(); ++i)
      if (p.alive()[i]) {
        sum[std::size_t(p.candidates().candidates()[i].group)] += double(p.weights()[i]);
        n[std::size_t(p.candidates().candidates()[i].group)] += 1;
      }
    for (std::size_t g = 0; g < sum.size(); ++g)
      if (n[g] > 0) CHECK(sum[g] / n[g] == Approx(1.0).epsilon(1e-5));
    CHECK(p.logits().value.cwiseAbs().maxCoeff() > 1e-3f);
    // The sliced model is the trained, weighted one.
    const RowMatrix<float> masked = lm.forward(data[0].inputs, 8);
    const RowMatrix<float> sliced = p.pruned().forward(data[0].inputs, 8);
    CHECK((sliced - masked).cwiseAbs().maxCoeff() < 1e-5f * std::max(1.0f, masked.cwiseAbs().maxCoeff()));
  }
  SECTION("the logits' gradient in a sparsification phase matches central differences (double)") {
    attnsel::TransformerLM<double> lm(c);
    attnsel::Rng r(14);
    randomise(lm.parameters(), r, 0.4);
    attnsel::StructuredPruningOptions o;
    o.units = {attnsel::StructureUnit::heads, attnsel::StructureUnit::mlp, attnsel::StructureUnit::width};
    o.mlp_group = 6;
    o.remove = 0.3;
    attnsel::StructuredLMPruning<double> p(lm, o);
    for (Index i = 0; i < p.logits().value.size(); ++i) p.logits().value(0, i) = attnsel::random::normal(r, 0.0, 0.5);
    const Index steps = 100, step = 20;  // 10 % warm-up, then the first sparsification phase
    p.begin_step(step, steps);
    REQUIRE(p.phase() == attnsel::PruningPhase::sparsify);
    REQUIRE(std::count(p.alive().begin(), p.alive().end(), false) > 0);
    const attnsel::TokenBatch& b = data[0];
    lm.forward_backward(b.inputs, b.targets, b.seq_len);
    p.after_backward();
    const M analytic = p.logits().grad;
    auto loss = [&] {
      p.begin_step(step, steps);  // the same position: the weights of the perturbed logits, nothing removed
      lm.forward(b.inputs, b.seq_len, true);
      return lm.loss(b.targets);
    };
    const std::vector<bool> alive = p.alive();
    CHECK(gradcheck::rel_error(analytic, gradcheck::numeric(p.logits().value, loss)) < 1e-6);
    CHECK(p.alive() == alive);
    for (std::size_t i = 0; i < alive.size(); ++i)
      if (!alive[i]) CHECK(analytic(0, Index(i)) == 0.0);
  }
}

TEST_CASE("structured pruning rejects bad input with a clear error", "[lm][structure][prune][errors]") {
  attnsel::TransformerConfig c = lm_config(7, 6, 2, 2, 8);
  attnsel::TransformerLM<float> lm(c);
  attnsel::StructuredPruningOptions o;
  auto message = [&] { return attnsel_test::invalid_argument_message([&] { attnsel::StructuredLMPruning<float> p(lm, o); }); };
  o.remove = 1.0;
  CHECK_THAT(message(), Catch::Matchers::Contains("'remove' is 1"));
  o.remove = -0.1;
  CHECK_THAT(message(), Catch::Matchers::Contains("'remove' is -0.1"));
  o.remove = 0.25;
  o.units = {};
  CHECK_THAT(message(), Catch::Matchers::Contains("'units' is empty"));
  o.units = {attnsel::StructureUnit::mlp, attnsel::StructureUnit::mlp};
  CHECK_THAT(message(), Catch::Matchers::Contains("names 'mlp' twice"));
  o.units = {attnsel::StructureUnit::heads};
  o.remove = 0.6;  // the non-selector heads hold less than that
  CHECK_THAT(message(), Catch::Matchers::Contains("cannot remove that share"));
  o.remove = 0.25;
  o.units = {attnsel::StructureUnit::width};
  o.method = attnsel::StructureMethod::flap;
  CHECK_THAT(message(), Catch::Matchers::Contains("flap ranks heads and mlp channels only"));
  o.method = attnsel::StructureMethod::shortgpt;
  CHECK_THAT(message(), Catch::Matchers::Contains("shortgpt ranks sublayers only"));
  o.method = attnsel::StructureMethod::sapp;
  o.per_layer = true;
  CHECK_THAT(message(), Catch::Matchers::Contains("'per_layer' applies to heads and mlp only"));
  o.per_layer = false;
  o.schedule.warmup = 1.5;
  CHECK_THAT(message(), Catch::Matchers::Contains("schedule.warmup"));
  o.schedule.warmup = 0.1;
  {
    attnsel::StructuredLMPruning<float> p(lm, o);
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { p.prune_one_shot({}); }),
               Catch::Matchers::Contains("use hooks() with train_lm"));
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { attnsel::StructuredLMPruning<float> q(lm, o); }),
               Catch::Matchers::Contains("already has structure scales"));
    CHECK_THAT(attnsel_test::invalid_argument_message([&] {
                 attnsel::LMTrainOptions to;
                 to.steps = 2;
                 to.checkpoint_path = "unused.ckpt";
                 attnsel::train_lm(lm, [](attnsel::Rng&) { return attnsel::TokenBatch{}; }, {}, to, 1, p.hooks());
               }),
               Catch::Matchers::Contains("a checkpoint does not hold the hooks' state"));
  }
  lm.clear_structure_scales();
  o.method = attnsel::StructureMethod::taylor;
  o.units = {attnsel::StructureUnit::heads};
  o.remove = 0.1;
  {
    attnsel::StructuredLMPruning<float> p(lm, o);
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { p.prune_one_shot({}); }),
               Catch::Matchers::Contains("taylor needs calibration batches"));
    CHECK_THAT(attnsel_test::invalid_argument_message([&] { p.hooks(); }), Catch::Matchers::Contains("prunes with prune_one_shot"));
  }
  CHECK_THAT(attnsel_test::invalid_argument_message([] { attnsel::parse_structure_unit("layers"); }),
             Catch::Matchers::Contains("unknown unit kind 'layers'"));
  CHECK_THAT(attnsel_test::invalid_argument_message([] { attnsel::parse_structure_method("wanda"); }),
             Catch::Matchers::Contains("unknown method 'wanda'"));
  CHECK(attnsel::parse_structure_method("shortgpt") == attnsel::StructureMethod::shortgpt);
}
