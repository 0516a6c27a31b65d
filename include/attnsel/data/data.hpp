// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file data/data.hpp
/// Data floor: Dataset, CSV and IDX readers, scalers, one-hot labels, seeded stratified splits.
/// Nothing here downloads: files come from the caller.

#include "csv.hpp"
#include "dataset.hpp"
#include "idx.hpp"
#include "preprocess.hpp"
#include "split.hpp"
#include "text.hpp"
#include "variable_assignment.hpp"

/// The instantiations of this folder in compiled mode (config.hpp: ATTNSEL_COMPILED).
#define ATTNSEL_DETAIL_DATA_TEMPLATES(X, T) \
  X((class Standardizer<T>)) X((class MinMaxScaler<T>))
ATTNSEL_DETAIL_DECLARE_COMPILED(ATTNSEL_DETAIL_DATA_TEMPLATES)
