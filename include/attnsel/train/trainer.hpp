// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file train/trainer.hpp
/// `fit`: epochs of seeded, shuffled minibatches through a model, a loss and an optimizer,
/// with a learning-rate schedule, validation after each epoch and callbacks.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <numeric>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../nn/parameter.hpp"
#include "../random.hpp"
#include "../types.hpp"
#include "callbacks.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// How `fit` trains.
template <class T>
struct TrainOptions {
  Index epochs = 10;
  Index batch_size = 256;
  bool shuffle = true;
  /// Drop the last, smaller batch of each epoch (Keras' drop_remainder).
  bool drop_last = false;
  /// Seeds the per-epoch shuffles.
  std::uint64_t seed = 1;
  /// Learning rate per step, `rate(step, total_steps)` (see optim/schedule.hpp); empty keeps the
  /// optimizer's rate.
  std::function<T(std::size_t, std::size_t)> learning_rate;
  /// Optional validation data, evaluated after every epoch (both or neither).
  const RowMatrix<T>* validation_X = nullptr;
  const RowMatrix<T>* validation_Y = nullptr;
};

namespace detail {

template <class T>
void check_finite_matrix(const char* fn, const char* name, const RowMatrix<T>& M) {
  if (detail::all_finite(M)) return;
  for (Index r = 0; r < M.rows(); ++r)
    for (Index c = 0; c < M.cols(); ++c)
      if (!std::isfinite(M(r, c))) throw_invalid(fn, "argument '", name, "' holds ", M(r, c), " at (", r, ", ", c, ")");
}

template <class T>
void gather_rows(const RowMatrix<T>& src, const std::vector<Index>& idx, std::size_t begin, std::size_t n,
                 RowMatrix<T>& dst) {
  dst.resize(static_cast<Index>(n), src.cols());
  // Plain row copies (memcpy-like; no Eigen assignment to instantiate per trainer).
  const Index c = src.cols();
  for (std::size_t i = 0; i < n; ++i) {
    const T* from = src.data() + idx[begin + i] * c;
    std::copy(from, from + c, dst.data() + static_cast<Index>(i) * c);
  }
}

template <class M, class = void>
struct has_input_buffer : std::false_type {};
template <class M>
struct has_input_buffer<M, std::void_t<decltype(std::declval<M&>().input_buffer()),
                                       decltype(std::declval<M&>().forward_input(true))>> : std::true_type {};

/// A loss seen through function pointers, and an optimizer likewise: a caller that picks its
/// loss or optimizer at run time (the selectors: by task and option) instantiates `fit` once
/// instead of once per combination (compile time, docs/conventions.md §7). An indirect call per
/// batch; the same arithmetic as the object itself.
template <class T>
class LossRef {
 public:
  template <class L>
  explicit LossRef(const L& loss) noexcept
      : loss_(&loss),
        name_(loss.metric_name()),
        value_([](const void* l, const RowMatrix<T>& out, const RowMatrix<T>& target) {
          return static_cast<const L*>(l)->value(out, target);
        }),
        value_and_grad_([](const void* l, const RowMatrix<T>& out, const RowMatrix<T>& target, RowMatrix<T>& grad) {
          return static_cast<const L*>(l)->value_and_grad(out, target, grad);
        }),
        metric_([](const void* l, const RowMatrix<T>& out, const RowMatrix<T>& target) {
          return static_cast<const L*>(l)->metric(out, target);
        }) {}

  T value(const RowMatrix<T>& out, const RowMatrix<T>& target) const { return value_(loss_, out, target); }
  T value_and_grad(const RowMatrix<T>& out, const RowMatrix<T>& target, RowMatrix<T>& grad) const {
    return value_and_grad_(loss_, out, target, grad);
  }
  T metric(const RowMatrix<T>& out, const RowMatrix<T>& target) const { return metric_(loss_, out, target); }
  const char* metric_name() const noexcept { return name_; }

 private:
  const void* loss_;
  const char* name_;
  T (*value_)(const void*, const RowMatrix<T>&, const RowMatrix<T>&);
  T (*value_and_grad_)(const void*, const RowMatrix<T>&, const RowMatrix<T>&, RowMatrix<T>&);
  T (*metric_)(const void*, const RowMatrix<T>&, const RowMatrix<T>&);
};

template <class T>
class OptimizerRef {
 public:
  template <class O>
  explicit OptimizerRef(O& optimizer) noexcept
      : optimizer_(&optimizer),
        holds_([](const void* o, const Parameter<T>* p) { return static_cast<const O*>(o)->holds(p); }),
        add_([](void* o, const std::vector<Parameter<T>*>& params) {
          static_cast<O*>(o)->add_parameters(params);
        }),
        get_rate_([](const void* o) { return T(static_cast<const O*>(o)->learning_rate()); }),
        set_rate_([](void* o, T rate) { static_cast<O*>(o)->set_learning_rate(rate); }),
        step_([](void* o) { static_cast<O*>(o)->step(); }) {}

