// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file nn/transformer_layers_impl.hpp
/// Definitions of the layers declared in transformer_layers.hpp.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../parallel.hpp"
#include "layers_impl.hpp"
#include "transformer_layers.hpp"

ATTNSEL_NAMESPACE_BEGIN

namespace detail {

template <class T>
void check_ids(const char* fn, const std::vector<std::int32_t>& ids, Index vocab) {
  for (std::size_t i = 0; i < ids.size(); ++i)
    require(ids[i] >= 0 && Index(ids[i]) < vocab, fn, "argument 'ids' holds ", ids[i], " at position ", i,
            ", expected a token id in [0, ", vocab, ")");
}

}  // namespace detail

// ---- LayerNorm ----

namespace detail {

/// Rows per chunk of the row-parallel passes below (a multiple of nothing in particular: the
/// chunks only need to be the same for every thread count).
constexpr Index transformer_row_chunk = 64;

/// out (1 × cols) = the sum over chunks, in chunk order, of partial(c, :): the deterministic
/// second half of a chunked column sum.
template <class T>
void sum_partials(const RowMatrix<T>& partial, RowMatrix<T>& out) {
  out.setZero(1, partial.cols());
  for (Index c = 0; c < partial.rows(); ++c) out.row(0) += partial.row(c);
}

}  // namespace detail

template <class T>
LayerNorm<T>::LayerNorm(Index size, T epsilon)
    : eps_(epsilon), gamma_("gamma", 1, size < 1 ? 1 : size), beta_("beta", 1, size < 1 ? 1 : size) {
  detail::require(size >= 1, "attnsel::LayerNorm", "argument 'size' is ", size, ", expected >= 1");
  detail::require(epsilon > T(0), "attnsel::LayerNorm", "argument 'epsilon' is ", epsilon, ", expected > 0");
  gamma_.value.setOnes();
  gamma_.decay = false;
  beta_.decay = false;
}

template <class T>
void LayerNorm<T>::set_channel_mask(const std::vector<bool>& keep) {
  constexpr const char* fn = "attnsel::LayerNorm::set_channel_mask";
  detail::require(Index(keep.size()) == input_size(), fn, "argument 'keep' has ", keep.size(), " entries, expected one per channel (",
                  input_size(), ")");
  Index n = 0;
  for (bool k : keep) n += k ? 1 : 0;
  detail::require(n >= 1, fn, "argument 'keep' keeps no channel");
  keep_.resize(1, input_size());
  for (Index j = 0; j < input_size(); ++j) keep_(j) = keep[std::size_t(j)] ? T(1) : T(0);
  kept_ = T(n);
}

template <class T>
void LayerNorm<T>::forward(const RowMatrix<T>& X, RowMatrix<T>& Y, bool) {
  detail::check_batch("attnsel::LayerNorm::forward", X, input_size());
  const Index R = X.rows(), C = X.cols();
  const bool masked = keep_.size() > 0;
  const T n = masked ? kept_ : T(C);
  xhat_.resize(R, C);
  inv_std_.resize(R);
  Y.resize(R, C);
  const auto g = gamma_.value.array().row(0);
  const auto b = beta_.value.array().row(0);
  detail::for_row_chunks(R, detail::transformer_row_chunk, 3.0 * double(R) * double(C), [&](Index r0, Index r1) {
    for (Index i = r0; i < r1; ++i) {
      if (masked) {
        // x̂ is 0 on the masked channels, and so is the output.
        const T mean = (X.row(i).array() * keep_).sum() / n;
        xhat_.row(i).array() = (X.row(i).array() - mean) * keep_;
      } else {
        const T mean = X.row(i).sum() / n;
        xhat_.row(i).array() = X.row(i).array() - mean;
      }
      const T is = T(1) / std::sqrt(xhat_.row(i).squaredNorm() / n + eps_);
      inv_std_(i) = is;
      xhat_.row(i) *= is;
      if (masked)
        Y.row(i).array() = (xhat_.row(i).array() * g + b) * keep_;
      else
        Y.row(i).array() = xhat_.row(i).array() * g + b;
    }
  });
}

