// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file simd/simd.hpp
/// The kernel floor: xsimd kernels on pointers + sizes (kernels.hpp), their dispatching entry
/// points (dispatch.hpp, namespace attnsel::simd) and the checked Eigen-level API (ops.hpp,
/// namespace attnsel).

#include "arch.hpp"
#include "compat.hpp"
#include "dispatch.hpp"
#include "gemm.hpp"
#include "kernels.hpp"
#include "ops.hpp"
#include "scalar.hpp"
