// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file lm/structured_pruning.hpp
/// SequentialAttention++ over a transformer's structure, and the baselines it is compared with
/// (docs/structured-pruning.md).
///
/// Candidates are units of the model — attention heads, groups of MLP channels, whole sublayers
/// (a block's attention or MLP branch) and residual channels — each with one weight that
/// multiplies its output (`StructureScales`). A budget removes a fraction of the model's
/// non-embedding parameters; the units removed are those with the lowest scores:
///
/// - SA++ (`StructureMethod::sapp`): one logit per candidate; per group of candidates (all heads,
///   or each layer's, ...) the weights are n_alive · softmax(logits of the alive candidates), so
///   their mean is 1. The model trains with them (`train_lm` with `hooks()`), on pruning/'s
///   schedule: dense warm-up, cycles of (sparsify, sparse, dense), a last sparsify and sparse
///   phase, then fine-tuning with weights and mask frozen. A sparsification phase removes the
///   alive candidates with the smallest weight until the removed parameters reach
///   budget · (1 − e^{−c·u}) / (1 − e^{−c}) at its fraction u; a sparse phase starts by completing
///   the budget; a dense phase revives every candidate.
/// - One-shot baselines (`prune_one_shot` on calibration batches): magnitude (the RMS of a unit's
///   weights), first-order Taylor (Michel et al. 2019: the mean over batches of |∂L/∂ξ| of the
///   unit's weight ξ, normalised per layer), FLAP (An et al. 2024: the variance of each input
///   channel of the output projection times its squared row norm, standardised per layer, with
///   the removed units' mean output moved into the bias), ShortGPT's block influence
///   (Men et al. 2024: 1 − mean cos(residual before, residual after) of a sublayer) and random.
///
/// Every method reaches the budget exactly in the sense that it removes the fewest units, in its
/// order, whose removal takes away at least the budget's parameters. `pruned()` then slices the
/// model (lm/structure.hpp) into a smaller one.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "../data/text.hpp"
#include "../error.hpp"
#include "../nn/parameter.hpp"
#include "../pruning/schedule.hpp"
#include "../random.hpp"
#include "../types.hpp"
#include "structure.hpp"
#include "train_lm.hpp"
#include "transformer.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// The kinds of structural unit.
enum class StructureUnit { heads, mlp, sublayers, width };
/// The methods that rank them.
enum class StructureMethod { sapp, magnitude, taylor, flap, shortgpt, random };

inline const char* to_string(StructureUnit u) noexcept {
  switch (u) {
    case StructureUnit::heads: return "heads";
    case StructureUnit::mlp: return "mlp";
    case StructureUnit::sublayers: return "sublayers";
    case StructureUnit::width: return "width";
  }
  return "?";
}

inline const char* to_string(StructureMethod m) noexcept {
  switch (m) {
    case StructureMethod::sapp: return "sapp";
    case StructureMethod::magnitude: return "magnitude";
    case StructureMethod::taylor: return "taylor";
    case StructureMethod::flap: return "flap";
    case StructureMethod::shortgpt: return "shortgpt";
    case StructureMethod::random: return "random";
  }
  return "?";
}

/// The unit named `name` ("heads", "mlp", "sublayers", "width").
/// @throws std::invalid_argument naming it otherwise.
inline StructureUnit parse_structure_unit(const std::string& name) {
  for (StructureUnit u : {StructureUnit::heads, StructureUnit::mlp, StructureUnit::sublayers, StructureUnit::width})
    if (name == to_string(u)) return u;
  detail::throw_invalid("attnsel::parse_structure_unit", "unknown unit kind '", name,
                        "', expected heads, mlp, sublayers or width");
}

/// The method named `name` ("sapp", "magnitude", "taylor", "flap", "shortgpt", "random").
/// @throws std::invalid_argument naming it otherwise.
inline StructureMethod parse_structure_method(const std::string& name) {
  for (StructureMethod m : {StructureMethod::sapp, StructureMethod::magnitude, StructureMethod::taylor,
                            StructureMethod::flap, StructureMethod::shortgpt, StructureMethod::random})
    if (name == to_string(m)) return m;
  detail::throw_invalid("attnsel::parse_structure_method", "unknown method '", name,
                        "', expected sapp, magnitude, taylor, flap, shortgpt or random");
}

/// One candidate: a head, a group of MLP channels, a sublayer or a residual channel.
struct StructureCandidate {
  StructureUnit unit = StructureUnit::heads;
  /// The block (-1 for a residual channel).
  Index layer = -1;
  /// heads: the head; mlp: the first channel of the group; sublayers: 0 attention, 1 MLP;
  /// width: the channel.
  Index first = 0;
  /// mlp: channels in the group (1 otherwise).
  Index count = 1;
  /// The group whose weights share a softmax (SA++) and whose scores are normalised together.
  Index group = 0;
};

