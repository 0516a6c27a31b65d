// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file lm/lm.hpp
/// The language-model wing: transformer LMs over the Selective Attention kernels
/// (docs/language-models.md).

#include "transformer.hpp"
#include "decode.hpp"
#include "train_lm.hpp"
#include "serialize.hpp"
#include "budgets.hpp"
