// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file lm/decode.hpp
/// Token-by-token decoding of a trained `TransformerLM` with one `KVCache` per layer, so that a
/// layer's keys and values can be evicted under a memory budget by any policy of
/// selective/kv_cache.hpp (docs/language-models.md §6).
///
/// `LMDecoder::step(token)` feeds the token at the next position and returns the logits of the
/// token after it. Every layer runs its attention through its cache: with no budget the logits
/// equal the rows of `TransformerLM::forward` over the same tokens (up to rounding); with a
/// budget, what an evicted token would have contributed is gone for every later position. A
/// decoder built for a batch of B sequences decodes them in lockstep (`step(tokens)`, one token
/// each; every sequence has its own caches; the products run over the B rows at once and the
/// caches on OpenMP threads). The decoder reads the model's weights and never changes them (the
/// model must outlive it).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../parallel.hpp"
#include "../selective/kv_cache.hpp"
#include "../types.hpp"
#include "transformer.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// Memory held by the caches of an `LMDecoder`.
struct LMCacheUsage {
  std::vector<Index> tokens;  ///< cached tokens per layer (summed over the batch)
  std::vector<std::size_t> bytes;  ///< bytes of cached keys and values per layer (summed over the batch)
  Index total_tokens = 0;
  std::size_t total_bytes = 0;
};

template <class T, class Policy = evict::SelectiveF>
class LMDecoder {
 public:
  /// `budgets`: the most tokens each layer's cache keeps (one entry per layer; 0 = unbounded;
  /// empty = unbounded everywhere). `policy` chooses what each cache evicts. `batch`: sequences
  /// decoded in lockstep.
  /// @throws std::invalid_argument when budgets has neither 0 nor `layers` entries, an entry
  ///         is negative or 1 (a cache keeps the newest token and one before it at least),
  ///         batch < 1, or a model with structure scales set.
  explicit LMDecoder(const TransformerLM<T>& model, std::vector<Index> budgets = {}, Policy policy = {},
                     Index batch = 1)
      : model_(model), budgets_(std::move(budgets)), batch_(batch) {
    constexpr const char* fn = "attnsel::LMDecoder";
    const TransformerConfig& c = model.config();
    detail::require(batch >= 1, fn, "argument 'batch' is ", batch, ", expected >= 1");
    detail::require(!model.has_structure_scales(), fn,
                    "the model has structure scales set: decode the sliced model (slice_structure) or clear them");
    detail::require(budgets_.empty() || Index(budgets_.size()) == c.layers, fn, "argument 'budgets' has ",
                    budgets_.size(), " entries, expected 0 (unbounded) or one per layer (", c.layers, ")");
    for (std::size_t l = 0; l < budgets_.size(); ++l)
      detail::require(budgets_[l] == 0 || budgets_[l] >= 2, fn, "argument 'budgets' holds ", budgets_[l],
                      " for layer ", l, ", expected 0 (unbounded) or >= 2");
    if (budgets_.empty()) budgets_.assign(std::size_t(c.layers), 0);
    for (Index l = 0; l < c.layers; ++l) {
      // A layer without attention has no cache (its budget is not used).
      first_cache_.push_back(Index(caches_.size()));
      if (!model.block(l).has_attention()) continue;
      const CausalSelfAttention<T>& a = model.block(l).attention();
      KVCacheOptions o;
      o.heads = a.heads();
      o.head_dim = a.head_dim();
      o.budget = budgets_[std::size_t(l)];
      o.selective = a.selective();
      o.selector_head = a.selector_head();
      o.check_finite = false;
      for (Index b = 0; b < batch; ++b) caches_.emplace_back(o, policy);
    }
  }

  /// Feeds `token` at position `position()` and returns the logits of the next token (1 × vocab).
  /// @throws std::invalid_argument for a decoder of several sequences, a token outside
  ///         [0, vocab), or when the model's context is full (its positional embedding has no row
  ///         for this position; call `reset`).
  const RowMatrix<T>& step(std::int32_t token) {
    detail::require(batch_ == 1, "attnsel::LMDecoder::step", "this decoder runs ", batch_,
                    " sequences: pass one token for each");
    one_.assign(1, token);
    return step(one_);
  }

  /// Feeds one token per sequence (tokens.size() = batch) and returns the batch × vocab logits.
  /// @throws std::invalid_argument for the wrong number of tokens, a token outside [0, vocab), or
  ///         a full context.
  const RowMatrix<T>& step(const std::vector<std::int32_t>& tokens);

  /// Forgets the sequences: empty caches, position 0 (the budgets and policy stay).
  void reset() {
    for (auto& cache : caches_) cache.clear();
    pos_ = 0;
  }

  /// Tokens fed per sequence since construction or the last reset.
  Index position() const noexcept { return pos_; }
  Index batch() const noexcept { return batch_; }
  const std::vector<Index>& budgets() const noexcept { return budgets_; }
  /// The cache of `layer` for sequence `sequence`.
  /// @throws std::invalid_argument for a layer or sequence out of range, or a layer without
  ///         attention (it has no cache).
  const KVCache<T, Policy>& cache(Index layer, Index sequence = 0) const {
    detail::require(layer >= 0 && layer < model_.config().layers && sequence >= 0 && sequence < batch_,
                    "attnsel::LMDecoder::cache", "arguments 'layer' = ", layer, " and 'sequence' = ", sequence,
                    " are out of range (", model_.config().layers, " layers, ", batch_, " sequences)");
    detail::require(model_.block(layer).has_attention(), "attnsel::LMDecoder::cache", "argument 'layer' = ", layer,
                    " names a layer without attention (it has no cache)");
    return caches_[std::size_t(first_cache_[std::size_t(layer)] + sequence)];
  }