struct StructuredPruningOptions {
  /// The kinds of unit that may be removed (at least one; each at most once).
  std::vector<StructureUnit> units = {StructureUnit::heads};
  StructureMethod method = StructureMethod::sapp;
  /// The fraction of the model's non-embedding parameters to remove, [0, 1).
  double remove = 0.25;
  /// MLP channels per candidate (a divisor of no MLP width needed: the last group may be smaller).
  Index mlp_group = 8;
  /// Heads and MLP groups compete per layer (each layer loses `remove` of its own non-embedding
  /// parameters) instead of across layers.
  bool per_layer = false;
  /// SA++'s phases over the pruning run's steps (pruning/schedule.hpp).
  PruningSchedule schedule{0.1, 1, 0.2, 4.0};
  /// FLAP: move the removed units' mean output into the bias.
  bool bias_compensation = true;
  /// The random method's draws.
  std::uint64_t seed = 1;
};

/// The candidates of one model and the parameter accounting of removing them.
template <class T>
class StructureCandidates {
 public:
  /// @throws std::invalid_argument for no unit kind, one named twice, or mlp_group < 1.
  StructureCandidates(const TransformerLM<T>& model, const std::vector<StructureUnit>& units, Index mlp_group,
                      bool per_layer)
      : cfg_(model.config()) {
    constexpr const char* fn = "attnsel::StructureCandidates";
    detail::require(!units.empty(), fn, "argument 'units' is empty, expected at least one unit kind");
    for (std::size_t i = 0; i < units.size(); ++i)
      for (std::size_t j = 0; j < i; ++j)
        detail::require(units[i] != units[j], fn, "argument 'units' names '", to_string(units[i]), "' twice");
    detail::require(mlp_group >= 1, fn, "argument 'mlp_group' is ", mlp_group, ", expected >= 1");
    const Index L = cfg_.layers;
    d_ = head_dim_of(cfg_);
    for (Index l = 0; l < L; ++l) {
      const TransformerBlock<T>& b = model.block(l);
      heads_.push_back(b.has_attention() ? b.attention().heads() : 0);
      mlp_.push_back(b.has_mlp() ? b.mlp_in().weight().value.cols() : 0);
      selector_.push_back(b.has_attention() && b.attention().selective() ? b.attention().selector_head() : -1);
    }
    auto has = [&](StructureUnit u) { return std::find(units.begin(), units.end(), u) != units.end(); };
    Index group = 0;
    for (StructureUnit u : {StructureUnit::heads, StructureUnit::mlp, StructureUnit::sublayers, StructureUnit::width}) {
      if (!has(u)) continue;
      if (u == StructureUnit::heads || u == StructureUnit::mlp) {
        for (Index l = 0; l < L; ++l) {
          const Index g = per_layer ? group + l : group;
          if (u == StructureUnit::heads) {
            for (Index h = 0; h < heads_[std::size_t(l)]; ++h)
              if (h != selector_[std::size_t(l)]) add({u, l, h, 1, g});  // the selector head is kept
          } else {
            for (Index j = 0; j < mlp_[std::size_t(l)]; j += mlp_group)
              add({u, l, j, std::min(mlp_group, mlp_[std::size_t(l)] - j), g});
          }
        }
        group += per_layer ? L : 1;
      } else if (u == StructureUnit::sublayers) {
        for (Index l = 0; l < L; ++l) {
          if (heads_[std::size_t(l)] > 0) add({u, l, 0, 1, group});
          if (mlp_[std::size_t(l)] > 0) add({u, l, 1, 1, group});
        }
        ++group;
      } else {
        for (Index j = 0; j < cfg_.width; ++j) add({u, -1, j, 1, group});
        ++group;
      }
    }
    groups_ = group;
    per_layer_ = per_layer;
    units_ = units;
  }

  const std::vector<StructureCandidate>& candidates() const noexcept { return c_; }
  Index size() const noexcept { return Index(c_.size()); }
  Index groups() const noexcept { return groups_; }
  bool per_layer() const noexcept { return per_layer_; }
  const std::vector<StructureUnit>& units() const noexcept { return units_; }

