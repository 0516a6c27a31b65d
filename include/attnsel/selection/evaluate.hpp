// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file selection/evaluate.hpp
/// The evaluation the Sequential Attention paper uses (docs/sequential-attention.md §3): retrain a fresh model on the
/// selected features only and measure it on held-out data.

#include <cmath>
#include <cstdint>
#include <vector>

#include "../data/dataset.hpp"
#include "../error.hpp"
#include "../nn/nn.hpp"
#include "../optim/optim.hpp"
#include "../train/train.hpp"
#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

template <class T>
struct RetrainOptions {
  std::vector<Index> hidden{67};
  bool input_batch_norm = true;
  // The same defaults as SequentialAttentionOptions (docs/sequential-attention.md §2.1).
  Index epochs = 60;
  Index batch_size = 64;
  T learning_rate = T(5e-3);
  T decay_rate = T(1);
  std::size_t decay_steps = 0;
  std::uint64_t seed = 1;
};

/// Trains a fresh MLP on `train` restricted to `features` and returns its test metric: accuracy
/// for classification, RMSE for regression. The model is the selector's without the mask
/// (the reference's "sparse model" zeroes unselected inputs instead of dropping them; the two
/// are the same network up to the dropped all-zero inputs).
/// @throws std::invalid_argument for an empty or out-of-range feature list, mismatched data, an
///         empty train or test set, or targets that are not finite (regression) or not class ids.
namespace detail {

/// A data set retrain_score can train or test on: rows, one finite target per row and, for
/// classification, class ids that are integers >= 0.
template <class T>
void check_retrain_data(const char* fn, const char* name, const Dataset<T>& data) {
  require(data.rows() >= 1, fn, "argument '", name, "' has no rows");
  require(data.y.size() == data.rows(), fn, "argument '", name, "' has ", data.rows(), " rows in X but ",
          data.y.size(), " targets in y");
  for (Index r = 0; r < data.rows(); ++r) {
    const T v = data.y(r);
    const bool ok = data.task == Task::classification ? (v >= T(0) && v == std::floor(v) && v < T(1e7))
                                                      : bool(std::isfinite(v));
    if (!ok)
      throw_invalid(fn, "argument '", name, "' holds the target ", v, " at row ", r,
                    data.task == Task::classification ? ", expected a class id (an integer >= 0)" : ", expected a finite value");
  }
}

}  // namespace detail

template <class T, class... Callbacks>
T retrain_score(const Dataset<T>& train, const Dataset<T>& test, const std::vector<Index>& features,
                const RetrainOptions<T>& options = {}, Callbacks&&... callbacks) {
  constexpr const char* fn = "attnsel::retrain_score";
  detail::require(!features.empty(), fn, "argument 'features' is empty");
  detail::check_retrain_data(fn, "train", train);
  detail::check_retrain_data(fn, "test", test);
  detail::require(train.features() == test.features(), fn, "train has ", train.features(), " features, test has ",
                  test.features());
  const Dataset<T> tr = train.select_features(features), te = test.select_features(features);
  const bool classify = train.task == Task::classification;
  Index outputs = 1;
  if (classify) outputs = std::max<Index>(Index(train.y.maxCoeff()) + 1, Index(test.y.maxCoeff()) + 1);
  MLPOptions mo;
  mo.hidden = options.hidden;
  mo.input_batch_norm = options.input_batch_norm;
  mo.seed = options.seed;
  Sequential<T> model = make_mlp<T>(tr.features(), outputs, mo);
  Adam<T> adam({options.learning_rate});
  TrainOptions<T> to;
  to.epochs = options.epochs;
  to.batch_size = options.batch_size;
  to.seed = options.seed;
  to.learning_rate = ExponentialDecayLR<T>{options.learning_rate, options.decay_rate, options.decay_steps};
  const RowMatrix<T> Ytr = tr.targets(), Yte = te.targets();
  if (classify) {
    fit(model, SoftmaxCrossEntropy<T>{}, adam, tr.X, Ytr, to, callbacks...);
    return SoftmaxCrossEntropy<T>{}.metric(model.predict(te.X), Yte);
  }
  fit(model, MeanSquaredError<T>{}, adam, tr.X, Ytr, to, callbacks...);
  return MeanSquaredError<T>{}.metric(model.predict(te.X), Yte);
}

ATTNSEL_NAMESPACE_END
