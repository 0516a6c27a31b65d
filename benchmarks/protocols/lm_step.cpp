// lm_step: the training step of a TransformerLM, measured (issue #14), and the files for the
// side-by-side with PyTorch (benchmarks/peers/torch_lm.sh):
//  - trains `steps` AdamW steps (constant rate, decay 0.1 on the matrices, clipping at 1) on
//    random token windows and prints every step's loss;
//  - the median step time, tokens/s, the step's FLOPs (3 × the forward's: matrix products plus the
//    causal attention) and their rate against Eigen's SGEMM rate, one 1024³ product timed after
//    every step (the median);
//  - the peak heap of one training step beyond what the model and optimizer hold, against
//    B·T·width values;
//  - with --out DIR: DIR/init.bin (the initial model, lm/serialize.hpp) and DIR/batches.bin
//    (int32 little-endian: steps, B, T, then per step B·T inputs and B·T targets), so that a peer
//    trains the same model from the same weights on the same batches.
//
//   lm_step [--context 256] [--layers 4] [--heads 4] [--width 128] [--vocab 96] [--batch 16]
//           [--steps 20] [--selective 1] [--lr 1e-3] [--seed 1] [--out DIR]
#include <attnsel/attnsel.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "../../tests/heap_counter.hpp"

namespace {

using T = float;

/// FLOPs of one forward pass: 2 per multiply-add of every matrix product (Q/K/V, output, MLP,
/// the logits) and of the causal attention (QKᵀ and P·V over the T(T+1)/2 pairs of each head).
double forward_flops(const attnsel::TransformerConfig& c, attnsel::Index B, attnsel::Index seq) {
  const double W = double(c.width), A = double(c.heads * attnsel::head_dim_of(c)), M = double(c.mlp_ratio) * W;
  const double tokens = double(B) * double(seq);
  const double per_layer = 2.0 * tokens * (3.0 * W * A + A * W + 2.0 * W * M) + 2.0 * 2.0 * double(B) * (double(seq) * double(seq + 1) / 2.0) * A;
  return double(c.layers) * per_layer + 2.0 * tokens * W * double(c.vocab);
}

/// Eigen's SGEMM on 1024 × 1024 matrices, timed once after every training step so that both rates
/// come from the same stretch of the run (this VM's speed drifts by ±20 % over minutes).
class SgemmProbe {
 public:
  SgemmProbe() : A_(n_, n_), B_(n_, n_), C_(n_, n_) {
    attnsel::Rng rng(3);
    for (attnsel::Index i = 0; i < A_.size(); ++i) A_.data()[i] = float(attnsel::random::normal(rng));
    for (attnsel::Index i = 0; i < B_.size(); ++i) B_.data()[i] = float(attnsel::random::normal(rng));
    C_.noalias() = A_ * B_;  // warm-up
  }
  void time_one() {
    const auto t0 = std::chrono::steady_clock::now();
    C_.noalias() = A_ * B_;
    t_.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  double median_gflops() const {
    std::vector<double> t = t_;
    std::sort(t.begin(), t.end());
    return 2.0 * double(n_) * double(n_) * double(n_) / t[t.size() / 2] * 1e-9;
  }

 private:
  attnsel::Index n_ = 1024;
  attnsel::RowMatrix<float> A_, B_, C_;
  std::vector<double> t_;
};

void put_i32(std::ofstream& out, std::int32_t v) {
  unsigned char b[4] = {static_cast<unsigned char>(v & 0xff), static_cast<unsigned char>((v >> 8) & 0xff),
                        static_cast<unsigned char>((v >> 16) & 0xff), static_cast<unsigned char>((std::uint32_t(v) >> 24) & 0xff)};
  out.write(reinterpret_cast<const char*>(b), 4);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Time TransformerLM training steps; write the initial weights and batches for the PyTorch peer."};
  attnsel::TransformerConfig c;
  c.vocab = 96;
  int batch = 16, steps = 20, selective = 1;
  double lr = 1e-3;
  std::string out_dir;
  app.add_option("--context", c.context, "tokens per sequence")->capture_default_str()->check(CLI::Range(2, 1 << 16));
  app.add_option("--layers", c.layers, "blocks")->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--heads", c.heads, "heads")->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--width", c.width, "width")->capture_default_str()->check(CLI::Range(1, 1 << 14));
  app.add_option("--vocab", c.vocab, "vocabulary")->capture_default_str()->check(CLI::Range(2, 1 << 20));
  app.add_option("--batch", batch, "sequences per step")->capture_default_str()->check(CLI::Range(1, 1 << 16));
  app.add_option("--steps", steps, "steps")->capture_default_str()->check(CLI::Range(3, 1 << 20));
  app.add_option("--selective", selective, "1 = Selective Attention, 0 = plain")->capture_default_str()->check(CLI::Range(0, 1));
  app.add_option("--lr", lr, "AdamW rate (constant)")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--seed", c.seed, "seed of the weights and batches")->capture_default_str();
  app.add_option("--out", out_dir, "write init.bin and batches.bin here");
  CLI11_PARSE(app, argc, argv);
  try {
    c.selective = selective != 0;
    const attnsel::Index Tn = c.context;
    attnsel::TransformerLM<T> model(c);
    // Random token windows: inputs uniform, targets the next input (a learnable shift).
    attnsel::Rng rng(c.seed + 100);
    std::vector<attnsel::TokenBatch> batches;
    for (int s = 0; s < steps; ++s) {
      std::vector<std::int32_t> stream(std::size_t(batch * Tn + 1));
      for (auto& t : stream) t = std::int32_t(attnsel::random::index(rng, std::uint64_t(c.vocab)));
      attnsel::TokenBatch b;
      b.batch = batch;
      b.seq_len = Tn;
      b.inputs.assign(stream.begin(), stream.end() - 1);
      b.targets.assign(stream.begin() + 1, stream.end());
      batches.push_back(std::move(b));
    }
    if (!out_dir.empty()) {
      attnsel::save_lm(model, out_dir + "/init.bin");
      std::ofstream out(out_dir + "/batches.bin", std::ios::binary | std::ios::trunc);
      if (!out) throw std::runtime_error("--out: cannot write '" + out_dir + "/batches.bin'");
      put_i32(out, steps);
      put_i32(out, batch);
      put_i32(out, std::int32_t(Tn));
      for (const auto& b : batches) {
        for (std::int32_t v : b.inputs) put_i32(out, v);
        for (std::int32_t v : b.targets) put_i32(out, v);
      }
    }
    attnsel::AdamOptions<T> ao;
    ao.learning_rate = T(lr);
    ao.beta1 = 0.9f;
    ao.beta2 = 0.99f;
    ao.epsilon = 1e-8f;
    ao.weight_decay = 0.1f;
    attnsel::Adam<T> adam(ao);
    const auto params = model.parameters();
    adam.add_parameters(params);
    SgemmProbe sgemm;
    std::vector<double> seconds;
    long long heap_first = 0, heap_later = 0;
    std::printf("step losses:");
    for (int s = 0; s < steps; ++s) {
      double loss = 0;
      const auto r = heap_counter::peak_extra([&] {
        loss = model.forward_backward(batches[std::size_t(s)].inputs, batches[std::size_t(s)].targets, Tn);
        attnsel::clip_grad_norm(params, 1.0);
        adam.step();
      });
      // Step 0 allocates the activation buffers that later steps reuse.
      if (s == 0) heap_first = r.first;
      else heap_later = std::max(heap_later, r.first);
      seconds.push_back(r.second);
      sgemm.time_one();
      std::printf(" %.6f", loss);
    }
    std::printf("\n");
    std::vector<double> timed(seconds.begin() + 1, seconds.end());  // the first step warms up
    std::sort(timed.begin(), timed.end());
    const double med = timed[timed.size() / 2];
    const double flops = 3.0 * forward_flops(c, batch, Tn);
    const double gemm = sgemm.median_gflops();
    const double btw = double(batch) * double(Tn) * double(c.width);
    std::printf("model: %lld layers, %lld heads, width %lld, context %lld, vocab %lld, %s attention, %lld parameters\n",
                (long long)c.layers, (long long)c.heads, (long long)c.width, (long long)c.context, (long long)c.vocab,
                c.selective ? "selective" : "standard", (long long)model.parameter_count());
    std::printf("step (batch %d x %lld tokens): median %.2f ms over %d steps, %.0f tokens/s\n", batch, (long long)Tn,
                med * 1e3, steps - 1, double(batch) * double(Tn) / med);
    std::printf("FLOPs per step %.3g: %.1f GFLOP/s; Eigen SGEMM 1024^3 timed after every step %.1f GFLOP/s (median); ratio %.2f\n", flops,
                flops / med * 1e-9, gemm, flops / med * 1e-9 / gemm);
    std::printf("peak heap of the first step beyond the model and optimizer (activations and temporaries): %.2f MB = "
                "%.1f x B*T*width floats (B*T*width = %.3g); later steps: %.2f MB\n",
                double(heap_first) / 1e6, double(heap_first) / (4.0 * btw), btw, double(heap_later) / 1e6);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lm_step: %s\n", e.what());
    return 1;
  }
  return 0;
}
