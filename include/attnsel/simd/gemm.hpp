// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file simd/gemm.hpp
/// A dense matrix product on strided operands, written once against `xsimd::batch<T, Arch>`
/// (register tiles of rows × two batches, a scalar fallback), for the training floor's products
/// where a TU would otherwise instantiate Eigen's product dispatch (docs/conventions.md §7).
///
/// C (m × n, row stride ldc) = op(A) · op(B), where entry (i, p) of op(A) is
/// `a[i·a_rs + p·a_cs]` and entry (p, j) of op(B) is `b[p·b_rs + j·b_cs]`: a row-major A is
/// (lda, 1), its transpose (1, lda); the same for B.
///
/// Every entry of C is one chain of multiply-adds over p = 0, 1, …, k − 1 in that order (FMA
/// where the instruction set has it), started from zero: its bits do not depend on where the
/// entry sits in a tile, on m, on how the rows are split into calls, nor on the blocking. So
/// splitting the rows across threads gives the same C for any thread count. The scalar fallback
/// (and a build without SIMD) computes the same chains with `a·b + c`.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "arch.hpp"

ATTNSEL_NAMESPACE_BEGIN
namespace simd {

/// An operand of gemm: its data and the strides of its row and column index (one type for every
/// instruction set, like scalar.hpp's kernel types; its entry is the per-ISA `operand_at`).
template <class T>
struct GemmOperand {
  const T* data;
  std::ptrdiff_t row_stride;
  std::ptrdiff_t col_stride;
};

ATTNSEL_SIMD_NAMESPACE_BEGIN

/// Entry (r, c) of a gemm operand.
template <class T>
inline T operand_at(const GemmOperand<T>& a, std::size_t r, std::size_t c) noexcept {
  return a.data[std::ptrdiff_t(r) * a.row_stride + std::ptrdiff_t(c) * a.col_stride];
}

namespace scalar {

/// C = op(A)·op(B), each entry one p-ordered chain from zero (see the file comment).
template <class T>
void gemm(std::size_t m, std::size_t n, std::size_t k, GemmOperand<T> a, GemmOperand<T> b, T* c,
          std::size_t ldc) noexcept {
  for (std::size_t i = 0; i < m; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      T s(0);
      for (std::size_t p = 0; p < k; ++p) s = operand_at(a, i, p) * operand_at(b, p, j) + s;
      c[i * ldc + j] = s;
    }
  }
}

}  // namespace scalar

namespace kernels {

/// C (m × n, row stride ldc) = op(A)·op(B). `work` is scratch of at least
/// `gemm_work_size<T, Arch>(n, k)` values (it holds op(B) in panels of two batches' width).
/// C must not overlap A, B or work; m, n or k may be 0 (k == 0 gives C = 0).
struct gemm {
  template <class Arch, class T>
  void operator()(Arch, std::size_t m, std::size_t n, std::size_t k, GemmOperand<T> a, GemmOperand<T> b, T* c,
                  std::size_t ldc, T* work) const noexcept;
  template <class T>
  void operator()(scalar_arch, std::size_t m, std::size_t n, std::size_t k, GemmOperand<T> a, GemmOperand<T> b,
                  T* c, std::size_t ldc, T*) const noexcept {
    scalar::gemm(m, n, k, a, b, c, ldc);
  }
};

/// Depth of one block of the reduction (op(B)'s rows packed at a time).
inline constexpr std::size_t gemm_depth_block = 256;

/// From this many rows of A on, op(B) is packed even when its rows are contiguous.
inline constexpr std::size_t gemm_pack_rows = 16;

/// Rows of A per block (a multiple of every tile height: 6 and 8).
inline constexpr std::size_t gemm_row_block = 96;

/// Scratch `gemm` needs for n columns of op(B) and depth k, in values of T (any alignment).
template <class T, class Arch>
constexpr std::size_t gemm_work_size(std::size_t n, std::size_t k) noexcept {
  if constexpr (std::is_same_v<Arch, scalar_arch>) {
    (void)n;
    (void)k;
    return 0;
  } else {
    constexpr std::size_t w = 2 * lanes<T, Arch>();
    return ((n + w - 1) / w) * w * std::min(k, gemm_depth_block) + 64 / sizeof(T);
  }
}

}  // namespace kernels

