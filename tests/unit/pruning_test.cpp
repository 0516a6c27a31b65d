// Block pruning (pruning/): grids, the phase schedule, SequentialAttention++ and the baselines'
// masks and gradients, training through the Dense weight-mask hook, and bad arguments.
#include "../catch_compat.hpp"

#include <attnsel/attnsel.hpp>

#include <cmath>
#include <limits>
#include <set>
#include <vector>

using attnsel::BlockGrid;
using attnsel::BlockMask;
using attnsel::Index;
using attnsel::PruningMethod;
using attnsel::PruningOptions;
using attnsel::PruningPhase;
using attnsel::RowMatrix;
using Mat = RowMatrix<double>;

namespace {

Mat random_mat(Index r, Index c, std::uint64_t seed, double sd = 1.0) {
  attnsel::Rng rng(seed);
  Mat m(r, c);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = attnsel::random::normal(rng, 0.0, sd);
  return m;
}

PruningOptions<double> small_options(double sparsity) {
  PruningOptions<double> o;
  o.sparsity = sparsity;
  o.min_blocks = 0;
  return o;
}

}  // namespace

TEST_CASE("BlockGrid: partial edge blocks, reductions and expansion", "[pruning][grid]") {
  const BlockGrid g(37, 53, 8, 16);
  CHECK(g.grid_rows() == 5);
  CHECK(g.grid_cols() == 4);
  CHECK(g.blocks() == 20);
  CHECK(g.block_size(0) == 128);
  CHECK(g.block_size(19) == 5 * 5);  // last row of blocks has 37 - 32 rows, last column 53 - 48
  const Mat W = random_mat(37, 53, 1);
  const Mat s = g.block_sum(W), n = g.block_norms(W);
  for (Index br = 0; br < 5; ++br)
    for (Index bc = 0; bc < 4; ++bc) {
      double sum = 0, sq = 0;
      for (Index i = br * 8; i < std::min<Index>(37, br * 8 + 8); ++i)
        for (Index j = bc * 16; j < std::min<Index>(53, bc * 16 + 16); ++j) {
          sum += W(i, j);
          sq += W(i, j) * W(i, j);
        }
      CHECK(s(br, bc) == Approx(sum));
      CHECK(n(br, bc) == Approx(std::sqrt(sq)));
    }
  const Mat e = g.expand(n);
  CHECK(e(36, 52) == n(4, 3));
  CHECK(e(8, 15) == n(1, 0));
  BlockMask m = BlockMask::Constant(5, 4, false);
  m(2, 1) = true;
  const Mat em = g.element_mask<double>(m);
  CHECK(em.sum() == Approx(8 * 16));
  CHECK(em(16, 16) == 1.0);
  CHECK(em(15, 16) == 0.0);
  ATTNSEL_CHECK_INVALID(BlockGrid(10, 10, 0, 2), "block_rows", "[1, 10]", "0");
  ATTNSEL_CHECK_INVALID(BlockGrid(10, 10, 2, 11), "block_cols", "[1, 10]", "11");
  ATTNSEL_CHECK_INVALID(BlockGrid(0, 10, 1, 1), "1 x 1", "0 x 10");
  ATTNSEL_CHECK_INVALID(g.expand(Mat::Zero(4, 4)), "block values", "4 x 4", "5 x 4");
  ATTNSEL_CHECK_INVALID(g.block_sum(Mat::Zero(36, 53)), "36 x 53", "37 x 53");
}

