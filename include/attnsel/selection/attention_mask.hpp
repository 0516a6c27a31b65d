// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file selection/attention_mask.hpp
/// The Sequential Attention module (Yasuda et al., ICLR 2023): trainable logits w over the d
/// candidate features and the 0/1 set S of features selected so far. At training progress
/// τ ∈ [0, 1) it yields the feature weights
///
///   a = 1                                  during warm-up (τ < start),
///   a = masked_softmax(w, 1 − S) + S       afterwards,
///
/// and, on an evenly spaced schedule of rounds after the warm-up, moves the `per_round`
/// unselected features with the largest logits into S and (by default) re-draws the logits.
///
/// Schedule (the reference code's, see docs/sequential-attention.md §1.3): with T = k / per_round rounds,
/// q = (τ − start) / (stop − start) and idx = min(floor(q·T), T − 1), round r may fire once
/// idx ≥ r. Two behaviours the reference code has are selectable:
///  - `MaskTiming::reference`: round r fires at the first step of phase r. Round 0 therefore
///    picks right after the warm-up, from logits that never received a gradient (a random pick
///    among near-zero logits), and the logits trained after the last pick are never used.
///  - `MaskTiming::end_of_phase` (default): round r fires at the first step of phase r + 1, i.e.
///    after its logits trained for a whole phase; the last round fires in `finish()`, after
///    training.
///  - `round_count`: `MaskRoundCount::reference` compares idx with |S| (the reference code's
///    test, which fires fewer than T rounds when per_round > 1; the missing features are then
///    padded from the logits in finish()), `MaskRoundCount::fixed` (default) with |S| / per_round.
///
/// Ties between logits go to the lowest feature index. All random draws use the module's seed.

#include <cmath>
#include <cstdint>
#include <vector>

#include "../error.hpp"
#include "../nn/parameter.hpp"
#include "../random.hpp"
#include "../simd/dispatch.hpp"
#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

enum class MaskTiming { reference, end_of_phase };
enum class MaskRoundCount { reference, fixed };

struct AttentionMaskOptions {
  Index k = 10;             ///< features to select
  Index per_round = 1;      ///< features selected per round (k % per_round == 0)
  double start = 0.1;       ///< warm-up fraction of training (a = 1 before it)
  double stop = 1.0;        ///< training fraction by which all rounds are scheduled
  bool reset_logits = true; ///< re-draw the logits after each round
  double init_stddev = 1e-5;
  MaskTiming timing = MaskTiming::end_of_phase;
  MaskRoundCount round_count = MaskRoundCount::fixed;
  std::uint64_t seed = 1;
};

template <class T>
class AttentionMask {
 public:
  /// @throws std::invalid_argument for d < 1, k outside [1, d], per_round < 1 or not dividing
  ///         k, start/stop outside 0 <= start < stop <= 1, negative init_stddev.
  AttentionMask(Index d, const AttentionMaskOptions& options);

  Index size() const noexcept { return d_; }
  const AttentionMaskOptions& options() const noexcept { return opt_; }
  /// The trainable logits (1 x d): register them with the optimizer.
  Parameter<T>& logits() noexcept { return w_; }
  const Parameter<T>& logits() const noexcept { return w_; }

  /// Runs due selection rounds for progress τ, then writes the feature weights `a` (1 x d).
  /// Call once per training step, before the forward pass. @throws std::invalid_argument for τ
  /// outside [0, 1].
  void update(double tau);
  /// The feature weights of the last update (1 x d).
  const RowMatrix<T>& weights() const noexcept { return a_; }
  /// True while the warm-up lasts (a = 1, no gradient to the logits).
  bool in_warmup() const noexcept { return warmup_; }

  /// Turns dL/da (1 x d, e.g. FeatureScale::scale_grad()) into dL/dw in logits().grad:
  /// dL/dw_j = a_j (g_j − Σ_i a_i g_i) over unselected j, 0 for selected ones and in warm-up.
  template <class D>
  void backward(const Eigen::MatrixBase<D>& grad_a);

  /// Completes the selection after training so that exactly k features are selected. The
  /// features still missing (end-of-phase timing's last round, reference round counting's
  /// shortfall, or rounds that never ran because training stopped early or had fewer steps than
  /// rounds) are taken at once as the top of the masked attention over the last *trained*
  /// logits, recorded as one more history entry; no logits are redrawn in between. Later calls
  /// and update() select nothing more.
  /// @param completed whether training ran to its end: then the round scheduled for the end of
  ///        training (end-of-phase timing's last round) counts as a trained round.
  void finish(bool completed = true);
  /// How many of selected() (the first ones) came from rounds that ran on schedule: the rounds
  /// fired by update() and, after a completed training, the round due at its end. The rest were
  /// completed by finish() from the last trained logits.
  Index trained_selections() const noexcept { return trained_; }

  /// Selected features in selection order.
  const std::vector<Index>& selected() const noexcept { return order_; }
  /// 1 for selected features (1 x d).
  const RowMatrix<T>& selected_mask() const noexcept { return S_; }
  /// Logits at each round, just before the round's choice.
  const std::vector<std::vector<T>>& history() const noexcept { return history_; }
  /// Rounds fired so far.
  Index rounds() const noexcept { return Index(history_.size()); }
  /// Rounds in total, T = k / per_round.
  Index total_rounds() const noexcept { return opt_.k / opt_.per_round; }

 private:
  void select_round(Index count);
  void draw_logits();

