// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file pruning.hpp
/// SequentialAttention++ block sparsification (Yasuda et al., 2024) and its baselines (block
/// magnitude pruning, block Powerpropagation, ACDC): block grids, the phase schedule, the
/// pruners, and the `fit` callback that drives them through Dense layers' weight-mask hooks.

#include "block_grid.hpp"
#include "schedule.hpp"
#include "pruners.hpp"
#include "prune_training.hpp"
