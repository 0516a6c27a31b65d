// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file sparse/bsr_impl.hpp
/// Out-of-class definitions of BlockSparseMatrix (sparse/bsr.hpp) and the drivers that split
/// a product into tiles of output for the kernels of sparse/bsr_kernels.hpp.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "../error.hpp"
#include "../parallel.hpp"
#include "../simd/arch.hpp"
#include "bsr.hpp"
#include "bsr_kernels.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

ATTNSEL_NAMESPACE_BEGIN
namespace detail {
namespace bsr {

static_assert(std::is_same_v<Index, ::attnsel::Index>,
              "attnsel's block-sparse kernels need Eigen's default index type (std::ptrdiff_t): do not define "
              "EIGEN_DEFAULT_DENSE_INDEX_TYPE");

/// Number of threads a product of `flops` operations may use.
inline int product_threads(const BlockSparseProductOptions& options, double flops) noexcept {
#if defined(_OPENMP)
  if (options.parallel && flops >= options.min_parallel_flops && !omp_in_parallel())
    return std::max(1, omp_get_max_threads());
#else
  (void)options;
  (void)flops;
#endif
  return 1;
}

/// Runs task(t) for t in [0, n), on `threads` OpenMP threads when threads > 1. Each task writes
/// its own outputs, so the schedule does not change any result.
template <class Task>
void run_tasks(Index n, int threads, Task&& task) {
#if defined(_OPENMP)
  if (threads > 1 && n > 1) {
    const long long count = static_cast<long long>(n);
    ParallelErrors errors;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long long t = 0; t < count; ++t) errors.run([&] { task(Index(t)); });
    errors.rethrow();
    return;
  }
#else
  (void)threads;
#endif
  for (Index t = 0; t < n; ++t) task(t);
}

/// Number of block-rows (or block-columns) per task: groups holding about `target` bytes of
/// values, and, with threads, enough groups for 4 tasks per thread next to `chunks` row chunks.
/// The grouping never changes a result, only which thread computes it.
inline Index group_size(Index lines, double bytes, Index chunks, int threads, double target) noexcept {
  if (lines <= 0) return 1;
  const double per = bytes / double(lines);
  Index g = per > 0 ? Index(std::max(1.0, std::floor(target / per))) : lines;
  if (threads > 1) {
    const Index want_groups = (4 * Index(threads) + chunks - 1) / chunks;
    g = std::min(g, std::max<Index>(1, lines / want_groups));
  }
  return std::max<Index>(1, std::min(g, lines));
}

/// Y = X·Wᵀ for all `batch` rows. A task is one register panel of 8 rows of X against a group
/// of block-rows (~256 KB of W); tasks run panel-major, so a panel of X stays in L1/L2 while W
/// streams through (sequential, prefetcher-friendly), which measured faster than keeping a
/// W group resident and streaming X, as long as W fits in the last-level cache (else W groups
/// stay resident and 64-row chunks of X stream). Panel boundaries are fixed multiples of 8, so the
/// register tile a row falls in never depends on the thread count.
template <class T>
void run_forward(const View<T>& w, const T* x, Index ldx, T* y, Index ldy, Index batch,
                 const BlockSparseProductOptions& options) {
  if (batch <= 0 || w.grid_rows == 0) return;
  const Index nnz = w.row_ptr[w.grid_rows];
  const double flops = 2.0 * double(batch) * double(nnz) * double(w.br * w.bc);
  const int threads = product_threads(options, flops);
  const double bytes = double(nnz) * double(w.block_size()) * double(sizeof(T));
  // W larger than a last-level cache (~24 MB assumed) would stream from memory once per panel:
  // then keep groups of W resident instead (group-major tasks, 64-row chunks).
  const bool w_resident = bytes > 24.0 * 1024 * 1024;
  const Index chunk_rows = w_resident ? 64 : 8;
  const Index chunks = (batch + chunk_rows - 1) / chunk_rows;
  const Index g = group_size(w.grid_rows, bytes, chunks, threads, w_resident ? 192.0 * 1024 : 256.0 * 1024);
  const Index groups = (w.grid_rows + g - 1) / g;
  run_tasks(groups * chunks, threads, [&](Index t) {
    const Index ci = w_resident ? t % chunks : t / groups;
    const Index gi = w_resident ? t / chunks : t % groups;
    const Index b0 = ci * chunk_rows, b1 = std::min(batch, b0 + chunk_rows);
    const Index i0 = gi * g, i1 = std::min(w.grid_rows, i0 + g);
    run_forward_kernel(w, x, ldx, y, ldy, b0, b1, i0, i1);
  });
}

/// Y = X·W for all `batch` rows. Tasks are (group of block-columns) x (chunk of 256 rows);
/// each task transposes the blocks of its block-columns once per chunk.
template <class T>
void run_transposed(const View<T>& w, const T* x, Index ldx, T* y, Index ldy, Index batch,
                    const BlockSparseProductOptions& options) {
  if (batch <= 0 || w.grid_cols == 0) return;
  const Index nnz = w.row_ptr[w.grid_rows];
  const double flops = 2.0 * double(batch) * double(nnz) * double(w.br * w.bc);
  const int threads = product_threads(options, flops);
  constexpr Index chunk_rows = 256;
  const Index chunks = (batch + chunk_rows - 1) / chunk_rows;
  const double bytes = double(nnz) * double(w.block_size()) * double(sizeof(T));
  const Index g = group_size(w.grid_cols, bytes, chunks, threads, 192.0 * 1024);
  const Index groups = (w.grid_cols + g - 1) / g;
  run_tasks(groups * chunks, threads, [&](Index t) {
    const Index gi = t / chunks, ci = t % chunks;
    const Index b0 = ci * chunk_rows, b1 = std::min(batch, b0 + chunk_rows);
    const Index j0 = gi * g, j1 = std::min(w.grid_cols, j0 + g);
    run_transposed_kernel(w, x, ldx, y, ldy, b0, b1, j0, j1);
  });
}

/// Validates a block side; `what` is "block.rows" or "block.cols".
inline void check_block_side(Index side, Index extent, const char* fn, const char* what,
                             const char* extent_name) {
  require(side >= 1 && side <= max_block, fn, "argument '", what, "' must be in [1, ", max_block,
          "], got ", side);
  require(side <= extent, fn, "argument '", what, "' is ", side, ", larger than the matrix's ",
          extent, " ", extent_name, " (a block must fit in the matrix)");
}

/// The block side for the mask-only constructor: extent / count when that divides evenly, else
/// the one side h with ceil(extent / h) == count.
inline Index infer_block_side(Index extent, Index count, const char* fn, const char* what,
                              const char* mask_dim) {
  require(extent >= 1, fn, "argument 'dense' has ", extent, " ", what, ", expected at least 1");
  require(count >= 1 && count <= extent, fn, "argument 'block_mask' has ", count, " ", mask_dim,
          ", which no block side fits for a matrix with ", extent, " ", what);
  const Index lo = (extent + count - 1) / count;  // smallest h with ceil(extent / h) <= count
  const Index hi = count == 1 ? extent : (extent + count - 2) / (count - 1) - 1;
  require((extent + lo - 1) / lo == count, fn, "argument 'block_mask' has ", count, " ", mask_dim,
          ", which no block side fits for a matrix with ", extent, " ", what);
  if (extent % count == 0) return extent / count;  // no partial edge block: the natural choice
  require(lo == hi, fn, "argument 'block_mask' has ", count, " ", mask_dim, " for ", extent, " ",
          what, ": block sides ", lo, " to ", hi, " all fit; pass the BlockShape explicitly");
  return lo;
}

inline bool overlaps(const void* a_begin, const void* a_end, const void* b_begin,
                     const void* b_end) noexcept {
  const auto a0 = reinterpret_cast<std::uintptr_t>(a_begin);
  const auto a1 = reinterpret_cast<std::uintptr_t>(a_end);
  const auto b0 = reinterpret_cast<std::uintptr_t>(b_begin);
  const auto b1 = reinterpret_cast<std::uintptr_t>(b_end);
  return a0 < b1 && b0 < a1;
}

/// Address range [first, one past last) a row-major matrix view spans (empty for no entries).
template <class M>
std::pair<const void*, const void*> span_of(const M& m) noexcept {
  if (m.rows() == 0 || m.cols() == 0) return {nullptr, nullptr};
  const auto* p = m.data();
  return {p, p + (m.rows() - 1) * m.outerStride() + m.cols()};
}

}  // namespace bsr
}  // namespace detail

