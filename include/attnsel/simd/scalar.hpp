// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file simd/scalar.hpp
/// Portable scalar implementations of every kernel. They are the fallback the kernels run when
/// SIMD is off (or for scalar types without an xsimd batch) and the baseline the benchmarks
/// compare against. Pointer + size interfaces; preconditions are the caller's (see kernels.hpp).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

#include "../config.hpp"

ATTNSEL_NAMESPACE_BEGIN
namespace simd {

// The kernels' argument and result types are one type whatever instruction set a TU is compiled
// for (outside the per-ISA namespace): a table of kernels compiled for several instruction sets
// passes them between TUs of different flags. Plain aggregates, no inline member functions.

/// What a softmax pass found: the largest candidate logit and the sum of exp(logit - max) over
/// the candidates. `log_sum_exp = max + log(sum)`. With no candidate (or every candidate at
/// -inf) `max` is -inf and `sum` is 0. A NaN in `sum` means a candidate logit was NaN or +inf.
template <class T>
struct SoftmaxStats {
  T max;
  T sum;
};

/// What narrow_stats found: Σx², max|x| and Σx·y.
template <class T>
struct NarrowStats {
  T sum_squares = T(0);
  T max_abs = T(0);
  T dot = T(0);
};

/// Returned by the argmax kernels when no entry is a candidate.
inline constexpr std::size_t npos = static_cast<std::size_t>(-1);

/// One Adam update's constants (optim/adam.hpp): `step` = lr / (1 − β1^t), `c2` = 1 − β2^t,
/// `decay` = lr · weight_decay, `l2` the coupled penalty.
template <class T>
struct AdamStep {
  T beta1, beta2, step, c2, eps, decay, l2;
};

ATTNSEL_SIMD_NAMESPACE_BEGIN

namespace scalar {

template <class T>
T dot(const T* x, const T* y, std::size_t n) noexcept {
  T s(0);
  for (std::size_t i = 0; i < n; ++i) s += x[i] * y[i];
  return s;
}

template <class T>
NarrowStats<T> narrow_stats(const T* x, const T* y, float* out, std::size_t n) noexcept {
  NarrowStats<T> st;
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = static_cast<float>(x[i]);
    st.sum_squares += x[i] * x[i];
    st.max_abs = std::max(st.max_abs, std::fabs(x[i]));
    if (y) st.dot += x[i] * y[i];
  }
  return st;
}

template <class T>
T sum(const T* x, std::size_t n) noexcept {
  T s(0);
  for (std::size_t i = 0; i < n; ++i) s += x[i];
  return s;
}

template <class T>
T max(const T* x, std::size_t n) noexcept {
  T m = -std::numeric_limits<T>::infinity();
  for (std::size_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

template <class T>
void axpy(T a, const T* x, T* y, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) y[i] += a * x[i];
}

template <class T>
void scale(T a, const T* x, T* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = a * x[i];
}

template <class T>
void mul_add(const T* x, const T* y, const T* z, T* out, std::size_t n) noexcept {
  if (z) {
    for (std::size_t i = 0; i < n; ++i) out[i] = x[i] * y[i] + z[i];
  } else {
    for (std::size_t i = 0; i < n; ++i) out[i] = x[i] * y[i];
  }
}

template <class T>
void sub(const T* x, const T* y, T* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = x[i] - y[i];
}

template <class T>
void relu(const T* x, T* out, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) out[i] = x[i] > T(0) ? x[i] : T(0);
}

template <class T>
void relu_backward(const T* y, const T* dy, T* dx, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) dx[i] = y[i] > T(0) ? dy[i] : T(0);
}


/// g ← g + l2·w (written back when l2 ≠ 0); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
/// w ← w − decay·w (when decay ≠ 0); w ← w − step·m / (sqrt(v / c2) + eps).
template <class T>
void adam(const AdamStep<T>& s, T* w, T* g, T* m, T* v, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) {
    T gi = g[i];
    if (s.l2 != T(0)) g[i] = gi = gi + s.l2 * w[i];
    m[i] = s.beta1 * m[i] + (T(1) - s.beta1) * gi;
    v[i] = s.beta2 * v[i] + (T(1) - s.beta2) * (gi * gi);
    if (s.decay != T(0)) w[i] -= s.decay * w[i];
    w[i] -= s.step * m[i] / (std::sqrt(v[i] / s.c2) + s.eps);
  }
}

/// Largest x[i] over candidates (mask[i] != 0; mask == nullptr: every entry). -inf if none.
template <class T>
T masked_max(const T* x, const T* mask, std::size_t n) noexcept {
  T m = -std::numeric_limits<T>::infinity();
  for (std::size_t i = 0; i < n; ++i) {
    if (mask && mask[i] == T(0)) continue;
    m = x[i] > m ? x[i] : m;
  }
  return m;
}

/// True if a candidate is NaN (a max pass cannot see a NaN when the others are all -inf).
template <class T>
bool has_nan_candidate(const T* x, const T* mask, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i)
    if ((!mask || mask[i] != T(0)) && x[i] != x[i]) return true;
  return false;
}

