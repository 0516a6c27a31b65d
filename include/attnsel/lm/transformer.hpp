// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file lm/transformer.hpp
/// Decoder-only transformer language models whose attention runs through the Selective Attention
/// kernels (docs/language-models.md): a causal self-attention layer, a pre-LayerNorm block, and
/// `TransformerLM` with its forward pass, loss and backward pass.
///
/// A batch is B sequences of T tokens, stacked: every activation is a (B·T) × width row-major
/// matrix, sequence b in rows [b·T, (b+1)·T). Attention runs one sequence at a time through
/// `selective_attention` / `selective_attention_backward`, so no B × H × T × T tensor exists;
/// the sequences of a batch run on OpenMP threads. Backward passes set every parameter's
/// gradient (docs/conventions.md §1).

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../error.hpp"
#include "../nn/layers.hpp"
#include "../nn/parameter.hpp"
#include "../nn/transformer_layers.hpp"
#include "../random.hpp"
#include "../selective/selective_attention.hpp"
#include "memory_loss.hpp"
#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// The shape of a `TransformerLM`.
struct TransformerConfig {
  /// Token ids are in [0, vocab).
  Index vocab = 256;
  /// The longest sequence the model takes (rows of the positional embedding).
  Index context = 256;
  Index layers = 4;
  Index heads = 4;
  /// Model width (the residual stream).
  Index width = 128;
  /// Columns per attention head; 0 = width / heads (width must then be a multiple of heads).
  /// The attention's inner width is heads · head_dim, so doubling `heads` at a fixed head_dim
  /// doubles the attention's parameters, as in the paper's "twice the heads" comparison.
  Index head_dim = 0;
  /// MLP hidden width = mlp_ratio · width.
  Index mlp_ratio = 4;
  /// The output layer reuses the token embedding (logits = h · Eᵀ, no bias).
  bool tied_embeddings = true;
  /// Selective Attention in every layer (false: plain causal attention).
  bool selective = true;
  /// The head whose logits cast the selection votes, per layer; empty = head 0 in every layer.
  /// A layer without attention (layer_heads 0) holds 0.
  std::vector<Index> selector_heads;
  /// Attention heads per layer, for models whose layers differ (structurally pruned ones, see
  /// `heads_of`); empty = `heads` in every layer. 0 removes the layer's attention branch, its
  /// LayerNorm included: the block passes its input on. A non-empty list needs head_dim > 0.
  std::vector<Index> layer_heads;
  /// MLP hidden width per layer (see `mlp_hidden_of`); empty = mlp_ratio · width in every layer.
  /// 0 removes the layer's MLP branch, its LayerNorm included.
  std::vector<Index> layer_mlp;
  /// Dropout after the attention and MLP branches and on the embeddings (0 = off).
  double dropout = 0.0;
  /// Seeds the initial weights and the dropout masks.
  std::uint64_t seed = 1;
};

/// Throws std::invalid_argument naming the field when `c` is not a valid configuration.
inline void validate(const TransformerConfig& c);

/// The head dimension of a valid configuration: head_dim, or width / heads when it is 0.
inline Index head_dim_of(const TransformerConfig& c) { return c.head_dim > 0 ? c.head_dim : c.width / c.heads; }

/// The attention heads of layer `layer` of a valid configuration: layer_heads[layer], or heads
/// when the list is empty (0: the layer has no attention branch).
inline Index heads_of(const TransformerConfig& c, Index layer) {
  return c.layer_heads.empty() ? c.heads : c.layer_heads.at(std::size_t(layer));
}

/// The MLP hidden width of layer `layer` of a valid configuration: layer_mlp[layer], or
/// mlp_ratio · width when the list is empty (0: the layer has no MLP branch).
inline Index mlp_hidden_of(const TransformerConfig& c, Index layer) {
  return c.layer_mlp.empty() ? c.mlp_ratio * c.width : c.layer_mlp.at(std::size_t(layer));
}

/// Whether every layer has `heads` heads and an MLP of mlp_ratio · width (no per-layer lists).
inline bool is_uniform(const TransformerConfig& c) noexcept { return c.layer_heads.empty() && c.layer_mlp.empty(); }