  /// The scales that weigh candidate i's units by w[i] (0 removes them); units of kinds that are
  /// not candidates keep weight 1.
  StructureScales<T> scales(const std::vector<T>& w) const {
    check_size(w.size(), "w");
    StructureScales<T> s;
    const Index L = cfg_.layers;
    for (std::size_t i = 0; i < c_.size(); ++i) {
      const StructureCandidate& c = c_[i];
      switch (c.unit) {
        case StructureUnit::heads:
          if (s.heads.empty()) {
            s.heads.resize(std::size_t(L));
            for (Index l = 0; l < L; ++l) s.heads[std::size_t(l)].assign(std::size_t(heads_[std::size_t(l)]), T(1));
          }
          s.heads[std::size_t(c.layer)][std::size_t(c.first)] = w[i];
          break;
        case StructureUnit::mlp:
          if (s.channels.empty()) {
            s.channels.resize(std::size_t(L));
            for (Index l = 0; l < L; ++l) s.channels[std::size_t(l)].assign(std::size_t(mlp_[std::size_t(l)]), T(1));
          }
          for (Index j = 0; j < c.count; ++j) s.channels[std::size_t(c.layer)][std::size_t(c.first + j)] = w[i];
          break;
        case StructureUnit::sublayers:
          if (s.attention.empty()) {
            s.attention.assign(std::size_t(L), T(1));
            s.mlp.assign(std::size_t(L), T(1));
          }
          (c.first == 0 ? s.attention : s.mlp)[std::size_t(c.layer)] = w[i];
          break;
        case StructureUnit::width:
          if (s.width.empty()) s.width.assign(std::size_t(cfg_.width), T(1));
          s.width[std::size_t(c.first)] = w[i];
          break;
      }
    }
    return s;
  }

  /// d loss / d w[i] for every candidate from the model's scale gradients (for weights set by
  /// `scales`): the sum over the candidate's units.
  std::vector<double> weight_gradient(const StructureScales<T>& g) const {
    std::vector<double> out(c_.size(), 0.0);
    for (std::size_t i = 0; i < c_.size(); ++i) {
      const StructureCandidate& c = c_[i];
      switch (c.unit) {
        case StructureUnit::heads: out[i] = double(g.heads[std::size_t(c.layer)][std::size_t(c.first)]); break;
        case StructureUnit::mlp:
          for (Index j = 0; j < c.count; ++j) out[i] += double(g.channels[std::size_t(c.layer)][std::size_t(c.first + j)]);
          break;
        case StructureUnit::sublayers: out[i] = double((c.first == 0 ? g.attention : g.mlp)[std::size_t(c.layer)]); break;
        case StructureUnit::width: out[i] = double(g.width[std::size_t(c.first)]); break;
      }
    }
    return out;
  }

  /// The non-embedding parameters (all but the token and position embeddings and an untied
  /// output layer) of the model with the candidates where alive[i] is false removed, counted as
  /// `slice_structure` builds it; `layer` ≥ 0 counts that block's only. 0 when nothing would be left.
  Index non_embedding_parameters(const std::vector<bool>& alive, Index layer = -1) const {
    check_size(alive.size(), "alive");
    const Index L = cfg_.layers;
    std::vector<Index> h = heads_, m = mlp_;
    std::vector<bool> attn(std::size_t(L), true), mlp(std::size_t(L), true);
    Index W = cfg_.width;
    for (std::size_t i = 0; i < c_.size(); ++i) {
      if (alive[i]) continue;
      const StructureCandidate& c = c_[i];
      switch (c.unit) {
        case StructureUnit::heads: --h[std::size_t(c.layer)]; break;
        case StructureUnit::mlp: m[std::size_t(c.layer)] -= c.count; break;
        case StructureUnit::sublayers: (c.first == 0 ? attn : mlp)[std::size_t(c.layer)] = false; break;
        case StructureUnit::width: --W; break;
      }
    }
    if (W == 0) return 0;
    Index total = 0, layers = 0;
    for (Index l = 0; l < L; ++l) {
      const Index hh = attn[std::size_t(l)] ? h[std::size_t(l)] : 0, mm = mlp[std::size_t(l)] ? m[std::size_t(l)] : 0;
      const Index A = hh * d_;
      Index p = 0;
      if (hh > 0) p += 2 * W + W * 3 * A + 3 * A + A * W + W;
      if (mm > 0) p += 2 * W + W * mm + mm + mm * W + W;
      layers += (hh > 0 || mm > 0) ? 1 : 0;
      if (layer < 0 || layer == l) total += p;
    }
    if (layers == 0) return 0;
    return layer < 0 ? total + 2 * W : total;  // the final LayerNorm
  }

