// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file selection/omp.hpp
/// Orthogonal Matching Pursuit for least-squares linear regression: k greedy rounds, each adding
/// the feature most correlated with the current residual, |x_jᵀ r|, then refitting y on the
/// selected columns exactly (the orthogonal projection). The least-squares systems are solved by
/// an incrementally grown Cholesky factor of the selected columns' Gram matrix.
///
/// Two equivalent ways to get the correlations, chosen by `OmpOptions::precompute`:
///  - Gram: G = XᵀX once (n·d²/2 multiply-adds), then O(d·k) a round;
///  - residual: Xᵀr each round (n·d multiply-adds a round).
/// `automatic` estimates both costs (the residual passes are memory-bound once X outgrows the
/// cache) and takes the cheaper. With OpenMP the Gram blocks and the residual correlations are
/// spread over the threads.
///
/// Conventions follow scikit-learn's OrthogonalMatchingPursuit: with `fit_intercept` X and y are
/// centred first; columns are not rescaled unless `normalize`; the run stops early (with fewer
/// than k features) when the next column is linearly dependent on the selected ones. Ties go to
/// the lowest index.

#include <algorithm>
#include <cmath>
#include <utility>
#include <limits>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "../error.hpp"
#include "../types.hpp"
#include "selection_result.hpp"

ATTNSEL_NAMESPACE_BEGIN

namespace detail {

/// G = XᵀX (X column-major, n x d). With OpenMP: lower-triangle blocks of 128 columns as
/// independent GEMMs spread over the threads (Eigen's own SYRK is single-threaded), mirrored.
template <class T>
void gram_matrix(const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& X, Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& G) {
  const Index d = X.cols();
  G.resize(d, d);
#if defined(_OPENMP)
  constexpr Index B = 128;
  const Index nb = (d + B - 1) / B;
  if (nb >= 2 && X.rows() * d >= (Index(1) << 18)) {
    std::vector<std::pair<Index, Index>> blocks;
    for (Index i = 0; i < nb; ++i)
      for (Index j = 0; j <= i; ++j) blocks.emplace_back(i, j);
    const int saved = Eigen::nbThreads();
    Eigen::setNbThreads(1);
#pragma omp parallel for schedule(dynamic)
    for (long long p = 0; p < static_cast<long long>(blocks.size()); ++p) {
      const Index i = blocks[std::size_t(p)].first, j = blocks[std::size_t(p)].second;
      const Index ri = std::min(B, d - i * B), rj = std::min(B, d - j * B);
      G.block(i * B, j * B, ri, rj).noalias() = X.middleCols(i * B, ri).transpose() * X.middleCols(j * B, rj);
    }
    Eigen::setNbThreads(saved);
    G.template triangularView<Eigen::StrictlyUpper>() = G.transpose();
    return;
  }
#endif
  G.setZero();
  G.template selfadjointView<Eigen::Lower>().rankUpdate(X.transpose());
  G.template triangularView<Eigen::StrictlyUpper>() = G.transpose();
}

/// c = Xᵀr, columns split over OpenMP threads for large X.
template <class T>
void correlations(const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& X, const Vector<T>& r, Vector<T>& c) {
  const Index d = X.cols();
  c.resize(d);
#if defined(_OPENMP)
  if (X.rows() * d >= (Index(1) << 16)) {
#pragma omp parallel for schedule(static)
    for (Index j = 0; j < d; ++j) c(j) = X.col(j).dot(r);
    return;
  }
#endif
  c.noalias() = X.transpose() * r;
}

}  // namespace detail

struct OmpOptions {
  enum class Precompute { automatic, gram, residual };
  bool fit_intercept = true;
  /// Scale columns to unit norm before selecting (coefficients are reported on the original
  /// scale).
  bool normalize = false;
  Precompute precompute = Precompute::automatic;
};

/// OMP's result: the Selection (features in order, |correlations| per round in history,
/// residual norms per round in losses) and the final least-squares fit on the selection.
template <class T>
struct OmpResult : Selection<T> {
  Vector<T> coef;   ///< d coefficients, zero outside the selection
  T intercept = T(0);
  /// True when the run stopped before k features (linear dependence).
  bool stopped_early = false;
};

