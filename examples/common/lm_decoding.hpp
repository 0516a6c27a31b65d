// Shared by the language-model examples (train_lm, generate): the eviction policies by their
// command-line names, and sampling text from a decoder.
#pragma once

#include "cli.hpp"
#include <attnsel/attnsel.hpp>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace examples {

/// Calls f(policy) with the policy named `name` (selective, h2o or streaming); `option` names
/// the command-line option in the error.
template <class F>
auto with_policy(const std::string& name, const char* option, F&& f) {
  namespace ev = attnsel::evict;
  if (name == ev::SelectiveF::name) return f(ev::SelectiveF{});
  if (name == ev::H2O::name) return f(ev::H2O{});
  if (name == ev::StreamingLLM::name) return f(ev::StreamingLLM{});
  if (name == ev::TOVA::name) return f(ev::TOVA{});
  if (name == ev::KNorm::name) return f(ev::KNorm{});
  throw usage_error(std::string(option) + ": unknown policy '" + name +
                    "', expected selective, h2o, streaming, tova or knorm");
}

/// Feeds `prompt` to `dec`, then samples `count` tokens, each from the softmax of the logits at
/// `temperature` (0: the most likely token). When the model's context is full, the decoder is
/// reset and the last half of the context is fed again. Returns the sampled tokens.
template <class T, class Policy>
std::vector<std::int32_t> sample_tokens(attnsel::LMDecoder<T, Policy>& dec, attnsel::Index context,
                                        const std::vector<std::int32_t>& prompt, int count, double temperature,
                                        attnsel::Rng& rng) {
  if (prompt.empty()) throw std::invalid_argument("sample_tokens: the prompt is empty");
  std::vector<std::int32_t> history, out;
  const attnsel::RowMatrix<T>* z = nullptr;
  auto feed = [&](std::int32_t token) {
    if (dec.position() == context) {
      dec.reset();
      history.erase(history.begin(), history.end() - std::ptrdiff_t(context / 2));
      for (std::int32_t h : history) dec.step(h);
    }
    z = &dec.step(token);
    history.push_back(token);
  };
  for (std::int32_t t : prompt) feed(t);
  for (int n = 0; n < count; ++n) {
    attnsel::Index pick = 0;
    if (temperature <= 0) {
      z->row(0).maxCoeff(&pick);
    } else {
      const T m = z->row(0).maxCoeff();
      const Eigen::Array<double, 1, Eigen::Dynamic> p =
          ((z->row(0).array() - m).template cast<double>() / temperature).exp();
      double u = attnsel::random::uniform01(rng) * p.sum();
      while (pick + 1 < p.size() && (u -= p(pick)) > 0) ++pick;
    }
    out.push_back(std::int32_t(pick));
    if (n + 1 < count) feed(std::int32_t(pick));
  }
  return out;
}

}  // namespace examples