  Index d_;
  AttentionMaskOptions opt_;
  Rng rng_;
  Parameter<T> w_;
  RowMatrix<T> S_, a_, unselected_;
  std::vector<Index> order_;
  std::vector<std::vector<T>> history_;
  Index trained_ = 0;
  bool finished_ = false;
  bool warmup_ = true;
};

// ---- implementation ----

template <class T>
AttentionMask<T>::AttentionMask(Index d, const AttentionMaskOptions& o)
    : d_(d), opt_(o), rng_(o.seed), w_("attention_logits", 1, d < 1 ? 1 : d) {
  constexpr const char* fn = "attnsel::AttentionMask";
  detail::require(d >= 1, fn, "argument 'd' is ", d, ", expected >= 1");
  detail::require(o.k >= 1 && o.k <= d, fn, "option 'k' is ", o.k, ", expected a value in [1, ", d, "] (the number of features)");
  detail::require(o.per_round >= 1 && o.k % o.per_round == 0, fn, "option 'per_round' is ", o.per_round,
                  ", expected a divisor of k = ", o.k);
  detail::require(o.start >= 0.0 && o.start < o.stop && o.stop <= 1.0, fn, "options 'start' and 'stop' are ", o.start,
                  " and ", o.stop, ", expected 0 <= start < stop <= 1");
  detail::require(o.init_stddev >= 0.0 && std::isfinite(o.init_stddev), fn, "option 'init_stddev' is ", o.init_stddev,
                  ", expected a finite value >= 0");
  S_ = RowMatrix<T>::Zero(1, d);
  a_ = RowMatrix<T>::Ones(1, d);
  unselected_ = RowMatrix<T>::Ones(1, d);
  draw_logits();
}

template <class T>
void AttentionMask<T>::draw_logits() {
  for (Index j = 0; j < d_; ++j) w_.value(0, j) = T(random::normal(rng_, 0.0, opt_.init_stddev));
}

template <class T>
void AttentionMask<T>::select_round(Index count) {
  history_.emplace_back(w_.value.data(), w_.value.data() + d_);
  const auto n = static_cast<std::size_t>(d_);
  std::vector<std::size_t> idx(static_cast<std::size_t>(count));
  const std::size_t got = simd::masked_top_k(w_.value.data(), unselected_.data(), n, idx.size(), idx.data());
  for (std::size_t i = 0; i < got; ++i) {
    const Index j = static_cast<Index>(idx[i]);
    S_(0, j) = T(1);
    unselected_(0, j) = T(0);
    order_.push_back(j);
  }
  if (opt_.reset_logits) draw_logits();
}

template <class T>
void AttentionMask<T>::update(double tau) {
  detail::require(tau >= 0.0 && tau <= 1.0, "attnsel::AttentionMask::update", "argument 'tau' is ", tau,
                  ", expected the training progress in [0, 1]");
  const Index T_rounds = total_rounds();
  const double q = (tau - opt_.start) / (opt_.stop - opt_.start);
  const double fl = std::floor(q * double(T_rounds));
  const Index idx = fl < 0 ? Index(-1) : std::min<Index>(Index(fl), T_rounds - 1);
  warmup_ = idx < 0;
  if (!warmup_) {
    // Rounds this τ allows: round r is due once idx >= r (reference timing) or idx >= r + 1
    // (end-of-phase timing, whose last round fires in finish()).
    const Index allowed = opt_.timing == MaskTiming::reference ? idx + 1 : idx;
    const Index n_sel = Index(order_.size());
    const Index done = opt_.round_count == MaskRoundCount::reference ? n_sel : n_sel / opt_.per_round;
    // At most one round per step, as in the reference code.
    if (done < allowed && n_sel < opt_.k && !finished_) {
      select_round(std::min(opt_.per_round, opt_.k - n_sel));
      trained_ = Index(order_.size());
    }
  }
  if (warmup_) {
    a_.setOnes();
  } else {
    simd::masked_softmax(w_.value.data(), unselected_.data(), a_.data(), static_cast<std::size_t>(d_));
    a_ += S_;
  }
}

template <class T>
template <class D>
void AttentionMask<T>::backward(const Eigen::MatrixBase<D>& g) {
  detail::require(g.size() == d_, "attnsel::AttentionMask::backward", "argument 'grad_a' has ", g.size(),
                  " values, expected ", d_);
  w_.grad.setZero();
  if (warmup_) return;
  // p = softmax part of a (selected entries carry 1 from S, not from the softmax).
  T dot(0);
  for (Index j = 0; j < d_; ++j)
    if (unselected_(0, j) != T(0)) dot += a_(0, j) * T(g(j));
  for (Index j = 0; j < d_; ++j)
    if (unselected_(0, j) != T(0)) w_.grad(0, j) = a_(0, j) * (T(g(j)) - dot);
}

template <class T>
void AttentionMask<T>::finish(bool completed) {
  if (finished_) return;
  finished_ = true;
  const Index missing = opt_.k - Index(order_.size());
  if (missing <= 0) return;
  // One pick from the logits as training left them: a round per missing feature would redraw the
  // logits after the first pick (reset_logits) and choose the rest from fresh noise.
  const bool reset = opt_.reset_logits;
  opt_.reset_logits = false;
  select_round(missing);
  opt_.reset_logits = reset;
  const bool last_round_due = completed && opt_.timing == MaskTiming::end_of_phase &&
                              opt_.round_count == MaskRoundCount::fixed && missing <= opt_.per_round;
  if (last_round_due) trained_ = Index(order_.size());
}

ATTNSEL_NAMESPACE_END
