// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file lm/budgets.hpp
/// Context pruning of a trained `TransformerLM` (docs/language-models.md §8):
/// - `evaluate_decoding` measures loss, perplexity and accuracy by honest decoding: every
///   position's logits come from per-layer KV caches pruned to the budgets by a policy, never
///   from a full forward;
/// - `fit_budgets` chooses per-layer budgets greedily on validation data: from the full context,
///   it repeatedly shrinks the budget of the layer whose cut costs the least perplexity, while
///   the perplexity stays within a tolerance of the unpruned model's. The whole path is returned,
///   so one fit at the largest tolerance answers every smaller one (`budgets_within`).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "../data/text.hpp"
#include "../error.hpp"
#include "decode.hpp"
#include "train_lm.hpp"
#include "transformer.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// Loss, perplexity and accuracy over `batches`, decoding each batch's sequences token by token
/// through caches held to `budgets` (one per layer, 0 = unbounded; empty = unbounded) by `policy`.
template <class T, class Policy = evict::SelectiveF>
LMEvaluation evaluate_decoding(const TransformerLM<T>& model, const std::vector<TokenBatch>& batches,
                               const std::vector<Index>& budgets = {}, const Policy& policy = {}) {
  constexpr const char* fn = "attnsel::evaluate_decoding";
  double loss_sum = 0, hits = 0;
  Index n = 0;
  for (std::size_t k = 0; k < batches.size(); ++k) {
    const TokenBatch& b = batches[k];
    detail::require(b.batch >= 1 && b.seq_len >= 1 && Index(b.inputs.size()) == b.batch * b.seq_len &&
                        b.targets.size() == b.inputs.size(),
                    fn, "batch ", k, " is inconsistent (", b.batch, " x ", b.seq_len, " with ", b.inputs.size(),
                    " inputs and ", b.targets.size(), " targets)");
    LMDecoder<T, Policy> dec(model, budgets, policy, b.batch);
    std::vector<std::int32_t> col(std::size_t(b.batch));
    for (Index t = 0; t < b.seq_len; ++t) {
      for (Index s = 0; s < b.batch; ++s) col[std::size_t(s)] = b.inputs[std::size_t(s * b.seq_len + t)];
      const RowMatrix<T>& z = dec.step(col);
      for (Index s = 0; s < b.batch; ++s) {
        const std::int32_t target = b.targets[std::size_t(s * b.seq_len + t)];
        if (target < 0) continue;
        detail::require(Index(target) < z.cols(), fn, "batch ", k, " holds target ", target, ", expected a token id in [0, ",
                        z.cols(), ")");
        const auto row = z.row(s);
        Index arg = 0;
        const T m = row.maxCoeff(&arg);
        const double lse = double(m) + std::log((row.array() - m).exp().template cast<double>().sum());
        loss_sum += lse - double(row(target));
        hits += arg == Index(target) ? 1.0 : 0.0;
        ++n;
      }
    }
  }
  return detail::lm::evaluation(loss_sum, hits, n);
}

/// One accepted state of the greedy fit.
struct BudgetFitStep {
  std::vector<Index> budgets;  ///< per layer
  Index total = 0;             ///< Σ budgets (each at most the sequence length; layers with attention)
  double perplexity = 0;       ///< validation perplexity by decoding with these budgets
};

struct BudgetFitOptions {
  /// Keep the perplexity ≤ unpruned · (1 + tolerance).
  double tolerance = 0.01;
  /// A trial cuts one layer's budget to floor(budget · shrink) (and by at least one token).
  double shrink = 0.8;
  /// No layer goes below this (≥ 2: the newest token and one before it).
  Index min_budget = 2;
  /// Called after every accepted step; empty = silent.
  std::function<void(const BudgetFitStep&)> progress;
};

