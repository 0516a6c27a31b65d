// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file selection/nn_baselines.hpp
/// The neural-network baselines of the Sequential Attention paper's code (docs/sequential-attention.md §4.2), trained
/// like the Sequential Attention selector (same options type, same Selection result):
///
///  - `sequential_lasso_selection` (Luo & Chen 2014 adapted to networks): a linear first layer
///    K0 (init N(0, 0.001²), no bias, no activation) with the group penalty
///    `group_lasso_scale · Σ_{i unselected} ||K0[i, :]||₂`; at the start of each of T = k / s
///    phases between `start` and `stop` (phase = ceil(progress · T)) the s unselected features
///    with the largest row norms are selected.
///  - `group_lasso_selection`: the same with one phase selecting all k at once.
///  - `gradient_omp_selection`: the mask is the 0/1 selected set (all zeros before the first
///    pick); when ceil(τ · k) exceeds the number selected, a forward/backward pass on the current
///    batch with an all-ones mask gives dL/dK for the first hidden kernel and the unselected
///    feature with the largest row norm ||dL/dK[i, :]|| is picked. No warm-up.
///  - `lly_selection` (Liao, Latty & Yang 2021): an attention network Dense(d→128) → Dense(→64)
///    → Dense(→d), LeakyReLU(0.2) after each, applied to every example, averaged over the batch,
///    softmax over the d features → weights on the input of the MLP; trained jointly; the k
///    largest attention weights over the whole training set are selected (one shot).
///
/// Options come from SequentialAttentionOptions (k, per_round, task, hidden, input_batch_norm,
/// epochs, batch_size, learning rate and decay, seed, start; the mask-only fields are ignored);
/// `group_lasso_scale` and `stop` for the LASSO variants are arguments.

#include <algorithm>
#include <cmath>
#include <vector>

#include "../nn/nn.hpp"
#include "../optim/optim.hpp"
#include "../simd/dispatch.hpp"
#include "../train/train.hpp"
#include "sequential_attention.hpp"

ATTNSEL_NAMESPACE_BEGIN

