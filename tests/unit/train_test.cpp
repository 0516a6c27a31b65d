// Optimizers (against hand-computed updates), schedules, and the training loop: determinism,
// callbacks, early stopping, validation, and bad input.
#include "../catch_compat.hpp"

#include <attnsel/attnsel.hpp>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

using namespace attnsel;
using M = RowMatrix<double>;

TEST_CASE("Adam matches the update written out by hand", "[optim]") {
  Parameter<double> p("w", 1, 2);
  p.value << 1.0, -2.0;
  Adam<double> adam({0.1, 0.9, 0.999, 1e-8, 0.0});
  adam.add_parameters({&p});
  const double g1[2] = {0.5, -1.0}, g2[2] = {0.2, 0.3};
  double m[2] = {0, 0}, v[2] = {0, 0}, w[2] = {1.0, -2.0};
  for (int t = 1; t <= 2; ++t) {
    const double* g = t == 1 ? g1 : g2;
    p.grad << g[0], g[1];
    adam.step();
    for (int i = 0; i < 2; ++i) {
      m[i] = 0.9 * m[i] + 0.1 * g[i];
      v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
      const double mh = m[i] / (1 - std::pow(0.9, t)), vh = v[i] / (1 - std::pow(0.999, t));
      w[i] -= 0.1 * mh / (std::sqrt(vh) + 1e-8);
      CHECK(std::fabs(p.value(0, i) - w[i]) < 1e-12);
    }
  }
  CHECK(adam.iterations() == 2);
  adam.reset_state();
  CHECK(adam.iterations() == 0);
  // After a reset the first step is again a step of size lr·sign(g) (bias correction restarts).
  const double before = p.value(0, 0);
  p.grad << 3.0, 0.0;
  adam.step();
  CHECK(std::fabs((before - p.value(0, 0)) - 0.1) < 1e-6);
}

TEST_CASE("Adam groups: learning-rate scale, decoupled weight decay, frozen parameters", "[optim]") {
  Parameter<double> a("a", 1, 1), b("b", 1, 1), c("c", 1, 1);
  a.value << 1.0;
  b.value << 1.0;
  c.value << 1.0;
  Adam<double> adam({0.1, 0.9, 0.999, 1e-8, 0.0});
  adam.add_parameters({&a});
  adam.add_parameters({&b}, GroupOptions<double>{0.5, 0.2});
  adam.add_parameters({&c});
  c.trainable = false;
  a.grad << 1.0;
  b.grad << 1.0;
  c.grad << 1.0;
  adam.step();
  CHECK(std::fabs(a.value(0, 0) - (1.0 - 0.1)) < 1e-6);
  CHECK(std::fabs(b.value(0, 0) - (1.0 - 0.05 * 0.2 - 0.05)) < 1e-6);  // decay then Adam step, lr 0.05
  CHECK(c.value(0, 0) == 1.0);
  CHECK(adam.group_count() == 3);
  ATTNSEL_CHECK_INVALID(adam.add_parameters({&a}), "'a'", "registered twice");
  // Coupled L2: with a zero loss gradient the penalty alone moves w towards 0 (first Adam step
  // has size lr), and the gradient seen by the moments includes l2·w.
  Parameter<double> d("d", 1, 1);
  d.value << 2.0;
  Adam<double> l2adam({0.1, 0.9, 0.999, 1e-8, 0.0, 0.0});
  GroupOptions<double> pen;
  pen.l2 = 0.5;
  l2adam.add_parameters({&d}, pen);
  d.grad << 0.0;
  l2adam.step();
  CHECK(std::fabs(d.value(0, 0) - 1.9) < 1e-6);
  CHECK(d.grad(0, 0) == 1.0);
  ATTNSEL_CHECK_INVALID(Adam<double>(AdamOptions<double>{0.1, 0.9, 0.999, 1e-8, 0.0, -1.0}), "'l2' is -1");
  ATTNSEL_CHECK_INVALID(adam.add_parameters({&c}, GroupOptions<double>{-1.0, {}}), "'lr_scale'", "-1");
  ATTNSEL_CHECK_INVALID(Adam<double>(AdamOptions<double>{0.1, 1.0}), "'beta1'", "is 1");
  ATTNSEL_CHECK_INVALID(adam.set_learning_rate(std::nan("")), "learning rate", "nan");
}

