// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file lm/train_lm.hpp
/// Training and evaluating a `TransformerLM` (docs/language-models.md §2): AdamW with no decay
/// on norms, biases and embeddings, linear warm-up then cosine decay, clipping by global norm,
/// validation every `eval_every` steps. Batches come from a callable, so the same loop trains on
/// text windows and on Variable Assignment.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <sstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "../data/text.hpp"
#include "../error.hpp"
#include "../optim/adam.hpp"
#include "../optim/clip.hpp"
#include "../optim/schedule.hpp"
#include "../random.hpp"
#include "checkpoint.hpp"
#include "transformer.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// Loss and accuracy of a model over batches.
struct LMEvaluation {
  /// Mean cross-entropy (nats) over the counted targets of all batches.
  double loss = std::numeric_limits<double>::quiet_NaN();
  /// exp(loss).
  double perplexity = std::numeric_limits<double>::quiet_NaN();
  /// Share of counted targets whose logit is the largest.
  double accuracy = std::numeric_limits<double>::quiet_NaN();
  Index tokens = 0;
};

/// What the progress callback sees.
struct LMProgress {
  Index step = 0;       ///< updates applied so far
  Index steps = 0;
  double train_loss = 0;   ///< loss of the last batch (with ε·L_mem when the memory loss is on)
  double memory_loss = 0;  ///< L_mem of the last batch (0 when off)
  double learning_rate = 0;
  double grad_norm = 0;    ///< before clipping
  double seconds = 0;      ///< since training began
  double tokens_per_second = 0;
  /// Set on evaluation steps (NaN otherwise).
  double validation_loss = std::numeric_limits<double>::quiet_NaN();
  double validation_accuracy = std::numeric_limits<double>::quiet_NaN();
};

struct LMTrainOptions {
  Index steps = 1000;
  double learning_rate = 1e-3;
  /// Linear warm-up steps, then cosine to learning_rate · min_lr_ratio at the last step.
  Index warmup_steps = 100;
  double min_lr_ratio = 0.1;
  double beta1 = 0.9, beta2 = 0.99, epsilon = 1e-8;
  /// Decoupled weight decay on the parameters with decay = true (matrices).
  double weight_decay = 0.1;
  /// Clip the global gradient norm to this (0 = no clipping).
  double clip_norm = 1.0;
  /// The auxiliary memory loss (lm/memory_loss.hpp; weight 0 = off). train_lm sets it on the
  /// model for the whole run.
  MemoryLossOptions memory_loss;
  /// Evaluate on the validation batches every this many steps and after the last (0 = only after the last).
  Index eval_every = 100;
  /// Called after every step (and with the validation loss on evaluation steps); empty = silent.
  std::function<void(const LMProgress&)> progress;
  /// Resumable training: with a path, the run's whole state (the parameters, AdamW's moments,
  /// the batch and dropout engines, the curve and losses so far; lm/checkpoint.hpp) is written
  /// there every `checkpoint_every` steps and after the last, replacing the file atomically. A
  /// call that finds the file continues from it and ends bit for bit where an uninterrupted run
  /// ends (the batches come from `next_batch`, which must draw only from the engine it is given).
  /// The file must be the same run's: the same model configuration, options (except `progress`
  /// and the checkpoint's own), seed and `checkpoint_tag`. Empty = no checkpoint.
  std::string checkpoint_path;
  /// Steps between checkpoints (0: only after the last step).
  Index checkpoint_every = 0;
  /// Names what the options do not, e.g. the data and the batch shape: a checkpoint written under
  /// another tag is refused.
  std::string checkpoint_tag;
};

/// What a method that trains more than the model (structured pruning's SA++ logits, lm/structured_pruning.hpp)
/// adds to `train_lm`'s loop. Every member may be empty.
template <class T>
struct LMTrainHooks {
  /// Trained with the model's parameters by the same AdamW (after them; clipped with them).
  std::vector<Parameter<T>*> parameters;
  /// Called at the start of every step (before its batch's forward pass) with the step (0-based)
  /// and the number of steps; returning true resets AdamW's moments (a phase boundary).
  std::function<bool(Index step, Index steps)> begin_step;
  /// Called after the backward pass, before clipping and the update: sets `parameters`' gradients.
  std::function<void()> after_backward;
};

