// Issue #13: the training paths that computed the wrong thing in cases the older tests never
// reached, each checked through the public training path (attnsel::fit with its callbacks):
//  - SequentialAttention++'s block-logit gradient at a late step of fit equals the central
//    difference of that step's loss (it used to be the running sum of all past gradients);
//  - BlockPruning + fit trains the network whatever the order of the registrations;
//  - AttentionMask::finish() completes an early-stopped selection from the last trained logits
//    (it used to redraw the logits between the missing picks);
//  - SequentialAttentionOptions' defaults select well on a bundled table;
//  - (issue #16's session) the LLY baseline's model and Sequential LASSO's penalty, the last two
//    backward passes without a finite-difference check, at a late step of their training path.
#include <attnsel/attnsel.hpp>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "../catch_compat.hpp"
#include "gradcheck.hpp"

using attnsel::Index;
using attnsel::PruningMethod;
using attnsel::RowMatrix;

namespace {

// Two-class data whose label depends on the first 8 inputs.
template <class T>
void planted_classes(Index n, Index d, std::uint64_t seed, RowMatrix<T>& X, RowMatrix<T>& Y) {
  attnsel::Rng rng(seed);
  X.resize(n, d);
  Y.resize(n, 1);
  for (Index i = 0; i < n; ++i) {
    const int c = int(i % 2);
    Y(i, 0) = T(c);
    for (Index j = 0; j < d; ++j) X(i, j) = T(attnsel::random::normal(rng) + (j < 8 ? (c ? 0.7 : -0.7) : 0.0));
  }
}

// A fit callback that, at step `at` (after the pruning callback's on_backward_end, which sets the
// pruner's gradients), compares the analytic gradients of the pruned layer's block logits (SA++)
// and weight with central differences of that step's batch loss.
struct StepProbe {
  attnsel::Sequential<double>* model;
  attnsel::Dense<double>* layer;
  attnsel::BlockPruner<double>* pruner;
  std::size_t at;
  double logit_error = -1, weight_error = -1, logit_norm = 0, steps_seen = 0;

  double batch_loss(const RowMatrix<double>& Xb, const RowMatrix<double>& Yb, double tau) {
    RowMatrix<double>& W = layer->weight().value;
    pruner->set_progress(tau, W);  // recomputes the multiplier from the (perturbed) logits and W
    layer->set_weight_mask(pruner->multiplier());
    RowMatrix<double> g;
    return attnsel::SoftmaxCrossEntropy<double>{}.value_and_grad(model->forward(Xb, true), Yb, g);
  }

  void on_backward_end(const attnsel::StepInfo<double>& s) {
    ++steps_seen;
    if (s.step != at) return;
    const RowMatrix<double> Xb = *s.batch_X, Yb = *s.batch_Y;
    const std::vector<attnsel::Parameter<double>*> own = pruner->parameters();
    if (!own.empty()) {
      attnsel::Parameter<double>& L = *own.front();
      const RowMatrix<double> analytic = L.grad;
      logit_norm = analytic.norm();
      const RowMatrix<double> numeric = gradcheck::numeric(L.value, [&] { return batch_loss(Xb, Yb, s.tau); });
      logit_error = gradcheck::rel_error(analytic, numeric);
    }
    attnsel::Parameter<double>& W = layer->weight();
    const RowMatrix<double> analytic_w = W.grad;
    const RowMatrix<double> numeric_w = gradcheck::numeric(W.value, [&] { return batch_loss(Xb, Yb, s.tau); });
    weight_error = gradcheck::rel_error(analytic_w, numeric_w);
    batch_loss(Xb, Yb, s.tau);  // restores the pruner's state for the unperturbed values
  }
};

// A fit callback that, at step `at`, compares every parameter's gradient of `model` (Sequential,
// the LLY model, ...) with central differences of that step's cross-entropy batch loss.
template <class Model>
struct EveryParameterProbe {
  Model* model;
  std::size_t at;
  std::vector<double> errors{}, norms{};
  std::vector<std::string> names{};
  void on_backward_end(const attnsel::StepInfo<double>& s) {
    if (s.step != at) return;
    const RowMatrix<double> Xb = *s.batch_X, Yb = *s.batch_Y;
    auto loss = [&] {
      RowMatrix<double> g;
      return attnsel::SoftmaxCrossEntropy<double>{}.value_and_grad(model->forward(Xb, true), Yb, g);
    };
    for (attnsel::Parameter<double>* p : model->parameters()) {
      const RowMatrix<double> analytic = p->grad;
      norms.push_back(analytic.norm());
      names.push_back(p->name);
      errors.push_back(gradcheck::rel_error(analytic, gradcheck::numeric(p->value, loss)));
    }
    loss();  // the model's buffers as they were for the unperturbed parameters
  }
};

}  // namespace

