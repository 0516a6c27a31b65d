// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file heads.hpp
/// `HeadsView<T>`: H attention heads, each a rows × dim row-major block, seen without copying.
///
/// Two layouts are common and both are views of the same kind:
/// - **packed**: one N × (H·d) row-major matrix, head h in columns [h·d, (h+1)·d)
///   (`HeadsView<const float>::packed(QKV, heads)`);
/// - **per head**: H separate N × d row-major matrices (`HeadsView<const float>::per_head(vec)`).
/// Each head has its own base pointer and row stride, so a column block of a larger matrix or an
/// `Eigen::Map` with an outer stride works too. `T` is `const float` / `const double` for inputs
/// and `float` / `double` for outputs.

#include <Eigen/Core>

#include <type_traits>
#include <vector>

#include "../config.hpp"
#include "../error.hpp"
#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

template <class T>
class HeadsView {
 public:
  using value_type = std::remove_const_t<T>;
  using pointer = T*;

  HeadsView() = default;

  /// Heads at `base[h]`, each `rows` × `dim` with row stride `row_stride[h]` (in elements).
  HeadsView(std::vector<T*> base, Index rows, Index dim, std::vector<Index> row_stride)
      : base_(std::move(base)), stride_(std::move(row_stride)), rows_(rows), dim_(dim) {
    detail::require(base_.size() == stride_.size(), "HeadsView", "got ", base_.size(),
                    " base pointers but ", stride_.size(), " row strides");
    detail::require(rows_ >= 0 && dim_ >= 0, "HeadsView", "rows and dim must be >= 0 (got ", rows_,
                    " x ", dim_, ")");
  }

  /// Packed layout: an N × (heads·d) row-major matrix (or a row-major block of one), head h in
  /// columns [h·d, (h+1)·d). Throws std::invalid_argument when the columns do not split evenly.
  template <class Derived>
  static HeadsView packed(Derived&& m, Index heads) {
    using M = std::remove_reference_t<Derived>;
    static_assert(bool(M::IsRowMajor) || M::ColsAtCompileTime == 1,
                  "HeadsView::packed needs a row-major matrix (attnsel::RowMatrix or a row-major Map)");
    detail::require(heads >= 1, "HeadsView::packed", "heads must be >= 1 (got ", heads, ")");
    detail::require(m.cols() % heads == 0, "HeadsView::packed", "matrix with ", m.cols(),
                    " columns does not split into heads = ", heads, " equal heads");
    detail::require(m.innerStride() == 1 || m.cols() <= 1, "HeadsView::packed",
                    "rows must be contiguous (inner stride 1, got ", m.innerStride(), ")");
    const Index d = m.cols() / heads;
    std::vector<T*> base(static_cast<std::size_t>(heads));
    std::vector<Index> stride(static_cast<std::size_t>(heads), m.outerStride());
    for (Index h = 0; h < heads; ++h) base[static_cast<std::size_t>(h)] = m.data() + h * d;
    return HeadsView(std::move(base), m.rows(), d, std::move(stride));
  }

  /// Per-head layout: a vector of row-major matrices of equal shape (each may have its own
  /// outer stride, e.g. `Eigen::Map<RowMatrix<T>, 0, Eigen::OuterStride<>>`).
  template <class Mat>
  static HeadsView per_head(std::vector<Mat>& heads) {
    return per_head_impl(heads);
  }
  template <class Mat>
  static HeadsView per_head(const std::vector<Mat>& heads) {
    return per_head_impl(heads);
  }

  Index heads() const noexcept { return static_cast<Index>(base_.size()); }
  Index rows() const noexcept { return rows_; }
  Index dim() const noexcept { return dim_; }
  T* head(Index h) const noexcept { return base_[static_cast<std::size_t>(h)]; }
  Index stride(Index h) const noexcept { return stride_[static_cast<std::size_t>(h)]; }
  T* row(Index h, Index i) const noexcept { return head(h) + i * stride(h); }

  /// Head h as an Eigen map (rows × dim, row-major, with its stride).
  Eigen::Map<std::conditional_t<std::is_const_v<T>, const RowMatrix<value_type>, RowMatrix<value_type>>,
             0, Eigen::OuterStride<>>
  matrix(Index h) const {
    return {head(h), rows_, dim_, Eigen::OuterStride<>(stride(h))};
  }

 private:
  template <class Vec>
  static HeadsView per_head_impl(Vec& heads) {
    detail::require(!heads.empty(), "HeadsView::per_head", "needs at least one head (got 0)");
    std::vector<T*> base;
    std::vector<Index> stride;
    const Index rows = heads.front().rows();
    const Index dim = heads.front().cols();
    for (std::size_t h = 0; h < heads.size(); ++h) {
      auto& m = heads[h];
      using M = std::remove_reference_t<decltype(m)>;
      static_assert(bool(M::IsRowMajor) || M::ColsAtCompileTime == 1,
                    "HeadsView::per_head needs row-major matrices (attnsel::RowMatrix)");
      detail::require(m.rows() == rows && m.cols() == dim, "HeadsView::per_head", "head ", h,
                      " is ", m.rows(), " x ", m.cols(), " but head 0 is ", rows, " x ", dim);
      base.push_back(m.data());
      stride.push_back(m.outerStride());
    }
    return HeadsView(std::move(base), rows, dim, std::move(stride));
  }

  std::vector<T*> base_;
  std::vector<Index> stride_;
  Index rows_ = 0;
  Index dim_ = 0;
};

ATTNSEL_NAMESPACE_END
