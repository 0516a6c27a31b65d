// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file selection/omp.hpp
/// Orthogonal Matching Pursuit for least-squares linear regression: k greedy rounds, each adding
/// the feature most correlated with the current residual, |x_jᵀ r|, then refitting y on the
/// selected columns exactly (the orthogonal projection). The least-squares systems are solved by
/// an incrementally grown Cholesky factor of the selected columns' Gram matrix.
///
/// Three equivalent ways to get the correlations, chosen by `OmpOptions::precompute`; all three
/// compute every number that takes part in a decision in the scalar type T (no lower precision),
/// so they make the same choices wherever T's rounding can tell the candidates apart:
///  - gram: G = XᵀX once (n·d²/2 multiply-adds), then c = Xᵀy − G[:,S]γ, O(d·|S|) a round;
///  - lazy_gram: the same formula, but only the Gram columns G[:,j] = Xᵀx_j that the rounds use
///    are computed, in batches (one GEMM Xᵀ[x_j1 … x_jB] per batch). The first batch holds the
///    k + k/8 + 1 (rounded up to 4) columns most correlated with y (`gram_batch` to change);
///    a round that selects a column outside the batches so far computes a small batch: that
///    column and a few then most correlated with the residual (all the rest once half the
///    columns are in). With k ≪ d this is about n·d·1.1k multiply-adds instead of n·d²/2;
///  - residual: c = Xᵀr each round (n·d multiply-adds a round, a GEMV).
/// `mixed_precision` (opt-in) runs lazy_gram's GEMMs in float and certifies every decision (see
/// OmpOptions). `automatic` estimates the costs and takes the cheapest: residual for small X
/// (in cache, few rounds), lazy_gram while its first batch is at most half the columns, else
/// gram. With OpenMP the Gram blocks, the batch GEMMs and the passes over X are spread over the
/// threads; small products stay on the calling thread.
///
/// Conventions follow scikit-learn's OrthogonalMatchingPursuit: with `fit_intercept` X and y are
/// centred first; columns are not rescaled unless `normalize`; the run stops early (with fewer
/// than k features) when the next column is linearly dependent on the selected ones. Equal
/// computed correlations go to the lowest index; columns that tie only in exact arithmetic
/// (duplicated columns) are told apart by rounding, which can differ between the variants (as it
/// does between scikit-learn's precompute settings). X is used in place (no copy) when it is
/// column-major with unit inner stride and neither centring nor normalising is asked for.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <deque>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include <Eigen/Core>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "../error.hpp"
#include "../parallel.hpp"
#include "../simd/dispatch.hpp"
#include "../types.hpp"
#include "selection_result.hpp"

ATTNSEL_NAMESPACE_BEGIN

namespace detail {

/// OMP's view of X: column-major, unit inner stride, any leading dimension.
template <class T>
using OmpView = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>, 0, Eigen::OuterStride<>>;

/// G = XᵀX. With OpenMP: lower-triangle blocks of 128 columns as independent GEMMs spread over
/// the threads (Eigen's own SYRK is single-threaded), mirrored.
template <class T>
void gram_matrix(const OmpView<T>& X, Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& G) {
  const Index d = X.cols();
  G.resize(d, d);
#if defined(_OPENMP)
  constexpr Index B = 128;
  const Index nb = (d + B - 1) / B;
  if (nb >= 2 && X.rows() * d >= (Index(1) << 18)) {
    std::vector<std::pair<Index, Index>> blocks;
    for (Index i = 0; i < nb; ++i)
      for (Index j = 0; j <= i; ++j) blocks.emplace_back(i, j);
    // Eigen's GEMM runs on one thread inside a parallel region.
    ParallelErrors errors;
#pragma omp parallel for schedule(dynamic)
    for (long long p = 0; p < static_cast<long long>(blocks.size()); ++p) {
      errors.run([&] {
        const Index i = blocks[std::size_t(p)].first, j = blocks[std::size_t(p)].second;
        const Index ri = std::min(B, d - i * B), rj = std::min(B, d - j * B);
        G.block(i * B, j * B, ri, rj).noalias() = X.middleCols(i * B, ri).transpose() * X.middleCols(j * B, rj);
      });
    }
    errors.rethrow();
    G.template triangularView<Eigen::StrictlyUpper>() = G.transpose();
    return;
  }
#endif
  G.setZero();
  G.template selfadjointView<Eigen::Lower>().rankUpdate(X.transpose());
  G.template triangularView<Eigen::StrictlyUpper>() = G.transpose();
}

/// c = Xᵀr (c already sized d), columns split over OpenMP threads for large X.
template <class T, class R, class C>
void correlations(const OmpView<T>& X, const R& r, C&& c) {
#if defined(_OPENMP)
  const Index d = X.cols();
  if (double(X.rows()) * double(d) >= omp_parallel_pass) {
#pragma omp parallel for schedule(static)
    for (Index j = 0; j < d; ++j) c(j) = X.col(j).dot(r);
    return;
  }
#endif
  c.noalias() = X.transpose() * r;
}

/// The Gram columns G[:,j] = Xᵀx_j computed so far, in batches (see lazy_gram in the file
/// comment). With a float copy of X (`use_float`) the columns are approximations: float GEMMs
/// over chunks of `chunk` rows, each chunk's product added into T; their error bound is
/// |G̃_js − G_js| <= kappa·‖x_j‖‖x_s‖ + eta (see `orthogonal_matching_pursuit`).
template <class T>
class LazyGram {
 public:
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  explicit LazyGram(Index d) : column_(std::size_t(d), nullptr) {}