// ---- construction ------------------------------------------------------------------------

template <class T>
template <class D, class Keep>
void BlockSparseMatrix<T>::build(const Eigen::MatrixBase<D>& dense, BlockShape block, Keep&& keep,
                                 const char*) {
  rows_ = dense.rows();
  cols_ = dense.cols();
  br_ = block.rows;
  bc_ = block.cols;
  brp_ = detail::bsr::round_up(br_, detail::bsr::pad_lanes<T>());
  grid_rows_ = (rows_ + br_ - 1) / br_;
  grid_cols_ = (cols_ + bc_ - 1) / bc_;
  row_ptr_.assign(std::size_t(grid_rows_ + 1), 0);
  col_idx_.clear();
  values_.clear();
  const Index bs = bc_ * brp_;
  for (Index I = 0; I < grid_rows_; ++I) {
    const Index r0 = I * br_, rv = std::min(br_, rows_ - r0);
    for (Index J = 0; J < grid_cols_; ++J) {
      const Index c0 = J * bc_, cv = std::min(bc_, cols_ - c0);
      if (!keep(I, J, r0, rv, c0, cv)) continue;
      col_idx_.push_back(J);
      const std::size_t base = values_.size();
      values_.resize(base + std::size_t(bs), T(0));
      T* blk = values_.data() + base;
      for (Index c = 0; c < cv; ++c)
        for (Index r = 0; r < rv; ++r) blk[c * brp_ + r] = static_cast<T>(dense(r0 + r, c0 + c));
    }
    row_ptr_[std::size_t(I + 1)] = Index(col_idx_.size());
  }
  // Block-column order (a counting sort keeps block-rows increasing within a column).
  const Index nnz = Index(col_idx_.size());
  col_ptr_.assign(std::size_t(grid_cols_ + 1), 0);
  for (Index k = 0; k < nnz; ++k) ++col_ptr_[std::size_t(col_idx_[k] + 1)];
  for (Index J = 0; J < grid_cols_; ++J) col_ptr_[J + 1] += col_ptr_[J];
  col_row_.assign(std::size_t(nnz), 0);
  col_block_.assign(std::size_t(nnz), 0);
  std::vector<Index> next(col_ptr_.begin(), col_ptr_.end() - 1);
  for (Index I = 0; I < grid_rows_; ++I) {
    for (Index k = row_ptr_[I]; k < row_ptr_[I + 1]; ++k) {
      const Index q = next[std::size_t(col_idx_[k])]++;
      col_row_[q] = I;
      col_block_[q] = k;
    }
  }
}

