// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file lm/structure.hpp
/// Structured pruning of a `TransformerLM` (docs/structured-pruning.md): `slice_structure` turns a
/// model with `StructureScales` into a genuinely smaller model — fewer heads, MLP channels,
/// branches, layers and residual channels — that computes what the scaled model computes.

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../types.hpp"
#include "transformer.hpp"

ATTNSEL_NAMESPACE_BEGIN

namespace detail {
namespace lmstruct {

/// The indices i < n whose weight v[i] is not 0 (all of them when v is empty).
template <class T>
std::vector<Index> kept(const std::vector<T>& v, Index n) {
  std::vector<Index> out;
  for (Index i = 0; i < n; ++i)
    if (v.empty() || v[std::size_t(i)] != T(0)) out.push_back(i);
  return out;
}

/// The weight of entry i (1 when v is empty).
template <class T>
T weight(const std::vector<T>& v, Index i) {
  return v.empty() ? T(1) : v[std::size_t(i)];
}

/// The sub-matrix of rows `rows` (all when null) and columns `cols` (all when null) of A, row r
/// times rw[r] and column c times cw[c] (empty: 1).
template <class T>
RowMatrix<T> take(const RowMatrix<T>& A, const std::vector<Index>* rows, const std::vector<Index>* cols,
                  const std::vector<T>& rw = {}, const std::vector<T>& cw = {}) {
  const Index R = rows ? Index(rows->size()) : A.rows(), C = cols ? Index(cols->size()) : A.cols();
  RowMatrix<T> out(R, C);
  for (Index i = 0; i < R; ++i) {
    const Index r = rows ? (*rows)[std::size_t(i)] : i;
    for (Index j = 0; j < C; ++j) {
      const Index c = cols ? (*cols)[std::size_t(j)] : j;
      out(i, j) = A(r, c) * (rw.empty() ? T(1) : rw[std::size_t(i)]) * (cw.empty() ? T(1) : cw[std::size_t(j)]);
    }
  }
  return out;
}

}  // namespace lmstruct
}  // namespace detail

/// What `slice_structure` keeps of a model: per layer of the model, the heads and MLP channels
/// (empty: the branch is removed), and the residual channels.
struct StructureSlice {
  std::vector<std::vector<Index>> heads, channels;
  std::vector<Index> width;
  /// The layers of the model that keep a branch, in order: the sliced model's layers.
  std::vector<Index> layers;
};

/// Which units `scales` keeps of `model`: every unit whose weight is not 0, except that a branch
/// whose weight is 0 loses every unit, and a layer that keeps no branch is dropped.
/// @throws std::invalid_argument for scales that do not fit the model (as `set_structure_scales`),
///         a selective layer that keeps some heads but not its selector head (the head whose
///         logits cast the votes is never removed alone), or scales that remove every layer.
template <class T>
StructureSlice structure_slice(const TransformerLM<T>& model, const StructureScales<T>& scales) {
  namespace ls = detail::lmstruct;
  constexpr const char* fn = "attnsel::slice_structure";
  const TransformerConfig& c = model.config();
  model.check_structure_scales(scales);
  StructureSlice s;
  s.width = ls::kept(scales.width, c.width);
  for (Index l = 0; l < c.layers; ++l) {
    const TransformerBlock<T>& b = model.block(l);
    std::vector<Index> heads, channels;
    if (b.has_attention() && ls::weight(scales.attention, l) != T(0)) {
      heads = ls::kept(scales.heads.empty() ? std::vector<T>{} : scales.heads[std::size_t(l)], b.attention().heads());
      const Index sel = b.attention().selector_head();
      if (b.attention().selective() && !heads.empty())
        detail::require(std::find(heads.begin(), heads.end(), sel) != heads.end(), fn, "layer ", l, " keeps ", heads.size(),
                        " of its heads but not its selector head ", sel,
                        " (the head that casts the selection votes is kept while its layer has attention)");
    }
    if (b.has_mlp() && ls::weight(scales.mlp, l) != T(0))
      channels = ls::kept(scales.channels.empty() ? std::vector<T>{} : scales.channels[std::size_t(l)],
                          b.mlp_in().weight().value.cols());
    if (!heads.empty() || !channels.empty()) s.layers.push_back(l);
    s.heads.push_back(std::move(heads));
    s.channels.push_back(std::move(channels));
  }
  detail::require(!s.layers.empty(), fn, "the scales remove every layer (no head and no MLP channel is kept)");
  return s;
}