  /// G[:,j], or nullptr when not computed yet.
  const T* column(Index j) const { return column_[std::size_t(j)]; }
  Index computed() const { return computed_; }

  void use_float(const Eigen::MatrixXf& Xf, Index chunk) {
    xf_ = &Xf;
    chunk_ = chunk;
  }

  /// Computes the columns `cols` (none computed yet) with one GEMM Xᵀ[x_j …] (or one per chunk).
  void compute(const OmpView<T>& X, const std::vector<Index>& cols) {
    const Index n = X.rows(), d = X.cols(), B = Index(cols.size());
    if (xf_) {
      gathered_f_.resize(n, B);
      for (Index i = 0; i < B; ++i) gathered_f_.col(i) = xf_->col(cols[std::size_t(i)]);
    } else {
      gathered_.resize(n, B);
      for (Index i = 0; i < B; ++i) gathered_.col(i) = X.col(cols[std::size_t(i)]);
    }
    batches_.emplace_back(d, B);  // a deque: earlier batches never move
    Mat& G = batches_.back();
    auto rows_of_G = [&](Index r0, Index rows) {
      if (xf_) {
        auto Gb = G.middleRows(r0, rows);
        Gb.setZero();
        Eigen::MatrixXf part(rows, B);
        for (Index c0 = 0; c0 < n; c0 += chunk_) {
          const Index mc = std::min(chunk_, n - c0);
          part.noalias() = xf_->block(c0, r0, mc, rows).transpose() * gathered_f_.middleRows(c0, mc);
          Gb += part.template cast<T>();
        }
      } else {
        G.middleRows(r0, rows).noalias() = X.middleCols(r0, rows).transpose() * gathered_;
      }
    };
#if defined(_OPENMP)
    // Row blocks of Xᵀ[x_j …] as GEMMs over the threads (each on one thread: Eigen does not nest
    // its own threads inside a parallel region), dynamically scheduled: unlike Eigen's own
    // parallel GEMM (whose threads wait for each other's packed panels) this keeps its speed
    // when a core is shared with other work. Blocks of 16..128 rows, about two per thread for
    // small d.
    const Index threads = omp_get_max_threads();
    const Index R = std::clamp<Index>((d + 2 * threads - 1) / (2 * threads), 16, 128);
    const Index nr = (d + R - 1) / R;
    if (threads > 1 && nr >= 2 && double(n) * double(d) * double(B) >= omp_parallel_work) {
      ParallelErrors errors;
#pragma omp parallel for schedule(dynamic)
      for (Index p = 0; p < nr; ++p) errors.run([&] { rows_of_G(p * R, std::min(R, d - p * R)); });
      errors.rethrow();
    } else
#endif
    {
      // Row blocks here too: Eigen packs a panel of Xᵀ as large as the L3 cache it detects, and
      // some (virtual) CPUs report hundreds of MB: one GEMM over all d rows then allocated up to
      // half of X again (measured: 88 MB for a 176 MB X).
      SingleThreadScope one;
      constexpr Index R1 = 512;
      for (Index r0 = 0; r0 < d; r0 += R1) rows_of_G(r0, std::min(R1, d - r0));
    }
    for (Index i = 0; i < B; ++i) column_[std::size_t(cols[std::size_t(i)])] = G.col(i).data();
    computed_ += B;
  }

