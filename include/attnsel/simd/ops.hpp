// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file simd/ops.hpp
/// Checked, Eigen-level entry points to the SIMD kernels. Inputs are any Eigen expression
/// (`const Eigen::MatrixBase<D>&`); contiguous plain vectors are read in place, anything else is
/// evaluated once into a temporary. Results are plain objects.
///
/// Errors: `std::invalid_argument`, the message naming the function, the argument and the value
/// (a vector argument that is a matrix, sizes that differ, a mask entry other than 0 or 1, a
/// NaN or +inf logit at a candidate position, k larger than the number of candidates, a row
/// length outside [0, cols]).
///
/// Masks: a mask has the scalar type of the values; entry 1 marks a candidate, 0 excludes the
/// entry. Excluded entries never influence the result, whatever their values (NaN included).
/// With no candidate, softmax is all zeros, log-sum-exp is -inf and argmax is -1 — documented
/// results, not errors.

#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <vector>

#include <Eigen/Core>

#include "../error.hpp"
#include "../types.hpp"
#include "dispatch.hpp"

ATTNSEL_NAMESPACE_BEGIN

namespace detail {

/// A read-only contiguous view of a vector argument: points into the argument when it is
/// already contiguous, else owns an evaluated copy.
template <class T>
class ContiguousVector {
 public:
  template <class D>
  ContiguousVector(const Eigen::MatrixBase<D>& x, const char* function, const char* name) {
    require(x.rows() == 1 || x.cols() == 1 || x.size() == 0, function, "argument '", name,
            "' must be a vector, got a ", x.rows(), "x", x.cols(), " matrix");
    size_ = static_cast<std::size_t>(x.size());
    if constexpr ((D::Flags & Eigen::DirectAccessBit) != 0) {
      const Index stride = x.cols() == 1 ? x.derived().rowStride() : x.derived().colStride();
      if (stride == 1 || size_ <= 1) {
        data_ = x.derived().data();
        return;
      }
    }
    copy_.resize(x.size());
    for (Index i = 0; i < x.size(); ++i) copy_[i] = x.cols() == 1 ? x(i, 0) : x(0, i);
    data_ = copy_.data();
  }
  ContiguousVector(const ContiguousVector&) = delete;
  ContiguousVector& operator=(const ContiguousVector&) = delete;

  const T* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  T operator[](std::size_t i) const noexcept { return data_[i]; }

 private:
  Vector<T> copy_;
  const T* data_ = nullptr;
  std::size_t size_ = 0;
};

template <class D>
using scalar_of = typename D::Scalar;

template <class Da, class Db>
constexpr void check_same_scalar() {
  static_assert(std::is_same_v<typename Da::Scalar, typename Db::Scalar>,
                "attnsel: both arguments must have the same scalar type (cast one with .cast<T>())");
}

template <class T>
constexpr void check_floating() {
  static_assert(std::is_floating_point_v<T>,
                "attnsel: kernels are defined for floating-point scalars (float, double)");
}

template <class T>
void check_same_size(const ContiguousVector<T>& a, const ContiguousVector<T>& b,
                     const char* function, const char* name_a, const char* name_b) {
  require(a.size() == b.size(), function, "argument '", name_b, "' has size ", b.size(),
          ", expected ", a.size(), " (the size of '", name_a, "')");
}

template <class T>
void check_mask(const ContiguousVector<T>& mask, const char* function) {
  for (std::size_t i = 0; i < mask.size(); ++i) {
    if (mask[i] != T(0) && mask[i] != T(1)) {
      throw_invalid(function, "argument 'mask' must hold only 0 and 1, got ", mask[i],
                    " at index ", i);
    }
  }
}

/// Throws if a candidate holds NaN (and +inf too when `allow_pos_inf` is false).
template <class T>
void check_candidates(const ContiguousVector<T>& x, const T* mask, const char* function,
                      const char* name, bool allow_pos_inf) {
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (mask && mask[i] == T(0)) continue;
    const T v = x[i];
    if (std::isnan(v) || (!allow_pos_inf && v == std::numeric_limits<T>::infinity())) {
      throw_invalid(function, "argument '", name, "' holds ", v, " at candidate index ", i,
                    " (", allow_pos_inf ? "NaN is" : "NaN and +inf are", " not allowed)");
    }
  }
}

