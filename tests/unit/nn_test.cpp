// Gradient checks: every layer and loss against central finite differences in double
// (relative error <= 1e-6), including the two mask hooks; plus shape errors.
#include "../catch_compat.hpp"
#include "gradcheck.hpp"
#include "threads.hpp"

#include <attnsel/attnsel.hpp>

#include <memory>

using namespace attnsel;
using gradcheck::M;

namespace {

constexpr double kTol = 1e-6;

/// f(X) = sum(layer(X) ⊙ R): checks dX and every parameter gradient of `layer`.
void check_layer(Layer<double>& layer, M X, attnsel::Rng& rng, bool train = true) {
  M Y;
  layer.forward(X, Y, train);
  const M R = gradcheck::random_away_from_zero(Y.rows(), Y.cols(), rng, 0.0);
  M dX;
  layer.backward(X, Y, R, &dX);
  std::vector<M> analytic;
  for (Parameter<double>* p : layer.parameters()) analytic.push_back(p->grad);

  auto f = [&] {
    M out;
    layer.forward(X, out, train);
    return out.cwiseProduct(R).sum();
  };
  CHECK(gradcheck::rel_error(gradcheck::numeric(X, f), dX) <= kTol);
  std::size_t i = 0;
  for (Parameter<double>* p : layer.parameters()) {
    INFO("parameter " << p->name << " of " << layer.describe());
    CHECK(gradcheck::rel_error(gradcheck::numeric(p->value, f), analytic[i++]) <= kTol);
  }
}

}  // namespace

TEST_CASE("Dense gradients", "[nn][gradcheck]") {
  attnsel::Rng rng(1);
  Dense<double> layer(5, 4, rng);
  layer.bias().value.setRandom();
  check_layer(layer, gradcheck::random_away_from_zero(7, 5, rng), rng);
}

TEST_CASE("Dense with a weight mask: gradients w.r.t. W, b, X and the mask M", "[nn][gradcheck]") {
  attnsel::Rng rng(2);
  Dense<double> layer(6, 3, rng);
  M mask = gradcheck::random_away_from_zero(6, 3, rng);
  mask(0, 0) = 0;  // a pruned entry: its weight gets no gradient
  layer.set_weight_mask(mask);
  check_layer(layer, gradcheck::random_away_from_zero(5, 6, rng), rng);
  CHECK(layer.weight().grad(0, 0) == 0.0);

  const M X = gradcheck::random_away_from_zero(5, 6, rng);
  M Y;
  layer.forward(X, Y, true);
  const M R = gradcheck::random_away_from_zero(5, 3, rng, 0.0);
  layer.backward(X, Y, R, nullptr);
  const M dM = layer.weight_mask_grad();
  auto f = [&] {
    layer.set_weight_mask(mask);
    M out;
    layer.forward(X, out, true);
    return out.cwiseProduct(R).sum();
  };
  CHECK(gradcheck::rel_error(gradcheck::numeric(mask, f), dM) <= kTol);
  // Effective kernel is W ⊙ M, and clearing the mask restores W.
  layer.set_weight_mask(mask);
  layer.forward(X, Y, true);
  CHECK((layer.effective_weight() - layer.weight().value.cwiseProduct(mask)).norm() == 0.0);
  layer.clear_weight_mask();
  CHECK((layer.effective_weight() - layer.weight().value).norm() == 0.0);
}

TEST_CASE("Dense with thread-count independent products: gradients, the default path's values, 1 and 2 threads bitwise", "[nn][gradcheck][determinism]") {
  attnsel::Rng rng(21);
  {
    // 300 rows and 70 outputs: two row chunks and two gradient column chunks; masked and plain.
    Dense<double> layer(5, 70, rng);
    layer.bias().value.setRandom();
    layer.set_thread_count_independent(true);
    check_layer(layer, gradcheck::random_away_from_zero(300, 5, rng), rng);
    layer.set_weight_mask(gradcheck::random_away_from_zero(5, 70, rng));
    check_layer(layer, gradcheck::random_away_from_zero(300, 5, rng), rng);
  }
  // A product deep enough (400) that a blocked product could round by the thread count.
  RowMatrix<float> X(600, 400), R(600, 130);
  for (Index i = 0; i < X.size(); ++i) X.data()[i] = float(random::normal(rng));
  for (Index i = 0; i < R.size(); ++i) R.data()[i] = float(random::normal(rng));
  Dense<float> layer(400, 130, rng);
  layer.bias().value.setRandom();
  struct Out {
    RowMatrix<float> Y, dX, dW, db;
  };
  auto run = [&](bool independent, int threads) {
    return attnsel_test::with_threads(threads, [&] {
      layer.set_thread_count_independent(independent);
      Out o;
      layer.forward(X, o.Y, true);
      layer.backward(X, o.Y, R, &o.dX);
      o.dW = layer.weight().grad;
      o.db = layer.bias().grad;
      return o;
    });
  };
  const Out ref = run(false, 1), ref2 = run(false, 2), one = run(true, 1), two = run(true, 2);
  const auto same = [](const Out& a, const Out& b) {
    return a.Y == b.Y && a.dX == b.dX && a.dW == b.dW && a.db == b.db;
  };
  CHECK(same(one, two));
  // Every entry of a product is one fixed-order chain (simd/gemm.hpp): the default path has the
  // same bits as the chunked one, on 1 and on 2 threads.
  CHECK(same(ref, one));
  CHECK(same(ref2, one));
  CHECK(ref.Y.norm() > 0);
}

