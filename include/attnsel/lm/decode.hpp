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
/// budget, what an evicted token would have contributed is gone for every later position. The
/// decoder reads the model's weights and never changes them (the model must outlive it).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../selective/kv_cache.hpp"
#include "../types.hpp"
#include "transformer.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// Memory held by the caches of an `LMDecoder`.
struct LMCacheUsage {
  std::vector<Index> tokens;  ///< cached tokens per layer
  std::vector<std::size_t> bytes;  ///< bytes of cached keys and values per layer
  Index total_tokens = 0;
  std::size_t total_bytes = 0;
};

template <class T, class Policy = evict::SelectiveF>
class LMDecoder {
 public:
  /// `budgets`: the most tokens each layer's cache keeps (one entry per layer; 0 = unbounded;
  /// empty = unbounded everywhere). `policy` chooses what each cache evicts.
  /// @throws std::invalid_argument when budgets has neither 0 nor `layers` entries, or an entry
  ///         is negative or 1 (a cache keeps BOS and the newest token at least).
  explicit LMDecoder(const TransformerLM<T>& model, std::vector<Index> budgets = {}, Policy policy = {})
      : model_(model), budgets_(std::move(budgets)) {
    constexpr const char* fn = "attnsel::LMDecoder";
    const TransformerConfig& c = model.config();
    detail::require(budgets_.empty() || Index(budgets_.size()) == c.layers, fn, "argument 'budgets' has ",
                    budgets_.size(), " entries, expected 0 (unbounded) or one per layer (", c.layers, ")");
    for (std::size_t l = 0; l < budgets_.size(); ++l)
      detail::require(budgets_[l] == 0 || budgets_[l] >= 2, fn, "argument 'budgets' holds ", budgets_[l],
                      " for layer ", l, ", expected 0 (unbounded) or >= 2");
    if (budgets_.empty()) budgets_.assign(std::size_t(c.layers), 0);
    for (Index l = 0; l < c.layers; ++l) {
      const CausalSelfAttention<T>& a = model.block(l).attention();
      KVCacheOptions o;
      o.heads = a.heads();
      o.head_dim = a.head_dim();
      o.budget = budgets_[std::size_t(l)];
      o.selective = a.selective();
      o.selector_head = a.selector_head();
      o.check_finite = false;
      caches_.emplace_back(o, policy);
    }
  }

  /// Feeds `token` at position `position()` and returns the logits of the next token (1 × vocab).
  /// @throws std::invalid_argument for a token outside [0, vocab) or when the model's context is
  ///         full (its positional embedding has no row for this position; call `reset`).
  const RowMatrix<T>& step(std::int32_t token) {
    constexpr const char* fn = "attnsel::LMDecoder::step";
    const TransformerConfig& c = model_.config();
    detail::require(token >= 0 && Index(token) < c.vocab, fn, "argument 'token' is ", token,
                    ", expected a token id in [0, ", c.vocab, ")");
    detail::require(pos_ < c.context, fn, "position ", pos_, " is beyond the model's context of ", c.context,
                    " tokens (call reset() to start a new sequence)");
    x_ = model_.token_embedding().table().value.row(token) + model_.position_embedding().table().value.row(pos_);
    for (Index l = 0; l < c.layers; ++l) {
      const TransformerBlock<T>& b = model_.block(l);
      const CausalSelfAttention<T>& a = b.attention();
      const Index A = a.heads() * a.head_dim();
      norm(b.norm1(), x_, h_);
      affine(a.qkv(), h_, qkv_);
      using Map = Eigen::Map<const Eigen::Matrix<T, 1, Eigen::Dynamic>>;
      o_ = caches_[std::size_t(l)].decode_step(Map(qkv_.data(), A), Map(qkv_.data() + A, A), Map(qkv_.data() + 2 * A, A));
      affine(a.output(), o_, y_);
      x_ += y_;
      norm(b.norm2(), x_, h_);
      affine(b.mlp_in(), h_, u_);
      const T k = T(0.7978845608028654), q = T(0.044715);
      u_ = (T(0.5) * u_.array() * (T(1) + (k * (u_.array() + q * u_.array().cube())).tanh())).matrix();
      affine(b.mlp_out(), u_, y_);
      x_ += y_;
    }
    norm(model_.final_norm(), x_, h_);
    if (const Dense<T>* head = model_.output_layer())
      affine(*head, h_, logits_);
    else
      logits_.noalias() = h_ * model_.token_embedding().table().value.transpose();
    ++pos_;
    return logits_;
  }

  /// Forgets the sequence: empty caches, position 0 (the budgets and policy stay).
  void reset() {
    for (auto& cache : caches_) cache.clear();
    pos_ = 0;
  }

  /// Tokens fed since construction or the last reset.
  Index position() const noexcept { return pos_; }
  const std::vector<Index>& budgets() const noexcept { return budgets_; }
  const KVCache<T, Policy>& cache(Index layer) const { return caches_.at(std::size_t(layer)); }

  /// What the caches hold now.
  LMCacheUsage usage() const {
    LMCacheUsage u;
    for (const auto& cache : caches_) {
      u.tokens.push_back(cache.size());
      u.bytes.push_back(cache.bytes());
      u.total_tokens += cache.size();
      u.total_bytes += cache.bytes();
    }
    return u;
  }

 private:
  static void norm(const LayerNorm<T>& ln, const RowMatrix<T>& x, RowMatrix<T>& y) {
    const T n = T(x.cols());
    const T mean = x.sum() / n;
    y = (x.array() - mean).matrix();
    const T inv_std = T(1) / std::sqrt(y.squaredNorm() / n + ln.epsilon());
    y = ((y.array() * inv_std) * ln.gamma().value.array() + ln.beta().value.array()).matrix();
  }
  template <class D>
  static void affine(const Dense<T>& d, const Eigen::MatrixBase<D>& x, RowMatrix<T>& y) {
    y.noalias() = x * d.effective_weight();
    y += d.bias().value;
  }

  const TransformerLM<T>& model_;
  std::vector<Index> budgets_;
  std::vector<KVCache<T, Policy>> caches_;
  Index pos_ = 0;
  RowMatrix<T> x_, h_, qkv_, o_, y_, u_, logits_;
};

ATTNSEL_NAMESPACE_END
