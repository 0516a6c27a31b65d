// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file simd/kernel_table.hpp
/// The compiled library's runtime instruction-set dispatch (issue #36): one table of kernel
/// function pointers per instruction set and scalar type, filled by a TU compiled for that
/// instruction set (src/kernels_*.cpp), and the choice among them at first use
/// (src/dispatch.cpp). ISA-neutral and Eigen-free: the table's types are the kernels' argument
/// types (scalar.hpp, gemm.hpp, sparse/bsr_kernels.hpp's View), which are one type for every
/// instruction set. It holds every per-ISA kernel attnsel has: simd/'s, the product kernel, the
/// Selective Attention tiles and the block-sparse products.
///
/// The choice: the best of avx512 (F, CD, DQ, BW and VL), avx2 (AVX2 and FMA) and sse2 that the
/// CPU and the operating system support (GCC's `__builtin_cpu_supports`), capped by the
/// environment variable `ATTNSEL_ISA` (sse2, avx2 or avx512; read once, at the first kernel call).
/// Only in the compiled library (`attnsel::compiled`) on x86-64; header-only code never uses it.

#include <cstddef>

#include "../config.hpp"

ATTNSEL_NAMESPACE_BEGIN
namespace detail {
namespace bsr {
template <class T>
struct View;
}  // namespace bsr
}  // namespace detail

namespace simd {

template <class T>
struct SoftmaxStats;
template <class T>
struct NarrowStats;
template <class T>
struct AdamStep;
template <class T>
struct GemmOperand;

// Not `detail`: a `namespace detail {` opened here would reopen the per-ISA namespace's detail
// (an inline namespace's members count as the enclosing namespace's), and the declarations would
// land in a different namespace in TUs that include simd/dispatch.hpp first.
namespace runtime {

/// The instruction sets the compiled library carries kernels for, narrowest first.
enum class Isa : int { sse2 = 0, avx2 = 1, avx512 = 2 };

/// Every per-ISA kernel of simd/ behind a pointer: the dispatchers of dispatch.hpp and gemm.hpp
/// call through it in the compiled library. `isa` names the instruction set the kernels were
/// built for (the per-ISA namespace's name: "sse2", "fma3_avx2", "avx512bw").
template <class T>
struct KernelTable {
  const char* isa;
  T (*dot)(const T* x, const T* y, std::size_t n) noexcept;
  NarrowStats<T> (*narrow_stats)(const T* x, const T* y, float* out, std::size_t n) noexcept;
  T (*sum)(const T* x, std::size_t n) noexcept;
  T (*max)(const T* x, std::size_t n) noexcept;
  void (*axpy)(T a, const T* x, T* y, std::size_t n) noexcept;
  void (*scale)(T a, const T* x, T* out, std::size_t n) noexcept;
  void (*mul_add)(const T* x, const T* y, const T* z, T* out, std::size_t n) noexcept;
  void (*sub)(const T* x, const T* y, T* out, std::size_t n) noexcept;
  void (*relu)(const T* x, T* out, std::size_t n) noexcept;
  void (*relu_backward)(const T* y, const T* dy, T* dx, std::size_t n) noexcept;
  void (*adam)(const AdamStep<T>& s, T* w, T* g, T* m, T* v, std::size_t n) noexcept;
  SoftmaxStats<T> (*softmax)(const T* x, const T* mask, T* out, std::size_t n) noexcept;
  T (*log_sum_exp)(const T* x, const T* mask, std::size_t n) noexcept;
  /// Rows [0, rows) of a row block; row r covers min(lengths[r], cols) entries (lengths null: all).
  void (*softmax_rows)(const T* in, std::size_t in_stride, T* out, std::size_t out_stride, std::size_t rows,
                       std::size_t cols, const std::size_t* lengths) noexcept;
  /// Row r of the block covers r + 1 + offset entries.
  void (*causal_softmax_rows)(const T* in, std::size_t in_stride, T* out, std::size_t out_stride, std::size_t rows,
                              std::size_t cols, std::size_t offset) noexcept;
  std::size_t (*argmax)(const T* x, const T* mask, std::size_t n) noexcept;
  void (*scan)(const T* x, T* out, std::size_t n, bool exclusive) noexcept;
  void (*scan_rows)(const T* in, std::size_t in_stride, T* out, std::size_t out_stride, std::size_t rows,
                    std::size_t cols, bool exclusive) noexcept;
  /// Scratch gemm needs for n columns of op(B) and depth k, in values of T.
  std::size_t (*gemm_work_size)(std::size_t n, std::size_t k) noexcept;
  void (*gemm)(std::size_t m, std::size_t n, std::size_t k, GemmOperand<T> a, GemmOperand<T> b, T* c,
               std::size_t ldc, T* work) noexcept;

