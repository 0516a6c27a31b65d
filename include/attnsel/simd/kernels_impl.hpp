// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file simd/kernels_impl.hpp
/// Out-of-line definitions of the xsimd versions of the kernels declared in kernels.hpp.
/// Every helper here is templated on `Arch`, so kernels compiled for different instruction sets
/// in different TUs never share a symbol.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>
#include <limits>

#include "kernels.hpp"

#if ATTNSEL_SIMD_ENABLED

#include "compat.hpp"

ATTNSEL_NAMESPACE_BEGIN
namespace simd {
ATTNSEL_SIMD_NAMESPACE_BEGIN
namespace kernels {
namespace detail {

template <class Arch, class T>
using batch = xsimd::batch<T, Arch>;

/// Largest candidate (mask[i] != 0; every entry when !Masked); -inf if none.
template <bool Masked, class Arch, class T>
T masked_max(const T* x, const T* mask, std::size_t n) noexcept {
  using B = batch<Arch, T>;
  constexpr std::size_t L = B::size;
  const B ninf(-std::numeric_limits<T>::infinity());
  const B zero(T(0));
  B v0 = ninf, v1 = ninf;
  std::size_t i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    B a = B::load_unaligned(x + i);
    B b = B::load_unaligned(x + i + L);
    if constexpr (Masked) {
      a = xsimd::select(B::load_unaligned(mask + i) != zero, a, ninf);
      b = xsimd::select(B::load_unaligned(mask + i + L) != zero, b, ninf);
    }
    v0 = xsimd::max(v0, a);
    v1 = xsimd::max(v1, b);
  }
  for (; i + L <= n; i += L) {
    B a = B::load_unaligned(x + i);
    if constexpr (Masked) a = xsimd::select(B::load_unaligned(mask + i) != zero, a, ninf);
    v0 = xsimd::max(v0, a);
  }
  T m = compat::reduce_max(xsimd::max(v0, v1));
  for (; i < n; ++i) {
    if (Masked && mask[i] == T(0)) continue;
    m = x[i] > m ? x[i] : m;
  }
  return m;
}

/// Second softmax pass: e = exp(x - m) on candidates (0 elsewhere), optionally stored to out;
/// returns the sum of e.
template <bool Masked, bool Store, class Arch, class T>
T exp_shifted_sum(const T* x, const T* mask, T m, T* out, std::size_t n) noexcept {
  using B = batch<Arch, T>;
  constexpr std::size_t L = B::size;
  const B vm(m);
  const B zero(T(0));
  B acc0 = zero, acc1 = zero;
  std::size_t i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    B e0 = xsimd::exp(B::load_unaligned(x + i) - vm);
    B e1 = xsimd::exp(B::load_unaligned(x + i + L) - vm);
    if constexpr (Masked) {
      e0 = xsimd::select(B::load_unaligned(mask + i) != zero, e0, zero);
      e1 = xsimd::select(B::load_unaligned(mask + i + L) != zero, e1, zero);
    }
    if constexpr (Store) {
      e0.store_unaligned(out + i);
      e1.store_unaligned(out + i + L);
    }
    acc0 += e0;
    acc1 += e1;
  }
  for (; i + L <= n; i += L) {
    B e = xsimd::exp(B::load_unaligned(x + i) - vm);
    if constexpr (Masked) e = xsimd::select(B::load_unaligned(mask + i) != zero, e, zero);
    if constexpr (Store) e.store_unaligned(out + i);
    acc0 += e;
  }
  T s = compat::reduce_add(acc0 + acc1);
  for (; i < n; ++i) {
    const T e = (Masked && mask[i] == T(0)) ? T(0) : std::exp(x[i] - m);
    if constexpr (Store) out[i] = e;
    s += e;
  }
  return s;
}

template <class Arch, class T>
void scale_inplace(T a, T* x, std::size_t n) noexcept {
  using B = batch<Arch, T>;
  constexpr std::size_t L = B::size;
  const B va(a);
  std::size_t i = 0;
  for (; i + L <= n; i += L) (B::load_unaligned(x + i) * va).store_unaligned(x + i);
  for (; i < n; ++i) x[i] *= a;
}

template <class Arch, class T>
void add_constant(T a, T* x, std::size_t n) noexcept {
  using B = batch<Arch, T>;
  constexpr std::size_t L = B::size;
  const B va(a);
  std::size_t i = 0;
  for (; i + L <= n; i += L) (B::load_unaligned(x + i) + va).store_unaligned(x + i);
  for (; i < n; ++i) x[i] += a;
}

template <bool Masked, class Arch, class T>
SoftmaxStats<T> softmax(const T* x, const T* mask, T* out, std::size_t n) noexcept {
  const T m = masked_max<Masked, Arch>(x, mask, n);
  if (m == -std::numeric_limits<T>::infinity()) return scalar::softmax_without_mass(x, mask, out, n);
  const T s = exp_shifted_sum<Masked, true, Arch>(x, mask, m, out, n);
  scale_inplace<Arch>(T(1) / s, out, n);
  return {m, s};
}

template <bool Masked, class Arch, class T>
T log_sum_exp(const T* x, const T* mask, std::size_t n) noexcept {
  const T m = masked_max<Masked, Arch>(x, mask, n);
  if (m == -std::numeric_limits<T>::infinity())
    return scalar::has_nan_candidate(x, mask, n) ? std::numeric_limits<T>::quiet_NaN() : m;
  const T s = exp_shifted_sum<Masked, false, Arch>(x, mask, m, static_cast<T*>(nullptr), n);
  return m + std::log(s);
}

template <bool Masked, class Arch, class T>
std::size_t argmax(const T* x, const T* mask, std::size_t n) noexcept {
  const T m = masked_max<Masked, Arch>(x, mask, n);
  auto candidate = [mask](std::size_t i) { return !Masked || mask[i] != T(0); };
  if (m == -std::numeric_limits<T>::infinity()) {
    for (std::size_t i = 0; i < n; ++i)
      if (candidate(i)) return i;
    return npos;
  }
  using B = batch<Arch, T>;
  constexpr std::size_t L = B::size;
  const B vm(m);
  std::size_t i = 0;
  for (; i + L <= n; i += L) {
    auto hit = B::load_unaligned(x + i) == vm;
    if constexpr (Masked) hit = hit & (B::load_unaligned(mask + i) != B(T(0)));
    if (xsimd::any(hit)) {
      for (std::size_t j = i; j < i + L; ++j)
        if (candidate(j) && x[j] == m) return j;
    }
  }
  for (; i < n; ++i)
    if (candidate(i) && x[i] == m) return i;
  return npos;  // only when a candidate is NaN (precondition violated)
}

}  // namespace detail

