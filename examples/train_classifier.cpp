// train_classifier: trains an MLP (or a logistic regression) with attnsel's training core on a
// bundled table, any CSV file, or MNIST / Fashion-MNIST, and prints the test accuracy.
//
//   train_classifier --data digits --hidden 64 --epochs 30
//   train_classifier --idx ~/.cache/attnsel/mnist --hidden 256,128 --epochs 15
//   train_classifier --help
#include <attnsel/attnsel.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/datasets.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

int main(int argc, char** argv) {
  CLI::App app{"Train a classifier with attnsel's training core and report its test accuracy."};
  std::string data = "digits", label, idx_dir, hidden_text = "64", export_dir, schedule = "constant";
  int epochs = 30, batch = 64, threads = 0;
  double lr = 1e-3, test_fraction = 0.25, weight_decay = 0.0, C = 0.0;
  std::uint64_t seed = 1;
  bool quiet = false, batch_norm = false;
  app.add_option("--data", data, "bundled table (breast_cancer, wine, digits) or a CSV path")->capture_default_str();
  app.add_option("--label", label, "label column of a CSV (default: the last column)");
  app.add_option("--idx", idx_dir, "folder with MNIST-layout IDX files (replaces --data; official train/test split)");
  app.add_option("--hidden", hidden_text, "hidden widths, comma-separated; 0 = logistic regression")->capture_default_str();
  app.add_option("--epochs", epochs, "training epochs")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--batch", batch, "minibatch size")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  app.add_option("--lr", lr, "Adam learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--schedule", schedule, "learning-rate schedule: constant or cosine (to 0 over the run)")
      ->capture_default_str()->check(CLI::IsMember({"constant", "cosine"}));
  app.add_option("--weight-decay", weight_decay, "decoupled weight decay")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--C", C, "L2 on the weights (not biases) as scikit-learn's C: coefficient 1/(C n_train); 0 = none")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--test-fraction", test_fraction, "held-out share of a table (stratified)")->capture_default_str()->check(CLI::Range(0.01, 0.9));
  app.add_option("--seed", seed, "seed for the split, the initialisation and the shuffles")->capture_default_str();
  app.add_option("--threads", threads, "threads for Eigen (0 = all)")->capture_default_str()->check(CLI::Range(0, 1024));
  app.add_flag("--batch-norm", batch_norm, "batch-normalise the input inside the model");
  app.add_flag("--quiet", quiet, "no progress bar");
  app.add_option("--export-split", export_dir, "write the standardised train.csv and test.csv here (for peer comparisons)");
  if (const int status = examples::parse_command_line(app, argc, argv, "train_classifier"); status >= 0) return status;

  try {
#if defined(_OPENMP)
    if (threads > 0) Eigen::setNbThreads(threads);
#endif
    std::vector<attnsel::Index> hidden;
    for (const std::string& h : CLI::detail::split(hidden_text, ',')) {
      const long v = std::stol(h);
      if (v < 0) throw examples::usage_error("--hidden: widths must be >= 0, got " + h);
      if (v > 0) hidden.push_back(v);
    }

    using T = float;
    attnsel::TrainTest<T> split;
    if (!idx_dir.empty()) {
      split = examples::load_idx_folder<T>(idx_dir);
    } else {
      split = attnsel::stratified_split(examples::load_table<T>(data, label, attnsel::Task::classification), test_fraction, seed);
      attnsel::Standardizer<T> scaler;
      split.train.X = scaler.fit_transform(split.train.X);
      split.test.X = scaler.transform(split.test.X);
    }
    if (!export_dir.empty()) {
      examples::write_csv(export_dir + "/train.csv", split.train);
      examples::write_csv(export_dir + "/test.csv", split.test);
    }
    const attnsel::Index classes = std::max(split.train.class_count(), split.test.class_count());
    attnsel::MLPOptions mo;
    mo.hidden = hidden;
    mo.input_batch_norm = batch_norm;
    mo.seed = seed;
    attnsel::Sequential<T> model = attnsel::make_mlp<T>(split.train.features(), classes, mo);
    attnsel::Adam<T> adam({T(lr), T(0.9), T(0.999), T(1e-7), T(weight_decay)});
    if (C > 0) {  // weights penalised, biases not
      std::vector<attnsel::Parameter<T>*> weights, biases;
      for (attnsel::Parameter<T>* p : model.parameters()) (p->name == "weight" ? weights : biases).push_back(p);
      attnsel::GroupOptions<T> penalised;
      penalised.l2 = T(1.0 / (C * double(split.train.rows())));
      adam.add_parameters(weights, penalised);
      adam.add_parameters(biases);
    }
    const attnsel::RowMatrix<T> Ytr = split.train.targets(), Yte = split.test.targets();
    attnsel::TrainOptions<T> opt;
    opt.epochs = epochs;
    opt.batch_size = batch;
    opt.seed = seed;
    opt.validation_X = &split.test.X;
    opt.validation_Y = &Yte;
    if (schedule == "cosine") opt.learning_rate = attnsel::CosineLR<T>{T(lr)};

    std::printf("data: %lld train / %lld test rows, %lld features, %lld classes; model: %s (%lld parameters); "
                "kernels on %s, %d threads\n",
                (long long)split.train.rows(), (long long)split.test.rows(), (long long)split.train.features(),
                (long long)classes, hidden.empty() ? "logistic regression" : "MLP", (long long)model.parameter_count(),
                attnsel::simd_arch(), attnsel::max_threads());
    const attnsel::SoftmaxCrossEntropy<T> loss;
    attnsel::TrainHistory<T> h;
    if (quiet) {
      h = attnsel::fit(model, loss, adam, split.train.X, Ytr, opt);
    } else {
      h = attnsel::fit(model, loss, adam, split.train.X, Ytr, opt, attnsel::ProgressBar(std::cerr));
    }
    const attnsel::RowMatrix<T> out = model.predict(split.test.X);
    std::printf("test accuracy %.4f, test log-loss %.4f, %zu steps in %.2f s (%.3f s per epoch)\n", double(loss.metric(out, Yte)),
                double(loss.value(out, Yte)), h.steps, h.seconds, h.seconds / double(h.epochs_run));
    return 0;
  } catch (const std::exception& e) {
    return examples::report_failure("train_classifier", e);
  }
}