TEST_CASE("Adam on a large parameter (chunked, threaded with OpenMP) follows the formula element-wise", "[optim]") {
  Parameter<double> p("big", 300, 300);  // 90,000 values: several chunks
  Rng rng(3);
  for (Index i = 0; i < p.value.size(); ++i) {
    p.value.data()[i] = random::uniform(rng, -1, 1);
    p.grad.data()[i] = random::uniform(rng, -1, 1);
  }
  const M w0 = p.value, g = p.grad;
  Adam<double> adam({0.01, 0.9, 0.999, 1e-8, 0.1, 0.05});
  adam.add_parameters({&p});
  adam.step();
  const M ge = g + 0.05 * w0;  // coupled L2
  const M m = 0.1 * ge;
  const M v = 0.001 * ge.cwiseProduct(ge);
  const M expect = (w0 - 0.01 * 0.1 * w0).array() - 0.01 * (m.array() / 0.1) / ((v.array() / 0.001).sqrt() + 1e-8);
  CHECK((p.value - expect).cwiseAbs().maxCoeff() < 1e-12);
}

TEST_CASE("SGD with momentum and Nesterov", "[optim]") {
  Parameter<double> p("w", 1, 1), q("q", 1, 1);
  p.value << 1.0;
  q.value << 1.0;
  SGD<double> sgd({0.1, 0.9, false, 0.0});
  SGD<double> nes({0.1, 0.9, true, 0.0});
  sgd.add_parameters({&p});
  nes.add_parameters({&q});
  double w = 1.0, v = 0.0, wn = 1.0, vn = 0.0;
  for (int t = 0; t < 3; ++t) {
    p.grad << 2.0;
    q.grad << 2.0;
    sgd.step();
    nes.step();
    v = 0.9 * v + 2.0;
    w -= 0.1 * v;
    vn = 0.9 * vn + 2.0;
    wn -= 0.1 * (2.0 + 0.9 * vn);
    CHECK(std::fabs(p.value(0, 0) - w) < 1e-12);
    CHECK(std::fabs(q.value(0, 0) - wn) < 1e-12);
  }
  ATTNSEL_CHECK_INVALID(SGD<double>(SGDOptions<double>{0.1, 1.0}), "'momentum'", "is 1");
}

TEST_CASE("learning-rate schedules", "[optim]") {
  CHECK(ConstantLR<double>{0.3}(7, 10) == 0.3);
  const CosineLR<double> cos{1.0, 0.1};
  CHECK(cos(0, 11) == 1.0);
  CHECK(std::fabs(cos(5, 11) - 0.55) < 1e-12);
  CHECK(std::fabs(cos(10, 11) - 0.1) < 1e-12);
  const ExponentialDecayLR<double> ex{0.5, 0.25, 10};
  CHECK(std::fabs(ex(10, 100) - 0.125) < 1e-12);
  CHECK(std::fabs(ex(5, 100) - 0.25) < 1e-12);
  CHECK(ExponentialDecayLR<double>{0.5, 0.25, 0}(1000, 2000) == 0.5);  // 0 steps: no decay
}

namespace {

struct Problem {
  M X, Y;
};

Problem make_problem(int n, std::uint64_t seed) {
  Rng rng(seed);
  Problem p{M(n, 4), M(n, 1)};
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < 4; ++j) p.X(i, j) = random::normal(rng);
    p.Y(i, 0) = p.X(i, 0) - p.X(i, 1) + 0.5 * p.X(i, 2) > 0 ? 1.0 : 0.0;
  }
  return p;
}

/// Records the order of events and the progress values it saw.
struct Recorder {
  std::vector<std::string> events;
  std::vector<double> taus;
  void on_train_begin(const StepInfo<double>&) { events.push_back("train_begin"); }
  void on_epoch_begin(const StepInfo<double>&) { events.push_back("epoch_begin"); }
  void on_step_begin(const StepInfo<double>& s) {
    events.push_back("step_begin");
    taus.push_back(s.tau);
  }
  void on_backward_end(const StepInfo<double>&) { events.push_back("backward_end"); }
  bool on_step_end(const StepInfo<double>& s) {
    events.push_back("step_end");
    return !std::isfinite(s.loss);
  }
  void on_epoch_end(const EpochInfo<double>&) { events.push_back("epoch_end"); }
  void on_train_end(const TrainHistory<double>&) { events.push_back("train_end"); }
};

}  // namespace

TEST_CASE("fit learns a separable problem and is deterministic for a seed", "[train]") {
  const Problem p = make_problem(400, 3);
  auto run = [&](std::uint64_t seed) {
    Sequential<double> model = make_mlp<double>(4, 2, MLPOptions{{8}, false, false, Init::glorot_uniform, seed});
    Adam<double> adam({0.02});
    TrainOptions<double> opt;
    opt.epochs = 15;
    opt.batch_size = 32;
    opt.seed = seed;
    opt.validation_X = &p.X;
    opt.validation_Y = &p.Y;
    const TrainHistory<double> h = fit(model, SoftmaxCrossEntropy<double>{}, adam, p.X, p.Y, opt);
    return std::make_pair(h, model.predict(p.X));
  };
  const auto [h1, out1] = run(5);
  const auto [h2, out2] = run(5);
  const auto [h3, out3] = run(6);
  CHECK(h1.validation_metric.back() >= 0.95);
  CHECK(h1.train_loss.back() < h1.train_loss.front());
  CHECK(h1.train_loss == h2.train_loss);
  CHECK((out1 - out2).norm() == 0.0);
  CHECK(h1.train_loss != h3.train_loss);
  CHECK(h1.steps == 15u * 13u);
  CHECK(h1.metric_name == "accuracy");
}

