// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file lm/transformer_impl.hpp
/// Definitions of lm/transformer.hpp.

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#if defined(_OPENMP)
#include <omp.h>
#endif

#include "../nn/layers_impl.hpp"
#include "../nn/transformer_layers_impl.hpp"
#include "../parallel.hpp"
#include "transformer.hpp"

ATTNSEL_NAMESPACE_BEGIN

inline void validate(const TransformerConfig& c) {
  constexpr const char* fn = "attnsel::TransformerConfig";
  detail::require(c.vocab >= 1, fn, "field 'vocab' is ", c.vocab, ", expected >= 1");
  detail::require(c.context >= 1, fn, "field 'context' is ", c.context, ", expected >= 1");
  detail::require(c.layers >= 1, fn, "field 'layers' is ", c.layers, ", expected >= 1");
  detail::require(c.heads >= 1, fn, "field 'heads' is ", c.heads, ", expected >= 1");
  detail::require(c.head_dim >= 0, fn, "field 'head_dim' is ", c.head_dim, ", expected >= 0 (0: width / heads)");
  if (c.head_dim == 0)
    detail::require(c.width >= 1 && c.width % c.heads == 0, fn, "field 'width' is ", c.width,
                    ", expected a positive multiple of heads = ", c.heads, " (or set head_dim)");
  else
    detail::require(c.width >= 1, fn, "field 'width' is ", c.width, ", expected >= 1");
  detail::require(c.mlp_ratio >= 1, fn, "field 'mlp_ratio' is ", c.mlp_ratio, ", expected >= 1");
  detail::require(c.layer_heads.empty() || Index(c.layer_heads.size()) == c.layers, fn, "field 'layer_heads' has ",
                  c.layer_heads.size(), " entries, expected 0 (uniform) or layers = ", c.layers);
  detail::require(c.layer_heads.empty() || c.head_dim > 0, fn,
                  "field 'layer_heads' is set with head_dim 0, expected an explicit head_dim > 0");
  for (std::size_t l = 0; l < c.layer_heads.size(); ++l)
    detail::require(c.layer_heads[l] >= 0 && c.layer_heads[l] <= (Index(1) << 20), fn, "field 'layer_heads' holds ",
                    c.layer_heads[l], " for layer ", l, ", expected a head count >= 0 (0: no attention branch)");
  detail::require(c.layer_mlp.empty() || Index(c.layer_mlp.size()) == c.layers, fn, "field 'layer_mlp' has ",
                  c.layer_mlp.size(), " entries, expected 0 (uniform) or layers = ", c.layers);
  for (std::size_t l = 0; l < c.layer_mlp.size(); ++l)
    detail::require(c.layer_mlp[l] >= 0 && c.layer_mlp[l] <= (Index(1) << 30), fn, "field 'layer_mlp' holds ",
                    c.layer_mlp[l], " for layer ", l, ", expected a hidden width >= 0 (0: no MLP branch)");
  detail::require(c.selector_heads.empty() || Index(c.selector_heads.size()) == c.layers, fn,
                  "field 'selector_heads' has ", c.selector_heads.size(), " entries, expected 0 or layers = ", c.layers);
  for (std::size_t l = 0; l < c.selector_heads.size(); ++l) {
    const Index h = heads_of(c, Index(l));
    detail::require(c.selector_heads[l] >= 0 && c.selector_heads[l] < std::max(h, Index(1)), fn,
                    "field 'selector_heads' holds ", c.selector_heads[l], " for layer ", l,
                    h > 0 ? ", expected a head in [0, " : ", expected 0 (the layer has no attention; heads = ", h, ")");
  }
  detail::require(c.dropout >= 0.0 && c.dropout < 1.0, fn, "field 'dropout' is ", c.dropout, ", expected a value in [0, 1)");
}

namespace detail {
namespace lm {

/// Overwrites a Dense layer's kernel with N(0, sd²) draws and zeroes its bias (GPT-2's
/// initialisation); the bias gets no weight decay.
template <class T>
void init_dense(Dense<T>& d, Rng& rng, double sd) {
  auto& W = d.weight().value;
  for (Index i = 0; i < W.size(); ++i) W.data()[i] = T(random::normal(rng, 0.0, sd));
  d.bias().value.setZero();
  d.bias().decay = false;
}

/// Runs f(b) for the B sequences of a batch, on OpenMP threads when there are several and the
/// work pays for them; returns whether the loop ran in parallel (the kernel then runs serially).
template <class F>
void for_sequences(Index B, double work, F&& f) {
#if defined(_OPENMP)
  if (B >= 2 && work >= omp_parallel_work && omp_get_max_threads() > 1 && !omp_in_parallel()) {
    ParallelErrors errors;
#pragma omp parallel for schedule(dynamic, 1)
    for (Index b = 0; b < B; ++b) errors.run([&] { f(b, false); });
    errors.rethrow();
    return;
  }
#endif
  (void)work;
  for (Index b = 0; b < B; ++b) f(b, true);
}

}  // namespace lm
}  // namespace detail

// ---- CausalSelfAttention ----

