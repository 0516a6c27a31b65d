// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file tiny_lm.hpp
/// The unit tests' small language models.

#include <attnsel/lm/lm.hpp>

/// A TransformerConfig of these sizes with every other field at its default; each test then sets
/// what it exercises (selective, tied embeddings, selector heads, ...).
inline attnsel::TransformerConfig lm_config(attnsel::Index vocab, attnsel::Index context, attnsel::Index layers,
                                            attnsel::Index heads, attnsel::Index width) {
  attnsel::TransformerConfig c;
  c.vocab = vocab;
  c.context = context;
  c.layers = layers;
  c.heads = heads;
  c.width = width;
  return c;
}
