// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file block_grid.hpp
/// `BlockGrid`: an R × C weight matrix cut into B_r × B_c blocks (the last block row / column may
/// be partial), with the block-level reductions and expansions the pruners need. A convolution
/// kernel H × W × C_in × C_out reshaped to (H·W·C_in) × C_out is just a matrix here.

#include <Eigen/Core>

#include <cmath>
#include <cstdint>

#include "../config.hpp"
#include "../error.hpp"
#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// Block mask: one entry per block, true = kept.
using BlockMask = Eigen::Matrix<bool, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

class BlockGrid {
 public:
  BlockGrid() = default;

  /// Throws std::invalid_argument when a block side is < 1 or larger than the matrix.
  BlockGrid(Index rows, Index cols, Index block_rows, Index block_cols)
      : rows_(rows), cols_(cols), br_(block_rows), bc_(block_cols) {
    constexpr const char* fn = "BlockGrid";
    detail::require(rows >= 1 && cols >= 1, fn, "arguments 'rows' x 'cols' must be at least 1 x 1 (got ", rows, " x ",
                    cols, ")");
    detail::require(block_rows >= 1 && block_rows <= rows, fn, "block_rows must be in [1, ", rows,
                    "] (the matrix rows); got ", block_rows);
    detail::require(block_cols >= 1 && block_cols <= cols, fn, "block_cols must be in [1, ", cols,
                    "] (the matrix columns); got ", block_cols);
    gr_ = (rows + br_ - 1) / br_;
    gc_ = (cols + bc_ - 1) / bc_;
  }

  Index rows() const noexcept { return rows_; }
  Index cols() const noexcept { return cols_; }
  Index block_rows() const noexcept { return br_; }
  Index block_cols() const noexcept { return bc_; }
  Index grid_rows() const noexcept { return gr_; }   ///< blocks down
  Index grid_cols() const noexcept { return gc_; }   ///< blocks across
  Index blocks() const noexcept { return gr_ * gc_; }
  /// Entries of block b (row-major block index): smaller for partial edge blocks.
  Index block_size(Index b) const noexcept {
    const Index r = b / gc_, c = b % gc_;
    return (std::min(rows_, (r + 1) * br_) - r * br_) * (std::min(cols_, (c + 1) * bc_) - c * bc_);
  }

  /// Per-block sums of an R × C matrix (grid_rows × grid_cols, row-major block order in data()).
  template <class D>
  RowMatrix<typename D::Scalar> block_sum(const Eigen::MatrixBase<D>& M) const {
    return accumulate(M, "block_sum", [](auto v) { return v; });
  }

  /// Per-block Frobenius norms of an R × C matrix.
  template <class D>
  RowMatrix<typename D::Scalar> block_norms(const Eigen::MatrixBase<D>& M) const {
    return accumulate(M, "block_norms", [](auto v) { return v * v; }).cwiseSqrt();
  }

  /// Expands per-block values (grid_rows × grid_cols) to an R × C matrix.
  template <class D>
  RowMatrix<typename D::Scalar> expand(const Eigen::MatrixBase<D>& blocks) const {
    detail::require(blocks.rows() == gr_ && blocks.cols() == gc_, "BlockGrid::expand", "block values are ",
                    blocks.rows(), " x ", blocks.cols(), ", expected the grid ", gr_, " x ", gc_);
    using T = typename D::Scalar;
    RowMatrix<T> out(rows_, cols_);
    for (Index i = 0; i < rows_; ++i)
      for (Index j = 0; j < cols_; ++j) out(i, j) = blocks(i / br_, j / bc_);
    return out;
  }

  /// Element mask (0/1 in T) of a block mask.
  template <class T>
  RowMatrix<T> element_mask(const BlockMask& mask) const {
    return expand(mask.cast<T>());
  }

  bool operator==(const BlockGrid& o) const noexcept {
    return rows_ == o.rows_ && cols_ == o.cols_ && br_ == o.br_ && bc_ == o.bc_;
  }

 private:
  /// Per-block sums of f(entry).
  template <class D, class F>
  RowMatrix<typename D::Scalar> accumulate(const Eigen::MatrixBase<D>& M, const char* what, F f) const {
    check_shape(M, what);
    using T = typename D::Scalar;
    RowMatrix<T> out = RowMatrix<T>::Zero(gr_, gc_);
    for (Index i = 0; i < rows_; ++i)
      for (Index j = 0; j < cols_; ++j) out(i / br_, j / bc_) += f(M(i, j));
    return out;
  }

  template <class D>
  void check_shape(const Eigen::MatrixBase<D>& M, const char* what) const {
    detail::require(M.rows() == rows_ && M.cols() == cols_, "BlockGrid", what, ": matrix is ", M.rows(), " x ",
                    M.cols(), ", expected ", rows_, " x ", cols_);
  }

  Index rows_ = 0, cols_ = 0, br_ = 1, bc_ = 1, gr_ = 0, gc_ = 0;
};

ATTNSEL_NAMESPACE_END