template <class T>
CausalSelfAttention<T>::CausalSelfAttention(Index width, Index heads, Index head_dim, bool selective,
                                            Index selector_head, Rng& rng, double init_sd, double out_init_sd)
    : width_(width),
      heads_(heads),
      inner_(heads * head_dim),
      selective_(selective),
      selector_(selector_head),
      qkv_(width < 1 ? 1 : width, 3 * (inner_ < 1 ? 1 : inner_), rng, Init::zeros),
      out_(inner_ < 1 ? 1 : inner_, width < 1 ? 1 : width, rng, Init::zeros) {
  constexpr const char* fn = "attnsel::CausalSelfAttention";
  detail::require(width >= 1, fn, "argument 'width' is ", width, ", expected >= 1");
  detail::require(heads >= 1, fn, "argument 'heads' is ", heads, ", expected >= 1");
  detail::require(head_dim >= 1, fn, "argument 'head_dim' is ", head_dim, ", expected >= 1");
  detail::require(selector_head >= 0 && selector_head < heads, fn, "argument 'selector_head' is ", selector_head,
                  ", expected a head in [0, ", heads, ")");
  detail::lm::init_dense(qkv_, rng, init_sd);
  detail::lm::init_dense(out_, rng, out_init_sd);
  qkv_.set_thread_count_independent(true);
  out_.set_thread_count_independent(true);
}

template <class T>
SelectiveAttentionOptions CausalSelfAttention<T>::attention_options() const {
  SelectiveAttentionOptions o;
  o.heads = heads_;
  o.selective = selective_;
  o.selector_head = selector_;
  o.check_finite = false;
  return o;
}

template <class T>
void CausalSelfAttention<T>::set_memory_loss(double weight, double tau) {
  constexpr const char* fn = "attnsel::CausalSelfAttention::set_memory_loss";
  detail::require(std::isfinite(weight) && weight >= 0.0, fn, "argument 'weight' is ", weight, ", expected a finite value >= 0");
  detail::require(std::isfinite(tau) && tau > 0.0, fn, "argument 'tau' is ", tau, ", expected a finite value > 0");
  mem_weight_ = weight;
  mem_tau_ = tau;
}

template <class T>
void CausalSelfAttention<T>::set_head_scale(const std::vector<T>& scale) {
  constexpr const char* fn = "attnsel::CausalSelfAttention::set_head_scale";
  detail::require(scale.empty() || Index(scale.size()) == heads_, fn, "argument 'scale' has ", scale.size(),
                  " entries, expected 0 (off) or one per head (", heads_, ")");
  for (std::size_t h = 0; h < scale.size(); ++h)
    detail::require(std::isfinite(double(scale[h])), fn, "argument 'scale' holds ", scale[h], " for head ", h,
                    ", expected a finite value");
  hscale_ = scale;
  hscale_grad_.assign(scale.size(), T(0));
}

template <class T>
void CausalSelfAttention<T>::forward(const RowMatrix<T>& X, Index seq_len, RowMatrix<T>& Y, bool train) {
  constexpr const char* fn = "attnsel::CausalSelfAttention::forward";
  detail::require(X.cols() == width_, fn, "argument 'X' has ", X.cols(), " columns, expected width = ", width_);
  detail::require(seq_len >= 1 && X.rows() % seq_len == 0, fn, "argument 'seq_len' is ", seq_len,
                  ", expected a divisor of the ", X.rows(), " rows of X");
  seq_len_ = seq_len;
  const Index B = X.rows() / seq_len, W = inner_;
  qkv_.forward(X, QKV_, true);
  O_.resize(X.rows(), W);
  lse_.resize(std::size_t(B));
  const SelectiveAttentionOptions base = attention_options();
  const double work = double(B) * double(seq_len) * double(seq_len) * double(W);
  detail::lm::for_sequences(B, work, [&](Index b, bool kernel_parallel) {
    SelectiveAttentionOptions o = base;
    o.parallel = kernel_parallel;
    using CV = HeadsView<const T>;
    const auto rows = QKV_.middleRows(b * seq_len, seq_len);
    SelectiveAttentionAux<T> aux;
    selective_attention<T>(CV::packed(rows.leftCols(W), heads_), CV::packed(rows.middleCols(W, W), heads_),
                           CV::packed(rows.rightCols(W), heads_),
                           HeadsView<T>::packed(O_.middleRows(b * seq_len, seq_len), heads_), o, &aux);
    lse_[std::size_t(b)] = std::move(aux.lse);
  });
  if (hscale_.empty()) {
    out_.forward(O_, Y, true);
  } else {
    const Index d = inner_ / heads_;
    Os_.resize(O_.rows(), O_.cols());
    for (Index h = 0; h < heads_; ++h) Os_.middleCols(h * d, d) = O_.middleCols(h * d, d) * hscale_[std::size_t(h)];
    out_.forward(Os_, Y, true);
  }
  mem_value_ = 0.0;
  mem_active_ = train && selective_ && mem_weight_ > 0.0;
  if (mem_active_) {
    const Index d = inner_ / heads_, s = selector_;
    const T scale = T(1) / std::sqrt(T(d));
    const double coef = mem_weight_ / double(X.rows());
    dmem_.setZero(X.rows(), 2 * d);
    std::vector<double> value(std::size_t(B), 0.0);
    detail::lm::for_sequences(B, work, [&](Index b, bool) {
      const auto rows = QKV_.middleRows(b * seq_len, seq_len);
      auto g = dmem_.middleRows(b * seq_len, seq_len);
      auto gq = g.leftCols(d);
      auto gk = g.rightCols(d);
      value[std::size_t(b)] = detail::lm::memory_term<T>(rows.middleCols(s * d, d), rows.middleCols(W + s * d, d), scale,
                                                         mem_tau_, coef, &gq, &gk);
    });
    for (double v : value) mem_value_ += v;  // fixed order
    mem_value_ /= double(X.rows());
  }
}