/// Plain object of the same shape as `x`, holding its values (contiguous storage).
template <class D>
typename D::PlainObject plain_copy(const Eigen::MatrixBase<D>& x) {
  return typename D::PlainObject(x);
}

template <class T>
std::vector<Index> to_index_vector(const std::size_t* idx, std::size_t n) {
  std::vector<Index> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<Index>(idx[i]);
  return out;
}

}  // namespace detail

// The checked entry points call this TU's kernels: per instruction set (config.hpp).
ATTNSEL_SIMD_NAMESPACE_BEGIN

/// Dot product of two vectors of equal size. O(n).
/// @throws std::invalid_argument if either is not a vector or the sizes differ.
template <class Dx, class Dy>
typename Dx::Scalar dot(const Eigen::MatrixBase<Dx>& x, const Eigen::MatrixBase<Dy>& y) {
  detail::check_same_scalar<Dx, Dy>();
  using T = typename Dx::Scalar;
  detail::ContiguousVector<T> a(x, "attnsel::dot", "x");
  detail::ContiguousVector<T> b(y, "attnsel::dot", "y");
  detail::check_same_size(a, b, "attnsel::dot", "x", "y");
  return simd::dot(a.data(), b.data(), a.size());
}

/// Sum of all coefficients (0 for an empty argument). Any shape.
template <class D>
typename D::Scalar sum(const Eigen::MatrixBase<D>& x) {
  const typename D::PlainObject p = detail::plain_copy(x);
  return simd::sum(p.data(), static_cast<std::size_t>(p.size()));
}

/// Largest coefficient (-inf for an empty argument). Any shape.
template <class D>
typename D::Scalar max_value(const Eigen::MatrixBase<D>& x) {
  detail::check_floating<typename D::Scalar>();
  const typename D::PlainObject p = detail::plain_copy(x);
  return simd::max(p.data(), static_cast<std::size_t>(p.size()));
}

/// a * x + y for vectors of equal size, returned as a new vector shaped like `y`.
template <class Dx, class Dy>
typename Dy::PlainObject axpy(typename Dx::Scalar a, const Eigen::MatrixBase<Dx>& x,
                              const Eigen::MatrixBase<Dy>& y) {
  detail::check_same_scalar<Dx, Dy>();
  using T = typename Dx::Scalar;
  detail::ContiguousVector<T> xv(x, "attnsel::axpy", "x");
  detail::ContiguousVector<T> yv(y, "attnsel::axpy", "y");
  detail::check_same_size(xv, yv, "attnsel::axpy", "x", "y");
  typename Dy::PlainObject out = detail::plain_copy(y);
  simd::axpy(a, xv.data(), out.data(), xv.size());
  return out;
}

/// a * x, any shape.
template <class D>
typename D::PlainObject scale(typename D::Scalar a, const Eigen::MatrixBase<D>& x) {
  typename D::PlainObject out = detail::plain_copy(x);
  simd::scale(a, out.data(), out.data(), static_cast<std::size_t>(out.size()));
  return out;
}

/// max(x, 0) coefficient-wise (NaN maps to 0), any shape.
template <class D>
typename D::PlainObject relu(const Eigen::MatrixBase<D>& x) {
  typename D::PlainObject out = detail::plain_copy(x);
  simd::relu(out.data(), out.data(), static_cast<std::size_t>(out.size()));
  return out;
}

