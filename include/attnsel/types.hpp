// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file types.hpp
/// Eigen aliases used across the library: rows are examples or tokens, so matrices are row-major.

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

ATTNSEL_NAMESPACE_END
