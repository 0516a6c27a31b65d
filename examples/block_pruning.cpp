// block_pruning — SequentialAttention++ (or a baseline) prunes the first layer of an MLP to
// B × B block sparsity during training; then the pruned layer runs as a block-sparse (BSR)
// matrix. Prints the test accuracy of the dense and the pruned model, the measured speed of the
// pruned layer's product (BSR vs the dense Eigen product, same batch), and writes a picture of
// the kept blocks (white = kept; rows = inputs, columns = hidden units).
//
//   block_pruning                                     bundled digits, 90 % sparsity, 4 x 4 blocks
//   block_pruning --idx ~/.cache/attnsel/mnist --block 16 --sparsity 0.95 --epochs 8
//   block_pruning --method acdc
#include <attnsel/attnsel.hpp>
#include <attnsel/sparse/sparse.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include "common/cli.hpp"
#include "common/datasets.hpp"
#include "common/picture.hpp"

namespace {

using T = float;
using attnsel::Index;
using attnsel::RowMatrix;

struct Args {
  std::string data = "digits", idx_dir, method = "sa++", picture = "kept_blocks.png", hidden;
  double sparsity = 0.9, lr = 2e-3;
  Index block = 4, batch = 64, min_blocks = 100, bench_batch = 256;
  int epochs = 40;
  std::uint64_t seed = 1;
  bool quiet = false;
};

attnsel::PruningMethod parse_method(const std::string& m) {
  if (m == "sa++") return attnsel::PruningMethod::sequential_attention_pp;
  if (m == "magnitude") return attnsel::PruningMethod::magnitude;
  if (m == "powerprop") return attnsel::PruningMethod::powerprop;
  if (m == "acdc") return attnsel::PruningMethod::acdc;
  throw examples::usage_error("--method is '" + m + "', expected sa++, magnitude, powerprop or acdc");
}

std::vector<Index> parse_hidden(const std::string& s) {
  std::vector<Index> out;
  for (const auto& p : CLI::detail::split(s, ',')) {
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(p, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != p.size() || v < 1 || v > (1 << 20))
      throw examples::usage_error("--hidden is '" + s + "', expected comma-separated widths in [1, 1048576] such as 512,256");
    out.push_back(Index(v));
  }
  return out;
}

/// Best-of-n seconds of f().
template <class F>
double best_time(F&& f, int n) {
  double best = 1e300;
  for (int i = 0; i < n; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  CLI::App app{"Block-sparsify an MLP's first layer with SequentialAttention++ and run it as a BSR matrix"};
  app.add_option("--data", a.data, "bundled table (digits, breast_cancer, wine) or CSV")->capture_default_str();
  app.add_option("--idx", a.idx_dir, "folder with MNIST-layout IDX files (replaces --data)");
  app.add_option("--method", a.method, "sa++, magnitude, powerprop or acdc")->capture_default_str();
  app.add_option("--sparsity", a.sparsity, "fraction of blocks pruned, in [0, 1)")->capture_default_str();
  app.add_option("--block", a.block, "block side B (B x B blocks)")->capture_default_str()->check(CLI::Range(1, 64));
  app.add_option("--hidden", a.hidden, "hidden widths (default 128 for tables, 512,256 for IDX data)");
  app.add_option("--epochs", a.epochs, "training epochs")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--batch", a.batch, "minibatch")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  app.add_option("--lr", a.lr, "Adam learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--min-blocks", a.min_blocks, "a layer with fewer blocks stays dense")->capture_default_str();
  app.add_option("--seed", a.seed, "seed of the split and the models")->capture_default_str();
  app.add_option("--picture", a.picture, "PNG of the kept blocks (empty: none)")->capture_default_str();
  app.add_flag("--quiet", a.quiet, "no progress bar");
  if (const int status = examples::parse_command_line(app, argc, argv, "block_pruning"); status >= 0) return status;
  try {
    if (!(a.sparsity >= 0.0 && a.sparsity < 1.0))
      throw examples::usage_error("--sparsity is " + CLI::detail::to_string(a.sparsity) + ", expected a fraction in [0, 1)");
    const auto method = parse_method(a.method);
    attnsel::TrainTest<T> split;
    std::string name = a.data;
    if (!a.idx_dir.empty()) {
      split = examples::load_idx_folder<T>(a.idx_dir);
      name = a.idx_dir;
      if (a.hidden.empty()) a.hidden = "512,256";
    } else {
      const auto table = examples::load_table<T>(a.data, "", attnsel::Task::classification);
      split = attnsel::stratified_split(table, 0.25, a.seed);
      attnsel::Standardizer<T> sc;
      split.train.X = sc.fit_transform(split.train.X);
      split.test.X = sc.transform(split.test.X);
      if (a.hidden.empty()) a.hidden = "128";
    }
    const auto hidden = parse_hidden(a.hidden);
    const Index d = split.train.features(), classes = split.train.class_count();
    // Validate the block against the first layer before training anything.
    const attnsel::BlockGrid grid(d, hidden.empty() ? classes : hidden.front(), a.block, a.block);
    attnsel::PruningOptions<T> po;
    po.sparsity = a.sparsity;
    po.min_blocks = a.min_blocks;
    (void)attnsel::make_pruner<T>(method, grid, po);  // checks the options now, not after training
    if (grid.blocks() < a.min_blocks)
      std::printf("note: the layer has %lld blocks < --min-blocks %lld, so it stays dense\n", (long long)grid.blocks(),
                  (long long)a.min_blocks);

    auto train = [&](bool prune, RowMatrix<T>* kept, attnsel::BlockMask* mask) {
      attnsel::MLPOptions mo;
      mo.hidden = hidden;
      mo.seed = a.seed;
      auto model = attnsel::make_mlp<T>(d, classes, mo);
      attnsel::AdamOptions<T> ao;
      ao.learning_rate = T(a.lr);
      attnsel::Adam<T> adam(ao);
      attnsel::BlockPruning<T, attnsel::Adam<T>> pruning(adam);
      if (prune) pruning.add(model, 0, method, a.block, po);
      adam.add_parameters(model.parameters());
      attnsel::TrainOptions<T> t;
      t.epochs = a.epochs;
      t.batch_size = a.batch;
      t.seed = a.seed;
      if (a.quiet) attnsel::fit(model, attnsel::SoftmaxCrossEntropy<T>{}, adam, split.train.X, RowMatrix<T>(split.train.y), t, pruning);
      else attnsel::fit(model, attnsel::SoftmaxCrossEntropy<T>{}, adam, split.train.X, RowMatrix<T>(split.train.y), t, pruning, attnsel::ProgressBar(std::cerr));
      if (prune && kept) {
        *kept = dynamic_cast<attnsel::Dense<T>&>(model.layer(0)).effective_weight();
        *mask = pruning.pruner(0).mask();
      }
      return double(attnsel::accuracy(model.predict(split.test.X), RowMatrix<T>(split.test.y)));
    };

    std::printf("%s: %lld features, %lld classes; MLP %lld-%s-%lld; first layer %lld x %lld in %lld x %lld blocks\n",
                name.c_str(), (long long)d, (long long)classes, (long long)d, a.hidden.c_str(), (long long)classes,
                (long long)grid.rows(), (long long)grid.cols(), (long long)a.block, (long long)a.block);
    const double dense_acc = train(false, nullptr, nullptr);
    RowMatrix<T> W;
    attnsel::BlockMask mask;
    const double pruned_acc = train(true, &W, &mask);
    const double kept_frac = double(mask.count()) / double(mask.size());
    std::printf("test accuracy: dense %.4f, %s at %.0f %% block sparsity %.4f (keeps %lld of %lld blocks)\n", dense_acc,
                a.method.c_str(), 100 * a.sparsity, pruned_acc, (long long)mask.count(), (long long)mask.size());

    // The pruned layer as a BSR matrix: Y = X·W with W (inputs x hidden) stored as Wᵀ, whose
    // rows are the hidden units, so the product is BSR's X·(Wᵀ)ᵀ.
    const RowMatrix<T> Wt = W.transpose();
    const attnsel::BlockSparseMatrix<T> bsr(Wt, mask.transpose(), attnsel::BlockShape{a.block, a.block});
    const Index nb = std::min<Index>(a.bench_batch, split.test.rows());
    const RowMatrix<T> Xb = split.test.X.topRows(nb);
    RowMatrix<T> Yd(nb, W.cols()), Ys(nb, W.cols());
    const double t_dense = best_time([&] { Yd.noalias() = Xb * W; }, 20);
    const double t_bsr = best_time([&] { bsr.multiply(Xb, Ys); }, 20);
    const double err = double((Yd - Ys).cwiseAbs().maxCoeff()) / std::max(1e-30, double(Yd.cwiseAbs().maxCoeff()));
    std::printf("first layer on a batch of %lld: dense %.1f us, block-sparse %.1f us: %.1fx faster "
                "(kept %.1f %% of the blocks; BSR %zu bytes vs dense %zu; max relative difference %.1e)\n",
                (long long)nb, t_dense * 1e6, t_bsr * 1e6, t_dense / t_bsr, 100 * kept_frac, bsr.memory_bytes(),
                std::size_t(W.size()) * sizeof(T), err);

    if (!a.picture.empty()) {
      const RowMatrix<T> img = mask.cast<T>();
      examples::write_heatmap_png(a.picture, img, std::max(2, int(640 / std::max(img.rows(), img.cols()))), false);
      std::printf("wrote %s (%lld x %lld blocks, white = kept)\n", a.picture.c_str(), (long long)img.rows(),
                  (long long)img.cols());
    }
  } catch (const std::exception& e) {
    return examples::report_failure("block_pruning", e);
  }
  return 0;
}