  /// Removes candidates in `order` (alive ones, skipping any whose removal would leave no layer)
  /// until the removed non-embedding parameters reach `fraction` of the unpruned model's —
  /// overall, or per layer when the candidates compete per layer (then every layer's own).
  /// Returns false (alive unchanged) when the candidates cannot remove that much.
  bool remove_until(std::vector<bool>& alive, const std::vector<Index>& order, double fraction) const {
    check_size(alive.size(), "alive");
    std::vector<bool> next = alive;
    const std::vector<bool> all(c_.size(), true);
    double full = 0;  // the unpruned parameters of the layer (or model) being pruned
    auto reached = [&](const std::vector<bool>& a, Index layer) {
      return full - double(non_embedding_parameters(a, layer)) >= fraction * full - 1e-9;
    };
    auto run = [&](Index layer) {
      full = double(non_embedding_parameters(all, layer));
      if (reached(next, layer)) return true;
      for (Index i : order) {
        if (!next[std::size_t(i)]) continue;
        if (layer >= 0 && c_[std::size_t(i)].layer != layer) continue;
        next[std::size_t(i)] = false;
        if (non_embedding_parameters(next) == 0) {  // would leave nothing
          next[std::size_t(i)] = true;
          continue;
        }
        if (reached(next, layer)) return true;
      }
      return false;
    };
    bool ok = true;
    if (per_layer_ && only_layered()) {
      for (Index l = 0; l < cfg_.layers && ok; ++l) ok = run(l);
    } else {
      ok = run(-1);
    }
    if (ok) alive = next;
    return ok;
  }

 private:
  void add(StructureCandidate c) { c_.push_back(c); }
  void check_size(std::size_t n, const char* name) const {
    detail::require(n == c_.size(), "attnsel::StructureCandidates", "argument '", name, "' has ", n,
                    " entries, expected one per candidate (", c_.size(), ")");
  }
  /// Whether every candidate belongs to a layer's heads or MLP (per-layer budgets apply then).
  bool only_layered() const {
    for (const StructureCandidate& c : c_)
      if (c.unit != StructureUnit::heads && c.unit != StructureUnit::mlp) return false;
    return true;
  }

  TransformerConfig cfg_;
  Index d_ = 1;
  std::vector<Index> heads_, mlp_, selector_;
  std::vector<StructureCandidate> c_;
  Index groups_ = 0;
  bool per_layer_ = false;
  std::vector<StructureUnit> units_;
};

/// Structured pruning of one model by one method (see the file's comment).
template <class T>
class StructuredLMPruning {
 public:
  /// @throws std::invalid_argument for `remove` outside [0, 1), bad units (as
  ///         `StructureCandidates`), per_layer with sublayers or width, a method that does not
  ///         rank the units (FLAP: heads and mlp only; ShortGPT: sublayers only), a model with
  ///         structure scales already set, or a budget the units cannot reach.
  StructuredLMPruning(TransformerLM<T>& model, const StructuredPruningOptions& options)
      : model_(model),
        o_(checked(model, options)),
        cand_(model, options.units, options.mlp_group, options.per_layer),
        logits_("structure_logits", 1, std::max<Index>(1, cand_.size())),
        alive_(std::size_t(cand_.size()), true),
        weights_(std::size_t(cand_.size()), T(1)) {
    constexpr const char* fn = "attnsel::StructuredLMPruning";
    detail::require(cand_.size() >= 1, fn, "the model has no candidate of the units asked for");
    logits_.decay = false;
    std::vector<Index> order(std::size_t(cand_.size()));
    std::iota(order.begin(), order.end(), Index(0));
    std::vector<bool> probe = alive_;
    detail::require(cand_.remove_until(probe, order, o_.remove), fn, "option 'remove' is ", o_.remove,
                    ": the units asked for cannot remove that share of the ", cand_.non_embedding_parameters(alive_),
                    " non-embedding parameters", o_.per_layer ? " in every layer" : "");
    model_.set_structure_scales(cand_.scales(weights_));
  }

  const StructureCandidates<T>& candidates() const noexcept { return cand_; }
  const StructuredPruningOptions& options() const noexcept { return o_; }
  /// Which candidates are kept now, and their weights (SA++: the softmax weights; 1 before and
  /// for the one-shot methods).
  const std::vector<bool>& alive() const noexcept { return alive_; }
  const std::vector<T>& weights() const noexcept { return weights_; }
  /// The ranking scores (higher = kept first): SA++'s weights, or the one-shot method's scores.
  const std::vector<double>& scores() const noexcept { return scores_; }
  /// The SA++ phase of the last step.
  PruningPhase phase() const noexcept { return pos_.phase; }
  Index resets() const noexcept { return resets_; }
  Parameter<T>& logits() noexcept { return logits_; }

  /// The non-embedding parameters of the model as pruned now, and of the unpruned model.
  Index parameters_now() const { return cand_.non_embedding_parameters(alive_); }
  Index parameters_before() const { return cand_.non_embedding_parameters(std::vector<bool>(alive_.size(), true)); }

