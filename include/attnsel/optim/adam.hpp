// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file optim/adam.hpp
/// Adam with bias correction and decoupled weight decay (AdamW when weight_decay > 0).

#include <cmath>

#include "../simd/dispatch.hpp"
#include "optimizer.hpp"

ATTNSEL_NAMESPACE_BEGIN

template <class T>
struct AdamOptions {
  T learning_rate = T(1e-3);
  T beta1 = T(0.9);
  T beta2 = T(0.999);
  /// Added to sqrt(v̂); 1e-7 as Keras (PyTorch uses 1e-8).
  T epsilon = T(1e-7);
  /// Decoupled decay: w ← w − lr · weight_decay · w each step (0 = plain Adam).
  T weight_decay = T(0);
  /// Coupled L2 penalty (l2/2)·||w||² on the loss: l2 · w is added to the gradient before the
  /// moments (PyTorch's Adam weight_decay; scikit-learn's C maps to l2 = 1 / (C · n)).
  T l2 = T(0);
};

namespace detail {
template <class T>
struct AdamState {
  AdamState(Index r, Index c) : m(RowMatrix<T>::Zero(r, c)), v(RowMatrix<T>::Zero(r, c)) {}
  Index rows() const { return m.rows(); }
  Index cols() const { return m.cols(); }
  RowMatrix<T> m, v;
};
}  // namespace detail

/// g ← grad + l2·w;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;  w ← w − lr·(m̂ / (sqrt(v̂) + ε) + wd·w),
/// with m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t) and t the update count since the last
/// reset_state().
template <class T>
class Adam : public detail::OptimizerBase<T, detail::AdamState<T>> {
  using Base = detail::OptimizerBase<T, detail::AdamState<T>>;

 public:
  /// @throws std::invalid_argument for betas outside [0, 1), epsilon <= 0, negative decay, or a
  ///         non-finite learning rate, epsilon, weight decay or l2.
  explicit Adam(AdamOptions<T> options = {}) : Base("attnsel::Adam", options.learning_rate), opt_(options) {
    detail::require(options.beta1 >= T(0) && options.beta1 < T(1), "attnsel::Adam", "option 'beta1' is ",
                    options.beta1, ", expected a value in [0, 1)");
    detail::require(options.beta2 >= T(0) && options.beta2 < T(1), "attnsel::Adam", "option 'beta2' is ",
                    options.beta2, ", expected a value in [0, 1)");
    detail::require(std::isfinite(options.epsilon) && options.epsilon > T(0), "attnsel::Adam", "option 'epsilon' is ",
                    options.epsilon, ", expected a finite value > 0");
    detail::require(std::isfinite(options.weight_decay) && options.weight_decay >= T(0), "attnsel::Adam",
                    "option 'weight_decay' is ", options.weight_decay, ", expected a finite value >= 0");
    detail::require(std::isfinite(options.l2) && options.l2 >= T(0), "attnsel::Adam", "option 'l2' is ", options.l2,
                    ", expected a finite value >= 0");
  }

  /// Applies one update to every trainable registered parameter from its current grad.
  void step();

  const AdamOptions<T>& options() const noexcept { return opt_; }
  /// The first and second moments of a registered parameter (for training checkpoints).
  /// @throws std::invalid_argument when `p` is not registered.
  RowMatrix<T>& first_moment(const Parameter<T>& p) { return this->entry_of(p).state.m; }
  RowMatrix<T>& second_moment(const Parameter<T>& p) { return this->entry_of(p).state.v; }

 private:
  AdamOptions<T> opt_;
};

template <class T>
void Adam<T>::step() {
  const std::size_t t = this->iterations_ + 1;
  const T c1 = T(1) - T(std::pow(double(opt_.beta1), double(t)));
  const T c2 = T(1) - T(std::pow(double(opt_.beta2), double(t)));
  const T b1 = opt_.beta1, b2 = opt_.beta2;
  for (auto& e : this->entries_) {
    if (!e.param->trainable) continue;
    this->check_shapes(e);
    const T lr = this->lr_for(e);
    const T wd = this->decay_for(e, opt_.weight_decay);
    const T l2 = this->l2_for(e, opt_.l2);
    T* wp = e.param->value.data();
    T* gp = e.param->grad.data();
    T* mp = e.state.m.data();
    T* vp = e.state.v.data();
    const simd::AdamStep<T> st{b1, b2, lr / c1, c2, opt_.epsilon, lr * wd, l2};
    detail::for_chunks(e.param->value.size(), [&](Index begin, Index len) {
      simd::adam<T>(st, wp + begin, gp + begin, mp + begin, vp + begin, std::size_t(len));
    });
  }
  ++this->iterations_;
}

ATTNSEL_NAMESPACE_END