template <class T>
void LayerNorm<T>::backward(const RowMatrix<T>& X, const RowMatrix<T>&, const RowMatrix<T>& dY, RowMatrix<T>* dX) {
  detail::check_backward("attnsel::LayerNorm::backward", X, static_cast<const RowMatrix<T>*>(nullptr), dY,
                         input_size(), output_size());
  detail::require(xhat_.rows() == X.rows(), "attnsel::LayerNorm::backward", "the batch has ", X.rows(),
                  " rows, the last forward pass had ", xhat_.rows());
  // Per row, g = dY ⊙ γ:  dX = inv_std ⊙ (g − mean(g) − x̂ ⊙ mean(g ⊙ x̂));  dγ = Σ dY ⊙ x̂, dβ = Σ dY.
  // Under a channel mask, dY counts on the kept channels only (x̂ is 0 on the others, so dγ needs
  // no mask) and n is the kept channels' count; dX is then 0 on the masked channels.
  const Index R = dY.rows(), C = dY.cols();
  const Index chunks = (R + detail::transformer_row_chunk - 1) / detail::transformer_row_chunk;
  const bool masked = keep_.size() > 0;
  const T n = masked ? kept_ : T(C);
  dgamma_part_.setZero(chunks, C);
  dbeta_part_.setZero(chunks, C);
  if (dX && dX != &dY) dX->resize(R, C);
  const auto gam = gamma_.value.array().row(0);
  detail::for_row_chunks(R, detail::transformer_row_chunk, 4.0 * double(R) * double(C), [&](Index r0, Index r1) {
    const Index c = r0 / detail::transformer_row_chunk;
    Eigen::Array<T, 1, Eigen::Dynamic> g(C);
    for (Index i = r0; i < r1; ++i) {
      const auto dy = dY.row(i).array();
      const auto xh = xhat_.row(i).array();
      if (masked)
        dbeta_part_.row(c).array() += dy * keep_;
      else
        dbeta_part_.row(c).array() += dy;
      dgamma_part_.row(c).array() += dy * xh;
      if (!dX) continue;
      if (masked)
        g = dy * gam * keep_;
      else
        g = dy * gam;
      const T mg = g.sum() / n, mgx = (g * xh).sum() / n;
      dX->row(i).array() = ((g - mg) - xh * mgx) * inv_std_(i);
      if (masked) dX->row(i).array() *= keep_;
    }
  });
  detail::sum_partials<T>(dbeta_part_, beta_.grad);
  detail::sum_partials<T>(dgamma_part_, gamma_.grad);
}

// ---- GELU ----

template <class T>
GELU<T>::GELU(Index size) : size_(size) {
  detail::require(size >= 1, "attnsel::GELU", "argument 'size' is ", size, ", expected >= 1");
}

template <class T>
void GELU<T>::forward(const RowMatrix<T>& X, RowMatrix<T>& Y, bool) {
  detail::check_batch("attnsel::GELU::forward", X, size_);
  const T c = T(0.7978845608028654), a = T(0.044715);
  Y.resize(X.rows(), X.cols());
  detail::for_row_chunks(X.rows(), detail::transformer_row_chunk, 8.0 * double(X.size()), [&](Index r0, Index r1) {
    const auto x = X.middleRows(r0, r1 - r0).array();
    Y.middleRows(r0, r1 - r0).array() = T(0.5) * x * (T(1) + (c * (x + a * x * x * x)).tanh());
  });
}

template <class T>
void GELU<T>::backward(const RowMatrix<T>& X, const RowMatrix<T>& Y, const RowMatrix<T>& dY, RowMatrix<T>* dX) {
  detail::check_backward("attnsel::GELU::backward", X, &Y, dY, size_, size_);
  if (!dX) return;
  // d/dx ½x(1 + tanh u) = ½(1 + tanh u) + ½x(1 − tanh² u)·c(1 + 3a x²),  u = c(x + a x³).
  const T c = T(0.7978845608028654), a = T(0.044715);
  if (dX != &dY) dX->resize(dY.rows(), dY.cols());
  const Index C = X.cols();
  detail::for_row_chunks(X.rows(), detail::transformer_row_chunk, 12.0 * double(X.size()), [&](Index r0, Index r1) {
    Eigen::Array<T, 1, Eigen::Dynamic> t(C);
    for (Index i = r0; i < r1; ++i) {
      const auto x = X.row(i).array();
      t = (c * (x + a * x * x * x)).tanh();
      dX->row(i).array() = dY.row(i).array() * (T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * c * (T(1) + T(3) * a * x * x));
    }
  });
}

// ---- Dropout ----

template <class T>
Dropout<T>::Dropout(Index size, double rate, std::uint64_t seed) : size_(size), rate_(rate), rng_(seed) {
  detail::require(size >= 1, "attnsel::Dropout", "argument 'size' is ", size, ", expected >= 1");
  detail::require(rate >= 0.0 && rate < 1.0, "attnsel::Dropout", "argument 'rate' is ", rate, ", expected a value in [0, 1)");
}

template <class T>
void Dropout<T>::forward(const RowMatrix<T>& X, RowMatrix<T>& Y, bool train) {
  detail::check_batch("attnsel::Dropout::forward", X, size_);
  Y.resize(X.rows(), X.cols());
  if (!train || rate_ == 0.0) {
    mask_.resize(0, 0);
    Y = X;
    return;
  }
  mask_.resize(X.rows(), X.cols());
  const T keep = T(1.0 / (1.0 - rate_));
  for (Index i = 0; i < mask_.size(); ++i) mask_.data()[i] = random::uniform01(rng_) < rate_ ? T(0) : keep;
  Y.array() = X.array() * mask_.array();
}

