// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file random.hpp
/// Portable random draws. The engine is std::mt19937_64, whose sequence the C++ standard fixes;
/// the standard distributions (uniform_real_distribution, normal_distribution, shuffle) are not
/// fixed and differ between standard libraries, so attnsel maps raw engine output itself: the
/// same seed gives the same numbers with every compiler and library.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "config.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// The engine every attnsel function that draws uses.
using Rng = std::mt19937_64;

namespace random {

/// Uniform double in [0, 1) with 53 random bits.
inline double uniform01(Rng& rng) { return double(rng() >> 11) * 0x1.0p-53; }

/// Uniform double in [lo, hi).
inline double uniform(Rng& rng, double lo, double hi) { return lo + (hi - lo) * uniform01(rng); }

/// Standard normal by the Box–Muller transform (one engine pair per draw; no cached spare, so
/// a draw depends only on the engine state).
inline double normal(Rng& rng, double mean = 0.0, double stddev = 1.0) {
  double u1 = uniform01(rng);
  const double u2 = uniform01(rng);
  if (u1 <= 0.0) u1 = 0x1.0p-53;
  return mean + stddev * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925 * u2);
}

/// Uniform integer in [0, n), n >= 1, without modulo bias (rejection of the short tail).
inline std::uint64_t index(Rng& rng, std::uint64_t n) {
  const std::uint64_t limit = n == 0 ? 0 : (~std::uint64_t(0) - (~std::uint64_t(0) % n));
  std::uint64_t r = rng();
  while (r >= limit) r = rng();
  return n == 0 ? 0 : r % n;
}

/// Fisher–Yates shuffle with `index`.
template <class Vec>
void shuffle(Vec& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(index(rng, i));
    std::swap(v[i - 1], v[j]);
  }
}

}  // namespace random

ATTNSEL_NAMESPACE_END
