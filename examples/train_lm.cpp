// train_lm: trains a small causal transformer language model, with or without Selective
// Attention, on text (characters, or SentencePiece subwords with --tokenizer) or on the Variable
// Assignment task, prints the
// learning curve and the validation loss, then the test loss once (a part of the data that nothing
// was tuned on), and can save the model, with per-layer cache budgets fitted on validation data
// for the eviction policies of --fit-budgets (examples/generate --budget auto uses them).
//
//   bash scripts/get_data.sh fortunes
//   train_lm --text ~/.cache/attnsel/fortunes/fortunes.txt --context 256 --steps 2000 --save lm.bin --sample 400
//   train_lm --text ~/.cache/attnsel/fortunes/fortunes.txt --steps 1000 --fit-budgets selective,h2o --save lm.bin
//   train_lm --task variable-assignment --variables 4 --context 64 --steps 1500 --selective off
//   bash scripts/get_data.sh english; train_tokenizer --text ~/.cache/attnsel/english/train.txt --out en4096.model
//   train_lm --text-dir ~/.cache/attnsel/english --tokenizer en4096.model --context 256 --steps 2000
//   train_lm --init small.bin --text-dir ~/.cache/attnsel/english --steps 500 --save small-tuned.bin   (fine-tune)
//   train_lm --help
#include <attnsel/attnsel.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>  // isatty: the bar only on a terminal