/// Multiplicative weights on a model's structural units: what structured pruning (SA++'s softmax
/// weights, a baseline's 0/1 masks) trains and removes. Every vector may be empty: weight 1, and no
/// cost. A unit whose weight is exactly 0 is removed by `slice_structure` (lm/structure.hpp), which
/// folds the other weights into the parameters: the sliced model computes what the scaled one does.
template <class T>
struct StructureScales {
  /// Per layer (or empty), one weight per head (or empty): head h's columns of the attention
  /// output are multiplied by it before the output projection. When every head of a layer weighs
  /// 0, its attention branch is off, bias included (as when its branch weighs 0); the same holds
  /// for a layer whose MLP channels all weigh 0.
  std::vector<std::vector<T>> heads;
  /// Per layer (or empty), one weight per MLP hidden channel (or empty): the channel's GELU output
  /// is multiplied by it before the second MLP layer.
  std::vector<std::vector<T>> channels;
  /// Per layer (or empty): the weight of the attention branch's output, bias included.
  std::vector<T> attention;
  /// Per layer (or empty): the weight of the MLP branch's output, bias included.
  std::vector<T> mlp;
  /// One weight per residual channel (or empty): multiplies the embeddings and every branch's
  /// output; every LayerNorm then takes its statistics over the channels whose weight is not 0
  /// and outputs 0 on the others (`LayerNorm::set_channel_mask`), as a LayerNorm over the kept
  /// channels alone would.
  std::vector<T> width;

  /// Whether every vector is empty.
  bool empty() const noexcept {
    auto none = [](const std::vector<std::vector<T>>& v) {
      for (const auto& x : v)
        if (!x.empty()) return false;
      return true;
    };
    return none(heads) && none(channels) && attention.empty() && mlp.empty() && width.empty();
  }
};

/// Causal multi-head self-attention: QKV = X·W_qkv + b, per sequence O = attention(Q, K, V)
/// (selective or plain), Y = O·W_o + b_o. With inner width A = heads · head_dim, Q, K, V are the
/// column blocks [0, A), [A, 2A), [2A, 3A) of QKV, each split into heads of head_dim columns.
template <class T>
class CausalSelfAttention {
 public:
  CausalSelfAttention(Index width, Index heads, Index head_dim, bool selective, Index selector_head, Rng& rng,
                      double init_sd = 0.02, double out_init_sd = 0.02);

  /// X: (B·T) × width, B = X.rows() / seq_len sequences. Keeps what the backward pass needs.
  /// With `train` and a memory loss set, also computes the memory loss and its gradient.
  void forward(const RowMatrix<T>& X, Index seq_len, RowMatrix<T>& Y, bool train = true);
  /// The X and dY of the last forward pass; sets the gradients, writes dX when not null.
  void backward(const RowMatrix<T>& X, const RowMatrix<T>& dY, RowMatrix<T>* dX);
  std::vector<Parameter<T>*> parameters();

  Index width() const noexcept { return width_; }
  Index heads() const noexcept { return heads_; }
  Index head_dim() const noexcept { return inner_ / heads_; }
  bool selective() const noexcept { return selective_; }
  Index selector_head() const noexcept { return selector_; }
  /// The kernel options the layer runs with (heads, selective, selector head).
  SelectiveAttentionOptions attention_options() const;
  Dense<T>& qkv() noexcept { return qkv_; }
  Dense<T>& output() noexcept { return out_; }
  const Dense<T>& qkv() const noexcept { return qkv_; }
  const Dense<T>& output() const noexcept { return out_; }
  /// Q, K, V of the last forward pass, (B·T) × 3·heads·head_dim (for inspection and cache prefill).
  const RowMatrix<T>& last_qkv() const noexcept { return QKV_; }
  /// The heads' outputs of the last forward pass, (B·T) × heads·head_dim, before the head weights
  /// and the output projection (what structured pruning's FLAP scores read).
  const RowMatrix<T>& last_heads_output() const noexcept { return O_; }
  /// The memory loss (lm/memory_loss.hpp) in training forward passes of a selective layer:
  /// the layer adds weight · (1 / (B·T)) · Σ_b max_i M_{b,i} to the loss it back-propagates.
  /// weight = 0 (the default) turns it off. @throws std::invalid_argument for a negative or
  /// non-finite weight or a tau that is not > 0.
  void set_memory_loss(double weight, double tau);
  /// (1 / (B·T)) · Σ_b max_i M_{b,i} of the last training forward pass (0 when off).
  double memory_loss() const noexcept { return mem_value_; }
  /// Weights on the heads' outputs: head h's columns of the attention output are multiplied by
  /// scale[h] before the output projection; empty = off. @throws std::invalid_argument for a
  /// size other than 0 or heads, or a value that is not finite.
  void set_head_scale(const std::vector<T>& scale);
  const std::vector<T>& head_scale() const noexcept { return hscale_; }
  /// The loss's gradient with respect to each head's weight, set by `backward` (empty when off).
  const std::vector<T>& head_scale_grad() const noexcept { return hscale_grad_; }

