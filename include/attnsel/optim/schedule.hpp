// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file optim/schedule.hpp
/// Learning-rate schedules: callables `T(std::size_t step, std::size_t total_steps)`.

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "../error.hpp"
#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// The same rate at every step.
template <class T>
struct ConstantLR {
  T rate;
  T operator()(std::size_t, std::size_t) const noexcept { return rate; }
};

/// Cosine annealing from `rate` at step 0 to `min_rate` at the last step.
template <class T>
struct CosineLR {
  T rate;
  T min_rate = T(0);
  T operator()(std::size_t step, std::size_t total) const noexcept {
    if (total <= 1) return rate;
    const double u = std::min(1.0, double(step) / double(total - 1));
    return T(double(min_rate) + 0.5 * double(rate - min_rate) * (1.0 + std::cos(3.14159265358979323846 * u)));
  }
};

/// rate · decay_rate^(step / decay_steps), continuous (Keras' ExponentialDecay, not staircase).
/// decay_steps = 0 means no decay (Keras divides by zero there).
template <class T>
struct ExponentialDecayLR {
  T rate;
  T decay_rate = T(1);
  std::size_t decay_steps = 0;
  T operator()(std::size_t step, std::size_t) const noexcept {
    if (decay_steps == 0) return rate;
    return T(double(rate) * std::pow(double(decay_rate), double(step) / double(decay_steps)));
  }
};

/// Linear warm-up then cosine decay, the schedule of GPT-style transformer training: the rate
/// rises linearly to `rate` over the first `warmup_steps` steps (step s uses rate·(s+1)/warmup),
/// then follows a half cosine from `rate` to `min_rate` at the last of the `total` steps.
/// `warmup_steps` ≥ `total` means warm-up only.
template <class T>
struct WarmupCosineLR {
  T rate;
  std::size_t warmup_steps = 0;
  T min_rate = T(0);
  T operator()(std::size_t step, std::size_t total) const noexcept {
    if (step < warmup_steps) return T(double(rate) * double(step + 1) / double(warmup_steps));
    if (total <= warmup_steps + 1) return rate;
    const double u = std::min(1.0, double(step - warmup_steps) / double(total - warmup_steps - 1));
    return T(double(min_rate) + 0.5 * double(rate - min_rate) * (1.0 + std::cos(3.14159265358979323846 * u)));
  }
};

ATTNSEL_NAMESPACE_END