struct BudgetFitResult {
  double unpruned_perplexity = 0;
  /// From the full context (budgets = sequence length) to the last state within the tolerance.
  std::vector<BudgetFitStep> path;
  /// The last state of the path: the smallest total found within the tolerance.
  const BudgetFitStep& best() const { return path.back(); }
  /// The last state within unpruned · (1 + tolerance) for a tolerance no larger than the fit's.
  const BudgetFitStep& within(double tolerance) const {
    const double limit = unpruned_perplexity * (1.0 + tolerance);
    std::size_t k = 0;
    while (k + 1 < path.size() && path[k + 1].perplexity <= limit) ++k;
    return path[k];
  }
};

/// Greedy per-layer budgets on `validation` (batches of equal sequence length) for `policy`.
/// @throws std::invalid_argument for an empty validation set, sequences of different lengths,
///         a tolerance < 0, shrink outside (0, 1) or min_budget < 2.
template <class T, class Policy = evict::SelectiveF>
BudgetFitResult fit_budgets(const TransformerLM<T>& model, const std::vector<TokenBatch>& validation,
                            const Policy& policy = {}, const BudgetFitOptions& options = {}) {
  constexpr const char* fn = "attnsel::fit_budgets";
  detail::require(!validation.empty(), fn, "argument 'validation' is empty");
  const Index T_len = validation.front().seq_len;
  for (std::size_t k = 0; k < validation.size(); ++k)
    detail::require(validation[k].seq_len == T_len, fn, "validation batch ", k, " has sequences of ",
                    validation[k].seq_len, " tokens, batch 0 of ", T_len, " (the budgets are for one length)");
  detail::require(std::isfinite(options.tolerance) && options.tolerance >= 0, fn, "option 'tolerance' is ",
                  options.tolerance, ", expected >= 0");
  detail::require(options.shrink > 0 && options.shrink < 1, fn, "option 'shrink' is ", options.shrink,
                  ", expected a value in (0, 1)");
  detail::require(options.min_budget >= 2, fn, "option 'min_budget' is ", options.min_budget, ", expected >= 2");
  const Index L = model.config().layers;
  BudgetFitResult r;
  r.unpruned_perplexity = evaluate_decoding(model, validation, {}, policy).perplexity;
  const double limit = r.unpruned_perplexity * (1.0 + options.tolerance);
  BudgetFitStep cur;
  // A layer without attention has no cache: its budget stays 0 and counts nothing.
  cur.budgets.assign(std::size_t(L), 0);
  cur.total = 0;
  for (Index l = 0; l < L; ++l)
    if (model.block(l).has_attention()) {
      cur.budgets[std::size_t(l)] = std::max(T_len, options.min_budget);
      cur.total += std::min(cur.budgets[std::size_t(l)], T_len);
    }
  cur.perplexity = r.unpruned_perplexity;
  r.path.push_back(cur);
  if (options.progress) options.progress(cur);
  for (;;) {
    Index best_layer = -1;
    BudgetFitStep best;
    for (Index l = 0; l < L; ++l) {
      const Index b = cur.budgets[std::size_t(l)];
      if (b <= options.min_budget) continue;  // at the floor, or a layer without attention (0)
      const Index cut = std::max(options.min_budget, std::min(b - 1, Index(std::floor(double(b) * options.shrink))));
      BudgetFitStep trial = cur;
      trial.budgets[std::size_t(l)] = cut;
      trial.total = cur.total - (std::min(b, T_len) - std::min(cut, T_len));
      trial.perplexity = evaluate_decoding(model, validation, trial.budgets, policy).perplexity;
      // The lowest perplexity wins; ties go to the lower layer.
      if (best_layer < 0 || trial.perplexity < best.perplexity) {
        best_layer = l;
        best = std::move(trial);
      }
    }
    if (best_layer < 0 || !(best.perplexity <= limit)) break;
    cur = std::move(best);
    r.path.push_back(cur);
    if (options.progress) options.progress(cur);
  }
  return r;
}

ATTNSEL_NAMESPACE_END
