// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file selection/sequential_attention.hpp
/// SequentialAttentionSelector: greedy forward feature selection in one training run
/// (Yasuda et al., ICLR 2023). The model is the reference one (docs/sequential-attention.md §2): batch normalisation of
/// the raw input → x ⊙ a (the attention mask of attention_mask.hpp) → Dense + ReLU layers →
/// Dense to the classes (softmax cross-entropy) or to one output (squared error); Adam with
/// exponential learning-rate decay trains the network and the attention logits together.
///
/// @code
///   attnsel::SequentialAttentionOptions<float> o;
///   o.k = 10;
///   attnsel::SequentialAttentionSelector<float> sa(o);
///   attnsel::Selection<float> s = sa.fit(X, y, attnsel::ProgressBar(err));  // err: a std::ostream
///   s.features;                       // ordered feature indices
///   RowMatrix<float> Xs = sa.transform(X);
/// @endcode

#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "../data/dataset.hpp"
#include "../error.hpp"
#include "../nn/nn.hpp"
#include "../optim/optim.hpp"
#include "../train/train.hpp"
#include "../types.hpp"
#include "attention_mask.hpp"
#include "selection_result.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// The optimizer the selector trains with: Adam (the reference), or plain gradient descent
/// (SGD without momentum), whose steps follow gradient magnitudes: with it and an L2 penalty the
/// linear model selects like OMP (docs/sequential-attention.md §4.3).
enum class SelectorOptimizer { adam, sgd };

template <class T>
struct SequentialAttentionOptions {
  Index k = 10;                       ///< features to select
  Index per_round = 1;                ///< features per selection round
  Task task = Task::classification;   ///< classification: y holds class ids; regression: values
  std::vector<Index> hidden{67};      ///< hidden widths of the MLP (the reference uses one layer of 67)
  bool input_batch_norm = true;       ///< batch-normalise the raw input before the mask
  // Defaults: the settings that work on tables of a few hundred to a few thousand rows (the
  // bundled digits, wine, breast_cancer; docs/sequential-attention.md §2.1). For n in the tens of
  // thousands, fewer epochs and larger batches keep the cost down (MNIST: 20 epochs, batch 256).
  Index epochs = 60;
  Index batch_size = 64;
  bool drop_last = true;              ///< Keras' drop_remainder, as the reference
  T learning_rate = T(5e-3);
  T decay_rate = T(1);                ///< learning rate · decay_rate^(step / decay_steps)
  std::size_t decay_steps = 0;        ///< 0 = no decay (the reference divides by zero there)
  T weight_decay = T(0);              ///< Adam: decoupled decay on network weights and logits alike
  T l2 = T(0);                        ///< coupled L2 penalty (l2/2)·||θ||² on weights and logits
  SelectorOptimizer optimizer = SelectorOptimizer::adam;
  // The mask module (attention_mask.hpp):
  double start = 0.1;
  double stop = 1.0;
  bool reset_logits = true;
  double init_stddev = 1e-5;
  MaskTiming timing = MaskTiming::end_of_phase;
  MaskRoundCount round_count = MaskRoundCount::fixed;
  std::uint64_t seed = 1;             ///< initialisation, shuffles, logit draws
};

template <class T>
class SequentialAttentionSelector {
 public:
  explicit SequentialAttentionSelector(SequentialAttentionOptions<T> options = {}) : opt_(std::move(options)) {}

  /// Trains the attention model on (X, y) and selects options().k features.
  /// @param X examples in rows (n x d); @param y n class ids (0 .. C-1) or regression targets.
  /// @param callbacks training callbacks (train/callbacks.hpp), e.g. ProgressBar, EarlyStop.
  /// @throws std::invalid_argument for k outside [1, d], shape mismatches, NaN/inf in the data,
  ///         class ids that are not integers >= 0, bad options; std::runtime_error if training
  ///         diverges.
  template <class DX, class Dy, class... Callbacks>
  Selection<T> fit(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<Dy>& y, Callbacks&&... callbacks);

  /// The features of the last fit, in selection order.
  const std::vector<Index>& selected() const noexcept { return last_.features; }
  /// The selected columns of X, in selection order. @throws std::invalid_argument before fit or
  /// for a column-count mismatch.
  template <class D>
  RowMatrix<T> transform(const Eigen::MatrixBase<D>& X) const;

  const SequentialAttentionOptions<T>& options() const noexcept { return opt_; }