  // Selective Attention's tile kernels (selective/tile_kernels.hpp; its add, max and scale are
  // axpy, max and scale above).
  /// C (m×n) = or += A·B, A(i, p) = A[i·ars + p·acs], B and C row-major.
  void (*tile_gemm)(std::ptrdiff_t m, std::ptrdiff_t n, std::ptrdiff_t k, const T* A, std::ptrdiff_t ars,
                    std::ptrdiff_t acs, const T* B, std::ptrdiff_t ldb, T* C, std::ptrdiff_t ldc,
                    bool accumulate) noexcept;
  void (*tile_sub)(T* x, const T* f, std::ptrdiff_t n) noexcept;
  void (*tile_relu_add)(T* run, const T* s, std::ptrdiff_t n) noexcept;
  T (*tile_exp_shift_sum)(T* x, T m, std::ptrdiff_t n) noexcept;
  void (*tile_softmax_grad)(const T* p, const T* dp, T c, T* out, std::ptrdiff_t n) noexcept;

  // The block-sparse products (sparse/bsr_kernels.hpp): rows [b0, b1) of the batch and
  // block-rows [i0, i1) (forward, Y = X·Wᵀ) or block-columns (transposed, Y = X·W).
  void (*bsr_forward)(const detail::bsr::View<T>& w, const T* x, std::ptrdiff_t ldx, T* y, std::ptrdiff_t ldy,
                      std::ptrdiff_t b0, std::ptrdiff_t b1, std::ptrdiff_t i0, std::ptrdiff_t i1) noexcept;
  void (*bsr_transposed)(const detail::bsr::View<T>& w, const T* x, std::ptrdiff_t ldx, T* y, std::ptrdiff_t ldy,
                         std::ptrdiff_t b0, std::ptrdiff_t b1, std::ptrdiff_t j0, std::ptrdiff_t j1) noexcept;
};

/// The table of `isa`, or nullptr when this CPU (or OS) cannot run it or the library was built
/// without it. Never throws; reads no environment.
const KernelTable<float>* kernel_table_float(Isa isa) noexcept;
const KernelTable<double>* kernel_table_double(Isa isa) noexcept;

/// The instruction set the dispatched kernels run on: the best the CPU supports, capped by
/// ATTNSEL_ISA; chosen once, at the first call (thread-safe).
Isa dispatched_isa() noexcept;

/// "sse2", "avx2" or "avx512".
const char* isa_name(Isa isa) noexcept;

/// The tables of dispatched_isa().
const KernelTable<float>& dispatched_table_float() noexcept;
const KernelTable<double>& dispatched_table_double() noexcept;

/// The table every dispatched kernel call uses (T: float or double).
template <class T>
inline const KernelTable<T>& kernel_table() noexcept {
  if constexpr (sizeof(T) == sizeof(float)) {
    return dispatched_table_float();
  } else {
    return dispatched_table_double();
  }
}

}  // namespace runtime
}  // namespace simd
ATTNSEL_NAMESPACE_END
