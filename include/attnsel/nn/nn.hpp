// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file nn/nn.hpp
/// The model floor: parameters, layers (Dense with a weight-mask hook, ReLU, BatchNorm,
/// FeatureScale), Sequential / make_mlp, losses, and metrics (accuracy, log-loss, RMSE).

#include "layers.hpp"
#include "loss.hpp"
#include "metrics.hpp"
#include "parameter.hpp"
#include "sequential.hpp"
#include "transformer_layers.hpp"

/// The instantiations of this folder in compiled mode (config.hpp: ATTNSEL_COMPILED).
#define ATTNSEL_DETAIL_NN_TEMPLATES(X, T) \
  X((class Dense<T>)) X((class ReLU<T>)) X((class LeakyReLU<T>)) X((class BatchNorm<T>)) \
  X((class FeatureScale<T>)) X((class LayerNorm<T>)) X((class GELU<T>)) X((class Dropout<T>))             \
  X((class Embedding<T>)) X((class PositionalEmbedding<T>)) X((class Sequential<T>))                    \
  X((struct SoftmaxCrossEntropy<T>)) X((struct BinaryLogistic<T>)) X((struct MeanSquaredError<T>))
ATTNSEL_DETAIL_DECLARE_COMPILED(ATTNSEL_DETAIL_NN_TEMPLATES)
