// The command line of the feature_selection example: parsing and validation, kept apart from
// main() so that tests and fuzz/fuzz_args.cpp can call it. Never prints, never exits.
#pragma once

#include <attnsel/types.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace examples {

/// Options of feature_selection, with the defaults the program runs with.
struct FeatureSelectionArgs {
  std::string data = "digits", label, idx_dir, method = "sa", task = "classification", picture, export_dir, output;
  attnsel::Index k = 10;
  int epochs = 60, batch = 64;
  double lr = 5e-3, test_fraction = 0.25;
  std::uint64_t seed = 1;
  bool quiet = false, no_picture = false;
  /// The help text when --help (or -h) was given; the other fields then keep their defaults.
  std::string help;
};

/// Parses the arguments that follow the program name. --k is checked against the data set later
/// (the number of features is not known here).
/// @throws std::invalid_argument with one line naming the option and the problem (unknown option,
///         missing or unconvertible value, value out of range, unknown --method or --task).
inline FeatureSelectionArgs parse_feature_selection_args(std::vector<std::string> args) {
  FeatureSelectionArgs a;
  CLI::App app{"Select features with Sequential Attention and measure a model retrained on them.", "feature_selection"};
  app.add_option("--data", a.data, "bundled table (digits, breast_cancer, wine, diabetes) or a CSV path")->capture_default_str();
  app.add_option("--label", a.label, "label column of a CSV (default: the last column)");
  app.add_option("--idx", a.idx_dir, "folder with MNIST-layout IDX files (replaces --data; official split)");
  app.add_option("--task", a.task, "classification or regression")->capture_default_str()->check(CLI::IsMember({"classification", "regression"}));
  app.add_option("--k", a.k, "number of features to select")->capture_default_str();
  app.add_option("--method", a.method, "sa (Sequential Attention), omp, lasso or random")->capture_default_str();
  app.add_option("--epochs", a.epochs, "training epochs for selection and for each retraining")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--batch", a.batch, "minibatch size")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  app.add_option("--lr", a.lr, "Adam learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--test-fraction", a.test_fraction, "held-out share of a table (stratified)")->capture_default_str()->check(CLI::Range(0.01, 0.9));
  app.add_option("--seed", a.seed, "seed for the split, the models and the random baseline")->capture_default_str();
  app.add_option("--picture", a.picture, "PNG of the selected pixels (image data; default selected_pixels.png)");
  app.add_flag("--no-picture", a.no_picture, "do not write the PNG");
  app.add_option("--output", a.output, "save the selection (indices, names, method) as JSON here");
  app.add_flag("--quiet", a.quiet, "no progress bar");
  app.add_option("--export-split", a.export_dir, "write train.csv and test.csv of the split here (for peer comparisons)");

  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments last first
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    FeatureSelectionArgs h;
    h.help = app.help();
    return h;
  } catch (const CLI::CallForAllHelp&) {
    FeatureSelectionArgs h;
    h.help = app.help("", CLI::AppFormatMode::All);
    return h;
  } catch (const CLI::Error& e) {
    throw std::invalid_argument(e.what());
  }
  if (a.method != "sa" && a.method != "omp" && a.method != "lasso" && a.method != "random")
    throw std::invalid_argument("--method must be sa, omp, lasso or random, got '" + a.method + "'");
  return a;
}

}  // namespace examples
