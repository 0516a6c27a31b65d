// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file train/callbacks.hpp
/// Training callbacks, ensmallen style: plain objects with any subset of these methods, found
/// by detection at compile time (no base class, no virtual calls):
///
/// | method                                   | when                                   | may return bool (true = stop) |
/// |------------------------------------------|----------------------------------------|----|
/// | `on_train_begin(const StepInfo<T>&)`     | once, before the first step            | no |
/// | `on_epoch_begin(const StepInfo<T>&)`     | before each epoch                      | no |
/// | `on_step_begin(const StepInfo<T>&)`      | before each forward pass (τ is set)    | no |
/// | `on_backward_end(const StepInfo<T>&)`    | gradients ready, before the update     | no |
/// | `on_step_end(const StepInfo<T>&)`        | after the update (loss is set)         | yes |
/// | `on_epoch_end(const EpochInfo<T>&)`      | after validation                       | yes |
/// | `on_train_end(const TrainHistory<T>&)`   | once, at the end                       | no |
///
/// Selectors use on_step_begin (set masks from the training progress τ ∈ [0, 1]) and
/// on_backward_end (turn the mask gradient into logit gradients). Ready-made: ProgressBar,
/// EarlyStop. Library code never prints: only a ProgressBar the caller passes writes, to the
/// stream the caller gives it.

#include <chrono>
#include <cmath>
#include <cstddef>
#include <functional>
#include <limits>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// Where training is, passed to the step and epoch-begin events.
template <class T>
struct StepInfo {
  Index epoch = 0;               ///< 0-based
  Index epochs = 0;
  std::size_t step = 0;          ///< global, 0-based: updates applied before this one
  std::size_t total_steps = 0;   ///< epochs × batches per epoch
  std::size_t batch = 0;         ///< 0-based within the epoch
  std::size_t batches = 0;       ///< per epoch
  double tau = 0.0;              ///< training progress step / total_steps, in [0, 1)
  T learning_rate = T(0);
  T loss = std::numeric_limits<T>::quiet_NaN();  ///< batch loss, set for on_step_end
  /// The current minibatch (examples and targets), for hooks that need an extra pass over it;
  /// valid during the step events, null otherwise.
  const RowMatrix<T>* batch_X = nullptr;
  const RowMatrix<T>* batch_Y = nullptr;
};

/// Summary of one epoch, passed to on_epoch_end.
template <class T>
struct EpochInfo {
  Index epoch = 0;
  Index epochs = 0;
  T train_loss = T(0);                   ///< mean over the epoch's examples
  bool has_validation = false;
  T validation_loss = std::numeric_limits<T>::quiet_NaN();
  T validation_metric = std::numeric_limits<T>::quiet_NaN();
  const char* metric_name = "";
  double seconds = 0.0;                  ///< wall time of the epoch, validation included
};

/// What a training run did.
template <class T>
struct TrainHistory {
  std::vector<T> train_loss;             ///< per epoch
  std::vector<T> validation_loss;        ///< per epoch (empty without validation)
  std::vector<T> validation_metric;      ///< per epoch (empty without validation)
  std::string metric_name;
  Index epochs_run = 0;
  std::size_t steps = 0;
  bool stopped_early = false;
  double seconds = 0.0;
};

