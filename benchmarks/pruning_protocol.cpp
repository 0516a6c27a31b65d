// The SequentialAttention++ evaluation on data we have (docs/sequential-attention.md §5, the
// Criteo Table 2 setting transposed): an MLP (784 → 512 → 256 → 10 on MNIST-layout data) whose
// first dense layer is pruned to B × B block sparsity by SA++ and by the baselines (block
// magnitude, block Powerpropagation, ACDC), all with the same epochs, optimizer and schedule;
// test accuracy mean ± sd over seeds, as a markdown table (rows: sparsity × method, columns:
// block size) and per-run CSV rows.
//
//   pruning_protocol --idx ~/.cache/attnsel/mnist --name mnist --csv mnist.csv
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

#include "../examples/common/datasets.hpp"

namespace {

using T = float;
using attnsel::RowMatrix;

struct Args {
  std::string idx_dir, data, name, csv, methods = "sa++,magnitude,powerprop,acdc", hidden = "512,256";
  std::string sparsities = "0.9,0.95,0.97,0.99", blocks = "4,8,16";
  int seeds = 3, epochs = 8;
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

template <class V>
std::vector<V> parse_list(const std::string& s, const char* what) {
  std::vector<V> out;
  for (const std::string& p : CLI::detail::split(s, ',')) {
    try {
      out.push_back(static_cast<V>(std::stod(p)));
    } catch (const std::exception&) {
      throw std::invalid_argument(std::string(what) + ": '" + p + "' is not a number");
    }
  }
  return out;
}

struct Result {
  double accuracy, seconds, real_sparsity;
};

Result run(const Args& a, const attnsel::TrainTest<T>& split, const std::vector<attnsel::Index>& hidden, int seed,
           bool prune, attnsel::PruningMethod method, attnsel::Index block, double sparsity) {
  const auto t0 = std::chrono::steady_clock::now();
  attnsel::MLPOptions mo;
  mo.hidden = hidden;
  mo.seed = std::uint64_t(seed);
  auto model = attnsel::make_mlp<T>(split.train.features(), split.train.class_count(), mo);
  attnsel::AdamOptions<T> ao;
  ao.learning_rate = T(a.lr);
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
  adam.add_parameters(model.parameters());
  attnsel::TrainOptions<T> t;
  t.epochs = a.epochs;
  t.batch_size = a.batch;
  t.seed = std::uint64_t(seed);
  const RowMatrix<T> Y = split.train.y;
  attnsel::fit(model, attnsel::SoftmaxCrossEntropy<T>{}, adam, split.train.X, Y, t, pruning);
  Result r{};
  r.accuracy = double(attnsel::accuracy(model.predict(split.test.X), RowMatrix<T>(split.test.y)));
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
  app.add_option("--lr", a.lr, "Adam learning rate")->capture_default_str();
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
    const auto hidden = parse_list<attnsel::Index>(a.hidden, "--hidden");
    const auto sparsities = parse_list<double>(a.sparsities, "--sparsities");
    const auto blocks = parse_list<attnsel::Index>(a.blocks, "--blocks");
    std::vector<attnsel::PruningMethod> methods;
    std::vector<std::string> method_names = CLI::detail::split(a.methods, ',');
    for (const auto& m : method_names) methods.push_back(parse_method(m));

    attnsel::TrainTest<T> fixed;
    attnsel::Dataset<T> table;
    if (!a.idx_dir.empty()) fixed = examples::load_idx_folder<T>(a.idx_dir);
    else table = examples::load_table<T>(a.data, "", attnsel::Task::classification);
    auto split_for = [&](int seed) {
      if (!a.idx_dir.empty()) return fixed;
      auto s = attnsel::stratified_split(table, 0.25, std::uint64_t(seed));
      attnsel::Standardizer<T> sc;
      s.train.X = sc.fit_transform(s.train.X);
      s.test.X = sc.transform(s.test.X);
      return s;
    };

    std::ofstream csv;
    if (!a.csv.empty()) {
      const bool fresh = !examples::file_exists(a.csv);
      csv.open(a.csv, std::ios::app);
      if (fresh) csv << "dataset,method,block,sparsity,seed,test_accuracy,real_sparsity,seconds,epochs\n";
    }
    using Key = std::tuple<double, std::string, attnsel::Index>;
    std::map<Key, std::vector<double>> acc;
    std::vector<double> dense_acc;
    for (int seed = 1; seed <= a.seeds; ++seed) {
      const auto split = split_for(seed);
      if (a.dense) {
        const Result r = run(a, split, hidden, seed, false, attnsel::PruningMethod::magnitude, 1, 0.0);
        dense_acc.push_back(r.accuracy);
        if (!a.quiet) std::fprintf(stderr, "%s seed %d dense: %.4f (%.1f s)\n", a.name.c_str(), seed, r.accuracy, r.seconds);
        if (csv) csv << a.name << ",dense,0,0," << seed << ',' << r.accuracy << ",0," << r.seconds << ',' << a.epochs << '\n';
      }
      for (double s : sparsities)
        for (attnsel::Index B : blocks)
          for (std::size_t m = 0; m < methods.size(); ++m) {
            const Result r = run(a, split, hidden, seed, true, methods[m], B, s);
            acc[{s, method_names[m], B}].push_back(r.accuracy);
            if (!a.quiet)
              std::fprintf(stderr, "%s seed %d s=%.2f B=%lld %s: %.4f (sparsity %.3f, %.1f s)\n", a.name.c_str(), seed, s,
                           (long long)B, method_names[m].c_str(), r.accuracy, r.real_sparsity, r.seconds);
            if (csv)
              csv << a.name << ',' << method_names[m] << ',' << B << ',' << s << ',' << seed << ',' << r.accuracy << ','
                  << r.real_sparsity << ',' << r.seconds << ',' << a.epochs << '\n';
          }
    }
    auto stats = [](const std::vector<double>& v) {
      double mean = 0, sd = 0;
      for (double x : v) mean += x / double(v.size());
      for (double x : v) sd += (x - mean) * (x - mean) / double(v.size() > 1 ? v.size() - 1 : 1);
      return std::make_pair(mean, std::sqrt(sd));
    };
    std::printf("%s: first dense layer pruned, test accuracy %% (mean ± sd over %d seeds), %d epochs", a.name.c_str(),
                a.seeds, a.epochs);
    if (!dense_acc.empty()) {
      const auto [m, sd] = stats(dense_acc);
      std::printf("; dense %.2f ± %.2f", 100 * m, 100 * sd);
    }
    std::printf("\n\n| sparsity | method |");
    for (attnsel::Index B : blocks) std::printf(" B = %lld |", (long long)B);
    std::printf("\n|---|---|");
    for (std::size_t i = 0; i < blocks.size(); ++i) std::printf("---|");
    std::printf("\n");
    for (double s : sparsities) {
      std::map<attnsel::Index, double> best;
      for (attnsel::Index B : blocks)
        for (const auto& m : method_names) best[B] = std::max(best[B], stats(acc[{s, m, B}]).first);
      for (const auto& m : method_names) {
        std::printf("| %.0f %% | %s |", 100 * s, m.c_str());
        for (attnsel::Index B : blocks) {
          const auto [mean, sd] = stats(acc[{s, m, B}]);
          const bool top = mean >= best[B] - 1e-12;
          std::printf(" %s%.2f ± %.2f%s |", top ? "**" : "", 100 * mean, 100 * sd, top ? "**" : "");
        }
        std::printf("\n");
      }
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pruning_protocol: %s\n", e.what());
    return 1;
  }
}