 private:
  std::vector<const T*> column_;
  std::deque<Mat> batches_;
  Mat gathered_;
  Eigen::MatrixXf gathered_f_;
  const Eigen::MatrixXf* xf_ = nullptr;
  Index chunk_ = 512;
  Index computed_ = 0;
};

/// The `count` candidates with the largest |c_j| (ties: lowest index) among those with
/// skip[j] == 0, plus `first` (when >= 0, and not counted), sorted by index.
template <class T, class Skip>
std::vector<Index> omp_top_candidates(const Vector<T>& c, Skip skip, Index count, Index first) {
  std::vector<Index> pool;
  pool.reserve(std::size_t(c.size()));
  for (Index j = 0; j < c.size(); ++j)
    if (j != first && !skip(j)) pool.push_back(j);
  count = std::min(count, Index(pool.size()));
  auto larger = [&c](Index a, Index b) {
    const T fa = std::fabs(c(a)), fb = std::fabs(c(b));
    return fa > fb || (fa == fb && a < b);
  };
  std::nth_element(pool.begin(), pool.begin() + count, pool.end(), larger);
  pool.resize(std::size_t(count));
  if (first >= 0) pool.push_back(first);
  std::sort(pool.begin(), pool.end());
  return pool;
}

}  // namespace detail

struct OmpOptions {
  /// How the correlations are obtained (see the file comment); all give the same selection.
  enum class Precompute { automatic, gram, residual, lazy_gram };
  bool fit_intercept = true;
  /// Scale columns to unit norm before selecting (coefficients are reported on the original
  /// scale).
  bool normalize = false;
  Precompute precompute = Precompute::automatic;
  /// lazy_gram: Gram columns in the first batch; 0 = k + k/8 + 1 rounded up to a multiple of 4.
  Index gram_batch = 0;
  /// Mixed precision in double: screen the correlations with a float copy of X and certify
  /// each round's choice with rigorous error bounds; a round the bounds cannot decide
  /// re-evaluates its remaining candidates exactly in double (x_jᵀr), so the selection is the
  /// exact double algorithm's.
  ///  - residual: c̃ = X̃ᵀr̃ as a float GEMV (half the bytes of X read per round).
  ///  - lazy_gram: the batches' Gram columns from float GEMMs over chunks of 512 rows, summed in
  ///    double.
  /// Ignored for float and for the full Gram; residual: also when max|X| > 2⁵⁸ (float would
  /// overflow; subnormals are inside the bound) and in rounds where |r| is too large;
  /// lazy_gram: also when |X| has nonzero entries outside [2⁻⁶⁰, 2⁵⁸]. `automatic` (the
  /// default) uses it for the residual variant from k = 4 on (n=500, d=100, k=10: about 0.8x
  /// the time of the double-only rounds, see benchmarks/results/omp_variants.md) and not for
  /// lazy_gram, where the float copy of X costs more than the halved batch GEMMs save
  /// (measured at n=20000, d=1000, k=100).
  enum class Mixed { automatic, off, on };
  Mixed mixed_precision = Mixed::automatic;
};

/// OMP's result: the Selection (features in order, |correlations| per round in history,
/// residual norms per round in losses) and the final least-squares fit on the selection.
template <class T>
struct OmpResult : Selection<T> {
  Vector<T> coef;   ///< d coefficients, zero outside the selection
  T intercept = T(0);
  /// True when the run stopped before k features (linear dependence).
  bool stopped_early = false;
  /// Gram columns computed (d for gram, 0 for residual, the batches' total for lazy_gram).
  Index gram_columns = 0;
  /// The variant that ran (`automatic` resolved by the cost model).
  OmpOptions::Precompute variant = OmpOptions::Precompute::automatic;
  /// mixed_precision: whether it ran, and the candidates re-evaluated exactly in double (rounds
  /// whose float-based bounds left more than one candidate). history then holds the float-based
  /// values (within their bounds) except for those candidates and round 0's (exact).
  bool mixed = false;
  Index exact_evaluations = 0;
};

