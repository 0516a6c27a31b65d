// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file selection/baselines.hpp
/// The trivial reference points every comparison needs: k features at random, and all features.

#include <cstdint>
#include <numeric>
#include <vector>

#include "../error.hpp"
#include "../random.hpp"
#include "../types.hpp"
#include "selection_result.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// k distinct features of d drawn uniformly (seeded). @throws std::invalid_argument unless
/// 1 <= k <= d.
template <class T = float>
Selection<T> random_selection(Index d, Index k, std::uint64_t seed) {
  detail::require(d >= 1, "attnsel::random_selection", "argument 'd' is ", d, ", expected >= 1");
  detail::require(k >= 1 && k <= d, "attnsel::random_selection", "argument 'k' is ", k, ", expected a value in [1, ", d, "]");
  std::vector<Index> all(static_cast<std::size_t>(d));
  std::iota(all.begin(), all.end(), Index(0));
  Rng rng(seed);
  random::shuffle(all, rng);
  Selection<T> s;
  s.features.assign(all.begin(), all.begin() + k);
  s.method = "random";
  s.features_from_training = s.features.size();
  return s;
}

/// Every feature, in index order.
template <class T = float>
Selection<T> all_features(Index d) {
  detail::require(d >= 1, "attnsel::all_features", "argument 'd' is ", d, ", expected >= 1");
  Selection<T> s;
  s.features.resize(static_cast<std::size_t>(d));
  std::iota(s.features.begin(), s.features.end(), Index(0));
  s.method = "all";
  s.features_from_training = s.features.size();
  return s;
}

ATTNSEL_NAMESPACE_END