  bool holds(const Parameter<T>* p) const { return holds_(optimizer_, p); }
  void add_parameters(const std::vector<Parameter<T>*>& params) { add_(optimizer_, params); }
  T learning_rate() const { return get_rate_(optimizer_); }
  void set_learning_rate(T rate) { set_rate_(optimizer_, rate); }
  void step() { step_(optimizer_); }

 private:
  void* optimizer_;
  bool (*holds_)(const void*, const Parameter<T>*);
  void (*add_)(void*, const std::vector<Parameter<T>*>&);
  T (*get_rate_)(const void*);
  void (*set_rate_)(void*, T);
  void (*step_)(void*);
};

}  // namespace detail

/// Trains `model` on (X, Y) and returns the per-epoch history.
///
/// @tparam Model   `forward(X, train)`, `backward(dOut)`, `parameters()`, `predict(X)`,
///                 `input_size()` (e.g. Sequential).
/// @tparam Loss    `value`, `value_and_grad`, `metric`, `metric_name` (nn/loss.hpp).
/// @tparam Optimizer `add_parameters`, `holds`, `set_learning_rate`, `learning_rate`, `step`
///                 (SGD, Adam). The model's parameters that it does not hold yet are registered
///                 as one group before training; register them yourself first to use groups.
/// @param X        examples in rows; Y targets in rows (class ids in one column for the
///                 classification losses).
/// @param callbacks objects with any of the events of train/callbacks.hpp.
/// @throws std::invalid_argument on shape mismatches, non-finite data, bad options;
///         std::runtime_error when the training loss becomes NaN or infinite.
template <class T, class Model, class Loss, class Optimizer, class... Callbacks>
TrainHistory<T> fit(Model& model, const Loss& loss, Optimizer& optimizer, const RowMatrix<T>& X,
                    const RowMatrix<T>& Y, const TrainOptions<T>& options, Callbacks&&... callbacks) {
  static_assert((detail::is_callback_v<T, std::decay_t<Callbacks>> && ...),
                "attnsel::fit: a callback has none of the events on_train_begin, on_epoch_begin, on_step_begin, "
                "on_backward_end, on_step_end, on_epoch_end, on_train_end (see include/attnsel/train/callbacks.hpp)");
  constexpr const char* fn = "attnsel::fit";
  detail::require(options.epochs >= 0, fn, "option 'epochs' is ", options.epochs, ", expected >= 0");
  detail::require(options.batch_size >= 1, fn, "option 'batch_size' is ", options.batch_size, ", expected >= 1");
  detail::require(X.rows() >= 1, fn, "argument 'X' has no rows");
  detail::require(X.cols() == model.input_size(), fn, "argument 'X' has ", X.cols(), " columns, the model takes ",
                  model.input_size());
  detail::require(Y.rows() == X.rows(), fn, "argument 'Y' has ", Y.rows(), " rows, expected ", X.rows(),
                  " (the rows of 'X')");
  detail::check_finite_matrix(fn, "X", X);
  detail::check_finite_matrix(fn, "Y", Y);
  const bool has_val = options.validation_X != nullptr || options.validation_Y != nullptr;
  if (has_val) {
    detail::require(options.validation_X && options.validation_Y, fn,
                    "options 'validation_X' and 'validation_Y' must be given together");
    const RowMatrix<T>& vX = *options.validation_X;
    const RowMatrix<T>& vY = *options.validation_Y;
    detail::require(vX.rows() >= 1 && vX.cols() == X.cols() && vY.rows() == vX.rows() && vY.cols() == Y.cols(), fn,
                    "validation data is ", vX.rows(), "x", vX.cols(), " / ", vY.rows(), "x", vY.cols(), ", expected ",
                    "n x ", X.cols(), " / n x ", Y.cols(), " with n >= 1");
    detail::check_finite_matrix(fn, "validation_X", vX);
    detail::check_finite_matrix(fn, "validation_Y", vY);
  }

  // Every model parameter the optimizer does not hold yet joins it as one group, so the order of
  // registrations does not matter (a pruner's logits registered first do not leave the network
  // untrained). Freeze a parameter with Parameter::trainable = false, not by leaving it out.
  {
    std::vector<Parameter<T>*> missing;
    for (Parameter<T>* p : model.parameters())
      if (!optimizer.holds(p)) missing.push_back(p);
    if (!missing.empty()) optimizer.add_parameters(missing);
  }

  const auto n = static_cast<std::size_t>(X.rows());
  const auto B = std::min<std::size_t>(static_cast<std::size_t>(options.batch_size), n);
  const std::size_t batches = options.drop_last ? n / B : (n + B - 1) / B;
  const std::size_t total = batches * static_cast<std::size_t>(options.epochs);

  TrainHistory<T> history;
  history.metric_name = loss.metric_name();
  std::vector<Index> order(n);
  std::iota(order.begin(), order.end(), Index(0));
  Rng rng(options.seed);
  RowMatrix<T> Xb, Yb, dOut;
  const auto t_start = std::chrono::steady_clock::now();

  StepInfo<T> info;
  info.epochs = options.epochs;
  info.total_steps = total;
  info.batches = batches;
  info.learning_rate = optimizer.learning_rate();
  detail::fire_on_train_begin(info, callbacks...);

  bool stop = false;
  for (Index epoch = 0; epoch < options.epochs && !stop; ++epoch) {
    const auto t_epoch = std::chrono::steady_clock::now();
    if (options.shuffle) random::shuffle(order, rng);
    info.epoch = epoch;
    info.batch = 0;
    detail::fire_on_epoch_begin(info, callbacks...);
    long double epoch_loss = 0;
    std::size_t epoch_rows = 0;
    for (std::size_t b = 0; b < batches && !stop; ++b) {
      const std::size_t begin = b * B;
      const std::size_t rows = std::min(B, n - begin);
      if constexpr (detail::has_input_buffer<Model>::value) {
        detail::gather_rows(X, order, begin, rows, model.input_buffer());
      } else {
        detail::gather_rows(X, order, begin, rows, Xb);
      }
      detail::gather_rows(Y, order, begin, rows, Yb);
      if constexpr (detail::has_input_buffer<Model>::value) {
        info.batch_X = &model.input_buffer();
      } else {
        info.batch_X = &Xb;
      }
      info.batch_Y = &Yb;
      info.batch = b;
      info.tau = total == 0 ? 0.0 : double(info.step) / double(total);
      if (options.learning_rate) optimizer.set_learning_rate(options.learning_rate(info.step, total));
      info.learning_rate = optimizer.learning_rate();
      info.loss = std::numeric_limits<T>::quiet_NaN();
      detail::fire_on_step_begin(info, callbacks...);

      const RowMatrix<T>* out_ptr = nullptr;
      if constexpr (detail::has_input_buffer<Model>::value) {
        out_ptr = &model.forward_input(true);
      } else {
        out_ptr = &model.forward(Xb, true);
      }
      const RowMatrix<T>& out = *out_ptr;
      const T batch_loss = loss.value_and_grad(out, Yb, dOut);
      if (!std::isfinite(batch_loss)) {
        throw std::runtime_error(detail::concat("attnsel::fit: the training loss is ", batch_loss, " at epoch ",
                                                epoch + 1, ", batch ", b + 1,
                                                " (diverged: try a smaller learning rate)"));
      }
      model.backward(dOut);
      detail::fire_on_backward_end(info, callbacks...);
      optimizer.step();
      info.loss = batch_loss;
      stop = detail::fire_on_step_end(info, callbacks...) || stop;
      ++info.step;
      epoch_loss += (long double)batch_loss * rows;
      epoch_rows += rows;
    }

    EpochInfo<T> e;
    e.epoch = epoch;
    e.epochs = options.epochs;
    e.train_loss = epoch_rows ? T(epoch_loss / epoch_rows) : T(0);
    e.metric_name = loss.metric_name();
    if (has_val) {
      const RowMatrix<T> pred = model.predict(*options.validation_X);
      e.has_validation = true;
      e.validation_loss = loss.value(pred, *options.validation_Y);
      e.validation_metric = loss.metric(pred, *options.validation_Y);
      history.validation_loss.push_back(e.validation_loss);
      history.validation_metric.push_back(e.validation_metric);
    }
    e.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_epoch).count();
    history.train_loss.push_back(e.train_loss);
    history.epochs_run = epoch + 1;
    if (detail::fire_on_epoch_end(e, callbacks...)) stop = true;
  }
  info.batch_X = info.batch_Y = nullptr;
  history.steps = info.step;
  history.stopped_early = stop;
  history.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  detail::fire_on_train_end(history, callbacks...);
  return history;
}

ATTNSEL_NAMESPACE_END