template <class T>
template <class D, class DM>
BlockSparseMatrix<T>::BlockSparseMatrix(const Eigen::MatrixBase<D>& dense,
                                        const Eigen::MatrixBase<DM>& block_mask, BlockShape block) {
  constexpr const char* fn = "attnsel::BlockSparseMatrix";
  detail::bsr::check_block_side(block.rows, dense.rows(), fn, "block.rows", "rows");
  detail::bsr::check_block_side(block.cols, dense.cols(), fn, "block.cols", "columns");
  const Index gr = (dense.rows() + block.rows - 1) / block.rows;
  const Index gc = (dense.cols() + block.cols - 1) / block.cols;
  detail::require(block_mask.rows() == gr && block_mask.cols() == gc, fn, "argument 'block_mask' is ",
                  block_mask.rows(), "x", block_mask.cols(), ", expected ", gr, "x", gc, " (ceil(",
                  dense.rows(), "/", block.rows, ") x ceil(", dense.cols(), "/", block.cols, "))");
  using MS = typename DM::Scalar;
  build(dense, block,
        [&](Index I, Index J, Index, Index, Index, Index) { return block_mask(I, J) != MS(0); }, fn);
}

template <class T>
template <class D, class DM>
BlockSparseMatrix<T>::BlockSparseMatrix(const Eigen::MatrixBase<D>& dense,
                                        const Eigen::MatrixBase<DM>& block_mask)
    : BlockSparseMatrix(dense, block_mask,
                        BlockShape{detail::bsr::infer_block_side(dense.rows(), block_mask.rows(),
                                                                 "attnsel::BlockSparseMatrix", "rows",
                                                                 "rows"),
                                   detail::bsr::infer_block_side(dense.cols(), block_mask.cols(),
                                                                 "attnsel::BlockSparseMatrix",
                                                                 "columns", "columns")}) {}

template <class T>
template <class D>
BlockSparseMatrix<T>::BlockSparseMatrix(const Eigen::MatrixBase<D>& dense, BlockShape block) {
  constexpr const char* fn = "attnsel::BlockSparseMatrix";
  detail::bsr::check_block_side(block.rows, dense.rows(), fn, "block.rows", "rows");
  detail::bsr::check_block_side(block.cols, dense.cols(), fn, "block.cols", "columns");
  using S = typename D::Scalar;
  build(dense, block,
        [&](Index, Index, Index r0, Index rv, Index c0, Index cv) {
          for (Index c = 0; c < cv; ++c)
            for (Index r = 0; r < rv; ++r)
              if (!(dense(r0 + r, c0 + c) == S(0))) return true;
          return false;
        },
        fn);
}

