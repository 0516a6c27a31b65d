// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file simd/dispatch.hpp
/// Pointer + size entry points that run each kernel on `arch_for<T>` (the best instruction set
/// of this TU, or the scalar fallback) — or, in the compiled library's own sources built with
/// runtime dispatch (ATTNSEL_DISPATCH, config.hpp), on the kernel table chosen at run time
/// (kernel_table.hpp). Unchecked: the preconditions of kernels.hpp apply. The Eigen-level
/// functions in ops.hpp check their arguments and call these.

#include <algorithm>
#include <cstddef>

#include "arch.hpp"
#include "kernels.hpp"

ATTNSEL_NAMESPACE_BEGIN
namespace simd {
ATTNSEL_SIMD_NAMESPACE_BEGIN

/// sum_i x[i] * y[i].
template <class T>
T dot(const T* x, const T* y, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    return runtime::kernel_table<T>().dot(x, y, n);
  } else {
    return kernels::dot{}(arch_for<T>{}, x, y, n);
  }
}

/// Rounds x to float into `out`; returns Σx², max|x| and Σx·y (y may be nullptr).
template <class T>
NarrowStats<T> narrow_stats(const T* x, const T* y, float* out, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    return runtime::kernel_table<T>().narrow_stats(x, y, out, n);
  } else {
    return kernels::narrow_stats{}(arch_for<T>{}, x, y, out, n);
  }
}

/// sum_i x[i] (0 when n == 0).
template <class T>
T sum(const T* x, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    return runtime::kernel_table<T>().sum(x, n);
  } else {
    return kernels::sum{}(arch_for<T>{}, x, n);
  }
}

/// max_i x[i] (-inf when n == 0).
template <class T>
T max(const T* x, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    return runtime::kernel_table<T>().max(x, n);
  } else {
    return kernels::max{}(arch_for<T>{}, x, n);
  }
}

/// y += a * x.
template <class T>
void axpy(T a, const T* x, T* y, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    runtime::kernel_table<T>().axpy(a, x, y, n);
  } else {
    kernels::axpy{}(arch_for<T>{}, a, x, y, n);
  }
}

/// out = a * x (out == x allowed).
template <class T>
void scale(T a, const T* x, T* out, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    runtime::kernel_table<T>().scale(a, x, out, n);
  } else {
    kernels::scale{}(arch_for<T>{}, a, x, out, n);
  }
}

/// out = x ⊙ y + z (z == nullptr: x ⊙ y); out may be x, y or z. See kernels::mul_add.
template <class T>
void mul_add(const T* x, const T* y, const T* z, T* out, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    runtime::kernel_table<T>().mul_add(x, y, z, out, n);
  } else {
    kernels::mul_add{}(arch_for<T>{}, x, y, z, out, n);
  }
}

/// out = x − y (out may be x or y).
template <class T>
void sub(const T* x, const T* y, T* out, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    runtime::kernel_table<T>().sub(x, y, out, n);
  } else {
    kernels::sub{}(arch_for<T>{}, x, y, out, n);
  }
}

/// out = max(x, 0) (out == x allowed).
template <class T>
void relu(const T* x, T* out, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    runtime::kernel_table<T>().relu(x, out, n);
  } else {
    kernels::relu{}(arch_for<T>{}, x, out, n);
  }
}

/// dx = dy where y > 0, else 0 (ReLU's backward pass; dx == dy allowed).
template <class T>
void relu_backward(const T* y, const T* dy, T* dx, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    runtime::kernel_table<T>().relu_backward(y, dy, dx, n);
  } else {
    kernels::relu_backward{}(arch_for<T>{}, y, dy, dx, n);
  }
}

/// One Adam update of n parameters in place (scalar.hpp's adam).
template <class T>
void adam(const AdamStep<T>& s, T* w, T* g, T* m, T* v, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    runtime::kernel_table<T>().adam(s, w, g, m, v, n);
  } else {
    kernels::adam{}(arch_for<T>{}, s, w, g, m, v, n);
  }
}

/// Softmax over the candidates (mask[i] != 0; mask == nullptr: all); see kernels::softmax.
template <class T>
SoftmaxStats<T> masked_softmax(const T* x, const T* mask, T* out, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    return runtime::kernel_table<T>().softmax(x, mask, out, n);
  } else {
    return kernels::softmax{}(arch_for<T>{}, x, mask, out, n);
  }
}

/// Softmax over all n entries.
template <class T>
SoftmaxStats<T> softmax(const T* x, T* out, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    return runtime::kernel_table<T>().softmax(x, nullptr, out, n);
  } else {
    return kernels::softmax{}(arch_for<T>{}, x, static_cast<const T*>(nullptr), out, n);
  }
}

/// log-sum-exp over the candidates (-inf when there is none).
template <class T>
T masked_log_sum_exp(const T* x, const T* mask, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    return runtime::kernel_table<T>().log_sum_exp(x, mask, n);
  } else {
    return kernels::log_sum_exp{}(arch_for<T>{}, x, mask, n);
  }
}

/// log-sum-exp over all n entries.
template <class T>
T log_sum_exp(const T* x, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    return runtime::kernel_table<T>().log_sum_exp(x, nullptr, n);
  } else {
    return kernels::log_sum_exp{}(arch_for<T>{}, x, static_cast<const T*>(nullptr), n);
  }
}

