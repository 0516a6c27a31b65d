// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file pruners.hpp
/// Block pruners for one weight matrix W (R × C): SequentialAttention++ and the baselines it is
/// compared with (block magnitude pruning, block Powerpropagation, ACDC), all behind one
/// interface so a training loop drives any of them the same way:
///
///     bool boundary = pruner.set_progress(tau, W);   // start of every step; true → reset optimizer
///     W_eff = W ⊙ pruner.multiplier();                // forward with the effective weight
///     ... backward gives dL/dW_eff ...
///     dW = pruner.weight_gradient(W, dW_eff);         // also fills the pruner's own parameters' grad
///     // update W with dW and pruner.parameters() (SA++'s block logits) with their .grad
///
/// With attnsel's trainer, `BlockPruning` (prune_training.hpp) does this through the Dense
/// layer's weight-mask hook.
///
/// SequentialAttention++ (Yasuda et al., 2024): one logit per block, block attention
/// A = N · softmax(L) (N blocks, so A ≡ 1 at L = 0), clipped to [attention_min, attention_max];
/// W_eff = W ⊙ A ⊙ mask. Dense phases apply no mask but keep the top-k blocks by A; a
/// sparsification phase prunes the alive blocks with the smallest A down the exponential
/// schedule to k; the sparse phase freezes that mask; fine-tuning freezes A and the mask.
/// k = round((1 − sparsity) · N). Layers with fewer than `min_blocks` blocks stay dense.

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "../config.hpp"
#include "../error.hpp"
#include "../nn/parameter.hpp"
#include "../types.hpp"
#include "block_grid.hpp"
#include "schedule.hpp"

ATTNSEL_NAMESPACE_BEGIN

template <class T>
struct PruningOptions {
  /// Fraction of blocks pruned, [0, 1).
  double sparsity = 0.9;
  PruningSchedule schedule{};
  /// Layers with fewer blocks are left dense (the paper: 100).
  Index min_blocks = 100;
  /// SA++: bounds of the block attention A (mean 1); the paper clips A but its printed bounds
  /// are unclear, so both are parameters. Default: no clipping.
  T attention_min = T(0);
  T attention_max = std::numeric_limits<T>::infinity();
  /// Weight decay on SA++'s block logits (the paper: weight decay helps, on the logits too);
  /// used by `BlockPruning` when it registers the logits with the optimizer.
  T logit_weight_decay = T(1e-4);
};

enum class PruningMethod { sequential_attention_pp, magnitude, powerprop, acdc };

inline const char* to_string(PruningMethod m) noexcept {
  switch (m) {
    case PruningMethod::sequential_attention_pp: return "sa++";
    case PruningMethod::magnitude: return "magnitude";
    case PruningMethod::powerprop: return "powerprop";
    case PruningMethod::acdc: return "acdc";
  }
  return "?";
}

/// Common interface and state of the block pruners.
template <class T>
class BlockPruner {
 public:
  using Position = PruningSchedule::Position;

  BlockPruner(const BlockGrid& grid, const PruningOptions<T>& options, const char* name)
      : grid_(grid), o_(options), name_(name) {
    const std::string fn = std::string(name) + " pruner";
    detail::require(grid.blocks() >= 1, fn.c_str(), "the block grid is empty (build it with BlockGrid(rows, cols, br, bc))");
    detail::require(std::isfinite(options.sparsity) && options.sparsity >= 0.0 && options.sparsity < 1.0, fn.c_str(),
                    "sparsity must be in [0, 1) (got ", options.sparsity, ")");
    detail::require(options.min_blocks >= 0, fn.c_str(), "min_blocks must be >= 0 (got ", options.min_blocks, ")");
    detail::require(!(options.attention_min < T(0)) && options.attention_min <= options.attention_max, fn.c_str(),
                    "need 0 <= attention_min <= attention_max (got ", options.attention_min, ", ", options.attention_max, ")");
    detail::require(std::isfinite(options.logit_weight_decay) && options.logit_weight_decay >= T(0), fn.c_str(),
                    "logit_weight_decay must be finite and >= 0 (got ", options.logit_weight_decay, ")");
    options.schedule.validate(fn.c_str());
    const Index n = grid.blocks();
    k_ = std::max<Index>(1, static_cast<Index>(std::llround((1.0 - options.sparsity) * double(n))));
    active_ = n >= options.min_blocks;
    mask_ = BlockMask::Constant(grid.grid_rows(), grid.grid_cols(), true);
    multiplier_ = RowMatrix<T>::Ones(grid.rows(), grid.cols());
  }
  virtual ~BlockPruner() = default;
  BlockPruner(const BlockPruner&) = delete;
  BlockPruner& operator=(const BlockPruner&) = delete;