template <class T>
void CausalSelfAttention<T>::backward(const RowMatrix<T>& X, const RowMatrix<T>& dY, RowMatrix<T>* dX) {
  constexpr const char* fn = "attnsel::CausalSelfAttention::backward";
  detail::require(seq_len_ > 0 && X.rows() == QKV_.rows() && dY.rows() == X.rows() && dY.cols() == width_, fn,
                  "arguments 'X' and 'dY' must be the input and an output gradient of the last forward pass (got ",
                  X.rows(), " and ", dY.rows(), "x", dY.cols(), " for a forward pass of ", QKV_.rows(), " rows)");
  const Index seq_len = seq_len_, B = X.rows() / seq_len, W = inner_;
  if (hscale_.empty()) {
    out_.backward(O_, dY, dY, &dO_);
  } else {
    // dL/dscale_h = Σ dOs ⊙ O over head h's columns; dL/dO = dOs · scale_h.
    out_.backward(Os_, dY, dY, &dO_);
    const Index d = W / heads_;
    for (Index h = 0; h < heads_; ++h) {
      hscale_grad_[std::size_t(h)] = dO_.middleCols(h * d, d).cwiseProduct(O_.middleCols(h * d, d)).sum();
      dO_.middleCols(h * d, d) *= hscale_[std::size_t(h)];
    }
  }
  dQKV_.resize(X.rows(), 3 * W);
  const SelectiveAttentionOptions base = attention_options();
  const double work = 2.0 * double(B) * double(seq_len) * double(seq_len) * double(W);
  detail::lm::for_sequences(B, work, [&](Index b, bool kernel_parallel) {
    SelectiveAttentionOptions o = base;
    o.parallel = kernel_parallel;
    using CV = HeadsView<const T>;
    using MV = HeadsView<T>;
    const auto rows = QKV_.middleRows(b * seq_len, seq_len);
    auto grads = dQKV_.middleRows(b * seq_len, seq_len);
    selective_attention_backward<T>(
        CV::packed(rows.leftCols(W), heads_), CV::packed(rows.middleCols(W, W), heads_),
        CV::packed(rows.rightCols(W), heads_), CV::packed(O_.middleRows(b * seq_len, seq_len), heads_),
        CV::packed(dO_.middleRows(b * seq_len, seq_len), heads_), lse_[std::size_t(b)],
        MV::packed(grads.leftCols(W), heads_), MV::packed(grads.middleCols(W, W), heads_),
        MV::packed(grads.rightCols(W), heads_), o);
  });
  if (mem_active_) {
    const Index d = inner_ / heads_, s = selector_;
    dQKV_.middleCols(s * d, d) += dmem_.leftCols(d);
    dQKV_.middleCols(W + s * d, d) += dmem_.rightCols(d);
  }
  qkv_.backward(X, QKV_, dQKV_, dX);
}

template <class T>
std::vector<Parameter<T>*> CausalSelfAttention<T>::parameters() {
  return {&qkv_.weight(), &qkv_.bias(), &out_.weight(), &out_.bias()};
}

// ---- TransformerBlock ----

template <class T>
TransformerBlock<T>::TransformerBlock(const TransformerConfig& c, Index layer, Rng& rng)
    : layer_(layer),
      ln1_(c.width),
      ln2_(c.width),
      drop1_(c.width, c.dropout, c.seed * 1000003ULL + 2ULL * std::uint64_t(layer) + 1ULL),
      drop2_(c.width, c.dropout, c.seed * 1000003ULL + 2ULL * std::uint64_t(layer) + 2ULL) {
  // The draws from rng: the attention's projections, then the MLP's (the order of uniform models).
  const Index heads = heads_of(c, layer), hidden = mlp_hidden_of(c, layer);
  if (heads > 0)
    attn_ = std::make_unique<CausalSelfAttention<T>>(
        c.width, heads, head_dim_of(c), c.selective, c.selector_heads.empty() ? 0 : c.selector_heads[std::size_t(layer)],
        rng, 0.02, 0.02 / std::sqrt(2.0 * double(c.layers)));
  if (hidden > 0) {
    fc1_ = std::make_unique<Dense<T>>(c.width, hidden, rng, Init::zeros);
    fc2_ = std::make_unique<Dense<T>>(hidden, c.width, rng, Init::zeros);
    gelu_ = std::make_unique<GELU<T>>(hidden);
    detail::lm::init_dense(*fc1_, rng, 0.02);
    detail::lm::init_dense(*fc2_, rng, 0.02 / std::sqrt(2.0 * double(c.layers)));
    fc1_->set_thread_count_independent(true);
    fc2_->set_thread_count_independent(true);
  }
}