/// @throws std::invalid_argument for k outside [1, min(n, d)], shape mismatches, NaN/inf.
template <class DX, class Dy>
OmpResult<typename DX::Scalar> orthogonal_matching_pursuit(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<Dy>& y,
                                                           Index k, const OmpOptions& options = {}) {
  using T = typename DX::Scalar;
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;  // column-major: columns are features
  using Vec = Vector<T>;
  constexpr const char* fn = "attnsel::orthogonal_matching_pursuit";
  static_assert(std::is_floating_point_v<T>, "attnsel::orthogonal_matching_pursuit needs a floating-point X");
  const Index n = X.rows(), d = X.cols();
  detail::require(n >= 1 && d >= 1, fn, "argument 'X' is ", n, "x", d, ", expected a non-empty matrix");
  detail::require(y.rows() == 1 || y.cols() == 1, fn, "argument 'y' must be a vector, got ", y.rows(), "x", y.cols());
  detail::require(y.size() == n, fn, "argument 'y' has ", y.size(), " values, expected ", n, " (the rows of 'X')");
  detail::require(k >= 1 && k <= std::min(n, d), fn, "argument 'k' is ", k, ", expected a value in [1, ", std::min(n, d),
                  "] (at most the rows and the columns of 'X')");
  // One pass per column (kept in cache): copy, centre, check finiteness.
  Mat Xc(n, d);
  Eigen::Matrix<T, 1, Eigen::Dynamic> x_mean = Eigen::Matrix<T, 1, Eigen::Dynamic>::Zero(d);
  int finite = 1;
  const bool centre = options.fit_intercept;
  auto prepare_column = [&](Index j) {
    auto col = Xc.col(j);
    col = X.col(j).template cast<T>();
    if (centre) {
      x_mean(j) = col.mean();
      col.array() -= x_mean(j);
    }
    return col.allFinite();  // a NaN or inf anywhere in the column survives the centring
  };
#if defined(_OPENMP)
  if (n * d >= (Index(1) << 18)) {
#pragma omp parallel for schedule(static) reduction(&& : finite)
    for (Index j = 0; j < d; ++j) finite = prepare_column(j) && finite;
  } else
#endif
  {
    for (Index j = 0; j < d; ++j) finite = prepare_column(j) && finite;
  }
  detail::require(finite != 0, fn, "argument 'X' holds NaN or inf");
  Vec yc(n);
  for (Index i = 0; i < n; ++i) yc(i) = T(y.cols() == 1 ? y(i, 0) : y(0, i));
  detail::require(yc.allFinite(), fn, "argument 'y' holds NaN or inf");
  T y_mean(0);
  if (centre) {
    y_mean = yc.mean();
    yc.array() -= y_mean;
  }
  Vec norms = Vec::Ones(d);
  if (options.normalize) {
    norms = Xc.colwise().norm().transpose();
    for (Index j = 0; j < d; ++j)
      if (norms(j) > T(0)) Xc.col(j) /= norms(j);
      else norms(j) = T(1);
  }

  // Cost model for `automatic`: the Gram costs n·d²/2 multiply-adds at GEMM speed; the residual
  // variant k·n·d at GEMV speed, which is memory-bound (taken as 8x slower per multiply-add) once X
  // no longer fits in cache.
  const double gram_cost = 0.5 * double(n) * double(d) * double(d);
  const double res_cost = double(k) * double(n) * double(d) * (double(n) * double(d) * sizeof(T) > 8e6 ? 8.0 : 1.0);
  const bool use_gram = options.precompute == OmpOptions::Precompute::gram ||
                        (options.precompute == OmpOptions::Precompute::automatic && gram_cost < res_cost);
  Mat G;
  if (use_gram) detail::gram_matrix(Xc, G);
  const Vec b = Xc.transpose() * yc;

  OmpResult<T> out;
  out.method = "omp";
  Mat L = Mat::Zero(k, k);  // Cholesky factor of the selected columns' Gram
  std::vector<Index>& S = out.features;
  std::vector<char> chosen(static_cast<std::size_t>(d), 0);
  Vec gamma, c = b, r = yc;
  const T tiny = std::numeric_limits<T>::epsilon();
  for (Index round = 0; round < k; ++round) {
    // c = Xᵀr for the current residual.
    if (round > 0) {
      if (use_gram) {
        c = b;
        for (Index i = 0; i < Index(S.size()); ++i) c.noalias() -= G.col(S[std::size_t(i)]) * gamma(i);
      } else {
        detail::correlations(Xc, r, c);
      }
    }
    Index best = -1;
    T best_abs(-1);
    for (Index j = 0; j < d; ++j) {
      if (chosen[std::size_t(j)]) continue;
      const T a = std::fabs(c(j));
      if (a > best_abs) {
        best_abs = a;
        best = j;
      }
    }
    out.history.emplace_back(c.data(), c.data() + d);
    for (T& v : out.history.back()) v = std::fabs(v);
    // Grow the Cholesky factor by the new column.
    const Index m = Index(S.size());
    Vec w(m);
    T gjj;
    if (use_gram) {
      for (Index i = 0; i < m; ++i) w(i) = G(S[std::size_t(i)], best);
      gjj = G(best, best);
    } else {
      for (Index i = 0; i < m; ++i) w(i) = Xc.col(S[std::size_t(i)]).dot(Xc.col(best));
      gjj = Xc.col(best).squaredNorm();
    }
    if (m > 0) L.topLeftCorner(m, m).template triangularView<Eigen::Lower>().solveInPlace(w);
    const T diag2 = gjj - w.squaredNorm();
    if (!(diag2 > tiny * std::max(gjj, T(1))) || best_abs <= std::numeric_limits<T>::min()) {
      out.history.pop_back();
      out.stopped_early = true;
      break;
    }
    L.row(m).head(m) = w.transpose();
    L(m, m) = std::sqrt(diag2);
    S.push_back(best);
    chosen[std::size_t(best)] = 1;
    // γ = (X_Sᵀ X_S)⁻¹ X_Sᵀ y by two triangular solves.
    Vec bS(m + 1);
    for (Index i = 0; i <= m; ++i) bS(i) = b(S[std::size_t(i)]);
    const auto Lm = L.topLeftCorner(m + 1, m + 1).template triangularView<Eigen::Lower>();
    gamma = Lm.solve(bS);
    gamma = Lm.transpose().solve(gamma);
    // Residual norm (and the residual itself for the residual variant).
    if (use_gram) {
      // ||r||² = yᵀy − 2γᵀb_S + γᵀ G_SS γ = yᵀy − γᵀ b_S at the least-squares solution.
      out.losses.push_back(std::sqrt(std::max(T(0), yc.squaredNorm() - gamma.dot(bS))));
    } else {
      r = yc;
      for (Index i = 0; i <= m; ++i) r.noalias() -= Xc.col(S[std::size_t(i)]) * gamma(i);
      out.losses.push_back(r.norm());
    }
  }
  out.coef = Vec::Zero(d);
  for (std::size_t i = 0; i < S.size(); ++i) out.coef(S[i]) = gamma(Index(i)) / norms(S[i]);
  out.intercept = options.fit_intercept ? y_mean - x_mean.dot(out.coef) : T(0);
  return out;
}

ATTNSEL_NAMESPACE_END