TEST_CASE("a Dense row has the same bits alone, in any batch and on 1 or 2 threads", "[nn][determinism]") {
  // simd/gemm.hpp computes each entry as one p-ordered chain: the default path of Dense gives a
  // row the same output and input gradient whatever the other rows are, and threads only split
  // rows.
  attnsel::Rng rng(5);
  RowMatrix<float> X(300, 257), R(300, 70);
  for (Index i = 0; i < X.size(); ++i) X.data()[i] = float(random::normal(rng));
  for (Index i = 0; i < R.size(); ++i) R.data()[i] = float(random::normal(rng));
  Dense<float> layer(257, 70, rng);
  layer.bias().value.setRandom();
  auto run = [&](const RowMatrix<float>& x, const RowMatrix<float>& r, int threads, RowMatrix<float>& dX) {
    return attnsel_test::with_threads(threads, [&] {
      RowMatrix<float> Y;
      layer.forward(x, Y, true);
      layer.backward(x, Y, r, &dX);
      return Y;
    });
  };
  RowMatrix<float> dX1, dX2, dXrow;
  const RowMatrix<float> Y1 = run(X, R, 1, dX1), Y2 = run(X, R, 2, dX2);
  CHECK(Y1 == Y2);
  CHECK(dX1 == dX2);
  for (Index r : {Index(0), Index(7), Index(299)}) {
    const RowMatrix<float> Yr = run(X.middleRows(r, 1), R.middleRows(r, 1), 1, dXrow);
    CHECK(Yr == Y1.middleRows(r, 1));
    CHECK(dXrow == dX1.middleRows(r, 1));
  }
}

TEST_CASE("ReLU gradients", "[nn][gradcheck]") {
  attnsel::Rng rng(3);
  ReLU<double> layer(6);
  check_layer(layer, gradcheck::random_away_from_zero(4, 6, rng), rng);
}

TEST_CASE("BatchNorm gradients in training and evaluation mode", "[nn][gradcheck]") {
  attnsel::Rng rng(4);
  BatchNorm<double> layer(5);
  layer.gamma().value.setRandom();
  layer.beta().value.setRandom();
  check_layer(layer, gradcheck::random_away_from_zero(8, 5, rng) * 3.0, rng, true);
  check_layer(layer, gradcheck::random_away_from_zero(8, 5, rng), rng, false);
}

TEST_CASE("BatchNorm normalises in training mode and tracks running statistics", "[nn]") {
  attnsel::Rng rng(5);
  BatchNorm<double> bn(3, {0.5, 1e-3});
  M X = gradcheck::random_away_from_zero(50, 3, rng) * 4.0;
  X.col(1).array() += 10.0;
  M Y;
  bn.forward(X, Y, true);
  CHECK(Y.colwise().mean().cwiseAbs().maxCoeff() < 1e-12);
  const M var = Y.array().square().colwise().mean();
  CHECK((var.array() - 1.0).abs().maxCoeff() < 1e-3);
  // momentum 0.5: running mean = 0.5·0 + 0.5·batch mean
  CHECK(std::fabs(bn.running_mean()(0, 1) - 0.5 * X.col(1).mean()) < 1e-12);
}

TEST_CASE("FeatureScale gradients w.r.t. X and the scale a", "[nn][gradcheck]") {
  attnsel::Rng rng(6);
  FeatureScale<double> layer(5);
  M a = gradcheck::random_away_from_zero(1, 5, rng);
  layer.set_scale(a);
  const M X = gradcheck::random_away_from_zero(6, 5, rng);
  check_layer(layer, X, rng);
  M Y;
  layer.forward(X, Y, true);
  const M R = gradcheck::random_away_from_zero(6, 5, rng, 0.0);
  layer.backward(X, Y, R, nullptr);
  const M da = layer.scale_grad();
  auto f = [&] {
    layer.set_scale(a);
    M out;
    layer.forward(X, out, true);
    return out.cwiseProduct(R).sum();
  };
  CHECK(gradcheck::rel_error(gradcheck::numeric(a, f), da) <= kTol);
}

