// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file selection/lasso.hpp
/// Lasso path selection: solves min_β (1/2n)·||y − Xβ||² + λ·||β||₁ by cyclic coordinate
/// descent (covariance updates on the Gram matrix, warm starts) for a decreasing geometric grid
/// of λ from λ_max = max|Xᵀy|/n, and returns the first k features to enter the model, in order
/// of entry (features entering at the same λ: larger |β| first, then lower index). X and y are
/// centred (fit_intercept) and, by default, the columns standardised, so that λ treats every
/// feature alike.

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "../error.hpp"
#include "../types.hpp"
#include "selection_result.hpp"

ATTNSEL_NAMESPACE_BEGIN

struct LassoPathOptions {
  Index n_lambdas = 200;     ///< grid points from λ_max down to eps · λ_max
  double eps = 1e-4;
  Index max_sweeps = 1000;   ///< coordinate-descent sweeps per λ
  double tol = 1e-7;         ///< stop a λ when no coefficient moves more than tol (relative)
  bool fit_intercept = true;
  bool standardize = true;
};

namespace detail {
/// The path of lasso_path_selection on the prepared problem (Xc, yc as the options ask): one
/// instantiation per scalar type (compile time; compiled mode).
template <class T>
Selection<T> lasso_path_prepared(const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& Xc, const Vector<T>& yc, Index k,
                                 const LassoPathOptions& options);
}  // namespace detail

/// @throws std::invalid_argument for k outside [1, d], shape mismatches, NaN/inf, bad options.
template <class DX, class Dy>
Selection<typename DX::Scalar> lasso_path_selection(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<Dy>& y,
                                                    Index k, const LassoPathOptions& options = {}) {
  constexpr const char* fn = "attnsel::lasso_path_selection";
  const Index d = X.cols();
  detail::require(options.n_lambdas >= 2, fn, "option 'n_lambdas' is ", options.n_lambdas, ", expected >= 2");
  detail::require(options.eps > 0 && options.eps < 1, fn, "option 'eps' is ", options.eps, ", expected a value in (0, 1)");
  detail::require(options.max_sweeps >= 1, fn, "option 'max_sweeps' is ", options.max_sweeps, ", expected >= 1");
  detail::require(std::isfinite(options.tol) && options.tol > 0, fn, "option 'tol' is ", options.tol,
                  ", expected a finite value > 0");
  const auto [Xc, yc] = detail::linear_problem(fn, X, y, k, d, options.fit_intercept, options.standardize);
  return detail::lasso_path_prepared(Xc, yc, k, options);
}

template <class T>
Selection<T> detail::lasso_path_prepared(const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& Xc, const Vector<T>& yc,
                                         Index k, const LassoPathOptions& options) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using Vec = Vector<T>;
  const Index n = Xc.rows(), d = Xc.cols();
  Mat G = Mat::Zero(d, d);
  G.template selfadjointView<Eigen::Lower>().rankUpdate(Xc.transpose());
  G.template triangularView<Eigen::StrictlyUpper>() = G.transpose();
  G /= T(n);
  const Vec b = Xc.transpose() * yc / T(n);
  Vec beta = Vec::Zero(d);
  Vec c = b;  // c = b − Gβ = Xᵀ(y − Xβ)/n
  const T lambda_max = b.cwiseAbs().maxCoeff();

  Selection<T> out;
  out.method = "lasso_path";
  std::vector<char> entered(static_cast<std::size_t>(d), 0);
  if (!(lambda_max > T(0))) {  // y is constant: nothing correlates; fall back to index order
    for (Index j = 0; j < k; ++j) out.features.push_back(j);
    return out;  // features_from_training stays 0: nothing entered a path
  }
  const double ratio = std::pow(options.eps, 1.0 / double(options.n_lambdas - 1));
  double lambda = double(lambda_max);
  for (Index step = 0; Index(out.features.size()) < k; ++step) {
    if (step > 0) lambda *= ratio;
    if (lambda < 1e-12 * double(lambda_max)) break;
    const T lam = T(lambda);
    for (Index sweep = 0; sweep < options.max_sweeps; ++sweep) {
      T max_change(0), max_beta(0);
      for (Index j = 0; j < d; ++j) {
        const T gjj = G(j, j);
        if (!(gjj > T(0))) continue;
        const T z = c(j) + gjj * beta(j);
        const T nb = z > lam ? (z - lam) / gjj : (z < -lam ? (z + lam) / gjj : T(0));
        const T delta = nb - beta(j);
        if (delta != T(0)) {
          c.noalias() -= G.col(j) * delta;
          beta(j) = nb;
          max_change = std::max(max_change, std::fabs(delta));
        }
        max_beta = std::max(max_beta, std::fabs(beta(j)));
      }
      if (max_change <= T(options.tol) * std::max(max_beta, T(1e-12))) break;
    }
    std::vector<Index> fresh;
    for (Index j = 0; j < d; ++j)
      if (!entered[std::size_t(j)] && beta(j) != T(0)) fresh.push_back(j);
    std::stable_sort(fresh.begin(), fresh.end(), [&](Index a, Index bb) { return std::fabs(beta(a)) > std::fabs(beta(bb)); });
    for (Index j : fresh) {
      entered[std::size_t(j)] = 1;
      if (Index(out.features.size()) < k) out.features.push_back(j);
    }
    if (!fresh.empty()) {
      out.history.emplace_back(beta.data(), beta.data() + d);
      out.losses.push_back(T(lambda));
    }
  }
  // Features that never entered (collinear or irrelevant): by |correlation|, then index.
  out.features_from_training = out.features.size();  // the ones that entered along the path
  if (Index(out.features.size()) < k) {
    std::vector<Index> rest;
    for (Index j = 0; j < d; ++j)
      if (!entered[std::size_t(j)]) rest.push_back(j);
    std::stable_sort(rest.begin(), rest.end(), [&](Index a, Index bb) { return std::fabs(b(a)) > std::fabs(b(bb)); });
    for (Index j : rest)
      if (Index(out.features.size()) < k) out.features.push_back(j);
  }
  return out;
}

ATTNSEL_NAMESPACE_END
