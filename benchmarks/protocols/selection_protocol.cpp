// The Sequential Attention paper's evaluation protocol (docs/sequential-attention.md §3) for one
// data set, with hyper-parameters chosen on validation data only:
//  1. every seed's training data is split into a fitting part and a validation part (12.5 %);
//  2. tuning (with --grid-lr): on the tuning seed, each method selects k features on the fitting
//     part and a fresh model is retrained on them for every learning rate of the grid (the same
//     grid for every method; the rate drives selection and retraining); the rate with the best
//     validation accuracy is chosen per method;
//  3. for seeds 1..N, each method at its chosen rate selects, retrains, and its test accuracy is
//     reported once.
// Prints one markdown report (tuning table, results, per-seed rows) on stdout; progress on stderr.
//
//   selection_protocol --idx ~/.cache/attnsel/mnist --name mnist --k 50 --grid-lr 2e-3,4e-3,8e-3
//   selection_protocol --idx ~/.cache/attnsel/mnist --preset mnist --methods sa,sa_reference
//   selection_protocol --data digits --k 10 --seeds 5 --methods sa,random,all
//
// Presets carry the reference per-data-set hyper-parameters (docs/sequential-attention.md §2.2);
// DECAY_STEPS = 0 is read as "no decay" (the reference divides by zero there).
#include <attnsel/attnsel.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "protocol_common.hpp"