  // ---- SA++ ----

  /// The hooks that make `train_lm` run SA++ on the model (method sapp).
  /// @throws std::invalid_argument for another method.
  LMTrainHooks<T> hooks() {
    require_sapp("hooks");
    LMTrainHooks<T> h;
    h.parameters = {&logits_};
    h.begin_step = [this](Index step, Index steps) { return begin_step(step, steps); };
    h.after_backward = [this] { after_backward(); };
    return h;
  }

  /// The start of step `step` of `steps`: moves along the schedule, prunes or revives, and sets
  /// the model's scales. Returns true at a phase boundary (reset the optimizer).
  bool begin_step(Index step, Index steps) {
    require_sapp("begin_step");
    detail::require(steps >= 1 && step >= 0 && step < steps, "attnsel::StructuredLMPruning::begin_step", "step ", step,
                    " of ", steps, " is out of range");
    const double tau = double(step) / double(steps);
    const PruningSchedule::Position now = o_.schedule.at(tau, true);
    const bool entered = !started_ || now.index != pos_.index;
    const bool boundary = started_ && entered;
    pos_ = now;
    started_ = true;
    switch (now.phase) {
      case PruningPhase::dense:
        std::fill(alive_.begin(), alive_.end(), true);
        break;
      case PruningPhase::sparsify: {
        if (entered) std::fill(alive_.begin(), alive_.end(), true);
        compute_weights();
        remove_by_scores(o_.schedule.sparsity_at(now.u, o_.remove));
        break;
      }
      case PruningPhase::sparse:
      case PruningPhase::fine_tune:
        if (entered) {
          compute_weights();
          remove_by_scores(o_.remove);
        }
        break;
    }
    logits_.trainable = now.phase != PruningPhase::fine_tune;
    if (logits_.trainable || entered) compute_weights();
    apply();
    resets_ += boundary ? 1 : 0;
    return boundary;
  }

  /// After the backward pass: the logits' gradient from the model's scale gradients (0 for the
  /// removed candidates and in the fine-tuning phase).
  void after_backward() {
    require_sapp("after_backward");
    logits_.grad.setZero();
    if (!logits_.trainable) return;
    const std::vector<double> dw = cand_.weight_gradient(model_.structure_scale_grad());
    // Per group, A = n · softmax over the alive: dL/dL_j = A_j (dA_j − (1/n) Σ_i A_i dA_i).
    std::vector<double> sum(std::size_t(cand_.groups()), 0.0), n(std::size_t(cand_.groups()), 0.0);
    for (std::size_t i = 0; i < alive_.size(); ++i)
      if (alive_[i]) {
        const std::size_t g = std::size_t(cand_.candidates()[i].group);
        sum[g] += double(weights_[i]) * dw[i];
        n[g] += 1;
      }
    for (std::size_t i = 0; i < alive_.size(); ++i)
      if (alive_[i]) {
        const std::size_t g = std::size_t(cand_.candidates()[i].group);
        logits_.grad(0, Index(i)) = T(double(weights_[i]) * (dw[i] - sum[g] / n[g]));
      }
  }

  // ---- one-shot methods ----

  /// Scores every candidate on `calibration` (no weight changes but FLAP's bias compensation),
  /// removes the lowest until the budget is reached and sets the model's scales to the 0/1 mask.
  /// @throws std::invalid_argument for SA++ (train it with `hooks()`), or an empty calibration
  ///         set when the method reads one (taylor, flap, shortgpt).
  void prune_one_shot(const std::vector<TokenBatch>& calibration) {
    constexpr const char* fn = "attnsel::StructuredLMPruning::prune_one_shot";
    detail::require(o_.method != StructureMethod::sapp, fn, "method sapp trains with the model: use hooks() with train_lm");
    const bool reads = o_.method == StructureMethod::taylor || o_.method == StructureMethod::flap ||
                       o_.method == StructureMethod::shortgpt;
    detail::require(!reads || !calibration.empty(), fn, "method ", to_string(o_.method), " needs calibration batches");
    std::fill(alive_.begin(), alive_.end(), true);
    std::fill(weights_.begin(), weights_.end(), T(1));
    apply();
    switch (o_.method) {
      case StructureMethod::magnitude: scores_ = magnitude_scores(); break;
      case StructureMethod::taylor: scores_ = taylor_scores(calibration); break;
      case StructureMethod::flap: scores_ = flap_scores(calibration); break;
      case StructureMethod::shortgpt: scores_ = shortgpt_scores(calibration); break;
      case StructureMethod::random: {
        Rng rng(o_.seed);
        scores_.clear();
        for (Index i = 0; i < cand_.size(); ++i) scores_.push_back(random::uniform01(rng));
        break;
      }
      case StructureMethod::sapp: break;
    }
    remove_by_scores(o_.remove);
    if (o_.method == StructureMethod::flap && o_.bias_compensation) compensate_bias();
    for (std::size_t i = 0; i < alive_.size(); ++i) weights_[i] = alive_[i] ? T(1) : T(0);
    apply();
  }

