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

/// The instantiations of this folder in compiled mode (config.hpp: ATTNSEL_COMPILED).
#define ATTNSEL_DETAIL_PRUNING_TEMPLATES(X, T) \
  X((class SequentialAttentionPP<T>)) X((class MagnitudePruner<T>)) X((class PowerpropPruner<T>)) X((class ACDCPruner<T>))
ATTNSEL_DETAIL_DECLARE_COMPILED(ATTNSEL_DETAIL_PRUNING_TEMPLATES)
