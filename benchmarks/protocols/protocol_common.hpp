// What the two evaluation protocols (selection_protocol, pruning_protocol) share: the
// train / validation / test split of every seed, number lists on the command line, mean ± sd,
// and the choice of a hyper-parameter on validation accuracy.
#pragma once

#include <attnsel/attnsel.hpp>

#include <CLI/CLI.hpp>

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../../examples/common/datasets.hpp"

namespace protocol {

/// One seed's data: `fit` trains (selection and retraining), `validation` (12.5 % of the
/// training data by default, as the reference code holds out) chooses hyper-parameters, `test`
/// is touched only to report the chosen setting.
template <class T>
struct Split {
  attnsel::Dataset<T> fit, validation, test;
};

/// Loads an MNIST-layout IDX folder (official train/test, pixels min-max scaled) or a table
/// (stratified test split per seed, standardised on the fitting part).
template <class T>
class Data {
 public:
  Data(const std::string& idx_dir, const std::string& table, double test_fraction, double validation_fraction)
      : idx_(!idx_dir.empty()), test_fraction_(test_fraction), validation_fraction_(validation_fraction) {
    if (!(validation_fraction >= 0.0 && validation_fraction < 1.0))
      throw std::invalid_argument("--val-fraction must be in [0, 1), got " + std::to_string(validation_fraction));
    if (idx_) {
      fixed_ = examples::load_idx_folder<T>(idx_dir);
      attnsel::MinMaxScaler<T> mm(true);  // global min-max, as the reference loaders
      fixed_.train.X = mm.fit_transform(fixed_.train.X);
      fixed_.test.X = mm.transform(fixed_.test.X);
    } else {
      table_ = examples::load_table<T>(table, "", attnsel::Task::classification);
    }
  }

  /// The seed's split: the validation rows are a seeded stratified sample of the training rows
  /// (none with a validation fraction of 0: then `fit` is all the training data, for runs at
  /// fixed hyper-parameters that are compared with a peer trained on the whole training set).
  Split<T> split(int seed) const {
    attnsel::TrainTest<T> tt =
        idx_ ? fixed_ : attnsel::stratified_split(table_, test_fraction_, std::uint64_t(seed));
    Split<T> s;
    if (validation_fraction_ > 0.0) {
      attnsel::TrainTest<T> fv = attnsel::stratified_split(tt.train, validation_fraction_, 0x7a11dULL + std::uint64_t(seed));
      s = Split<T>{std::move(fv.train), std::move(fv.test), std::move(tt.test)};
    } else {
      s.fit = std::move(tt.train);
      s.test = std::move(tt.test);
    }
    if (!idx_) {
      attnsel::Standardizer<T> sc;
      s.fit.X = sc.fit_transform(s.fit.X);
      if (s.validation.X.rows() > 0) s.validation.X = sc.transform(s.validation.X);
      s.test.X = sc.transform(s.test.X);
    }
    return s;
  }

 private:
  bool idx_;
  double test_fraction_, validation_fraction_;
  attnsel::TrainTest<T> fixed_;
  attnsel::Dataset<T> table_;
};

template <class V>
std::vector<V> parse_list(const std::string& s, const char* what) {
  std::vector<V> out;
  if (s.empty()) return out;
  for (const std::string& p : CLI::detail::split(s, ',')) {
    try {
      std::size_t used = 0;
      const double v = std::stod(p, &used);
      if (used != p.size()) throw std::invalid_argument(p);
      out.push_back(static_cast<V>(v));
    } catch (const std::exception&) {
      throw std::invalid_argument(std::string(what) + ": '" + p + "' is not a number");
    }
  }
  return out;
}

/// Mean and sample standard deviation.
inline std::pair<double, double> mean_sd(const std::vector<double>& v) {
  double mean = 0, sd = 0;
  for (double x : v) mean += x / double(v.size());
  for (double x : v) sd += (x - mean) * (x - mean) / double(v.size() > 1 ? v.size() - 1 : 1);
  return {mean, std::sqrt(sd)};
}

/// Index of the largest score (the first, i.e. the earlier grid value, on ties).
inline std::size_t best_index(const std::vector<double>& scores) {
  std::size_t b = 0;
  for (std::size_t i = 1; i < scores.size(); ++i)
    if (scores[i] > scores[b]) b = i;
  return b;
}

}  // namespace protocol
