// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file optim/optimizer.hpp
/// What SGD and Adam share: parameter groups, the learning rate, the update count.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "../error.hpp"
#include "../nn/parameter.hpp"
#include "../parallel.hpp"
#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// Per-group settings: a multiplier on the optimizer's learning rate and, optionally, a weight
/// decay and an L2 coefficient that replace the optimizer's defaults for this group (e.g. no
/// penalty on biases, or decay on attention logits).
template <class T>
struct GroupOptions {
  T lr_scale = T(1);
  std::optional<T> weight_decay;
  std::optional<T> l2;
};

namespace detail {

/// Parameter groups + learning rate + update counter; `State` is the per-parameter optimizer
/// state (moments), one per registered parameter.
template <class T, class State>
class OptimizerBase {
 public:
  /// Registers parameters as one group; returns the group's index.
  /// @throws std::invalid_argument for a null parameter, a negative or non-finite lr_scale or
  ///         weight decay, or a parameter registered twice.
  std::size_t add_parameters(const std::vector<Parameter<T>*>& params, GroupOptions<T> group = {}) {
    require(std::isfinite(group.lr_scale) && group.lr_scale >= T(0), name_, "group option 'lr_scale' is ",
            group.lr_scale, ", expected a finite value >= 0");
    if (group.weight_decay)
      require(std::isfinite(*group.weight_decay) && *group.weight_decay >= T(0), name_,
              "group option 'weight_decay' is ", *group.weight_decay, ", expected a finite value >= 0");
    if (group.l2)
      require(std::isfinite(*group.l2) && *group.l2 >= T(0), name_, "group option 'l2' is ", *group.l2,
              ", expected a finite value >= 0");
    // Check everything before registering anything: a call that throws registers nothing.
    for (std::size_t i = 0; i < params.size(); ++i) {
      Parameter<T>* p = params[i];
      require(p != nullptr, name_, "argument 'params' holds a null pointer at position ", i);
      for (const Entry& e : entries_)
        require(e.param != p, name_, "parameter '", p->name, "' is registered twice");
      for (std::size_t j = 0; j < i; ++j)
        require(params[j] != p, name_, "parameter '", p->name, "' is registered twice (argument 'params' lists it at ",
                "positions ", j, " and ", i, ")");
    }
    for (Parameter<T>* p : params) entries_.push_back(Entry{p, groups_.size(), State(p->value.rows(), p->value.cols())});
    groups_.push_back(group);
    return groups_.size() - 1;
  }

  /// The base learning rate (groups multiply it by their lr_scale).
  T learning_rate() const noexcept { return lr_; }
  /// @throws std::invalid_argument for a negative or non-finite rate.
  void set_learning_rate(T lr) {
    require(std::isfinite(lr) && lr >= T(0), name_, "learning rate is ", lr, ", expected a finite value >= 0");
    lr_ = lr;
  }
  /// Number of updates applied since construction or the last reset_state().
  std::size_t iterations() const noexcept { return iterations_; }
  /// Sets the update count (bias correction continues from it), e.g. when a training checkpoint
  /// restores the state.
  void set_iterations(std::size_t n) noexcept { iterations_ = n; }
  std::size_t group_count() const noexcept { return groups_.size(); }
  std::size_t parameter_count() const noexcept { return entries_.size(); }
  /// True when `p` is registered (in any group).
  bool holds(const Parameter<T>* p) const noexcept {
    for (const Entry& e : entries_)
      if (e.param == p) return true;
    return false;
  }
  /// Zeroes the per-parameter state and the update counter (bias correction starts again).
  void reset_state() {
    for (Entry& e : entries_) e.state = State(e.param->value.rows(), e.param->value.cols());
    iterations_ = 0;
  }

 protected:
  struct Entry {
    Parameter<T>* param;
    std::size_t group;
    State state;
  };
  explicit OptimizerBase(const char* name, T lr) : name_(name) { set_learning_rate(lr); }
  T decay_for(const Entry& e, T fallback) const {
    if (!e.param->decay) return T(0);
    const auto& wd = groups_[e.group].weight_decay;
    return wd ? *wd : fallback;
  }
  T l2_for(const Entry& e, T fallback) const {
    if (!e.param->decay) return T(0);
    const auto& l2 = groups_[e.group].l2;
    return l2 ? *l2 : fallback;
  }
  T lr_for(const Entry& e) const { return lr_ * groups_[e.group].lr_scale; }
  /// The entry of a registered parameter. @throws std::invalid_argument when `p` is not registered.
  Entry& entry_of(const Parameter<T>& p) {
    for (Entry& e : entries_)
      if (e.param == &p) return e;
    throw std::invalid_argument(std::string(name_) + ": parameter '" + p.name + "' is not registered");
  }
  void check_shapes(const Entry& e) const {
    require(e.param->grad.rows() == e.param->value.rows() && e.param->grad.cols() == e.param->value.cols(), name_,
            "parameter '", e.param->name, "' has a ", e.param->grad.rows(), "x", e.param->grad.cols(),
            " gradient for a ", e.param->value.rows(), "x", e.param->value.cols(), " value");
    require(e.state.rows() == e.param->value.rows() && e.state.cols() == e.param->value.cols(), name_,
            "parameter '", e.param->name, "' changed shape after it was registered");
  }

  const char* name_;
  T lr_;
  std::size_t iterations_ = 0;
  std::vector<GroupOptions<T>> groups_;
  std::vector<Entry> entries_;
};

/// Calls f(begin, length) over [0, n) in chunks; the chunks run on OpenMP threads when the
/// program is built with OpenMP and n is large enough to pay for it.
template <class F>
void for_chunks(Index n, F&& f) {
#if defined(_OPENMP)
  constexpr Index chunk = Index(1) << 14;
  if (n >= 4 * chunk) {
    const Index pieces = (n + chunk - 1) / chunk;
    ParallelErrors errors;
#pragma omp parallel for schedule(static)
    for (Index p = 0; p < pieces; ++p) errors.run([&] { f(p * chunk, std::min(chunk, n - p * chunk)); });
    errors.rethrow();
    return;
  }
#endif
  if (n > 0) f(Index(0), n);
}

}  // namespace detail

ATTNSEL_NAMESPACE_END