  /// The pruned model: `slice_structure` of the model with its current scales (a removed unit
  /// gone, SA++'s weights folded in).
  TransformerLM<T> pruned() const { return slice_structure(model_, cand_.scales(effective_weights())); }

 private:
  static const StructuredPruningOptions& checked(const TransformerLM<T>& model, const StructuredPruningOptions& o) {
    constexpr const char* fn = "attnsel::StructuredLMPruning";
    detail::require(std::isfinite(o.remove) && o.remove >= 0.0 && o.remove < 1.0, fn, "option 'remove' is ", o.remove,
                    ", expected a fraction in [0, 1)");
    o.schedule.validate(fn);
    detail::require(!model.has_structure_scales(), fn, "the model already has structure scales set");
    auto has = [&](StructureUnit u) { return std::find(o.units.begin(), o.units.end(), u) != o.units.end(); };
    detail::require(!o.per_layer || (!has(StructureUnit::sublayers) && !has(StructureUnit::width)), fn,
                    "option 'per_layer' applies to heads and mlp only (sublayers and width compete across layers)");
    if (o.method == StructureMethod::flap)
      detail::require(!has(StructureUnit::sublayers) && !has(StructureUnit::width), fn,
                      "method flap ranks heads and mlp channels only");
    if (o.method == StructureMethod::shortgpt)
      detail::require(o.units.size() == 1 && has(StructureUnit::sublayers), fn, "method shortgpt ranks sublayers only");
    return o;
  }

  void require_sapp(const char* what) const {
    detail::require(o_.method == StructureMethod::sapp, "attnsel::StructuredLMPruning", what,
                    "() is SA++'s; method ", to_string(o_.method), " prunes with prune_one_shot()");
  }

  std::vector<T> effective_weights() const {
    std::vector<T> w(weights_.size());
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = alive_[i] ? weights_[i] : T(0);
    return w;
  }
  void apply() { model_.set_structure_scales(cand_.scales(effective_weights())); }

  /// weights_ = n_alive · softmax(logits over the alive) per group; scores_ = the weights.
  void compute_weights() {
    const Index G = cand_.groups();
    std::vector<double> mx(std::size_t(G), -std::numeric_limits<double>::infinity()), z(std::size_t(G), 0.0),
        n(std::size_t(G), 0.0);
    const auto& c = cand_.candidates();
    for (std::size_t i = 0; i < c.size(); ++i)
      if (alive_[i]) mx[std::size_t(c[i].group)] = std::max(mx[std::size_t(c[i].group)], double(logits_.value(0, Index(i))));
    for (std::size_t i = 0; i < c.size(); ++i)
      if (alive_[i]) {
        const std::size_t g = std::size_t(c[i].group);
        z[g] += std::exp(double(logits_.value(0, Index(i))) - mx[g]);
        n[g] += 1;
      }
    scores_.assign(c.size(), 0.0);
    for (std::size_t i = 0; i < c.size(); ++i) {
      const std::size_t g = std::size_t(c[i].group);
      const double a = alive_[i] ? n[g] * std::exp(double(logits_.value(0, Index(i))) - mx[g]) / z[g] : 0.0;
      weights_[i] = T(a);
      scores_[i] = a;
    }
  }

  /// Removes the alive candidates with the lowest scores until `fraction` is removed.
  void remove_by_scores(double fraction) {
    std::vector<Index> order(alive_.size());
    std::iota(order.begin(), order.end(), Index(0));
    std::stable_sort(order.begin(), order.end(), [&](Index a, Index b) { return scores_[std::size_t(a)] < scores_[std::size_t(b)]; });
    const bool ok = cand_.remove_until(alive_, order, fraction);
    detail::require(ok, "attnsel::StructuredLMPruning", "the budget of ", fraction, " cannot be reached");
  }