namespace detail {

#define ATTNSEL_DETAIL_CALLBACK_EVENT(event)                                                      \
  template <class C, class Info, class = void>                                                     \
  struct has_##event : std::false_type {};                                                         \
  template <class C, class Info>                                                                   \
  struct has_##event<C, Info, std::void_t<decltype(std::declval<C&>().event(std::declval<const Info&>()))>> \
      : std::true_type {};                                                                         \
  template <class C, class Info>                                                                   \
  bool call_##event(C& c, const Info& info) {                                                      \
    if constexpr (has_##event<C, Info>::value) {                                                   \
      if constexpr (std::is_same_v<decltype(c.event(info)), bool>) {                               \
        return c.event(info);                                                                      \
      } else {                                                                                     \
        c.event(info);                                                                             \
        return false;                                                                              \
      }                                                                                            \
    } else {                                                                                       \
      (void)c;                                                                                     \
      (void)info;                                                                                  \
      return false;                                                                                \
    }                                                                                              \
  }                                                                                                \
  template <class Info, class... Cs>                                                               \
  bool fire_##event(const Info& info, Cs&... cs) {                                                 \
    bool stop = false;                                                                             \
    ((stop = call_##event(cs, info) || stop), ...);                                                \
    return stop;                                                                                   \
  }

ATTNSEL_DETAIL_CALLBACK_EVENT(on_train_begin)
ATTNSEL_DETAIL_CALLBACK_EVENT(on_epoch_begin)
ATTNSEL_DETAIL_CALLBACK_EVENT(on_step_begin)
ATTNSEL_DETAIL_CALLBACK_EVENT(on_backward_end)
ATTNSEL_DETAIL_CALLBACK_EVENT(on_step_end)
ATTNSEL_DETAIL_CALLBACK_EVENT(on_epoch_end)
ATTNSEL_DETAIL_CALLBACK_EVENT(on_train_end)
#undef ATTNSEL_DETAIL_CALLBACK_EVENT

/// True when C reacts to at least one training event.
template <class T, class C>
inline constexpr bool is_callback_v =
    has_on_train_begin<C, StepInfo<T>>::value || has_on_epoch_begin<C, StepInfo<T>>::value ||
    has_on_step_begin<C, StepInfo<T>>::value || has_on_backward_end<C, StepInfo<T>>::value ||
    has_on_step_end<C, StepInfo<T>>::value || has_on_epoch_end<C, EpochInfo<T>>::value ||
    has_on_train_end<C, TrainHistory<T>>::value;

/// The callbacks of a pack behind one type: each event calls them in pack order and or-s their
/// stop results, as fire_* does. Selectors pass one of these to the trainer, so the trainer is
/// instantiated once per scalar type whatever callbacks their caller gives (compile time; the
/// cost is one indirect call per event and callback). Holds references: the callbacks must
/// outlive it.
template <class T>
class ErasedCallbacks {
 public:
  template <class... Cs>
  explicit ErasedCallbacks(Cs&... cs) {
    (add(cs), ...);
  }

  bool on_train_begin(const StepInfo<T>& i) { return fire(train_begin_, i); }
  bool on_epoch_begin(const StepInfo<T>& i) { return fire(epoch_begin_, i); }
  bool on_step_begin(const StepInfo<T>& i) { return fire(step_begin_, i); }
  bool on_backward_end(const StepInfo<T>& i) { return fire(backward_end_, i); }
  bool on_step_end(const StepInfo<T>& i) { return fire(step_end_, i); }
  bool on_epoch_end(const EpochInfo<T>& i) { return fire(epoch_end_, i); }
  bool on_train_end(const TrainHistory<T>& i) { return fire(train_end_, i); }

 private:
  template <class Info>
  using List = std::vector<std::function<bool(const Info&)>>;

  template <class C>
  void add(C& c) {
    static_assert(is_callback_v<T, C>,
                  "attnsel: a callback has none of the events on_train_begin, on_epoch_begin, on_step_begin, "
                  "on_backward_end, on_step_end, on_epoch_end, on_train_end (see include/attnsel/train/callbacks.hpp)");
    if constexpr (has_on_train_begin<C, StepInfo<T>>::value)
      train_begin_.push_back([&c](const StepInfo<T>& i) { return call_on_train_begin(c, i); });
    if constexpr (has_on_epoch_begin<C, StepInfo<T>>::value)
      epoch_begin_.push_back([&c](const StepInfo<T>& i) { return call_on_epoch_begin(c, i); });
    if constexpr (has_on_step_begin<C, StepInfo<T>>::value)
      step_begin_.push_back([&c](const StepInfo<T>& i) { return call_on_step_begin(c, i); });
    if constexpr (has_on_backward_end<C, StepInfo<T>>::value)
      backward_end_.push_back([&c](const StepInfo<T>& i) { return call_on_backward_end(c, i); });
    if constexpr (has_on_step_end<C, StepInfo<T>>::value)
      step_end_.push_back([&c](const StepInfo<T>& i) { return call_on_step_end(c, i); });
    if constexpr (has_on_epoch_end<C, EpochInfo<T>>::value)
      epoch_end_.push_back([&c](const EpochInfo<T>& i) { return call_on_epoch_end(c, i); });
    if constexpr (has_on_train_end<C, TrainHistory<T>>::value)
      train_end_.push_back([&c](const TrainHistory<T>& i) { return call_on_train_end(c, i); });
  }

  template <class Info>
  static bool fire(const List<Info>& fs, const Info& info) {
    bool stop = false;
    for (const auto& f : fs) stop = f(info) || stop;
    return stop;
  }

  List<StepInfo<T>> train_begin_, epoch_begin_, step_begin_, backward_end_, step_end_;
  List<EpochInfo<T>> epoch_end_;
  List<TrainHistory<T>> train_end_;
};

}  // namespace detail