TEST_CASE("fit fires the callbacks in order with the training progress", "[train]") {
  const Problem p = make_problem(10, 4);
  Sequential<double> model = make_mlp<double>(4, 2, MLPOptions{{3}});
  SGD<double> sgd({0.1});
  TrainOptions<double> opt;
  opt.epochs = 2;
  opt.batch_size = 4;
  opt.drop_last = true;
  Recorder rec;
  fit(model, SoftmaxCrossEntropy<double>{}, sgd, p.X, p.Y, opt, rec);
  const std::vector<std::string> step = {"step_begin", "backward_end", "step_end"};
  std::vector<std::string> expect = {"train_begin"};
  for (int e = 0; e < 2; ++e) {
    expect.push_back("epoch_begin");
    for (int b = 0; b < 2; ++b) expect.insert(expect.end(), step.begin(), step.end());
    expect.push_back("epoch_end");
  }
  expect.push_back("train_end");
  CHECK(rec.events == expect);
  CHECK(rec.taus == std::vector<double>{0.0, 0.25, 0.5, 0.75});
}

TEST_CASE("fit follows a schedule, stops early, and a progress bar writes only to its stream", "[train]") {
  const Problem p = make_problem(64, 5);
  Sequential<double> model = make_mlp<double>(4, 2, MLPOptions{{4}});
  SGD<double> sgd({0.1});
  TrainOptions<double> opt;
  opt.epochs = 50;
  opt.batch_size = 64;
  opt.learning_rate = [](std::size_t step, std::size_t) { return step < 3 ? 0.1 : 0.0; };  // freezes after 3 steps
  std::ostringstream bar;
  EarlyStop stop(2);
  const TrainHistory<double> h = fit(model, SoftmaxCrossEntropy<double>{}, sgd, p.X, p.Y, opt, ProgressBar(bar), stop);
  CHECK(h.stopped_early);
  // Epochs 1-4 see the losses before/after the 3 updates (each improves); epochs 5 and 6 repeat
  // epoch 4's loss, and patience 2 stops after epoch 6.
  CHECK(h.epochs_run == 6);
  CHECK(sgd.learning_rate() == 0.0);
  CHECK(bar.str().find("epoch 1/50") != std::string::npos);
  CHECK(bar.str().find("loss") != std::string::npos);
}

TEST_CASE("fit rejects bad data and options, and reports divergence", "[train][errors]") {
  Problem p = make_problem(20, 6);
  Sequential<double> model = make_mlp<double>(4, 2, MLPOptions{{3}});
  Adam<double> adam;
  TrainOptions<double> opt;
  opt.epochs = 1;
  SoftmaxCrossEntropy<double> ce;
  ATTNSEL_CHECK_INVALID(fit(model, ce, adam, M(M::Zero(20, 5)), p.Y, opt), "'X' has 5 columns", "takes 4");
  ATTNSEL_CHECK_INVALID(fit(model, ce, adam, p.X, M(M::Zero(19, 1)), opt), "'Y' has 19 rows", "expected 20");
  M bad = p.X;
  bad(3, 2) = std::numeric_limits<double>::infinity();
  ATTNSEL_CHECK_INVALID(fit(model, ce, adam, bad, p.Y, opt), "'X' holds inf at (3, 2)");
  opt.batch_size = 0;
  ATTNSEL_CHECK_INVALID(fit(model, ce, adam, p.X, p.Y, opt), "'batch_size' is 0");
  opt.batch_size = 8;
  opt.validation_X = &p.X;
  ATTNSEL_CHECK_INVALID(fit(model, ce, adam, p.X, p.Y, opt), "given together");
  opt.validation_X = nullptr;

  // Divergence: a huge learning rate on a regression target.
  Sequential<double> reg = make_mlp<double>(4, 1, MLPOptions{{}});
  SGD<double> sgd({1e6});
  M target = p.X.col(0) * 1e3;
  opt.epochs = 20;
  bool threw = false;
  try {
    fit(reg, MeanSquaredError<double>{}, sgd, p.X, target, opt);
  } catch (const std::runtime_error& e) {
    threw = std::string(e.what()).find("diverged") != std::string::npos;
  }
  CHECK(threw);
}