/// Softmax over the candidates of `mask` (1 = candidate, 0 = excluded). Excluded entries are
/// exactly 0; with no candidate (or every candidate at -inf) the result is all zeros.
/// O(n), three passes.
/// @throws std::invalid_argument on non-vectors, size mismatch, mask entries other than 0/1,
///         NaN or +inf at a candidate.
template <class Dx, class Dm>
typename Dx::PlainObject masked_softmax(const Eigen::MatrixBase<Dx>& logits,
                                        const Eigen::MatrixBase<Dm>& mask) {
  detail::check_same_scalar<Dx, Dm>();
  using T = typename Dx::Scalar;
  detail::check_floating<T>();
  constexpr const char* fn = "attnsel::masked_softmax";
  detail::ContiguousVector<T> x(logits, fn, "logits");
  detail::ContiguousVector<T> m(mask, fn, "mask");
  detail::check_same_size(x, m, fn, "logits", "mask");
  detail::check_mask(m, fn);
  typename Dx::PlainObject out(logits.rows(), logits.cols());
  const simd::SoftmaxStats<T> st = simd::masked_softmax(x.data(), m.data(), out.data(), x.size());
  if (!std::isfinite(st.sum)) detail::check_candidates(x, m.data(), fn, "logits", false);
  return out;
}

/// Softmax over every entry of a vector. O(n).
/// @throws std::invalid_argument on a non-vector or a NaN / +inf logit.
template <class D>
typename D::PlainObject softmax(const Eigen::MatrixBase<D>& logits) {
  using T = typename D::Scalar;
  detail::check_floating<T>();
  constexpr const char* fn = "attnsel::softmax";
  detail::ContiguousVector<T> x(logits, fn, "logits");
  typename D::PlainObject out(logits.rows(), logits.cols());
  const simd::SoftmaxStats<T> st = simd::softmax(x.data(), out.data(), x.size());
  if (!std::isfinite(st.sum)) detail::check_candidates(x, static_cast<const T*>(nullptr), fn, "logits", false);
  return out;
}

/// log(sum over candidates of exp(logit)), stable; -inf with no candidate.
/// @throws std::invalid_argument as masked_softmax.
template <class Dx, class Dm>
typename Dx::Scalar masked_log_sum_exp(const Eigen::MatrixBase<Dx>& logits,
                                       const Eigen::MatrixBase<Dm>& mask) {
  detail::check_same_scalar<Dx, Dm>();
  using T = typename Dx::Scalar;
  detail::check_floating<T>();
  constexpr const char* fn = "attnsel::masked_log_sum_exp";
  detail::ContiguousVector<T> x(logits, fn, "logits");
  detail::ContiguousVector<T> m(mask, fn, "mask");
  detail::check_same_size(x, m, fn, "logits", "mask");
  detail::check_mask(m, fn);
  const T r = simd::masked_log_sum_exp(x.data(), m.data(), x.size());
  if (std::isnan(r) || r == std::numeric_limits<T>::infinity())
    detail::check_candidates(x, m.data(), fn, "logits", false);
  return r;
}

/// log(sum exp(logit)) over every entry; -inf for an empty vector.
template <class D>
typename D::Scalar log_sum_exp(const Eigen::MatrixBase<D>& logits) {
  using T = typename D::Scalar;
  detail::check_floating<T>();
  constexpr const char* fn = "attnsel::log_sum_exp";
  detail::ContiguousVector<T> x(logits, fn, "logits");
  const T r = simd::log_sum_exp(x.data(), x.size());
  if (std::isnan(r) || r == std::numeric_limits<T>::infinity())
    detail::check_candidates(x, static_cast<const T*>(nullptr), fn, "logits", false);
  return r;
}

