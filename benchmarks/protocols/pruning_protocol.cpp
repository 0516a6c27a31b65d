// The SequentialAttention++ evaluation on data we have (docs/sequential-attention-pp.md §6, the
// Criteo Table 2 setting transposed): an MLP (784 → 512 → 256 → 10 on MNIST-layout data) whose
// first dense layer is pruned to B × B block sparsity by SA++ and by the baselines (block
// magnitude, block Powerpropagation, ACDC), all with the same epochs, optimizer and schedule.
// Hyper-parameters are chosen on validation only: 12.5 % of the training data is held out;
// with --grid-lr, each method (and the dense model) trains at every rate of the grid on the
// tuning seed in the tuning cell (--tune-sparsity, --tune-block) and keeps the rate with the best
// validation accuracy for every cell. Then every cell runs for seeds 1..n at the chosen rates and
// the test accuracy is reported once: a markdown report on stdout (tuning table, test accuracy
// mean ± sd, rows sparsity × method, columns block size), progress on stderr.
//
//   pruning_protocol --idx ~/.cache/attnsel/mnist --name mnist --grid-lr 5e-4,1e-3,2e-3
//   pruning_protocol --data digits --hidden 64 --blocks 2,4 --sparsities 0.5,0.75 --min-blocks 0
#include <attnsel/attnsel.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "protocol_common.hpp"

