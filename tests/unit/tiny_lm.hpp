// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file tiny_lm.hpp
/// The unit tests' small language models.

#include <attnsel/lm/lm.hpp>

#include <utility>
#include <vector>

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

/// `c` with per-layer head counts and MLP widths (its layers: their number), an explicit head
/// dimension and the selector heads.
inline attnsel::TransformerConfig per_layer(attnsel::TransformerConfig c, attnsel::Index head_dim,
                                            std::vector<attnsel::Index> heads, std::vector<attnsel::Index> mlp,
                                            std::vector<attnsel::Index> selectors) {
  c.layers = attnsel::Index(heads.size());
  c.head_dim = head_dim;
  c.layer_heads = std::move(heads);
  c.layer_mlp = std::move(mlp);
  c.selector_heads = std::move(selectors);
  return c;
}

/// Random N(0, sd²) values for every parameter (γ around 1), so that logits are large enough for
/// the selector's votes (ReLU of head 0's logits) and F to matter.
template <class T>
void randomise(const std::vector<attnsel::Parameter<T>*>& params, attnsel::Rng& rng, double sd) {
  for (auto* p : params) {
    const bool gain = p->name == "gamma";
    for (attnsel::Index i = 0; i < p->value.size(); ++i)
      p->value.data()[i] = T((gain ? 1.0 : 0.0) + attnsel::random::normal(rng, 0.0, sd));
  }
}