  const BlockGrid& grid() const noexcept { return grid_; }
  const PruningOptions<T>& options() const noexcept { return o_; }
  const char* name() const noexcept { return name_; }
  /// Blocks kept at the end: round((1 − sparsity) · blocks), at least 1.
  Index kept_blocks() const noexcept { return active_ ? k_ : grid_.blocks(); }
  /// False when the layer has fewer than min_blocks blocks (it stays dense).
  bool active() const noexcept { return active_; }
  Position position() const noexcept { return pos_; }
  PruningPhase phase() const noexcept { return pos_.phase; }

  /// Tells the pruner the training progress τ ∈ [0, 1] at the start of a step. It may read W and,
  /// for the baselines, zero pruned blocks. Returns true when a phase boundary was crossed since
  /// the previous call (reset the optimizer state then).
  bool set_progress(double tau, RowMatrix<T>& W) {
    detail::require(std::isfinite(tau) && tau >= 0.0 && tau <= 1.0, name_, "tau must be in [0, 1] (got ", tau, ")");
    detail::require(W.rows() == grid_.rows() && W.cols() == grid_.cols(), name_, "W is ", W.rows(), " x ", W.cols(),
                    ", expected the grid's ", grid_.rows(), " x ", grid_.cols());
    if (!active_) return false;
    const Position now = locate(tau);
    const bool boundary = started_ && now.index != pos_.index;
    const bool entered = !started_ || now.index != pos_.index;
    pos_ = now;
    started_ = true;
    update(entered, W);
    return boundary;
  }

  /// W_eff = W ⊙ multiplier (R × C).
  const RowMatrix<T>& multiplier() const noexcept { return multiplier_; }
  /// The block mask in force (all true in dense phases).
  const BlockMask& mask() const noexcept { return mask_; }
  /// The k blocks the method would keep now (in force after sparse phases).
  virtual BlockMask selected_mask() const { return mask_; }

  /// Adds the method's own gradient terms, given dM = dL/dM = dL/dW_eff ⊙ W and
  /// dW = dL/dW_eff ⊙ M (what the Dense layer's mask hook computes). The methods that read them
  /// throw std::invalid_argument unless W, dM and dW are R × C.
  virtual void backward(const RowMatrix<T>& W, const RowMatrix<T>& dM, RowMatrix<T>& dW) {
    (void)W;
    (void)dM;
    (void)dW;
  }

  /// For a user's own loop: W_eff = W ⊙ M.
  RowMatrix<T> effective_weight(const RowMatrix<T>& W) const { return W.cwiseProduct(multiplier_); }

  /// For a user's own loop: dL/dW from dL/dW_eff (and the pruner's own parameter gradients).
  RowMatrix<T> weight_gradient(const RowMatrix<T>& W, const RowMatrix<T>& dW_eff) {
    detail::require(dW_eff.rows() == grid_.rows() && dW_eff.cols() == grid_.cols(), name_, "dW_eff is ",
                    dW_eff.rows(), " x ", dW_eff.cols(), ", expected ", grid_.rows(), " x ", grid_.cols());
    check_matrix("W", W);
    RowMatrix<T> dW = dW_eff.cwiseProduct(multiplier_);
    if (active_) backward(W, dW_eff.cwiseProduct(W), dW);
    return dW;
  }

  /// Trainable parameters of the method (SA++'s block logits), to register with an optimizer.
  virtual std::vector<Parameter<T>*> parameters() { return {}; }

 protected:
  /// `M` (argument `name`) must have the grid's R × C shape.
  void check_matrix(const char* name, const RowMatrix<T>& M) const {
    detail::require(M.rows() == grid_.rows() && M.cols() == grid_.cols(), name_, "argument '", name, "' is ", M.rows(),
                    " x ", M.cols(), ", expected the grid's ", grid_.rows(), " x ", grid_.cols());
  }
  /// The shapes `backward` needs.
  void check_backward(const RowMatrix<T>& W, const RowMatrix<T>& dM, const RowMatrix<T>& dW) const {
    check_matrix("W", W);
    check_matrix("dM", dM);
    check_matrix("dW", dW);
  }

