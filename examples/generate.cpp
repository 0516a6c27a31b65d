// generate: continues a prompt with a language model saved by train_lm, decoding token by token
// through per-layer KV caches held to a budget by an eviction policy, and prints the text and the
// tokens each layer's cache kept.
//
//   train_lm --text ~/.cache/attnsel/fortunes/fortunes.txt --steps 1000 --fit-budgets selective --save lm.bin
//   generate --model lm.bin --prompt "The " --tokens 200 --budget auto --policy selective
//   generate --model lm.bin --prompt "The " --tokens 200 --budget 32 --policy streaming
//
// --budget auto: the budgets fitted on validation and saved with the model for --policy;
// --budget K: K tokens in every layer; --budget none: full caches.
#include <attnsel/attnsel.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/lm_decoding.hpp"
#include "common/text_codec.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Generate text with a saved language model, through KV caches pruned to a budget."};
  std::string model_path, prompt, budget = "none", policy = "selective";
  int tokens = 200;
  double temperature = 1.0;
  std::uint64_t seed = 1;
  app.add_option("--model", model_path, "a model saved by train_lm --save (a text model)")->required();
  app.add_option("--prompt", prompt, "the text to continue (in the model's tokenizer: characters it knows, or any text for subwords)")->required();
  app.add_option("--tokens", tokens, "tokens to generate (characters or subwords)")->capture_default_str()->check(CLI::Range(1, 1 << 24));
  app.add_option("--budget", budget, "auto (the budgets saved with the model), K (tokens per layer) or none")
      ->capture_default_str();
  app.add_option("--policy", policy, "the eviction policy: selective, h2o, streaming, tova or knorm")->capture_default_str();
  app.add_option("--temperature", temperature, "sampling temperature (0: always the most likely character)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 100.0));
  app.add_option("--seed", seed, "seed of the sampling")->capture_default_str();
  if (const int status = examples::parse_command_line(app, argc, argv, "generate"); status >= 0) return status;
  try {
    using T = float;
    const attnsel::LoadedLM<T> loaded = attnsel::load_lm<T>(model_path);
    const attnsel::TransformerConfig& c = loaded.model.config();
    const examples::TextCodec tok = examples::TextCodec::from_saved(loaded.saved_tokenizer);
    if (tok.empty())
      throw examples::usage_error("--model: '" + model_path + "' holds no tokenizer (a Variable Assignment model?)");
    if (prompt.empty()) throw examples::usage_error("--prompt: the prompt is empty, give at least one character");
    std::vector<std::int32_t> ids;
    try {
      ids = tok.encode(prompt);
    } catch (const std::invalid_argument& e) {
      throw examples::usage_error(std::string("--prompt: ") + e.what());
    }
    std::vector<attnsel::Index> budgets;  // empty: unbounded
    std::string how = "full caches";
    if (budget == "auto") {
      examples::with_policy(policy, "--policy", [](auto) {});
      const attnsel::SavedBudgets* saved = loaded.budgets_for(policy);
      if (!saved) {
        std::string have;
        for (const auto& b : loaded.budgets) have += (have.empty() ? "" : ", ") + b.policy;
        throw examples::usage_error("--budget auto: '" + model_path + "' holds no budgets for policy '" + policy +
                                    "' (it holds: " + (have.empty() ? "none" : have) +
                                    "); fit them with train_lm --fit-budgets " + policy + " --save");
      }
      budgets = saved->budgets;
      char line[160];
      std::snprintf(line, sizeof line, "budgets fitted on validation (tolerance %g, validation perplexity %.3f)",
                    saved->tolerance, saved->perplexity);
      how = line;
    } else if (budget != "none") {
      std::size_t used = 0;
      long long k = -1;
      try {
        k = std::stoll(budget, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != budget.size() || k < 2)
        throw examples::usage_error("--budget is '" + budget + "', expected auto, none or a number of tokens >= 2");
      budgets.assign(std::size_t(c.layers), attnsel::Index(k));
      how = "a budget of " + budget + " tokens per layer";
    }
    examples::with_policy(policy, "--policy", [&](auto pol) {
      attnsel::LMDecoder<T, decltype(pol)> dec(loaded.model, budgets, pol);
      attnsel::Rng rng(seed);
      const std::vector<std::int32_t> out = examples::sample_tokens(dec, c.context, ids, tokens, temperature, rng);
      std::printf("%s%s\n\n", prompt.c_str(), tok.decode(out).c_str());
      const attnsel::LMCacheUsage u = dec.usage();
      std::printf("caches (%s policy, %s), after %lld positions:\n", policy.c_str(), how.c_str(), (long long)dec.position());
      long long attention_layers = 0;  // a structurally pruned model may have layers without attention
      for (attnsel::Index l = 0; l < c.layers; ++l) {
        const attnsel::Index b = dec.budgets()[std::size_t(l)];
        if (attnsel::heads_of(c, l) == 0) {
          std::printf("  layer %lld: no attention, no cache\n", (long long)l);
          continue;
        }
        ++attention_layers;
        std::printf("  layer %lld: keeps %lld tokens (%zu bytes), budget %s\n", (long long)l, (long long)u.tokens[std::size_t(l)],
                    u.bytes[std::size_t(l)], b == 0 ? "none" : std::to_string(b).c_str());
      }
      std::printf("  total: %lld tokens, %zu bytes; full caches would hold %lld tokens\n", (long long)u.total_tokens,
                  u.total_bytes, (long long)dec.position() * attention_layers);
    });
  } catch (const std::exception& e) {
    return examples::report_failure("generate", e);
  }
  return 0;
}