TEST_CASE("PruningSchedule: phase order, boundaries and the sparsity curve", "[pruning][schedule]") {
  attnsel::PruningSchedule s;
  s.warmup = 0.1;
  s.cycles = 2;
  s.fine_tune = 0.1;
  std::vector<PruningPhase> seen_pp, seen_acdc;
  Index last_pp = -1, last_acdc = -1;
  for (int i = 0; i <= 10000; ++i) {
    const double tau = i / 10000.0;
    const auto p = s.at(tau, true), a = s.at(tau, false);
    if (p.index != last_pp) seen_pp.push_back(p.phase);
    if (a.index != last_acdc) seen_acdc.push_back(a.phase);
    CHECK(p.u >= 0.0);
    CHECK(p.u <= 1.0);
    last_pp = p.index;
    last_acdc = a.index;
  }
  using P = PruningPhase;
  CHECK(seen_pp == std::vector<P>{P::dense, P::sparsify, P::sparse, P::dense, P::sparsify, P::sparse, P::dense,
                                  P::sparsify, P::sparse, P::fine_tune});
  CHECK(seen_acdc == std::vector<P>{P::dense, P::sparse, P::dense, P::sparse, P::dense, P::sparse, P::fine_tune});
  CHECK(s.sparsity_at(0.0, 0.9) == 0.0);
  CHECK(s.sparsity_at(1.0, 0.9) == 0.9);
  double prev = 0;
  for (double u = 0.05; u < 1; u += 0.05) {
    const double v = s.sparsity_at(u, 0.9);
    CHECK(v > prev);
    CHECK(v - prev <= 0.9 * 0.05 * 4.0 / (1 - std::exp(-4.0)) + 1e-12);  // slope at most c·s/(1−e^{−c})
    prev = v;
  }
  CHECK(s.sparsity_at(0.5, 0.9) > 0.45 * 1.5);  // prunes fast early (c = 4)
  attnsel::PruningSchedule bad = s;
  bad.warmup = 0.95;
  ATTNSEL_CHECK_INVALID(bad.validate("test"), "warmup + schedule.fine_tune", "1.05");
  bad = s;
  bad.c = 0;
  ATTNSEL_CHECK_INVALID(bad.validate("test"), "schedule.c", "0");
}

TEST_CASE("SequentialAttention++: block logits gradient matches finite differences", "[pruning][sapp]") {
  const BlockGrid g(9, 7, 3, 2);  // 3 x 4 blocks, partial last column
  auto o = small_options(0.5);
  o.attention_max = 1.6;  // some blocks clipped: their gradient is zero
  attnsel::SequentialAttentionPP<double> p(g, o);
  p.logits().value = random_mat(3, 4, 3, 0.5);
  Mat W = random_mat(9, 7, 4);
  const Mat G = random_mat(9, 7, 5);
  REQUIRE_FALSE(p.set_progress(0.0, W));  // warm-up: dense, no mask
  REQUIRE(p.phase() == PruningPhase::dense);
  auto loss = [&](const Mat& logits) {
    attnsel::SequentialAttentionPP<double> q(g, o);
    q.logits().value = logits;
    Mat w = W;
    q.set_progress(0.0, w);
    return (q.effective_weight(w).array() * G.array()).sum();
  };
  p.logits().grad.setZero();
  const Mat dW = p.weight_gradient(W, G);
  CHECK((dW - G.cwiseProduct(p.multiplier())).cwiseAbs().maxCoeff() < 1e-14);
  Index clipped = 0;
  for (Index b = 0; b < 12; ++b) {
    Mat up = p.logits().value, down = up;
    up.data()[b] += 1e-6;
    down.data()[b] -= 1e-6;
    const double fd = (loss(up) - loss(down)) / 2e-6;
    CHECK(p.logits().grad.data()[b] == Approx(fd).margin(1e-7));
    clipped += p.attention().data()[b] == 1.6;
  }
  CHECK(clipped >= 1);
  CHECK(p.attention().sum() <= 12.0 + 1e-12);
}

