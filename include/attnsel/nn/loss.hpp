// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file nn/loss.hpp
/// Losses over a minibatch of model outputs, each with its gradient and its natural metric.
///
/// Targets are row-major matrices with one row per example: class ids (as T, one column) for
/// SoftmaxCrossEntropy and BinaryLogistic, real values (one column per output) for
/// MeanSquaredError. Every loss is the *mean* over the batch, so gradients are divided by the
/// batch size. Interface (used by the trainer):
///  - `T value(out, target)`
///  - `T value_and_grad(out, target, grad)`  (grad resized to out's shape)
///  - `T metric(out, target)` and `const char* metric_name()`
///  - `bool higher_is_better()` for the metric.

#include <cmath>
#include <cstddef>
#include <limits>

#include "../error.hpp"
#include "../simd/dispatch.hpp"
#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

namespace detail {

template <class T>
void check_loss_shapes(const char* fn, const RowMatrix<T>& out, const RowMatrix<T>& target,
                       Index target_cols) {
  require(out.rows() >= 1, fn, "the batch is empty");
  require(target.rows() == out.rows() && target.cols() == target_cols, fn, "argument 'target' is ",
          target.rows(), "x", target.cols(), ", expected ", out.rows(), "x", target_cols);
}

/// The class id stored in target(r, 0), checked to be an integer in [0, classes).
template <class T>
Index class_id(const char* fn, const RowMatrix<T>& target, Index r, Index classes) {
  const T v = target(r, 0);
  // Range first: converting NaN or a huge value to an integer is undefined behaviour.
  if (!(v >= T(0) && v < T(classes) && v == std::floor(v))) {
    throw_invalid(fn, "argument 'target' holds ", v, " at row ", r, ", expected a class id in [0, ",
                  classes, ")");
  }
  return static_cast<Index>(v);
}

}  // namespace detail

/// Softmax + categorical cross-entropy on logits (batch x classes) and class ids (batch x 1).
/// loss = mean_i (log-sum-exp(z_i) − z_i[y_i]); dL/dz = (softmax(z) − onehot(y)) / batch.
/// Metric: accuracy (argmax, lowest index on ties).
template <class T>
struct SoftmaxCrossEntropy {
  T value(const RowMatrix<T>& out, const RowMatrix<T>& target) const {
    constexpr const char* fn = "attnsel::SoftmaxCrossEntropy";
    detail::check_loss_shapes(fn, out, target, 1);
    long double total = 0;
    const auto C = static_cast<std::size_t>(out.cols());
    for (Index r = 0; r < out.rows(); ++r) {
      const Index y = detail::class_id(fn, target, r, out.cols());
      const T* z = out.data() + r * out.cols();
      total += simd::log_sum_exp(z, C) - z[y];
    }
    return T(total / out.rows());
  }

  T value_and_grad(const RowMatrix<T>& out, const RowMatrix<T>& target, RowMatrix<T>& grad) const {
    constexpr const char* fn = "attnsel::SoftmaxCrossEntropy";
    detail::check_loss_shapes(fn, out, target, 1);
    grad.resize(out.rows(), out.cols());
    const auto C = static_cast<std::size_t>(out.cols());
    const T inv_batch = T(1) / T(out.rows());
    long double total = 0;
    for (Index r = 0; r < out.rows(); ++r) {
      const Index y = detail::class_id(fn, target, r, out.cols());
      const T* z = out.data() + r * out.cols();
      T* g = grad.data() + r * grad.cols();
      const simd::SoftmaxStats<T> st = simd::softmax(z, g, C);
      total += st.max + std::log(st.sum) - z[y];
      g[y] -= T(1);
      simd::scale(inv_batch, g, g, C);
    }
    return T(total / out.rows());
  }

  T metric(const RowMatrix<T>& out, const RowMatrix<T>& target) const {
    constexpr const char* fn = "attnsel::SoftmaxCrossEntropy";
    detail::check_loss_shapes(fn, out, target, 1);
    Index correct = 0;
    for (Index r = 0; r < out.rows(); ++r) {
      const Index y = detail::class_id(fn, target, r, out.cols());
      const std::size_t p = simd::masked_argmax(out.data() + r * out.cols(), static_cast<const T*>(nullptr),
                                                static_cast<std::size_t>(out.cols()));
      correct += static_cast<Index>(p) == y ? 1 : 0;
    }
    return T(correct) / T(out.rows());
  }
  static const char* metric_name() { return "accuracy"; }
  static bool higher_is_better() { return true; }
};

