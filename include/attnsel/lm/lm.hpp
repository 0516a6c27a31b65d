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
#include "structure.hpp"
#include "structured_pruning.hpp"

/// The instantiations of this folder in compiled mode (config.hpp: ATTNSEL_COMPILED).
#define ATTNSEL_DETAIL_LM_TEMPLATES(X, T) \
  X((class CausalSelfAttention<T>)) X((class TransformerBlock<T>)) X((class TransformerLM<T>)) \
  X((class LMDecoder<T, evict::SelectiveF>)) X((class LMDecoder<T, evict::H2O>)) X((class LMDecoder<T, evict::StreamingLLM>)) \
  X((class LMDecoder<T, evict::TOVA>)) X((class LMDecoder<T, evict::KNorm>)) \
  X((class StructureCandidates<T>)) X((class StructuredLMPruning<T>)) \
  X((TransformerLM<T> slice_structure<T>(const TransformerLM<T>&, const StructureScales<T>&)))
ATTNSEL_DETAIL_DECLARE_COMPILED(ATTNSEL_DETAIL_LM_TEMPLATES)
