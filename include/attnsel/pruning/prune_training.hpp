// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file prune_training.hpp
/// Driving block pruners from attnsel's trainer: `BlockPruning` is a `fit` callback that, for
/// each pruned Dense layer, tells its pruner the training progress, installs the pruner's
/// multiplier through the layer's weight-mask hook, resets the optimizer state at every phase
/// boundary, and turns the hook's mask gradient into the pruner's parameter gradients.
///
///     auto model = attnsel::make_mlp<float>(784, 10, mlp);
///     attnsel::Adam<float> adam(ao);
///     attnsel::BlockPruning<float, attnsel::Adam<float>> pruning(adam);
///     pruning.add(model, /*layer=*/0, attnsel::PruningMethod::sequential_attention_pp, 16, po);
///     attnsel::fit(model, loss, adam, X, Y, t, pruning);  // also registers the model's parameters
///     pruning.pruner(0).mask();                      // the kept blocks

#include <memory>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../error.hpp"
#include "../nn/layers.hpp"
#include "../nn/sequential.hpp"
#include "../optim/optimizer.hpp"
#include "../train/callbacks.hpp"
#include "pruners.hpp"

ATTNSEL_NAMESPACE_BEGIN

template <class T, class Optimizer>
class BlockPruning {
 public:
  explicit BlockPruning(Optimizer& optimizer) : opt_(&optimizer) {}

  /// Prunes `layer` with `pruner`; the pruner's parameters (SA++'s logits) are registered with
  /// the optimizer in their own group (weight decay = options().logit_weight_decay).
  BlockPruner<T>& add(Dense<T>& layer, std::unique_ptr<BlockPruner<T>> pruner) {
    detail::require(pruner != nullptr, "BlockPruning::add", "pruner is null");
    detail::require(pruner->grid().rows() == layer.input_size() && pruner->grid().cols() == layer.output_size(),
                    "BlockPruning::add", "the pruner's grid is ", pruner->grid().rows(), " x ", pruner->grid().cols(),
                    ", the layer's weight is ", layer.input_size(), " x ", layer.output_size());
    const auto params = pruner->parameters();
    if (!params.empty()) {
      GroupOptions<T> g;
      g.weight_decay = pruner->options().logit_weight_decay;
      opt_->add_parameters(params, g);
    }
    entries_.push_back({&layer, std::move(pruner)});
    return *entries_.back().pruner;
  }

  /// Prunes the `dense_index`-th Dense layer of `model` (0 = the first) with square blocks.
  template <class Model>
  BlockPruner<T>& add(Model& model, Index dense_index, PruningMethod method, Index block,
                      const PruningOptions<T>& options = {}) {
    detail::require(block >= 1, "BlockPruning::add", "argument 'block' is ", block,
                    ", expected >= 1 (it gives block_rows and block_cols)");
    Index seen = 0;
    for (std::size_t i = 0; i < model.size(); ++i)
      if (auto* d = dynamic_cast<Dense<T>*>(&model.layer(i))) {
        if (seen++ == dense_index) {
          const BlockGrid grid(d->input_size(), d->output_size(), block, block);
          return add(*d, make_pruner<T>(method, grid, options));
        }
      }
    detail::throw_invalid("BlockPruning::add", "dense_index ", dense_index, " is out of range: the model has ", seen,
                          " Dense layers");
  }

  Index size() const noexcept { return Index(entries_.size()); }
  BlockPruner<T>& pruner(Index i) { return *entries_.at(std::size_t(i)).pruner; }
  const BlockPruner<T>& pruner(Index i) const { return *entries_.at(std::size_t(i)).pruner; }
  /// Phase boundaries seen (optimizer resets).
  Index resets() const noexcept { return resets_; }

  void on_step_begin(const StepInfo<T>& s) { progress(s.tau); }

  void on_backward_end(const StepInfo<T>&) {
    for (auto& e : entries_) {
      auto& W = e.layer->weight();
      e.pruner->backward(W.value, e.layer->weight_mask_grad(), W.grad);
    }
  }

  /// Ends at τ = 1: the final masks are in force for prediction.
  void on_train_end(const TrainHistory<T>&) { progress(1.0); }

 private:
  struct Entry {
    Dense<T>* layer;
    std::unique_ptr<BlockPruner<T>> pruner;
  };

  void progress(double tau) {
    bool boundary = false;
    for (auto& e : entries_) {
      boundary = e.pruner->set_progress(tau, e.layer->weight().value) || boundary;
      e.layer->set_weight_mask(e.pruner->multiplier());
    }
    if (boundary) {
      opt_->reset_state();
      ++resets_;
    }
  }

  Optimizer* opt_;
  std::vector<Entry> entries_;
  Index resets_ = 0;
};

ATTNSEL_NAMESPACE_END
