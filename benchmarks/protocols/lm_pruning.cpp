// lm_pruning: context pruning of one trained TransformerLM (issue #15), for
// benchmarks/recipes/lm_pruning.sh. Prints tab-separated lines:
//
//   unpruned  VAL_PPL  VAL_ACC  TEST_PPL  TEST_ACC  CONTEXT  LAYERS
//       the model decoded with full caches (validation = the fit windows)
//   path  POLICY  TOTAL  VAL_PPL  BUDGETS
//       every accepted state of the greedy fit on validation (attnsel::fit_budgets)
//   result  POLICY  LABEL  TOTAL  REDUCTION  VAL_PPL  TEST_PPL  TEST_ACC  BUDGETS
//       the budgets of the fit within each tolerance (LABEL = the tolerance, e.g. 0.005), and
//       within --target (LABEL = target) when given, decoded on the test windows: REDUCTION =
//       context × layers ÷ TOTAL
//   curve  POLICY  TOTAL  TEST_PPL
//       test perplexity along the fit path (about --curve-points states, for the plot)
//   uniform  POLICY  BUDGET  VAL_ACC  TEST_ACC
//       (--task variable-assignment) the same budget in every layer, answer accuracy
//   decoded  POLICY  TOTAL  TEST_PPL  TEST_ACC  BUDGETS
//       (--decode POLICY=B1,B2,...) those budgets decoded on the test windows, nothing fitted
//   speed  LABEL  TOTAL  FROM  TO  MS_PER_TOKEN  TOKENS_PER_S
//       (--speed) one sequence decoded token by token with full caches (LABEL full) and with each
//       budget set saved in the model file (LABEL = its policy): the median over --repeats runs of
//       the mean step time for positions [FROM, TO), and over all positions
//
// With --no-test the fits read no test token: the result lines carry "-" for the test columns and
// no curve lines are printed (a protocol that chooses among fits on validation first, then decodes
// the chosen budgets with --decode, reads the test part once). With --save-budgets FILE, the model is written to FILE with the budgets of every policy's fit
// at the largest tolerance (what `generate --budget auto` and --speed use).
//
//   lm_pruning --model M.bin (--text FILE | --text-dir DIR | --task variable-assignment --variables 3)
//       [--policies selective,h2o,streaming] [--tolerances 0,0.0025,0.005,0.01] [--target PPL]
//       [--fit-windows 16] [--test-windows 64] [--fit-tokens N] [--test-tokens N] [--shrink 0.75]
//       [--curve-points 8] [--budgets 64,32,16,8,4,2] [--save-budgets FILE]
// A policy may carry its own setting: h2o:SHARE (the recent window as a share of the budget),
// streaming:SINKS; its lines then name it so (e.g. "h2o:0.25").
//   lm_pruning --model M.bin --text FILE --speed [--repeats 5]
// Every evaluation is honest decoding (attnsel::evaluate_decoding): each position's logits come
// from the pruned caches. The text split is train_lm's (validation and test: the last 10 % + 10 %
// of the file, or --text-dir's valid.txt and test.txt, tokenized by the tokenizer saved with the
// model; --fit-tokens / --test-tokens: that many tokens in windows spread over each part); the
// Variable Assignment draws are train_lm's (validation seed 0x5eed, test 0x7e57).
#include <attnsel/attnsel.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "../../examples/common/lm_decoding.hpp"
#include "../../examples/common/text_codec.hpp"