namespace {

using T = float;
using attnsel::RowMatrix;

struct Args {
  std::string idx_dir, data, name, csv, methods = "sa++,magnitude,powerprop,acdc", hidden = "512,256";
  std::string sparsities = "0.9,0.95,0.97,0.99", blocks = "4,8,16", grid;
  int seeds = 3, epochs = 8, tune_seed = 1;
  double tune_sparsity = 0.95, val_fraction = 0.125;
  attnsel::Index tune_block = 8;
  attnsel::Index batch = 128, min_blocks = 100;
  double lr = 1e-3, weight_decay = 0.0, logit_decay = 1e-4, warmup = 0.1, fine_tune = 0.2;
  attnsel::Index cycles = 2;
  bool quiet = false, dense = true;
};

attnsel::PruningMethod parse_method(const std::string& m) {
  if (m == "sa++" || m == "sapp") return attnsel::PruningMethod::sequential_attention_pp;
  if (m == "magnitude") return attnsel::PruningMethod::magnitude;
  if (m == "powerprop") return attnsel::PruningMethod::powerprop;
  if (m == "acdc") return attnsel::PruningMethod::acdc;
  throw std::invalid_argument("--methods: unknown method '" + m + "' (sa++, magnitude, powerprop, acdc)");
}

struct Result {
  double accuracy, seconds, real_sparsity;
};

// Trains on `train` (pruned with `method` unless !prune) at learning rate lr, scores on `eval`.
Result run(const Args& a, const attnsel::Dataset<T>& train, const attnsel::Dataset<T>& eval, double lr,
           const std::vector<attnsel::Index>& hidden, int seed, bool prune, attnsel::PruningMethod method,
           attnsel::Index block, double sparsity) {
  const auto t0 = std::chrono::steady_clock::now();
  attnsel::MLPOptions mo;
  mo.hidden = hidden;
  mo.seed = std::uint64_t(seed);
  auto model = attnsel::make_mlp<T>(train.features(), train.class_count(), mo);
  attnsel::AdamOptions<T> ao;
  ao.learning_rate = T(lr);
  ao.weight_decay = T(a.weight_decay);
  attnsel::Adam<T> adam(ao);
  attnsel::BlockPruning<T, attnsel::Adam<T>> pruning(adam);
  if (prune) {
    attnsel::PruningOptions<T> po;
    po.sparsity = sparsity;
    po.min_blocks = a.min_blocks;
    po.logit_weight_decay = T(a.logit_decay);
    po.schedule.warmup = a.warmup;
    po.schedule.cycles = a.cycles;
    po.schedule.fine_tune = a.fine_tune;
    pruning.add(model, 0, method, block, po);
  }
  attnsel::TrainOptions<T> t;
  t.epochs = a.epochs;
  t.batch_size = a.batch;
  t.seed = std::uint64_t(seed);
  const RowMatrix<T> Y = train.y;
  attnsel::fit(model, attnsel::SoftmaxCrossEntropy<T>{}, adam, train.X, Y, t, pruning);  // registers the model too
  Result r{};
  r.accuracy = double(attnsel::accuracy(model.predict(eval.X), RowMatrix<T>(eval.y)));
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (prune) {
    const auto& layer = dynamic_cast<attnsel::Dense<T>&>(model.layer(0));
    const RowMatrix<T>& W = layer.effective_weight();
    r.real_sparsity = double((W.array() == T(0)).count()) / double(W.size());
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  CLI::App app{"SequentialAttention++ vs block magnitude / Powerprop / ACDC: prune an MLP's first layer, report test accuracy"};
  app.add_option("--idx", a.idx_dir, "folder with MNIST-layout IDX files (official split)");
  app.add_option("--data", a.data, "bundled table or CSV (stratified 25 % test split per seed)");
  app.add_option("--name", a.name, "data set name in the table and CSV");
  app.add_option("--hidden", a.hidden, "hidden widths")->capture_default_str();
  app.add_option("--methods", a.methods, "sa++, magnitude, powerprop, acdc")->capture_default_str();
  app.add_option("--sparsities", a.sparsities, "fractions of blocks pruned")->capture_default_str();
  app.add_option("--blocks", a.blocks, "block sides B (B x B blocks)")->capture_default_str();
  app.add_option("--seeds", a.seeds, "seeds 1..n")->capture_default_str()->check(CLI::Range(1, 100));
  app.add_option("--epochs", a.epochs, "training epochs (all methods)")->capture_default_str()->check(CLI::Range(1, 10000));
  app.add_option("--batch", a.batch, "minibatch")->capture_default_str();
  app.add_option("--lr", a.lr, "Adam learning rate when no grid is given")->capture_default_str();
  app.add_option("--grid-lr", a.grid, "learning rates to choose from on validation, per method (e.g. 5e-4,1e-3,2e-3)");
  app.add_option("--tune-seed", a.tune_seed, "the seed whose validation split chooses the rates")->capture_default_str();
  app.add_option("--tune-sparsity", a.tune_sparsity, "sparsity of the tuning cell")->capture_default_str();
  app.add_option("--tune-block", a.tune_block, "block size of the tuning cell")->capture_default_str();
  app.add_option("--val-fraction", a.val_fraction, "validation share of the training data")->capture_default_str();
  app.add_option("--weight-decay", a.weight_decay, "decoupled weight decay on all weights")->capture_default_str();
  app.add_option("--logit-decay", a.logit_decay, "weight decay on SA++'s block logits")->capture_default_str();
  app.add_option("--warmup", a.warmup, "dense warm-up fraction")->capture_default_str();
  app.add_option("--cycles", a.cycles, "dense/sparse cycles before the final sparse phase")->capture_default_str();
  app.add_option("--fine-tune", a.fine_tune, "fine-tuning fraction")->capture_default_str();
  app.add_option("--min-blocks", a.min_blocks, "layers with fewer blocks stay dense")->capture_default_str();
  app.add_option("--csv", a.csv, "append per-run rows to this CSV");
  app.add_flag("!--no-dense", a.dense, "skip the dense baseline");
  app.add_flag("--quiet", a.quiet, "no per-run lines");
  CLI11_PARSE(app, argc, argv);
  try {
    if (a.idx_dir.empty() == a.data.empty()) throw std::invalid_argument("give exactly one of --idx and --data");
    if (a.name.empty()) a.name = a.idx_dir.empty() ? a.data : a.idx_dir;
    const auto hidden = protocol::parse_list<attnsel::Index>(a.hidden, "--hidden");
    const auto sparsities = protocol::parse_list<double>(a.sparsities, "--sparsities");
    const auto blocks = protocol::parse_list<attnsel::Index>(a.blocks, "--blocks");
    std::vector<attnsel::PruningMethod> methods;
    std::vector<std::string> method_names = CLI::detail::split(a.methods, ',');
    for (const auto& m : method_names) methods.push_back(parse_method(m));

    const protocol::Data<T> source(a.idx_dir, a.data, 0.25, a.val_fraction);
    const std::vector<double> rates = protocol::parse_list<double>(a.grid, "--grid-lr");
    for (double r : rates)
      if (!(r > 0)) throw std::invalid_argument("--grid-lr: rates must be > 0");
    if (!rates.empty() && !(a.val_fraction > 0))
      throw std::invalid_argument("--grid-lr needs validation data, but --val-fraction is " + std::to_string(a.val_fraction));

    // 1. Tuning on validation: one rate per method (and for the dense model), from one cell.
    std::vector<std::string> tuned_names = method_names;
    if (a.dense) tuned_names.insert(tuned_names.begin(), "dense");
    std::map<std::string, double> chosen;
    std::map<std::string, std::vector<double>> tuning;
    if (!rates.empty()) {
      const protocol::Split<T> s = source.split(a.tune_seed);
      for (std::size_t m = 0; m < tuned_names.size(); ++m) {
        const bool prune = tuned_names[m] != "dense";
        const attnsel::PruningMethod method = prune ? parse_method(tuned_names[m]) : attnsel::PruningMethod::magnitude;
        for (double r : rates) {
          const Result v = run(a, s.fit, s.validation, r, hidden, a.tune_seed, prune, method, a.tune_block, a.tune_sparsity);
          tuning[tuned_names[m]].push_back(v.accuracy);
          if (!a.quiet)
            std::fprintf(stderr, "%s tune seed %d s=%.2f B=%lld %s lr %g: validation %.4f (%.1f s)\n", a.name.c_str(), a.tune_seed,
                         a.tune_sparsity, (long long)a.tune_block, tuned_names[m].c_str(), r, v.accuracy, v.seconds);
        }
        chosen[tuned_names[m]] = rates[protocol::best_index(tuning[tuned_names[m]])];
      }
    } else {
      for (const auto& m : tuned_names) chosen[m] = a.lr;
    }

    // 2. Every cell at the chosen rates, test accuracy once per seed.
    std::ofstream csv;
    if (!a.csv.empty()) {
      const bool fresh = !examples::file_exists(a.csv);
      csv.open(a.csv, std::ios::app);
      if (fresh) csv << "dataset,method,block,sparsity,seed,lr,test_accuracy,real_sparsity,seconds,epochs\n";
    }
    using Key = std::tuple<double, std::string, attnsel::Index>;
    std::map<Key, std::vector<double>> acc;
    std::vector<double> dense_acc;
    double seconds = 0;
    for (int seed = 1; seed <= a.seeds; ++seed) {
      const protocol::Split<T> split = source.split(seed);
      if (a.dense) {
        const Result r = run(a, split.fit, split.test, chosen["dense"], hidden, seed, false, attnsel::PruningMethod::magnitude, 1, 0.0);
        dense_acc.push_back(r.accuracy);
        seconds += r.seconds;
        if (!a.quiet) std::fprintf(stderr, "%s seed %d dense: %.4f (%.1f s)\n", a.name.c_str(), seed, r.accuracy, r.seconds);
        if (csv) csv << a.name << ",dense,0,0," << seed << ',' << chosen["dense"] << ',' << r.accuracy << ",0," << r.seconds << ',' << a.epochs << '\n';
      }
      for (double s : sparsities)
        for (attnsel::Index B : blocks)
          for (std::size_t m = 0; m < methods.size(); ++m) {
            const double lr = chosen[method_names[m]];
            const Result r = run(a, split.fit, split.test, lr, hidden, seed, true, methods[m], B, s);
            acc[{s, method_names[m], B}].push_back(r.accuracy);
            seconds += r.seconds;
            if (!a.quiet)
              std::fprintf(stderr, "%s seed %d s=%.2f B=%lld %s: %.4f (sparsity %.3f, %.1f s)\n", a.name.c_str(), seed, s,
                           (long long)B, method_names[m].c_str(), r.accuracy, r.real_sparsity, r.seconds);
            if (csv)
              csv << a.name << ',' << method_names[m] << ',' << B << ',' << s << ',' << seed << ',' << lr << ',' << r.accuracy << ','
                  << r.real_sparsity << ',' << r.seconds << ',' << a.epochs << '\n';
          }
    }

    // 3. The report.
    std::printf("## %s: first dense layer pruned to block sparsity\n\n", a.name.c_str());
    std::printf("MLP %s, Adam, %d epochs, batch %lld; schedule: warm-up %g, %lld cycles, fine-tune %g; logit decay %g. "
                "Fitting / validation split of the training data: %.1f %% validation (0: fitted on all of it); test reported once per seed.\n\n",
                a.hidden.c_str(), a.epochs, (long long)a.batch, a.warmup, (long long)a.cycles, a.fine_tune, a.logit_decay,
                100 * a.val_fraction);
    if (!rates.empty()) {
      std::printf("### Learning rate chosen on validation (seed %d, cell %.0f %% / B = %lld; the same grid for every method)\n\n| method |",
                  a.tune_seed, 100 * a.tune_sparsity, (long long)a.tune_block);
      for (double r : rates) std::printf(" lr %g |", r);
      std::printf(" chosen |\n|---|");
      for (std::size_t i = 0; i <= rates.size(); ++i) std::printf("---|");
      std::printf("\n");
      for (const auto& m : tuned_names) {
        std::printf("| %s |", m.c_str());
        for (double v : tuning[m]) std::printf(" %.2f |", 100 * v);
        std::printf(" %g |\n", chosen[m]);
      }
      std::printf("\n");
    }
    std::printf("### Test accuracy %% (mean ± sd over %d seeds) at the chosen rates", a.seeds);
    if (!dense_acc.empty()) {
      const auto [m, sd] = protocol::mean_sd(dense_acc);
      std::printf("; dense %.2f ± %.2f", 100 * m, 100 * sd);
    }
    std::printf("\n\n| sparsity | method |");
    for (attnsel::Index B : blocks) std::printf(" B = %lld |", (long long)B);
    std::printf("\n|---|---|");
    for (std::size_t i = 0; i < blocks.size(); ++i) std::printf("---|");
    std::printf("\n");
    int sapp_best = 0, cells = 0;
    for (double s : sparsities) {
      std::map<attnsel::Index, double> best;
      for (attnsel::Index B : blocks)
        for (const auto& m : method_names) best[B] = std::max(best[B], protocol::mean_sd(acc[{s, m, B}]).first);
      for (const auto& m : method_names) {
        std::printf("| %.0f %% | %s |", 100 * s, m.c_str());
        for (attnsel::Index B : blocks) {
          const auto [mean, sd] = protocol::mean_sd(acc[{s, m, B}]);
          const bool top = mean >= best[B] - 1e-12;
          if (top && (m == "sa++" || m == "sapp")) ++sapp_best;
          std::printf(" %s%.2f ± %.2f%s |", top ? "**" : "", 100 * mean, 100 * sd, top ? "**" : "");
        }
        std::printf("\n");
      }
      cells += int(blocks.size());
    }
    std::printf("\nBest mean per cell in bold. SA++ best (or tied) in %d of %d cells. Training time of all runs: %.0f s.\n", sapp_best, cells, seconds);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pruning_protocol: %s\n", e.what());
    return 1;
  }
}
