// kernel_tour: the kernel floor of attnsel on a small problem, the way the selection methods use
// it. A vector of attention logits over candidate features is turned into a masked softmax; the
// most attended candidate joins the selected set and leaves the mask; repeat k times. Then a
// causal attention matrix is normalised row by row and its masking scores are accumulated with
// a column prefix sum (the shape of Selective Attention's F).
//
//   kernel_tour [--n N] [--k K] [--seed S] [--help]
#include <attnsel/attnsel.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <random>
#include <string>

namespace {

void usage() {
  std::puts(
      "kernel_tour: greedy selection with attnsel's masked softmax / argmax kernels\n"
      "  --n N      number of candidate features (default 12)\n"
      "  --k K      how many to select (default 4, at most N)\n"
      "  --seed S   random seed for the logits (default 1)\n"
      "  --help     this text");
}

/// A bad command-line value: one line "kernel_tour: ... (see --help)", exit status 2, as every
/// example's usage errors (examples/common/cli.hpp).
struct usage_error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

long parse_long(const char* flag, const char* text) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0') {
    throw usage_error(std::string(flag) + " expects an integer, got '" + text + "'");
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) try {
  long n = 12, k = 4, seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "kernel_tour: unknown or incomplete option '%s' (see --help)\n", a.c_str());
      return 2;
    }
    if (a == "--n") n = parse_long("--n", argv[++i]);
    else if (a == "--k") k = parse_long("--k", argv[++i]);
    else if (a == "--seed") seed = parse_long("--seed", argv[++i]);
    else {
      std::fprintf(stderr, "kernel_tour: unknown option '%s' (see --help)\n", a.c_str());
      return 2;
    }
  }
  if (n < 1 || n > 1000000) throw usage_error("--n must be in [1, 1000000], got " + std::to_string(n));
  if (k < 1 || k > n) throw usage_error("--k must be in [1, " + std::to_string(n) + "] (at most --n), got " + std::to_string(k));

  std::printf("attnsel %s, kernels on %s\n", ATTNSEL_VERSION_STRING, attnsel::simd::arch_name<float>());

  std::mt19937_64 rng(static_cast<std::uint64_t>(seed));
  std::normal_distribution<float> normal(0.0f, 2.0f);
  Eigen::VectorXf logits(n);
  for (auto& v : logits) v = normal(rng);
  Eigen::VectorXf candidates = Eigen::VectorXf::Ones(n);

  // The top-k in one call, for comparison with the greedy loop (same logits, so same answer).
  const std::vector<attnsel::Index> top = attnsel::masked_top_k(logits, candidates, k);

  std::printf("\ngreedy selection of %ld of %ld features by attention:\n", k, n);
  for (long step = 0; step < k; ++step) {
    const Eigen::VectorXf attention = attnsel::masked_softmax(logits, candidates);
    const attnsel::Index best = attnsel::masked_argmax(attention, candidates);
    std::printf("  step %ld: feature %2ld gets attention %.3f (logit %+.3f)\n", step + 1,
                static_cast<long>(best), attention[best], logits[best]);
    candidates[best] = 0.0f;
  }
  std::printf("  masked_top_k agrees:");
  for (auto i : top) std::printf(" %ld", static_cast<long>(i));
  std::printf("\n");

  // Causal attention over 6 tokens and the running sum of what each token has received.
  Eigen::MatrixXf scores = Eigen::MatrixXf::Random(6, 6) * 3.0f;
  const attnsel::RowMatrix<float> attn = attnsel::causal_softmax_rows(scores);
  const attnsel::RowMatrix<float> received = attnsel::scan_rows(attn, /*exclusive=*/true);
  std::printf("\ncausal attention (rows = queries):\n");
  for (Eigen::Index r = 0; r < attn.rows(); ++r) {
    std::printf(" ");
    for (Eigen::Index c = 0; c < attn.cols(); ++c) std::printf(" %.3f", attn(r, c));
    std::printf("\n");
  }
  std::printf("attention each key received from earlier queries (exclusive column scan), last row:\n ");
  for (Eigen::Index c = 0; c < received.cols(); ++c) std::printf(" %.3f", received(received.rows() - 1, c));
  std::printf("\n");
  return 0;
} catch (const usage_error& e) {
  std::fprintf(stderr, "kernel_tour: %s (see --help)\n", e.what());
  return 2;
} catch (const std::exception& e) {
  std::fprintf(stderr, "kernel_tour: %s\n", e.what());
  return 1;
}