template <class Arch, class T>
T dot::operator()(Arch, const T* x, const T* y, std::size_t n) const noexcept {
  using B = detail::batch<Arch, T>;
  constexpr std::size_t L = B::size;
  B acc0(T(0)), acc1(T(0));
  std::size_t i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    acc0 = xsimd::fma(B::load_unaligned(x + i), B::load_unaligned(y + i), acc0);
    acc1 = xsimd::fma(B::load_unaligned(x + i + L), B::load_unaligned(y + i + L), acc1);
  }
  for (; i + L <= n; i += L) acc0 = xsimd::fma(B::load_unaligned(x + i), B::load_unaligned(y + i), acc0);
  T s = compat::reduce_add(acc0 + acc1);
  for (; i < n; ++i) s += x[i] * y[i];
  return s;
}

template <class Arch, class T>
NarrowStats<T> narrow_stats::operator()(Arch, const T* x, const T* y, float* out, std::size_t n) const noexcept {
  using B = detail::batch<Arch, T>;
  constexpr std::size_t L = B::size;
  B sq0(T(0)), sq1(T(0)), dt0(T(0)), dt1(T(0)), mx0(T(0)), mx1(T(0));
  std::size_t i = 0;
  // The rounding of each 2L entries is a fixed-length loop the compiler vectorises (xsimd 8 has
  // no double -> float batch narrowing); it reads them again from L1.
  auto round_chunk = [x, out](std::size_t at) {
    for (std::size_t j = 0; j < 2 * L; ++j) out[at + j] = static_cast<float>(x[at + j]);
  };
  // One loop body for both cases; the y-free instantiation has no branch in its loop.
  auto run = [&](auto with_y) {
    for (; i + 2 * L <= n; i += 2 * L) {
      const B a = B::load_unaligned(x + i), b = B::load_unaligned(x + i + L);
      sq0 = xsimd::fma(a, a, sq0);
      sq1 = xsimd::fma(b, b, sq1);
      mx0 = xsimd::max(mx0, xsimd::abs(a));
      mx1 = xsimd::max(mx1, xsimd::abs(b));
      if constexpr (decltype(with_y)::value) {
        dt0 = xsimd::fma(a, B::load_unaligned(y + i), dt0);
        dt1 = xsimd::fma(b, B::load_unaligned(y + i + L), dt1);
      }
      round_chunk(i);
    }
  };
  if (y) run(std::true_type{});
  else run(std::false_type{});
  NarrowStats<T> st;
  st.sum_squares = compat::reduce_add(sq0 + sq1);
  st.max_abs = compat::reduce_max(xsimd::max(mx0, mx1));
  st.dot = y ? compat::reduce_add(dt0 + dt1) : T(0);
  for (; i < n; ++i) {
    out[i] = static_cast<float>(x[i]);
    st.sum_squares += x[i] * x[i];
    st.max_abs = std::max(st.max_abs, std::fabs(x[i]));
    if (y) st.dot += x[i] * y[i];
  }
  return st;
}

