// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file selection/selection_result.hpp
/// What every selector returns.

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// An ordered feature selection.
template <class T>
struct Selection {
  /// Selected feature indices in the order they were chosen (greedy methods) or by decreasing
  /// score (one-shot methods).
  std::vector<Index> features;
  /// Per selection round, the scores the choice was made from (attention logits for Sequential
  /// Attention, |correlation with the residual| for OMP, ...), one value per candidate feature.
  std::vector<std::vector<T>> history;
  /// Training loss per epoch (methods that train a model), or residual norm per round (OMP).
  std::vector<T> losses;
  /// Name of the method that made the selection.
  std::string method;
  /// How many of `features` (the first ones) came from selection rounds that ran during
  /// training; the rest were completed after training from the last trained scores (Sequential
  /// Attention stopped early, e.g. by EarlyStop, or with fewer steps than rounds). Methods that
  /// always finish their rounds set it to features.size().
  std::size_t features_from_training = 0;
  /// Names of the selected features, in the order of `features`, when the data had names (set
  /// by `name_features`, kept by io/json.hpp); empty otherwise.
  std::vector<std::string> feature_names;
};

/// `s` with the names of its features taken from `names` (one per input column, e.g. a
/// Dataset's feature_names). @throws std::invalid_argument when a selected index is not a
/// position in `names`.
template <class T>
Selection<T> name_features(Selection<T> s, const std::vector<std::string>& names) {
  std::vector<std::string> out;
  out.reserve(s.features.size());
  for (const Index j : s.features) {
    detail::require(j >= 0 && static_cast<std::size_t>(j) < names.size(), "attnsel::name_features",
                    "selected feature ", j, " has no name: argument 'names' holds ", names.size(), " names");
    out.push_back(names[static_cast<std::size_t>(j)]);
  }
  s.feature_names = std::move(out);
  return s;
}

namespace detail {

/// Checks (X, y, k) for a linear selector and returns X as a column-major copy, with columns
/// and y centred when `centre` and columns scaled to unit norm / sqrt(n) when `standardize`.
/// @throws std::invalid_argument for fewer than 2 rows, a non-vector or mismatched y, k outside
///         [1, k_max], NaN or inf.
template <class DX, class Dy>
std::pair<Eigen::Matrix<typename DX::Scalar, Eigen::Dynamic, Eigen::Dynamic>, Vector<typename DX::Scalar>>
linear_problem(const char* fn, const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<Dy>& y, Index k, Index k_max,
               bool centre, bool standardize) {
  using T = typename DX::Scalar;
  const Index n = X.rows(), d = X.cols();
  require(n >= 2 && d >= 1, fn, "argument 'X' is ", n, "x", d, ", expected at least 2 rows and 1 column");
  require(y.rows() == 1 || y.cols() == 1, fn, "argument 'y' must be a vector, got ", y.rows(), "x", y.cols());
  require(y.size() == n, fn, "argument 'y' has ", y.size(), " values, expected ", n, " (the rows of 'X')");
  require(k >= 1 && k <= k_max, fn, "argument 'k' is ", k, ", expected a value in [1, ", k_max, "]");
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> Xc = X.template cast<T>();
  Vector<T> yc(n);
  for (Index i = 0; i < n; ++i) yc(i) = T(y.cols() == 1 ? y(i, 0) : y(0, i));
  if (!detail::all_finite(Xc)) {
    for (Index i = 0; i < n; ++i)
      for (Index j = 0; j < d; ++j)
        if (!std::isfinite(Xc(i, j))) throw_invalid(fn, "argument 'X' holds ", Xc(i, j), " at (", i, ", ", j, ")");
  }
  for (Index i = 0; i < n; ++i)
    if (!std::isfinite(yc(i))) throw_invalid(fn, "argument 'y' holds ", yc(i), " at index ", i);
  if (centre) {
    Xc.rowwise() -= Xc.colwise().mean();
    yc.array() -= yc.mean();
  }
  if (standardize) {
    for (Index j = 0; j < d; ++j) {
      const T s = std::sqrt(Xc.col(j).squaredNorm() / T(n));
      if (s > T(0)) Xc.col(j) /= s;
    }
  }
  return {std::move(Xc), std::move(yc)};
}

}  // namespace detail

ATTNSEL_NAMESPACE_END