namespace detail {

/// The top `count` of scores among unselected features (ties: lowest index), appended to `order`.
template <class T>
void select_top(const std::vector<T>& scores, std::vector<char>& chosen, std::vector<Index>& order, Index count) {
  RowMatrix<T> s(1, Index(scores.size())), mask(1, Index(scores.size()));
  for (std::size_t j = 0; j < scores.size(); ++j) {
    s(0, Index(j)) = std::isfinite(scores[j]) ? scores[j] : T(0);
    mask(0, Index(j)) = chosen[j] ? T(0) : T(1);
  }
  std::vector<std::size_t> idx(static_cast<std::size_t>(count));
  const std::size_t got = simd::masked_top_k(s.data(), mask.data(), scores.size(), idx.size(), idx.data());
  for (std::size_t i = 0; i < got; ++i) {
    chosen[idx[i]] = 1;
    order.push_back(Index(idx[i]));
  }
}

template <class T, class DX, class Dy>
std::pair<RowMatrix<T>, RowMatrix<T>> prepare_xy(const char* fn, const SequentialAttentionOptions<T>& o,
                                                 const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<Dy>& y, Index& outputs) {
  require(X.rows() >= 2 && X.cols() >= 1, fn, "argument 'X' is ", X.rows(), "x", X.cols(), ", expected at least 2 rows and 1 column");
  require(o.k >= 1 && o.k <= X.cols(), fn, "option 'k' is ", o.k, ", expected a value in [1, ", X.cols(), "] (the number of features)");
  require(o.per_round >= 1 && o.k % o.per_round == 0, fn, "option 'per_round' is ", o.per_round, ", expected a divisor of k = ", o.k);
  require(o.epochs >= 1, fn, "option 'epochs' is ", o.epochs, ", expected >= 1");
  require(o.batch_size >= 1, fn, "option 'batch_size' is ", o.batch_size, ", expected >= 1");
  require(o.learning_rate > T(0) && std::isfinite(o.learning_rate), fn, "option 'learning_rate' is ", o.learning_rate,
          ", expected a finite value > 0");
  require(o.decay_rate > T(0) && o.decay_rate <= T(1), fn, "option 'decay_rate' is ", o.decay_rate,
          ", expected a value in (0, 1]");
  require(std::isfinite(o.weight_decay) && o.weight_decay >= T(0), fn, "option 'weight_decay' is ", o.weight_decay,
          ", expected a finite value >= 0");
  require(std::isfinite(o.l2) && o.l2 >= T(0), fn, "option 'l2' is ", o.l2, ", expected a finite value >= 0");
  for (std::size_t i = 0; i < o.hidden.size(); ++i)
    require(o.hidden[i] >= 1, fn, "option 'hidden' holds ", o.hidden[i], " at position ", i, ", expected widths >= 1");
  outputs = model_outputs<T>(fn, y, X.rows(), o.task);
  RowMatrix<T> Y(X.rows(), 1);
  for (Index i = 0; i < y.size(); ++i) Y(i, 0) = T(y.cols() == 1 ? y(i, 0) : y(0, i));
  return {X.template cast<T>(), std::move(Y)};
}

template <class T>
TrainOptions<T> train_options(const SequentialAttentionOptions<T>& o, Index rows) {
  TrainOptions<T> to;
  to.epochs = o.epochs;
  to.batch_size = o.batch_size;
  to.drop_last = o.drop_last && rows >= o.batch_size;
  to.seed = o.seed;
  to.learning_rate = ExponentialDecayLR<T>{o.learning_rate, o.decay_rate, o.decay_steps};
  return to;
}

/// Trains `model` with Adam under the options' schedule, with the task's loss and `hooks`.
template <class T, class Model, class... Hooks>
TrainHistory<T> train_selector_model(Model& model, const SequentialAttentionOptions<T>& o, const RowMatrix<T>& X,
                                     const RowMatrix<T>& Y, Hooks&&... hooks) {
  Adam<T> adam({o.learning_rate, T(0.9), T(0.999), T(1e-7), o.weight_decay, o.l2});
  adam.add_parameters(model.parameters());
  const TrainOptions<T> to = train_options(o, X.rows());
  if (o.task == Task::regression) return fit(model, MeanSquaredError<T>{}, adam, X, Y, to, hooks...);
  return fit(model, SoftmaxCrossEntropy<T>{}, adam, X, Y, to, hooks...);
}

template <class T>
T task_loss_grad(Task task, const RowMatrix<T>& out, const RowMatrix<T>& Y, RowMatrix<T>& g) {
  if (task == Task::regression) return MeanSquaredError<T>{}.value_and_grad(out, Y, g);
  return SoftmaxCrossEntropy<T>{}.value_and_grad(out, Y, g);
}

/// [BatchNorm] → Dense(d → hidden[0], linear, N(0, 0.001²), zero bias) → (Dense + ReLU)… → Dense(C).
template <class T>
Sequential<T> lasso_model(Index d, Index outputs, const SequentialAttentionOptions<T>& o, Dense<T>*& first) {
  Rng rng(o.seed);
  Sequential<T> m;
  if (o.input_batch_norm) m.template emplace<BatchNorm<T>>(d);
  const Index h0 = o.hidden.empty() ? outputs : o.hidden.front();
  first = &m.template emplace<Dense<T>>(d, h0, rng, Init::zeros);
  for (Index i = 0; i < first->weight().value.size(); ++i) first->weight().value.data()[i] = T(random::normal(rng, 0.0, 1e-3));
  first->bias().trainable = false;
  Index width = h0;
  for (std::size_t i = 1; i < o.hidden.size(); ++i) {
    m.template emplace<Dense<T>>(width, o.hidden[i], rng);
    m.template emplace<ReLU<T>>(o.hidden[i]);
    width = o.hidden[i];
  }
  if (!o.hidden.empty()) m.template emplace<Dense<T>>(width, outputs, rng);
  return m;
}

template <class T>
std::vector<T> row_norms(const RowMatrix<T>& W) {
  std::vector<T> n(static_cast<std::size_t>(W.rows()));
  for (Index i = 0; i < W.rows(); ++i) n[std::size_t(i)] = W.row(i).norm();
  return n;
}

/// The Sequential LASSO callback: selects by row norm of the first layer at the start of each
/// phase, and after each backward pass adds the gradient of the group penalty
/// `scale · Σ_{i unselected} ||W[i, :]||₂` to the first layer's weight gradient.
template <class T>
struct SequentialLassoHook {
  Dense<T>* first;
  std::vector<char>* chosen;
  Selection<T>* s;
  Index T_rounds, per_round;
  double start, stop;
  T scale;
  void on_step_begin(const StepInfo<T>& info) {
    if (info.tau < start) return;
    const double q = (info.tau - start) / (stop - start);
    const Index phase = std::min<Index>(T_rounds, Index(std::ceil(q * double(T_rounds))));
    if (phase > Index(s->history.size()) && Index(s->features.size()) < T_rounds * per_round) {
      s->history.push_back(row_norms(first->weight().value));
      select_top(s->history.back(), *chosen, s->features, per_round);
    }
  }
  void on_backward_end(const StepInfo<T>&) {
    RowMatrix<T>& W = first->weight().value;
    for (Index i = 0; i < W.rows(); ++i) {
      if ((*chosen)[std::size_t(i)]) continue;
      const T n = W.row(i).norm();
      if (n > T(0)) first->weight().grad.row(i) += (scale / n) * W.row(i);
    }
  }
};

}  // namespace detail