template <class T>
CausalSelfAttention<T>* TransformerBlock<T>::attention_ptr() const {
  detail::require(attn_ != nullptr, "attnsel::TransformerBlock::attention", "layer ", layer_,
                  " has no attention branch (0 heads)");
  return attn_.get();
}

template <class T>
Dense<T>* TransformerBlock<T>::mlp_ptr(Dense<T>* d) const {
  detail::require(d != nullptr, "attnsel::TransformerBlock::mlp_in/mlp_out", "layer ", layer_,
                  " has no MLP branch (hidden width 0)");
  return d;
}

namespace detail {
namespace lm {

/// out = a + b (out may be a or b), by row chunks on OpenMP threads when large.
template <class T>
void add(const RowMatrix<T>& a, const RowMatrix<T>& b, RowMatrix<T>& out) {
  if (&out != &a && &out != &b) out.resize(a.rows(), a.cols());
  for_row_chunks(a.rows(), 64, 3.0 * double(a.size()), [&](Index r0, Index r1) {
    out.middleRows(r0, r1 - r0) = a.middleRows(r0, r1 - r0) + b.middleRows(r0, r1 - r0);
  });
}

}  // namespace lm
}  // namespace detail

namespace detail {
namespace lm {

/// out = a · s ⊙ z (z broadcast over rows; empty z = 1).
template <class T>
void scale_branch(const RowMatrix<T>& a, T s, const Eigen::Array<T, 1, Eigen::Dynamic>& z, RowMatrix<T>& out) {
  out.resize(a.rows(), a.cols());
  for_row_chunks(a.rows(), 64, 2.0 * double(a.size()), [&](Index r0, Index r1) {
    if (z.size() == 0)
      out.middleRows(r0, r1 - r0) = a.middleRows(r0, r1 - r0) * s;
    else
      out.middleRows(r0, r1 - r0).array() = (a.middleRows(r0, r1 - r0).array() * s).rowwise() * z;
  });
}

/// The backward pass of out = a · s ⊙ z for dout: sets ds = Σ dout ⊙ a ⊙ z, adds
/// s · Σ_rows dout ⊙ a to dz (when z is set) and writes da = dout · s ⊙ z.
template <class T>
void scale_branch_backward(const RowMatrix<T>& a, T s, const Eigen::Array<T, 1, Eigen::Dynamic>& z,
                           const RowMatrix<T>& dout, T& ds, Eigen::Array<T, 1, Eigen::Dynamic>& dz, RowMatrix<T>& da) {
  const Eigen::Array<T, 1, Eigen::Dynamic> col = (dout.array() * a.array()).colwise().sum();  // Σ_rows dout ⊙ a
  if (z.size() == 0) {
    ds = col.sum();
    da = dout * s;
  } else {
    ds = (col * z).sum();
    dz += col * s;
    da.resize(dout.rows(), dout.cols());
    da.array() = (dout.array() * s).rowwise() * z;
  }
}

}  // namespace lm
}  // namespace detail

template <class T>
void TransformerBlock<T>::forward(const RowMatrix<T>& X, Index seq_len, RowMatrix<T>& Y, bool train) {
  // Dropout that is off (evaluation, or rate 0) is skipped, not copied through.
  const bool drop = train && drop1_.rate() > 0.0;
  dropped_ = drop;
  const RowMatrix<T>* X1 = &X;  // the MLP branch's input
  if (attn_) {
    ln1_.forward(X, H1_, train);
    attn_->forward(H1_, seq_len, A_, train);
    if (drop) drop1_.forward(A_, Ad_, train);
    const RowMatrix<T>& a = drop ? Ad_ : A_;
    if (scaled_) detail::lm::scale_branch<T>(a, ascale_, z_, As_);
    detail::lm::add<T>(X, scaled_ ? As_ : a, X1_);
    X1 = &X1_;
  }
  if (!fc1_) {
    Y = *X1;
    return;
  }
  ln2_.forward(*X1, H2_, train);
  fc1_->forward(H2_, U_, train);
  gelu_->forward(U_, G_, train);
  if (cscale_.empty()) {
    fc2_->forward(G_, M_, train);
  } else {
    Gs_.resize(G_.rows(), G_.cols());
    const Eigen::Map<const Eigen::Array<T, 1, Eigen::Dynamic>> c(cscale_.data(), Index(cscale_.size()));
    Gs_.array() = G_.array().rowwise() * c;
    fc2_->forward(Gs_, M_, train);
  }
  if (drop) drop2_.forward(M_, Md_, train);
  const RowMatrix<T>& m = drop ? Md_ : M_;
  if (scaled_) detail::lm::scale_branch<T>(m, mscale_, z_, Ms_);
  detail::lm::add<T>(*X1, scaled_ ? Ms_ : m, Y);
}