/// Accuracy of argmax(logits) over the counted (non-negative) targets; `counted` receives their number.
template <class T>
double token_accuracy(const RowMatrix<T>& logits, const std::vector<std::int32_t>& targets, Index* counted = nullptr) {
  detail::require(Index(targets.size()) == logits.rows(), "attnsel::token_accuracy", "argument 'targets' holds ",
                  targets.size(), " tokens, expected ", logits.rows());
  Index n = 0, hit = 0;
  for (Index i = 0; i < logits.rows(); ++i) {
    if (targets[std::size_t(i)] < 0) continue;
    Index arg = 0;
    logits.row(i).maxCoeff(&arg);
    ++n;
    if (arg == targets[std::size_t(i)]) ++hit;
  }
  if (counted) *counted = n;
  return n == 0 ? std::numeric_limits<double>::quiet_NaN() : double(hit) / double(n);
}

namespace detail {
namespace lm {
/// The evaluation of n counted targets with summed loss and hits.
inline LMEvaluation evaluation(double loss_sum, double hits, Index n) {
  LMEvaluation e;
  e.tokens = n;
  if (n > 0) {
    e.loss = loss_sum / double(n);
    e.perplexity = std::exp(e.loss);
    e.accuracy = hits / double(n);
  }
  return e;
}
}  // namespace lm
}  // namespace detail

/// Loss, perplexity and accuracy of `model` (no dropout) over `batches`.
template <class T>
LMEvaluation evaluate_lm(TransformerLM<T>& model, const std::vector<TokenBatch>& batches) {
  double loss_sum = 0, hits = 0;
  Index n = 0;
  for (const TokenBatch& b : batches) {
    model.forward(b.inputs, b.seq_len, false);
    Index counted = 0;
    const double l = model.loss(b.targets, &counted);
    if (counted == 0) continue;
    loss_sum += l * double(counted);
    hits += token_accuracy(model.logits(), b.targets) * double(counted);
    n += counted;
  }
  return detail::lm::evaluation(loss_sum, hits, n);
}

namespace detail {
namespace lm {
/// The lines that name a run in its checkpoint (lm/checkpoint.hpp): a checkpoint continues only
/// the run whose lines are the same.
template <class T>
std::string run_fingerprint(const TransformerConfig& c, const LMTrainOptions& o, std::uint64_t seed) {
  namespace ck = detail::lmck;
  std::string heads;
  for (Index h : c.selector_heads) heads += (heads.empty() ? "" : ",") + std::to_string(h);
  // Per-layer shapes only when the model has them: the lines of a uniform model stay those of
  // earlier versions, whose checkpoints continue.
  auto list = [](const char* name, const std::vector<Index>& v) {
    if (v.empty()) return std::string();
    std::string s = std::string("\n") + name + "=";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s;
  };
  std::string tag;
  for (char ch : o.checkpoint_tag) tag += ch == '\n' ? std::string("\\n") : std::string(1, ch);
  return "scalar bytes=" + std::to_string(sizeof(T)) + "\nvocab=" + std::to_string(c.vocab) +
         "\ncontext=" + std::to_string(c.context) + "\nlayers=" + std::to_string(c.layers) +
         "\nheads=" + std::to_string(c.heads) + "\nwidth=" + std::to_string(c.width) +
         "\nhead_dim=" + std::to_string(c.head_dim) + "\nmlp_ratio=" + std::to_string(c.mlp_ratio) +
         list("layer_heads", c.layer_heads) + list("layer_mlp", c.layer_mlp) +
         "\ntied_embeddings=" + std::to_string(int(c.tied_embeddings)) + "\nselective=" + std::to_string(int(c.selective)) +
         "\nselector_heads=" + heads + "\ndropout=" + ck::exact(c.dropout) + "\nmodel seed=" + std::to_string(c.seed) +
         "\nsteps=" + std::to_string(o.steps) + "\nlearning_rate=" + ck::exact(o.learning_rate) +
         "\nwarmup_steps=" + std::to_string(o.warmup_steps) + "\nmin_lr_ratio=" + ck::exact(o.min_lr_ratio) +
         "\nbeta1=" + ck::exact(o.beta1) + "\nbeta2=" + ck::exact(o.beta2) + "\nepsilon=" + ck::exact(o.epsilon) +
         "\nweight_decay=" + ck::exact(o.weight_decay) + "\nclip_norm=" + ck::exact(o.clip_norm) +
         "\nmemory_loss.weight=" + ck::exact(o.memory_loss.weight) + "\nmemory_loss.tau=" + ck::exact(o.memory_loss.tau) +
         "\neval_every=" + std::to_string(o.eval_every) + "\nbatch seed=" + std::to_string(seed) + "\ntag=" + tag + "\n";
}
}  // namespace lm
}  // namespace detail

