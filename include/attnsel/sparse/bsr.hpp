// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file sparse/bsr.hpp
/// `BlockSparseMatrix<T>`: a block-sparse row (BSR) matrix for inference with pruned weights,
/// and its products with dense row-major batches.
///
/// @code
///   attnsel::BlockSparseMatrix<float> w(dense_weights, block_mask, {16, 16});
///   attnsel::RowMatrix<float> Y = w.multiply(X);   // Y = X·Wᵀ   (X: batch x cols())
///   w.multiply(X, Y);                              // same, into existing memory
///   attnsel::RowMatrix<float> Z = w.multiply_transposed(U);  // Z = U·W (U: batch x rows())
///   attnsel::Vector<float> y = w.multiply_vector(x);         // y = W·x
/// @endcode
///
/// Conventions:
///  - W is R x C (`rows()` x `cols()`) cut into blocks of `block_rows()` x `block_cols()` (each
///    in 1..64, rectangular allowed); the block grid is `grid_rows()` x `grid_cols()` =
///    ceil(R / block_rows) x ceil(C / block_cols). Edge blocks may be partial; they are stored
///    zero-padded, and the products never read or write outside the caller's matrices.
///  - `multiply(X)` applies W to every row of X: Y = X·Wᵀ, the usual "weights are out x in"
///    layout of a linear layer. `multiply_transposed(X)` applies Wᵀ: Y = X·W.
///  - Inputs are any Eigen expressions; the out-parameter forms take `Eigen::Ref` (row-major
///    with any outer stride, no copy; other layouts of X are copied once) and do not allocate.
///  - NaN / inf policy: products do not look for non-finite values (that would cost a pass over
///    X). Values meet the stored blocks exactly as in a dense product, so a NaN in W or X
///    propagates to every output it touches through a stored block. Entries of X that meet only
///    absent blocks never reach Y (a dense product with zeros there would give NaN · 0 = NaN).
///  - Threads: with OpenMP, large products run over independent tiles of the output (no
///    atomics); a given output entry is computed the same way whatever the number of threads,
///    so results are bitwise reproducible for a given matrix and input shape.
///  - Errors: std::invalid_argument naming the function, the argument, its value and what was
///    expected (block side outside 1..64 or larger than the matrix, block mask of the wrong
///    shape, X with the wrong number of columns, Y of the wrong shape or overlapping X).

#include <cstddef>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "../config.hpp"
#include "../error.hpp"
#include "../types.hpp"
#include "bsr_kernels.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// Height and width of the blocks of a BlockSparseMatrix (each in 1..64).
struct BlockShape {
  Index rows = 16;  ///< block height (rows of W per block)
  Index cols = 16;  ///< block width (columns of W per block)
};

/// How the products of a BlockSparseMatrix use threads.
struct BlockSparseProductOptions {
  /// Split large products over OpenMP threads (only when the program is built with OpenMP).
  bool parallel = true;
  /// Products with fewer floating-point operations (2 · batch · stored block entries) run on
  /// the calling thread: below this, starting threads costs more than it saves.
  double min_parallel_flops = 1 << 19;
};

/// Block-sparse row matrix of floating-point type T (float or double).
///
/// Storage: for each block-row, its blocks in increasing block column; each block is stored
/// column-major with its column height padded to 16 bytes (`padded_block_rows()`), i.e. as a
/// row-major block of Wᵀ. A column of a block is then one contiguous line, which the X·Wᵀ
/// kernels use as a register operand (see sparse/bsr_kernels.hpp). A block-column index of the
/// same blocks (indices only, no values) serves X·W.
/// Memory: nnz_blocks · block_cols · padded_block_rows values plus a few indices per block.
template <class T>
class BlockSparseMatrix {
  static_assert(std::is_floating_point_v<T>, "attnsel::BlockSparseMatrix: T must be float or double");

 public:
  using Scalar = T;
  /// Block mask type returned by block_mask(): true where a block is stored.
  using Mask = Eigen::Matrix<bool, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  /// One stored block viewed as a block_rows() x block_cols() matrix.
  using ConstBlockMap =
      Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>, 0,
                 Eigen::OuterStride<>>;

  /// An empty 0 x 0 matrix with no blocks.
  BlockSparseMatrix() = default;

