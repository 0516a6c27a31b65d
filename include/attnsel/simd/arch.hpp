// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file simd/arch.hpp
/// Architecture tags: the xsimd arch every kernel is compiled for, and the scalar fallback tag.

#include <cstddef>
#include <type_traits>

#include "../config.hpp"
#include "kernel_table.hpp"

#if ATTNSEL_SIMD_ENABLED
#include <xsimd/xsimd.hpp>
#endif

ATTNSEL_NAMESPACE_BEGIN
namespace simd {
ATTNSEL_SIMD_NAMESPACE_BEGIN

/// Tag selecting the portable scalar implementation of a kernel. Always available; it is what
/// the kernels run when `ATTNSEL_SIMD_ENABLED` is 0, and for scalar types xsimd has no batch for.
struct scalar_arch {
  static constexpr const char* name() noexcept { return "scalar"; }
};

#if ATTNSEL_SIMD_ENABLED
/// The best instruction set this TU's compiler flags allow (xsimd's choice).
using default_arch = xsimd::default_arch;
#else
using default_arch = scalar_arch;
#endif

/// True for the scalar types the SIMD kernels are written for (float, double).
template <class T>
inline constexpr bool is_simd_scalar_v = std::is_same_v<T, float> || std::is_same_v<T, double>;

/// The arch tag the dispatching API uses for scalar type `T`.
template <class T>
using arch_for = std::conditional_t<is_simd_scalar_v<T>, default_arch, scalar_arch>;

/// Number of `T` lanes one register of `Arch` holds (1 for the scalar fallback).
template <class T, class Arch = arch_for<T>>
constexpr std::size_t lanes() noexcept {
  if constexpr (std::is_same_v<Arch, scalar_arch>) {
    return 1;
  } else {
#if ATTNSEL_SIMD_ENABLED
    return xsimd::batch<T, Arch>::size;
#else
    return 1;
#endif
  }
}

/// True when the dispatching API (dispatch.hpp, gemm) calls the kernel table chosen at run time
/// for `T` instead of `arch_for<T>`'s kernels: float and double, in the compiled library built
/// with runtime dispatch and in the TUs that link it (config.hpp; kernel_table.hpp).
template <class T>
inline constexpr bool via_table_v = ATTNSEL_DETAIL_VIA_TABLE && ATTNSEL_SIMD_ENABLED && is_simd_scalar_v<T>;

/// Name of the instruction set the dispatching API uses for `T`: the TU's ("fma3_avx2", "sse2",
/// "scalar", ...) or, where it calls the kernel table, the table's ("avx512bw", ...).
template <class T>
const char* arch_name() noexcept {
  if constexpr (via_table_v<T>) {
    return runtime::kernel_table<T>().isa;
  } else {
    return arch_for<T>::name();
  }
}

ATTNSEL_SIMD_NAMESPACE_END
}  // namespace simd

ATTNSEL_SIMD_NAMESPACE_BEGIN
/// The instruction set attnsel's kernels run on: in a TU linked with attnsel::compiled built with
/// runtime dispatch (ATTNSEL_COMPILED_DISPATCH, set for its users), the one the library chose at
/// its first kernel call ("sse2", "avx2" or "avx512"; see simd/kernel_table.hpp); otherwise this
/// TU's, ATTNSEL_SIMD_ARCH_NAME ("fma3_avx2", "sse2", "scalar", ...).
inline const char* simd_arch() noexcept {
#if defined(ATTNSEL_COMPILED_DISPATCH) && ATTNSEL_COMPILED_DISPATCH
  return simd::runtime::isa_name(simd::runtime::dispatched_isa());
#else
  return ATTNSEL_SIMD_ARCH_NAME;
#endif
}
ATTNSEL_SIMD_NAMESPACE_END
ATTNSEL_NAMESPACE_END