template <class Arch, class T>
T sum::operator()(Arch, const T* x, std::size_t n) const noexcept {
  using B = detail::batch<Arch, T>;
  constexpr std::size_t L = B::size;
  B acc0(T(0)), acc1(T(0));
  std::size_t i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    acc0 += B::load_unaligned(x + i);
    acc1 += B::load_unaligned(x + i + L);
  }
  for (; i + L <= n; i += L) acc0 += B::load_unaligned(x + i);
  T s = compat::reduce_add(acc0 + acc1);
  for (; i < n; ++i) s += x[i];
  return s;
}

template <class Arch, class T>
T max::operator()(Arch, const T* x, std::size_t n) const noexcept {
  return detail::masked_max<false, Arch>(x, static_cast<const T*>(nullptr), n);
}

template <class Arch, class T>
void axpy::operator()(Arch, T a, const T* x, T* y, std::size_t n) const noexcept {
  using B = detail::batch<Arch, T>;
  constexpr std::size_t L = B::size;
  const B va(a);
  std::size_t i = 0;
  for (; i + L <= n; i += L)
    xsimd::fma(va, B::load_unaligned(x + i), B::load_unaligned(y + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] += a * x[i];
}

template <class Arch, class T>
void scale::operator()(Arch, T a, const T* x, T* out, std::size_t n) const noexcept {
  using B = detail::batch<Arch, T>;
  constexpr std::size_t L = B::size;
  const B va(a);
  std::size_t i = 0;
  for (; i + L <= n; i += L) (va * B::load_unaligned(x + i)).store_unaligned(out + i);
  for (; i < n; ++i) out[i] = a * x[i];
}

template <class Arch, class T>
void mul_add::operator()(Arch, const T* x, const T* y, const T* z, T* out, std::size_t n) const noexcept {
  using B = detail::batch<Arch, T>;
  constexpr std::size_t L = B::size;
  std::size_t i = 0;
  if (z) {
    for (; i + L <= n; i += L)
      xsimd::fma(B::load_unaligned(x + i), B::load_unaligned(y + i), B::load_unaligned(z + i)).store_unaligned(out + i);
    for (; i < n; ++i) out[i] = x[i] * y[i] + z[i];
  } else {
    for (; i + L <= n; i += L) (B::load_unaligned(x + i) * B::load_unaligned(y + i)).store_unaligned(out + i);
    for (; i < n; ++i) out[i] = x[i] * y[i];
  }
}

template <class Arch, class T>
void sub::operator()(Arch, const T* x, const T* y, T* out, std::size_t n) const noexcept {
  using B = detail::batch<Arch, T>;
  constexpr std::size_t L = B::size;
  std::size_t i = 0;
  for (; i + L <= n; i += L) (B::load_unaligned(x + i) - B::load_unaligned(y + i)).store_unaligned(out + i);
  for (; i < n; ++i) out[i] = x[i] - y[i];
}

template <class Arch, class T>
void relu::operator()(Arch, const T* x, T* out, std::size_t n) const noexcept {
  using B = detail::batch<Arch, T>;
  constexpr std::size_t L = B::size;
  const B zero(T(0));
  std::size_t i = 0;
  for (; i + L <= n; i += L) {
    const B v = B::load_unaligned(x + i);
    xsimd::select(v > zero, v, zero).store_unaligned(out + i);
  }
  for (; i < n; ++i) out[i] = x[i] > T(0) ? x[i] : T(0);
}

template <class Arch, class T>
void relu_backward::operator()(Arch, const T* y, const T* dy, T* dx, std::size_t n) const noexcept {
  using B = detail::batch<Arch, T>;
  constexpr std::size_t L = B::size;
  const B zero(T(0));
  std::size_t i = 0;
  for (; i + L <= n; i += L) {
    const B g = B::load_unaligned(dy + i);  // loaded whatever y says: the select is branch-free
    xsimd::select(B::load_unaligned(y + i) > zero, g, zero).store_unaligned(dx + i);
  }
  for (; i < n; ++i) {
    const T g = dy[i];
    dx[i] = y[i] > T(0) ? g : T(0);
  }
}

template <class Arch, class T>
void adam::operator()(Arch, const AdamStep<T>& s, T* w, T* g, T* m, T* v, std::size_t n) const noexcept {
  using B = detail::batch<Arch, T>;
  constexpr std::size_t L = B::size;
  const B b1(s.beta1), b2(s.beta2), nb1(T(1) - s.beta1), nb2(T(1) - s.beta2), step(s.step), c2(s.c2), eps(s.eps),
      decay(s.decay), l2(s.l2);
  std::size_t i = 0;
  for (; i + L <= n; i += L) {
    B gi = B::load_unaligned(g + i), wi = B::load_unaligned(w + i);
    if (s.l2 != T(0)) {
      gi = gi + l2 * wi;
      gi.store_unaligned(g + i);
    }
    const B mi = b1 * B::load_unaligned(m + i) + nb1 * gi;
    const B vi = b2 * B::load_unaligned(v + i) + nb2 * (gi * gi);
    mi.store_unaligned(m + i);
    vi.store_unaligned(v + i);
    if (s.decay != T(0)) wi = wi - decay * wi;
    (wi - step * mi / (xsimd::sqrt(vi / c2) + eps)).store_unaligned(w + i);
  }
  scalar::adam(s, w + i, g + i, m + i, v + i, n - i);
}

template <class Arch, class T>
SoftmaxStats<T> softmax::operator()(Arch, const T* x, const T* mask, T* out,
                                    std::size_t n) const noexcept {
  return mask ? detail::softmax<true, Arch>(x, mask, out, n)
              : detail::softmax<false, Arch>(x, mask, out, n);
}

template <class Arch, class T>
T log_sum_exp::operator()(Arch, const T* x, const T* mask, std::size_t n) const noexcept {
  return mask ? detail::log_sum_exp<true, Arch>(x, mask, n)
              : detail::log_sum_exp<false, Arch>(x, mask, n);
}

template <class Arch, class T, class RowLength>
void softmax_rows::operator()(Arch, const T* in, std::size_t in_stride, T* out,
                              std::size_t out_stride, std::size_t rows, std::size_t cols,
                              RowLength len) const noexcept {
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t l = std::min<std::size_t>(len(r), cols);
    T* o = out + r * out_stride;
    detail::softmax<false, Arch>(in + r * in_stride, static_cast<const T*>(nullptr), o, l);
    std::fill(o + l, o + cols, T(0));
  }
}