template <class T>
void TransformerBlock<T>::backward(const RowMatrix<T>& X, const RowMatrix<T>& dY, RowMatrix<T>& dX) {
  // MLP branch: dY reaches X1 directly and through the branch. gw_* hold width-sized
  // gradients, gm_ the MLP's wider ones (one buffer per size: no reallocation between steps).
  if (scaled_) {
    ascale_grad_ = mscale_grad_ = T(0);
    if (z_.size() > 0) z_grad_.setZero(z_.size());
  }
  const RowMatrix<T>& X1 = attn_ ? X1_ : X;
  const RowMatrix<T>* dX1 = &dY;
  if (fc1_) {
    const RowMatrix<T>* dM = &dY;
    if (scaled_) {
      detail::lm::scale_branch_backward<T>(dropped_ ? Md_ : M_, mscale_, z_, dY, mscale_grad_, z_grad_, gs_);
      dM = &gs_;
    }
    if (dropped_) {
      drop2_.backward(M_, Md_, *dM, &gw1_);
      dM = &gw1_;
    }
    fc2_->backward(cscale_.empty() ? G_ : Gs_, M_, *dM, &gm_);
    if (!cscale_.empty()) {
      // dL/dc_j = Σ_rows dGs ⊙ G over channel j; dL/dG = dGs ⊙ c.
      const Eigen::Map<const Eigen::Array<T, 1, Eigen::Dynamic>> c(cscale_.data(), Index(cscale_.size()));
      const Eigen::Array<T, 1, Eigen::Dynamic> g = (gm_.array() * G_.array()).colwise().sum();
      for (std::size_t j = 0; j < cscale_.size(); ++j) cscale_grad_[j] = g(Index(j));
      gm_.array().rowwise() *= c;
    }
    gelu_->backward(U_, G_, gm_, &gm_);
    fc1_->backward(H2_, U_, gm_, &gw2_);
    ln2_.backward(X1, H2_, gw2_, &gw3_);
    detail::lm::add<T>(gw3_, dY, gw3_);  // dL/dX1
    dX1 = &gw3_;
  }
  if (!attn_) {
    dX = *dX1;
    return;
  }
  // Attention branch.
  const RowMatrix<T>* dA = dX1;
  if (scaled_) {
    detail::lm::scale_branch_backward<T>(dropped_ ? Ad_ : A_, ascale_, z_, *dX1, ascale_grad_, z_grad_, gs_);
    dA = &gs_;
  }
  if (dropped_) {
    drop1_.backward(A_, Ad_, *dA, &gw1_);
    dA = &gw1_;
  }
  attn_->backward(H1_, *dA, &gw2_);
  ln1_.backward(X, H1_, gw2_, &dX);
  detail::lm::add<T>(dX, *dX1, dX);
}

template <class T>
std::vector<std::pair<std::string, Parameter<T>*>> TransformerBlock<T>::named_parameters() {
  std::vector<std::pair<std::string, Parameter<T>*>> p;
  if (attn_) {
    p.emplace_back("norm1.gamma", &ln1_.gamma());
    p.emplace_back("norm1.beta", &ln1_.beta());
    p.emplace_back("attention.qkv.weight", &attn_->qkv().weight());
    p.emplace_back("attention.qkv.bias", &attn_->qkv().bias());
    p.emplace_back("attention.output.weight", &attn_->output().weight());
    p.emplace_back("attention.output.bias", &attn_->output().bias());
  }
  if (fc1_) {
    p.emplace_back("norm2.gamma", &ln2_.gamma());
    p.emplace_back("norm2.beta", &ln2_.beta());
    p.emplace_back("mlp.in.weight", &fc1_->weight());
    p.emplace_back("mlp.in.bias", &fc1_->bias());
    p.emplace_back("mlp.out.weight", &fc2_->weight());
    p.emplace_back("mlp.out.bias", &fc2_->bias());
  }
  return p;
}

template <class T>
std::vector<Parameter<T>*> TransformerBlock<T>::parameters() {
  std::vector<Parameter<T>*> p;
  for (const auto& np : named_parameters()) p.push_back(np.second);
  return p;
}

// ---- TransformerLM ----

namespace detail {
namespace lm {
inline const TransformerConfig& validated(const TransformerConfig& c) {
  validate(c);
  return c;
}
}  // namespace lm
}  // namespace detail

template <class T>
TransformerLM<T>::TransformerLM(const TransformerConfig& config)
    : cfg_(detail::lm::validated(config)),
      rng_(config.seed),
      tok_(config.vocab, config.width, rng_, 0.02),
      pos_(config.context, config.width, rng_, 0.01),
      drop_(config.width, config.dropout, config.seed * 1000003ULL),
      lnf_(config.width) {
  for (Index l = 0; l < cfg_.layers; ++l) blocks_.push_back(std::make_unique<TransformerBlock<T>>(cfg_, l, rng_));
  if (!cfg_.tied_embeddings) {
    head_ = std::make_unique<Dense<T>>(cfg_.width, cfg_.vocab, rng_, Init::zeros);
    detail::lm::init_dense(*head_, rng_, 0.02);
    head_->set_thread_count_independent(true);
  }
}

