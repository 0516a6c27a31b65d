// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file optim/optim.hpp
/// Optimizers (SGD with momentum, Adam/AdamW) with parameter groups and reset_state(), and
/// learning-rate schedules.

#include "adam.hpp"
#include "clip.hpp"
#include "optimizer.hpp"
#include "schedule.hpp"
#include "sgd.hpp"

/// The instantiations of this folder in compiled mode (config.hpp: ATTNSEL_COMPILED).
#define ATTNSEL_DETAIL_OPTIM_TEMPLATES(X, T) \
  X((class Adam<T>)) X((class SGD<T>))
ATTNSEL_DETAIL_DECLARE_COMPILED(ATTNSEL_DETAIL_OPTIM_TEMPLATES)