/// Trains `model` for `options.steps` steps on batches from `next_batch(Rng&)`, evaluating on
/// `validation` (may be empty). `seed` seeds the batch draws. With `options.checkpoint_path`,
/// the run can be stopped and continued (see there). `hooks` add parameters and calls to the loop
/// (structured pruning); a run with hooks or structure scales takes no checkpoint.
/// @throws std::invalid_argument for bad options, a checkpoint path with hooks or structure
///         scales, or a checkpoint of another run (naming the field that differs); attnsel::parse_error for a corrupt checkpoint (nothing is
///         changed then); std::runtime_error when the loss becomes NaN or infinite (the step is
///         not applied) or a checkpoint cannot be written.
template <class T, class NextBatch>
LMTrainResult train_lm(TransformerLM<T>& model, NextBatch&& next_batch, const std::vector<TokenBatch>& validation,
                       const LMTrainOptions& options, std::uint64_t seed = 1, const LMTrainHooks<T>& hooks = {}) {
  constexpr const char* fn = "attnsel::train_lm";
  const bool hooked = !hooks.parameters.empty() || hooks.begin_step || hooks.after_backward;
  detail::require(!hooked || options.checkpoint_path.empty(), fn,
                  "option 'checkpoint_path' is set with hooks: a checkpoint does not hold the hooks' state");
  detail::require(!model.has_structure_scales() || options.checkpoint_path.empty(), fn,
                  "option 'checkpoint_path' is set for a model with structure scales, which a checkpoint does not hold");
  for (std::size_t i = 0; i < hooks.parameters.size(); ++i)
    detail::require(hooks.parameters[i] != nullptr, fn, "hook parameter ", i, " is null");
  detail::require(options.steps >= 1, fn, "option 'steps' is ", options.steps, ", expected >= 1");
  detail::require(std::isfinite(options.learning_rate) && options.learning_rate > 0, fn, "option 'learning_rate' is ",
                  options.learning_rate, ", expected > 0");
  detail::require(options.warmup_steps >= 0, fn, "option 'warmup_steps' is ", options.warmup_steps, ", expected >= 0");
  detail::require(options.min_lr_ratio >= 0 && options.min_lr_ratio <= 1, fn, "option 'min_lr_ratio' is ",
                  options.min_lr_ratio, ", expected a value in [0, 1]");
  detail::require(options.clip_norm >= 0, fn, "option 'clip_norm' is ", options.clip_norm, ", expected >= 0");
  detail::require(options.eval_every >= 0, fn, "option 'eval_every' is ", options.eval_every, ", expected >= 0");
  detail::require(options.checkpoint_every >= 0, fn, "option 'checkpoint_every' is ", options.checkpoint_every,
                  ", expected >= 0");
  detail::require(options.checkpoint_every == 0 || !options.checkpoint_path.empty(), fn, "option 'checkpoint_every' is ",
                  options.checkpoint_every, " without a 'checkpoint_path'");
  model.set_memory_loss(options.memory_loss);
  AdamOptions<T> ao;
  ao.learning_rate = T(options.learning_rate);
  ao.beta1 = T(options.beta1);
  ao.beta2 = T(options.beta2);
  ao.epsilon = T(options.epsilon);
  ao.weight_decay = T(options.weight_decay);
  Adam<T> adam(ao);
  std::vector<Parameter<T>*> params = model.parameters();
  for (Parameter<T>* p : hooks.parameters) params.push_back(p);
  adam.add_parameters(params);
  const WarmupCosineLR<double> schedule{options.learning_rate, std::size_t(options.warmup_steps),
                                        options.learning_rate * options.min_lr_ratio};
  Rng rng(seed);
  LMTrainResult r;
  double since_sum = 0, before = 0;  // before: the seconds of the steps a checkpoint restored
  Index since_n = 0, first = 0;
  namespace ck = detail::lmck;
  const auto named = model.named_parameters();
  const std::vector<Rng*> engines = model.random_engines();
  // The state of this run now (the model's side); a checkpoint's is compared with it and written from it.
  auto snapshot = [&](Index step) {
    ck::State<T> s;
    s.fingerprint = detail::lm::run_fingerprint<T>(model.config(), options, seed);
    s.step = step;
    s.batch_engine = ck::engine_text(rng);
    for (Rng* e : engines) s.engines.push_back(ck::engine_text(*e));
    s.adam_iterations = adam.iterations();
    for (const auto& np : named) {
      s.names.push_back(np.first);
      s.values.push_back(np.second->value);
      s.m.push_back(adam.first_moment(*np.second));
      s.v.push_back(adam.second_moment(*np.second));
    }
    s.since_sum = since_sum;
    s.since_n = since_n;
    s.result = r;
    return s;
  };
  if (!options.checkpoint_path.empty() && std::ifstream(options.checkpoint_path).good()) {
    ck::State<T> s = ck::read<T>(options.checkpoint_path, snapshot(0), options.steps);
    // Every field is checked: apply it.
    std::istringstream(s.batch_engine) >> rng;
    for (std::size_t i = 0; i < engines.size(); ++i) std::istringstream(s.engines[i]) >> *engines[i];
    for (std::size_t i = 0; i < named.size(); ++i) {
      named[i].second->value = s.values[i];
      adam.first_moment(*named[i].second) = s.m[i];
      adam.second_moment(*named[i].second) = s.v[i];
    }
    adam.set_iterations(std::size_t(s.adam_iterations));
    since_sum = s.since_sum;
    since_n = s.since_n;
    r = std::move(s.result);
    first = s.step;
    before = r.seconds;
  }
  r.resumed_from = first;
  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] { return before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  for (Index step = first; step < options.steps; ++step) {
    const TokenBatch b = next_batch(rng);
    const double lr = schedule(std::size_t(step), std::size_t(options.steps));
    if (hooks.begin_step && hooks.begin_step(step, options.steps)) adam.reset_state();
    const double loss = model.forward_backward(b.inputs, b.targets, b.seq_len);
    if (!std::isfinite(loss))
      throw std::runtime_error(std::string(fn) + ": the training loss is " + std::to_string(loss) + " at step " +
                               std::to_string(step) + " (try a lower learning_rate or clip_norm)");
    if (hooks.after_backward) hooks.after_backward();
    const double norm = options.clip_norm > 0 ? clip_grad_norm(params, options.clip_norm) : global_grad_norm(params);
    adam.set_learning_rate(T(lr));
    adam.step();
    r.losses.push_back(loss);
    r.tokens += Index(b.inputs.size());
    since_sum += loss;
    ++since_n;
    const bool eval = (options.eval_every > 0 && (step + 1) % options.eval_every == 0) || step + 1 == options.steps;
    LMProgress p;
    p.step = step + 1;
    p.steps = options.steps;
    p.train_loss = loss;
    p.memory_loss = model.memory_loss();
    p.learning_rate = lr;
    p.grad_norm = norm;
    p.seconds = elapsed();
    p.tokens_per_second = double(r.tokens) / std::max(p.seconds - r.eval_seconds, 1e-9);
    if (eval) {
      const double e0 = elapsed();
      LMCurvePoint c;
      c.step = step + 1;
      c.train_loss = since_sum / double(since_n);
      const LMEvaluation v = validation.empty() ? LMEvaluation{} : evaluate_lm(model, validation);
      c.validation_loss = v.loss;
      c.validation_accuracy = v.accuracy;
      c.seconds = elapsed();
      r.eval_seconds += c.seconds - e0;
      r.curve.push_back(c);
      p.validation_loss = c.validation_loss;
      p.validation_accuracy = c.validation_accuracy;
      since_sum = 0;
      since_n = 0;
    }
    if (!options.checkpoint_path.empty() &&
        ((options.checkpoint_every > 0 && (step + 1) % options.checkpoint_every == 0) || step + 1 == options.steps)) {
      r.seconds = elapsed();
      ck::write<T>(options.checkpoint_path, snapshot(step + 1));
    }
    if (options.progress) options.progress(p);
  }
  r.seconds = elapsed();
  r.tokens_per_second = double(r.tokens) / std::max(r.seconds - r.eval_seconds, 1e-9);
  return r;
}

ATTNSEL_NAMESPACE_END