/// Sequential LASSO (group penalty on unselected rows of a linear first layer). See the file
/// comment. @throws as SequentialAttentionSelector::fit.
template <class T, class DX, class Dy, class... Callbacks>
Selection<T> sequential_lasso_selection(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<Dy>& y,
                                        const SequentialAttentionOptions<T>& o, T group_lasso_scale = T(0.01),
                                        double stop = 0.999, Callbacks&&... callbacks) {
  constexpr const char* fn = "attnsel::sequential_lasso_selection";
  detail::require(std::isfinite(group_lasso_scale) && group_lasso_scale >= T(0), fn, "argument 'group_lasso_scale' is ",
                  group_lasso_scale, ", expected a finite value >= 0");
  detail::require(o.start >= 0 && o.start < stop && stop <= 1, fn, "option 'start' and argument 'stop' are ", o.start,
                  " and ", stop, ", expected 0 <= start < stop <= 1");
  Index outputs = 0;
  const auto [Xc, Y] = detail::prepare_xy(fn, o, X, y, outputs);
  const Index d = Xc.cols(), T_rounds = o.k / o.per_round;
  Dense<T>* first = nullptr;
  Sequential<T> model = detail::lasso_model(d, outputs, o, first);
  std::vector<char> chosen(static_cast<std::size_t>(d), 0);
  Selection<T> s;
  s.method = T_rounds == 1 ? "group_lasso" : "sequential_lasso";
  detail::SequentialLassoHook<T> hook{first, &chosen, &s, T_rounds, o.per_round, o.start, stop, group_lasso_scale};
  const TrainHistory<T> h = detail::train_selector_model(model, o, Xc, Y, hook, callbacks...);
  s.features_from_training = s.features.size();
  if (Index(s.features.size()) < o.k) {
    s.history.push_back(detail::row_norms(first->weight().value));
    detail::select_top(s.history.back(), chosen, s.features, o.k - Index(s.features.size()));
  }
  s.losses = h.train_loss;
  return s;
}

/// Group LASSO: one selection of all k by row norm, right after `start`.
template <class T, class DX, class Dy, class... Callbacks>
Selection<T> group_lasso_selection(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<Dy>& y,
                                   SequentialAttentionOptions<T> o, T group_lasso_scale = T(0.01), Callbacks&&... callbacks) {
  o.per_round = o.k;
  return sequential_lasso_selection(X, y, o, group_lasso_scale, 0.999, callbacks...);
}

/// Gradient OMP for networks (see the file comment).
template <class T, class DX, class Dy, class... Callbacks>
Selection<T> gradient_omp_selection(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<Dy>& y,
                                    const SequentialAttentionOptions<T>& o, Callbacks&&... callbacks) {
  constexpr const char* fn = "attnsel::gradient_omp_selection";
  Index outputs = 0;
  const auto [Xc, Y] = detail::prepare_xy(fn, o, X, y, outputs);
  const Index d = Xc.cols();
  Sequential<T> model = detail::masked_mlp(d, outputs, o);
  FeatureScale<T>* scale = model.template find<FeatureScale<T>>();
  Dense<T>* first = model.template find<Dense<T>>();
  scale->set_scale(RowMatrix<T>::Zero(1, d));
  std::vector<char> chosen(static_cast<std::size_t>(d), 0);
  Selection<T> s;
  s.method = "gradient_omp";
  struct Hook {
    Sequential<T>* model;
    FeatureScale<T>* scale;
    Dense<T>* first;
    std::vector<char>* chosen;
    Selection<T>* s;
    Index k;
    Task task;
    void pick(const RowMatrix<T>& Xb, const RowMatrix<T>& Yb) {
      const RowMatrix<T> keep = scale->scale();
      scale->set_scale(RowMatrix<T>::Ones(1, keep.cols()));
      RowMatrix<T> g;
      const RowMatrix<T> batch = Xb;  // forward() may reuse the model's input buffer
      detail::task_loss_grad(task, model->forward(batch, true), Yb, g);
      model->backward(g);
      s->history.push_back(detail::row_norms(first->weight().grad));
      detail::select_top(s->history.back(), *chosen, s->features, 1);
      RowMatrix<T> m = keep;
      m(0, s->features.back()) = T(1);
      scale->set_scale(m);
    }
    void on_step_begin(const StepInfo<T>& info) {
      const Index due = std::min<Index>(k, Index(std::ceil(info.tau * double(k))));
      if (due > Index(s->features.size()) && info.batch_X && info.batch_Y) pick(*info.batch_X, *info.batch_Y);
    }
  } hook{&model, scale, first, &chosen, &s, o.k, o.task};
  const TrainHistory<T> h = detail::train_selector_model(model, o, Xc, Y, hook, callbacks...);
  s.features_from_training = s.features.size();
  while (Index(s.features.size()) < o.k) hook.pick(Xc.topRows(std::min<Index>(Xc.rows(), 1024)).eval(),
                                                  Y.topRows(std::min<Index>(Y.rows(), 1024)).eval());
  s.losses = h.train_loss;
  return s;
}

