// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file selection/selection.hpp
/// Feature selection: Sequential Attention (the attention mask module and the selector), the
/// baselines it is compared with (OMP, Lasso path, random, all features), and the retraining
/// evaluation.

#include "attention_mask.hpp"
#include "baselines.hpp"
#include "evaluate.hpp"
#include "lasso.hpp"
#include "linear_sa.hpp"
#include "nn_baselines.hpp"
#include "omp.hpp"
#include "selection_result.hpp"
#include "sequential_attention.hpp"

/// The instantiations of this folder in compiled mode (config.hpp: ATTNSEL_COMPILED).
#define ATTNSEL_DETAIL_SELECTION_TEMPLATES(X, T)                                                                      \
  X((class AttentionMask<T>)) X((class SequentialAttentionSelector<T>))                                                 \
  X((OmpResult<T> detail::omp_prepared<T>(const detail::OmpView<T>&, Vector<T>, bool,                                  \
                                          const Eigen::Matrix<T, 1, Eigen::Dynamic>&, const Vector<T>&, Index,         \
                                          const OmpOptions&)))                                                          \
  X((Selection<T> detail::linear_sa_prepared<T>(const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>&,               \
                                                const Vector<T>&, Index, const LinearSequentialAttentionOptions&)))     \
  X((Selection<T> detail::lasso_path_prepared<T>(const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>&,              \
                                                 const Vector<T>&, Index, const LassoPathOptions&)))
ATTNSEL_DETAIL_DECLARE_COMPILED(ATTNSEL_DETAIL_SELECTION_TEMPLATES)