template <class T>
void Dropout<T>::backward(const RowMatrix<T>& X, const RowMatrix<T>& Y, const RowMatrix<T>& dY, RowMatrix<T>* dX) {
  detail::check_backward("attnsel::Dropout::backward", X, &Y, dY, size_, size_);
  if (!dX) return;
  if (mask_.size() == 0) {
    *dX = dY;
    return;
  }
  detail::require(mask_.rows() == dY.rows(), "attnsel::Dropout::backward", "the batch has ", dY.rows(),
                  " rows, the last forward pass had ", mask_.rows());
  dX->resize(dY.rows(), dY.cols());
  dX->array() = dY.array() * mask_.array();
}

// ---- Embedding ----

template <class T>
Embedding<T>::Embedding(Index vocab, Index width, Rng& rng, double init_sd)
    : E_("embedding", vocab < 1 ? 1 : vocab, width < 1 ? 1 : width) {
  detail::require(vocab >= 1, "attnsel::Embedding", "argument 'vocab' is ", vocab, ", expected >= 1");
  detail::require(width >= 1, "attnsel::Embedding", "argument 'width' is ", width, ", expected >= 1");
  detail::require(init_sd >= 0.0, "attnsel::Embedding", "argument 'init_sd' is ", init_sd, ", expected >= 0");
  for (Index i = 0; i < E_.value.size(); ++i) E_.value.data()[i] = T(random::normal(rng, 0.0, init_sd));
  E_.decay = false;
}

template <class T>
void Embedding<T>::forward(const std::vector<std::int32_t>& ids, RowMatrix<T>& Y) const {
  detail::check_ids<T>("attnsel::Embedding::forward", ids, vocab());
  Y.resize(Index(ids.size()), width());
  for (std::size_t i = 0; i < ids.size(); ++i) Y.row(Index(i)) = E_.value.row(ids[i]);
}

template <class T>
void Embedding<T>::backward(const std::vector<std::int32_t>& ids, const RowMatrix<T>& dY) {
  detail::check_ids<T>("attnsel::Embedding::backward", ids, vocab());
  detail::require(dY.rows() == Index(ids.size()) && dY.cols() == width(), "attnsel::Embedding::backward",
                  "argument 'dY' is ", dY.rows(), "x", dY.cols(), ", expected ", ids.size(), "x", width());
  E_.grad.setZero();
  for (std::size_t i = 0; i < ids.size(); ++i) E_.grad.row(ids[i]) += dY.row(Index(i));
}

// ---- PositionalEmbedding ----

template <class T>
PositionalEmbedding<T>::PositionalEmbedding(Index context, Index width, Rng& rng, double init_sd)
    : P_("position", context < 1 ? 1 : context, width < 1 ? 1 : width) {
  detail::require(context >= 1, "attnsel::PositionalEmbedding", "argument 'context' is ", context, ", expected >= 1");
  detail::require(width >= 1, "attnsel::PositionalEmbedding", "argument 'width' is ", width, ", expected >= 1");
  detail::require(init_sd >= 0.0, "attnsel::PositionalEmbedding", "argument 'init_sd' is ", init_sd, ", expected >= 0");
  for (Index i = 0; i < P_.value.size(); ++i) P_.value.data()[i] = T(random::normal(rng, 0.0, init_sd));
  P_.decay = false;
}

template <class T>
void PositionalEmbedding<T>::check(const char* fn, Index rows, Index cols, Index seq_len) const {
  detail::require(seq_len >= 1 && seq_len <= context(), fn, "argument 'seq_len' is ", seq_len,
                  ", expected a length in [1, ", context(), "] (the context)");
  detail::require(cols == width() && rows % seq_len == 0, fn, "the matrix is ", rows, "x", cols, ", expected ",
                  "a multiple of seq_len = ", seq_len, " rows and ", width(), " columns");
}

template <class T>
void PositionalEmbedding<T>::forward_add(RowMatrix<T>& X, Index seq_len) const {
  check("attnsel::PositionalEmbedding::forward_add", X.rows(), X.cols(), seq_len);
  for (Index b = 0; b < X.rows() / seq_len; ++b) X.middleRows(b * seq_len, seq_len) += P_.value.topRows(seq_len);
}

template <class T>
void PositionalEmbedding<T>::backward(const RowMatrix<T>& dY, Index seq_len) {
  check("attnsel::PositionalEmbedding::backward", dY.rows(), dY.cols(), seq_len);
  P_.grad.setZero();
  for (Index b = 0; b < dY.rows() / seq_len; ++b) P_.grad.topRows(seq_len) += dY.middleRows(b * seq_len, seq_len);
}

ATTNSEL_NAMESPACE_END
