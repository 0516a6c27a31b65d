// selective_attention — Selective Attention on a synthetic "variable assignment" sequence, the
// paper's motivating task: tokens assign values to a few variables, and once a variable is
// re-assigned its older assignments are irrelevant. The selector head (head 0) is built so that
// a token's query matches the keys of earlier tokens naming the same variable, so each token
// votes to mask the older assignments of its variable: F grows on exactly those.
//
// The example runs the prefill kernel (and writes F as a heat map: row = query, column = key,
// brighter = more masked), then decodes the sequence token by token with a KV cache under a
// small memory budget, printing the memory kept per step and how far the budgeted outputs are
// from the full-cache outputs; the other policies (H2O, StreamingLLM with one sink, TOVA and
// K-norm) run with the same budget alongside for contrast.
//
//   selective_attention                              256 tokens, 8 variables, budget 10
//   selective_attention --tokens 1024 --budget 16 --picture F.png
#include <attnsel/selective/selective.hpp>
#include <attnsel/random.hpp>

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include "common/cli.hpp"
#include "common/picture.hpp"

namespace {

using T = float;
using attnsel::Index;
using M = attnsel::RowMatrix<T>;

struct Args {
  Index tokens = 256, vars = 8, heads = 4, dim = 16, budget = 0, picture_tokens = 96;
  double strength = 6.0, noise = 0.05;
  std::uint64_t seed = 1;
  std::string picture = "selective_F.png";
  int every = 32;
};

struct Sequence {
  M Q, K, V;
  std::vector<Index> var;  // variable of each token (-1 for BOS)
};

/// Token t assigns variable var[t]. Head 0: q = strength·e_var, k = e_var (+ noise), so the
/// scaled logit of a later token on an earlier one is ≈ strength when they name the same
/// variable and ≈ 0 otherwise. The other heads are random "readers".
Sequence make_sequence(const Args& a) {
  attnsel::Rng rng(a.seed);
  const Index hd = a.heads * a.dim;
  Sequence s{M(a.tokens, hd), M(a.tokens, hd), M(a.tokens, hd), std::vector<Index>(std::size_t(a.tokens), -1)};
  for (Index i = 0; i < s.Q.size(); ++i) {
    s.Q.data()[i] = T(attnsel::random::normal(rng));
    s.K.data()[i] = T(attnsel::random::normal(rng));
    s.V.data()[i] = T(attnsel::random::normal(rng));
  }
  const double root_d = std::sqrt(double(a.dim));  // undo the kernel's 1/sqrt(d)
  for (Index t = 0; t < a.tokens; ++t) {
    for (Index c = 0; c < a.dim; ++c) {
      s.Q(t, c) = T(a.noise * attnsel::random::normal(rng));
      s.K(t, c) = T(a.noise * attnsel::random::normal(rng));
    }
    if (t == 0) continue;  // BOS names no variable
    const Index v = Index(attnsel::random::index(rng, std::uint64_t(a.vars)));
    s.var[std::size_t(t)] = v;
    s.Q(t, v % a.dim) += T(a.strength * root_d);
    s.K(t, v % a.dim) += T(1);
  }
  return s;
}

template <class Policy>
void decode(const char* name, const Args& a, const Sequence& s, const M& full, Policy policy, bool print) {
  attnsel::KVCacheOptions o;
  o.heads = a.heads;
  o.head_dim = a.dim;
  o.budget = a.budget;
  attnsel::KVCache<T, Policy> cache(o, policy);
  double worst = 0;
  const double scale = std::max(1e-30, double(full.cwiseAbs().maxCoeff()));
  if (print) std::printf("  %6s %7s %10s %14s\n", "step", "cached", "KV bytes", "rel. diff");
  for (Index t = 0; t < a.tokens; ++t) {
    const auto out = cache.decode_step(s.Q.row(t), s.K.row(t), s.V.row(t));
    const double diff = double((out - full.row(t)).cwiseAbs().maxCoeff()) / scale;
    worst = std::max(worst, diff);
    if (print && ((t + 1) % a.every == 0 || t + 1 == a.tokens))
      std::printf("  %6lld %7lld %10zu %14.2e\n", (long long)t + 1, (long long)cache.size(), cache.bytes(), diff);
  }
  std::printf("%-13s keeps %lld of %lld tokens (%.1fx less KV memory); worst relative output difference %.2e\n",
              name, (long long)cache.size(), (long long)a.tokens, double(a.tokens) / double(cache.size()), worst);
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  CLI::App app{"Selective Attention: soft-mask prefill and budgeted KV-cache decoding on a variable-assignment sequence"};
  app.add_option("--tokens", a.tokens, "sequence length (token 0 is BOS)")->capture_default_str()->check(CLI::Range(2, 1 << 20));
  app.add_option("--vars", a.vars, "number of variables")->capture_default_str()->check(CLI::Range(1, 1 << 16));
  app.add_option("--heads", a.heads, "attention heads")->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--dim", a.dim, "head size")->capture_default_str()->check(CLI::Range(1, 1024));
  app.add_option("--budget", a.budget, "KV-cache budget in tokens (0: variables + 2)")->capture_default_str();
  app.add_option("--strength", a.strength, "selector logit between tokens naming the same variable")->capture_default_str();
  app.add_option("--seed", a.seed, "seed of the sequence")->capture_default_str();
  app.add_option("--picture", a.picture, "PNG heat map of F (empty: none)")->capture_default_str();
  app.add_option("--picture-tokens", a.picture_tokens, "tokens shown in the heat map")->capture_default_str()->check(CLI::Range(2, 4096));
  app.add_option("--every", a.every, "print the cache every this many steps")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  if (const int status = examples::parse_command_line(app, argc, argv, "selective_attention"); status >= 0) return status;
  try {
    if (a.budget == 0) a.budget = a.vars + 2;
    if (a.budget < 2) throw examples::usage_error("--budget is " + std::to_string(a.budget) + ", expected >= 2");
    if (a.vars > a.dim) throw examples::usage_error("--vars (" + std::to_string(a.vars) + ") must be <= --dim (" + std::to_string(a.dim) + ")");
    const Sequence s = make_sequence(a);
    std::printf("Selective Attention on a variable-assignment sequence: %lld tokens, %lld variables, %lld heads of size %lld\n",
                (long long)a.tokens, (long long)a.vars, (long long)a.heads, (long long)a.dim);

    attnsel::SelectiveAttentionOptions so;
    so.heads = a.heads;
    attnsel::SelectiveAttentionAux<T> aux;
    const M full = attnsel::selective_attention(s.Q, s.K, s.V, so, &aux);
    // Who masks whom: with the full sequence, how masked is each token for the last query?
    Index reassigned = 0, masked = 0;
    for (Index j = 1; j < a.tokens; ++j) {
      bool later = false;
      for (Index t = j + 1; t < a.tokens; ++t) later = later || s.var[std::size_t(t)] == s.var[std::size_t(j)];
      if (!later) continue;
      ++reassigned;
      if (aux.column_votes(j) > T(3)) ++masked;
    }
    std::printf("prefill: %lld of the %lld re-assigned tokens are masked with F > 3 for the next query\n",
                (long long)masked, (long long)reassigned);

    if (!a.picture.empty()) {
      attnsel::SelectiveAttentionOptions po = so;
      po.return_F = true;
      const Index n = std::min(a.tokens, a.picture_tokens);
      attnsel::SelectiveAttentionAux<T> paux;
      attnsel::selective_attention(M(s.Q.topRows(n)), M(s.K.topRows(n)), M(s.V.topRows(n)), po, &paux);
      examples::write_heatmap_png(a.picture, paux.F, std::max(1, int(512 / n)), true);
      std::printf("wrote %s: F of the first %lld tokens (row = query, column = key, brighter = more masked)\n",
                  a.picture.c_str(), (long long)n);
    }

    std::printf("decoding with a budget of %lld tokens, evicting the largest F:\n", (long long)a.budget);
    decode("SelectiveF", a, s, full, attnsel::evict::SelectiveF{}, true);
    decode("H2O", a, s, full, attnsel::evict::H2O{}, false);
    decode("StreamingLLM", a, s, full, attnsel::evict::StreamingLLM{1}, false);
    decode("TOVA", a, s, full, attnsel::evict::TOVA{}, false);
    decode("KNorm", a, s, full, attnsel::evict::KNorm{}, false);
  } catch (const std::exception& e) {
    return examples::report_failure("selective_attention", e);
  }
  return 0;
}