// ---- accessors -------------------------------------------------------------------------------

template <class T>
double BlockSparseMatrix<T>::density() const noexcept {
  const double cells = double(grid_rows_) * double(grid_cols_);
  return cells > 0 ? double(nnz_blocks()) / cells : 0.0;
}

template <class T>
std::size_t BlockSparseMatrix<T>::memory_bytes() const noexcept {
  const std::size_t indices = row_ptr_.size() + col_idx_.size() + col_ptr_.size() +
                              col_row_.size() + col_block_.size();
  return values_.size() * sizeof(T) + indices * sizeof(Index);
}

template <class T>
typename BlockSparseMatrix<T>::Mask BlockSparseMatrix<T>::block_mask() const {
  Mask m = Mask::Constant(grid_rows_, grid_cols_, false);
  for (Index I = 0; I < grid_rows_; ++I)
    for (Index k = row_ptr_[I]; k < row_ptr_[I + 1]; ++k) m(I, col_idx_[k]) = true;
  return m;
}

template <class T>
RowMatrix<T> BlockSparseMatrix<T>::to_dense() const {
  RowMatrix<T> out = RowMatrix<T>::Zero(rows_, cols_);
  const Index bs = bc_ * brp_;
  for (Index I = 0; I < grid_rows_; ++I) {
    const Index r0 = I * br_, rv = std::min(br_, rows_ - r0);
    for (Index k = row_ptr_[I]; k < row_ptr_[I + 1]; ++k) {
      const Index c0 = col_idx_[k] * bc_, cv = std::min(bc_, cols_ - c0);
      const T* blk = values_.data() + k * bs;
      for (Index r = 0; r < rv; ++r)
        for (Index c = 0; c < cv; ++c) out(r0 + r, c0 + c) = blk[c * brp_ + r];
    }
  }
  return out;
}

template <class T>
typename BlockSparseMatrix<T>::ConstBlockMap BlockSparseMatrix<T>::block(Index k) const {
  detail::require(k >= 0 && k < nnz_blocks(), "attnsel::BlockSparseMatrix::block", "argument 'k' is ",
                  k, ", expected 0 <= k < ", nnz_blocks(), " (nnz_blocks())");
  return ConstBlockMap(values_.data() + k * bc_ * brp_, br_, bc_, Eigen::OuterStride<>(brp_));
}

template <class T>
detail::bsr::View<T> BlockSparseMatrix<T>::view() const noexcept {
  detail::bsr::View<T> v;
  v.rows = rows_;
  v.cols = cols_;
  v.br = br_;
  v.bc = bc_;
  v.brp = brp_;
  v.grid_rows = grid_rows_;
  v.grid_cols = grid_cols_;
  v.row_ptr = row_ptr_.data();
  v.col_idx = col_idx_.data();
  v.col_ptr = col_ptr_.data();
  v.col_row = col_row_.data();
  v.col_block = col_block_.data();
  v.values = values_.data();
  return v;
}

// ---- products --------------------------------------------------------------------------------

template <class T>
void BlockSparseMatrix<T>::multiply(const Eigen::Ref<const RowMatrix<T>>& X, Eigen::Ref<RowMatrix<T>> Y,
                                    const BlockSparseProductOptions& options) const {
  constexpr const char* fn = "attnsel::BlockSparseMatrix::multiply";
  detail::require(X.cols() == cols_, fn, "argument 'X' has ", X.cols(), " columns, expected ", cols_,
                  " (the matrix's cols())");
  detail::require(Y.rows() == X.rows() && Y.cols() == rows_, fn, "argument 'Y' is ", Y.rows(), "x",
                  Y.cols(), ", expected ", X.rows(), "x", rows_, " (X.rows() x rows())");
  const auto xs = detail::bsr::span_of(X);
  const auto ys = detail::bsr::span_of(Y);
  detail::require(!detail::bsr::overlaps(xs.first, xs.second, ys.first, ys.second), fn,
                  "argument 'Y' overlaps 'X' in memory; pass a separate output");
  detail::bsr::run_forward(view(), X.data(), X.outerStride(), Y.data(), Y.outerStride(), X.rows(),
                           options);
}