  /// Position on the method's timeline.
  virtual Position locate(double tau) const {
    Position p;  // dense, then fine-tune with the mask: magnitude and Powerprop
    const double end = 1.0 - o_.schedule.fine_tune;
    p.phase = tau >= end ? PruningPhase::fine_tune : PruningPhase::dense;
    p.index = tau >= end ? 1 : 0;
    return p;
  }
  /// Updates mask_ and multiplier_ for the current position (entered: first call of this phase).
  virtual void update(bool entered, RowMatrix<T>& W) = 0;

  /// The k entries of `score` (grid-shaped) with the largest values among `candidates`;
  /// ties go to the lower block index.
  static BlockMask top_k(const RowMatrix<T>& score, const BlockMask& candidates, Index k) {
    std::vector<Index> idx;
    for (Index b = 0; b < score.size(); ++b)
      if (candidates.data()[b]) idx.push_back(b);
    const Index keep = std::min<Index>(k, Index(idx.size()));
    std::partial_sort(idx.begin(), idx.begin() + keep, idx.end(), [&](Index a, Index b) {
      const T sa = score.data()[a], sb = score.data()[b];
      return sa > sb || (sa == sb && a < b);
    });
    BlockMask m = BlockMask::Constant(score.rows(), score.cols(), false);
    for (Index i = 0; i < keep; ++i) m.data()[idx[std::size_t(i)]] = true;
    return m;
  }

  /// Zeroes W on the blocks outside `mask`.
  void zero_pruned(RowMatrix<T>& W, const BlockMask& mask) const {
    for (Index i = 0; i < W.rows(); ++i)
      for (Index j = 0; j < W.cols(); ++j)
        if (!mask(i / grid_.block_rows(), j / grid_.block_cols())) W(i, j) = T(0);
  }

  BlockGrid grid_;
  PruningOptions<T> o_;
  const char* name_;
  Index k_ = 1;
  bool active_ = true;
  bool started_ = false;
  Position pos_{};
  BlockMask mask_;
  RowMatrix<T> multiplier_;
};

/// SequentialAttention++: softmax attention over blocks + dense / sparsify / sparse phases.
template <class T>
class SequentialAttentionPP final : public BlockPruner<T> {
  using Base = BlockPruner<T>;

 public:
  explicit SequentialAttentionPP(const BlockGrid& grid, const PruningOptions<T>& options = {})
      : Base(grid, options, "SequentialAttentionPP"),
        logits_("block_logits", grid.grid_rows(), grid.grid_cols()),
        alive_(BlockMask::Constant(grid.grid_rows(), grid.grid_cols(), true)),
        top_(alive_) {
    attention_ = RowMatrix<T>::Ones(grid.grid_rows(), grid.grid_cols());
    clipped_ = BlockMask::Constant(grid.grid_rows(), grid.grid_cols(), false);
  }

  /// Block attention A = N · softmax(logits), clipped (grid-shaped).
  const RowMatrix<T>& attention() const noexcept { return attention_; }
  Parameter<T>& logits() noexcept { return logits_; }
  const Parameter<T>& logits() const noexcept { return logits_; }
  BlockMask selected_mask() const override {
    return this->pos_.phase == PruningPhase::dense ? top_ : this->mask_;
  }
  std::vector<Parameter<T>*> parameters() override { return {&logits_}; }

  void backward(const RowMatrix<T>& W, const RowMatrix<T>& dM, RowMatrix<T>& dW) override {
    this->check_backward(W, dM, dW);
    // Sets the logits' gradient for this step (docs/conventions.md §1: backward passes set, never
    // accumulate); zero when the logits take no part in this step.
    logits_.grad.setZero();
    if (!this->active_ || !logits_.trainable) return;
    const RowMatrix<T> g_sum = this->grid_.block_sum(dM);
    const Index n = this->grid_.blocks();
    RowMatrix<T> g(g_sum.rows(), g_sum.cols());
    for (Index b = 0; b < n; ++b)  // dL/dA_b: through the applied mask, zero where A is clipped
      g.data()[b] = (this->mask_.data()[b] && !clipped_.data()[b]) ? g_sum.data()[b] : T(0);
    // A = N softmax(L): dA_b/dL_c = A_b (δ_bc − A_c / N)
    const T ga = g.cwiseProduct(raw_).sum() / T(n);
    logits_.grad = raw_.cwiseProduct(g) - raw_ * ga;
  }

