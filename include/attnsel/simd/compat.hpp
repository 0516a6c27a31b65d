// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file simd/compat.hpp
/// The few xsimd calls whose spelling changed between xsimd 8 (Debian 12) and xsimd >= 9:
/// `hadd` became `reduce_add`, and `reduce_max` does not exist in 8.x.

#include <cstddef>

#include "arch.hpp"

#if ATTNSEL_SIMD_ENABLED

ATTNSEL_NAMESPACE_BEGIN
namespace simd {
ATTNSEL_SIMD_NAMESPACE_BEGIN
namespace compat {

/// Sum of the lanes of `b`.
template <class T, class Arch>
T reduce_add(const xsimd::batch<T, Arch>& b) noexcept {
#if XSIMD_VERSION_MAJOR >= 9
  return xsimd::reduce_add(b);
#else
  return xsimd::hadd(b);
#endif
}

/// Largest lane of `b` (NaN lanes give an unspecified lane or NaN).
template <class T, class Arch>
T reduce_max(const xsimd::batch<T, Arch>& b) noexcept {
#if XSIMD_VERSION_MAJOR >= 9
  return xsimd::reduce_max(b);
#else
  constexpr std::size_t n = xsimd::batch<T, Arch>::size;
  T lanes[n];
  b.store_unaligned(lanes);
  T m = lanes[0];
  for (std::size_t i = 1; i < n; ++i) m = lanes[i] > m ? lanes[i] : m;
  return m;
#endif
}

}  // namespace compat
ATTNSEL_SIMD_NAMESPACE_END
}  // namespace simd
ATTNSEL_NAMESPACE_END

#endif  // ATTNSEL_SIMD_ENABLED