/// Row-wise softmax of a matrix: row r over its first lengths[r] entries, zeros after.
/// @throws std::invalid_argument if lengths.size() != rows or a length is outside [0, cols],
///         or a covered entry is NaN / +inf.
template <class D>
RowMatrix<typename D::Scalar> softmax_rows(const Eigen::MatrixBase<D>& X,
                                           const std::vector<Index>& lengths) {
  using T = typename D::Scalar;
  detail::check_floating<T>();
  constexpr const char* fn = "attnsel::softmax_rows";
  detail::require(static_cast<Index>(lengths.size()) == X.rows(), fn, "argument 'lengths' has size ",
                  lengths.size(), ", expected ", X.rows(), " (the rows of 'X')");
  std::vector<std::size_t> len(lengths.size());
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    detail::require(lengths[r] >= 0 && lengths[r] <= X.cols(), fn, "argument 'lengths' holds ",
                    lengths[r], " at row ", r, ", expected a value in [0, ", X.cols(), "]");
    len[r] = static_cast<std::size_t>(lengths[r]);
  }
  RowMatrix<T> out = X;
  simd::softmax_rows(out.data(), static_cast<std::size_t>(out.cols()), out.data(),
                     static_cast<std::size_t>(out.cols()), static_cast<std::size_t>(out.rows()),
                     static_cast<std::size_t>(out.cols()), len.data());
  if (!detail::all_finite(out)) {
    const RowMatrix<T> in = X;
    for (Index r = 0; r < in.rows(); ++r) {
      for (Index c = 0; c < lengths[static_cast<std::size_t>(r)]; ++c) {
        const T v = in(r, c);
        if (std::isnan(v) || v == std::numeric_limits<T>::infinity())
          detail::throw_invalid(fn, "argument 'X' holds ", v, " at (", r, ", ", c,
                                ") (NaN and +inf are not allowed)");
      }
    }
  }
  return out;
}

/// Causal row-wise softmax: row r covers its first min(r + 1 + offset, cols) entries (the keys
/// visible to query r + offset), zeros after. Rows are queries, columns keys.
/// @throws std::invalid_argument if offset < 0 or a covered entry is NaN / +inf.
template <class D>
RowMatrix<typename D::Scalar> causal_softmax_rows(const Eigen::MatrixBase<D>& X, Index offset = 0) {
  detail::require(offset >= 0, "attnsel::causal_softmax_rows", "argument 'offset' is ", offset,
                  ", expected >= 0");
  std::vector<Index> lengths(static_cast<std::size_t>(X.rows()));
  for (Index r = 0; r < X.rows(); ++r)
    lengths[static_cast<std::size_t>(r)] = std::min<Index>(r + 1 + offset, X.cols());
  return softmax_rows(X, lengths);
}

/// Index of the largest candidate, the lowest index on ties; -1 when there is no candidate.
/// @throws std::invalid_argument on non-vectors, size mismatch, bad mask, NaN at a candidate.
template <class Dx, class Dm>
Index masked_argmax(const Eigen::MatrixBase<Dx>& x, const Eigen::MatrixBase<Dm>& mask) {
  detail::check_same_scalar<Dx, Dm>();
  using T = typename Dx::Scalar;
  detail::check_floating<T>();
  constexpr const char* fn = "attnsel::masked_argmax";
  detail::ContiguousVector<T> v(x, fn, "x");
  detail::ContiguousVector<T> m(mask, fn, "mask");
  detail::check_same_size(v, m, fn, "x", "mask");
  detail::check_mask(m, fn);
  detail::check_candidates(v, m.data(), fn, "x", true);
  const std::size_t i = simd::masked_argmax(v.data(), m.data(), v.size());
  return i == simd::npos ? Index(-1) : static_cast<Index>(i);
}

/// Index of the largest entry, the lowest index on ties; -1 for an empty vector.
template <class D>
Index argmax(const Eigen::MatrixBase<D>& x) {
  using T = typename D::Scalar;
  detail::check_floating<T>();
  constexpr const char* fn = "attnsel::argmax";
  detail::ContiguousVector<T> v(x, fn, "x");
  detail::check_candidates(v, static_cast<const T*>(nullptr), fn, "x", true);
  const std::size_t i = simd::masked_argmax(v.data(), static_cast<const T*>(nullptr), v.size());
  return i == simd::npos ? Index(-1) : static_cast<Index>(i);
}

