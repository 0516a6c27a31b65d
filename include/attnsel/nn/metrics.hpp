// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file nn/metrics.hpp
/// Evaluation metrics on model outputs (logits or values) and targets, as free functions.

#include <cmath>

#include "../error.hpp"
#include "../types.hpp"
#include "loss.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// Share of rows whose largest logit is the target class (one logit column: logit > 0 means
/// class 1). @throws std::invalid_argument on shape mismatches or bad class ids.
template <class T>
T accuracy(const RowMatrix<T>& logits, const RowMatrix<T>& classes) {
  return logits.cols() == 1 ? BinaryLogistic<T>{}.metric(logits, classes)
                            : SoftmaxCrossEntropy<T>{}.metric(logits, classes);
}

/// Mean negative log-likelihood of the target classes under softmax(logits) (sigmoid for one
/// logit column).
template <class T>
T log_loss(const RowMatrix<T>& logits, const RowMatrix<T>& classes) {
  return logits.cols() == 1 ? BinaryLogistic<T>{}.value(logits, classes)
                            : SoftmaxCrossEntropy<T>{}.value(logits, classes);
}

/// Root mean squared error over all entries.
template <class T>
T rmse(const RowMatrix<T>& predictions, const RowMatrix<T>& targets) {
  return MeanSquaredError<T>{}.metric(predictions, targets);
}

ATTNSEL_NAMESPACE_END