template <class T>
const RowMatrix<T>& TransformerLM<T>::forward(const std::vector<std::int32_t>& ids, Index seq_len, bool train) {
  constexpr const char* fn = "attnsel::TransformerLM::forward";
  detail::require(seq_len >= 1 && seq_len <= cfg_.context, fn, "argument 'seq_len' is ", seq_len,
                  ", expected a length in [1, ", cfg_.context, "] (the context)");
  detail::require(!ids.empty() && ids.size() % std::size_t(seq_len) == 0, fn, "argument 'ids' holds ", ids.size(),
                  " tokens, expected a positive multiple of seq_len = ", seq_len);
  ids_ = ids;
  seq_len_ = seq_len;
  X_.resize(blocks_.size() + 1);
  embed_dropped_ = train && drop_.rate() > 0.0;
  const bool width = !scales_.width.empty();
  RowMatrix<T>& E = embed_dropped_ ? E0_ : (width ? Eu_ : X_[0]);
  tok_.forward(ids, E);
  pos_.forward_add(E, seq_len);
  if (embed_dropped_) drop_.forward(E0_, width ? Eu_ : X_[0], train);
  if (width) {
    // The embeddings times the width weights (Eu_ keeps them unweighted for the backward pass).
    const Eigen::Map<const Eigen::Array<T, 1, Eigen::Dynamic>> z(scales_.width.data(), cfg_.width);
    X_[0].resize(Eu_.rows(), Eu_.cols());
    X_[0].array() = Eu_.array().rowwise() * z;
  }
  for (std::size_t l = 0; l < blocks_.size(); ++l) blocks_[l]->forward(X_[l], seq_len, X_[l + 1], train);
  lnf_.forward(X_.back(), Hf_, train);
  if (head_) {
    head_->forward(Hf_, logits_, train);
  } else {
    detail::chunked_product<T>(Hf_, tok_.table().value, detail::Op::transpose, logits_);
  }
  return logits_;
}

namespace detail {
namespace lm {

/// Per row i with a target ≥ 0: loss_i = logsumexp(z_i) − z_i[t_i]. With `grad`, also writes
/// the gradient of the mean over counted rows (softmax − one-hot) / count, 0 on other rows.
template <class T>
double cross_entropy(const RowMatrix<T>& Z, const std::vector<std::int32_t>& targets, Index* counted,
                     RowMatrix<T>* grad) {
  constexpr const char* fn = "attnsel::TransformerLM::loss";
  require(Index(targets.size()) == Z.rows(), fn, "argument 'targets' holds ", targets.size(),
          " tokens, expected one per position of the last forward pass (", Z.rows(), ")");
  Index n = 0;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    require(targets[i] < Z.cols(), fn, "argument 'targets' holds ", targets[i], " at position ", i,
            ", expected a token id in [0, ", Z.cols(), ") or a negative value (not counted)");
    if (targets[i] >= 0) ++n;
  }
  if (counted) *counted = n;
  if (grad) grad->resize(Z.rows(), Z.cols());
  if (n == 0) {
    if (grad) grad->setZero();
    return 0.0;
  }
  const Index R = Z.rows();
  std::vector<double> row_loss(std::size_t(R), 0.0);
  const T inv_n = T(1.0 / double(n));
  auto one_row = [&](Index i) {
    const std::int32_t t = targets[std::size_t(i)];
    if (t < 0) {
      if (grad) grad->row(i).setZero();
      return;
    }
    const auto z = Z.row(i);
    const T m = z.maxCoeff();
    const double s = (z.array() - m).exp().template cast<double>().sum();
    row_loss[std::size_t(i)] = std::log(s) + double(m) - double(z(t));
    if (grad) {
      grad->row(i) = ((z.array() - m).exp() * T(1.0 / s) * inv_n).matrix();
      (*grad)(i, t) -= inv_n;
    }
  };
#if defined(_OPENMP)
  if (double(R) * double(Z.cols()) >= omp_parallel_pass && omp_get_max_threads() > 1 && !omp_in_parallel()) {
    ParallelErrors errors;
#pragma omp parallel for schedule(static)
    for (Index i = 0; i < R; ++i) errors.run([&] { one_row(i); });
    errors.rethrow();
  } else
#endif
  {
    for (Index i = 0; i < R; ++i) one_row(i);
  }
  double total = 0.0;
  for (double v : row_loss) total += v;  // fixed order: the same sum for any thread count
  return total / double(n);
}

}  // namespace lm
}  // namespace detail

template <class T>
double TransformerLM<T>::loss(const std::vector<std::int32_t>& targets, Index* counted) const {
  return detail::lm::cross_entropy<T>(logits_, targets, counted, nullptr);
}

