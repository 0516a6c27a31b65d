// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file nn/transformer_layers.hpp
/// The generic pieces of a transformer, with the contract of nn/layers.hpp (backward passes set
/// their parameters' gradients, docs/conventions.md §1): LayerNorm, GELU (tanh form), Dropout,
/// and the two embeddings, which take token ids and positions instead of a matrix.
///
/// Rows are tokens: a batch of B sequences of T tokens is a (B·T) × width matrix, sequence b in
/// rows [b·T, (b+1)·T). Norm gains and offsets and the embeddings have `decay = false` (no weight
/// decay under AdamW).

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../error.hpp"
#include "../random.hpp"
#include "../types.hpp"
#include "layers.hpp"
#include "parameter.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// Layer normalisation over each row: Y = γ ⊙ (x − mean(x)) / sqrt(var(x) + ε) + β, with the
/// biased variance of the row's `size` values; γ starts at 1, β at 0.
template <class T>
class LayerNorm final : public Layer<T> {
 public:
  /// @throws std::invalid_argument if size < 1 or epsilon is not > 0.
  explicit LayerNorm(Index size, T epsilon = T(1e-5));
  Index input_size() const override { return gamma_.value.cols(); }
  Index output_size() const override { return gamma_.value.cols(); }
  void forward(const RowMatrix<T>& X, RowMatrix<T>& Y, bool train) override;
  void backward(const RowMatrix<T>& X, const RowMatrix<T>& Y, const RowMatrix<T>& dY, RowMatrix<T>* dX) override;
  std::vector<Parameter<T>*> parameters() override { return {&gamma_, &beta_}; }
  std::string describe() const override { return "LayerNorm(" + std::to_string(input_size()) + ")"; }

  Parameter<T>& gamma() noexcept { return gamma_; }
  Parameter<T>& beta() noexcept { return beta_; }
  const Parameter<T>& gamma() const noexcept { return gamma_; }
  const Parameter<T>& beta() const noexcept { return beta_; }
  T epsilon() const noexcept { return eps_; }

  /// Restricts the normalisation to the channels where `keep` is not 0: their mean and variance
  /// are taken over those channels only, and the other channels' outputs (and gradients) are 0 —
  /// the layer then computes what a LayerNorm over the kept channels alone computes (used by
  /// structured pruning of a transformer's width). `keep` has one entry per channel and keeps
  /// at least one. @throws std::invalid_argument for a wrong size or no kept channel.
  void set_channel_mask(const std::vector<bool>& keep);
  /// Back to every channel.
  void clear_channel_mask() noexcept { keep_.resize(0, 0); }
  bool has_channel_mask() const noexcept { return keep_.size() > 0; }

 private:
  T eps_;
  Parameter<T> gamma_, beta_;
  Eigen::Array<T, 1, Eigen::Dynamic> keep_;  // 1 / 0 per channel; empty: every channel
  T kept_ = 0;                               // channels kept under the mask
  RowMatrix<T> xhat_;
  Vector<T> inv_std_;
  RowMatrix<T> dgamma_part_, dbeta_part_;  // per-chunk partial sums of the backward pass
};

/// GELU in its tanh form (GPT-2, BERT): Y = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
template <class T>
class GELU final : public Layer<T> {
 public:
  /// @throws std::invalid_argument if size < 1.
  explicit GELU(Index size);
  Index input_size() const override { return size_; }
  Index output_size() const override { return size_; }
  void forward(const RowMatrix<T>& X, RowMatrix<T>& Y, bool train) override;
  void backward(const RowMatrix<T>& X, const RowMatrix<T>& Y, const RowMatrix<T>& dY, RowMatrix<T>* dX) override;
  std::string describe() const override { return "GELU(" + std::to_string(size_) + ")"; }

 private:
  Index size_;
};

/// Inverted dropout: in training, each value is zeroed with probability `rate` and the others are
/// scaled by 1 / (1 − rate); in evaluation (and at rate 0, the default) Y = X. The masks come
/// from the layer's own engine, seeded at construction: the same seed gives the same masks.
template <class T>
class Dropout final : public Layer<T> {
 public:
  /// @throws std::invalid_argument if size < 1 or rate is not in [0, 1).
  Dropout(Index size, double rate = 0.0, std::uint64_t seed = 0);
  Index input_size() const override { return size_; }
  Index output_size() const override { return size_; }
  void forward(const RowMatrix<T>& X, RowMatrix<T>& Y, bool train) override;
  void backward(const RowMatrix<T>& X, const RowMatrix<T>& Y, const RowMatrix<T>& dY, RowMatrix<T>* dX) override;
  std::string describe() const override { return "Dropout(" + std::to_string(size_) + ", " + std::to_string(rate_) + ")"; }
  double rate() const noexcept { return rate_; }
  /// The engine of the masks: each training forward pass with rate > 0 advances it (a training
  /// checkpoint saves and restores its state).
  Rng& engine() noexcept { return rng_; }

 private:
  Index size_;
  double rate_;
  Rng rng_;
  RowMatrix<T> mask_;  // the last training forward's scale per value (empty: identity)
};

/// Token embedding: row i of the output is row ids[i] of the vocab × width table E
/// (initialised N(0, init_sd²)). `backward` sets E's gradient to the scatter-sum of dY's rows.
template <class T>
class Embedding {
 public:
  /// @throws std::invalid_argument if vocab or width < 1 or init_sd < 0.
  Embedding(Index vocab, Index width, Rng& rng, double init_sd = 0.02);
  Index vocab() const noexcept { return E_.value.rows(); }
  Index width() const noexcept { return E_.value.cols(); }
  /// Y (ids.size() × width). @throws std::invalid_argument for an id outside [0, vocab).
  void forward(const std::vector<std::int32_t>& ids, RowMatrix<T>& Y) const;
  /// Sets dL/dE from dY (ids.size() × width), the ids of the forward pass.
  void backward(const std::vector<std::int32_t>& ids, const RowMatrix<T>& dY);
  std::vector<Parameter<T>*> parameters() { return {&E_}; }
  Parameter<T>& table() noexcept { return E_; }
  const Parameter<T>& table() const noexcept { return E_; }

 private:
  Parameter<T> E_;
};

/// Learned positional embedding: adds row t of the context × width table P to the row of every
/// sequence's token t (sequences of `seq_len` ≤ context tokens, stacked). `backward` sets P's
/// gradient: row t is the sum over sequences of dY's rows at position t (0 for t ≥ seq_len).
template <class T>
class PositionalEmbedding {
 public:
  /// @throws std::invalid_argument if context or width < 1 or init_sd < 0.
  PositionalEmbedding(Index context, Index width, Rng& rng, double init_sd = 0.02);
  Index context() const noexcept { return P_.value.rows(); }
  Index width() const noexcept { return P_.value.cols(); }
  /// X += P[t] for every row; X has a multiple of seq_len rows. @throws std::invalid_argument
  /// for seq_len outside [1, context] or a row count that is not a multiple of it.
  void forward_add(RowMatrix<T>& X, Index seq_len) const;
  void backward(const RowMatrix<T>& dY, Index seq_len);
  std::vector<Parameter<T>*> parameters() { return {&P_}; }
  Parameter<T>& table() noexcept { return P_; }
  const Parameter<T>& table() const noexcept { return P_; }

 private:
  void check(const char* fn, Index rows, Index cols, Index seq_len) const;
  Parameter<T> P_;
};

ATTNSEL_NAMESPACE_END

#include "transformer_layers_impl.hpp"