TEST_CASE("SA++ and Powerprop gradients at the 4th step of fit match central differences", "[training_paths][pruning]") {
  RowMatrix<double> X, Y;
  planted_classes<double>(48, 8, 3, X, Y);
  for (const PruningMethod method : {PruningMethod::sequential_attention_pp, PruningMethod::powerprop}) {
    INFO("method " << attnsel::to_string(method));
    attnsel::MLPOptions mo;
    mo.hidden = {6};
    mo.seed = 4;
    auto model = attnsel::make_mlp<double>(8, 2, mo);
    attnsel::AdamOptions<double> ao;
    ao.learning_rate = 0.05;  // large steps: the logits move away from uniform attention
    attnsel::Adam<double> adam(ao);
    attnsel::BlockPruning<double, attnsel::Adam<double>> pruning(adam);
    attnsel::PruningOptions<double> po;
    po.sparsity = 0.5;
    po.min_blocks = 0;
    po.logit_weight_decay = 0.0;
    po.schedule.warmup = 0.95;  // every step of this short run is in the dense warm-up
    po.schedule.fine_tune = 0.02;
    pruning.add(model, 0, method, 2, po);
    auto* layer = dynamic_cast<attnsel::Dense<double>*>(&model.layer(0));
    REQUIRE(layer != nullptr);
    attnsel::TrainOptions<double> t;
    t.epochs = 2;
    t.batch_size = 16;  // 3 batches an epoch: steps 0 .. 5
    t.seed = 2;
    StepProbe probe{&model, layer, &pruning.pruner(0), 4};
    attnsel::fit(model, attnsel::SoftmaxCrossEntropy<double>{}, adam, X, Y, t, pruning, probe);
    REQUIRE(probe.steps_seen == 6);
    CHECK(probe.weight_error >= 0);
    CHECK(probe.weight_error < 1e-6);
    if (method == PruningMethod::sequential_attention_pp) {
      CHECK(probe.logit_norm > 1e-4);  // a real gradient, not an all-zero one
      CHECK(probe.logit_error >= 0);
      CHECK(probe.logit_error < 1e-6);
    }
  }
}

