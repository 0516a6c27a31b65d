// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file optim/sgd.hpp
/// Stochastic gradient descent with (Nesterov) momentum and L2 weight decay.

#include <cmath>

#include "optimizer.hpp"

ATTNSEL_NAMESPACE_BEGIN

template <class T>
struct SGDOptions {
  T learning_rate = T(0.01);
  T momentum = T(0);
  bool nesterov = false;
  /// L2 penalty: weight_decay · w is added to the gradient.
  T weight_decay = T(0);
};

namespace detail {
template <class T>
struct MomentumState {
  MomentumState(Index r, Index c) : v(RowMatrix<T>::Zero(r, c)) {}
  Index rows() const { return v.rows(); }
  Index cols() const { return v.cols(); }
  RowMatrix<T> v;
};
}  // namespace detail

/// g ← grad + wd·w;  v ← μ·v + g;  w ← w − lr·(nesterov ? g + μ·v : v).
template <class T>
class SGD : public detail::OptimizerBase<T, detail::MomentumState<T>> {
  using Base = detail::OptimizerBase<T, detail::MomentumState<T>>;

 public:
  /// @throws std::invalid_argument for a negative learning rate, momentum outside [0, 1) or a
  ///         negative weight decay.
  explicit SGD(SGDOptions<T> options = {}) : Base("attnsel::SGD", options.learning_rate), opt_(options) {
    detail::require(options.momentum >= T(0) && options.momentum < T(1), "attnsel::SGD", "option 'momentum' is ",
                    options.momentum, ", expected a value in [0, 1)");
    detail::require(std::isfinite(options.weight_decay) && options.weight_decay >= T(0), "attnsel::SGD",
                    "option 'weight_decay' is ", options.weight_decay, ", expected a finite value >= 0");
  }

  /// Applies one update to every trainable registered parameter from its current grad.
  void step();

 private:
  SGDOptions<T> opt_;
};

template <class T>
void SGD<T>::step() {
  for (auto& e : this->entries_) {
    if (!e.param->trainable) continue;
    this->check_shapes(e);
    const T lr = this->lr_for(e);
    const T wd = this->decay_for(e, opt_.weight_decay);
    T* w = e.param->value.data();
    T* v = e.state.v.data();
    const T* g = e.param->grad.data();
    const T mu = opt_.momentum;
    for (Index i = 0, n = e.param->value.size(); i < n; ++i) {
      const T gi = g[i] + wd * w[i];
      if (mu == T(0)) {
        w[i] -= lr * gi;
      } else {
        v[i] = mu * v[i] + gi;
        w[i] -= lr * (opt_.nesterov ? gi + mu * v[i] : v[i]);
      }
    }
  }
  ++this->iterations_;
}

ATTNSEL_NAMESPACE_END