  /// The RMS of each candidate's weights (the matrices it owns; a residual channel: its row or
  /// column of every matrix that reads or writes it).
  std::vector<double> magnitude_scores() const {
    std::vector<double> out;
    const Index d = head_dim_of(model_.config());
    for (const StructureCandidate& c : cand_.candidates()) {
      double ss = 0, n = 0;
      auto add = [&](const auto& block) {
        ss += double(block.squaredNorm());
        n += double(block.size());
      };
      if (c.unit == StructureUnit::heads) {
        const CausalSelfAttention<T>& a = model_.block(c.layer).attention();
        const Index A = a.heads() * d;
        for (Index part = 0; part < 3; ++part) add(a.qkv().weight().value.middleCols(part * A + c.first * d, d));
        add(a.output().weight().value.middleRows(c.first * d, d));
      } else if (c.unit == StructureUnit::mlp) {
        const TransformerBlock<T>& b = model_.block(c.layer);
        add(b.mlp_in().weight().value.middleCols(c.first, c.count));
        add(b.mlp_out().weight().value.middleRows(c.first, c.count));
      } else if (c.unit == StructureUnit::sublayers) {
        const TransformerBlock<T>& b = model_.block(c.layer);
        if (c.first == 0) {
          add(b.attention().qkv().weight().value);
          add(b.attention().output().weight().value);
        } else {
          add(b.mlp_in().weight().value);
          add(b.mlp_out().weight().value);
        }
      } else {
        for (Index l = 0; l < model_.layers(); ++l) {
          const TransformerBlock<T>& b = model_.block(l);
          if (b.has_attention()) {
            add(b.attention().qkv().weight().value.row(c.first));
            add(b.attention().output().weight().value.col(c.first));
          }
          if (b.has_mlp()) {
            add(b.mlp_in().weight().value.row(c.first));
            add(b.mlp_out().weight().value.col(c.first));
          }
        }
      }
      out.push_back(n > 0 ? std::sqrt(ss / n) : 0.0);
    }
    return out;
  }

  /// Michel et al. (2019): mean over batches of |∂L/∂ξ_i| at ξ = 1, then per layer (and kind)
  /// divided by the ℓ2 norm of that layer's scores.
  std::vector<double> taylor_scores(const std::vector<TokenBatch>& calibration) {
    std::vector<double> acc(alive_.size(), 0.0);
    for (const TokenBatch& b : calibration) {
      model_.forward(b.inputs, b.seq_len, false);
      model_.backward(b.targets);
      const std::vector<double> g = cand_.weight_gradient(model_.structure_scale_grad());
      for (std::size_t i = 0; i < acc.size(); ++i) acc[i] += std::abs(g[i]) / double(calibration.size());
    }
    normalise_per_layer(acc, false);
    return acc;
  }

  /// FLAP (An et al., 2024): per input channel j of the output projection (a head's d columns of
  /// its attention output, an MLP channel's GELU output), the variance of its activation over the
  /// calibration tokens times ‖W_out[j, :]‖², summed over the unit's channels; standardised per
  /// layer and kind. Keeps the activations' means for the bias compensation.
  std::vector<double> flap_scores(const std::vector<TokenBatch>& calibration) {
    const Index L = model_.layers();
    std::vector<Eigen::ArrayXd> sum(std::size_t(2 * L)), sq(std::size_t(2 * L));
    double tokens = 0;
    for (const TokenBatch& b : calibration) {
      model_.forward(b.inputs, b.seq_len, false);
      tokens += double(b.inputs.size());
      for (Index l = 0; l < L; ++l) {
        const TransformerBlock<T>& blk = model_.block(l);
        for (int k = 0; k < 2; ++k) {
          if (k == 0 && !blk.has_attention()) continue;
          if (k == 1 && !blk.has_mlp()) continue;
          const RowMatrix<T>& a = k == 0 ? blk.attention().last_heads_output() : blk.last_mlp_hidden();
          const Eigen::ArrayXd s = a.template cast<double>().colwise().sum().transpose().array();
          const Eigen::ArrayXd q = a.template cast<double>().array().square().colwise().sum().transpose();
          const std::size_t at = std::size_t(2 * l + k);
          if (sum[at].size() == 0) {
            sum[at] = Eigen::ArrayXd::Zero(s.size());
            sq[at] = Eigen::ArrayXd::Zero(s.size());
          }
          sum[at] += s;
          sq[at] += q;
        }
      }
    }
    means_.assign(std::size_t(2 * L), Eigen::ArrayXd());
    std::vector<double> out;
    const Index d = head_dim_of(model_.config());
    for (std::size_t at = 0; at < sum.size(); ++at)
      if (sum[at].size() > 0) means_[at] = sum[at] / tokens;
    for (const StructureCandidate& c : cand_.candidates()) {
      const bool head = c.unit == StructureUnit::heads;
      const std::size_t at = std::size_t(2 * c.layer + (head ? 0 : 1));
      const TransformerBlock<T>& blk = model_.block(c.layer);
      const RowMatrix<T>& W = head ? blk.attention().output().weight().value : blk.mlp_out().weight().value;
      const Index first = head ? c.first * d : c.first, count = head ? d : c.count;
      double s = 0;
      for (Index j = first; j < first + count; ++j) {
        const double mean = means_[at](j), var = std::max(0.0, sq[at](j) / tokens - mean * mean);
        s += var * double(W.row(j).squaredNorm());
      }
      out.push_back(s);
    }
    normalise_per_layer(out, true);
    return out;
  }