namespace {

using T = float;

struct Hyper {
  double lr = 5e-3, decay_rate = 1.0;
  std::size_t decay_steps = 0;
  attnsel::Index batch = 64, epochs = 60, epochs_fit = 60;
};

Hyper preset(const std::string& name) {
  Hyper h;
  if (name == "mnist") h = {6e-3, 0.37, 330, 349, 50, 50};
  // attnsel's own MNIST budget: 20 + 20 epochs, batch 256, no decay (the reference's decay,
  // x0.37 every 330 steps, leaves the learning rate near 0 after ~2,000 of its 8,550 steps).
  else if (name == "mnist_attnsel") h = {2e-3, 1.0, 0, 256, 20, 20};
  else if (name == "fashion") h = {0.4, 0.84, 0, 391, 1000, 54};
  else if (name == "mice") h = {1.0, 0.63, 0, 16, 337, 250};
  else if (name == "isolet") h = {2e-5, 0.95, 500, 23, 50, 80};
  else if (name == "coil") h = {2e-3, 0.52, 242, 451, 454, 166};
  else if (name == "activity") h = {1e-5, 1.0, 500, 183, 624, 134};
  else if (name != "default") throw std::invalid_argument("--preset: unknown '" + name + "'");
  return h;
}

attnsel::SequentialAttentionOptions<T> selector_options(const Hyper& h, attnsel::Index k, int seed) {
  attnsel::SequentialAttentionOptions<T> o;
  o.k = k;
  o.epochs = h.epochs;
  o.batch_size = h.batch;
  o.learning_rate = T(h.lr);
  o.decay_rate = T(h.decay_rate);
  o.decay_steps = h.decay_steps;
  o.seed = std::uint64_t(seed);
  return o;
}

std::vector<attnsel::Index> select(const std::string& m, const Hyper& h, attnsel::Index k, int seed,
                                   const attnsel::Dataset<T>& train) {
  if (m == "sa" || m == "sa_reference") {
    attnsel::SequentialAttentionOptions<T> o = selector_options(h, k, seed);
    if (m == "sa_reference") {
      o.timing = attnsel::MaskTiming::reference;
      o.round_count = attnsel::MaskRoundCount::reference;
    }
    return attnsel::SequentialAttentionSelector<T>(o).fit(train.X, train.y).features;
  }
  if (m == "lly" || m == "seql" || m == "gl" || m == "gomp") {
    const attnsel::SequentialAttentionOptions<T> o = selector_options(h, k, seed);
    if (m == "lly") return attnsel::lly_selection(train.X, train.y, o).features;
    if (m == "seql") return attnsel::sequential_lasso_selection(train.X, train.y, o).features;
    if (m == "gl") return attnsel::group_lasso_selection(train.X, train.y, o).features;
    return attnsel::gradient_omp_selection(train.X, train.y, o).features;
  }
  if (m == "random") return attnsel::random_selection<T>(train.features(), k, std::uint64_t(seed)).features;
  if (m == "all") return attnsel::all_features<T>(train.features()).features;
  if (m == "omp" || m == "lasso") {
    if (train.class_count() > 2) throw std::invalid_argument(m + " needs two classes or a regression target");
    const Eigen::MatrixXd X = train.X.cast<double>();
    const Eigen::VectorXd y = train.y.cast<double>();
    return m == "omp" ? attnsel::orthogonal_matching_pursuit(X, y, k).features : attnsel::lasso_path_selection(X, y, k).features;
  }
  throw std::invalid_argument("--methods: unknown method '" + m + "'");
}

struct Run {
  double score, seconds;
};

// Selects on `train` with method m, retrains on the selection, scores on `eval`.
Run run(const std::string& m, const Hyper& h, attnsel::Index k, int seed, const attnsel::Dataset<T>& train,
        const attnsel::Dataset<T>& eval) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<attnsel::Index> features = select(m, h, k, seed, train);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  attnsel::RetrainOptions<T> ro;
  ro.epochs = h.epochs_fit;
  ro.batch_size = h.batch;
  ro.learning_rate = T(h.lr);
  ro.decay_rate = T(h.decay_rate);
  ro.decay_steps = h.decay_steps;
  ro.seed = std::uint64_t(seed);
  return {double(attnsel::retrain_score(train, eval, features, ro)), s};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Run the Sequential Attention evaluation protocol on one data set (hyper-parameters chosen on validation)."};
  std::string data = "digits", idx_dir, methods = "sa,random,all", csv, preset_name = "default", name, grid;
  attnsel::Index k = 10;
  int seeds = 5, tune_seed = 1;
  double test_fraction = 0.25, val_fraction = 0.125;
  Hyper h;
  bool quiet = false;
  app.add_option("--data", data, "bundled table or CSV path")->capture_default_str();
  app.add_option("--idx", idx_dir, "MNIST-layout IDX folder (official split; replaces --data)");
  app.add_option("--name", name, "data-set name in the output (default: --data or the IDX folder)");
  app.add_option("--k", k, "features to select")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--seeds", seeds, "seeds 1..N")->capture_default_str()->check(CLI::Range(1, 100));
  app.add_option("--methods", methods, "comma-separated: sa, sa_reference, lly, seql, gl, gomp, random, all, omp, lasso")->capture_default_str();
  app.add_option("--preset", preset_name, "hyper-parameters: default, mnist, mnist_attnsel, fashion, mice, isolet, coil, activity")->capture_default_str();
  app.add_option("--epochs", h.epochs, "selection epochs (overrides the preset)")->check(CLI::PositiveNumber);
  app.add_option("--epochs-fit", h.epochs_fit, "retraining epochs (overrides the preset)")->check(CLI::PositiveNumber);
  app.add_option("--batch", h.batch, "batch size (overrides the preset)")->check(CLI::PositiveNumber);
  app.add_option("--lr", h.lr, "learning rate when no grid is given (overrides the preset)")->check(CLI::PositiveNumber);
  app.add_option("--grid-lr", grid, "learning rates to choose from on validation, per method (e.g. 2e-3,4e-3,8e-3)");
  app.add_option("--tune-seed", tune_seed, "the seed whose validation split chooses the rate")->capture_default_str();
  app.add_option("--val-fraction", val_fraction, "validation share of the training data")->capture_default_str();
  app.add_option("--test-fraction", test_fraction, "held-out share of a table")->capture_default_str();
  app.add_option("--csv", csv, "append per-seed rows to this CSV");
  app.add_flag("--quiet", quiet, "no progress lines");
  CLI11_PARSE(app, argc, argv);
  try {
    const Hyper base = preset(preset_name);
    if (app.count("--epochs") == 0) h.epochs = base.epochs;
    if (app.count("--epochs-fit") == 0) h.epochs_fit = base.epochs_fit;
    if (app.count("--batch") == 0) h.batch = base.batch;
    if (app.count("--lr") == 0) h.lr = base.lr;
    h.decay_rate = base.decay_rate;
    h.decay_steps = base.decay_steps;
    if (name.empty()) name = idx_dir.empty() ? data : idx_dir;
    const std::vector<std::string> method_list = CLI::detail::split(methods, ',');
    const std::vector<double> rates = protocol::parse_list<double>(grid, "--grid-lr");
    for (double r : rates)
      if (!(r > 0)) throw std::invalid_argument("--grid-lr: rates must be > 0");
    if (!rates.empty() && !(val_fraction > 0))
      throw std::invalid_argument("--grid-lr needs validation data, but --val-fraction is " + std::to_string(val_fraction));
    const protocol::Data<T> source(idx_dir, data, test_fraction, val_fraction);

    // 1. Tuning on validation.
    std::map<std::string, double> chosen;
    std::map<std::string, std::vector<double>> tuning;
    if (!rates.empty()) {
      const protocol::Split<T> s = source.split(tune_seed);
      for (const std::string& m : method_list) {
        for (double r : rates) {
          Hyper hr = h;
          hr.lr = r;
          const Run v = run(m, hr, k, tune_seed, s.fit, s.validation);
          tuning[m].push_back(v.score);
          if (!quiet) std::fprintf(stderr, "%s tune seed %d %s lr %g: validation %.4f (%.1f s)\n", name.c_str(), tune_seed, m.c_str(), r, v.score, v.seconds);
        }
        chosen[m] = rates[protocol::best_index(tuning[m])];
      }
    } else {
      for (const std::string& m : method_list) chosen[m] = h.lr;
    }

    // 2. Test at the chosen setting, once per seed.
    std::map<std::string, std::vector<double>> acc, secs;
    std::ofstream out;
    if (!csv.empty()) {
      const bool fresh = !examples::file_exists(csv);
      out.open(csv, std::ios::app);
      if (fresh) out << "dataset,k,method,lr,seed,test_accuracy,select_seconds\n";
    }
    for (int seed = 1; seed <= seeds; ++seed) {
      const protocol::Split<T> s = source.split(seed);
      for (const std::string& m : method_list) {
        Hyper hm = h;
        hm.lr = chosen[m];
        const Run t = run(m, hm, k, seed, s.fit, s.test);
        acc[m].push_back(t.score);
        secs[m].push_back(t.seconds);
        if (!quiet) std::fprintf(stderr, "%s seed %d %s lr %g: test %.4f (%.1f s)\n", name.c_str(), seed, m.c_str(), hm.lr, t.score, t.seconds);
        if (out) out << name << ',' << k << ',' << m << ',' << hm.lr << ',' << seed << ',' << t.score << ',' << t.seconds << '\n';
      }
    }

    // 3. The report.
    std::printf("## %s, k = %lld: Sequential Attention protocol\n\n", name.c_str(), (long long)k);
    std::printf("Selection: %lld epochs, batch %lld, decay %g every %zu steps (0 = none); retraining: %lld epochs. "
                "Fitting / validation split of the training data: %.1f %% validation (0: fitted on all of it); test reported once per seed.\n\n",
                (long long)h.epochs, (long long)h.batch, h.decay_rate, h.decay_steps, (long long)h.epochs_fit, 100 * val_fraction);
    if (!rates.empty()) {
      std::printf("### Learning rate chosen on validation (seed %d; the same grid for every method)\n\n| method |", tune_seed);
      for (double r : rates) std::printf(" lr %g |", r);
      std::printf(" chosen |\n|---|");
      for (std::size_t i = 0; i <= rates.size(); ++i) std::printf("---|");
      std::printf("\n");
      for (const std::string& m : method_list) {
        std::printf("| %s |", m.c_str());
        for (double v : tuning[m]) std::printf(" %.4f |", v);
        std::printf(" %g |\n", chosen[m]);
      }
      std::printf("\n");
    }
    std::printf("### Test accuracy at the chosen setting (%d seeds)\n\n| data set | k | method | lr | test accuracy (mean ± sd) | selection time (s) |\n|---|---|---|---|---|---|\n", seeds);
    double best = -1;
    for (const std::string& m : method_list)
      if (m != "all") best = std::max(best, protocol::mean_sd(acc[m]).first);
    for (const std::string& m : method_list) {
      const auto [mean, sd] = protocol::mean_sd(acc[m]);
      const bool top = m != "all" && mean >= best - 1e-12;
      std::printf("| %s | %lld | %s | %g | %s%.4f ± %.4f%s | %.2f |\n", name.c_str(), (long long)(m == "all" ? -1 : k), m.c_str(), chosen[m],
                  top ? "**" : "", mean, sd, top ? "**" : "", protocol::mean_sd(secs[m]).first);
    }
    std::printf("\n### Per seed (test accuracy)\n\n| method |");
    for (int seed = 1; seed <= seeds; ++seed) std::printf(" seed %d |", seed);
    std::printf("\n|---|");
    for (int seed = 1; seed <= seeds; ++seed) std::printf("---|");
    std::printf("\n");
    for (const std::string& m : method_list) {
      std::printf("| %s |", m.c_str());
      for (double v : acc[m]) std::printf(" %.4f |", v);
      std::printf("\n");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "selection_protocol: %s\n", e.what());
    return 1;
  }
}
