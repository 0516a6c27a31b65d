// feature_selection — the main example. Selects k features with Sequential Attention (or a
// baseline), then retrains a fresh model on them and compares its test score with all features
// and with a random selection of the same size. With no arguments it runs on the bundled digits
// table (8x8 images) and writes a picture of the selected pixels.
//
//   feature_selection                                  digits, k = 10
//   feature_selection --data breast_cancer --k 5
//   feature_selection --data my.csv --label type --k 20
//   feature_selection --idx ~/.cache/attnsel/mnist --k 50 --epochs 10
//   feature_selection --data diabetes --task regression --method omp --k 4
#include <attnsel/attnsel.hpp>
#include <attnsel/io/json.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include "common/cli.hpp"
#include "common/datasets.hpp"
#include "common/feature_selection_args.hpp"
#include "common/picture.hpp"

namespace {

using T = float;

using Args = examples::FeatureSelectionArgs;

attnsel::Selection<T> select(const Args& a, const attnsel::Dataset<T>& train) {
  if (a.method == "sa") {
    attnsel::SequentialAttentionOptions<T> o;
    o.k = a.k;
    o.task = train.task;
    o.epochs = a.epochs;
    o.batch_size = a.batch;
    o.learning_rate = T(a.lr);
    o.seed = a.seed;
    attnsel::SequentialAttentionSelector<T> sa(o);
    if (a.quiet) return sa.fit(train.X, train.y);
    return sa.fit(train.X, train.y, attnsel::ProgressBar(std::cerr));
  }
  if (a.method == "omp" || a.method == "lasso") {
    if (train.task == attnsel::Task::classification && train.class_count() > 2)
      throw examples::usage_error("--method " + a.method + " is a linear-regression method: use a regression target or two classes");
    const Eigen::MatrixXd X = train.X.cast<double>();
    const Eigen::VectorXd y = train.y.cast<double>();
    const auto s = a.method == "omp" ? attnsel::Selection<double>(attnsel::orthogonal_matching_pursuit(X, y, a.k))
                                     : attnsel::lasso_path_selection(X, y, a.k);
    attnsel::Selection<T> out;
    out.features = s.features;
    out.method = s.method;
    return out;
  }
  if (a.method == "random") return attnsel::random_selection<T>(train.features(), a.k, a.seed);
  throw examples::usage_error("--method must be sa, omp, lasso or random, got '" + a.method + "'");
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  try {
    a = examples::parse_feature_selection_args(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::invalid_argument& e) {
    return examples::report_failure("feature_selection", examples::usage_error(e.what()));
  }
  if (!a.help.empty()) {
    std::fputs(a.help.c_str(), stdout);
    return 0;
  }

  try {
    const attnsel::Task task = a.task == "regression" ? attnsel::Task::regression : attnsel::Task::classification;
    attnsel::TrainTest<T> split;
    std::string source;
    if (!a.idx_dir.empty()) {
      split = examples::load_idx_folder<T>(a.idx_dir);
      source = a.idx_dir;
    } else {
      split = attnsel::stratified_split(examples::load_table<T>(a.data, a.label, task), a.test_fraction, a.seed);
      source = a.data;
    }
    if (!a.export_dir.empty()) {
      examples::write_csv(a.export_dir + "/train.csv", split.train);
      examples::write_csv(a.export_dir + "/test.csv", split.test);
    }
    if (a.k < 1 || a.k > split.train.features())
      throw examples::usage_error("--k is " + std::to_string(a.k) + ", expected a value in [1, " +
                                  std::to_string(split.train.features()) + "] (the number of features)");
    const attnsel::Index side = examples::image_side(split.train.features());
    const bool image = !a.idx_dir.empty() || a.data == "digits";
    std::printf("%s: %lld train / %lld test rows, %lld features%s; selecting k = %lld with %s\n", source.c_str(),
                (long long)split.train.rows(), (long long)split.test.rows(), (long long)split.train.features(),
                task == attnsel::Task::classification ? (", " + std::to_string(split.train.class_count()) + " classes").c_str() : ", regression",
                (long long)a.k, a.method.c_str());

    const auto t0 = std::chrono::steady_clock::now();
    const attnsel::Selection<T> s = attnsel::name_features(select(a, split.train), split.train.feature_names);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("selected in %.2f s on the %s kernels, %d thread(s), in order (indices:", seconds, attnsel::simd_arch(),
                attnsel::max_threads());
    for (attnsel::Index f : s.features) std::printf(" %lld", (long long)f);
    std::printf("):\n");
    for (std::size_t i = 0; i < s.features.size(); ++i) {
      const attnsel::Index f = s.features[i];
      const std::string& name = split.train.feature_names[static_cast<std::size_t>(f)];
      if (image && side > 0)
        std::printf("  %2zu. %-22s (row %lld, column %lld)\n", i + 1, name.c_str(), (long long)(f / side), (long long)(f % side));
      else
        std::printf("  %2zu. %s\n", i + 1, name.c_str());
    }

    if (!a.output.empty()) {
      attnsel::save_selection(s, a.output);
      std::printf("selection saved to %s\n", a.output.c_str());
    }

    attnsel::RetrainOptions<T> ro;
    ro.epochs = a.epochs;
    ro.batch_size = a.batch;
    ro.learning_rate = T(a.lr);
    ro.seed = a.seed;
    const char* metric = task == attnsel::Task::classification ? "test accuracy" : "test RMSE";
    const T ours = attnsel::retrain_score(split.train, split.test, s.features, ro);
    const T rnd = attnsel::retrain_score(split.train, split.test, attnsel::random_selection<T>(split.train.features(), a.k, a.seed).features, ro);
    const T all = attnsel::retrain_score(split.train, split.test, attnsel::all_features<T>(split.train.features()).features, ro);
    std::printf("%s of a model retrained on\n  the %lld selected features: %.4f\n  %lld random features:        %.4f\n  all %lld features:          %.4f\n",
                metric, (long long)a.k, double(ours), (long long)a.k, double(rnd), (long long)split.train.features(), double(all));

    if (image && side > 0 && !a.no_picture) {
      const std::string png = a.picture.empty() ? "selected_pixels.png" : a.picture;
      examples::write_selection_png(png, split.train.X, s.features, side, side <= 8 ? 32 : 8);
      std::printf("picture of the selected pixels (red, brighter = earlier) over the mean image: %s\n", png.c_str());
    }
    return 0;
  } catch (const std::exception& e) {
    return examples::report_failure("feature_selection", e);
  }
}
