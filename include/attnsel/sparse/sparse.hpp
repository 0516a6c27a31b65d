// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file sparse/sparse.hpp
/// Block-sparse inference: `BlockSparseMatrix<T>` (block-sparse row storage built from a dense
/// matrix and a block mask or a block shape) and its xsimd products Y = X·Wᵀ, Y = X·W, y = W·x.
/// Depends only on simd/ and the top-level headers.

#include "bsr.hpp"
#include "bsr_impl.hpp"
#include "bsr_kernels.hpp"

/// The instantiations of this folder in compiled mode (config.hpp: ATTNSEL_COMPILED).
#define ATTNSEL_DETAIL_SPARSE_TEMPLATES(X, T) \
  X((class BlockSparseMatrix<T>))
ATTNSEL_DETAIL_DECLARE_COMPILED(ATTNSEL_DETAIL_SPARSE_TEMPLATES)
