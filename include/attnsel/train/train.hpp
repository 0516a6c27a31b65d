// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file train/train.hpp
/// The training loop (`fit`) and its callbacks (ProgressBar, EarlyStop, user hooks).

#include "callbacks.hpp"
#include "trainer.hpp"