 private:
  struct MaskHook {
    AttentionMask<T>* mask;
    FeatureScale<T>* scale;
    void on_step_begin(const StepInfo<T>& s) {
      mask->update(s.tau);
      scale->set_scale(mask->weights());
    }
    void on_backward_end(const StepInfo<T>&) { mask->backward(scale->scale_grad()); }
  };

  /// The training and selection of fit, on checked inputs (X n x d, Y n x 1). Not a template
  /// on the inputs or the callbacks: one instantiation per T (compile time; ATTNSEL_COMPILED
  /// puts it in the compiled library).
  Selection<T> fit_prepared(const RowMatrix<T>& X, const RowMatrix<T>& Y, Index outputs,
                            detail::ErasedCallbacks<T>& callbacks);

  SequentialAttentionOptions<T> opt_;
  Selection<T> last_;
  Index fitted_features_ = 0;
};

namespace detail {

/// Validates y for a task and returns the number of model outputs (classes, or 1).
template <class T, class Dy>
Index model_outputs(const char* fn, const Eigen::MatrixBase<Dy>& y, Index rows, Task task) {
  require(y.rows() == 1 || y.cols() == 1, fn, "argument 'y' must be a vector, got ", y.rows(), "x", y.cols());
  require(y.size() == rows, fn, "argument 'y' has ", y.size(), " values, expected ", rows, " (the rows of 'X')");
  if (task == Task::regression) {
    for (Index i = 0; i < y.size(); ++i) {
      const double v = double(y.cols() == 1 ? y(i, 0) : y(0, i));
      if (!std::isfinite(v)) throw_invalid(fn, "argument 'y' holds ", v, " at index ", i, ", expected finite targets");
    }
    return 1;
  }
  Index classes = 0;
  for (Index i = 0; i < y.size(); ++i) {
    const double v = double(y.cols() == 1 ? y(i, 0) : y(0, i));
    if (!(v >= 0.0 && v == std::floor(v) && v < 1e7))
      throw_invalid(fn, "argument 'y' holds ", v, " at index ", i, ", expected class ids 0, 1, 2, ... for classification");
    classes = std::max<Index>(classes, Index(v) + 1);
  }
  require(classes >= 2, fn, "argument 'y' holds a single class; classification needs at least 2");
  return classes;
}

/// X itself when it is a RowMatrix<T>, else `storage` holding X converted to one.
template <class T, class D>
const RowMatrix<T>& as_row_matrix(const Eigen::MatrixBase<D>& X, RowMatrix<T>& storage) {
  if constexpr (std::is_same_v<D, RowMatrix<T>>) {
    return X.derived();
  } else {
    storage = X.template cast<T>();
    return storage;
  }
}

/// The selectors' network: [BatchNorm] → FeatureScale → MLP (hidden widths of the options).
template <class T>
Sequential<T> masked_mlp(Index d, Index outputs, const SequentialAttentionOptions<T>& o) {
  MLPOptions mlp;
  mlp.hidden = o.hidden;
  mlp.input_batch_norm = o.input_batch_norm;
  mlp.feature_scale = true;
  mlp.seed = o.seed;
  return make_mlp<T>(d, outputs, mlp);
}

}  // namespace detail

template <class T>
template <class DX, class Dy, class... Callbacks>
Selection<T> SequentialAttentionSelector<T>::fit(const Eigen::MatrixBase<DX>& X, const Eigen::MatrixBase<Dy>& y,
                                                  Callbacks&&... callbacks) {
  constexpr const char* fn = "attnsel::SequentialAttentionSelector::fit";
  const Index d = X.cols();
  detail::require(X.rows() >= 2 && d >= 1, fn, "argument 'X' is ", X.rows(), "x", d, ", expected at least 2 rows and 1 column");
  detail::require(opt_.k >= 1 && opt_.k <= d, fn, "option 'k' is ", opt_.k, ", expected a value in [1, ", d,
                  "] (the number of features)");
  detail::require(opt_.epochs >= 1, fn, "option 'epochs' is ", opt_.epochs, ", expected >= 1");
  detail::require(opt_.learning_rate > T(0) && std::isfinite(opt_.learning_rate), fn, "option 'learning_rate' is ",
                  opt_.learning_rate, ", expected a finite value > 0");
  detail::require(opt_.decay_rate > T(0) && opt_.decay_rate <= T(1), fn, "option 'decay_rate' is ", opt_.decay_rate,
                  ", expected a value in (0, 1]");
  detail::require(opt_.weight_decay >= T(0) && opt_.l2 >= T(0), fn, "options 'weight_decay' and 'l2' are ",
                  opt_.weight_decay, " and ", opt_.l2, ", expected values >= 0");
  const Index outputs = detail::model_outputs<T>(fn, y, X.rows(), opt_.task);
  // The trainer reads a RowMatrix<T>: the caller's X itself when it is one (no copy of a
  // possibly large input: n x 22,000 gene-expression tables), else one converted copy.
  RowMatrix<T> converted;
  const RowMatrix<T>& Xc = detail::as_row_matrix<T>(X, converted);
  RowMatrix<T> Y(X.rows(), 1);
  for (Index i = 0; i < y.size(); ++i) Y(i, 0) = T(y.cols() == 1 ? y(i, 0) : y(0, i));
  detail::ErasedCallbacks<T> erased(callbacks...);
  return fit_prepared(Xc, Y, outputs, erased);
}

