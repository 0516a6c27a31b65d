// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file tile_kernels.hpp
/// Register-blocked products of small row-major tiles for the attention kernels:
/// `C (m×n) = or += A (m×k) · B (k×n)`, every operand row-major with its own leading dimension.
/// Written once on `xsimd::batch<T, Arch>` (MR rows × NV vectors of accumulators held in
/// registers, vector column tail, scalar column tail) with a scalar-arch fallback. No threads, no
/// allocation: the attention kernels call it on 64 × 64 tiles from inside their own parallel
/// regions, where a general GEMM's packing and thread start-up would cost more than the product.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>

#include "../simd/arch.hpp"
#include "../simd/compat.hpp"
#include "../simd/kernels.hpp"

ATTNSEL_NAMESPACE_BEGIN
namespace detail {
namespace tile {

/// attnsel::Index (Eigen's) without including Eigen, which the compiled library's
/// per-instruction-set kernel TUs must not (simd/kernel_table.hpp; sparse/bsr_impl.hpp checks the
/// two agree).
using Index = std::ptrdiff_t;

ATTNSEL_SIMD_NAMESPACE_BEGIN

/// True when a tile function called on its default Arch runs the kernel table chosen at run time
/// instead: in the compiled library built with runtime dispatch and the TUs that link it
/// (simd::via_table_v).
template <class T, class Arch>
inline constexpr bool via_table_v = simd::via_table_v<T> && std::is_same_v<Arch, simd::arch_for<T>>;

/// Scalar reference and fallback. A(i, p) = A[i·ars + p·acs].
template <class T>
void gemm_scalar(Index m, Index n, Index k, const T* A, Index ars, Index acs, const T* B, Index ldb, T* C,
                 Index ldc, bool accumulate) noexcept {
  for (Index i = 0; i < m; ++i) {
    T* c = C + i * ldc;
    if (!accumulate) std::fill(c, c + n, T(0));
    for (Index p = 0; p < k; ++p) {
      const T a = A[i * ars + p * acs];
      const T* b = B + p * ldb;
      for (Index j = 0; j < n; ++j) c[j] += a * b[j];
    }
  }
}

#if ATTNSEL_SIMD_ENABLED
template <class T, class Arch, int MR, int NV>
inline void micro(Index k, const T* A, Index ars, Index acs, const T* B, Index ldb, T* C, Index ldc,
                  bool accumulate) noexcept {
  using Batch = xsimd::batch<T, Arch>;
  constexpr Index L = static_cast<Index>(Batch::size);
  Batch c[MR][NV];
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v)
      c[r][v] = accumulate ? Batch::load_unaligned(C + r * ldc + v * L) : Batch(T(0));
  for (Index p = 0; p < k; ++p) {
    Batch b[NV];
    for (int v = 0; v < NV; ++v) b[v] = Batch::load_unaligned(B + p * ldb + v * L);
    const T* a = A + p * acs;
    for (int r = 0; r < MR; ++r) {
      const Batch ar(a[r * ars]);
      for (int v = 0; v < NV; ++v) c[r][v] = xsimd::fma(ar, b[v], c[r][v]);
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int v = 0; v < NV; ++v) c[r][v].store_unaligned(C + r * ldc + v * L);
}

template <class T, class Arch, int NV>
inline void column_panel(Index m, Index k, const T* A, Index ars, Index acs, const T* B, Index ldb, T* C,
                         Index ldc, bool accumulate) noexcept {
  constexpr int MR = NV == 1 ? 8 : 6;  // MR x NV accumulators + NV loads fit the register file
  Index i = 0;
  for (; i + MR <= m; i += MR)
    micro<T, Arch, MR, NV>(k, A + i * ars, ars, acs, B, ldb, C + i * ldc, ldc, accumulate);
  const T* a = A + i * ars;
  T* c = C + i * ldc;
  switch (m - i) {  // the remaining rows in one call
    case 7: micro<T, Arch, 7, NV>(k, a, ars, acs, B, ldb, c, ldc, accumulate); break;
    case 6: micro<T, Arch, 6, NV>(k, a, ars, acs, B, ldb, c, ldc, accumulate); break;
    case 5: micro<T, Arch, 5, NV>(k, a, ars, acs, B, ldb, c, ldc, accumulate); break;
    case 4: micro<T, Arch, 4, NV>(k, a, ars, acs, B, ldb, c, ldc, accumulate); break;
    case 3: micro<T, Arch, 3, NV>(k, a, ars, acs, B, ldb, c, ldc, accumulate); break;
    case 2: micro<T, Arch, 2, NV>(k, a, ars, acs, B, ldb, c, ldc, accumulate); break;
    case 1: micro<T, Arch, 1, NV>(k, a, ars, acs, B, ldb, c, ldc, accumulate); break;
    default: break;
  }
}
#endif

/// C (m×n) = A·B, or C += A·B when `accumulate`; A(i, p) = A[i·ars + p·acs] (so a row-major A
/// has (ars, acs) = (lda, 1) and a transposed one (1, lda)); B and C row-major.
template <class T, class Arch = simd::arch_for<T>>
void gemm_strided(Index m, Index n, Index k, const T* A, Index ars, Index acs, const T* B, Index ldb, T* C,
                  Index ldc, bool accumulate) noexcept {
  if (m <= 0 || n <= 0) return;
  if constexpr (via_table_v<T, Arch>) {
    simd::runtime::kernel_table<T>().tile_gemm(m, n, k, A, ars, acs, B, ldb, C, ldc, accumulate);
  } else if constexpr (std::is_same_v<Arch, simd::scalar_arch>) {
    gemm_scalar(m, n, k, A, ars, acs, B, ldb, C, ldc, accumulate);
  } else {
#if ATTNSEL_SIMD_ENABLED
    using Batch = xsimd::batch<T, Arch>;
    constexpr Index L = static_cast<Index>(Batch::size);
    // 512-bit registers (32 of them): 6 rows x 4 vectors; narrower (16 registers): 8 x 1 or 6 x 2.
    constexpr int NV = sizeof(Batch) >= 64 ? 4 : 2;
    Index j = 0;
    for (; j + NV * L <= n; j += NV * L)
      column_panel<T, Arch, NV>(m, k, A, ars, acs, B + j, ldb, C + j, ldc, accumulate);
    for (; j + L <= n; j += L) column_panel<T, Arch, 1>(m, k, A, ars, acs, B + j, ldb, C + j, ldc, accumulate);
    if (j < n) gemm_scalar(m, n - j, k, A, ars, acs, B + j, ldb, C + j, ldc, accumulate);
#else
    gemm_scalar(m, n, k, A, ars, acs, B, ldb, C, ldc, accumulate);
#endif
  }
}

/// C (m×n) = or += A (m×k, row stride lda) · B (k×n).
template <class T, class Arch = simd::arch_for<T>>
void gemm(Index m, Index n, Index k, const T* A, Index lda, const T* B, Index ldb, T* C, Index ldc,
          bool accumulate) noexcept {
  gemm_strided<T, Arch>(m, n, k, A, lda, 1, B, ldb, C, ldc, accumulate);
}

/// C (m×n) = or += Aᵀ · B where A is stored k×m row-major with row stride lda.
template <class T, class Arch = simd::arch_for<T>>
void gemm_tn(Index m, Index n, Index k, const T* A, Index lda, const T* B, Index ldb, T* C, Index ldc,
             bool accumulate) noexcept {
  gemm_strided<T, Arch>(m, n, k, A, 1, lda, B, ldb, C, ldc, accumulate);
}

/// out (cols × rows, row stride ldo) = scale · in (rows × cols, row stride ldi)ᵀ.
template <class T>
void transpose(Index rows, Index cols, const T* in, Index ldi, T* out, Index ldo, T scale = T(1)) noexcept {
  constexpr Index blk = 8;
  for (Index i0 = 0; i0 < rows; i0 += blk)
    for (Index j0 = 0; j0 < cols; j0 += blk) {
      const Index i1 = std::min(rows, i0 + blk), j1 = std::min(cols, j0 + blk);
      for (Index i = i0; i < i1; ++i)
        for (Index j = j0; j < j1; ++j) out[j * ldo + i] = scale * in[i * ldi + j];
    }
}

/// Row helpers on tiles (all written once, SIMD with a scalar tail, or scalar fallback).

/// x -= f.
template <class T, class Arch = simd::arch_for<T>>
void sub_inplace(T* x, const T* f, Index n) noexcept {
  if constexpr (via_table_v<T, Arch>) {
    simd::runtime::kernel_table<T>().tile_sub(x, f, n);
    return;
  }
  Index i = 0;
#if ATTNSEL_SIMD_ENABLED
  if constexpr (!std::is_same_v<Arch, simd::scalar_arch>) {
    using Batch = xsimd::batch<T, Arch>;
    constexpr Index L = static_cast<Index>(Batch::size);
    for (; i + L <= n; i += L)
      (Batch::load_unaligned(x + i) - Batch::load_unaligned(f + i)).store_unaligned(x + i);
  }
#endif
  for (; i < n; ++i) x[i] -= f[i];
}

/// x += f.
template <class T, class Arch = simd::arch_for<T>>
void add_inplace(T* x, const T* f, Index n) noexcept {
  if constexpr (via_table_v<T, Arch>) {
    simd::runtime::kernel_table<T>().axpy(T(1), f, x, static_cast<std::size_t>(n));
  } else {
    simd::kernels::axpy{}(Arch{}, T(1), f, x, static_cast<std::size_t>(n));
  }
}

/// run += max(s, 0).
template <class T, class Arch = simd::arch_for<T>>
void relu_add(T* run, const T* s, Index n) noexcept {
  if constexpr (via_table_v<T, Arch>) {
    simd::runtime::kernel_table<T>().tile_relu_add(run, s, n);
    return;
  }
  Index i = 0;
#if ATTNSEL_SIMD_ENABLED
  if constexpr (!std::is_same_v<Arch, simd::scalar_arch>) {
    using Batch = xsimd::batch<T, Arch>;
    constexpr Index L = static_cast<Index>(Batch::size);
    const Batch zero(T(0));
    for (; i + L <= n; i += L)
      (Batch::load_unaligned(run + i) + xsimd::max(Batch::load_unaligned(s + i), zero)).store_unaligned(run + i);
  }
#endif
  for (; i < n; ++i) run[i] += s[i] > T(0) ? s[i] : T(0);
}

/// Largest entry of x[0..n) (-inf for n = 0).
template <class T, class Arch = simd::arch_for<T>>
T row_max(const T* x, Index n) noexcept {
  if constexpr (via_table_v<T, Arch>) {
    return simd::runtime::kernel_table<T>().max(x, static_cast<std::size_t>(n));
  } else {
    return simd::kernels::max{}(Arch{}, x, static_cast<std::size_t>(n));
  }
}

/// x = exp(x - m) in place; returns the sum. Entries equal to -inf become 0.
template <class T, class Arch = simd::arch_for<T>>
T exp_shift_sum(T* x, T m, Index n) noexcept {
  if constexpr (via_table_v<T, Arch>) return simd::runtime::kernel_table<T>().tile_exp_shift_sum(x, m, n);
  Index i = 0;
  T s(0);
#if ATTNSEL_SIMD_ENABLED
  if constexpr (!std::is_same_v<Arch, simd::scalar_arch>) {
    using Batch = xsimd::batch<T, Arch>;
    constexpr Index L = static_cast<Index>(Batch::size);
    const Batch vm(m);
    Batch acc(T(0));
    for (; i + L <= n; i += L) {
      const Batch e = xsimd::exp(Batch::load_unaligned(x + i) - vm);
      e.store_unaligned(x + i);
      acc += e;
    }
    s = simd::compat::reduce_add(acc);
  }
#endif
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    s += x[i];
  }
  return s;
}

/// x *= a.
template <class T, class Arch = simd::arch_for<T>>
void scale_inplace(T a, T* x, Index n) noexcept {
  if constexpr (via_table_v<T, Arch>) {
    simd::runtime::kernel_table<T>().scale(a, x, x, static_cast<std::size_t>(n));
  } else {
    simd::kernels::scale{}(Arch{}, a, x, x, static_cast<std::size_t>(n));
  }
}

/// out = p * (dp - c)  (the softmax backward on one row).
template <class T, class Arch = simd::arch_for<T>>
void softmax_grad(const T* p, const T* dp, T c, T* out, Index n) noexcept {
  if constexpr (via_table_v<T, Arch>) {
    simd::runtime::kernel_table<T>().tile_softmax_grad(p, dp, c, out, n);
    return;
  }
  Index i = 0;
#if ATTNSEL_SIMD_ENABLED
  if constexpr (!std::is_same_v<Arch, simd::scalar_arch>) {
    using Batch = xsimd::batch<T, Arch>;
    constexpr Index L = static_cast<Index>(Batch::size);
    const Batch vc(c);
    for (; i + L <= n; i += L)
      (Batch::load_unaligned(p + i) * (Batch::load_unaligned(dp + i) - vc)).store_unaligned(out + i);
  }
#endif
  for (; i < n; ++i) out[i] = p[i] * (dp[i] - c);
}

ATTNSEL_SIMD_NAMESPACE_END
}  // namespace tile
}  // namespace detail
ATTNSEL_NAMESPACE_END