 private:
  Index width_, heads_, inner_;
  bool selective_;
  Index selector_;
  Dense<T> qkv_, out_;
  Index seq_len_ = 0;
  RowMatrix<T> QKV_, O_, dO_, dQKV_;
  std::vector<RowMatrix<T>> lse_;
  double mem_weight_ = 0.0, mem_tau_ = 1.0, mem_value_ = 0.0;
  bool mem_active_ = false;  // the last forward pass computed the memory loss's gradient
  RowMatrix<T> dmem_;        // its gradient: (B·T) × 2·head_dim, the selector's q then k
  std::vector<T> hscale_, hscale_grad_;
  RowMatrix<T> Os_;  // O with the head weights applied (when set)
};

/// Pre-LayerNorm transformer block: X1 = X + Attn(LN1(X)); Y = X1 + W2·GELU(W1·LN2(X1)).
/// A layer with 0 heads (`heads_of`) has no attention branch (X1 = X), one with an MLP of width 0
/// (`mlp_hidden_of`) no MLP branch (Y = X1); a removed branch has no parameters.
template <class T>
class TransformerBlock {
 public:
  TransformerBlock(const TransformerConfig& c, Index layer, Rng& rng);
  void forward(const RowMatrix<T>& X, Index seq_len, RowMatrix<T>& Y, bool train);
  void backward(const RowMatrix<T>& X, const RowMatrix<T>& dY, RowMatrix<T>& dX);
  std::vector<Parameter<T>*> parameters();
  /// The parameters with their names within the block ("norm1.gamma", "attention.qkv.weight", ...).
  std::vector<std::pair<std::string, Parameter<T>*>> named_parameters();
  /// The random engines a training forward pass advances (the two dropout layers'), in a fixed order.
  std::vector<Rng*> random_engines() { return {&drop1_.engine(), &drop2_.engine()}; }

  /// Of the last forward pass: the residual stream between the two branches (X1; not kept when
  /// the block has no attention: X1 is then the block's input) and the MLP's hidden activations
  /// (the GELU output, before the channel weights; not kept without an MLP).
  const RowMatrix<T>& last_middle() const noexcept { return X1_; }
  const RowMatrix<T>& last_mlp_hidden() const noexcept { return G_; }

  /// Whether the block has an attention branch (heads_of > 0) / an MLP branch (mlp_hidden_of > 0).
  bool has_attention() const noexcept { return attn_ != nullptr; }
  bool has_mlp() const noexcept { return fc1_ != nullptr; }
  /// The block's parts. @throws std::invalid_argument for a part of a removed branch (the
  /// attention of a layer without heads, the MLP layers of a layer without an MLP).
  CausalSelfAttention<T>& attention() { return *attention_ptr(); }
  const CausalSelfAttention<T>& attention() const { return *attention_ptr(); }
  LayerNorm<T>& norm1() noexcept { return ln1_; }
  LayerNorm<T>& norm2() noexcept { return ln2_; }
  Dense<T>& mlp_in() { return *mlp_ptr(fc1_.get()); }
  Dense<T>& mlp_out() { return *mlp_ptr(fc2_.get()); }
  const LayerNorm<T>& norm1() const noexcept { return ln1_; }
  const LayerNorm<T>& norm2() const noexcept { return ln2_; }
  const Dense<T>& mlp_in() const { return *mlp_ptr(fc1_.get()); }
  const Dense<T>& mlp_out() const { return *mlp_ptr(fc2_.get()); }