TEST_CASE("BlockPruning + fit train the network whatever the order of the registrations", "[training_paths][pruning]") {
  RowMatrix<float> X, Y;
  planted_classes<float>(400, 16, 9, X, Y);
  for (const bool user_registers : {false, true}) {
    INFO("user calls add_parameters(model.parameters()): " << user_registers);
    attnsel::MLPOptions mo;
    mo.hidden = {16};
    mo.seed = 1;
    auto model = attnsel::make_mlp<float>(16, 2, mo);
    attnsel::AdamOptions<float> ao;
    ao.learning_rate = 3e-3f;
    attnsel::Adam<float> adam(ao);
    attnsel::BlockPruning<float, attnsel::Adam<float>> pruning(adam);
    attnsel::PruningOptions<float> po;
    po.sparsity = 0.5;
    po.min_blocks = 0;
    pruning.add(model, 0, PruningMethod::sequential_attention_pp, 4, po);
    if (user_registers) adam.add_parameters(model.parameters());
    const std::vector<attnsel::Parameter<float>*> params = model.parameters();
    std::vector<RowMatrix<float>> before;
    for (auto* p : params) before.push_back(p->value);
    attnsel::TrainOptions<float> t;
    t.epochs = 10;
    t.batch_size = 40;
    attnsel::fit(model, attnsel::SoftmaxCrossEntropy<float>{}, adam, X, Y, t, pruning);
    // Every parameter of the network is registered once and was trained.
    CHECK(adam.parameter_count() == params.size() + 1);  // + the SA++ block logits
    for (std::size_t i = 0; i < params.size(); ++i) {
      INFO("parameter " << params[i]->name);
      CHECK(adam.holds(params[i]));
      CHECK((params[i]->value - before[i]).norm() > 1e-3f);
    }
    CHECK(attnsel::accuracy(model.predict(X), Y) > 0.9f);
  }
}

TEST_CASE("AttentionMask::finish completes the selection from the last trained logits", "[training_paths][selection]") {
  attnsel::AttentionMaskOptions o;
  o.k = 4;
  o.start = 0.1;
  attnsel::AttentionMask<double> mask(10, o);
  mask.update(0.2);  // round 0's phase, nothing due yet (end-of-phase timing)
  REQUIRE(mask.rounds() == 0);
  // As if training had shaped the logits: the ranking a correct finish() must follow.
  const std::vector<double> trained{0.1, 3.0, -1.0, 2.0, 0.0, 5.0, 0.2, 4.0, -2.0, 1.0};
  for (Index j = 0; j < 10; ++j) mask.logits().value(0, j) = trained[std::size_t(j)];
  mask.finish(/*completed=*/false);
  CHECK(mask.selected() == std::vector<Index>{5, 7, 1, 3});
  CHECK(mask.trained_selections() == 0);
  CHECK(mask.rounds() == 1);  // one history entry: the logits the missing picks came from
  CHECK(mask.history().back() == trained);
  // Nothing more is selected afterwards.
  mask.update(0.99);
  mask.finish();
  CHECK(mask.selected().size() == 4);
}

TEST_CASE("Sequential Attention stopped early by EarlyStop still picks the planted features", "[training_paths][selection]") {
  // Regression target y = x3 + x7 + x11 + x15 (+ noise) over 20 features.
  const Index n = 512, d = 20;
  const std::vector<Index> planted{3, 7, 11, 15};
  attnsel::Rng rng(17);
  RowMatrix<float> X(n, d);
  Eigen::VectorXf y(n);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < d; ++j) X(i, j) = float(attnsel::random::normal(rng));
    y(i) = X(i, 3) + X(i, 7) + X(i, 11) + X(i, 15) + 0.1f * float(attnsel::random::normal(rng));
  }
  struct Case {
    int patience;
    std::size_t from_training;
  };
  // 40 epochs, warm-up 2 epochs (start = 0.05), then 4 phases of 9.5 epochs. EarlyStop with an
  // unreachable min_delta stops after patience + 1 epochs: after 5 epochs (inside round 0's
  // phase: every pick comes from finish()) and after 26 epochs (rounds 0 and 1 fired).
  for (const Case c : {Case{4, 0}, Case{25, 2}}) {
    INFO("EarlyStop patience " << c.patience);
    attnsel::SequentialAttentionOptions<float> o;
    o.k = 4;
    o.task = attnsel::Task::regression;
    o.epochs = 40;
    o.batch_size = 64;
    o.learning_rate = 5e-3f;
    o.start = 0.05;
    o.seed = 3;
    attnsel::SequentialAttentionSelector<float> sa(o);
    const attnsel::Selection<float> s = sa.fit(X, y, attnsel::EarlyStop(c.patience, 1e9));
    CHECK(s.losses.size() == std::size_t(c.patience + 1));
    CHECK(s.features_from_training == c.from_training);
    REQUIRE(s.features.size() == 4);
    // Every pick, including the ones completed after training, is a planted feature.
    CHECK(std::set<Index>(s.features.begin(), s.features.end()) == std::set<Index>(planted.begin(), planted.end()));
  }
  // A run that completes counts every round as trained.
  attnsel::SequentialAttentionOptions<float> o;
  o.k = 4;
  o.task = attnsel::Task::regression;
  o.epochs = 10;
  o.seed = 3;
  const attnsel::Selection<float> full = attnsel::SequentialAttentionSelector<float>(o).fit(X, y);
  CHECK(full.features_from_training == 4);
  CHECK(std::set<Index>(full.features.begin(), full.features.end()) == std::set<Index>(planted.begin(), planted.end()));
}

