// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file config.hpp
/// Compile-time configuration: language level, SIMD on/off, the ABI namespace.
///
/// Macros a user may define before the first attnsel include (the same way in every TU):
///  - `ATTNSEL_DISABLE_SIMD`: use the scalar fallback for every kernel.
///
/// Macros attnsel defines:
///  - `ATTNSEL_SIMD_ENABLED`: 1 when kernels run on xsimd batches, 0 for the scalar fallback
///    (set by `ATTNSEL_DISABLE_SIMD`, or when xsimd finds no instruction set for this TU's flags).
///  - `ATTNSEL_SIMD_ARCH_NAME`: the instruction set as a string ("avx2", "sse2", "scalar", ...).
///
/// ODR safety: attnsel's types (classes, exceptions, options) live in `attnsel::abi_v0_1`, an
/// inline namespace named after the version only, so a `Dataset`, a `Selection` or a
/// `parse_error` is the same type in every TU of a program, whatever its `-m` flags. What differs
/// per instruction set — the SIMD kernels (`simd/`, the Eigen-level ops of `simd/ops.hpp`, the
/// tile kernels of Selective Attention and the BSR kernels) — sits in one more inline namespace
/// named after the instruction set this TU was compiled for (`attnsel::simd::arch_avx2`, ...), so
/// the linker cannot merge an AVX-512 kernel into an SSE2 caller. (Inline member functions of
/// the shared types are merged like any inline function; see docs/conventions.md.)

#include "version.hpp"

#if !defined(_MSVC_LANG) && __cplusplus < 201703L
#error "attnsel needs C++17 or newer (compile with -std=c++17 or link the attnsel::attnsel target)"
#elif defined(_MSVC_LANG) && _MSVC_LANG < 201703L
#error "attnsel needs C++17 or newer (/std:c++17)"
#endif

#include <xsimd/config/xsimd_config.hpp>

#if defined(ATTNSEL_DISABLE_SIMD) || defined(XSIMD_NO_SUPPORTED_ARCHITECTURE)
#define ATTNSEL_SIMD_ENABLED 0
#define ATTNSEL_DETAIL_ARCH scalar
#else
#define ATTNSEL_SIMD_ENABLED 1
// Mirrors xsimd's choice of default_arch (best available, x86 before ARM).
#if XSIMD_WITH_AVX512BW
#define ATTNSEL_DETAIL_ARCH avx512bw
#elif XSIMD_WITH_AVX512DQ
#define ATTNSEL_DETAIL_ARCH avx512dq
#elif XSIMD_WITH_AVX512CD
#define ATTNSEL_DETAIL_ARCH avx512cd
#elif XSIMD_WITH_AVX512F
#define ATTNSEL_DETAIL_ARCH avx512f
#elif XSIMD_WITH_FMA3_AVX2
#define ATTNSEL_DETAIL_ARCH fma3_avx2
#elif XSIMD_WITH_AVX2
#define ATTNSEL_DETAIL_ARCH avx2
#elif XSIMD_WITH_FMA3_AVX
#define ATTNSEL_DETAIL_ARCH fma3_avx
#elif XSIMD_WITH_AVX
#define ATTNSEL_DETAIL_ARCH avx
#elif XSIMD_WITH_FMA4
#define ATTNSEL_DETAIL_ARCH fma4
#elif XSIMD_WITH_FMA3_SSE
#define ATTNSEL_DETAIL_ARCH fma3_sse
#elif XSIMD_WITH_SSE4_2
#define ATTNSEL_DETAIL_ARCH sse4_2
#elif XSIMD_WITH_SSE4_1
#define ATTNSEL_DETAIL_ARCH sse4_1
#elif XSIMD_WITH_SSSE3
#define ATTNSEL_DETAIL_ARCH ssse3
#elif XSIMD_WITH_SSE3
#define ATTNSEL_DETAIL_ARCH sse3
#elif XSIMD_WITH_SSE2
#define ATTNSEL_DETAIL_ARCH sse2
#elif XSIMD_WITH_NEON64
#define ATTNSEL_DETAIL_ARCH neon64
#elif XSIMD_WITH_NEON
#define ATTNSEL_DETAIL_ARCH neon
#else
#define ATTNSEL_DETAIL_ARCH other
#endif
#endif

#define ATTNSEL_DETAIL_CAT_(a, b) a##b
#define ATTNSEL_DETAIL_CAT(a, b) ATTNSEL_DETAIL_CAT_(a, b)
#define ATTNSEL_DETAIL_STR2_(x) #x
#define ATTNSEL_DETAIL_STR2(x) ATTNSEL_DETAIL_STR2_(x)