TEST_CASE("SequentialAttention++: sparsification follows the schedule down to exactly k blocks", "[pruning][sapp]") {
  const BlockGrid g(40, 40, 4, 4);  // 100 blocks
  auto o = small_options(0.8);
  o.schedule.warmup = 0.2;
  o.schedule.cycles = 0;
  o.schedule.fine_tune = 0.2;
  attnsel::SequentialAttentionPP<double> p(g, o);
  p.logits().value = random_mat(10, 10, 7);
  Mat W = random_mat(40, 40, 8);
  Index prev_alive = 100;
  const double seg_start = 0.2, seg = 0.6;
  for (int i = 0; i <= 1000; ++i) {
    const double tau = i / 1000.0;
    p.set_progress(tau, W);
    const Index alive = p.mask().count();
    CHECK(alive <= prev_alive);  // only ever prunes within the phase
    prev_alive = alive;
    if (p.phase() == PruningPhase::sparsify) {
      const double u = (tau - seg_start) / (seg / 3.0);
      const double s = o.schedule.sparsity_at(u, 0.8);
      CHECK(alive == std::max<Index>(20, std::llround((1 - s) * 100)));
      // the pruned blocks are those with the smallest attention
      double min_alive = 1e300, max_pruned = -1e300;
      for (Index b = 0; b < 100; ++b) {
        if (p.mask().data()[b]) min_alive = std::min(min_alive, p.attention().data()[b]);
        else max_pruned = std::max(max_pruned, p.attention().data()[b]);
      }
      CHECK(min_alive >= max_pruned);
    }
    if (p.phase() == PruningPhase::sparse || p.phase() == PruningPhase::fine_tune) CHECK(alive == 20);
  }
  CHECK(p.phase() == PruningPhase::fine_tune);
  CHECK_FALSE(p.logits().trainable);
  // The multiplier is zero exactly outside the mask.
  const Mat em = g.element_mask<double>(p.mask());
  CHECK((p.multiplier().array() == 0.0).cast<double>().sum() == Approx((1 - em.array()).sum()));
}

TEST_CASE("Baselines: magnitude, Powerprop and ACDC masks and gradients", "[pruning][baselines]") {
  const BlockGrid g(24, 24, 4, 4);  // 36 blocks
  const auto o = small_options(0.75);  // keep 9
  SECTION("magnitude keeps the largest block norms at fine-tuning") {
    attnsel::MagnitudePruner<double> p(g, o);
    Mat W = random_mat(24, 24, 11);
    for (Index b = 0; b < 6; ++b) W.block(b * 4, b * 4, 4, 4) *= 10.0;  // six big diagonal blocks
    W.block(0, 20, 4, 4) *= 5.0;
    p.set_progress(0.5, W);
    CHECK(p.mask().count() == 36);
    const Mat norms = g.block_norms(W);
    CHECK(p.set_progress(0.85, W));  // entering fine-tuning is a boundary
    CHECK(p.mask().count() == 9);
    for (Index b = 0; b < 6; ++b) CHECK(p.mask()(b, b));
    CHECK(p.mask()(0, 5));
    // the kept blocks are the 9 largest norms
    std::vector<double> v(norms.data(), norms.data() + 36);
    std::sort(v.rbegin(), v.rend());
    for (Index b = 0; b < 36; ++b) CHECK(p.mask().data()[b] == (norms.data()[b] >= v[8]));
    CHECK(g.block_norms(W).cwiseProduct(g.block_norms(W)).sum() > 0);
    for (Index b = 0; b < 36; ++b)
      if (!p.mask().data()[b]) CHECK(g.block_norms(W).data()[b] == 0.0);  // pruned weights zeroed
  }
  SECTION("Powerprop keeps the effective initial weights and its gradient is exact") {
    attnsel::PowerpropPruner<double> p(g, o);
    const Mat W0 = random_mat(24, 24, 12);
    Mat W = W0;
    p.set_progress(0.0, W);
    CHECK((p.effective_weight(W) - W0).cwiseAbs().maxCoeff() < 1e-12);
    const Mat G = random_mat(24, 24, 13);
    const Mat dW = p.weight_gradient(W, G);
    auto loss = [&](const Mat& w) {
      attnsel::PowerpropPruner<double> q(g, o);
      Mat c = w;
      q.set_progress(0.0, c);  // rescales once: undo by comparing through the same rescale
      return (q.effective_weight(c).array() * G.array()).sum();
    };
    // Check through the rescaled parameterisation: perturb W (already rescaled), recompute norms.
    auto loss_rescaled = [&](const Mat& w) {
      const Mat n = g.expand(g.block_norms(w));
      return (w.cwiseProduct(n).array() * G.array()).sum();
    };
    (void)loss;
    for (Index t = 0; t < 20; ++t) {
      const Index i = (t * 7) % 24, j = (t * 11) % 24;
      Mat up = W, down = W;
      up(i, j) += 1e-6;
      down(i, j) -= 1e-6;
      CHECK(dW(i, j) == Approx((loss_rescaled(up) - loss_rescaled(down)) / 2e-6).margin(1e-6));
    }
  }
  SECTION("ACDC alternates magnitude masks with dense phases") {
    auto oa = o;
    oa.schedule.warmup = 0.1;
    oa.schedule.cycles = 1;
    oa.schedule.fine_tune = 0.1;
    attnsel::ACDCPruner<double> p(g, oa);
    Mat W = random_mat(24, 24, 14);
    std::vector<std::pair<PruningPhase, Index>> phases;
    for (int i = 0; i <= 100; ++i) {
      const bool boundary = p.set_progress(i / 100.0, W);
      if (boundary || i == 0) phases.emplace_back(p.phase(), p.mask().count());
      if (p.phase() == PruningPhase::sparse) {
        for (Index b = 0; b < 36; ++b)
          if (!p.mask().data()[b]) CHECK(g.block_norms(W).data()[b] == 0.0);
      }
    }
    using P = PruningPhase;
    REQUIRE(phases.size() == 5);
    CHECK(phases[0] == std::make_pair(P::dense, Index(36)));
    CHECK(phases[1] == std::make_pair(P::sparse, Index(9)));
    CHECK(phases[2] == std::make_pair(P::dense, Index(36)));
    CHECK(phases[3] == std::make_pair(P::sparse, Index(9)));
    CHECK(phases[4] == std::make_pair(P::fine_tune, Index(9)));
  }
  SECTION("layers with fewer than min_blocks blocks stay dense") {
    auto od = o;
    od.min_blocks = 100;
    for (auto m : {PruningMethod::sequential_attention_pp, PruningMethod::magnitude, PruningMethod::powerprop,
                   PruningMethod::acdc}) {
      auto p = attnsel::make_pruner<double>(m, g, od);
      Mat W = random_mat(24, 24, 15);
      const Mat W0 = W;
      for (int i = 0; i <= 20; ++i) CHECK_FALSE(p->set_progress(i / 20.0, W));
      CHECK_FALSE(p->active());
      CHECK(p->mask().count() == 36);
      CHECK(p->kept_blocks() == 36);
      CHECK(W == W0);
      CHECK(p->multiplier().isOnes());
    }
  }
}

