// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file attnsel.hpp
/// Umbrella header: everything public in attnsel.

#include "config.hpp"
#include "error.hpp"
#include "types.hpp"
#include "version.hpp"

#include "parallel.hpp"
#include "random.hpp"

#include "simd/simd.hpp"

#include "nn/nn.hpp"
#include "optim/optim.hpp"
#include "train/train.hpp"

#include "data/data.hpp"

#include "selection/selection.hpp"
#include "selective/selective.hpp"
#include "pruning/pruning.hpp"
#include "sparse/sparse.hpp"
#include "lm/lm.hpp"
