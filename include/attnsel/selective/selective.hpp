// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file selective.hpp
/// Selective Attention (Leviathan, Kalman, Matias, ICLR 2025): the soft-mask attention forward and
/// backward kernels and a KV cache that drops masked tokens under a memory budget. Needs only the
/// kernel floor (`simd/`), not the trainer.

#include "heads.hpp"
#include "selective_attention.hpp"
#include "kv_cache.hpp"

/// The instantiations of this folder in compiled mode (config.hpp: ATTNSEL_COMPILED).
#define ATTNSEL_DETAIL_SELECTIVE_TEMPLATES(X, T) \
  X((class KVCache<T, evict::SelectiveF>)) X((class KVCache<T, evict::H2O>)) X((class KVCache<T, evict::StreamingLLM>)) \
  X((class KVCache<T, evict::TOVA>)) X((class KVCache<T, evict::KNorm>)) \
  X((void selective_attention<T>(const HeadsView<const T>&, const HeadsView<const T>&, const HeadsView<const T>&, \
                                 const HeadsView<T>&, const SelectiveAttentionOptions&, SelectiveAttentionAux<T>*))) \
  X((void selective_attention_backward<T>(const HeadsView<const T>&, const HeadsView<const T>&, \
                                          const HeadsView<const T>&, const HeadsView<const T>&, \
                                          const HeadsView<const T>&, const RowMatrix<T>&, const HeadsView<T>&, \
                                          const HeadsView<T>&, const HeadsView<T>&, const SelectiveAttentionOptions&)))
ATTNSEL_DETAIL_DECLARE_COMPILED(ATTNSEL_DETAIL_SELECTIVE_TEMPLATES)