template <class T>
double TransformerLM<T>::backward(const std::vector<std::int32_t>& targets) {
  constexpr const char* fn = "attnsel::TransformerLM::backward";
  detail::require(seq_len_ > 0 && logits_.rows() == Index(ids_.size()), fn, "needs a forward pass first");
  const double value = detail::lm::cross_entropy<T>(logits_, targets, nullptr, &dlogits_) + mem_.weight * memory_loss();
  RowMatrix<T> dE_out;
  if (head_) {
    head_->backward(Hf_, logits_, dlogits_, &dHf_);
  } else {
    detail::chunked_product<T>(dlogits_, tok_.table().value, detail::Op::none, dHf_);
    detail::chunked_gram<T>(dlogits_, Hf_, dE_out);
  }
  lnf_.backward(X_.back(), Hf_, dHf_, &dX_);
  for (std::size_t l = blocks_.size(); l-- > 0;) {
    blocks_[l]->backward(X_[l], dX_, dXprev_);
    dX_.swap(dXprev_);
  }
  if (!scales_.empty()) {
    // The scales' gradients: per block, then the width's from every place it multiplies.
    for (std::size_t l = 0; l < blocks_.size(); ++l) {
      const TransformerBlock<T>& b = *blocks_[l];
      if (!scale_grad_.heads.empty() && !scale_grad_.heads[l].empty()) scale_grad_.heads[l] = b.attn_->head_scale_grad();
      if (!scale_grad_.channels.empty() && !scale_grad_.channels[l].empty()) scale_grad_.channels[l] = b.cscale_grad_;
      if (!scale_grad_.attention.empty()) scale_grad_.attention[l] = b.attn_ && !b.a_off_ ? b.ascale_grad_ : T(0);
      if (!scale_grad_.mlp.empty()) scale_grad_.mlp[l] = b.fc1_ && !b.m_off_ ? b.mscale_grad_ : T(0);
    }
    if (!scales_.width.empty()) {
      Eigen::Array<T, 1, Eigen::Dynamic> dz = (dX_.array() * Eu_.array()).colwise().sum();  // the embeddings'
      for (const auto& b : blocks_)
        if (b->z_grad_.size() > 0) dz += b->z_grad_;
      for (Index j = 0; j < cfg_.width; ++j) scale_grad_.width[std::size_t(j)] = dz(j);
      const Eigen::Map<const Eigen::Array<T, 1, Eigen::Dynamic>> z(scales_.width.data(), cfg_.width);
      dX_.array().rowwise() *= z;
    }
  }
  if (embed_dropped_) {
    drop_.backward(E0_, scales_.width.empty() ? X_[0] : Eu_, dX_, &dXprev_);
    dX_.swap(dXprev_);
  }
  pos_.backward(dX_, seq_len_);
  tok_.backward(ids_, dX_);
  if (!head_) tok_.table().grad += dE_out;
  return value;
}

template <class T>
void TransformerLM<T>::set_memory_loss(const MemoryLossOptions& options) {
  constexpr const char* fn = "attnsel::TransformerLM::set_memory_loss";
  detail::require(std::isfinite(options.weight) && options.weight >= 0.0, fn, "option 'weight' is ", options.weight,
                  ", expected a finite value >= 0 (0 = off)");
  detail::require(std::isfinite(options.tau) && options.tau > 0.0, fn, "option 'tau' is ", options.tau,
                  ", expected a finite value > 0");
  mem_ = options;
  // The mean over the layers that have attention.
  Index n = 0;
  for (const auto& b : blocks_) n += b->has_attention() ? 1 : 0;
  for (auto& b : blocks_)
    if (b->has_attention()) b->attention().set_memory_loss(options.weight / double(n), options.tau);
}

template <class T>
double TransformerLM<T>::memory_loss() const {
  double s = 0.0;
  Index n = 0;
  for (const auto& b : blocks_)
    if (b->has_attention()) {
      s += b->attention().memory_loss();
      ++n;
    }
  return n > 0 ? s / double(n) : 0.0;
}

template <class T>
void TransformerLM<T>::check_structure_scales(const StructureScales<T>& scales) const {
  constexpr const char* fn = "attnsel::TransformerLM::set_structure_scales";
  const Index L = cfg_.layers;
  auto finite = [&](const std::vector<T>& v, const char* field, Index layer) {
    for (std::size_t i = 0; i < v.size(); ++i)
      detail::require(std::isfinite(double(v[i])), fn, "field '", field, "' holds ", v[i], " at ", i,
                      layer >= 0 ? " of layer " : "", layer >= 0 ? std::to_string(layer) : std::string(),
                      ", expected a finite value");
  };
  auto per_layer = [&](std::size_t n, const char* field) {
    detail::require(n == 0 || Index(n) == L, fn, "field '", field, "' has ", n, " entries, expected 0 or one per layer (", L, ")");
  };
  per_layer(scales.heads.size(), "heads");
  per_layer(scales.channels.size(), "channels");
  per_layer(scales.attention.size(), "attention");
  per_layer(scales.mlp.size(), "mlp");
  for (std::size_t l = 0; l < scales.heads.size(); ++l) {
    const Index h = blocks_[l]->has_attention() ? blocks_[l]->attention().heads() : 0;
    const std::size_t n = scales.heads[l].size();
    detail::require(n == 0 || Index(n) == h, fn, "field 'heads' has ", n, " weights for layer ", l, ", expected 0 or ", h,
                    h > 0 ? " (its heads)" : " (the layer has no attention)");
    finite(scales.heads[l], "heads", Index(l));
  }
  for (std::size_t l = 0; l < scales.channels.size(); ++l) {
    const Index m = blocks_[l]->has_mlp() ? blocks_[l]->mlp_in().weight().value.cols() : 0;
    const std::size_t n = scales.channels[l].size();
    detail::require(n == 0 || Index(n) == m, fn, "field 'channels' has ", n, " weights for layer ", l, ", expected 0 or ", m,
                    m > 0 ? " (its MLP width)" : " (the layer has no MLP)");
    finite(scales.channels[l], "channels", Index(l));
  }
  finite(scales.attention, "attention", -1);
  finite(scales.mlp, "mlp", -1);
  finite(scales.width, "width", -1);
  detail::require(scales.width.empty() || Index(scales.width.size()) == cfg_.width, fn, "field 'width' has ",
                  scales.width.size(), " weights, expected 0 or one per residual channel (", cfg_.width, ")");
  detail::require(scales.width.empty() || std::count(scales.width.begin(), scales.width.end(), T(0)) < Index(scales.width.size()),
                  fn, "field 'width' weighs every residual channel 0, expected at least one channel kept");
}