template <class T>
Selection<T> SequentialAttentionSelector<T>::fit_prepared(const RowMatrix<T>& Xc, const RowMatrix<T>& Y,
                                                          Index outputs, detail::ErasedCallbacks<T>& callbacks) {
  const Index d = Xc.cols();
  AttentionMaskOptions mo;
  mo.k = opt_.k;
  mo.per_round = opt_.per_round;
  mo.start = opt_.start;
  mo.stop = opt_.stop;
  mo.reset_logits = opt_.reset_logits;
  mo.init_stddev = opt_.init_stddev;
  mo.timing = opt_.timing;
  mo.round_count = opt_.round_count;
  mo.seed = opt_.seed ^ 0x5eed5a11u;
  AttentionMask<T> mask(d, mo);

  Sequential<T> model = detail::masked_mlp(d, outputs, opt_);
  FeatureScale<T>* scale = model.template find<FeatureScale<T>>();

  Adam<T> adam({opt_.learning_rate, T(0.9), T(0.999), T(1e-7), opt_.weight_decay, opt_.l2});
  SGD<T> sgd({opt_.learning_rate, T(0), false, opt_.l2});
  std::vector<Parameter<T>*> params = model.parameters();
  params.push_back(&mask.logits());
  if (opt_.optimizer == SelectorOptimizer::adam) adam.add_parameters(params);
  else sgd.add_parameters(params);

  TrainOptions<T> to;
  to.epochs = opt_.epochs;
  to.batch_size = opt_.batch_size;
  to.drop_last = opt_.drop_last && Xc.rows() >= opt_.batch_size;
  to.seed = opt_.seed;
  to.learning_rate = ExponentialDecayLR<T>{opt_.learning_rate, opt_.decay_rate, opt_.decay_steps};

  MaskHook hook{&mask, scale};
  // One instantiation of the trainer for the two losses and two optimizers (compile time).
  const MeanSquaredError<T> mse;
  const SoftmaxCrossEntropy<T> cross_entropy;
  const detail::LossRef<T> loss =
      opt_.task == Task::regression ? detail::LossRef<T>(mse) : detail::LossRef<T>(cross_entropy);
  detail::OptimizerRef<T> optimizer =
      opt_.optimizer == SelectorOptimizer::adam ? detail::OptimizerRef<T>(adam) : detail::OptimizerRef<T>(sgd);
  const TrainHistory<T> h = attnsel::fit(model, loss, optimizer, Xc, Y, to, hook, callbacks);
  mask.finish(!h.stopped_early);

  Selection<T> s;
  s.features = mask.selected();
  s.history = mask.history();
  s.losses = h.train_loss;
  s.method = "sequential_attention";
  s.features_from_training = static_cast<std::size_t>(mask.trained_selections());
  last_ = s;
  fitted_features_ = d;
  return s;
}

template <class T>
template <class D>
RowMatrix<T> SequentialAttentionSelector<T>::transform(const Eigen::MatrixBase<D>& X) const {
  constexpr const char* fn = "attnsel::SequentialAttentionSelector::transform";
  detail::require(!last_.features.empty(), fn, "call fit first");
  detail::require(X.cols() == fitted_features_, fn, "argument 'X' has ", X.cols(), " columns, fit saw ", fitted_features_);
  RowMatrix<T> out(X.rows(), Index(last_.features.size()));
  for (std::size_t j = 0; j < last_.features.size(); ++j) out.col(Index(j)) = X.col(last_.features[j]).template cast<T>();
  return out;
}

ATTNSEL_NAMESPACE_END
