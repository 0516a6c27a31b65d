// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file sparse/bsr_kernels.hpp
/// Micro-kernels of the block-sparse row (BSR) products, written once against
/// `xsimd::batch<T, Arch>` with a `scalar_arch` overload (see simd/kernels.hpp for the pattern).
/// Internal: `BlockSparseMatrix` checks every argument before it calls these.
///
/// Storage the kernels read (built by BlockSparseMatrix):
///  - the block grid is `grid_rows x grid_cols`, blocks are `br x bc`; the blocks of block-row
///    `I` are `row_ptr[I] .. row_ptr[I+1]`, in increasing block column `col_idx[k]`;
///  - block `k` is stored **column-major with a padded column height** `brp` (br rounded up to
///    16 bytes of T): entry `(r, c)` of the block is `values[k * bc * brp + c * brp + r]`. Rows
///    `r >= br`, and rows / columns past the matrix edge in edge blocks, hold zeros. So one
///    column of a block is one contiguous, vector-aligned-size line of W, which is a row of Wᵀ:
///    that is exactly the operand `Y = X·Wᵀ` needs (an FMA of a broadcast X entry with it);
///  - the same blocks in block-column order (`col_ptr`, `col_row`, `col_block`), for `Y = X·W`,
///    which transposes each block into a small stack buffer before using it.
///
/// The micro-kernel: an output tile of M rows of X by NV registers (NV·L outputs) stays in
/// registers while the tile walks every block of its block-row (or block-column); each step
/// loads NV lines of a block and does M·NV FMAs with broadcast entries of X. M is 8 (or 6) for
/// 32-register instruction sets (AVX-512, with ymm/xmm too), fewer on 16-register ones. Square
/// blocks of 4, 8, 16 and 32 take fast paths with the block size a template argument (fully
/// unrolled inner loop, register width chosen to divide the block: xmm for 4 floats, ymm for 8,
/// zmm for 16 and 32 on AVX-512); other shapes take a runtime-length path.
///
/// Reads and writes stay inside the caller's matrices: the reduction loop of an edge block
/// stops at the matrix edge, and tiles that cover padding are written through a small buffer.
///
/// Summation order: a given output entry is computed by the same sequence of operations
/// whatever the thread count (the work split into tasks never changes it), so results are
/// bitwise reproducible for a given matrix and input shape.

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "../config.hpp"
#include "../simd/arch.hpp"

#if defined(__GNUC__) || defined(__clang__)
#define ATTNSEL_DETAIL_BSR_INLINE inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define ATTNSEL_DETAIL_BSR_INLINE __forceinline
#else
#define ATTNSEL_DETAIL_BSR_INLINE inline
#endif

ATTNSEL_NAMESPACE_BEGIN
namespace detail {
namespace bsr {

/// The kernels' index type: attnsel::Index (Eigen's) without including Eigen, which the compiled
/// library's per-instruction-set kernel TUs must not (simd/kernel_table.hpp); bsr_impl.hpp checks
/// that the two agree.
using Index = std::ptrdiff_t;

/// Largest supported block side.
inline constexpr Index max_block = 64;

/// Padding unit of the stored block height: 16 bytes of T (4 floats, 2 doubles).
template <class T>
constexpr Index pad_lanes() noexcept {
  return sizeof(T) >= 16 ? Index(1) : Index(16 / sizeof(T));
}

/// `n` rounded up to a multiple of `m`.
constexpr Index round_up(Index n, Index m) noexcept { return (n + m - 1) / m * m; }

/// Read-only view of a BlockSparseMatrix's storage (see the file comment for the layout).
template <class T>
struct View {
  Index rows = 0, cols = 0;            ///< R, C
  Index br = 1, bc = 1;                ///< block shape
  Index brp = 1;                       ///< stored (padded) block height
  Index grid_rows = 0, grid_cols = 0;  ///< ceil(R / br), ceil(C / bc)
  const Index* row_ptr = nullptr;      ///< grid_rows + 1 offsets into the blocks
  const Index* col_idx = nullptr;      ///< block column of each block
  const Index* col_ptr = nullptr;      ///< grid_cols + 1 offsets into the column order
  const Index* col_row = nullptr;      ///< block row of the q-th block in column order
  const Index* col_block = nullptr;    ///< storage index of the q-th block in column order
  const T* values = nullptr;           ///< nnz blocks of bc * brp values