template <class Arch, class T>
std::size_t argmax::operator()(Arch, const T* x, const T* mask, std::size_t n) const noexcept {
  return mask ? detail::argmax<true, Arch>(x, mask, n) : detail::argmax<false, Arch>(x, mask, n);
}

template <class Arch, class T>
void scan::operator()(Arch, const T* x, T* out, std::size_t n, bool exclusive) const noexcept {
  // Split into `parts` stretches scanned as independent dependency chains (interleaved, so the
  // adds overlap in the pipeline), then add each stretch's carry with batches.
  constexpr std::size_t parts = 4;
  constexpr std::size_t min_stretch = 64;
  if (n < parts * min_stretch) {
    scalar::scan(x, out, n, exclusive);
    return;
  }
  const std::size_t m = n / parts;  // stretch p covers [p*m, (p+1)*m), the last one to n
  T s[parts] = {};
  for (std::size_t t = 0; t < m; ++t) {
    for (std::size_t p = 0; p < parts; ++p) {
      const std::size_t i = p * m + t;
      const T v = x[i];
      if (exclusive) {
        out[i] = s[p];
        s[p] += v;
      } else {
        s[p] += v;
        out[i] = s[p];
      }
    }
  }
  const std::size_t last = parts * m;
  scalar::scan(x + last, out + last, n - last, exclusive);
  T carry = s[0];
  for (std::size_t p = 1; p < parts; ++p) {
    detail::add_constant<Arch>(carry, out + p * m, m);
    carry += s[p];
  }
  detail::add_constant<Arch>(carry, out + last, n - last);
}