/// The k largest candidates, in decreasing value, ties by lowest index. O(n + k log k).
/// @throws std::invalid_argument if k < 0 or k exceeds the number of candidates, and as
///         masked_argmax.
template <class Dx, class Dm>
std::vector<Index> masked_top_k(const Eigen::MatrixBase<Dx>& x, const Eigen::MatrixBase<Dm>& mask,
                                Index k) {
  detail::check_same_scalar<Dx, Dm>();
  using T = typename Dx::Scalar;
  detail::check_floating<T>();
  constexpr const char* fn = "attnsel::masked_top_k";
  detail::ContiguousVector<T> v(x, fn, "x");
  detail::ContiguousVector<T> m(mask, fn, "mask");
  detail::check_same_size(v, m, fn, "x", "mask");
  detail::check_mask(m, fn);
  std::size_t candidates = 0;
  for (std::size_t i = 0; i < m.size(); ++i) candidates += m[i] != T(0) ? 1 : 0;
  detail::require(k >= 0 && static_cast<std::size_t>(k) <= candidates, fn, "argument 'k' is ", k,
                  ", expected a value in [0, ", candidates, "] (the number of candidates in 'mask')");
  detail::check_candidates(v, m.data(), fn, "x", true);
  std::vector<std::size_t> idx(static_cast<std::size_t>(k));
  const std::size_t got = simd::masked_top_k(v.data(), m.data(), v.size(),
                                             static_cast<std::size_t>(k), idx.data());
  return detail::to_index_vector<T>(idx.data(), got);
}

/// The k largest entries of a vector, in decreasing value, ties by lowest index.
/// @throws std::invalid_argument if k < 0 or k > size, or on NaN.
template <class D>
std::vector<Index> top_k(const Eigen::MatrixBase<D>& x, Index k) {
  using T = typename D::Scalar;
  detail::check_floating<T>();
  constexpr const char* fn = "attnsel::top_k";
  detail::ContiguousVector<T> v(x, fn, "x");
  detail::require(k >= 0 && static_cast<std::size_t>(k) <= v.size(), fn, "argument 'k' is ", k,
                  ", expected a value in [0, ", v.size(), "] (the size of 'x')");
  detail::check_candidates(v, static_cast<const T*>(nullptr), fn, "x", true);
  std::vector<std::size_t> idx(static_cast<std::size_t>(k));
  const std::size_t got = simd::masked_top_k(v.data(), static_cast<const T*>(nullptr), v.size(),
                                             static_cast<std::size_t>(k), idx.data());
  return detail::to_index_vector<T>(idx.data(), got);
}

/// Inclusive prefix sums of a vector: out[i] = x[0] + ... + x[i].
template <class D>
typename D::PlainObject inclusive_scan(const Eigen::MatrixBase<D>& x) {
  detail::ContiguousVector<typename D::Scalar> v(x, "attnsel::inclusive_scan", "x");
  typename D::PlainObject out(x.rows(), x.cols());
  simd::inclusive_scan(v.data(), out.data(), v.size());
  return out;
}

/// Exclusive prefix sums of a vector: out[0] = 0, out[i] = x[0] + ... + x[i-1].
template <class D>
typename D::PlainObject exclusive_scan(const Eigen::MatrixBase<D>& x) {
  detail::ContiguousVector<typename D::Scalar> v(x, "attnsel::exclusive_scan", "x");
  typename D::PlainObject out(x.rows(), x.cols());
  simd::exclusive_scan(v.data(), out.data(), v.size());
  return out;
}

/// Cumulative sums down the rows, per column: out(r, c) = X(0, c) + ... + X(r, c), or up to
/// X(r - 1, c) when `exclusive` (row 0 is then zeros). Vectorised across columns.
template <class D>
RowMatrix<typename D::Scalar> scan_rows(const Eigen::MatrixBase<D>& X, bool exclusive = false) {
  RowMatrix<typename D::Scalar> out = X;
  const auto c = static_cast<std::size_t>(out.cols());
  simd::scan_rows(out.data(), c, out.data(), c, static_cast<std::size_t>(out.rows()), c, exclusive);
  return out;
}

ATTNSEL_SIMD_NAMESPACE_END
ATTNSEL_NAMESPACE_END