 private:
  template <class U>
  friend class TransformerLM;
  CausalSelfAttention<T>* attention_ptr() const;
  Dense<T>* mlp_ptr(Dense<T>* d) const;

  Index layer_;
  LayerNorm<T> ln1_, ln2_;
  std::unique_ptr<CausalSelfAttention<T>> attn_;  // null: no attention branch
  std::unique_ptr<Dense<T>> fc1_, fc2_;          // null: no MLP branch
  std::unique_ptr<GELU<T>> gelu_;
  Dropout<T> drop1_, drop2_;
  // Activations of the last forward pass.
  RowMatrix<T> H1_, A_, Ad_, X1_, H2_, U_, G_, M_, Md_;
  bool dropped_ = false;  // whether the last forward pass applied dropout
  // Backward scratch: width-sized (gw*) and MLP-sized (gm_).
  RowMatrix<T> gw1_, gw2_, gw3_, gm_;
  // Structure scales (set by TransformerLM::set_structure_scales) and their gradients.
  bool scaled_ = false;       // the branch outputs are scaled (ascale_, mscale_, z_)
  bool a_off_ = false, m_off_ = false;  // every head (MLP channel) weighs 0: the branch is off
  T ascale_ = 1, mscale_ = 1, ascale_grad_ = 0, mscale_grad_ = 0;
  std::vector<T> cscale_, cscale_grad_;  // per MLP channel (empty: off)
  Eigen::Array<T, 1, Eigen::Dynamic> z_, z_grad_;  // per residual channel (empty: 1)
  RowMatrix<T> As_, Gs_, Ms_, gs_;
};

/// A decoder-only transformer LM: token + positional embedding, `layers` pre-LN blocks, a final
/// LayerNorm and the output layer (tied to the token embedding by default).
template <class T>
class TransformerLM {
 public:
  /// @throws std::invalid_argument for an invalid configuration (see `validate`).
  explicit TransformerLM(const TransformerConfig& config);

  /// Logits, (B·T) × vocab, for `ids` = B sequences of `seq_len` tokens stacked
  /// (ids.size() = B·seq_len). `train` switches dropout on. Keeps what the backward pass needs.
  /// @throws std::invalid_argument for seq_len outside [1, context], a size that is not a
  ///         multiple of seq_len, or an id outside [0, vocab).
  const RowMatrix<T>& forward(const std::vector<std::int32_t>& ids, Index seq_len, bool train = false);

  /// Mean cross-entropy (natural log) of the last forward pass's logits against `targets`
  /// (one per token; a negative target is not counted). Also returns, through `counted`, how many
  /// targets were counted.
  double loss(const std::vector<std::int32_t>& targets, Index* counted = nullptr) const;

  /// After forward: the loss as `loss(targets)` (plus weight · L_mem after a training forward
  /// with the memory loss on), and every parameter's gradient of it (set).
  double backward(const std::vector<std::int32_t>& targets);

  /// The auxiliary memory loss (lm/memory_loss.hpp): from now on, training forward passes of a
  /// selective model add weight · L_mem to the loss that `backward` returns and differentiates,
  /// L_mem = the mean over layers of (1 / (B·T)) · Σ_b max_i M_{b,i}. weight 0 turns it off
  /// (the default; a plain-attention model has no F and ignores it).
  /// @throws std::invalid_argument for a negative or non-finite weight or tau not > 0.
  void set_memory_loss(const MemoryLossOptions& options);
  const MemoryLossOptions& memory_loss_options() const noexcept { return mem_; }
  /// L_mem of the last training forward pass (0 when off).
  double memory_loss() const;

