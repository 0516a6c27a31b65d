// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file data/preprocess.hpp
/// Scalers fitted on training data and applied to any data (standardisation, min-max), and
/// one-hot labels.

#include <cmath>

#include "../error.hpp"
#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// x' = (x − mean) / std per column, mean and (population) std fitted on the training rows.
/// A constant column (std below `min_std`) is only centred: its std is taken as 1, so it maps to
/// 0 and never divides by zero.
template <class T>
class Standardizer {
 public:
  /// @throws std::invalid_argument if min_std is negative or not finite.
  explicit Standardizer(T min_std = T(1e-12)) : min_std_(min_std) {
    detail::require(std::isfinite(min_std) && min_std >= T(0), "attnsel::Standardizer", "argument 'min_std' is ",
                    min_std, ", expected a finite value >= 0");
  }

  /// @throws std::invalid_argument if X has no rows or holds NaN/inf.
  template <class D>
  Standardizer& fit(const Eigen::MatrixBase<D>& X) {
    constexpr const char* fn = "attnsel::Standardizer::fit";
    detail::require(X.rows() >= 1, fn, "argument 'X' has no rows");
    detail::require(detail::all_finite(X), fn, "argument 'X' holds NaN or inf");
    const RowMatrix<T> Xc = X.template cast<T>();
    mean_ = Xc.colwise().mean();
    scale_ = ((Xc.rowwise() - mean_.row(0)).colwise().squaredNorm() / T(Xc.rows())).cwiseSqrt();
    for (Index j = 0; j < scale_.cols(); ++j)
      if (!(scale_(0, j) >= min_std_)) scale_(0, j) = T(1);
    return *this;
  }

  /// @throws std::invalid_argument if not fitted or the column count differs.
  template <class D>
  RowMatrix<T> transform(const Eigen::MatrixBase<D>& X) const {
    detail::require(mean_.size() > 0, "attnsel::Standardizer::transform", "call fit first");
    detail::require(X.cols() == mean_.cols(), "attnsel::Standardizer::transform", "argument 'X' has ", X.cols(),
                    " columns, the scaler was fitted on ", mean_.cols());
    RowMatrix<T> out = X.template cast<T>();
    out.rowwise() -= mean_.row(0);
    out.array().rowwise() /= scale_.array().row(0);
    return out;
  }

  template <class D>
  RowMatrix<T> fit_transform(const Eigen::MatrixBase<D>& X) {
    return fit(X).transform(X);
  }

  const RowMatrix<T>& mean() const noexcept { return mean_; }
  /// The divisor per column (1 for constant columns).
  const RowMatrix<T>& scale() const noexcept { return scale_; }

 private:
  T min_std_;
  RowMatrix<T> mean_, scale_;
};

/// x' = (x − min) / (max − min) per column (or over all columns with `global`), fitted on the
/// training rows; constant columns map to 0. Values outside the fitted range map outside [0, 1].
template <class T>
class MinMaxScaler {
 public:
  explicit MinMaxScaler(bool global = false) : global_(global) {}

  template <class D>
  MinMaxScaler& fit(const Eigen::MatrixBase<D>& X) {
    constexpr const char* fn = "attnsel::MinMaxScaler::fit";
    detail::require(X.rows() >= 1, fn, "argument 'X' has no rows");
    detail::require(detail::all_finite(X), fn, "argument 'X' holds NaN or inf");
    const RowMatrix<T> Xc = X.template cast<T>();
    if (global_) {
      min_ = RowMatrix<T>::Constant(1, Xc.cols(), Xc.minCoeff());
      range_ = RowMatrix<T>::Constant(1, Xc.cols(), Xc.maxCoeff() - Xc.minCoeff());
    } else {
      min_ = Xc.colwise().minCoeff();
      range_ = Xc.colwise().maxCoeff() - min_;
    }
    for (Index j = 0; j < range_.cols(); ++j)
      if (!(range_(0, j) > T(0))) range_(0, j) = T(1);
    return *this;
  }

  template <class D>
  RowMatrix<T> transform(const Eigen::MatrixBase<D>& X) const {
    detail::require(min_.size() > 0, "attnsel::MinMaxScaler::transform", "call fit first");
    detail::require(X.cols() == min_.cols(), "attnsel::MinMaxScaler::transform", "argument 'X' has ", X.cols(),
                    " columns, the scaler was fitted on ", min_.cols());
    RowMatrix<T> out = X.template cast<T>();
    out.rowwise() -= min_.row(0);
    out.array().rowwise() /= range_.array().row(0);
    return out;
  }

  template <class D>
  RowMatrix<T> fit_transform(const Eigen::MatrixBase<D>& X) {
    return fit(X).transform(X);
  }

 private:
  bool global_;
  RowMatrix<T> min_, range_;
};

/// One-hot rows: out(i, y(i)) = 1. @throws std::invalid_argument for an id outside [0, classes).
template <class D>
RowMatrix<typename D::Scalar> one_hot(const Eigen::MatrixBase<D>& y, Index classes) {
  using T = typename D::Scalar;
  constexpr const char* fn = "attnsel::one_hot";
  detail::require(classes >= 1, fn, "argument 'classes' is ", classes, ", expected >= 1");
  detail::require(y.cols() == 1 || y.rows() == 1 || y.size() == 0, fn, "argument 'y' must be a vector, got ", y.rows(),
                  "x", y.cols());
  RowMatrix<T> out = RowMatrix<T>::Zero(y.size(), classes);
  for (Index i = 0; i < y.size(); ++i) {
    const T v = y.cols() == 1 ? y(i, 0) : y(0, i);
    // Range first: converting NaN or a huge value to an integer is undefined behaviour.
    detail::require(v >= T(0) && v < T(classes) && v == std::floor(v), fn, "argument 'y' holds ", v, " at index ", i,
                    ", expected a class id in [0, ", classes, ")");
    out(i, static_cast<Index>(v)) = T(1);
  }
  return out;
}

ATTNSEL_NAMESPACE_END