#include "common/cli.hpp"
#include "common/lm_decoding.hpp"
#include "common/text_codec.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Train a causal transformer LM (Selective Attention on or off) on text or on Variable Assignment."};
  std::string text, text_dir, tokenizer, task = "text", selective = "on", save, curve_csv, init;
  attnsel::TransformerConfig cfg;
  cfg.context = 256;
  attnsel::LMTrainOptions to;
  to.steps = 2000;
  int batch = 16, eval_windows = 64, final_windows = -1;
  double val_fraction = 0.1, test_fraction = 0.1;
  attnsel::VariableAssignmentOptions va;
  bool quiet = false;
  long long pause_after = 0;
  int sample = 0, fit_windows = 16;
  std::vector<std::string> fit_policies;
  double fit_tolerance = 0.01;
  app.add_option("--text", text, "a text file, split into training, validation and test parts by --val-fraction and --test-fraction");
  app.add_option("--text-dir", text_dir, "a folder with train.txt, valid.txt and test.txt (bash scripts/get_data.sh english)");
  app.add_option("--tokenizer", tokenizer,
                 "a SentencePiece model (examples/train_tokenizer) for subword tokens; without it, characters (the "
                 "bytes of the text)");
  app.add_option("--task", task, "text or variable-assignment")->capture_default_str()
      ->check(CLI::IsMember({"text", "variable-assignment"}));
  app.add_option("--context", cfg.context, "tokens per training sequence (and the model's context)")
      ->capture_default_str()->check(CLI::Range(4, 1 << 16));
  app.add_option("--layers", cfg.layers, "transformer blocks")->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--heads", cfg.heads, "attention heads per block")->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--width", cfg.width, "model width (a multiple of --heads unless --head-dim is set)")
      ->capture_default_str()->check(CLI::Range(1, 1 << 14));
  app.add_option("--head-dim", cfg.head_dim, "columns per head (0: width / heads)")->capture_default_str()
      ->check(CLI::Range(0, 1 << 14));
  app.add_option("--selective", selective, "Selective Attention: on or off")->capture_default_str()
      ->check(CLI::IsMember({"on", "off"}));
  app.add_option("--dropout", cfg.dropout, "dropout rate")->capture_default_str()->check(CLI::Range(0.0, 0.9));
  app.add_option("--seed", cfg.seed, "seed of the weights, the dropout masks and the batches")->capture_default_str();
  app.add_option("--steps", to.steps, "training steps")->capture_default_str()->check(CLI::Range(1, 100000000));
  app.add_option("--batch", batch, "sequences per step")->capture_default_str()->check(CLI::Range(1, 1 << 16));
  app.add_option("--lr", to.learning_rate, "peak AdamW learning rate")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--warmup", to.warmup_steps, "linear warm-up steps")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--weight-decay", to.weight_decay, "AdamW decay on the matrices")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--clip", to.clip_norm, "clip the global gradient norm (0 = off)")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--eval-every", to.eval_every, "validation every N steps")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--eval-windows", eval_windows,
                 "validation sequences during training (text: windows spread evenly over the validation part)")
      ->capture_default_str()->check(CLI::Range(1, 1 << 20));
  app.add_option("--final-windows", final_windows,
                 "text: windows of the validation and test parts in the final evaluation (0 = all of each part, "
                 "-1 = --eval-windows)")
      ->capture_default_str()->check(CLI::Range(-1, 1 << 24));
  app.add_option("--val-fraction", val_fraction, "text: the validation share (after the training part, before the test part)")
      ->capture_default_str()->check(CLI::Range(0.001, 0.5));
  app.add_option("--test-fraction", test_fraction,
                 "text: the test share (after the validation part; 0 = none). Variable Assignment: test "
                 "sequences are a separate draw of --eval-windows unless this is 0")
      ->capture_default_str()->check(CLI::Range(0.0, 0.5));
  app.add_option("--variables", va.variables, "variable-assignment: number of variables")->capture_default_str()->check(CLI::Range(1, 1000));
  app.add_option("--values", va.values, "variable-assignment: values per variable")->capture_default_str()->check(CLI::Range(1, 1000));
  app.add_option("--query-rate", va.query_rate, "variable-assignment: share of query groups")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  app.add_option("--memory-loss", to.memory_loss.weight,
                 "weight of the auxiliary memory loss, epsilon in L = L_lm + epsilon * L_mem (0 = off)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--memory-tau", to.memory_loss.tau, "the memory loss's tau: F at which a token counts as masked")
      ->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--sample", sample, "text: after training, print this many generated tokens")
      ->capture_default_str()->check(CLI::Range(0, 1 << 20));
  app.add_option("--fit-budgets", fit_policies,
                 "after training, fit per-layer cache budgets on validation for these policies (selective, h2o, "
                 "streaming, tova, knorm), saved with --save")
      ->delimiter(',');
  app.add_option("--fit-tolerance", fit_tolerance, "the fitted budgets keep validation perplexity within this share of the unpruned")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  app.add_option("--fit-windows", fit_windows, "validation sequences the budgets are fitted on")
      ->capture_default_str()
      ->check(CLI::Range(1, 1 << 16));
  app.add_option("--init", init,
                 "start from this saved model (e.g. a pruned one, examples/prune_lm) instead of a new one: its shape, "
                 "context and tokenizer come from the file; --seed then seeds only the batches and the sample");
  app.add_option("--save", save, "write the trained model (and the tokenizer) to this file");
  app.add_option("--curve", curve_csv, "write the learning curve (step, train loss, validation loss, seconds, validation accuracy) as CSV");
  app.add_option("--checkpoint", to.checkpoint_path,
                 "resumable training: write the run's state to this file every --checkpoint-every steps and after "
                 "the last; a run that finds the file continues from it (the same options and data) and ends exactly "
                 "where an uninterrupted run ends; the file is removed once the run has finished");
  app.add_option("--checkpoint-every", to.checkpoint_every, "steps between checkpoints (0: only after the last step)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--pause-after", pause_after,
                 "train at most about this many steps in this call: stop at the first checkpoint after them and exit "
                 "with status 75, without evaluating or saving (run the same command again to continue; 0 = no pause)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_flag("--quiet", quiet, "no progress lines");
  if (const int status = examples::parse_command_line(app, argc, argv, "train_lm"); status >= 0) return status;

  try {
    cfg.selective = selective == "on";
    using T = float;
    std::optional<attnsel::LoadedLM<T>> loaded;
    if (!init.empty()) {
      for (const char* o : {"--context", "--layers", "--heads", "--width", "--head-dim", "--selective", "--dropout", "--tokenizer"})
        if (app.count(o) > 0) throw examples::usage_error(std::string(o) + ": comes from the model given by --init");
      if (task != "text") throw examples::usage_error("--init: fine-tuning runs on text (--text or --text-dir)");
      loaded.emplace(attnsel::load_lm<T>(init));
      const std::uint64_t seed = cfg.seed;
      cfg = loaded->model.config();
      if (app.count("--seed") > 0) cfg.seed = seed;  // the batches' seed; the weights are the file's
    }
    if (sample > 0 && task != "text") throw examples::usage_error("--sample: generating needs a text model (--text)");
    for (const std::string& name : fit_policies) examples::with_policy(name, "--fit-budgets", [](auto) {});  // before training
    if (!text.empty() && !text_dir.empty()) throw examples::usage_error("--text and --text-dir: give one of them");
    if (!tokenizer.empty() && task != "text") throw examples::usage_error("--tokenizer: only for text (--text or --text-dir)");
    if (to.checkpoint_every > 0 && to.checkpoint_path.empty())
      throw examples::usage_error("--checkpoint-every: needs --checkpoint FILE");
    if (pause_after > 0 && (to.checkpoint_path.empty() || to.checkpoint_every == 0))
      throw examples::usage_error("--pause-after: needs --checkpoint FILE and --checkpoint-every N");
    examples::TextCodec tok;
    double test_bytes_per_token = 0;  // for the test loss per byte
    std::vector<attnsel::TokenBatch> validation, final_validation, test;  // (final: text only)
    std::function<attnsel::TokenBatch(attnsel::Rng&)> next;
    attnsel::TokenSplit split;
    std::string what;
    if (task == "text") {
      if (text.empty() && text_dir.empty())
        throw examples::usage_error("--text or --text-dir: text is needed (bash scripts/get_data.sh fortunes, or english)");
      std::string corpus;
      if (!text.empty()) {
        corpus = attnsel::read_text_file(text);
        tok = loaded ? examples::TextCodec::from_saved(loaded->saved_tokenizer)
              : tokenizer.empty() ? examples::TextCodec::characters(corpus)
                                  : examples::TextCodec::sentencepiece_file(tokenizer);
        split = attnsel::split_tokens(tok.encode(corpus), val_fraction, test_fraction);
        if (!split.test.empty()) test_bytes_per_token = double(tok.decode(split.test).size()) / double(split.test.size());
      } else {
        const std::string train_text = attnsel::read_text_file(text_dir + "/train.txt");
        const std::string valid_text = attnsel::read_text_file(text_dir + "/valid.txt");
        const std::string test_text = attnsel::read_text_file(text_dir + "/test.txt");
        corpus = train_text + valid_text + test_text;  // characters: every byte of the three parts
        tok = loaded ? examples::TextCodec::from_saved(loaded->saved_tokenizer)
              : tokenizer.empty() ? examples::TextCodec::characters(corpus)
                                  : examples::TextCodec::sentencepiece_file(tokenizer);
        split.train = tok.encode(train_text);
        split.validation = tok.encode(valid_text);
        if (test_fraction > 0) split.test = tok.encode(test_text);
        if (!split.test.empty()) test_bytes_per_token = double(test_text.size()) / double(split.test.size());
        text = text_dir;
      }
      if (loaded && tok.vocab_size() > cfg.vocab)
        throw std::invalid_argument("--init: the model's tokenizer has " + std::to_string(tok.vocab_size()) +
                                    " tokens for a vocabulary of " + std::to_string(cfg.vocab));
      if (!loaded) cfg.vocab = tok.vocab_size();
      validation = attnsel::spread_windows(split.validation, batch, cfg.context, eval_windows);
      const int last = final_windows < 0 ? eval_windows : final_windows;
      final_validation = attnsel::spread_windows(split.validation, batch, cfg.context, last);
      if (test_fraction > 0) test = attnsel::spread_windows(split.test, batch, cfg.context, last);
      next = [&](attnsel::Rng& rng) { return attnsel::sample_windows(split.train, batch, cfg.context, rng); };
      what = text + " (" + std::to_string(corpus.size()) + " bytes; " + tok.describe() + ", vocabulary " +
             std::to_string(cfg.vocab) + "; " + std::to_string(split.train.size()) + " training, " +
             std::to_string(split.validation.size()) + " validation, " + std::to_string(split.test.size()) + " test tokens)";
    } else {
      va.seq_len = cfg.context;
      const attnsel::VariableAssignment gen(va);
      cfg.vocab = gen.vocab_size();
      attnsel::Rng vrng(0x5eedULL);  // the validation sequences: one fixed draw for every model
      for (int w = 0; w < eval_windows; w += batch) validation.push_back(gen.sample(std::min(batch, eval_windows - w), vrng));
      attnsel::Rng trng(0x7e57ULL);  // the test sequences: another fixed draw
      if (test_fraction > 0)
        for (int w = 0; w < eval_windows; w += batch) test.push_back(gen.sample(std::min(batch, eval_windows - w), trng));
      next = [gen, batch](attnsel::Rng& rng) { return gen.sample(batch, rng); };
      what = "Variable Assignment (" + std::to_string(va.variables) + " variables, " + std::to_string(va.values) +
             " values, query rate " + std::to_string(va.query_rate) + ")";
    }
    attnsel::TransformerLM<T> model = loaded ? std::move(loaded->model) : attnsel::TransformerLM<T>(cfg);
    std::printf("data: %s\nmodel: %s%s, %lld parameters\n", what.c_str(), loaded ? ("from " + init + ": ").c_str() : "",
                examples::describe_model(cfg).c_str(), (long long)model.parameter_count());
    if (!quiet)
      to.progress = [tty = isatty(fileno(stderr)) != 0, last = std::chrono::steady_clock::time_point{}](
                        const attnsel::LMProgress& p) mutable {
        const double eta = p.step > 0 ? p.seconds / double(p.step) * double(p.steps - p.step) : 0.0;
        const bool eval = p.validation_loss == p.validation_loss;
        char mem[48] = "";
        if (p.memory_loss > 0) std::snprintf(mem, sizeof mem, "  memory %.4f", p.memory_loss);
        const auto now = std::chrono::steady_clock::now();
        if (tty && (eval || p.step == p.steps || now - last >= std::chrono::milliseconds(100))) {  // at most 10 redraws a second
          last = now;
          const int width = 30, done = int(double(width) * double(p.step) / double(p.steps));
          std::fprintf(stderr, "\r[%s%s] %lld/%lld  loss %.4f%s  %.0f tokens/s  ETA %02d:%02d ",
                       std::string(std::size_t(done), '#').c_str(), std::string(std::size_t(width - done), '.').c_str(),
                       (long long)p.step, (long long)p.steps, p.train_loss, mem, p.tokens_per_second, int(eta) / 60,
                       int(eta) % 60);
          if (eval) std::fprintf(stderr, "\n");
        }
        if (eval)
          std::fprintf(stderr, "step %lld/%lld  train loss %.4f%s  validation loss %.4f  lr %.2e  %.0f tokens/s  ETA %02d:%02d\n",
                       (long long)p.step, (long long)p.steps, p.train_loss, mem, p.validation_loss, p.learning_rate,
                       p.tokens_per_second, int(eta) / 60, int(eta) % 60);
      };
    // What the training options do not say: a checkpoint of other data or batches is refused.
    to.checkpoint_tag = what + "; batch " + std::to_string(batch) + "; validation windows " + std::to_string(eval_windows);
    struct Paused {
      long long step;
    };
    if (pause_after > 0) {  // stop at the first checkpoint after pause_after steps of this call
      auto report = to.progress;
      to.progress = [report, pause_after, every = to.checkpoint_every, calls = 0LL](const attnsel::LMProgress& p) mutable {
        if (report) report(p);
        ++calls;
        if (calls >= pause_after && p.step < p.steps && every > 0 && p.step % every == 0) throw Paused{(long long)p.step};
      };
    }
    attnsel::LMTrainResult r;
    try {
      r = attnsel::train_lm(model, next, validation, to, cfg.seed);
    } catch (const Paused& p) {
      std::printf("paused: step %lld of %lld is in the checkpoint %s; run the same command again to continue\n", p.step,
                  (long long)to.steps, to.checkpoint_path.c_str());
      return 75;
    }
    if (r.resumed_from > 0)
      std::printf("checkpoint: continued from step %lld of %lld (%s)\n", (long long)r.resumed_from, (long long)to.steps,
                  to.checkpoint_path.c_str());
    const attnsel::LMEvaluation e = attnsel::evaluate_lm(model, final_validation.empty() ? validation : final_validation);
    std::printf("validation: loss %.4f nats/token, perplexity %.3f, accuracy %.4f over %lld tokens\n", e.loss,
                e.perplexity, e.accuracy, (long long)e.tokens);
    if (!test.empty()) {
      const attnsel::LMEvaluation t = attnsel::evaluate_lm(model, test);
      std::printf("test: loss %.4f nats/token, perplexity %.3f, accuracy %.4f over %lld tokens", t.loss, t.perplexity,
                  t.accuracy, (long long)t.tokens);
      if (test_bytes_per_token > 0)  // the test part's bytes per token: a loss comparable across tokenizers
        std::printf("; %.4f nats/byte (%.3f bytes per token)", t.loss / test_bytes_per_token, test_bytes_per_token);
      std::printf("\n");
    }
    std::printf("training: %lld steps in %.1f s (%.1f s of it validation), %.0f tokens/s\n", (long long)to.steps,
                r.seconds, r.eval_seconds, r.tokens_per_second);
    if (!curve_csv.empty()) {
      std::ofstream out(curve_csv);
      if (!out) throw std::runtime_error("--curve: cannot write '" + curve_csv + "'");
      out << "step,train_loss,validation_loss,seconds,validation_accuracy\n";
      for (const auto& c : r.curve)
        out << c.step << ',' << c.train_loss << ',' << c.validation_loss << ',' << c.seconds << ',' << c.validation_accuracy << '\n';
    }
    if (sample > 0) {
      // Decode from the first validation token, sampling each next token from the softmax.
      attnsel::LMDecoder<T> dec(model);
      attnsel::Rng srng(cfg.seed + 7);
      const std::vector<std::int32_t> generated =
          examples::sample_tokens(dec, cfg.context, {split.validation.front()}, sample, 1.0, srng);
      std::printf("sample (%d tokens):\n%s\n", sample, tok.decode(generated).c_str());
    }
    std::vector<attnsel::SavedBudgets> fitted;
    if (!fit_policies.empty()) {
      // The fit's sequences: the first validation windows (text) or the validation draw (Variable Assignment).
      std::vector<attnsel::TokenBatch> fit_data;
      if (task == "text") {
        fit_data = attnsel::tile_windows(split.validation, fit_windows, cfg.context, fit_windows);
      } else {
        attnsel::Rng vrng(0x5eedULL);
        fit_data.push_back(attnsel::VariableAssignment(va).sample(fit_windows, vrng));
      }
      for (const std::string& name : fit_policies) {
        examples::with_policy(name, "--fit-budgets", [&](auto policy) {
          attnsel::BudgetFitOptions fo;
          fo.tolerance = fit_tolerance;
          if (!quiet)
            fo.progress = [&](const attnsel::BudgetFitStep& st) {
              std::fprintf(stderr, "fit %s: %lld cached tokens, validation perplexity %.4f\n", name.c_str(),
                           (long long)st.total, st.perplexity);
            };
          const attnsel::BudgetFitResult fr = attnsel::fit_budgets(model, fit_data, policy, fo);
          const attnsel::BudgetFitStep& best = fr.best();
          long long full = 0;  // the unpruned caches: the context in every layer with attention
          for (attnsel::Index l = 0; l < cfg.layers; ++l) full += attnsel::heads_of(cfg, l) > 0 ? cfg.context : 0;
          std::string list;
          for (attnsel::Index b : best.budgets) list += (list.empty() ? "" : " ") + std::to_string(b);
          std::printf("budgets (%s, tolerance %g): %s = %lld cached tokens of %lld (%.1fx less), validation perplexity %.4f, unpruned %.4f\n",
                      name.c_str(), fit_tolerance, list.c_str(), (long long)best.total,
                      full, double(full) / double(best.total),
                      best.perplexity, fr.unpruned_perplexity);
          fitted.push_back({name, best.budgets, fit_tolerance, best.perplexity});
        });
      }
    }
    if (!save.empty()) {
      attnsel::save_lm(model, save, task == "text" ? tok.saved() : attnsel::SavedTokenizer{}, fitted);
      std::printf("saved: %s\n", save.c_str());
    }
    if (!to.checkpoint_path.empty()) std::remove(to.checkpoint_path.c_str());  // the run is complete
  } catch (const std::exception& e) {
    return examples::report_failure("train_lm", e);
  }
  return 0;
}