  /// Weights on the model's heads, MLP channels, branches and residual channels (see
  /// `StructureScales`): from now on forward and backward apply them, and backward also sets
  /// their gradients (`structure_scale_grad`). Empty scales turn them off.
  /// @throws std::invalid_argument naming the field for a list of the wrong length (per layer:
  ///         0 or `layers`; per head: 0 or that layer's heads, 0 for a layer without attention;
  ///         per channel: 0 or its MLP width; width: 0 or width), a value that is not finite, or
  ///         width weights that are all 0. Nothing changes then.
  void set_structure_scales(const StructureScales<T>& scales);
  /// The checks of `set_structure_scales`, changing nothing. @throws as it does.
  void check_structure_scales(const StructureScales<T>& scales) const;
  void clear_structure_scales() { set_structure_scales(StructureScales<T>{}); }
  const StructureScales<T>& structure_scales() const noexcept { return scales_; }
  bool has_structure_scales() const noexcept { return !scales_.empty(); }
  /// The loss's gradients with respect to the scales set, by the last backward pass: the same
  /// shape as `structure_scales()` (empty where they are empty).
  const StructureScales<T>& structure_scale_grad() const noexcept { return scale_grad_; }

  /// forward(ids, seq_len, train = true) then backward(targets): one training step's gradients.
  double forward_backward(const std::vector<std::int32_t>& ids, const std::vector<std::int32_t>& targets,
                          Index seq_len);

  /// Every trainable tensor, in a fixed order (the order `save_lm` writes).
  std::vector<Parameter<T>*> parameters();
  /// The same tensors with unique dotted names ("block0.attention.qkv.weight", ...).
  std::vector<std::pair<std::string, Parameter<T>*>> named_parameters();
  /// Number of scalars in `parameters()`.
  Index parameter_count();
  /// The random engines training forward passes advance (the dropout masks'), in a fixed order:
  /// with the parameters, what a training checkpoint must restore for the run to continue exactly.
  std::vector<Rng*> random_engines();

  const TransformerConfig& config() const noexcept { return cfg_; }
  Index layers() const noexcept { return Index(blocks_.size()); }
  TransformerBlock<T>& block(Index l) { return *blocks_.at(std::size_t(l)); }
  const TransformerBlock<T>& block(Index l) const { return *blocks_.at(std::size_t(l)); }
  Embedding<T>& token_embedding() noexcept { return tok_; }
  PositionalEmbedding<T>& position_embedding() noexcept { return pos_; }
  LayerNorm<T>& final_norm() noexcept { return lnf_; }
  /// The untied output layer (null when the embeddings are tied).
  Dense<T>* output_layer() noexcept { return head_.get(); }
  const Embedding<T>& token_embedding() const noexcept { return tok_; }
  const PositionalEmbedding<T>& position_embedding() const noexcept { return pos_; }
  const LayerNorm<T>& final_norm() const noexcept { return lnf_; }
  const Dense<T>* output_layer() const noexcept { return head_.get(); }
  const RowMatrix<T>& logits() const noexcept { return logits_; }
  /// The residual stream of the last forward pass entering block `l` (l = layers: leaving the
  /// last block), (B·T) × width. @throws std::invalid_argument for l outside [0, layers] or
  /// before a forward pass.
  const RowMatrix<T>& last_hidden(Index l) const {
    detail::require(l >= 0 && l < Index(X_.size()), "attnsel::TransformerLM::last_hidden", "argument 'l' is ", l,
                    X_.empty() ? std::string(", and no forward pass has run") : ", expected a value in [0, " + std::to_string(layers()) + "]");
    return X_[std::size_t(l)];
  }

 private:
  TransformerConfig cfg_;
  Rng rng_;
  Embedding<T> tok_;
  PositionalEmbedding<T> pos_;
  Dropout<T> drop_;
  std::vector<std::unique_ptr<TransformerBlock<T>>> blocks_;
  LayerNorm<T> lnf_;
  std::unique_ptr<Dense<T>> head_;
  // Last forward pass.
  std::vector<std::int32_t> ids_;
  Index seq_len_ = 0;
  std::vector<RowMatrix<T>> X_;  // X_[0] embeddings (after dropout), X_[l+1] output of block l
  RowMatrix<T> E0_, Hf_, logits_;
  bool embed_dropped_ = false;  // whether the last forward pass applied dropout to the embedding
  MemoryLossOptions mem_;
  StructureScales<T> scales_, scale_grad_;
  RowMatrix<T> Eu_;  // the embeddings before the width weights (when set)
  // Backward scratch.
  RowMatrix<T> dlogits_, dHf_, dX_, dXprev_;
};

ATTNSEL_NAMESPACE_END

#include "transformer_impl.hpp"
