// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file nn/sequential.hpp
/// A stack of layers with its activation buffers, and `make_mlp` to build the usual ones.

#include <cstdint>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../types.hpp"
#include "layers.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// Layers applied in order. Owns the layers and the buffers between them, so a training step
/// allocates nothing once the batch size is stable. Move-only.
///
/// Model interface used by the trainer: `forward(X, train)`, `backward(dOut)`, `parameters()`,
/// `input_size()`, `output_size()`.
template <class T>
class Sequential {
 public:
  Sequential() = default;
  Sequential(Sequential&&) noexcept = default;
  Sequential& operator=(Sequential&&) noexcept = default;
  Sequential(const Sequential&) = delete;
  Sequential& operator=(const Sequential&) = delete;

  /// Appends a layer. @throws std::invalid_argument if its input size differs from the previous
  /// layer's output size, or it is null.
  Layer<T>& add(std::unique_ptr<Layer<T>> layer) {
    detail::require(layer != nullptr, "attnsel::Sequential::add", "argument 'layer' is null");
    if (!layers_.empty()) {
      detail::require(layer->input_size() == layers_.back()->output_size(), "attnsel::Sequential::add",
                      "layer ", layer->describe(), " takes ", layer->input_size(), " inputs, but ",
                      layers_.back()->describe(), " gives ", layers_.back()->output_size());
    }
    layers_.push_back(std::move(layer));
    acts_.resize(layers_.size());
    grads_.resize(layers_.size());
    return *layers_.back();
  }

  /// Constructs a layer of type L in place and appends it.
  template <class L, class... Args>
  L& emplace(Args&&... args) {
    auto p = std::make_unique<L>(std::forward<Args>(args)...);
    L& ref = *p;
    add(std::move(p));
    return ref;
  }

  std::size_t size() const noexcept { return layers_.size(); }
  bool empty() const noexcept { return layers_.empty(); }
  Layer<T>& layer(std::size_t i) { return *layers_.at(i); }
  const Layer<T>& layer(std::size_t i) const { return *layers_.at(i); }
  Index input_size() const { return layers_.empty() ? 0 : layers_.front()->input_size(); }
  Index output_size() const { return layers_.empty() ? 0 : layers_.back()->output_size(); }

  /// The first layer of type L, or nullptr.
  template <class L>
  L* find() noexcept {
    for (auto& l : layers_)
      if (auto* p = dynamic_cast<L*>(l.get())) return p;
    return nullptr;
  }

  /// Runs the layers on a batch and returns the output (valid until the next forward). The
  /// model keeps a copy of X for backward. @throws std::invalid_argument on a column-count
  /// mismatch or an empty model.
  const RowMatrix<T>& forward(const RowMatrix<T>& X, bool train) {
    if (&X != &input_) input_ = X;
    return forward_input(train);
  }

  /// The buffer `forward_input` reads: a trainer can gather a batch straight into it and save a
  /// copy.
  RowMatrix<T>& input_buffer() noexcept { return input_; }