namespace detail {

/// OMP on a prepared working X (column-major view, centred/normalised as the options ask) and y
/// (not centred yet): everything after the input checks. Not a template on the caller's input
/// types, so one instantiation per scalar type (compile time; in compiled mode it comes from the
/// library). `scanned`: X was already checked for NaN/inf (it was copied).
template <class T>
OmpResult<T> omp_prepared(const OmpView<T>& Xw, Vector<T> yc, bool scanned, const Eigen::Matrix<T, 1, Eigen::Dynamic>& x_mean,
                          const Vector<T>& norms, Index k, const OmpOptions& options);

}  // namespace detail

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
  detail::require(options.gram_batch >= 0, fn, "argument 'options.gram_batch' is ", options.gram_batch,
                  ", expected 0 (automatic) or a positive count");
  const bool centre = options.fit_intercept;

  // ---- the working X: the caller's storage when possible, else a prepared column-major copy ----
  constexpr bool direct = (int(DX::Flags) & Eigen::DirectAccessBit) != 0 && (int(DX::Flags) & Eigen::RowMajorBit) == 0 &&
                          int(DX::InnerStrideAtCompileTime) == 1;
  const bool copy = !direct || centre || options.normalize;
  Mat Xc;
  Eigen::Matrix<T, 1, Eigen::Dynamic> x_mean = Eigen::Matrix<T, 1, Eigen::Dynamic>::Zero(d);
  Vec norms = Vec::Ones(d);
  const T* x_data = nullptr;
  Index x_stride = n;
  if (copy) {
    // One pass per column (kept in cache): copy, centre, check finiteness.
    Xc.resize(n, d);
    int finite = 1;
    auto prepare_column = [&](Index j) {
      auto col = Xc.col(j);
      col = X.col(j);
      if (centre) {
        x_mean(j) = col.mean();
        col.array() -= x_mean(j);
      }
      return detail::all_finite(col);  // a NaN or inf anywhere in the column survives the centring
    };
#if defined(_OPENMP)
    if (double(n) * double(d) >= detail::omp_parallel_pass) {
#pragma omp parallel for schedule(static) reduction(&& : finite)
      for (Index j = 0; j < d; ++j) finite = prepare_column(j) && finite;
    } else
#endif
    {
      for (Index j = 0; j < d; ++j) finite = prepare_column(j) && finite;
    }
    detail::require(finite != 0, fn, "argument 'X' holds NaN or inf");
    if (options.normalize) {
      norms = Xc.colwise().norm().transpose();
      for (Index j = 0; j < d; ++j)
        if (norms(j) > T(0)) Xc.col(j) /= norms(j);
        else norms(j) = T(1);
    }
    x_data = Xc.data();
  } else if constexpr (direct) {
    x_data = X.derived().data();
    x_stride = d > 1 ? Index(X.derived().outerStride()) : n;
  }
  const detail::OmpView<T> Xw(x_data, n, d, Eigen::OuterStride<>(x_stride));

  Vec yc(n);
  for (Index i = 0; i < n; ++i) yc(i) = T(y.cols() == 1 ? y(i, 0) : y(0, i));
  return detail::omp_prepared<T>(Xw, std::move(yc), copy, x_mean, norms, k, options);
}

