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

/// "4 layers, 4 heads of 32, width 128, context 256, selective attention", with the per-layer
/// head counts and MLP widths of a structurally pruned model.
inline std::string describe_model(const attnsel::TransformerConfig& c) {
  auto list = [&](attnsel::Index (*of)(const attnsel::TransformerConfig&, attnsel::Index)) {
    std::string s;
    for (attnsel::Index l = 0; l < c.layers; ++l) s += (l ? "," : "") + std::to_string(of(c, l));
    return s;
  };
  std::string s = std::to_string(c.layers) + " layers, ";
  if (attnsel::is_uniform(c))
    s += std::to_string(c.heads) + " heads of " + std::to_string(attnsel::head_dim_of(c));
  else
    s += "heads " + list(attnsel::heads_of) + " of " + std::to_string(attnsel::head_dim_of(c)) + ", MLP widths " +
         list(attnsel::mlp_hidden_of);
  return s + ", width " + std::to_string(c.width) + ", context " + std::to_string(c.context) + ", " +
         (c.selective ? "selective" : "standard") + " attention";
}

/// Calls f(policy) with the policy named `name` (selective, h2o, streaming, tova or knorm);
/// `option` names the command-line option in the error.
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

/// Like with_policy, for a policy with its own setting: "h2o:SHARE" (the recent window as a share
/// of the budget, H2O::recent_share), "streaming:SINKS" (StreamingLLM::sinks), or a bare name.
template <class F>
auto with_policy_spec(const std::string& spec, const char* option, F&& f) {
  namespace ev = attnsel::evict;
  const std::size_t colon = spec.find(':');
  if (colon == std::string::npos) return with_policy(spec, option, f);
  const std::string name = spec.substr(0, colon), value = spec.substr(colon + 1);
  auto number = [&]() {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != value.size() || !std::isfinite(v))
      throw usage_error(std::string(option) + ": '" + spec + "': the setting '" + value + "' is not a number");
    return v;
  };
  if (name == ev::H2O::name) {
    ev::H2O p;
    p.recent_share = number();
    return f(p);
  }
  if (name == ev::StreamingLLM::name) {
    const double v = number();
    if (v != std::floor(v) || v < 0 || v > 1e9)
      throw usage_error(std::string(option) + ": '" + spec + "': the number of sinks must be a whole number >= 0");
    ev::StreamingLLM p;
    p.sinks = attnsel::Index(v);
    return f(p);
  }
  with_policy(name, option, [](auto) {});  // an unknown name: the usual message
  throw usage_error(std::string(option) + ": '" + spec + "': policy '" + name + "' takes no setting (only h2o:SHARE and streaming:SINKS do)");
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