 protected:
  typename Base::Position locate(double tau) const override { return this->o_.schedule.at(tau, true); }

  void update(bool entered, RowMatrix<T>&) override {
    const Index n = this->grid_.blocks();
    const PruningPhase ph = this->pos_.phase;
    if (ph != PruningPhase::fine_tune || entered) compute_attention();
    logits_.trainable = ph != PruningPhase::fine_tune;
    switch (ph) {
      case PruningPhase::dense:
        this->mask_.setConstant(true);
        top_ = Base::top_k(attention_, all(), this->k_);
        break;
      case PruningPhase::sparsify: {
        if (entered) alive_.setConstant(true);
        const double s = this->o_.schedule.sparsity_at(this->pos_.u, this->o_.sparsity);
        const Index target = std::max(this->k_, static_cast<Index>(std::llround((1.0 - s) * double(n))));
        if (alive_.count() > target) alive_ = Base::top_k(attention_, alive_, target);
        this->mask_ = alive_;
        break;
      }
      case PruningPhase::sparse:
      case PruningPhase::fine_tune:
        if (entered) {
          alive_ = Base::top_k(attention_, alive_.count() >= this->k_ ? alive_ : all(), this->k_);
          this->mask_ = alive_;
        }
        break;
    }
    this->multiplier_ = this->grid_.expand(attention_.cwiseProduct(this->mask_.template cast<T>()));
  }

 private:
  BlockMask all() const { return BlockMask::Constant(this->grid_.grid_rows(), this->grid_.grid_cols(), true); }

  void compute_attention() {
    const Index n = this->grid_.blocks();
    const T mx = logits_.value.maxCoeff();
    raw_ = (logits_.value.array() - mx).exp().matrix();
    raw_ *= T(n) / raw_.sum();
    attention_ = raw_.cwiseMax(this->o_.attention_min).cwiseMin(this->o_.attention_max);
    for (Index b = 0; b < n; ++b) clipped_.data()[b] = attention_.data()[b] != raw_.data()[b];
  }

  Parameter<T> logits_;
  RowMatrix<T> attention_, raw_ = RowMatrix<T>();
  BlockMask alive_, top_, clipped_;
};

/// Block magnitude pruning: dense training, then keep the k blocks with the largest Frobenius
/// norm and fine-tune with that mask.
template <class T>
class MagnitudePruner final : public BlockPruner<T> {
 public:
  explicit MagnitudePruner(const BlockGrid& grid, const PruningOptions<T>& options = {})
      : BlockPruner<T>(grid, options, "MagnitudePruner") {}

  BlockMask selected_mask() const override { return this->mask_; }

 protected:
  void update(bool entered, RowMatrix<T>& W) override {
    if (this->pos_.phase != PruningPhase::fine_tune || !entered) return;
    this->mask_ = BlockPruner<T>::top_k(this->grid_.block_norms(W), all(), this->k_);
    this->zero_pruned(W, this->mask_);
    this->multiplier_ = this->grid_.template element_mask<T>(this->mask_);
  }

 private:
  BlockMask all() const { return BlockMask::Constant(this->grid_.grid_rows(), this->grid_.grid_cols(), true); }
};

/// Block Powerpropagation: each block is used as W_b · ‖W_b‖_F (W is rescaled once at the start
/// so the effective initial weights are unchanged); then the k blocks with the largest norm are
/// kept for fine-tuning.
template <class T>
class PowerpropPruner final : public BlockPruner<T> {
 public:
  explicit PowerpropPruner(const BlockGrid& grid, const PruningOptions<T>& options = {})
      : BlockPruner<T>(grid, options, "PowerpropPruner") {}