/// Sigmoid + binary cross-entropy on one logit column and 0/1 targets.
/// loss = mean(softplus(z) − y·z); dL/dz = (sigmoid(z) − y) / batch. Metric: accuracy (z > 0).
template <class T>
struct BinaryLogistic {
  T value(const RowMatrix<T>& out, const RowMatrix<T>& target) const {
    return compute(out, target, nullptr);
  }
  T value_and_grad(const RowMatrix<T>& out, const RowMatrix<T>& target, RowMatrix<T>& grad) const {
    return compute(out, target, &grad);
  }
  T metric(const RowMatrix<T>& out, const RowMatrix<T>& target) const {
    check(out, target);
    Index correct = 0;
    for (Index r = 0; r < out.rows(); ++r) correct += ((out(r, 0) > T(0)) == (target(r, 0) == T(1))) ? 1 : 0;
    return T(correct) / T(out.rows());
  }
  static const char* metric_name() { return "accuracy"; }
  static bool higher_is_better() { return true; }

 private:
  static void check(const RowMatrix<T>& out, const RowMatrix<T>& target) {
    constexpr const char* fn = "attnsel::BinaryLogistic";
    detail::require(out.cols() == 1, fn, "argument 'out' (the model output) has ", out.cols(),
                    " columns, expected 1 (one logit per example)");
    detail::check_loss_shapes(fn, out, target, 1);
    for (Index r = 0; r < out.rows(); ++r)
      detail::class_id(fn, target, r, 2);
  }
  static T compute(const RowMatrix<T>& out, const RowMatrix<T>& target, RowMatrix<T>* grad) {
    check(out, target);
    if (grad) grad->resize(out.rows(), 1);
    const T inv_batch = T(1) / T(out.rows());
    long double total = 0;
    for (Index r = 0; r < out.rows(); ++r) {
      const T z = out(r, 0), y = target(r, 0);
      // softplus(z) = max(z, 0) + log1p(exp(-|z|)), stable for any z
      total += (z > T(0) ? z : T(0)) + std::log1p(std::exp(-std::fabs(z))) - y * z;
      if (grad) {
        const T s = z >= T(0) ? T(1) / (T(1) + std::exp(-z)) : std::exp(z) / (T(1) + std::exp(z));
        (*grad)(r, 0) = (s - y) * inv_batch;
      }
    }
    return T(total / out.rows());
  }
};

/// Mean squared error over all entries: loss = mean((out − target)²); dL/dout = 2(out − target)
/// / (batch · outputs). Metric: root mean squared error (lower is better).
template <class T>
struct MeanSquaredError {
  T value(const RowMatrix<T>& out, const RowMatrix<T>& target) const {
    detail::check_loss_shapes("attnsel::MeanSquaredError", out, target, out.cols());
    const T *o = out.data(), *t = target.data();
    T s(0);
    for (Index i = 0, n = out.size(); i < n; ++i) s += (o[i] - t[i]) * (o[i] - t[i]);
    return s / T(out.size());
  }
  T value_and_grad(const RowMatrix<T>& out, const RowMatrix<T>& target, RowMatrix<T>& grad) const {
    detail::check_loss_shapes("attnsel::MeanSquaredError", out, target, out.cols());
    grad.resize(out.rows(), out.cols());
    const T *o = out.data(), *t = target.data();
    T* g = grad.data();
    const T scale = T(2) / T(out.size());
    T s(0);
    for (Index i = 0, n = out.size(); i < n; ++i) {
      const T d = o[i] - t[i];
      g[i] = d * scale;
      s += d * d;
    }
    return s / T(out.size());
  }
  T metric(const RowMatrix<T>& out, const RowMatrix<T>& target) const { return std::sqrt(value(out, target)); }
  static const char* metric_name() { return "rmse"; }
  static bool higher_is_better() { return false; }
};

ATTNSEL_NAMESPACE_END