TEST_CASE("Sequential Attention with default options beats random pixels on the bundled digits", "[training_paths][selection]") {
  attnsel::CsvOptions csv;
  csv.label = "digit";
  const auto data = attnsel::read_csv<float>(std::string(ATTNSEL_DATA_DIR) + "/digits.csv", csv);
  auto split = attnsel::stratified_split(data, 0.25, 1);
  attnsel::Standardizer<float> sc;
  split.train.X = sc.fit_transform(split.train.X);
  split.test.X = sc.transform(split.test.X);
  attnsel::SequentialAttentionOptions<float> o;  // defaults, but for k
  o.k = 10;
  const attnsel::Selection<float> s = attnsel::SequentialAttentionSelector<float>(o).fit(split.train.X, split.train.y);
  const float sa = attnsel::retrain_score(split.train, split.test, s.features);
  // Random 10-pixel subsets with the same default retraining, over 3 seeds: the best of them.
  float best_random = 0;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const auto r = attnsel::random_selection<float>(64, 10, seed);
    best_random = std::max(best_random, attnsel::retrain_score(split.train, split.test, r.features));
  }
  INFO("SA " << sa << ", best random " << best_random);
  CHECK(sa > best_random + 0.1f);
}

TEST_CASE("Every parameter's gradient at a late step of fit matches central differences", "[training_paths][nn]") {
  // BatchNorm -> Dense -> LeakyReLU -> Dense -> ReLU -> Dense, trained by fit with Adam; at step 4
  // (after 4 updates, so a gradient that accumulated across steps would show) every parameter's
  // gradient is compared with central differences of that step's batch loss.
  using attnsel::Sequential;
  RowMatrix<double> X, Y;
  planted_classes<double>(60, 5, 12, X, Y);
  attnsel::Rng rng(5);
  Sequential<double> model;
  model.emplace<attnsel::BatchNorm<double>>(5);
  model.emplace<attnsel::Dense<double>>(5, 7, rng);
  model.emplace<attnsel::LeakyReLU<double>>(7, 0.1);
  model.emplace<attnsel::Dense<double>>(7, 6, rng);
  model.emplace<attnsel::ReLU<double>>(6);
  model.emplace<attnsel::Dense<double>>(6, 2, rng);
  EveryParameterProbe<Sequential<double>> probe{&model, 4};
  attnsel::Adam<double> adam({0.01});
  attnsel::TrainOptions<double> t;
  t.epochs = 2;
  t.batch_size = 20;
  attnsel::fit(model, attnsel::SoftmaxCrossEntropy<double>{}, adam, X, Y, t, probe);
  REQUIRE(probe.errors.size() == 2 + 2 * 3);  // BN gamma/beta + three Dense layers
  for (std::size_t i = 0; i < probe.errors.size(); ++i) {
    INFO("parameter " << probe.names[i]);
    CHECK(probe.errors[i] < 1e-6);
  }
}