  /// FLAP's bias compensation: a removed unit's mean output, through its rows of the output
  /// projection, moves into that projection's bias.
  void compensate_bias() {
    const Index d = head_dim_of(model_.config());
    for (std::size_t i = 0; i < alive_.size(); ++i) {
      if (alive_[i]) continue;
      const StructureCandidate& c = cand_.candidates()[i];
      const bool head = c.unit == StructureUnit::heads;
      TransformerBlock<T>& blk = model_.block(c.layer);
      Dense<T>& out = head ? blk.attention().output() : blk.mlp_out();
      const Eigen::ArrayXd& mean = means_[std::size_t(2 * c.layer + (head ? 0 : 1))];
      const Index first = head ? c.first * d : c.first, count = head ? d : c.count;
      for (Index j = first; j < first + count; ++j)
        out.bias().value.row(0) += T(mean(j)) * out.weight().value.row(j);
    }
  }

  /// ShortGPT's block influence per sublayer: 1 − the mean over tokens of cos(residual before
  /// the branch, residual after it).
  std::vector<double> shortgpt_scores(const std::vector<TokenBatch>& calibration) {
    std::vector<double> out(alive_.size(), 0.0);
    double tokens = 0;
    auto cos_sum = [](const RowMatrix<T>& a, const RowMatrix<T>& b) {
      double s = 0;
      for (Index r = 0; r < a.rows(); ++r) {
        const double na = double(a.row(r).norm()), nb = double(b.row(r).norm());
        s += na > 0 && nb > 0 ? double(a.row(r).dot(b.row(r))) / (na * nb) : 1.0;
      }
      return s;
    };
    for (const TokenBatch& b : calibration) {
      model_.forward(b.inputs, b.seq_len, false);
      tokens += double(b.inputs.size());
      for (std::size_t i = 0; i < alive_.size(); ++i) {
        const StructureCandidate& c = cand_.candidates()[i];
        const TransformerBlock<T>& blk = model_.block(c.layer);
        const RowMatrix<T>& in = model_.last_hidden(c.layer);
        const RowMatrix<T>& mid = blk.has_attention() ? blk.last_middle() : in;
        const RowMatrix<T>& after = model_.last_hidden(c.layer + 1);
        out[i] += c.first == 0 ? cos_sum(in, mid) : cos_sum(mid, after);
      }
    }
    for (double& v : out) v = 1.0 - v / tokens;
    return out;
  }

  /// Per (kind, layer) group of scores: divide by their ℓ2 norm, or standardise ((s − mean) / sd).
  void normalise_per_layer(std::vector<double>& s, bool standardise) const {
    const auto& c = cand_.candidates();
    std::vector<std::pair<int, Index>> keys;
    for (const StructureCandidate& x : c) keys.emplace_back(int(x.unit), x.layer);
    for (std::size_t i = 0; i < c.size(); ++i) {
      if (c[i].unit != StructureUnit::heads && c[i].unit != StructureUnit::mlp) continue;
      // The first member of each group normalises the whole group.
      bool first = true;
      for (std::size_t j = 0; j < i; ++j) first = first && keys[j] != keys[i];
      if (!first) continue;
      double sum = 0, sq = 0, n = 0;
      for (std::size_t j = i; j < c.size(); ++j)
        if (keys[j] == keys[i]) {
          sum += s[j];
          sq += s[j] * s[j];
          n += 1;
        }
      const double mean = sum / n, sd = std::sqrt(std::max(0.0, sq / n - mean * mean)), norm = std::sqrt(sq);
      for (std::size_t j = i; j < c.size(); ++j)
        if (keys[j] == keys[i]) {
          if (standardise)
            s[j] = sd > 0 ? (s[j] - mean) / sd : 0.0;
          else
            s[j] = norm > 0 ? s[j] / norm : 0.0;
        }
    }
  }

  TransformerLM<T>& model_;
  StructuredPruningOptions o_;
  StructureCandidates<T> cand_;
  Parameter<T> logits_;
  std::vector<bool> alive_;
  std::vector<T> weights_;
  std::vector<double> scores_;
  std::vector<Eigen::ArrayXd> means_;  // FLAP: per (layer, attention / MLP) the activations' means
  PruningSchedule::Position pos_{};
  bool started_ = false;
  Index resets_ = 0;
};

ATTNSEL_NAMESPACE_END