  /// Keeps the blocks of `dense` where `block_mask` is non-zero (any scalar type: bool, uint8,
  /// int, float, ...), with the given block shape. Kept blocks are stored even if their values
  /// are all zero; masked-out blocks are dropped whatever their values.
  /// @throws std::invalid_argument if a block side is outside 1..64 or larger than the matrix,
  ///         or `block_mask` is not ceil(R / block.rows) x ceil(C / block.cols).
  template <class D, class DM>
  BlockSparseMatrix(const Eigen::MatrixBase<D>& dense, const Eigen::MatrixBase<DM>& block_mask,
                    BlockShape block);

  /// As above, with the block shape read from the mask's shape: the block height is R / mask
  /// rows when that divides evenly (no partial edge block), else the one h with
  /// ceil(R / h) == mask rows; likewise the width. When several sides fit and none divides
  /// evenly (R = 37 with 5 mask rows fits 8 and 9) the shape must be given explicitly. A grid
  /// with partial edge blocks whose size also divides evenly (R = 9, blocks of 4, 3 mask rows)
  /// reads as the even split (3): pass the BlockShape in such cases.
  /// @throws std::invalid_argument if no side or more than one side fits, or as above.
  template <class D, class DM>
  BlockSparseMatrix(const Eigen::MatrixBase<D>& dense, const Eigen::MatrixBase<DM>& block_mask);

  /// Keeps the blocks of `dense` that hold at least one non-zero entry (NaN counts as non-zero).
  /// @throws std::invalid_argument if a block side is outside 1..64 or larger than the matrix.
  template <class D>
  BlockSparseMatrix(const Eigen::MatrixBase<D>& dense, BlockShape block);

  // ---- shape and storage ----

  /// R, the number of rows of W.
  Index rows() const noexcept { return rows_; }
  /// C, the number of columns of W.
  Index cols() const noexcept { return cols_; }
  /// Height of a block.
  Index block_rows() const noexcept { return br_; }
  /// Width of a block.
  Index block_cols() const noexcept { return bc_; }
  /// The block shape.
  BlockShape block_shape() const noexcept { return {br_, bc_}; }
  /// Number of block-rows, ceil(R / block_rows()).
  Index grid_rows() const noexcept { return grid_rows_; }
  /// Number of block-columns, ceil(C / block_cols()).
  Index grid_cols() const noexcept { return grid_cols_; }
  /// Number of stored blocks.
  Index nnz_blocks() const noexcept { return Index(col_idx_.size()); }
  /// Fraction of the grid's blocks that are stored (0 for an empty grid).
  double density() const noexcept;
  /// Bytes of the values and indices held (the object's own size not included).
  std::size_t memory_bytes() const noexcept;
  /// Stored height of a block: block_rows() rounded up to 16 bytes of T.
  Index padded_block_rows() const noexcept { return brp_; }

  /// The block mask, grid_rows() x grid_cols(), true where a block is stored.
  Mask block_mask() const;
  /// W as a dense matrix (absent blocks are zeros).
  RowMatrix<T> to_dense() const;

  /// Offsets of the block-rows into the blocks: blocks of block-row I are
  /// row_offsets()[I] .. row_offsets()[I + 1] - 1 (grid_rows() + 1 entries).
  const std::vector<Index>& row_offsets() const noexcept { return row_ptr_; }
  /// Block column of each stored block (increasing within a block-row).
  const std::vector<Index>& block_columns() const noexcept { return col_idx_; }
  /// Stored block k (0 <= k < nnz_blocks()) as a block_rows() x block_cols() matrix (edge
  /// blocks include their zero padding).
  ConstBlockMap block(Index k) const;

  // ---- products ----

  /// Y = X·Wᵀ (W applied to every row of X). X is batch x cols(), Y batch x rows(); a batch of
  /// 0 rows gives an empty result. Complexity: 2 · batch · nnz_blocks · block area flops.
  /// @throws std::invalid_argument if X.cols() != cols().
  template <class D>
  RowMatrix<T> multiply(const Eigen::MatrixBase<D>& X, const BlockSparseProductOptions& options = {}) const;

  /// Y = X·Wᵀ into `Y` (batch x rows(), row-major; not resized, no allocation unless X must be
  /// copied to row-major). @throws std::invalid_argument if X.cols() != cols(), Y is not
  /// X.rows() x rows(), or Y overlaps X.
  void multiply(const Eigen::Ref<const RowMatrix<T>>& X, Eigen::Ref<RowMatrix<T>> Y,
                const BlockSparseProductOptions& options = {}) const;