  Index block_size() const noexcept { return bc * brp; }
  /// Rows of block-row I inside the matrix.
  Index rows_in(Index I) const noexcept { return std::min(br, rows - I * br); }
  /// Columns of block-column J inside the matrix.
  Index cols_in(Index J) const noexcept { return std::min(bc, cols - J * bc); }
};

/// One output tile's work: out[m][0 .. ncols) (+)= sum over blocks q, lines k < klen(q) of
/// x[m * ldx + bidx[q] * kstep + k] * w[q * wstride + k * ldw + (0 .. ncols)].
template <class T>
struct Tile {
  const T* x = nullptr;
  Index ldx = 0;
  T* y = nullptr;
  Index ldy = 0;
  const Index* bidx = nullptr;
  Index kstep = 0;
  const T* w = nullptr;
  Index wstride = 0;
  Index ldw = 0;
  Index nblocks = 0;
  Index k_full = 0;  ///< reduction length of every block but the last
  Index k_last = 0;  ///< reduction length of the last block (shorter at the matrix edge)
  Index ncols = 0;   ///< outputs written per row (<= NV * L)
  bool accumulate = false;
};

/// Y[b, i] = sum_j X[b, j] W[i, j] for rows b in [b0, b1) and block-rows [i0, i1): X is
/// row-major with leading dimension ldx and C columns, Y row-major with ldy and R columns.
/// Overwrites those outputs (zeros for empty block-rows).
// The kernels differ per instruction set (the View and Tile types above do not).
ATTNSEL_SIMD_NAMESPACE_BEGIN
struct forward {
  template <class Arch, class T>
  void operator()(Arch, const View<T>& w, const T* x, Index ldx, T* y, Index ldy, Index b0,
                  Index b1, Index i0, Index i1) const noexcept;
  template <class T>
  void operator()(simd::scalar_arch, const View<T>& w, const T* x, Index ldx, T* y, Index ldy,
                  Index b0, Index b1, Index i0, Index i1) const noexcept {
    T acc[max_block];
    for (Index b = b0; b < b1; ++b) {
      const T* xb = x + b * ldx;
      for (Index I = i0; I < i1; ++I) {
        const Index rv = w.rows_in(I);
        std::fill(acc, acc + rv, T(0));
        for (Index k = w.row_ptr[I]; k < w.row_ptr[I + 1]; ++k) {
          const Index J = w.col_idx[k];
          const Index cv = w.cols_in(J);
          const T* blk = w.values + k * w.block_size();
          for (Index c = 0; c < cv; ++c) {
            const T xv = xb[J * w.bc + c];
            const T* line = blk + c * w.brp;
            for (Index r = 0; r < rv; ++r) acc[r] += xv * line[r];
          }
        }
        std::copy(acc, acc + rv, y + b * ldy + I * w.br);
      }
    }
  }
};

/// Y[b, j] = sum_i X[b, i] W[i, j] for rows b in [b0, b1) and block-columns [j0, j1): X has R
/// columns, Y has C. Overwrites those outputs (zeros for empty block-columns).
struct transposed {
  template <class Arch, class T>
  void operator()(Arch, const View<T>& w, const T* x, Index ldx, T* y, Index ldy, Index b0,
                  Index b1, Index j0, Index j1) const noexcept;
  template <class T>
  void operator()(simd::scalar_arch, const View<T>& w, const T* x, Index ldx, T* y, Index ldy,
                  Index b0, Index b1, Index j0, Index j1) const noexcept {
    T acc[max_block];
    for (Index b = b0; b < b1; ++b) {
      const T* xb = x + b * ldx;
      for (Index J = j0; J < j1; ++J) {
        const Index cv = w.cols_in(J);
        std::fill(acc, acc + cv, T(0));
        for (Index q = w.col_ptr[J]; q < w.col_ptr[J + 1]; ++q) {
          const Index I = w.col_row[q];
          const Index rv = w.rows_in(I);
          const T* blk = w.values + w.col_block[q] * w.block_size();
          for (Index r = 0; r < rv; ++r) {
            const T xv = xb[I * w.br + r];
            for (Index c = 0; c < cv; ++c) acc[c] += xv * blk[c * w.brp + r];
          }
        }
        std::copy(acc, acc + cv, y + b * ldy + J * w.bc);
      }
    }
  }
};

/// forward / transposed on `arch_for<T>`, or in the compiled library's own sources built with
/// runtime dispatch, on the kernel table chosen at run time (simd/kernel_table.hpp).
template <class T>
void run_forward_kernel(const View<T>& w, const T* x, Index ldx, T* y, Index ldy, Index b0, Index b1, Index i0,
                        Index i1) noexcept {
  if constexpr (simd::via_table_v<T>) {
    simd::runtime::kernel_table<T>().bsr_forward(w, x, ldx, y, ldy, b0, b1, i0, i1);
  } else {
    forward{}(simd::arch_for<T>{}, w, x, ldx, y, ldy, b0, b1, i0, i1);
  }
}
template <class T>
void run_transposed_kernel(const View<T>& w, const T* x, Index ldx, T* y, Index ldy, Index b0, Index b1,
                           Index j0, Index j1) noexcept {
  if constexpr (simd::via_table_v<T>) {
    simd::runtime::kernel_table<T>().bsr_transposed(w, x, ldx, y, ldy, b0, b1, j0, j1);
  } else {
    transposed{}(simd::arch_for<T>{}, w, x, ldx, y, ldy, b0, b1, j0, j1);
  }
}

ATTNSEL_SIMD_NAMESPACE_END
}  // namespace bsr
}  // namespace detail
ATTNSEL_NAMESPACE_END

#include "bsr_kernels_impl.hpp"
