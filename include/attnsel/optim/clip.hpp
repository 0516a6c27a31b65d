// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file optim/clip.hpp
/// Gradient clipping by global norm (docs/conventions.md §1: run it between the backward pass,
/// which sets the gradients, and the optimizer step).

#include <cmath>
#include <vector>

#include "../error.hpp"
#include "../nn/parameter.hpp"
#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// The Euclidean norm of all gradients of `params` taken together (accumulated in double).
template <class T>
double global_grad_norm(const std::vector<Parameter<T>*>& params) {
  double sq = 0.0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    detail::require(params[i] != nullptr, "attnsel::global_grad_norm", "argument 'params' holds a null pointer at position ", i);
    sq += params[i]->grad.template cast<double>().squaredNorm();
  }
  return std::sqrt(sq);
}

/// Scales every gradient of `params` by max_norm / norm when their global norm exceeds
/// `max_norm` (PyTorch's clip_grad_norm_ without its 1e-6 guard: gradients at or below the bound
/// are left bit for bit). Returns the norm before clipping; a NaN or inf norm is returned and
/// nothing is scaled, so the caller can skip the step.
/// @throws std::invalid_argument for max_norm <= 0 or NaN, or a null parameter.
template <class T>
double clip_grad_norm(const std::vector<Parameter<T>*>& params, double max_norm) {
  detail::require(max_norm > 0.0, "attnsel::clip_grad_norm", "argument 'max_norm' is ", max_norm, ", expected > 0");
  const double norm = global_grad_norm(params);
  if (!std::isfinite(norm) || norm <= max_norm) return norm;
  const T s = T(max_norm / norm);
  for (Parameter<T>* p : params) p->grad *= s;
  return norm;
}

ATTNSEL_NAMESPACE_END