  /// Y = X·W (Wᵀ applied to every row of X). X is batch x rows(), Y batch x cols().
  /// Each call transposes the blocks it uses into a stack buffer (block-column by
  /// block-column), which costs about one pass over the stored values.
  /// @throws std::invalid_argument if X.cols() != rows().
  template <class D>
  RowMatrix<T> multiply_transposed(const Eigen::MatrixBase<D>& X,
                                   const BlockSparseProductOptions& options = {}) const;

  /// Y = X·W into `Y` (batch x cols()). @throws std::invalid_argument if X.cols() != rows(),
  /// Y is not X.rows() x cols(), or Y overlaps X.
  void multiply_transposed(const Eigen::Ref<const RowMatrix<T>>& X, Eigen::Ref<RowMatrix<T>> Y,
                           const BlockSparseProductOptions& options = {}) const;

  /// y = W·x for one vector x of size cols() (a row or a column vector); returns a column
  /// vector of size rows(). @throws std::invalid_argument if x is not a vector of size cols().
  template <class D>
  Vector<T> multiply_vector(const Eigen::MatrixBase<D>& x,
                            const BlockSparseProductOptions& options = {}) const;

  /// y = W·x into `y` (size rows()). @throws std::invalid_argument if x.size() != cols(),
  /// y.size() != rows(), or y overlaps x.
  void multiply_vector(const Eigen::Ref<const Vector<T>>& x, Eigen::Ref<Vector<T>> y,
                       const BlockSparseProductOptions& options = {}) const;

  /// The kernels' view of the storage (internal).
  detail::bsr::View<T> view() const noexcept;

 private:
  template <class D, class Keep>
  void build(const Eigen::MatrixBase<D>& dense, BlockShape block, Keep&& keep, const char* fn);

  Index rows_ = 0, cols_ = 0;
  Index br_ = 1, bc_ = 1, brp_ = 1;
  Index grid_rows_ = 0, grid_cols_ = 0;
  std::vector<Index> row_ptr_{0};  // grid_rows + 1
  std::vector<Index> col_idx_;     // nnz
  std::vector<Index> col_ptr_{0};  // grid_cols + 1
  std::vector<Index> col_row_;     // nnz, block-column order
  std::vector<Index> col_block_;   // nnz, block-column order
  std::vector<T> values_;          // nnz * bc * brp
};

namespace detail {
template <class T>
struct non_deduced {
  using type = T;
};
template <class T>
using non_deduced_t = typename non_deduced<T>::type;
}  // namespace detail

/// Y = X·Wᵀ (free-function form of BlockSparseMatrix::multiply).
template <class T, class D>
RowMatrix<T> multiply(const BlockSparseMatrix<T>& w, const Eigen::MatrixBase<D>& X,
                      const BlockSparseProductOptions& options = {}) {
  return w.multiply(X, options);
}

/// Y = X·Wᵀ into Y (free-function form of BlockSparseMatrix::multiply).
template <class T>
void multiply(const BlockSparseMatrix<T>& w, const Eigen::Ref<const RowMatrix<detail::non_deduced_t<T>>>& X,
              Eigen::Ref<RowMatrix<detail::non_deduced_t<T>>> Y,
              const BlockSparseProductOptions& options = {}) {
  w.multiply(X, Y, options);
}

/// Y = X·W (free-function form of BlockSparseMatrix::multiply_transposed).
template <class T, class D>
RowMatrix<T> multiply_transposed(const BlockSparseMatrix<T>& w, const Eigen::MatrixBase<D>& X,
                                 const BlockSparseProductOptions& options = {}) {
  return w.multiply_transposed(X, options);
}

/// Y = X·W into Y (free-function form of BlockSparseMatrix::multiply_transposed).
template <class T>
void multiply_transposed(const BlockSparseMatrix<T>& w,
                         const Eigen::Ref<const RowMatrix<detail::non_deduced_t<T>>>& X,
                         Eigen::Ref<RowMatrix<detail::non_deduced_t<T>>> Y,
                         const BlockSparseProductOptions& options = {}) {
  w.multiply_transposed(X, Y, options);
}

ATTNSEL_NAMESPACE_END

#include "bsr_impl.hpp"