TEST_CASE("Block pruning trains an MLP through the Dense mask hook", "[pruning][train]") {
  // Two Gaussian classes in 32 dimensions where only the first 8 inputs carry signal.
  const Index n = 600, d = 32;
  attnsel::Rng rng(21);
  RowMatrix<float> X(n, d), Y(n, 1);
  for (Index i = 0; i < n; ++i) {
    const int c = int(i % 2);
    Y(i, 0) = float(c);
    for (Index j = 0; j < d; ++j)
      X(i, j) = float(attnsel::random::normal(rng) + (j < 8 ? (c ? 1.0 : -1.0) : 0.0));
  }
  for (auto method : {PruningMethod::sequential_attention_pp, PruningMethod::magnitude, PruningMethod::powerprop,
                      PruningMethod::acdc}) {
    auto run = [&] {
      attnsel::MLPOptions mo;
      mo.hidden = {32};
      mo.seed = 3;
      auto model = attnsel::make_mlp<float>(d, 2, mo);
      attnsel::AdamOptions<float> ao;
      ao.learning_rate = 3e-3f;
      attnsel::Adam<float> adam(ao);
      attnsel::BlockPruning<float, attnsel::Adam<float>> pruning(adam);
      PruningOptions<float> po;
      po.sparsity = 0.75;
      po.min_blocks = 0;
      pruning.add(model, 0, method, 4, po);
      adam.add_parameters(model.parameters());
      attnsel::TrainOptions<float> t;
      t.epochs = 30;
      t.batch_size = 50;
      t.seed = 5;
      attnsel::fit(model, attnsel::SoftmaxCrossEntropy<float>{}, adam, X, Y, t, pruning);
      const float acc = attnsel::accuracy(model.predict(X), Y);
      return std::make_tuple(pruning.pruner(0).mask(), acc, pruning.resets(),
                             pruning.pruner(0).effective_weight(dynamic_cast<attnsel::Dense<float>&>(model.layer(0)).weight().value));
    };
    const auto [mask, acc, resets, weff] = run();
    INFO("method " << attnsel::to_string(method));
    CHECK(mask.count() == 16);  // 8 x 8 blocks of 4 x 4, 25 % kept
    // The kept blocks are the informative inputs' (rows 0-7 of W = block rows 0 and 1): a random
    // 25 % mask has 4 of its 16 blocks there on average (10 or more with probability 2e-4).
    Index informative = 0;
    for (Index c = 0; c < 8; ++c) informative += Index(mask(0, c)) + Index(mask(1, c));
    CHECK(informative >= 10);  // SA++, magnitude, Powerprop: 12 or more; ACDC: 10
    CHECK(acc > 0.9f);
    CHECK(resets >= 1);
    // The effective weight is zero on pruned blocks.
    const BlockGrid g(32, 32, 4, 4);
    const auto norms = g.block_norms(weff);
    for (Index b = 0; b < 64; ++b)
      if (!mask.data()[b]) CHECK(norms.data()[b] == 0.0f);
    // Same seed, same mask.
    const auto [mask2, acc2, resets2, weff2] = run();
    CHECK(mask2 == mask);
    CHECK(acc2 == acc);
    (void)resets2;
    (void)weff2;
  }
}