template <class Arch, class T>
void scan_rows::operator()(Arch, const T* in, std::size_t in_stride, T* out,
                           std::size_t out_stride, std::size_t rows, std::size_t cols,
                           bool exclusive) const noexcept {
  using B = detail::batch<Arch, T>;
  constexpr std::size_t L = B::size;
  std::size_t c = 0;
  // Four registers of columns at a time: each row's chunk is read once, sums stay in registers.
  for (; c + 4 * L <= cols; c += 4 * L) {
    B a[4] = {B(T(0)), B(T(0)), B(T(0)), B(T(0))};
    for (std::size_t r = 0; r < rows; ++r) {
      const T* src = in + r * in_stride + c;
      T* dst = out + r * out_stride + c;
      for (std::size_t k = 0; k < 4; ++k) {
        const B v = B::load_unaligned(src + k * L);
        if (exclusive) {
          a[k].store_unaligned(dst + k * L);
          a[k] += v;
        } else {
          a[k] += v;
          a[k].store_unaligned(dst + k * L);
        }
      }
    }
  }
  for (; c + L <= cols; c += L) {
    B a(T(0));
    for (std::size_t r = 0; r < rows; ++r) {
      const B v = B::load_unaligned(in + r * in_stride + c);
      T* dst = out + r * out_stride + c;
      if (exclusive) {
        a.store_unaligned(dst);
        a += v;
      } else {
        a += v;
        a.store_unaligned(dst);
      }
    }
  }
  if (c < cols) scalar::scan_rows(in + c, in_stride, out + c, out_stride, rows, cols - c, exclusive);
}

}  // namespace kernels
ATTNSEL_SIMD_NAMESPACE_END
}  // namespace simd
ATTNSEL_NAMESPACE_END

#endif  // ATTNSEL_SIMD_ENABLED