  /// What the caches hold now, per layer summed over the batch (0 for a layer without attention).
  LMCacheUsage usage() const {
    LMCacheUsage u;
    const Index L = model_.config().layers;
    for (Index l = 0; l < L; ++l) {
      Index t = 0;
      std::size_t by = 0;
      if (model_.block(l).has_attention())
        for (Index b = 0; b < batch_; ++b) {
          t += caches_[std::size_t(first_cache_[std::size_t(l)] + b)].size();
          by += caches_[std::size_t(first_cache_[std::size_t(l)] + b)].bytes();
        }
      u.tokens.push_back(t);
      u.bytes.push_back(by);
      u.total_tokens += t;
      u.total_bytes += by;
    }
    return u;
  }

 private:
  static void norm(const LayerNorm<T>& ln, const RowMatrix<T>& x, RowMatrix<T>& y) {
    const T n = T(x.cols());
    y.resize(x.rows(), x.cols());
    for (Index i = 0; i < x.rows(); ++i) {
      const T mean = x.row(i).sum() / n;
      y.row(i) = (x.row(i).array() - mean).matrix();
      const T inv_std = T(1) / std::sqrt(y.row(i).squaredNorm() / n + ln.epsilon());
      y.row(i) = ((y.row(i).array() * inv_std) * ln.gamma().value.array() + ln.beta().value.array()).matrix();
    }
  }
  static void affine(const Dense<T>& d, const RowMatrix<T>& x, RowMatrix<T>& y) {
    y.noalias() = x * d.effective_weight();
    y.rowwise() += d.bias().value.row(0);
  }

  const TransformerLM<T>& model_;
  std::vector<Index> budgets_;
  Index batch_;
  std::vector<KVCache<T, Policy>> caches_;  // layer-major: layer l's B caches from first_cache_[l]
  std::vector<Index> first_cache_;
  Index pos_ = 0;
  std::vector<std::int32_t> one_;
  RowMatrix<T> x_, h_, qkv_, o_, y_, u_, logits_;
};

template <class T, class Policy>
const RowMatrix<T>& LMDecoder<T, Policy>::step(const std::vector<std::int32_t>& tokens) {
  constexpr const char* fn = "attnsel::LMDecoder::step";
  const TransformerConfig& c = model_.config();
  detail::require(Index(tokens.size()) == batch_, fn, "argument 'tokens' holds ", tokens.size(),
                  " tokens, expected one per sequence (", batch_, ")");
  for (std::size_t b = 0; b < tokens.size(); ++b)
    detail::require(tokens[b] >= 0 && Index(tokens[b]) < c.vocab, fn, "argument 'tokens' holds ", tokens[b],
                    " for sequence ", b, ", expected a token id in [0, ", c.vocab, ")");
  detail::require(pos_ < c.context, fn, "position ", pos_, " is beyond the model's context of ", c.context,
                  " tokens (call reset() to start a new sequence)");
  const Index B = batch_;
  x_.resize(B, c.width);
  for (Index b = 0; b < B; ++b)
    x_.row(b) = model_.token_embedding().table().value.row(tokens[std::size_t(b)]) +
                model_.position_embedding().table().value.row(pos_);
  for (Index l = 0; l < c.layers; ++l) {
    const TransformerBlock<T>& blk = model_.block(l);
    if (blk.has_attention()) {
      const CausalSelfAttention<T>& a = blk.attention();
      const Index A = a.heads() * a.head_dim();
      norm(blk.norm1(), x_, h_);
      affine(a.qkv(), h_, qkv_);
      o_.resize(B, A);
      KVCache<T, Policy>* layer_caches = &caches_[std::size_t(first_cache_[std::size_t(l)])];
      const double work = 2.0 * double(B) * double(layer_caches[0].size() + 1) * double(A);
      detail::for_row_chunks(B, 1, work, [&](Index b0, Index b1) {
        for (Index b = b0; b < b1; ++b) {
          const T* row = qkv_.data() + b * qkv_.cols();
          layer_caches[b].decode_step(row, row + A, row + 2 * A, o_.data() + b * A);
        }
      });
      affine(a.output(), o_, y_);
      x_ += y_;
    }
    if (blk.has_mlp()) {
      norm(blk.norm2(), x_, h_);
      affine(blk.mlp_in(), h_, u_);
      const T k = T(0.7978845608028654), q = T(0.044715);
      u_ = (T(0.5) * u_.array() * (T(1) + (k * (u_.array() + q * u_.array().cube())).tanh())).matrix();
      affine(blk.mlp_out(), u_, y_);
      x_ += y_;
    }
  }
  norm(model_.final_norm(), x_, h_);
  if (const Dense<T>* head = model_.output_layer())
    affine(*head, h_, logits_);
  else
    logits_.noalias() = h_ * model_.token_embedding().table().value.transpose();
  ++pos_;
  return logits_;
}

ATTNSEL_NAMESPACE_END