TEST_CASE("Pruning: bad arguments", "[pruning][errors]") {
  const BlockGrid g(16, 16, 4, 4);
  auto o = small_options(0.9);
  o.sparsity = 1.0;
  ATTNSEL_CHECK_INVALID(attnsel::SequentialAttentionPP<double>(g, o), "sparsity", "[0, 1)", "1");
  o.sparsity = -0.1;
  ATTNSEL_CHECK_INVALID(attnsel::MagnitudePruner<double>(g, o), "sparsity", "-0.1");
  o.sparsity = std::numeric_limits<double>::quiet_NaN();
  ATTNSEL_CHECK_INVALID(attnsel::ACDCPruner<double>(g, o), "sparsity", "nan");
  o = small_options(0.5);
  o.attention_min = 2;
  o.attention_max = 1;
  ATTNSEL_CHECK_INVALID(attnsel::SequentialAttentionPP<double>(g, o), "attention_min", "2", "1");
  o = small_options(0.5);
  o.schedule.fine_tune = 1.5;
  ATTNSEL_CHECK_INVALID(attnsel::PowerpropPruner<double>(g, o), "fine_tune", "1.5");
  attnsel::SequentialAttentionPP<double> p(g, small_options(0.5));
  Mat W = Mat::Zero(16, 15);
  ATTNSEL_CHECK_INVALID(p.set_progress(0.1, W), "W is 16 x 15", "16 x 16");
  Mat W2 = Mat::Zero(16, 16);
  ATTNSEL_CHECK_INVALID(p.set_progress(1.5, W2), "tau", "1.5");
  ATTNSEL_CHECK_INVALID(p.weight_gradient(W2, Mat::Zero(3, 3)), "dW_eff", "3 x 3");
  // BlockPruning: wrong layer shape, layer index out of range.
  auto model = attnsel::make_mlp<double>(16, 3, attnsel::MLPOptions{});
  attnsel::Adam<double> adam;
  attnsel::BlockPruning<double, attnsel::Adam<double>> pruning(adam);
  ATTNSEL_CHECK_INVALID(pruning.add(model, 5, PruningMethod::magnitude, 4), "dense_index 5", "2 Dense layers");
  ATTNSEL_CHECK_INVALID(pruning.add(model, 0, PruningMethod::magnitude, 0), "block_rows", "0");
  ATTNSEL_CHECK_INVALID(pruning.add(model, 0, PruningMethod::magnitude, 17), "block_rows", "17");
}

