// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file selection/linear_sa.hpp
/// Regularised linear Sequential Attention, the setting in which the paper proves that Sequential
/// Attention selects the same sequence as Orthogonal Matching Pursuit (docs/sequential-attention.md §4.3).
///
/// Each round: the selected features S are refit by least squares (the projection step) and
/// leave the residual r; the unselected features U then compete through the Hadamard model
/// r ≈ X_U (softmax(w) ⊙ β) with ℓ2 penalties on β and w,
///
///   min_{β, w}  (1/2n)·||r − X_U (softmax(w) ⊙ β)||² + (λ/2)·(||β||² + ||w||²),
///
/// trained by full-batch gradient descent from β = 0, w = 0; the feature with the largest logit
/// joins S. Early in training w_j grows with (x_jᵀ r)², so the pick is OMP's argmax |x_jᵀ r|.
/// Columns are centred and scaled to unit variance (OMP with normalised columns makes the same
/// choice), and y is centred.

#include <algorithm>
#include <cmath>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "../error.hpp"
#include "../simd/dispatch.hpp"
#include "../types.hpp"
#include "selection_result.hpp"

ATTNSEL_NAMESPACE_BEGIN

struct LinearSequentialAttentionOptions {
  Index steps = 1000;           ///< gradient-descent steps per round
  /// Step size, multiplied by the number of candidates (softmax weights are ~1/m) and capped at
  /// 1/λ so that the penalty term stays stable.
  double learning_rate = 0.01;
  /// λ. The equivalence with OMP holds in the regularised regime, where the penalty keeps the
  /// unselected part of the fit small (here: λ ≳ 0.1 for unit-variance columns); with weak
  /// penalties and long training the competition leaves that regime.
  double l2 = 1.0;
};

namespace detail {
/// The rounds of linear_sequential_attention on the prepared problem (centred, unit-variance
/// columns Xs, centred yc): one instantiation per scalar type (compile time; compiled mode).
template <class T>
Selection<T> linear_sa_prepared(const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& Xs, const Vector<T>& yc, Index k,
                                const LinearSequentialAttentionOptions& options);
}  // namespace detail

/// @throws std::invalid_argument for k outside [1, min(n, d)], shape mismatches, NaN/inf, bad
///         options.
template <class DX, class Dy>
Selection<typename DX::Scalar> linear_sequential_attention(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<Dy>& y,
                                                           Index k, const LinearSequentialAttentionOptions& options = {}) {
  constexpr const char* fn = "attnsel::linear_sequential_attention";
  const Index n = X.rows(), d = X.cols();
  detail::require(options.steps >= 1, fn, "option 'steps' is ", options.steps, ", expected >= 1");
  detail::require(std::isfinite(options.learning_rate) && options.learning_rate > 0, fn, "option 'learning_rate' is ",
                  options.learning_rate, ", expected a finite value > 0");
  detail::require(std::isfinite(options.l2) && options.l2 >= 0, fn, "option 'l2' is ", options.l2,
                  ", expected a finite value >= 0");
  const auto [Xs, yc] = detail::linear_problem(fn, X, y, k, std::min(n, d), true, true);
  return detail::linear_sa_prepared(Xs, yc, k, options);
}

template <class T>
Selection<T> detail::linear_sa_prepared(const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& Xs, const Vector<T>& yc,
                                        Index k, const LinearSequentialAttentionOptions& options) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using Vec = Vector<T>;
  const Index n = Xs.rows(), d = Xs.cols();
  Selection<T> out;
  out.method = "linear_sequential_attention";
  std::vector<char> chosen(static_cast<std::size_t>(d), 0);
  Vec r = yc;
  const T lam = T(options.l2);
  for (Index round = 0; round < k; ++round) {
    std::vector<Index> U;
    for (Index j = 0; j < d; ++j)
      if (!chosen[std::size_t(j)]) U.push_back(j);
    const Index m = Index(U.size());
    Mat XU(n, m);
    for (Index i = 0; i < m; ++i) XU.col(i) = Xs.col(U[std::size_t(i)]);
    Vec w = Vec::Zero(m), beta = Vec::Zero(m), a(m), e(n), c(m), ga(m);
    T lr = T(options.learning_rate) * T(m);  // softmax weights are ~1/m: keep steps O(1)
    if (lam > T(0)) lr = std::min(lr, T(1) / lam);
    for (Index t = 0; t < options.steps; ++t) {
      simd::softmax(w.data(), a.data(), static_cast<std::size_t>(m));
      e.noalias() = r - XU * a.cwiseProduct(beta);
      c.noalias() = XU.transpose() * e / T(n);  // −dL/d(a ⊙ β)
      ga = -beta.cwiseProduct(c);
      const T avg = a.dot(ga);
      const Vec gw = (a.array() * (ga.array() - avg)).matrix() + lam * w;
      const Vec gb = -a.cwiseProduct(c) + lam * beta;
      beta -= lr * gb;
      w -= lr * gw;
    }
    Index best = 0;
    for (Index i = 1; i < m; ++i)
      if (w(i) > w(best)) best = i;
    std::vector<T> logits(static_cast<std::size_t>(d), T(0));
    for (Index i = 0; i < m; ++i) logits[std::size_t(U[std::size_t(i)])] = w(i);
    out.history.push_back(std::move(logits));
    const Index j = U[std::size_t(best)];
    chosen[std::size_t(j)] = 1;
    out.features.push_back(j);
    // Projection step: least squares on the selected columns.
    Mat XS(n, Index(out.features.size()));
    for (std::size_t i = 0; i < out.features.size(); ++i) XS.col(Index(i)) = Xs.col(out.features[i]);
    const Vec coef = (XS.transpose() * XS).ldlt().solve(XS.transpose() * yc);
    r = yc - XS * coef;
    out.losses.push_back(r.norm());
  }
  out.features_from_training = out.features.size();
  return out;
}

ATTNSEL_NAMESPACE_END