TEST_CASE("loss gradients: softmax cross-entropy, binary logistic, mean squared error", "[nn][gradcheck]") {
  attnsel::Rng rng(7);
  M Z = gradcheck::random_away_from_zero(6, 4, rng) * 3.0;
  M y(6, 1);
  y << 0, 3, 1, 1, 2, 0;
  SoftmaxCrossEntropy<double> ce;
  M g;
  ce.value_and_grad(Z, y, g);
  CHECK(gradcheck::rel_error(gradcheck::numeric(Z, [&] { return ce.value(Z, y); }), g) <= kTol);

  M z = gradcheck::random_away_from_zero(6, 1, rng) * 5.0;
  M b(6, 1);
  b << 0, 1, 1, 0, 1, 0;
  BinaryLogistic<double> bl;
  bl.value_and_grad(z, b, g);
  CHECK(gradcheck::rel_error(gradcheck::numeric(z, [&] { return bl.value(z, b); }), g) <= kTol);

  M P = gradcheck::random_away_from_zero(5, 2, rng);
  const M T = gradcheck::random_away_from_zero(5, 2, rng);
  MeanSquaredError<double> mse;
  mse.value_and_grad(P, T, g);
  CHECK(gradcheck::rel_error(gradcheck::numeric(P, [&] { return mse.value(P, T); }), g) <= kTol);
}

TEST_CASE("loss values and metrics on hand-checked inputs", "[nn]") {
  M Z(2, 3);
  Z << 1, 2, 3, 0, 0, 0;
  M y(2, 1);
  y << 2, 1;
  const double l0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0;
  const double l1 = std::log(3.0);
  CHECK(std::fabs(SoftmaxCrossEntropy<double>{}.value(Z, y) - (l0 + l1) / 2) < 1e-12);
  CHECK(SoftmaxCrossEntropy<double>{}.metric(Z, y) == 0.5);  // row 1 ties -> class 0, wrong
  M z(3, 1), b(3, 1);
  z << 800, -800, 0;  // extreme logits stay finite
  b << 1, 0, 1;
  CHECK(std::fabs(BinaryLogistic<double>{}.value(z, b) - std::log(2.0) / 3) < 1e-12);
  CHECK(std::fabs(BinaryLogistic<double>{}.metric(z, b) - 2.0 / 3) < 1e-12);
  M p(2, 1), t(2, 1);
  p << 1, 3;
  t << 0, 0;
  CHECK(MeanSquaredError<double>{}.value(p, t) == 5.0);
  CHECK(accuracy(Z, y) == 0.5);
  CHECK(log_loss(Z, y) == SoftmaxCrossEntropy<double>{}.value(Z, y));
  CHECK(accuracy(z, b) == BinaryLogistic<double>{}.metric(z, b));
  CHECK(rmse(p, t) == std::sqrt(5.0));
  CHECK(std::fabs(MeanSquaredError<double>{}.metric(p, t) - std::sqrt(5.0)) < 1e-12);
}

TEST_CASE("a whole MLP (BatchNorm, FeatureScale, Dense, ReLU) passes the gradient check", "[nn][gradcheck]") {
  MLPOptions opt;
  opt.hidden = {7, 5};
  opt.input_batch_norm = true;
  opt.feature_scale = true;
  opt.seed = 11;
  Sequential<double> model = make_mlp<double>(4, 3, opt);
  attnsel::Rng rng(8);
  model.find<FeatureScale<double>>()->set_scale(gradcheck::random_away_from_zero(1, 4, rng));
  M X = gradcheck::random_away_from_zero(9, 4, rng);
  M y(9, 1);
  y << 0, 1, 2, 0, 1, 2, 2, 1, 0;
  SoftmaxCrossEntropy<double> ce;
  auto f = [&] { return ce.value(model.forward(X, true), y); };
  M g;
  ce.value_and_grad(model.forward(X, true), y, g);
  const M dX = model.backward_with_input_grad(g);
  std::vector<M> analytic;
  for (Parameter<double>* p : model.parameters()) analytic.push_back(p->grad);
  CHECK(gradcheck::rel_error(gradcheck::numeric(X, f), dX) <= kTol);
  std::size_t i = 0;
  for (Parameter<double>* p : model.parameters()) {
    INFO("parameter " << i << " " << p->name);
    CHECK(gradcheck::rel_error(gradcheck::numeric(p->value, f), analytic[i++]) <= kTol);
  }
  CHECK(model.parameters().size() == 2 + 2 * 3);  // BN gamma/beta + three Dense layers
}