  void backward(const RowMatrix<T>& W, const RowMatrix<T>& dM, RowMatrix<T>& dW) override {
    // W_eff = W ⊙ ‖W_b‖: dL/dW += (Σ_b dM / ‖W_b‖) W on kept blocks.
    this->check_backward(W, dM, dW);
    if (!this->active_) return;  // a layer below min_blocks stays dense: W_eff = W
    detail::require(norms_.rows() == this->grid_.grid_rows() && norms_.cols() == this->grid_.grid_cols(), this->name_,
                    "backward called before set_progress");
    const RowMatrix<T> s = this->grid_.block_sum(dM);
    const Index br = this->grid_.block_rows(), bc = this->grid_.block_cols();
    for (Index i = 0; i < W.rows(); ++i)
      for (Index j = 0; j < W.cols(); ++j) {
        const Index r = i / br, c = j / bc;
        if (this->mask_(r, c) && norms_(r, c) > T(0)) dW(i, j) += s(r, c) / norms_(r, c) * W(i, j);
      }
  }

 protected:
  void update(bool entered, RowMatrix<T>& W) override {
    if (!rescaled_) {  // W_b ← W_b / sqrt(‖W_b‖): then W_b ‖W_b‖ equals the original block
      const RowMatrix<T> n = this->grid_.block_norms(W);
      for (Index i = 0; i < W.rows(); ++i)
        for (Index j = 0; j < W.cols(); ++j) {
          const T v = n(i / this->grid_.block_rows(), j / this->grid_.block_cols());
          if (v > T(0)) W(i, j) /= std::sqrt(v);
        }
      rescaled_ = true;
    }
    if (this->pos_.phase == PruningPhase::fine_tune && entered) {
      this->mask_ = BlockPruner<T>::top_k(this->grid_.block_norms(W),
                                          BlockMask::Constant(this->grid_.grid_rows(), this->grid_.grid_cols(), true),
                                          this->k_);
      this->zero_pruned(W, this->mask_);
    }
    norms_ = this->grid_.block_norms(W);
    this->multiplier_ = this->grid_.expand(norms_.cwiseProduct(this->mask_.template cast<T>()));
  }

 private:
  RowMatrix<T> norms_;
  bool rescaled_ = false;
};

/// ACDC (Peste et al., 2021): dense warm-up, then alternating sparse phases (the k blocks with
/// the largest norm at the phase start; the others zeroed and frozen) and dense phases, a final
/// sparse phase and fine-tuning, on the same timeline as SA++ without sparsification phases.
template <class T>
class ACDCPruner final : public BlockPruner<T> {
 public:
  explicit ACDCPruner(const BlockGrid& grid, const PruningOptions<T>& options = {})
      : BlockPruner<T>(grid, options, "ACDCPruner") {}

 protected:
  typename BlockPruner<T>::Position locate(double tau) const override { return this->o_.schedule.at(tau, false); }

  void update(bool entered, RowMatrix<T>& W) override {
    const PruningPhase ph = this->pos_.phase;
    if (ph == PruningPhase::dense) {
      this->mask_.setConstant(true);
      this->multiplier_.setOnes();
      return;
    }
    if (!entered) return;
    if (ph == PruningPhase::sparse || !has_mask_) {
      this->mask_ = BlockPruner<T>::top_k(this->grid_.block_norms(W),
                                          BlockMask::Constant(this->grid_.grid_rows(), this->grid_.grid_cols(), true),
                                          this->k_);
      has_mask_ = true;
    }
    this->zero_pruned(W, this->mask_);
    this->multiplier_ = this->grid_.template element_mask<T>(this->mask_);
  }

 private:
  bool has_mask_ = false;
};

/// A pruner of the given method for one weight matrix.
template <class T>
std::unique_ptr<BlockPruner<T>> make_pruner(PruningMethod method, const BlockGrid& grid,
                                            const PruningOptions<T>& options = {}) {
  switch (method) {
    case PruningMethod::sequential_attention_pp: return std::make_unique<SequentialAttentionPP<T>>(grid, options);
    case PruningMethod::magnitude: return std::make_unique<MagnitudePruner<T>>(grid, options);
    case PruningMethod::powerprop: return std::make_unique<PowerpropPruner<T>>(grid, options);
    case PruningMethod::acdc: return std::make_unique<ACDCPruner<T>>(grid, options);
  }
  detail::throw_invalid("make_pruner", "unknown PruningMethod ", static_cast<int>(method));
}

ATTNSEL_NAMESPACE_END