/// The instruction set the kernels of this TU use, as a string literal.
#define ATTNSEL_SIMD_ARCH_NAME ATTNSEL_DETAIL_STR2(ATTNSEL_DETAIL_ARCH)

/// Inline ABI namespace of every attnsel type: the version only (see the file comment).
#define ATTNSEL_ABI_NAMESPACE abi_v0_1
/// Runtime dispatch (issue #36; simd/kernel_table.hpp): CMake defines ATTNSEL_DISPATCH=1 for the
/// compiled library's own sources when it is built with ATTNSEL_RUNTIME_DISPATCH, and
/// ATTNSEL_COMPILED_DISPATCH=1 for the TUs that link it. In both, the dispatching entry points
/// (simd/dispatch.hpp, simd::gemm, the Selective Attention tiles, the block-sparse products) call
/// the kernel table chosen at run time, and the per-instruction-set namespace is
/// `arch_dispatch_<isa>`, so that none of their inline functions can be merged with those of a
/// header-only TU of the same flags, which run that TU's own kernels.
#ifndef ATTNSEL_DISPATCH
#define ATTNSEL_DISPATCH 0
#endif
#if ATTNSEL_DISPATCH || (defined(ATTNSEL_COMPILED_DISPATCH) && ATTNSEL_COMPILED_DISPATCH)
#define ATTNSEL_DETAIL_VIA_TABLE 1
#else
#define ATTNSEL_DETAIL_VIA_TABLE 0
#endif
/// Inline namespace of what differs per instruction set: the kernels.
#if ATTNSEL_DETAIL_VIA_TABLE && ATTNSEL_SIMD_ENABLED
#define ATTNSEL_SIMD_ABI_NAMESPACE ATTNSEL_DETAIL_CAT(arch_dispatch_, ATTNSEL_DETAIL_ARCH)
#else
#define ATTNSEL_SIMD_ABI_NAMESPACE ATTNSEL_DETAIL_CAT(arch_, ATTNSEL_DETAIL_ARCH)
#endif

#define ATTNSEL_NAMESPACE_BEGIN                                                                    \
  namespace attnsel {                                                                              \
  inline namespace ATTNSEL_ABI_NAMESPACE {
#define ATTNSEL_NAMESPACE_END                                                                      \
  }                                                                                                \
  }
/// Opens (closes) the per-instruction-set namespace inside an attnsel namespace.
#define ATTNSEL_SIMD_NAMESPACE_BEGIN inline namespace ATTNSEL_SIMD_ABI_NAMESPACE {
#define ATTNSEL_SIMD_NAMESPACE_END }

/// Compiled mode, beside header-only use (as fmt's and spdlog's): the CMake target
/// attnsel::compiled builds the float and double instantiations of the main class templates
/// (layers, Sequential, losses, optimizers, selectors, pruners, BSR matrices, KV caches,
/// transformers) once into a library and defines ATTNSEL_COMPILED=1 for its users, whose TUs
/// then only declare them (`extern template`) and compile much less. Each folder header
/// (nn/nn.hpp, selection/selection.hpp, ...) lists its instantiations; a TU that includes a
/// single deeper header instantiates for itself, which is still correct, only slower to build.
#ifndef ATTNSEL_COMPILED
#define ATTNSEL_COMPILED 0
#endif
#define ATTNSEL_DETAIL_UNPAREN(...) __VA_ARGS__
/// X-macro callbacks of the folders' lists: `X((class Dense<T>))` declares or defines one.
#define ATTNSEL_DETAIL_EXTERN_INSTANCE(what) extern template ATTNSEL_DETAIL_UNPAREN what;
#define ATTNSEL_DETAIL_DEFINE_INSTANCE(what) template ATTNSEL_DETAIL_UNPAREN what;
#if ATTNSEL_COMPILED
#define ATTNSEL_DETAIL_DECLARE_COMPILED(list)                                                      \
  ATTNSEL_NAMESPACE_BEGIN                                                                          \
  list(ATTNSEL_DETAIL_EXTERN_INSTANCE, float) list(ATTNSEL_DETAIL_EXTERN_INSTANCE, double)          \
  ATTNSEL_NAMESPACE_END
#else
#define ATTNSEL_DETAIL_DECLARE_COMPILED(list)
#endif

/// Inline hint for small hot helpers (kept to plain `inline`: xsimd's own force-inlining does
/// the work inside kernels).
#define ATTNSEL_INLINE inline