namespace {

using T = float;
using attnsel::Index;

std::string join(const std::vector<Index>& v) {
  std::ostringstream s;
  for (std::size_t i = 0; i < v.size(); ++i) s << (i ? "," : "") << v[i];
  return s.str();
}

struct Setup {
  const attnsel::TransformerLM<T>* model;
  std::vector<attnsel::TokenBatch> validation, test;
  std::vector<double> tolerances;
  double target = 0;
  double shrink = 0.75;
  int curve_points = 8;
  std::vector<Index> uniform_budgets;
  bool va = false;
  bool no_test = false;
  std::vector<attnsel::SavedBudgets>* fitted = nullptr;
};

template <class Policy>
void run_policy(const Setup& s, const std::string& name, const Policy& policy) {
  const attnsel::TransformerConfig& c = s.model->config();
  const Index T_len = s.validation.front().seq_len;
  if (s.va) {
    for (Index b : s.uniform_budgets) {
      const std::vector<Index> budgets(std::size_t(c.layers), b);
      const auto v = attnsel::evaluate_decoding(*s.model, s.validation, budgets, policy);
      const auto t = attnsel::evaluate_decoding(*s.model, s.test, budgets, policy);
      std::printf("uniform\t%s\t%lld\t%.4f\t%.4f\n", name.c_str(), (long long)b, v.accuracy, t.accuracy);
      std::fflush(stdout);
    }
    return;
  }
  attnsel::BudgetFitOptions o;
  o.shrink = s.shrink;
  o.tolerance = *std::max_element(s.tolerances.begin(), s.tolerances.end());
  const double unpruned = attnsel::evaluate_decoding(*s.model, s.validation, {}, policy).perplexity;
  const bool has_target = s.target > unpruned;
  if (has_target) o.tolerance = std::max(o.tolerance, s.target / unpruned - 1.0);
  o.progress = [&](const attnsel::BudgetFitStep& st) {
    std::printf("path\t%s\t%lld\t%.4f\t%s\n", name.c_str(), (long long)st.total, st.perplexity, join(st.budgets).c_str());
    std::fflush(stdout);
    std::fprintf(stderr, "  %s: %lld tokens, validation perplexity %.4f\n", name.c_str(), (long long)st.total, st.perplexity);
  };
  const attnsel::BudgetFitResult r = attnsel::fit_budgets(*s.model, s.validation, policy, o);
  auto report = [&](const std::string& label, const attnsel::BudgetFitStep& st) {
    if (s.no_test) {
      std::printf("result\t%s\t%s\t%lld\t%.2f\t%.4f\t-\t-\t%s\n", name.c_str(), label.c_str(), (long long)st.total,
                  double(T_len * c.layers) / double(st.total), st.perplexity, join(st.budgets).c_str());
      std::fflush(stdout);
      return;
    }
    const auto t = attnsel::evaluate_decoding(*s.model, s.test, st.budgets, policy);
    std::printf("result\t%s\t%s\t%lld\t%.2f\t%.4f\t%.4f\t%.4f\t%s\n", name.c_str(), label.c_str(), (long long)st.total,
                double(T_len * c.layers) / double(st.total), st.perplexity, t.perplexity, t.accuracy,
                join(st.budgets).c_str());
    std::fflush(stdout);
  };
  const attnsel::BudgetFitStep& widest = r.within(*std::max_element(s.tolerances.begin(), s.tolerances.end()));
  s.fitted->push_back({Policy::name, widest.budgets, *std::max_element(s.tolerances.begin(), s.tolerances.end()),
                       widest.perplexity});
  for (double tol : s.tolerances) {
    char label[32];
    std::snprintf(label, sizeof label, "%g", tol);
    report(label, r.within(tol));
  }
  if (has_target) report("target", r.within(s.target / unpruned - 1.0));
  if (s.no_test) return;
  // Test perplexity along the path, at about curve_points states evenly spaced in log(total).
  const std::size_t n = r.path.size();
  std::vector<std::size_t> picks;
  for (int k = 0; k < s.curve_points && n > 1; ++k) {
    const double lo = std::log(double(r.path.back().total)), hi = std::log(double(r.path.front().total));
    const double want = hi - (hi - lo) * double(k) / double(s.curve_points - 1);
    std::size_t best = 0;
    for (std::size_t i = 0; i < n; ++i)
      if (std::abs(std::log(double(r.path[i].total)) - want) < std::abs(std::log(double(r.path[best].total)) - want)) best = i;
    if (std::find(picks.begin(), picks.end(), best) == picks.end()) picks.push_back(best);
  }
  for (std::size_t i : picks) {
    const auto t = attnsel::evaluate_decoding(*s.model, s.test, r.path[i].budgets, policy);
    std::printf("curve\t%s\t%lld\t%.4f\n", name.c_str(), (long long)r.path[i].total, t.perplexity);
    std::fflush(stdout);
  }
}

/// Step times (seconds) of decoding `tokens` one at a time with `budgets` under `policy`.
template <class Policy>
std::vector<double> step_times(const attnsel::TransformerLM<T>& model, const std::vector<std::int32_t>& tokens,
                               const std::vector<Index>& budgets, const Policy& policy) {
  attnsel::LMDecoder<T, Policy> dec(model, budgets, policy);
  std::vector<double> t;
  t.reserve(tokens.size());
  for (std::int32_t tok : tokens) {
    const auto t0 = std::chrono::steady_clock::now();
    dec.step(tok);
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return t;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

/// --speed: full caches vs every saved budget set, `repeats` rounds alternating between them.
void speed(const attnsel::LoadedLM<T>& loaded, const std::vector<std::int32_t>& tokens, int repeats) {
  const Index L = loaded.model.config().layers, n = Index(tokens.size());
  struct Run {
    std::string label;
    std::vector<Index> budgets;
    std::vector<std::vector<double>> rounds;
  };
  std::vector<Run> runs{{"full", {}, {}}};
  for (const auto& b : loaded.budgets) runs.push_back({b.policy, b.budgets, {}});
  for (int r = 0; r < repeats; ++r)
    for (Run& run : runs) {
      // Full caches run with SelectiveF (with no budget nothing is evicted, whatever the policy).
      std::vector<double> t = examples::with_policy(run.label == "full" ? "selective" : run.label, "--speed", [&](auto policy) {
        return step_times(loaded.model, tokens, run.budgets, policy);
      });
      run.rounds.push_back(std::move(t));
    }
  std::vector<Index> edges{0};
  for (Index e = 64; e < n; e *= 2) edges.push_back(e);
  edges.push_back(n);
  for (const Run& run : runs) {
    Index total = 0;
    for (Index l = 0; l < L; ++l) total += run.budgets.empty() || run.budgets[std::size_t(l)] == 0 ? n : std::min(n, run.budgets[std::size_t(l)]);
    for (std::size_t e = 0; e < edges.size(); ++e) {  // the buckets, then (e = last) all positions
      const bool all = e + 1 == edges.size();
      const Index from = all ? 0 : edges[e], to = all ? n : edges[e + 1];
      std::vector<double> means;
      for (const auto& t : run.rounds) {
        double sum = 0;
        for (Index i = from; i < to; ++i) sum += t[std::size_t(i)];
        means.push_back(sum / double(to - from));
      }
      const double m = median(means);
      std::printf("speed\t%s\t%lld\t%lld\t%lld\t%.4f\t%.0f\n", run.label.c_str(), (long long)total, (long long)from,
                  (long long)to, 1e3 * m, 1.0 / m);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lm_pruning: per-layer cache budgets of a trained LM, fitted on validation, measured on test"};
  std::string model_path, text, text_dir, task = "text", policies = "selective,h2o,streaming";
  std::vector<double> tolerances{0, 0.0025, 0.005, 0.01};
  std::vector<Index> uniform{64, 48, 32, 24, 16, 12, 8, 6, 4, 2};
  double target = 0, shrink = 0.75, val_fraction = 0.1, test_fraction = 0.1;
  int fit_windows = 16, test_windows = 64, curve_points = 8, repeats = 5;
  long long fit_tokens = 0, test_tokens = 0;
  bool no_test = false;
  std::vector<std::string> decode;
  bool speed_mode = false;
  std::string save_budgets;
  attnsel::VariableAssignmentOptions va;
  va.variables = 3;
  app.add_option("--model", model_path, "a model written by train_lm --save")->required();
  app.add_option("--text", text, "the text the model was trained on");
  app.add_option("--text-dir", text_dir, "the folder with valid.txt and test.txt the model was trained with (train_lm --text-dir)");
  app.add_option("--fit-tokens", fit_tokens, "validation tokens the budgets are fitted on, in windows spread over the part (instead of --fit-windows)")
      ->check(CLI::Range(1LL, 1LL << 40));
  app.add_option("--test-tokens", test_tokens, "test tokens, in windows spread over the part (instead of --test-windows)")
      ->check(CLI::Range(1LL, 1LL << 40));
  app.add_option("--task", task, "text or variable-assignment")->check(CLI::IsMember({"text", "variable-assignment"}));
  app.add_option("--variables", va.variables, "variable-assignment: number of variables")->check(CLI::Range(1, 1000));
  app.add_option("--policies", policies,
                 "comma-separated: selective, h2o, streaming, tova, knorm; h2o:SHARE and streaming:SINKS set the policy's own option");
  app.add_option("--tolerances", tolerances, "relative perplexity tolerances")->delimiter(',');
  app.add_option("--target", target, "also the budgets within this validation perplexity");
  app.add_option("--fit-windows", fit_windows, "validation windows the budgets are fitted on")->check(CLI::Range(1, 1 << 16));
  app.add_option("--test-windows", test_windows, "test windows")->check(CLI::Range(1, 1 << 16));
  app.add_option("--shrink", shrink, "the fit's cut factor")->check(CLI::Range(0.01, 0.99));
  app.add_option("--curve-points", curve_points, "test evaluations along the fit path")->check(CLI::Range(2, 1000));
  app.add_option("--budgets", uniform, "variable-assignment: uniform budgets to evaluate")->delimiter(',');
  app.add_flag("--no-test", no_test, "fit on validation only: no test decoding, no curve (text)");
  app.add_option("--decode", decode, "POLICY=B1,B2,...: decode the test windows with these per-layer budgets (repeatable); no fitting");
  app.add_option("--save-budgets", save_budgets, "write the model with the fitted budgets (largest tolerance) to this file");
  app.add_flag("--speed", speed_mode, "time decoding with full caches and with the budgets saved in the model");
  app.add_option("--repeats", repeats, "--speed: rounds (the median is reported)")->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);
  try {
    attnsel::LoadedLM<T> loaded = attnsel::load_lm<T>(model_path);
    const attnsel::TransformerConfig& c = loaded.model.config();
    Setup s;
    s.model = &loaded.model;
    s.tolerances = tolerances;
    s.target = target;
    s.shrink = shrink;
    s.curve_points = curve_points;
    s.uniform_budgets = uniform;
    std::vector<attnsel::SavedBudgets> fitted;
    s.fitted = &fitted;
    if (task == "text") {
      if (text.empty() == text_dir.empty()) throw std::invalid_argument("--text or --text-dir: give the text the model was trained on");
      const examples::TextCodec tok = examples::TextCodec::from_saved(loaded.saved_tokenizer);
      if (tok.empty()) throw std::invalid_argument("--model: '" + model_path + "' has no tokenizer");
      attnsel::TokenSplit split;
      if (!text.empty()) {
        split = attnsel::split_tokens(tok.encode(attnsel::read_text_file(text)), val_fraction, test_fraction);
      } else {
        split.validation = tok.encode(attnsel::read_text_file(text_dir + "/valid.txt"));
        split.test = tok.encode(attnsel::read_text_file(text_dir + "/test.txt"));
      }
      if (fit_tokens > 0) {
        const Index w = std::max<Index>(1, Index(fit_tokens / c.context));
        s.validation = attnsel::spread_windows(split.validation, std::min<Index>(w, 64), c.context, w);
      } else {
        s.validation = attnsel::tile_windows(split.validation, fit_windows, c.context, fit_windows);
      }
      if (test_tokens > 0) {
        const Index w = std::max<Index>(1, Index(test_tokens / c.context));
        s.test = attnsel::spread_windows(split.test, std::min<Index>(w, 64), c.context, w);
      } else {
        s.test = attnsel::tile_windows(split.test, test_windows, c.context, test_windows);
      }
      if (speed_mode) {
        const std::vector<std::int32_t> one(split.test.begin(), split.test.begin() + std::ptrdiff_t(c.context));
        speed(loaded, one, repeats);
        return 0;
      }
    } else {
      s.va = true;
      va.seq_len = c.context;
      const attnsel::VariableAssignment gen(va);
      attnsel::Rng vrng(0x5eedULL), trng(0x7e57ULL);  // train_lm's validation and test draws
      for (Index w = 0; w < 256; w += 32) s.validation.push_back(gen.sample(32, vrng));
      for (Index w = 0; w < 256; w += 32) s.test.push_back(gen.sample(32, trng));
      for (Index b : uniform)
        if (b < 2) throw std::invalid_argument("--budgets: " + std::to_string(b) + ", expected >= 2");
    }
    if (!decode.empty()) {  // the chosen budgets on test, and nothing else
      for (const std::string& d : decode) {
        const std::size_t eq = d.find('=');
        if (eq == std::string::npos) throw std::invalid_argument("--decode: '" + d + "', expected POLICY=B1,B2,...");
        std::vector<Index> budgets;
        std::stringstream list(d.substr(eq + 1));
        for (std::string b; std::getline(list, b, ',');) {
          std::size_t used = 0;
          long long v = -1;
          try {
            v = std::stoll(b, &used);
          } catch (const std::exception&) {
            used = 0;
          }
          if (used == 0 || used != b.size() || (v != 0 && v < 2))
            throw std::invalid_argument("--decode: '" + d + "': budget '" + b + "', expected 0 (unbounded) or a number >= 2");
          budgets.push_back(Index(v));
        }
        if (Index(budgets.size()) != c.layers)
          throw std::invalid_argument("--decode: '" + d + "' has " + std::to_string(budgets.size()) + " budgets for " +
                                      std::to_string(c.layers) + " layers");
        const std::string spec = d.substr(0, eq);
        examples::with_policy_spec(spec, "--decode", [&](auto policy) {
          const auto t = attnsel::evaluate_decoding(loaded.model, s.test, budgets, policy);
          Index total = 0;
          for (Index b : budgets) total += b == 0 ? c.context : std::min(b, c.context);
          std::printf("decoded\t%s\t%lld\t%.4f\t%.4f\t%s\n", spec.c_str(), (long long)total, t.perplexity, t.accuracy,
                      join(budgets).c_str());
          std::fflush(stdout);
        });
      }
      return 0;
    }
    s.no_test = no_test;
    const auto v = attnsel::evaluate_decoding(loaded.model, s.validation);
    if (no_test) {
      std::printf("unpruned\t%.4f\t%.4f\t-\t-\t%lld\t%lld\n", v.perplexity, v.accuracy, (long long)c.context, (long long)c.layers);
    } else {
      const auto t = attnsel::evaluate_decoding(loaded.model, s.test);
      std::printf("unpruned\t%.4f\t%.4f\t%.4f\t%.4f\t%lld\t%lld\n", v.perplexity, v.accuracy, t.perplexity, t.accuracy,
                  (long long)c.context, (long long)c.layers);
    }
    std::fflush(stdout);
    std::stringstream list(policies);
    for (std::string p; std::getline(list, p, ',');) {
      std::fprintf(stderr, "%s: %s\n", model_path.c_str(), p.c_str());
      examples::with_policy_spec(p, "--policies", [&](auto policy) { run_policy(s, p, policy); });
    }
    if (!save_budgets.empty()) attnsel::save_lm(loaded.model, save_budgets, loaded.saved_tokenizer, fitted);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lm_pruning: %s\n", e.what());
    return 1;
  }
  return 0;
}
