// prune_lm: shrinks a trained language model by structure — attention heads, MLP channels, whole
// sublayers, residual width — with SequentialAttention++ or a baseline (magnitude, first-order
// Taylor, FLAP, ShortGPT's block influence, random), removing a fraction of its non-embedding
// parameters; prints per layer what survived, the parameters and the validation perplexity
// before, after pruning and after a short fine-tune, and saves the physically smaller model
// (generate and train_lm --init run it). Every method trains the same number of tokens: SA++
// prunes while it trains (--prune-steps), the one-shot methods score the model on calibration
// batches and fine-tune for --prune-steps + --finetune-steps.
//
//   train_lm --text-dir ~/.cache/attnsel/english --steps 2000 --save lm.bin
//   prune_lm --model lm.bin --text-dir ~/.cache/attnsel/english --remove 0.25 --units heads,mlp --method sapp
//            --prune-steps 200 --finetune-steps 200 --save small.bin --plot kept.png
//   prune_lm --help
#include <attnsel/attnsel.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "common/cli.hpp"
#include "common/lm_decoding.hpp"
#define STB_IMAGE_WRITE_IMPLEMENTATION  // this program's one copy of stb_image_write
#include "common/picture.hpp"
#include "common/text_codec.hpp"

namespace {

/// The non-embedding parameters: all but the token and position embeddings and an untied output layer.
template <class T>
long long non_embedding(attnsel::TransformerLM<T>& m) {
  long long n = m.parameter_count() - m.token_embedding().table().value.size() - m.position_embedding().table().value.size();
  if (m.output_layer()) n -= m.output_layer()->weight().value.size() + m.output_layer()->bias().value.size();
  return n;
}

/// FLOPs of one forward pass over B sequences of `seq` tokens: 2 per multiply-add of every
/// matrix product (Q/K/V, output projection, MLP, logits) and of the causal attention (QKᵀ and
/// P·V over the seq(seq+1)/2 pairs of each head), layer by layer.
double forward_flops(const attnsel::TransformerConfig& c, double B, double seq) {
  const double W = double(c.width), tokens = B * seq, d = double(attnsel::head_dim_of(c));
  double f = 2.0 * tokens * W * double(c.vocab);
  for (attnsel::Index l = 0; l < c.layers; ++l) {
    const double A = double(attnsel::heads_of(c, l)) * d, M = double(attnsel::mlp_hidden_of(c, l));
    f += 2.0 * tokens * (3.0 * W * A + A * W + 2.0 * W * M) + 4.0 * B * (seq * (seq + 1.0) / 2.0) * A;
  }
  return f;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

/// Training tokens/s (forward and backward passes of `steps` batches) and decoding ms/token (a
/// whole context, token by token, full caches) of two models, in alternating rounds; medians.
struct Speed {
  double train_tokens_per_s[2] = {0, 0}, decode_ms_per_token[2] = {0, 0};
};
template <class T, class Next>
Speed measure_speed(attnsel::TransformerLM<T>* models[2], Next&& next, int rounds, int steps, attnsel::Index context) {
  std::vector<double> train[2], decode[2];
  attnsel::Rng rng(77);
  std::vector<attnsel::TokenBatch> batches;
  for (int k = 0; k < steps; ++k) batches.push_back(next(rng));
  for (int r = 0; r < rounds; ++r)
    for (int m = 0; m < 2; ++m) {
      auto t0 = std::chrono::steady_clock::now();
      double tokens = 0;
      for (const attnsel::TokenBatch& b : batches) {
        models[m]->forward_backward(b.inputs, b.targets, b.seq_len);
        tokens += double(b.inputs.size());
      }
      train[m].push_back(tokens / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      attnsel::LMDecoder<T> dec(*models[m]);
      t0 = std::chrono::steady_clock::now();
      for (attnsel::Index t = 0; t < context; ++t) dec.step(batches[0].inputs[std::size_t(t)]);
      decode[m].push_back(1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / double(context));
    }
  Speed s;
  for (int m = 0; m < 2; ++m) {
    s.train_tokens_per_s[m] = median(train[m]);
    s.decode_ms_per_token[m] = median(decode[m]);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Prune a trained LM by structure (heads, MLP channels, sublayers, width) with SA++ or a baseline."};
  std::string model_path, text, text_dir, units_arg = "heads,mlp", method_arg = "sapp", save, plot;
  attnsel::StructuredPruningOptions po;
  long long prune_steps = 200, finetune_steps = 200, warmup = 20;
  int batch = 16, eval_windows = 64, calibration_batches = 16;
  double lr = 1e-3, val_fraction = 0.1, test_fraction = 0.1;
  std::uint64_t seed = 1;
  bool quiet = false, report_test = false;
  int speed_rounds = 0, speed_steps = 8;
  app.add_option("--model", model_path, "the trained model (train_lm --save)")->required();
  app.add_option("--text", text, "a text file, split as train_lm splits it (--val-fraction, --test-fraction)");
  app.add_option("--text-dir", text_dir, "a folder with train.txt, valid.txt and test.txt (bash scripts/get_data.sh english)");
  app.add_option("--remove", po.remove, "the fraction of the non-embedding parameters to remove")
      ->capture_default_str()->check(CLI::Range(0.0, 0.99));
  app.add_option("--units", units_arg, "what may be removed: heads, mlp, sublayers, width (comma-separated)")->capture_default_str();
  app.add_option("--method", method_arg, "sapp, magnitude, taylor, flap, shortgpt or random")->capture_default_str();
  app.add_option("--mlp-group", po.mlp_group, "MLP channels per candidate")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  app.add_flag("--per-layer", po.per_layer, "heads and MLP groups compete within each layer (each loses --remove of its parameters)");
  app.add_option("--cycles", po.schedule.cycles, "SA++: dense / sparse cycles before the last sparsification")
      ->capture_default_str()->check(CLI::Range(0, 100));
  app.add_option("--prune-steps", prune_steps, "SA++: training steps that prune; the other methods fine-tune them too")
      ->capture_default_str()->check(CLI::Range(1LL, 100000000LL));
  app.add_option("--finetune-steps", finetune_steps, "fine-tuning steps of the pruned model (0 = none)")
      ->capture_default_str()->check(CLI::Range(0LL, 100000000LL));
  app.add_option("--calibration-batches", calibration_batches, "taylor, flap, shortgpt: training batches that score the units")
      ->capture_default_str()->check(CLI::Range(1, 1 << 20));
  app.add_option("--batch", batch, "sequences per step")->capture_default_str()->check(CLI::Range(1, 1 << 16));
  app.add_option("--lr", lr, "peak AdamW learning rate of pruning and fine-tuning")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--warmup", warmup, "linear warm-up steps of each training run")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--eval-windows", eval_windows, "validation sequences (spread evenly over the validation part)")
      ->capture_default_str()->check(CLI::Range(1, 1 << 20));
  app.add_option("--val-fraction", val_fraction, "--text: the validation share")->capture_default_str()->check(CLI::Range(0.001, 0.5));
  app.add_option("--test-fraction", test_fraction, "--text: the test share")->capture_default_str()->check(CLI::Range(0.0, 0.5));
  app.add_option("--seed", seed, "seeds the batches and the random method")->capture_default_str();
  app.add_flag("--test", report_test, "also print the test perplexity of the result (read it once, after choosing on validation)");
  app.add_option("--speed", speed_rounds,
                 "measure the pruned model against the unpruned one: training tokens/s and decoding ms/token in this "
                 "many alternating rounds (medians), with their FLOPs (0 = no)")
      ->capture_default_str()->check(CLI::Range(0, 1000));
  app.add_option("--speed-steps", speed_steps, "--speed: training batches per round")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--save", save, "write the pruned, fine-tuned model to this file");
  app.add_option("--plot", plot, "draw the kept heads, MLP channels and width per layer as a PNG");
  app.add_flag("--quiet", quiet, "no progress lines");
  if (const int status = examples::parse_command_line(app, argc, argv, "prune_lm"); status >= 0) return status;

  try {
    using T = float;
    po.units.clear();
    for (std::size_t at = 0; at <= units_arg.size();) {
      const std::size_t comma = std::min(units_arg.find(',', at), units_arg.size());
      try {
        po.units.push_back(attnsel::parse_structure_unit(units_arg.substr(at, comma - at)));
      } catch (const std::invalid_argument& e) {
        throw examples::usage_error(std::string("--units: ") + e.what());
      }
      at = comma + 1;
    }
    try {
      po.method = attnsel::parse_structure_method(method_arg);
    } catch (const std::invalid_argument& e) {
      throw examples::usage_error(std::string("--method: ") + e.what());
    }
    po.seed = seed;
    if (text.empty() == text_dir.empty()) throw examples::usage_error("--text or --text-dir: give one of them");
    attnsel::LoadedLM<T> loaded = attnsel::load_lm<T>(model_path);
    attnsel::TransformerLM<T>& model = loaded.model;
    const attnsel::TransformerConfig cfg = model.config();
    const examples::TextCodec tok = examples::TextCodec::from_saved(loaded.saved_tokenizer);
    if (tok.vocab_size() == 0) throw std::invalid_argument("--model: the file holds no tokenizer (train_lm saves one)");
    attnsel::TokenSplit split;
    if (!text.empty()) {
      split = attnsel::split_tokens(tok.encode(attnsel::read_text_file(text)), val_fraction, test_fraction);
    } else {
      split.train = tok.encode(attnsel::read_text_file(text_dir + "/train.txt"));
      split.validation = tok.encode(attnsel::read_text_file(text_dir + "/valid.txt"));
      split.test = tok.encode(attnsel::read_text_file(text_dir + "/test.txt"));
    }
    const attnsel::Index T_len = cfg.context;
    const std::vector<attnsel::TokenBatch> validation = attnsel::spread_windows(split.validation, batch, T_len, eval_windows);
    auto next = [&](attnsel::Rng& rng) { return attnsel::sample_windows(split.train, batch, T_len, rng); };
    // The options are checked (and the candidates built) before anything is printed. The model
    // runs with every weight 1 until pruning starts: the same logits.
    attnsel::StructuredLMPruning<T> pruning(model, po);
    std::printf("model: from %s: %s, %lld parameters (%lld non-embedding)\n", model_path.c_str(),
                examples::describe_model(cfg).c_str(), (long long)model.parameter_count(), non_embedding(model));
    const attnsel::LMEvaluation before = attnsel::evaluate_lm(model, validation);
    std::printf("validation before pruning: perplexity %.4f (loss %.4f)\n", before.perplexity, before.loss);

    auto progress = [&](const char* what) -> std::function<void(const attnsel::LMProgress&)> {
      if (quiet) return {};
      return [what](const attnsel::LMProgress& p) {
        if (p.step % 50 == 0 || p.step == p.steps)
          std::fprintf(stderr, "%s: step %lld/%lld  loss %.4f  %.0f tokens/s\n", what, (long long)p.step, (long long)p.steps,
                       p.train_loss, p.tokens_per_second);
      };
    };
    attnsel::LMTrainOptions to;
    to.learning_rate = lr;
    to.warmup_steps = warmup;
    to.eval_every = 0;
    const auto t0 = std::chrono::steady_clock::now();
    std::string units_text;
    for (attnsel::StructureUnit u : po.units) units_text += (units_text.empty() ? "" : ",") + std::string(attnsel::to_string(u));
    std::printf("pruning: %s over %s (%lld candidates%s), removing %.1f%% of the non-embedding parameters%s\n",
                attnsel::to_string(po.method), units_text.c_str(), (long long)pruning.candidates().size(),
                std::count(po.units.begin(), po.units.end(), attnsel::StructureUnit::mlp) > 0
                    ? (", MLP groups of " + std::to_string(po.mlp_group)).c_str()
                    : "",
                100.0 * po.remove,
                po.per_layer ? " in every layer" : "");
    long long tuned = finetune_steps;
    if (po.method == attnsel::StructureMethod::sapp) {
      to.steps = prune_steps;
      to.progress = progress("prune");
      attnsel::train_lm(model, next, {}, to, seed, pruning.hooks());
    } else {
      attnsel::Rng crng(seed ^ 0xca11b7a7eULL);
      std::vector<attnsel::TokenBatch> calibration;
      for (int k = 0; k < calibration_batches; ++k) calibration.push_back(next(crng));
      pruning.prune_one_shot(calibration);
      tuned += prune_steps;  // the same training tokens as SA++
    }
    const double prune_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    attnsel::TransformerLM<T> small = pruning.pruned();
    // What survived, per layer.
    const attnsel::StructureScales<T> kept = model.structure_scales();
    std::vector<std::vector<int>> heads_png, channels_png;
    std::vector<int> width_png;
    for (attnsel::Index l = 0; l < cfg.layers; ++l) {
      const attnsel::TransformerBlock<T>& b = model.block(l);
      std::vector<int> hp, cp;
      std::string hs;
      attnsel::Index nh = 0, nc = 0;
      const bool attn_on = kept.attention.empty() || kept.attention[std::size_t(l)] != T(0);
      const bool mlp_on = kept.mlp.empty() || kept.mlp[std::size_t(l)] != T(0);
      if (b.has_attention())
        for (attnsel::Index h = 0; h < b.attention().heads(); ++h) {
          const bool on = attn_on && (kept.heads.empty() || kept.heads[std::size_t(l)][std::size_t(h)] != T(0));
          const bool sel = b.attention().selective() && h == b.attention().selector_head();
          hp.push_back(on ? (sel ? 2 : 1) : 0);
          if (on) hs += (nh++ ? "," : "") + std::to_string(h);
        }
      if (b.has_mlp())
        for (attnsel::Index j = 0; j < b.mlp_in().weight().value.cols(); ++j) {
          const bool on = mlp_on && (kept.channels.empty() || kept.channels[std::size_t(l)][std::size_t(j)] != T(0));
          cp.push_back(on ? 1 : 0);
          nc += on ? 1 : 0;
        }
      std::printf("layer %lld: heads %s of %lld%s, MLP %lld of %lld channels\n", (long long)l, nh ? hs.c_str() : "none",
                  (long long)hp.size(), b.has_attention() && b.attention().selective() ? (" (selector " + std::to_string(b.attention().selector_head()) + ")").c_str() : "",
                  (long long)nc, (long long)cp.size());
      heads_png.push_back(hp);
      channels_png.push_back(cp);
    }
    attnsel::Index nw = 0;
    for (attnsel::Index j = 0; j < cfg.width; ++j) {
      width_png.push_back(kept.width.empty() || kept.width[std::size_t(j)] != T(0) ? 1 : 0);
      nw += width_png.back();
    }
    std::printf("width: %lld of %lld residual channels\n", (long long)nw, (long long)cfg.width);
    std::printf("pruned model: %s\n", examples::describe_model(small.config()).c_str());
    const long long ne_before = pruning.parameters_before(), ne_after = non_embedding(small);
    std::printf("parameters: %lld before, %lld after; non-embedding %lld before, %lld after (%.1f%% removed), in %.1f s\n",
                (long long)loaded.model.parameter_count(), (long long)small.parameter_count(), ne_before, ne_after,
                100.0 * double(ne_before - ne_after) / double(ne_before), prune_seconds);
    const attnsel::LMEvaluation after = attnsel::evaluate_lm(small, validation);
    std::printf("validation after pruning: perplexity %.4f (loss %.4f)\n", after.perplexity, after.loss);
    if (tuned > 0) {
      to.steps = tuned;
      to.progress = progress("fine-tune");
      const attnsel::LMTrainResult r = attnsel::train_lm(small, next, {}, to, seed + 1);
      const attnsel::LMEvaluation fe = attnsel::evaluate_lm(small, validation);
      std::printf("validation after fine-tuning %lld steps: perplexity %.4f (loss %.4f), %.0f tokens/s\n", tuned,
                  fe.perplexity, fe.loss, r.tokens_per_second);
    }
    if (report_test) {
      if (split.test.empty()) throw examples::usage_error("--test: the text has no test part (--test-fraction 0)");
      const attnsel::LMEvaluation te = attnsel::evaluate_lm(small, attnsel::spread_windows(split.test, batch, T_len, 0));
      std::printf("test: perplexity %.4f (loss %.4f) over %lld tokens\n", te.perplexity, te.loss, (long long)te.tokens);
    }
    if (speed_rounds > 0) {
      // The unpruned model as loaded (a fresh copy: the one above carries the pruning's scales
      // and, for FLAP, compensated biases) against the pruned one, in the same run.
      attnsel::TransformerLM<T> dense = attnsel::load_lm<T>(model_path).model;
      attnsel::TransformerLM<T>* both[2] = {&dense, &small};
      const Speed sp = measure_speed(both, next, speed_rounds, speed_steps, T_len);
      const double f_dense = forward_flops(dense.config(), 1.0, double(T_len)),
                   f_small = forward_flops(small.config(), 1.0, double(T_len));
      const double train_up = sp.train_tokens_per_s[1] / sp.train_tokens_per_s[0],
                   decode_up = sp.decode_ms_per_token[0] / sp.decode_ms_per_token[1], flop_ratio = f_dense / f_small;
      std::printf("speed (%d rounds, medians): training %.0f vs %.0f tokens/s (%.2fx), decoding %.4f vs %.4f ms/token "
                  "(%.2fx); FLOPs per context %.4g vs %.4g (%.2fx): %.0f%% and %.0f%% of the FLOP ratio\n",
                  speed_rounds, sp.train_tokens_per_s[1], sp.train_tokens_per_s[0], train_up, sp.decode_ms_per_token[1],
                  sp.decode_ms_per_token[0], decode_up, f_small, f_dense, flop_ratio, 100.0 * train_up / flop_ratio,
                  100.0 * decode_up / flop_ratio);
    }
    if (!plot.empty()) {
      examples::write_structure_png(plot, heads_png, channels_png, width_png);
      std::printf("plot: %s\n", plot.c_str());
    }
    if (!save.empty()) {
      attnsel::save_lm(small, save, loaded.saved_tokenizer);
      std::printf("saved: %s\n", save.c_str());
    }
  } catch (const std::exception& e) {
    return examples::report_failure("prune_lm", e);
  }
  return 0;
}