namespace detail {

/// The LLY model: attention network → batch-mean → softmax → weights on the MLP's input.
template <class T>
class LLYModel {
 public:
  LLYModel(Index d, Index outputs, const SequentialAttentionOptions<T>& o) {
    Rng rng(o.seed ^ 0x11u);
    attn_.template emplace<Dense<T>>(d, 128, rng);
    attn_.template emplace<LeakyReLU<T>>(128, T(0.2));
    attn_.template emplace<Dense<T>>(128, 64, rng);
    attn_.template emplace<LeakyReLU<T>>(64, T(0.2));
    attn_.template emplace<Dense<T>>(64, d, rng);
    attn_.template emplace<LeakyReLU<T>>(d, T(0.2));
    main_ = masked_mlp(d, outputs, o);
    scale_ = main_.template find<FeatureScale<T>>();
    a_ = RowMatrix<T>::Constant(1, d, T(1) / T(d));
  }
  Index input_size() const { return main_.input_size(); }
  const RowMatrix<T>& forward(const RowMatrix<T>& X, bool train) {
    const RowMatrix<T>& A = attn_.forward(X, train);
    const RowMatrix<T> m = A.colwise().mean();
    simd::softmax(m.data(), a_.data(), static_cast<std::size_t>(m.cols()));
    scale_->set_scale(a_);
    rows_ = X.rows();
    return main_.forward(X, train);
  }
  void backward(const RowMatrix<T>& dOut) {
    main_.backward(dOut);
    const RowMatrix<T>& g = scale_->scale_grad();
    const T dot = a_.cwiseProduct(g).sum();
    const RowMatrix<T> dm = a_.array() * (g.array() - dot);
    dA_ = dm.replicate(rows_, 1) / T(rows_);
    attn_.backward(dA_);
  }
  std::vector<Parameter<T>*> parameters() {
    auto p = main_.parameters();
    for (auto* q : attn_.parameters()) p.push_back(q);
    return p;
  }
  template <class D>
  RowMatrix<T> predict(const Eigen::MatrixBase<D>& X) {
    scale_->set_scale(a_);
    return main_.predict(X);
  }
  /// Mean attention-network output over X (in chunks), the scores the selection ranks.
  std::vector<T> scores(const RowMatrix<T>& X) {
    RowMatrix<T> sum = RowMatrix<T>::Zero(1, X.cols());
    for (Index r = 0; r < X.rows(); r += 1024) {
      const Index n = std::min<Index>(1024, X.rows() - r);
      const RowMatrix<T> chunk = X.middleRows(r, n);
      sum += attn_.forward(chunk, false).colwise().sum();
    }
    sum /= T(X.rows());
    return std::vector<T>(sum.data(), sum.data() + sum.size());
  }

 private:
  Sequential<T> attn_, main_;
  FeatureScale<T>* scale_ = nullptr;
  RowMatrix<T> a_, dA_;
  Index rows_ = 0;
};

}  // namespace detail

/// Liao–Latty–Yang attention (see the file comment).
template <class T, class DX, class Dy, class... Callbacks>
Selection<T> lly_selection(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<Dy>& y, const SequentialAttentionOptions<T>& o,
                           Callbacks&&... callbacks) {
  constexpr const char* fn = "attnsel::lly_selection";
  Index outputs = 0;
  const auto [Xc, Y] = detail::prepare_xy(fn, o, X, y, outputs);
  detail::LLYModel<T> model(Xc.cols(), outputs, o);
  const TrainHistory<T> h = detail::train_selector_model(model, o, Xc, Y, callbacks...);
  Selection<T> s;
  s.method = "lly";
  s.history.push_back(model.scores(Xc));
  std::vector<char> chosen(static_cast<std::size_t>(Xc.cols()), 0);
  detail::select_top(s.history.back(), chosen, s.features, o.k);
  s.features_from_training = s.features.size();
  s.losses = h.train_loss;
  return s;
}

ATTNSEL_NAMESPACE_END
