// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file types.hpp
/// Eigen aliases used across the library: rows are examples or tokens, so matrices are row-major.

#include <cmath>

#include <Eigen/Core>

#include "config.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// Row-major dynamic matrix (rows = examples / tokens).
template <class T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Dynamic column vector.
template <class T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

/// Index type used for sizes and positions (Eigen's signed index).
using Index = Eigen::Index;

namespace detail {

/// True when no coefficient of `x` is NaN or ±inf. Eigen's `allFinite()` visits coefficients
/// column by column whatever the storage order, which on a large row-major matrix strides through
/// memory (0.42 s for 60,000 × 784 floats, against 0.02 s here): this sums `x * 0` (0 for a finite
/// coefficient, NaN otherwise) with Eigen's vectorised reduction in storage order.
template <class D>
bool all_finite(const Eigen::DenseBase<D>& x) {
  using S = typename D::Scalar;
  if (x.size() == 0) return true;
  return !std::isnan((x.derived().array() * S(0)).sum());
}

}  // namespace detail

ATTNSEL_NAMESPACE_END

// Compiled mode (config.hpp): a TU may share Eigen matrices with the compiled library only when
// both have Eigen's alignment class (EIGEN_MAX_ALIGN_BYTES: 16 up to SSE4.2, 32 with AVX, 64 with
// AVX-512), as code built for a larger class assumes its matrices are aligned that far. The library
// defines one marker per class (src/alignment.cpp) and every user TU refers to its own, so a
// mismatch fails at link time, naming the class the TU was built for, instead of crashing later.
#define ATTNSEL_DETAIL_ALIGNMENT_MARKER                                                            \
  ATTNSEL_DETAIL_CAT(ATTNSEL_DETAIL_CAT(compiled_library_built_for_eigen_max_align_bytes_, EIGEN_MAX_ALIGN_BYTES), \
                     ATTNSEL_DETAIL_CAT(_static_, EIGEN_MAX_STATIC_ALIGN_BYTES))
#if ATTNSEL_COMPILED && (defined(__GNUC__) || defined(__clang__))
ATTNSEL_NAMESPACE_BEGIN
namespace detail {
extern const int ATTNSEL_DETAIL_ALIGNMENT_MARKER;
// Kept by `used` in every TU (an address, so no code runs): the linker must find the marker.
[[gnu::used]] static const int* const compiled_library_alignment_check = &ATTNSEL_DETAIL_ALIGNMENT_MARKER;
}  // namespace detail
ATTNSEL_NAMESPACE_END
#endif