/// The smaller model that `model` with `scales` is: the units whose weight is 0 removed (see
/// `structure_slice`), every other weight folded into the parameters (a head's into its rows of
/// the output projection, a channel's into its row of the second MLP layer, a branch's into its
/// output layer and bias, a residual channel's into the embeddings and every branch's output —
/// and, with tied embeddings, its inverse into the final LayerNorm). The result has per-layer
/// head counts and MLP widths (`TransformerConfig::layer_heads`, `layer_mlp`), the kept width,
/// an explicit head_dim, the selector heads renumbered among the kept heads, and the model's
/// memory-loss options; it computes the scaled model's logits (up to rounding), is decoded,
/// saved, loaded and trained like any model.
/// @throws std::invalid_argument as `structure_slice`.
template <class T>
TransformerLM<T> slice_structure(const TransformerLM<T>& model, const StructureScales<T>& scales) {
  namespace ls = detail::lmstruct;
  const StructureSlice s = structure_slice(model, scales);
  const TransformerConfig& c = model.config();
  const Index d = head_dim_of(c);
  TransformerConfig n = c;
  n.width = Index(s.width.size());
  n.head_dim = d;
  n.layers = Index(s.layers.size());
  n.layer_heads.clear();
  n.layer_mlp.clear();
  n.selector_heads.clear();
  for (Index l : s.layers) {
    const std::vector<Index>& h = s.heads[std::size_t(l)];
    n.layer_heads.push_back(Index(h.size()));
    n.layer_mlp.push_back(Index(s.channels[std::size_t(l)].size()));
    Index sel = 0;
    if (!h.empty()) {
      const Index old = model.block(l).attention().selector_head();
      while (h[std::size_t(sel)] != old && sel + 1 < Index(h.size())) ++sel;
      if (h[std::size_t(sel)] != old) sel = 0;  // a plain-attention layer that lost head `old`: unused
    }
    n.selector_heads.push_back(sel);
  }
  TransformerLM<T> out(n);
  out.set_memory_loss(model.memory_loss_options());
  std::vector<T> z;  // the kept residual channels' weights
  for (Index j : s.width) z.push_back(ls::weight(scales.width, j));
  out.token_embedding().table().value = ls::take<T>(model.token_embedding().table().value, nullptr, &s.width, {}, z);
  out.position_embedding().table().value = ls::take<T>(model.position_embedding().table().value, nullptr, &s.width, {}, z);
  auto norm = [&](const LayerNorm<T>& from, LayerNorm<T>& to, const std::vector<T>& divide) {
    std::vector<T> inv;
    for (T v : divide) inv.push_back(T(1) / v);
    to.gamma().value = ls::take<T>(from.gamma().value, nullptr, &s.width, {}, inv);
    to.beta().value = ls::take<T>(from.beta().value, nullptr, &s.width, {}, inv);
  };
  for (std::size_t m = 0; m < s.layers.size(); ++m) {
    const Index l = s.layers[m];
    const TransformerBlock<T>& from = model.block(l);
    TransformerBlock<T>& to = out.block(Index(m));
    const std::vector<Index>& heads = s.heads[std::size_t(l)];
    if (!heads.empty()) {
      const CausalSelfAttention<T>& a = from.attention();
      const Index A = a.heads() * d;
      norm(from.norm1(), to.norm1(), {});
      std::vector<Index> qkv_cols, o_rows;
      std::vector<T> o_row_w;
      for (Index part = 0; part < 3; ++part)
        for (Index h : heads)
          for (Index e = 0; e < d; ++e) qkv_cols.push_back(part * A + h * d + e);
      for (Index h : heads)
        for (Index e = 0; e < d; ++e) {
          o_rows.push_back(h * d + e);
          o_row_w.push_back(ls::weight(scales.heads.empty() ? std::vector<T>{} : scales.heads[std::size_t(l)], h));
        }
      std::vector<T> col_w;  // the branch's weight times the width's
      for (T v : z) col_w.push_back(v * ls::weight(scales.attention, l));
      to.attention().qkv().weight().value = ls::take<T>(a.qkv().effective_weight(), &s.width, &qkv_cols);
      to.attention().qkv().bias().value = ls::take<T>(a.qkv().bias().value, nullptr, &qkv_cols);
      to.attention().output().weight().value = ls::take<T>(a.output().effective_weight(), &o_rows, &s.width, o_row_w, col_w);
      to.attention().output().bias().value = ls::take<T>(a.output().bias().value, nullptr, &s.width, {}, col_w);
    }
    const std::vector<Index>& channels = s.channels[std::size_t(l)];
    if (!channels.empty()) {
      norm(from.norm2(), to.norm2(), {});
      std::vector<T> row_w, col_w;
      for (Index j : channels)
        row_w.push_back(ls::weight(scales.channels.empty() ? std::vector<T>{} : scales.channels[std::size_t(l)], j));
      for (T v : z) col_w.push_back(v * ls::weight(scales.mlp, l));
      to.mlp_in().weight().value = ls::take<T>(from.mlp_in().effective_weight(), &s.width, &channels);
      to.mlp_in().bias().value = ls::take<T>(from.mlp_in().bias().value, nullptr, &channels);
      to.mlp_out().weight().value = ls::take<T>(from.mlp_out().effective_weight(), &channels, &s.width, row_w, col_w);
      to.mlp_out().bias().value = ls::take<T>(from.mlp_out().bias().value, nullptr, &s.width, {}, col_w);
    }
  }
  if (const Dense<T>* head = model.output_layer()) {
    norm(model.final_norm(), out.final_norm(), {});
    out.output_layer()->weight().value = ls::take<T>(head->effective_weight(), &s.width, nullptr);
    out.output_layer()->bias().value = head->bias().value;
  } else {
    // Tied: the output layer is the embedding, which now carries z; the final norm divides it out.
    norm(model.final_norm(), out.final_norm(), z);
  }
  return out;
}

/// `slice_structure(model, model.structure_scales())`.
template <class T>
TransformerLM<T> slice_structure(const TransformerLM<T>& model) {
  return slice_structure(model, model.structure_scales());
}

ATTNSEL_NAMESPACE_END
