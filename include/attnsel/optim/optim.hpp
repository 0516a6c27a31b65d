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
