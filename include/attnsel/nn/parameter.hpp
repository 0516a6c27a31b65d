// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file nn/parameter.hpp
/// A trainable tensor and its gradient, the unit optimizers work on.

#include <string>
#include <utility>

#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// A trainable tensor (`value`) with the gradient of the loss w.r.t. it (`grad`, same shape),
/// written by the owning layer's backward pass. Layers own their parameters; optimizers hold
/// pointers to them, so a layer must outlive the optimizer it was registered with.
template <class T>
struct Parameter {
  Parameter() = default;
  Parameter(std::string n, Index rows, Index cols)
      : value(RowMatrix<T>::Zero(rows, cols)), grad(RowMatrix<T>::Zero(rows, cols)), name(std::move(n)) {}

  RowMatrix<T> value;
  RowMatrix<T> grad;
  std::string name;
  /// When false, optimizers skip this parameter (its gradient is still computed).
  bool trainable = true;
  /// When false, optimizers apply neither weight decay nor an L2 penalty to it, whatever their
  /// options and groups say. The transformer layers clear it for norm gains and offsets, biases
  /// and embeddings (the usual AdamW recipe); everywhere else it stays true.
  bool decay = true;
};

ATTNSEL_NAMESPACE_END