template <class T>
void TransformerLM<T>::set_structure_scales(const StructureScales<T>& scales) {
  check_structure_scales(scales);
  std::vector<bool> keep;
  for (T v : scales.width) keep.push_back(v != T(0));
  scales_ = scales;
  scale_grad_ = scales;
  for (auto& v : scale_grad_.heads) std::fill(v.begin(), v.end(), T(0));
  for (auto& v : scale_grad_.channels) std::fill(v.begin(), v.end(), T(0));
  std::fill(scale_grad_.attention.begin(), scale_grad_.attention.end(), T(0));
  std::fill(scale_grad_.mlp.begin(), scale_grad_.mlp.end(), T(0));
  std::fill(scale_grad_.width.begin(), scale_grad_.width.end(), T(0));
  const bool branch = !scales.attention.empty() || !scales.mlp.empty() || !scales.width.empty();
  for (std::size_t l = 0; l < blocks_.size(); ++l) {
    TransformerBlock<T>& b = *blocks_[l];
    if (b.attn_) b.attn_->set_head_scale(scales.heads.empty() ? std::vector<T>{} : scales.heads[l]);
    b.cscale_ = scales.channels.empty() ? std::vector<T>{} : scales.channels[l];
    b.cscale_grad_.assign(b.cscale_.size(), T(0));
    // A branch whose heads (channels) all weigh 0 is off, its bias included: what slicing makes
    // of it (a layer without the branch).
    auto all_zero = [](const std::vector<std::vector<T>>& v, std::size_t k) {
      return !v.empty() && !v[k].empty() && std::count(v[k].begin(), v[k].end(), T(0)) == Index(v[k].size());
    };
    b.a_off_ = all_zero(scales.heads, l);
    b.m_off_ = all_zero(scales.channels, l);
    b.scaled_ = branch || b.a_off_ || b.m_off_;
    b.ascale_ = b.a_off_ ? T(0) : scales.attention.empty() ? T(1) : scales.attention[l];
    b.mscale_ = b.m_off_ ? T(0) : scales.mlp.empty() ? T(1) : scales.mlp[l];
    if (scales.width.empty()) {
      b.z_.resize(0);
      b.ln1_.clear_channel_mask();
      b.ln2_.clear_channel_mask();
    } else {
      b.z_ = Eigen::Map<const Eigen::Array<T, 1, Eigen::Dynamic>>(scales.width.data(), cfg_.width);
      b.ln1_.set_channel_mask(keep);
      b.ln2_.set_channel_mask(keep);
    }
  }
  if (scales.width.empty())
    lnf_.clear_channel_mask();
  else
    lnf_.set_channel_mask(keep);
}

template <class T>
double TransformerLM<T>::forward_backward(const std::vector<std::int32_t>& ids, const std::vector<std::int32_t>& targets,
                                          Index seq_len) {
  forward(ids, seq_len, true);
  return backward(targets);
}

template <class T>
std::vector<Parameter<T>*> TransformerLM<T>::parameters() {
  std::vector<Parameter<T>*> p = {&tok_.table(), &pos_.table()};
  for (auto& b : blocks_)
    for (Parameter<T>* a : b->parameters()) p.push_back(a);
  p.push_back(&lnf_.gamma());
  p.push_back(&lnf_.beta());
  if (head_) {
    p.push_back(&head_->weight());
    p.push_back(&head_->bias());
  }
  return p;
}

template <class T>
std::vector<std::pair<std::string, Parameter<T>*>> TransformerLM<T>::named_parameters() {
  std::vector<std::pair<std::string, Parameter<T>*>> out;
  out.emplace_back("token_embedding", &tok_.table());
  out.emplace_back("position_embedding", &pos_.table());
  for (std::size_t l = 0; l < blocks_.size(); ++l)
    for (const auto& np : blocks_[l]->named_parameters()) out.emplace_back("block" + std::to_string(l) + "." + np.first, np.second);
  out.emplace_back("final_norm.gamma", &lnf_.gamma());
  out.emplace_back("final_norm.beta", &lnf_.beta());
  if (head_) {
    out.emplace_back("output.weight", &head_->weight());
    out.emplace_back("output.bias", &head_->bias());
  }
  return out;
}

template <class T>
std::vector<Rng*> TransformerLM<T>::random_engines() {
  std::vector<Rng*> out = {&drop_.engine()};
  for (auto& b : blocks_)
    for (Rng* e : b->random_engines()) out.push_back(e);
  return out;
}

template <class T>
Index TransformerLM<T>::parameter_count() {
  Index n = 0;
  for (Parameter<T>* p : parameters()) n += p->value.size();
  return n;
}

ATTNSEL_NAMESPACE_END