template <class T>
template <class D>
RowMatrix<T> BlockSparseMatrix<T>::multiply(const Eigen::MatrixBase<D>& X,
                                            const BlockSparseProductOptions& options) const {
  static_assert(std::is_same_v<typename D::Scalar, T>,
                "attnsel::BlockSparseMatrix::multiply: X must have the matrix's scalar type (use .cast<T>())");
  const Eigen::Ref<const RowMatrix<T>> x(X.derived());
  detail::require(x.cols() == cols_, "attnsel::BlockSparseMatrix::multiply", "argument 'X' has ", x.cols(),
                  " columns, expected ", cols_, " (the matrix's cols())");
  RowMatrix<T> Y(x.rows(), rows_);
  multiply(x, Y, options);
  return Y;
}

template <class T>
void BlockSparseMatrix<T>::multiply_transposed(const Eigen::Ref<const RowMatrix<T>>& X,
                                               Eigen::Ref<RowMatrix<T>> Y,
                                               const BlockSparseProductOptions& options) const {
  constexpr const char* fn = "attnsel::BlockSparseMatrix::multiply_transposed";
  detail::require(X.cols() == rows_, fn, "argument 'X' has ", X.cols(), " columns, expected ", rows_,
                  " (the matrix's rows())");
  detail::require(Y.rows() == X.rows() && Y.cols() == cols_, fn, "argument 'Y' is ", Y.rows(), "x",
                  Y.cols(), ", expected ", X.rows(), "x", cols_, " (X.rows() x cols())");
  const auto xs = detail::bsr::span_of(X);
  const auto ys = detail::bsr::span_of(Y);
  detail::require(!detail::bsr::overlaps(xs.first, xs.second, ys.first, ys.second), fn,
                  "argument 'Y' overlaps 'X' in memory; pass a separate output");
  detail::bsr::run_transposed(view(), X.data(), X.outerStride(), Y.data(), Y.outerStride(), X.rows(),
                              options);
}

template <class T>
template <class D>
RowMatrix<T> BlockSparseMatrix<T>::multiply_transposed(const Eigen::MatrixBase<D>& X,
                                                       const BlockSparseProductOptions& options) const {
  static_assert(std::is_same_v<typename D::Scalar, T>,
                "attnsel::BlockSparseMatrix::multiply_transposed: X must have the matrix's scalar type (use .cast<T>())");
  const Eigen::Ref<const RowMatrix<T>> x(X.derived());
  detail::require(x.cols() == rows_, "attnsel::BlockSparseMatrix::multiply_transposed", "argument 'X' has ",
                  x.cols(), " columns, expected ", rows_, " (the matrix's rows())");
  RowMatrix<T> Y(x.rows(), cols_);
  multiply_transposed(x, Y, options);
  return Y;
}

template <class T>
void BlockSparseMatrix<T>::multiply_vector(const Eigen::Ref<const Vector<T>>& x, Eigen::Ref<Vector<T>> y,
                                           const BlockSparseProductOptions& options) const {
  constexpr const char* fn = "attnsel::BlockSparseMatrix::multiply_vector";
  detail::require(x.size() == cols_, fn, "argument 'x' has size ", x.size(), ", expected ", cols_,
                  " (the matrix's cols())");
  detail::require(y.size() == rows_, fn, "argument 'y' has size ", y.size(), ", expected ", rows_,
                  " (the matrix's rows())");
  detail::require(!detail::bsr::overlaps(x.data(), x.data() + x.size(), y.data(), y.data() + y.size()),
                  fn, "argument 'y' overlaps 'x' in memory; pass a separate output");
  detail::bsr::run_forward(view(), x.data(), cols_, y.data(), rows_, Index(1), options);
}

template <class T>
template <class D>
Vector<T> BlockSparseMatrix<T>::multiply_vector(const Eigen::MatrixBase<D>& x,
                                                const BlockSparseProductOptions& options) const {
  static_assert(std::is_same_v<typename D::Scalar, T>,
                "attnsel::BlockSparseMatrix::multiply_vector: x must have the matrix's scalar type (use .cast<T>())");
  constexpr const char* fn = "attnsel::BlockSparseMatrix::multiply_vector";
  detail::require(x.rows() == 1 || x.cols() == 1, fn, "argument 'x' must be a vector, got a ", x.rows(),
                  "x", x.cols(), " matrix");
  detail::require(x.size() == cols_, fn, "argument 'x' has size ", x.size(), ", expected ", cols_,
                  " (the matrix's cols())");
  const Vector<T> xv = x.cols() == 1 ? Vector<T>(x.col(0)) : Vector<T>(x.row(0).transpose());
  Vector<T> y(rows_);
  multiply_vector(xv, y, options);
  return y;
}

ATTNSEL_NAMESPACE_END