template <class T>
OmpResult<T> detail::omp_prepared(const OmpView<T>& Xw, Vector<T> yc, bool scanned, const Eigen::Matrix<T, 1, Eigen::Dynamic>& x_mean,
                                  const Vector<T>& norms, Index k, const OmpOptions& options) {
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  using Vec = Vector<T>;
  using Precompute = OmpOptions::Precompute;
  constexpr const char* fn = "attnsel::orthogonal_matching_pursuit";
  const Index n = Xw.rows(), d = Xw.cols();
  const bool centre = options.fit_intercept;
  T y_mean(0);
  if (centre) {
    y_mean = yc.mean();
    yc.array() -= y_mean;
  }
  Vec b(d);  // Xᵀy: computed below, with the float copy of X when there is one

  // ---- cost model (units: one multiply-add inside a GEMM; measured on AVX-512, 2 cores) ----
  // gram: n·d²/2 at GEMM speed. lazy_gram: n·d·(B + 4): the first batch at GEMM speed plus the
  // packing of X and the GEMV for Xᵀy, assuming the batch holds the k entrants (a miss costs a
  // further small batch); only while B <= d/2, as misses could then cost more than the full
  // Gram. residual: k GEMVs of n·d, a multiply-add costing ~1.5x a GEMM's while X fits in L2,
  // ~4x in L3 and ~12x once X streams from memory.
  const Index batch0 =
      std::min(d, options.gram_batch > 0 ? options.gram_batch : (k + k / 8 + 4) / 4 * 4);  // GEMM panels of 4
  const double nd = double(n) * double(d), bytes = nd * sizeof(T);
  const double gram_cost = 0.5 * nd * double(d);
  const double lazy_cost = nd * double(batch0 + 4);
  const double res_cost = double(k) * nd * (bytes <= 1e6 ? 1.5 : bytes <= 16e6 ? 4.0 : 12.0);
  Precompute variant = options.precompute;
  if (variant == Precompute::automatic) {
    variant = Precompute::residual;
    double best_cost = res_cost;
    if (lazy_cost < best_cost && 2 * batch0 <= d) {
      variant = Precompute::lazy_gram;
      best_cost = lazy_cost;
    }
    if (gram_cost < best_cost) variant = Precompute::gram;
  }
  const bool use_gram = variant == Precompute::gram, use_lazy = variant == Precompute::lazy_gram;

  OmpResult<T> out;
  out.method = "omp";
  out.variant = variant;
  Mat G;
  detail::LazyGram<T> lazy(use_lazy ? d : 0);

  // ---- mixed precision (lazy_gram in double): a float copy of X for the batches ----
  // A chunk of mc rows in float, inputs rounded to float included, is off by at most
  // γ(mc+2)·|x_j|ᵀ|x_s| <= γ(mc+2)·‖x_j,chunk‖‖x_s,chunk‖ (u = 2⁻²⁴, γ(m) = m·u/(1 − m·u)); summed
  // over the chunks (Cauchy-Schwarz) and with the chunk sums' own rounding in double this gives
  // |G̃_js − G_js| <= kappa·‖x_j‖‖x_s‖ + eta, eta covering results that fall into float's
  // subnormal range (inputs are kept to [2⁻⁶⁰, 2⁵⁸] so products neither under- nor overflow).
  // residual + mixed: c̃_j = fl(x̃_jᵀr̃) with x̃, r̃ rounded to float; the certified bound on
  // |c̃_j − c_j| is derived where kappa and delta are set below.
  using Mixed = OmpOptions::Mixed;
  const bool residual_variant = !use_gram && !use_lazy;
  const bool want_mixed = options.mixed_precision == Mixed::on ? !use_gram
                          : options.mixed_precision == Mixed::automatic ? residual_variant && k >= 4
                                                                        : false;
  Eigen::MatrixXf Xf;
  Vec sq, nrm;  // ‖x_j‖² and an upper bound of ‖x_j‖
  bool mixed = false;
  T kappa(0), eta(0), delta(0), x_max(0);
  bool have_b = false;
  if constexpr (std::is_same_v<T, double>) {
    if (want_mixed && !use_lazy) {
      // residual: one pass over each column rounds it to float and gives ‖x_j‖², max|x_j| and
      // b_j = x_jᵀy (in double). Float subnormals are covered by the bound's absolute terms.
      Xf.resize(n, d);
      sq.resize(d);
      nrm.resize(d);
      T hi(0);
      auto convert = [&](Index j, T& hi_j) {
        const auto st = simd::narrow_stats(Xw.col(j).data(), yc.data(), Xf.col(j).data(), std::size_t(n));
        sq(j) = st.sum_squares;
        nrm(j) = std::sqrt(sq(j)) * (T(1) + T(n + 4) * std::numeric_limits<T>::epsilon());
        b(j) = st.dot;
        hi_j = std::max(hi_j, st.max_abs);
      };
#if defined(_OPENMP)
      if (double(n) * double(d) >= detail::omp_parallel_pass) {
#pragma omp parallel for schedule(static) reduction(max : hi)
        for (Index j = 0; j < d; ++j) convert(j, hi);
      } else
#endif
      {
        for (Index j = 0; j < d; ++j) convert(j, hi);
      }
      have_b = true;
      // (n < 2²⁰ keeps γ(n) = n·u/(1 − n·u) small enough for the bounds to decide most rounds)
      mixed = hi <= std::ldexp(T(1), 58) && detail::all_finite(sq) && n < (Index(1) << 20);
      x_max = hi;
      if (mixed) {
        // |c̃_j − c_j| <= kappa·‖x_j‖‖r‖ + delta·(‖x_j‖ + ‖r‖) + eta: u(1+u) + u + γ(n)(1+u)² relative
        // (rounding x and r, the float dot product), 2⁻¹⁵⁰ absolute per rounded entry (subnormal
        // range) times ‖·‖₁ <= √n‖·‖, and subnormal products. (1 + 2⁻³⁰) absorbs the rounding of
        // the bound's own evaluation in double.
        const T u = std::ldexp(T(1), -24), gn = T(n) * u / (1 - T(n) * u), slack = 1 + std::ldexp(T(1), -30);
        kappa = (2 * u + u * u + gn * (1 + u) * (1 + u)) * slack;
        delta = 3 * std::ldexp(T(1), -150) * std::sqrt(T(n)) * slack;
        eta = T(n) * std::ldexp(T(1), -147);
      } else {
        Xf.resize(0, 0);
      }
    } else if (want_mixed) {
      constexpr Index chunk = 512;
      Xf.resize(n, d);
      sq.resize(d);
      nrm.resize(d);
      T lo = std::numeric_limits<T>::infinity(), hi(0);  // over the nonzero |x_ij|
      auto convert = [&](Index j, T& lo_j, T& hi_j) {
        const auto col = Xw.col(j);
        const auto a = col.array().abs();
        Xf.col(j) = col.template cast<float>();
        sq(j) = col.squaredNorm();
        nrm(j) = std::sqrt(sq(j)) * (T(1) + T(n + 4) * std::numeric_limits<T>::epsilon());
        hi_j = std::max(hi_j, a.maxCoeff());
        lo_j = std::min(lo_j, (a > T(0)).select(a, std::numeric_limits<T>::infinity()).minCoeff());
      };
#if defined(_OPENMP)
      if (double(n) * double(d) >= detail::omp_parallel_pass) {
#pragma omp parallel for schedule(static) reduction(min : lo) reduction(max : hi)
        for (Index j = 0; j < d; ++j) convert(j, lo, hi);
      } else
#endif
      {
        for (Index j = 0; j < d; ++j) convert(j, lo, hi);
      }
      mixed = lo >= std::ldexp(T(1), -60) && hi <= std::ldexp(T(1), 58);
      if (mixed) {
        const T mc = T(std::min(chunk, n)), g = (mc + 2) * std::ldexp(T(1), -24);
        kappa = g / (1 - g) + T(n / std::min(chunk, n) + 2) * std::numeric_limits<T>::epsilon();
        eta = T(n) * std::ldexp(T(1), -148);
        lazy.use_float(Xf, chunk);
      } else {
        Xf.resize(0, 0);
      }
    }
  }
  if (!have_b) detail::correlations(Xw, yc, b);
  // Without a copy X was not scanned: a NaN or inf in column j makes b_j NaN or inf (inf·0 is
  // NaN), so only a non-finite b calls for the scan (finite X whose products overflow passes).
  if (!scanned && !detail::all_finite(b)) detail::require(detail::all_finite(Xw), fn, "argument 'X' holds NaN or inf");
  detail::require(detail::all_finite(yc), fn, "argument 'y' holds NaN or inf");
  out.mixed = mixed;
  if (use_gram) {
    detail::gram_matrix(Xw, G);
    out.gram_columns = d;
  } else if (use_lazy) {
    lazy.compute(Xw, detail::omp_top_candidates(b, [](Index) { return false; }, batch0, -1));
  }

  std::vector<Index>& S = out.features;
  S.reserve(std::size_t(k));
  out.history.reserve(std::size_t(k));
  out.losses.reserve(std::size_t(k));
  std::vector<char> chosen(static_cast<std::size_t>(d), 0);
  Mat L = Mat::Zero(k, k);  // Cholesky factor of the selected columns' Gram
  Mat XS;                   // residual variant and mixed: the selected columns, in order
  Vec r, w(k), bS(k), gamma(k), c = b;
  Eigen::VectorXf rf, cf;  // residual + mixed: r̃ and c̃
  if ((!use_gram && !use_lazy) || mixed) {
    XS.resize(n, k);
    r = yc;
  }
  std::vector<Index> candidates;
  const T yy = yc.squaredNorm();
  const T tiny = std::numeric_limits<T>::epsilon();
  for (Index round = 0; round < k; ++round) {
    const Index m = Index(S.size());
    // c = Xᵀr for the current residual.
    if (round > 0) {
      if (use_gram || use_lazy) {
        c = b;
        for (Index i = 0; i < m; ++i) {
          const Index s = S[std::size_t(i)];
          if (use_gram) c.noalias() -= G.col(s) * gamma(i);
          else c.noalias() -= Eigen::Map<const Vec>(lazy.column(s), d) * gamma(i);
        }
      } else if (!mixed) {
        detail::correlations(Xw, r, c);
      }
    }
    Index best = -1;
    T best_abs(-1);
    // residual + mixed: float screening (r̃, max|r| and ‖r‖² in one pass), unless r is so large
    // that x̃ᵀr̃ could overflow float.
    bool screen = false;
    simd::NarrowStats<T> rs;
    if (mixed && !use_lazy && m > 0) {
      rf.resize(n);
      rs = simd::narrow_stats(r.data(), static_cast<const T*>(nullptr), rf.data(), std::size_t(n));
      screen = x_max * rs.max_abs * T(n) <= std::ldexp(T(1), 120);
      if (!screen) detail::correlations(Xw, r, c);
    }
    // Mixed precision: every column whose |c̃_j| ± bound(j) reaches the largest certain |c_j| is a
    // candidate; more than one is not certain, so those are evaluated exactly in T (x_jᵀr, with r
    // made current by `exact_residual`) before the usual argmax over the candidates.
    auto certified_pick = [&](auto bound, auto exact_residual) {
      T floor_best = -std::numeric_limits<T>::infinity();  // the largest certain |c_j|
      for (Index j = 0; j < d; ++j)
        if (!chosen[std::size_t(j)]) floor_best = std::max(floor_best, std::fabs(c(j)) - bound(j));
      candidates.clear();
      for (Index j = 0; j < d; ++j)
        if (!chosen[std::size_t(j)] && std::fabs(c(j)) + bound(j) >= floor_best) candidates.push_back(j);
      if (candidates.size() > 1) {
        exact_residual();
        for (Index j : candidates) c(j) = Xw.col(j).dot(r);
        out.exact_evaluations += Index(candidates.size());
      }
      for (Index j : candidates) {
        const T a = std::fabs(c(j));
        if (a > best_abs) {
          best_abs = a;
          best = j;
        }
      }
    };
    if (screen) {
      cf.resize(d);
      detail::correlations(detail::OmpView<float>(Xf.data(), n, d, Eigen::OuterStride<>(n)), rf, cf);
      c = cf.template cast<T>();
      const T rn = std::sqrt(rs.sum_squares) * (T(1) + T(n + 4) * std::numeric_limits<T>::epsilon());
      certified_pick([&](Index j) { return kappa * nrm(j) * rn + delta * (nrm(j) + rn) + eta; },
                     [] {});  // the residual variant keeps r current
    } else if (mixed && use_lazy && m > 0) {
      // |c̃_j − c_j| <= e_j: the Gram entries' bound times |γ|, plus c̃'s own rounding in T.
      T W(0), A(0);
      for (Index i = 0; i < m; ++i) {
        W += nrm(S[std::size_t(i)]) * std::fabs(gamma(i));
        A += std::fabs(gamma(i));
      }
      const T round_c = T(m + 2) * std::numeric_limits<T>::epsilon();
      certified_pick(
          [&](Index j) {
            const T e = kappa * nrm(j) * W + eta * A;
            return e + round_c * (std::fabs(b(j)) + (1 + kappa) * nrm(j) * W + e);
          },
          [&] {  // lazy_gram has no running residual: r = y − X_S γ
            r = yc;
            r.noalias() -= XS.leftCols(m) * gamma.head(m);
          });
    } else {
      for (Index j = 0; j < d; ++j) {
        if (chosen[std::size_t(j)]) continue;
        const T a = std::fabs(c(j));
        if (a > best_abs) {
          best_abs = a;
          best = j;
        }
      }
    }
    out.history.emplace_back(c.data(), c.data() + d);
    for (T& v : out.history.back()) v = std::fabs(v);
    // lazy_gram: a column outside the batches so far comes with the few columns now most
    // correlated with the residual (about a quarter of the rounds left, at least 3: misses come
    // in runs, so re-ranking pays, but each batch also re-reads X); past half the columns, all.
    if (use_lazy && lazy.column(best) == nullptr) {
      const Index rest = k - round - 1;
      Index more = (rest / 4 + 6) / 4 * 4 - 1;  // at least 3, and 1 + more fills GEMM panels of 4
      if (2 * (lazy.computed() + more + 1) > d) more = d - lazy.computed() - 1;
      lazy.compute(Xw, detail::omp_top_candidates(c, [&lazy](Index j) { return lazy.column(j) != nullptr; }, more, best));
    }
    // Grow the Cholesky factor by the new column.
    T gjj;
    if (use_gram) {
      for (Index i = 0; i < m; ++i) w(i) = G(S[std::size_t(i)], best);
      gjj = G(best, best);
    } else if (use_lazy && !mixed) {
      const T* g = lazy.column(best);
      for (Index i = 0; i < m; ++i) w(i) = g[S[std::size_t(i)]];
      gjj = g[best];
    } else if (mixed) {  // the selected columns' Gram exactly in T
      if (m > 0) w.head(m).noalias() = XS.leftCols(m).transpose() * Xw.col(best);
      gjj = sq(best);
    } else {
      if (m > 0) w.head(m).noalias() = XS.leftCols(m).transpose() * Xw.col(best);
      gjj = Xw.col(best).squaredNorm();
    }
    if (m > 0) L.topLeftCorner(m, m).template triangularView<Eigen::Lower>().solveInPlace(w.head(m));
    const T diag2 = gjj - w.head(m).squaredNorm();
    // diag2 is x's squared distance from the span of the selected columns; computed, it carries
    // rounding of a few (n + m)·eps·gjj (dot products of length n, a triangular solve of size m),
    // so a duplicated column shows up as a few ulps of gjj, not as 0: treat that as dependent.
    if (!(diag2 > tiny * std::max(T(n + m) * gjj, T(1))) || best_abs <= std::numeric_limits<T>::min()) {
      out.history.pop_back();
      out.stopped_early = true;
      break;
    }
    L.row(m).head(m) = w.head(m).transpose();
    L(m, m) = std::sqrt(diag2);
    S.push_back(best);
    chosen[std::size_t(best)] = 1;
    if (mixed && use_lazy) XS.col(m) = Xw.col(best);
    // γ = (X_Sᵀ X_S)⁻¹ X_Sᵀ y by two triangular solves, in place.
    bS(m) = b(best);
    auto g = gamma.head(m + 1);
    g = bS.head(m + 1);
    const auto Lm = L.topLeftCorner(m + 1, m + 1).template triangularView<Eigen::Lower>();
    Lm.solveInPlace(g);
    Lm.transpose().solveInPlace(g);
    // Residual norm (and the residual itself for the residual variant).
    if (use_gram || use_lazy) {
      // ||r||² = yᵀy − 2γᵀb_S + γᵀ G_SS γ = yᵀy − γᵀ b_S at the least-squares solution.
      out.losses.push_back(std::sqrt(std::max(T(0), yy - g.dot(bS.head(m + 1)))));
    } else {
      XS.col(m) = Xw.col(best);
      r = yc;
      r.noalias() -= XS.leftCols(m + 1) * g;
      out.losses.push_back(r.norm());
    }
  }
  if (use_lazy) out.gram_columns = lazy.computed();
  out.coef = Vec::Zero(d);
  for (std::size_t i = 0; i < S.size(); ++i) out.coef(S[i]) = gamma(Index(i)) / norms(S[i]);
  out.intercept = options.fit_intercept ? y_mean - x_mean.dot(out.coef) : T(0);
  out.features_from_training = out.features.size();
  return out;
}

ATTNSEL_NAMESPACE_END