TEST_CASE("SequentialAttention++ from a user's own training loop finds a planted block support", "[pruning][sapp]") {
  // Least squares Y = X W* where W* (16 x 8, blocks 4 x 4: a 4 x 2 grid) has 2 non-zero blocks.
  const Index n = 400;
  const Mat X = random_mat(n, 16, 31);
  Mat Wstar = Mat::Zero(16, 8);
  Wstar.block(4, 0, 4, 4) = random_mat(4, 4, 32) + Mat::Constant(4, 4, 1.0);
  Wstar.block(12, 4, 4, 4) = random_mat(4, 4, 33) - Mat::Constant(4, 4, 1.0);
  const Mat Y = X * Wstar + 0.05 * random_mat(n, 8, 34);
  const BlockGrid g(16, 8, 4, 4);
  auto o = small_options(0.75);  // keep 2 of 8 blocks
  o.schedule.warmup = 0.2;
  o.schedule.cycles = 1;
  o.schedule.fine_tune = 0.2;
  attnsel::SequentialAttentionPP<double> p(g, o);
  Mat W = 0.01 * random_mat(16, 8, 35);
  const int steps = 2000;
  Index boundaries = 0;
  for (int s = 0; s < steps; ++s) {
    boundaries += p.set_progress(double(s) / steps, W);
    const Mat Weff = p.effective_weight(W);
    const Mat dWeff = X.transpose() * (X * Weff - Y) / double(n);
    p.logits().grad.setZero();
    const Mat dW = p.weight_gradient(W, dWeff);
    W -= 0.05 * dW;
    if (p.logits().trainable) p.logits().value -= 0.05 * p.logits().grad;
  }
  p.set_progress(1.0, W);
  BlockMask expect = BlockMask::Constant(4, 2, false);
  expect(1, 0) = expect(3, 1) = true;
  CHECK(p.mask() == expect);
  CHECK(boundaries == 6);  // dense → sparsify → sparse → dense → sparsify → sparse → fine-tune
  const double rel = (p.effective_weight(W) - Wstar).norm() / Wstar.norm();
  CHECK(rel < 0.05);
}

TEST_CASE("BlockPruning prunes several dense layers of one model at once", "[pruning][train]") {
  const Index n = 300, d = 16;
  attnsel::Rng rng(41);
  RowMatrix<float> X(n, d), Y(n, 1);
  for (Index i = 0; i < n; ++i) {
    Y(i, 0) = float(i % 3);
    for (Index j = 0; j < d; ++j) X(i, j) = float(attnsel::random::normal(rng) + (j % 3 == i % 3 ? 1.5 : 0.0));
  }
  attnsel::MLPOptions mo;
  mo.hidden = {16, 16};
  auto model = attnsel::make_mlp<float>(d, 3, mo);
  attnsel::Adam<float> adam;
  attnsel::BlockPruning<float, attnsel::Adam<float>> pruning(adam);
  PruningOptions<float> po;
  po.sparsity = 0.5;
  po.min_blocks = 0;
  auto& first = pruning.add(model, 0, PruningMethod::sequential_attention_pp, 4, po);
  auto& second = pruning.add(model, 1, PruningMethod::acdc, 2, po);
  adam.add_parameters(model.parameters());
  CHECK(adam.parameter_count() == 1 + 6);  // SA++ logits + 3 Dense layers' W and b
  attnsel::TrainOptions<float> t;
  t.epochs = 20;
  t.batch_size = 30;
  attnsel::fit(model, attnsel::SoftmaxCrossEntropy<float>{}, adam, X, Y, t, pruning);
  CHECK(first.mask().count() == 8);    // 16 blocks of 4 x 4, half kept
  CHECK(second.mask().count() == 32);  // 64 blocks of 2 x 2
  CHECK(first.phase() == PruningPhase::fine_tune);
  CHECK(second.phase() == PruningPhase::fine_tune);
  CHECK(attnsel::accuracy(model.predict(X), Y) > 0.8f);
}