/// Draws a progress bar per epoch on `out` (e.g. the standard error stream), with the running loss, and one
/// summary line per epoch. Writes only to the stream it is given.
class ProgressBar {
 public:
  explicit ProgressBar(std::ostream& out, int width = 30) : out_(&out), width_(width < 1 ? 1 : width) {}

  template <class T>
  void on_epoch_begin(const StepInfo<T>&) {
    loss_sum_ = 0;
    seen_ = 0;
    drawn_ = -1;
  }

  template <class T>
  void on_step_end(const StepInfo<T>& s) {
    loss_sum_ += double(s.loss);
    ++seen_;
    const int filled = s.batches == 0 ? width_ : int(double(width_) * double(s.batch + 1) / double(s.batches));
    const auto now = std::chrono::steady_clock::now();
    const bool last = s.batch + 1 == s.batches;
    // Redraw when the bar grows, at most ten times a second, and always for the last batch.
    if (!last && (filled == drawn_ || (drawn_ >= 0 && now - last_draw_ < std::chrono::milliseconds(100)))) return;
    drawn_ = filled;
    last_draw_ = now;
    *out_ << "\repoch " << s.epoch + 1 << '/' << s.epochs << " [" << std::string(std::size_t(filled), '=')
          << std::string(std::size_t(width_ - filled), ' ') << "] loss " << loss_sum_ / double(seen_) << std::flush;
  }

  template <class T>
  void on_epoch_end(const EpochInfo<T>& e) {
    *out_ << "\repoch " << e.epoch + 1 << '/' << e.epochs << ": loss " << e.train_loss;
    if (e.has_validation)
      *out_ << ", validation loss " << e.validation_loss << ", validation " << e.metric_name << ' ' << e.validation_metric;
    *out_ << " (" << e.seconds << " s)" << std::string(std::size_t(width_), ' ') << '\n' << std::flush;
  }

 private:
  std::ostream* out_;
  int width_;
  double loss_sum_ = 0;
  std::size_t seen_ = 0;
  int drawn_ = -1;
  std::chrono::steady_clock::time_point last_draw_{};
};

/// Stops training when the monitored loss (validation loss when there is validation data, else
/// the training loss) has not improved by more than `min_delta` for `patience` epochs.
class EarlyStop {
 public:
  /// @throws std::invalid_argument if patience < 1 or min_delta < 0.
  explicit EarlyStop(int patience = 5, double min_delta = 0.0) : patience_(patience), min_delta_(min_delta) {
    detail::require(patience >= 1, "attnsel::EarlyStop", "argument 'patience' is ", patience, ", expected >= 1");
    detail::require(min_delta >= 0.0, "attnsel::EarlyStop", "argument 'min_delta' is ", min_delta, ", expected >= 0");
  }

  template <class T>
  bool on_epoch_end(const EpochInfo<T>& e) {
    const double v = e.has_validation ? double(e.validation_loss) : double(e.train_loss);
    if (v < best_ - min_delta_) {
      best_ = v;
      best_epoch_ = e.epoch;
      bad_ = 0;
      return false;
    }
    return ++bad_ >= patience_;
  }

  /// Lowest monitored loss seen and its epoch (0-based; -1 before the first epoch).
  double best() const noexcept { return best_; }
  Index best_epoch() const noexcept { return best_epoch_; }

 private:
  int patience_;
  double min_delta_;
  double best_ = std::numeric_limits<double>::infinity();
  Index best_epoch_ = -1;
  int bad_ = 0;
};

ATTNSEL_NAMESPACE_END