/// C = op(A)·op(B) on `arch_for<T>`, with its scratch (unchecked: see kernels::gemm).
template <class T>
void gemm(std::size_t m, std::size_t n, std::size_t k, GemmOperand<T> a, GemmOperand<T> b, T* c,
          std::size_t ldc) {
  // Uninitialised scratch: gemm writes every value it reads.
  if constexpr (via_table_v<T>) {  // the compiled library with runtime dispatch (dispatch.hpp)
    const runtime::KernelTable<T>& t = runtime::kernel_table<T>();
    const std::unique_ptr<T[]> work(new T[t.gemm_work_size(n, k)]);
    t.gemm(m, n, k, a, b, c, ldc, work.get());
  } else {
    const std::unique_ptr<T[]> work(new T[kernels::gemm_work_size<T, arch_for<T>>(n, k)]);
    kernels::gemm{}(arch_for<T>{}, m, n, k, a, b, c, ldc, work.get());
  }
}

ATTNSEL_SIMD_NAMESPACE_END
}  // namespace simd
ATTNSEL_NAMESPACE_END

#if ATTNSEL_SIMD_ENABLED

ATTNSEL_NAMESPACE_BEGIN
namespace simd {
ATTNSEL_SIMD_NAMESPACE_BEGIN
namespace kernels {
namespace detail {

/// `p` rounded up to the next 64-byte boundary.
template <class T>
T* align64(T* p) noexcept {
  const auto u = reinterpret_cast<std::uintptr_t>(p);
  return reinterpret_cast<T*>((u + 63) & ~std::uintptr_t(63));
}

/// Rows of a register tile: 8 on 32-register instruction sets, 6 on 16-register ones (with two
/// batches per row: 16 or 12 accumulators, plus two of op(B) and one broadcast of op(A)).
constexpr int gemm_tile_rows() noexcept {
#if XSIMD_WITH_AVX512F || XSIMD_WITH_NEON64
  return 8;
#else
  return 6;
#endif
}

/// Where a tile reads op(B)[p, j0 : j0 + NV·L]: `line + (p − p0)·stride` (a packed panel, or
/// B's own rows when they are contiguous and the panel is full).
template <class T>
struct GemmPanel {
  const T* line;
  std::ptrdiff_t stride;
};

/// Rows [i0, i0 + M) of C, columns [j0, j0 + w) (w ≤ NV·L), over reduction steps [p0, p1):
/// acc = (p0 == 0 ? 0 : C) + Σ op(A)(i, p) · op(B)(p, ·), one FMA chain per entry.
template <int M, int NV, class Arch, class T>
void gemm_tile(std::size_t i0, std::size_t j0, std::size_t w, std::size_t p0, std::size_t p1, GemmOperand<T> a,
               GemmPanel<T> panel, T* c, std::size_t ldc) noexcept {
  using B = xsimd::batch<T, Arch>;
  constexpr std::size_t L = B::size, W = std::size_t(NV) * L;
  B acc[M][NV];
  alignas(64) T tmp[W];
  for (int r = 0; r < M; ++r) {
    T* crow = c + (i0 + std::size_t(r)) * ldc + j0;
    for (int v = 0; v < NV; ++v) {
      if (p0 == 0) {
        acc[r][v] = B(T(0));
      } else if (w == W) {
        acc[r][v] = B::load_unaligned(crow + std::size_t(v) * L);
      } else {
        for (std::size_t j = 0; j < L; ++j) {
          const std::size_t col = std::size_t(v) * L + j;
          tmp[j] = col < w ? crow[col] : T(0);
        }
        acc[r][v] = B::load_aligned(tmp);
      }
    }
  }
  const T* arow = a.data + std::ptrdiff_t(i0) * a.row_stride;
  const T* line = panel.line;
  for (std::size_t p = p0; p < p1; ++p, line += panel.stride) {
    B bv[NV];
    for (int v = 0; v < NV; ++v) bv[v] = B::load_unaligned(line + std::size_t(v) * L);
    const T* ap = arow + std::ptrdiff_t(p) * a.col_stride;
    for (int r = 0; r < M; ++r) {
      const B x(ap[std::ptrdiff_t(r) * a.row_stride]);
      for (int v = 0; v < NV; ++v) acc[r][v] = xsimd::fma(x, bv[v], acc[r][v]);
    }
  }
  for (int r = 0; r < M; ++r) {
    T* crow = c + (i0 + std::size_t(r)) * ldc + j0;
    if (w == W) {
      for (int v = 0; v < NV; ++v) acc[r][v].store_unaligned(crow + std::size_t(v) * L);
    } else {
      for (int v = 0; v < NV; ++v) acc[r][v].store_aligned(tmp + std::size_t(v) * L);
      for (std::size_t j = 0; j < w; ++j) crow[j] = tmp[j];  // a few values: no memmove call
    }
  }
}

/// Rows [i0, i1) of C, columns [j0, j0 + w): full tiles of M rows, the rest in tiles of M/2,
/// M/4, … rows (6: 3, 1).
template <int M, int NV, class Arch, class T>
void gemm_rows(std::size_t i0, std::size_t i1, std::size_t j0, std::size_t w, std::size_t p0, std::size_t p1,
               GemmOperand<T> a, GemmPanel<T> panel, T* c, std::size_t ldc) noexcept {
  std::size_t i = i0;
  for (; i + std::size_t(M) <= i1; i += std::size_t(M)) gemm_tile<M, NV, Arch>(i, j0, w, p0, p1, a, panel, c, ldc);
  if constexpr (M > 1) {
    if (i < i1) gemm_rows<M / 2, NV, Arch>(i, i1, j0, w, p0, p1, a, panel, c, ldc);
  }
}

}  // namespace detail

template <class Arch, class T>
void gemm::operator()(Arch, std::size_t m, std::size_t n, std::size_t k, GemmOperand<T> a, GemmOperand<T> b, T* c,
                      std::size_t ldc, T* work) const noexcept {
  constexpr std::size_t L = xsimd::batch<T, Arch>::size, W = 2 * L;
  constexpr int M = detail::gemm_tile_rows();
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (std::size_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, T(0));
    return;
  }
  const std::size_t panels = (n + W - 1) / W;
  // op(B)'s rows are read in place when they are contiguous and there are few rows of A to
  // amortise a copy (full panels only); else packed panel by panel, on 64-byte lines: aligned
  // loads that never split a cache line.
  const bool in_place = b.col_stride == 1 && m < gemm_pack_rows;
  work = detail::align64(work);
  for (std::size_t p0 = 0; p0 < k; p0 += gemm_depth_block) {
    const std::size_t p1 = std::min(k, p0 + gemm_depth_block), depth = p1 - p0;
    // Panel q holds columns [qW, qW + W) of op(B)[p0:p1, :], zero-padded, W values per step.
    for (std::size_t q = 0; q < panels; ++q) {
      const std::size_t j0 = q * W, w = std::min(W, n - j0);
      if (in_place && w == W) continue;
      T* dst = work + q * depth * W;
      if (b.col_stride == 1 && w == W) {  // row by row, two batches per row
        using B = xsimd::batch<T, Arch>;
        for (std::size_t p = p0; p < p1; ++p) {
          const T* src = b.data + std::ptrdiff_t(p) * b.row_stride + std::ptrdiff_t(j0);
          T* row = dst + (p - p0) * W;
          B::load_unaligned(src).store_aligned(row);
          B::load_unaligned(src + L).store_aligned(row + L);
        }
      } else if (b.col_stride == 1) {  // the last, partial panel: a plain loop (no memmove per row)
        for (std::size_t p = p0; p < p1; ++p) {
          const T* src = b.data + std::ptrdiff_t(p) * b.row_stride + std::ptrdiff_t(j0);
          T* row = dst + (p - p0) * W;
          for (std::size_t j = 0; j < W; ++j) row[j] = j < w ? src[j] : T(0);
        }
      } else {
        // Column by column, reading along each column of op(B) (contiguous for a transposed B).
        for (std::size_t j = 0; j < W; ++j) {
          if (j < w) {
            for (std::size_t p = p0; p < p1; ++p) dst[(p - p0) * W + j] = operand_at(b, p, j0 + j);
          } else {
            for (std::size_t p = p0; p < p1; ++p) dst[(p - p0) * W + j] = T(0);
          }
        }
      }
    }
    // Blocks of gemm_row_block rows of A (their depth slice stays in cache across panels).
    for (std::size_t i0 = 0; i0 < m; i0 += gemm_row_block) {
      const std::size_t i1 = std::min(m, i0 + gemm_row_block);
      for (std::size_t q = 0; q < panels; ++q) {
        const std::size_t j0 = q * W, w = std::min(W, n - j0);
        const detail::GemmPanel<T> panel =
            in_place && w == W
                ? detail::GemmPanel<T>{b.data + std::ptrdiff_t(p0) * b.row_stride + std::ptrdiff_t(j0), b.row_stride}
                : detail::GemmPanel<T>{work + q * depth * W, std::ptrdiff_t(W)};
        if (w <= L)
          detail::gemm_rows<M, 1, Arch>(i0, i1, j0, w, p0, p1, a, panel, c, ldc);
        else
          detail::gemm_rows<M, 2, Arch>(i0, i1, j0, w, p0, p1, a, panel, c, ldc);
      }
    }
  }
}

}  // namespace kernels
ATTNSEL_SIMD_NAMESPACE_END
}  // namespace simd
ATTNSEL_NAMESPACE_END

#endif  // ATTNSEL_SIMD_ENABLED
