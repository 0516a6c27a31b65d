// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file data/split.hpp
/// Seeded splits of a Dataset: stratified by class for classification, plain shuffles for
/// regression. Same seed, same split, on every platform (attnsel::random).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <numeric>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../random.hpp"
#include "dataset.hpp"

ATTNSEL_NAMESPACE_BEGIN

template <class T>
struct TrainTest {
  Dataset<T> train, test;
};

template <class T>
struct TrainValidationTest {
  Dataset<T> train, validation, test;
};

namespace detail {

/// Row indices grouped into strata (one per class; one for regression), each shuffled.
template <class T>
std::vector<std::vector<Index>> shuffled_strata(const Dataset<T>& data, Rng& rng) {
  std::vector<std::vector<Index>> strata;
  if (data.task == Task::classification) {
    std::map<Index, std::size_t> slot;
    for (Index r = 0; r < data.rows(); ++r) {
      const Index c = static_cast<Index>(data.y(r));
      auto it = slot.find(c);
      if (it == slot.end()) {
        it = slot.emplace(c, strata.size()).first;
        strata.emplace_back();
      }
      strata[it->second].push_back(r);
    }
  } else {
    strata.emplace_back(static_cast<std::size_t>(data.rows()));
    std::iota(strata[0].begin(), strata[0].end(), Index(0));
  }
  for (auto& s : strata) random::shuffle(s, rng);
  return strata;
}

inline void check_fraction(const char* fn, const char* name, double f) {
  require(f >= 0.0 && f < 1.0, fn, "argument '", name, "' is ", f, ", expected a value in [0, 1)");
}

/// The data must have rows, one target per row and, for classification, class ids that are
/// integers >= 0 (the strata are keyed by them).
template <class T>
void check_split_data(const char* fn, const Dataset<T>& data) {
  require(data.rows() >= 1, fn, "argument 'data' has no rows");
  require(data.y.size() == data.rows(), fn, "argument 'data' has ", data.rows(), " rows in X but ", data.y.size(),
          " targets in y");
  if (data.task != Task::classification) return;
  for (Index r = 0; r < data.rows(); ++r) {
    const T v = data.y(r);
    if (!(v >= T(0) && v == std::floor(v) && v < T(1e9)))
      throw_invalid(fn, "argument 'data' holds the class id ", v, " at row ", r,
                    " of y, expected an integer >= 0 (Task::classification)");
  }
}

}  // namespace detail

/// Splits off round(test_fraction · n_c) rows of every class c (of all rows for regression)
/// as the test set. Rows keep their original relative order within each part.
/// @throws std::invalid_argument if test_fraction is outside [0, 1), the data is empty, y does
///         not have one value per row, or (classification) a class id is not an integer >= 0.
template <class T>
TrainTest<T> stratified_split(const Dataset<T>& data, double test_fraction, std::uint64_t seed) {
  constexpr const char* fn = "attnsel::stratified_split";
  detail::check_fraction(fn, "test_fraction", test_fraction);
  detail::check_split_data(fn, data);
  Rng rng(seed);
  std::vector<Index> train, test;
  for (const auto& s : detail::shuffled_strata(data, rng)) {
    const auto k = static_cast<std::size_t>(std::llround(test_fraction * double(s.size())));
    test.insert(test.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(k));
    train.insert(train.end(), s.begin() + static_cast<std::ptrdiff_t>(k), s.end());
  }
  std::sort(train.begin(), train.end());
  std::sort(test.begin(), test.end());
  return {data.subset(train), data.subset(test)};
}

/// Three-way stratified split: validation_fraction and test_fraction of every class.
/// @throws std::invalid_argument if a fraction is outside [0, 1) or they add up to 1 or more, and
///         for the data as the two-way split.
template <class T>
TrainValidationTest<T> stratified_split(const Dataset<T>& data, double validation_fraction, double test_fraction,
                                        std::uint64_t seed) {
  constexpr const char* fn = "attnsel::stratified_split";
  detail::check_fraction(fn, "validation_fraction", validation_fraction);
  detail::check_fraction(fn, "test_fraction", test_fraction);
  detail::require(validation_fraction + test_fraction < 1.0, fn, "validation_fraction + test_fraction is ",
                  validation_fraction + test_fraction, ", expected < 1");
  detail::check_split_data(fn, data);
  Rng rng(seed);
  std::vector<Index> train, val, test;
  for (const auto& s : detail::shuffled_strata(data, rng)) {
    const auto kt = static_cast<std::size_t>(std::llround(test_fraction * double(s.size())));
    const auto kv = std::min(s.size() - kt, static_cast<std::size_t>(std::llround(validation_fraction * double(s.size()))));
    test.insert(test.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(kt));
    val.insert(val.end(), s.begin() + static_cast<std::ptrdiff_t>(kt), s.begin() + static_cast<std::ptrdiff_t>(kt + kv));
    train.insert(train.end(), s.begin() + static_cast<std::ptrdiff_t>(kt + kv), s.end());
  }
  std::sort(train.begin(), train.end());
  std::sort(val.begin(), val.end());
  std::sort(test.begin(), test.end());
  return {data.subset(train), data.subset(val), data.subset(test)};
}

ATTNSEL_NAMESPACE_END