TEST_CASE("layers and models reject bad shapes with clear errors", "[nn][errors]") {
  attnsel::Rng rng(9);
  Dense<double> dense(3, 2, rng);
  M Y;
  ATTNSEL_CHECK_INVALID(dense.forward(M::Zero(4, 5), Y, true), "attnsel::Dense::forward: input has 5 columns", "expected 3");
  ATTNSEL_CHECK_INVALID(Dense<double>(0, 2, rng), "'in'", "is 0");
  ATTNSEL_CHECK_INVALID(dense.set_weight_mask(M::Ones(2, 2)), "'M'", "2x2", "expected 3x2");
  const M X = M::Zero(4, 3);
  dense.forward(X, Y, true);
  ATTNSEL_CHECK_INVALID(dense.backward(X, Y, M::Zero(3, 2), nullptr), "output gradient is 3x2", "expected 4x2");
  ATTNSEL_CHECK_INVALID(dense.backward(M::Zero(4, 2), Y, M::Zero(4, 2), nullptr), "'X' has 2 columns", "expected 3");
  Sequential<double> empty_model;
  ATTNSEL_CHECK_INVALID(empty_model.forward(X, true), "no layers");
  Sequential<double> fresh = make_mlp<double>(3, 2);
  ATTNSEL_CHECK_INVALID(fresh.backward(M::Zero(4, 2)), "before forward");
  FeatureScale<double> fs(3);
  ATTNSEL_CHECK_INVALID(fs.set_scale(M::Ones(1, 4)), "'a'", "vector of 3");
  M bad = M::Ones(1, 3);
  bad(0, 1) = std::numeric_limits<double>::quiet_NaN();
  ATTNSEL_CHECK_INVALID(fs.set_scale(bad), "'a'", "nan", "index 1");
  ATTNSEL_CHECK_INVALID(BatchNorm<double>(3, {1.5, 1e-3}), "'momentum'", "1.5");
  Sequential<double> seq;
  seq.emplace<Dense<double>>(3, 4, rng);
  ATTNSEL_CHECK_INVALID(seq.emplace<ReLU<double>>(5), "ReLU(5)", "takes 5", "gives 4");
  ATTNSEL_CHECK_INVALID(make_mlp<double>(3, 2, MLPOptions{{4, 0}}), "'hidden'", "holds 0", "position 1");
  M y(2, 1);
  y << 0, 3;
  ATTNSEL_CHECK_INVALID(SoftmaxCrossEntropy<double>{}.value(M::Zero(2, 3), y), "'target'", "holds 3", "row 1", "[0, 3)");
  y << 0, 0.5;
  ATTNSEL_CHECK_INVALID(SoftmaxCrossEntropy<double>{}.value(M::Zero(2, 3), y), "holds 0.5");
  ATTNSEL_CHECK_INVALID(MeanSquaredError<double>{}.value(M::Zero(2, 3), M::Zero(3, 3)), "'target'", "3x3", "expected 2x3");
}

TEST_CASE("the shared product rejects mismatched shapes and two transposed operands", "[nn][errors]") {
  using attnsel::detail::in_view;
  using attnsel::detail::Op;
  using attnsel::detail::out_view;
  const M A = M::Ones(4, 3), B = M::Ones(3, 2), Bt = M::Ones(2, 3);
  M C = M::Zero(4, 2);
  attnsel::detail::matmul<double>(in_view(A), Op::none, in_view(B), Op::none, out_view(C));
  CHECK(C(3, 1) == 3.0);
  C.setZero();
  attnsel::detail::matmul<double>(in_view(A), Op::none, in_view(Bt), Op::transpose, out_view(C));
  CHECK(C(3, 1) == 3.0);
  M G = M::Zero(3, 2), D = M::Ones(4, 2);
  attnsel::detail::matmul<double>(in_view(A), Op::transpose, in_view(D), Op::none, out_view(G));
  CHECK(G(2, 1) == 4.0);
  ATTNSEL_CHECK_INVALID(attnsel::detail::matmul<double>(in_view(A), Op::none, in_view(Bt), Op::none, out_view(C)),
                        "attnsel::detail::matmul", "op(A) is 4x3, op(B) 2x3");
  M wrong = M::Zero(4, 3);
  ATTNSEL_CHECK_INVALID(attnsel::detail::matmul<double>(in_view(A), Op::none, in_view(B), Op::none, out_view(wrong)),
                        "C 4x3");
  M sq = M::Zero(3, 3);
  ATTNSEL_CHECK_INVALID(attnsel::detail::matmul<double>(in_view(sq), Op::transpose, in_view(sq), Op::transpose, out_view(sq)),
                        "both transposed");
}