TEST_CASE("LLY's attention network and MLP gradients at a late step of fit match central differences",
          "[training_paths][selection]") {
  // The LLY baseline's model (attention net → batch mean → softmax → weights on the MLP's input),
  // trained by the same path lly_selection uses; at step 4 every parameter's gradient (the MLP's
  // and the attention network's, through the softmax and the batch mean) is compared with central
  // differences of that step's batch loss.
  RowMatrix<double> X, Y;
  planted_classes<double>(48, 6, 21, X, Y);
  attnsel::SequentialAttentionOptions<double> o;
  o.hidden = {5};
  o.epochs = 2;
  o.batch_size = 16;
  o.learning_rate = 0.02;
  attnsel::detail::LLYModel<double> model(6, 2, o);
  EveryParameterProbe<attnsel::detail::LLYModel<double>> probe{&model, 4};
  const RowMatrix<double> Ycol = Y;
  attnsel::detail::train_selector_model(model, o, X, Ycol, probe);
  REQUIRE(probe.errors.size() == 12);  // BN gamma/beta, two MLP Dense, three attention Dense
  for (std::size_t i = 0; i < probe.errors.size(); ++i) {
    INFO("parameter " << i << " (" << probe.names[i] << "), gradient norm " << probe.norms[i]);
    CHECK(probe.errors[i] < 1e-6);
  }
  // The attention network's last kernel gets a real gradient through the softmax.
  CHECK(probe.norms[probe.norms.size() - 2] > 1e-8);
}

TEST_CASE("Sequential LASSO's penalised first-layer gradient at a late step of fit matches central differences",
          "[training_paths][selection]") {
  // The Sequential LASSO hook adds the gradient of scale · Σ_{i unselected} ||W[i, :]||₂ to the
  // first layer's weight gradient; by the path sequential_lasso_selection trains with, at step 4
  // (after the first selections) that gradient is compared with central differences of the batch
  // loss plus the penalty over the rows still unselected.
  RowMatrix<double> X, Y;
  planted_classes<double>(48, 6, 22, X, Y);
  attnsel::SequentialAttentionOptions<double> o;
  o.k = 2;
  o.hidden = {5};
  o.input_batch_norm = false;
  o.epochs = 2;
  o.batch_size = 16;
  o.learning_rate = 0.05;  // the rows grow well away from the norm's kink at 0
  attnsel::Dense<double>* first = nullptr;
  attnsel::Sequential<double> model = attnsel::detail::lasso_model(6, 2, o, first);
  std::vector<char> chosen(6, 0);
  attnsel::Selection<double> selection;
  const double scale = 0.3;
  attnsel::detail::SequentialLassoHook<double> hook{first, &chosen, &selection, 2, 1, o.start, 0.999, scale};
  struct Probe {
    attnsel::Sequential<double>* model;
    attnsel::Dense<double>* first;
    const std::vector<char>* chosen;
    double scale;
    std::size_t at;
    double error = -1;
    Index selected_then = 0;
    void on_backward_end(const attnsel::StepInfo<double>& s) {
      if (s.step != at) return;
      const RowMatrix<double> Xb = *s.batch_X, Yb = *s.batch_Y;
      RowMatrix<double>& W = first->weight().value;
      auto objective = [&] {
        RowMatrix<double> g;
        double f = attnsel::SoftmaxCrossEntropy<double>{}.value_and_grad(model->forward(Xb, true), Yb, g);
        for (Index i = 0; i < W.rows(); ++i)
          if (!(*chosen)[std::size_t(i)]) f += scale * W.row(i).norm();
        return f;
      };
      const RowMatrix<double> analytic = first->weight().grad;
      error = gradcheck::rel_error(analytic, gradcheck::numeric(W, objective));
      selected_then = Index(std::count(chosen->begin(), chosen->end(), char(1)));
    }
  } probe{&model, first, &chosen, scale, 4};
  attnsel::detail::train_selector_model(model, o, X, Y, hook, probe);
  CHECK(probe.selected_then >= 1);  // the check covers selected (unpenalised) and unselected rows
  CHECK(probe.selected_then < 6);
  CHECK(probe.error >= 0);
  CHECK(probe.error < 1e-6);
}