  /// forward() on the batch already in input_buffer().
  const RowMatrix<T>& forward_input(bool train) {
    detail::require(!layers_.empty(), "attnsel::Sequential::forward", "the model has no layers");
    const RowMatrix<T>* in = &input_;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      layers_[i]->forward(*in, acts_[i], train);
      in = &acts_[i];
    }
    return acts_.back();
  }

  /// Back-propagates dL/d(output) of the last forward through every layer, filling each
  /// parameter's grad. The input gradient of the first layer is not computed.
  void backward(const RowMatrix<T>& dOut) {
    detail::require(!layers_.empty(), "attnsel::Sequential::backward", "the model has no layers");
    check_forward_done();
    const RowMatrix<T>* g = &dOut;
    for (std::size_t i = layers_.size(); i-- > 0;) {
      RowMatrix<T>* dX = i > 0 ? &grads_[i] : nullptr;
      layers_[i]->backward(layer_input(i), acts_[i], *g, dX);
      g = dX;
    }
  }

  /// Like backward, and also returns dL/dX of the model input.
  const RowMatrix<T>& backward_with_input_grad(const RowMatrix<T>& dOut) {
    detail::require(!layers_.empty(), "attnsel::Sequential::backward", "the model has no layers");
    check_forward_done();
    const RowMatrix<T>* g = &dOut;
    for (std::size_t i = layers_.size(); i-- > 0;) {
      layers_[i]->backward(layer_input(i), acts_[i], *g, &grads_[i]);
      g = &grads_[i];
    }
    return grads_.front();
  }

  /// All trainable tensors, in layer order.
  std::vector<Parameter<T>*> parameters() {
    std::vector<Parameter<T>*> out;
    for (auto& l : layers_)
      for (Parameter<T>* p : l->parameters()) out.push_back(p);
    return out;
  }

  /// Number of scalar parameters.
  Index parameter_count() {
    Index n = 0;
    for (Parameter<T>* p : parameters()) n += p->value.size();
    return n;
  }

  /// Outputs for every row of X in evaluation mode, `batch` rows at a time.
  /// @throws std::invalid_argument if X has the wrong number of columns or batch < 1.
  template <class D>
  RowMatrix<T> predict(const Eigen::MatrixBase<D>& X, Index batch = 1024) {
    detail::require(batch >= 1, "attnsel::Sequential::predict", "argument 'batch' is ", batch, ", expected >= 1");
    detail::require(X.cols() == input_size(), "attnsel::Sequential::predict", "argument 'X' has ", X.cols(),
                    " columns, expected ", input_size());
    RowMatrix<T> out(X.rows(), output_size());
    RowMatrix<T> chunk;
    for (Index r = 0; r < X.rows(); r += batch) {
      const Index n = std::min(batch, X.rows() - r);
      chunk = X.middleRows(r, n).template cast<T>();
      out.middleRows(r, n) = forward(chunk, false);
    }
    return out;
  }

  /// One line per layer and the parameter count.
  std::string summary() {
    std::ostringstream os;
    for (auto& l : layers_) os << l->describe() << '\n';
    os << parameter_count() << " parameters";
    return os.str();
  }

 private:
  const RowMatrix<T>& layer_input(std::size_t i) const { return i == 0 ? input_ : acts_[i - 1]; }
  void check_forward_done() const {
    detail::require(acts_.back().rows() == input_.rows() && input_.size() > 0, "attnsel::Sequential::backward",
                    "called before forward");
  }

  std::vector<std::unique_ptr<Layer<T>>> layers_;
  RowMatrix<T> input_;               // copy of the last forward input
  std::vector<RowMatrix<T>> acts_;   // acts_[i] = output of layer i
  std::vector<RowMatrix<T>> grads_;  // grads_[i] = dL/d(input of layer i)
};

/// What `make_mlp` builds.
struct MLPOptions {
  /// Widths of the hidden Dense + ReLU layers, e.g. {67} or {256, 128}; empty = linear model.
  std::vector<Index> hidden{67};
  /// Batch normalisation of the raw input (first layer), as the Sequential Attention models use.
  bool input_batch_norm = false;
  /// A FeatureScale layer on the (normalised) input, for attention masks.
  bool feature_scale = false;
  Init init = Init::glorot_uniform;
  std::uint64_t seed = 1;
};

/// [BatchNorm] → [FeatureScale] → (Dense → ReLU) per hidden width → Dense(outputs).
/// The last layer outputs logits (classification) or values (regression): the loss applies
/// the link function. @throws std::invalid_argument for sizes < 1.
template <class T>
Sequential<T> make_mlp(Index inputs, Index outputs, const MLPOptions& options = {}) {
  detail::require(inputs >= 1, "attnsel::make_mlp", "argument 'inputs' is ", inputs, ", expected >= 1");
  detail::require(outputs >= 1, "attnsel::make_mlp", "argument 'outputs' is ", outputs, ", expected >= 1");
  for (std::size_t i = 0; i < options.hidden.size(); ++i)
    detail::require(options.hidden[i] >= 1, "attnsel::make_mlp", "option 'hidden' holds ", options.hidden[i],
                    " at position ", i, ", expected widths >= 1");
  Rng rng(options.seed);
  Sequential<T> model;
  if (options.input_batch_norm) model.template emplace<BatchNorm<T>>(inputs);
  if (options.feature_scale) model.template emplace<FeatureScale<T>>(inputs);
  Index width = inputs;
  for (Index h : options.hidden) {
    model.template emplace<Dense<T>>(width, h, rng, options.init);
    model.template emplace<ReLU<T>>(h);
    width = h;
  }
  model.template emplace<Dense<T>>(width, outputs, rng, options.init);
  return model;
}

ATTNSEL_NAMESPACE_END
