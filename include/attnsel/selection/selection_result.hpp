// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file selection/selection_result.hpp
/// What every selector returns.

#include <string>
#include <vector>

#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// An ordered feature selection.
template <class T>
struct Selection {
  /// Selected feature indices in the order they were chosen (greedy methods) or by decreasing
  /// score (one-shot methods).
  std::vector<Index> features;
  /// Per selection round, the scores the choice was made from (attention logits for Sequential
  /// Attention, |correlation with the residual| for OMP, ...), one value per candidate feature.
  std::vector<std::vector<T>> history;
  /// Training loss per epoch (methods that train a model), or residual norm per round (OMP).
  std::vector<T> losses;
  /// Name of the method that made the selection.
  std::string method;
};

ATTNSEL_NAMESPACE_END