namespace detail {
/// block(r0, n) over blocks of rows [r0, r0 + n) that cover [0, rows): on OpenMP threads when the
/// program is built with OpenMP and the matrix is large enough, else one block of every row.
template <class Block>
void row_blocks(std::size_t rows, std::size_t cols, Block block) noexcept {
#if defined(_OPENMP)
  constexpr std::size_t size = 64;
  if (rows >= 2 * size && rows * cols >= (std::size_t(1) << 15)) {
    const auto blocks = static_cast<long long>((rows + size - 1) / size);
#pragma omp parallel for schedule(static)
    for (long long b = 0; b < blocks; ++b) {
      const std::size_t r0 = std::size_t(b) * size;
      block(r0, std::min(size, rows - r0));
    }
    return;
  }
#else
  (void)cols;
#endif
  block(std::size_t(0), rows);
}

/// The row kernel over row_blocks; `len(r)` gets global row numbers.
template <class T, class RowLength>
void softmax_row_blocks(const T* in, std::size_t in_stride, T* out, std::size_t out_stride, std::size_t rows,
                        std::size_t cols, RowLength len) noexcept {
  row_blocks(rows, cols, [&](std::size_t r0, std::size_t n) {
    kernels::softmax_rows{}(arch_for<T>{}, in + r0 * in_stride, in_stride, out + r0 * out_stride, out_stride, n, cols,
                            [&len, r0](std::size_t r) { return len(r0 + r); });
  });
}
}  // namespace detail

/// Row-wise softmax; row r covers its first min(lengths[r], cols) entries (lengths == nullptr:
/// every row covers all cols), zeros after. Rows are split across OpenMP threads when the
/// program is built with OpenMP.
template <class T>
void softmax_rows(const T* in, std::size_t in_stride, T* out, std::size_t out_stride,
                  std::size_t rows, std::size_t cols, const std::size_t* lengths) noexcept {
  if constexpr (via_table_v<T>) {
    detail::row_blocks(rows, cols, [&](std::size_t r0, std::size_t n) {
      runtime::kernel_table<T>().softmax_rows(in + r0 * in_stride, in_stride, out + r0 * out_stride, out_stride, n,
                                              cols, lengths ? lengths + r0 : nullptr);
    });
  } else if (lengths) {
    detail::softmax_row_blocks(in, in_stride, out, out_stride, rows, cols,
                               [lengths](std::size_t r) { return lengths[r]; });
  } else {
    detail::softmax_row_blocks(in, in_stride, out, out_stride, rows, cols, [cols](std::size_t) { return cols; });
  }
}

/// Causal row-wise softmax: row r covers its first r + 1 + offset entries (the keys a query at
/// position r + offset may see), zeros after.
template <class T>
void causal_softmax_rows(const T* in, std::size_t in_stride, T* out, std::size_t out_stride,
                         std::size_t rows, std::size_t cols, std::size_t offset) noexcept {
  if constexpr (via_table_v<T>) {
    detail::row_blocks(rows, cols, [&](std::size_t r0, std::size_t n) {
      runtime::kernel_table<T>().causal_softmax_rows(in + r0 * in_stride, in_stride, out + r0 * out_stride, out_stride,
                                                     n, cols, r0 + offset);
    });
  } else {
    detail::softmax_row_blocks(in, in_stride, out, out_stride, rows, cols,
                               [offset](std::size_t r) { return r + 1 + offset; });
  }
}

/// Index of the largest candidate, lowest index on ties; npos when there is none.
template <class T>
std::size_t masked_argmax(const T* x, const T* mask, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    return runtime::kernel_table<T>().argmax(x, mask, n);
  } else {
    return kernels::argmax{}(arch_for<T>{}, x, mask, n);
  }
}

/// The min(k, #candidates) largest candidates into `out`, decreasing, ties by lowest index;
/// returns how many were written. Allocates O(#candidates) indices.
template <class T>
std::size_t masked_top_k(const T* x, const T* mask, std::size_t n, std::size_t k,
                         std::size_t* out) {
  return scalar::top_k(x, mask, n, k, out);
}

/// out[i] = x[0] + ... + x[i] (out == x allowed).
template <class T>
void inclusive_scan(const T* x, T* out, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    runtime::kernel_table<T>().scan(x, out, n, false);
  } else {
    kernels::scan{}(arch_for<T>{}, x, out, n, false);
  }
}

/// out[0] = 0, out[i] = x[0] + ... + x[i-1] (out == x allowed).
template <class T>
void exclusive_scan(const T* x, T* out, std::size_t n) noexcept {
  if constexpr (via_table_v<T>) {
    runtime::kernel_table<T>().scan(x, out, n, true);
  } else {
    kernels::scan{}(arch_for<T>{}, x, out, n, true);
  }
}

/// Cumulative sums down the rows of a row-major matrix, per column (see kernels::scan_rows).
template <class T>
void scan_rows(const T* in, std::size_t in_stride, T* out, std::size_t out_stride,
               std::size_t rows, std::size_t cols, bool exclusive) noexcept {
  if constexpr (via_table_v<T>) {
    runtime::kernel_table<T>().scan_rows(in, in_stride, out, out_stride, rows, cols, exclusive);
  } else {
    kernels::scan_rows{}(arch_for<T>{}, in, in_stride, out, out_stride, rows, cols, exclusive);
  }
}

ATTNSEL_SIMD_NAMESPACE_END
}  // namespace simd
ATTNSEL_NAMESPACE_END
