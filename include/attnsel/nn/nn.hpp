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