/// The softmax result when the max pass found no finite candidate: all zeros with
/// {-inf, 0}, or all NaN with {NaN, NaN} when a candidate is NaN.
template <class T>
SoftmaxStats<T> softmax_without_mass(const T* x, const T* mask, T* out, std::size_t n) noexcept {
  if (has_nan_candidate(x, mask, n)) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    std::fill(out, out + n, nan);
    return {nan, nan};
  }
  std::fill(out, out + n, T(0));
  return {-std::numeric_limits<T>::infinity(), T(0)};
}

/// out[i] = exp(x[i] - max) / sum over candidates, exactly 0 elsewhere; all zeros when there
/// is no candidate or every candidate is -inf.
template <class T>
SoftmaxStats<T> softmax(const T* x, const T* mask, T* out, std::size_t n) noexcept {
  const T m = masked_max(x, mask, n);
  if (m == -std::numeric_limits<T>::infinity()) return softmax_without_mass(x, mask, out, n);
  T s(0);
  for (std::size_t i = 0; i < n; ++i) {
    const T e = (mask && mask[i] == T(0)) ? T(0) : std::exp(x[i] - m);
    out[i] = e;
    s += e;
  }
  const T inv = T(1) / s;
  for (std::size_t i = 0; i < n; ++i) out[i] *= inv;
  return {m, s};
}

/// max + log(sum exp(x - max)) over candidates; -inf when there is none.
template <class T>
T log_sum_exp(const T* x, const T* mask, std::size_t n) noexcept {
  const T m = masked_max(x, mask, n);
  if (m == -std::numeric_limits<T>::infinity())
    return has_nan_candidate(x, mask, n) ? std::numeric_limits<T>::quiet_NaN() : m;
  T s(0);
  for (std::size_t i = 0; i < n; ++i) {
    if (mask && mask[i] == T(0)) continue;
    s += std::exp(x[i] - m);
  }
  return m + std::log(s);
}

/// Row r of the rows x cols matrix: softmax over its first len(r) entries, zeros after.
template <class T, class RowLength>
void softmax_rows(const T* in, std::size_t in_stride, T* out, std::size_t out_stride,
                  std::size_t rows, std::size_t cols, RowLength len) noexcept {
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t l = std::min<std::size_t>(len(r), cols);
    T* o = out + r * out_stride;
    softmax(in + r * in_stride, static_cast<const T*>(nullptr), o, l);
    std::fill(o + l, o + cols, T(0));
  }
}

/// Index of the largest candidate, lowest index on ties; npos when there is no candidate.
template <class T>
std::size_t argmax(const T* x, const T* mask, std::size_t n) noexcept {
  std::size_t best = npos;
  for (std::size_t i = 0; i < n; ++i) {
    if (mask && mask[i] == T(0)) continue;
    if (best == npos || x[i] > x[best]) best = i;
  }
  return best;
}

/// The min(k, #candidates) largest candidates, written to `out` in decreasing value, ties by
/// lowest index. Returns how many were written. NaN candidates are a precondition violation.
template <class T>
std::size_t top_k(const T* x, const T* mask, std::size_t n, std::size_t k, std::size_t* out) {
  std::vector<std::size_t> idx;
  idx.reserve(mask ? 0 : n);
  for (std::size_t i = 0; i < n; ++i)
    if (!mask || mask[i] != T(0)) idx.push_back(i);
  const std::size_t m = std::min(k, idx.size());
  auto before = [x](std::size_t a, std::size_t b) { return x[a] > x[b] || (x[a] == x[b] && a < b); };
  if (m < idx.size()) {
    std::nth_element(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(m), idx.end(), before);
  }
  std::sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(m), before);
  std::copy(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(m), out);
  return m;
}

/// out[i] = x[0] + ... + x[i] (inclusive) or x[0] + ... + x[i-1] (exclusive, out[0] = 0).
/// In place (out == x) is allowed. Returns the total.
template <class T>
T scan(const T* x, T* out, std::size_t n, bool exclusive) noexcept {
  T s(0);
  for (std::size_t i = 0; i < n; ++i) {
    const T v = x[i];
    if (exclusive) {
      out[i] = s;
      s += v;
    } else {
      s += v;
      out[i] = s;
    }
  }
  return s;
}

/// Cumulative sum down the rows of a row-major rows x cols matrix, per column:
/// inclusive out(r, c) = in(0..r, c); exclusive out(r, c) = in(0..r-1, c). In place allowed.
template <class T>
void scan_rows(const T* in, std::size_t in_stride, T* out, std::size_t out_stride,
               std::size_t rows, std::size_t cols, bool exclusive) noexcept {
  for (std::size_t c = 0; c < cols; ++c) {
    T s(0);
    for (std::size_t r = 0; r < rows; ++r) {
      const T v = in[r * in_stride + c];
      if (exclusive) {
        out[r * out_stride + c] = s;
        s += v;
      } else {
        s += v;
        out[r * out_stride + c] = s;
      }
    }
  }
}

}  // namespace scalar
ATTNSEL_SIMD_NAMESPACE_END
}  // namespace simd
ATTNSEL_NAMESPACE_END
