// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file data/text.hpp
/// Text for language models: a character-level (byte-level) tokenizer whose vocabulary is built
/// from a corpus, a contiguous train / validation split, and batches of random windows of T + 1
/// tokens (inputs = the first T, targets = the last T).

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../random.hpp"
#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// Maps each distinct byte of a corpus to an id 0 .. vocab−1, in increasing byte order, so the
/// vocabulary is a property of the corpus alone. Bytes the corpus lacks are not encodable.
class CharTokenizer {
 public:
  CharTokenizer() { id_.fill(-1); }

  /// The vocabulary of the bytes of `corpus`. @throws std::invalid_argument for an empty corpus.
  static CharTokenizer from_corpus(const std::string& corpus) {
    detail::require(!corpus.empty(), "attnsel::CharTokenizer::from_corpus", "argument 'corpus' is empty");
    std::array<bool, 256> seen{};
    for (unsigned char ch : corpus) seen[ch] = true;
    std::string symbols;
    for (int b = 0; b < 256; ++b)
      if (seen[std::size_t(b)]) symbols.push_back(char(b));
    return from_symbols(symbols);
  }

  /// The vocabulary `symbols` (id i = symbols[i]), e.g. as saved with a model.
  /// @throws std::invalid_argument for an empty list or a byte listed twice.
  static CharTokenizer from_symbols(const std::string& symbols) {
    constexpr const char* fn = "attnsel::CharTokenizer::from_symbols";
    detail::require(!symbols.empty(), fn, "argument 'symbols' is empty");
    CharTokenizer t;
    for (std::size_t i = 0; i < symbols.size(); ++i) {
      const unsigned char ch = static_cast<unsigned char>(symbols[i]);
      detail::require(t.id_[ch] < 0, fn, "argument 'symbols' lists byte ", int(ch), " twice (positions ",
                      t.id_[ch] < 0 ? 0 : t.id_[ch], " and ", i, ")");
      t.id_[ch] = std::int32_t(i);
    }
    t.symbols_ = symbols;
    return t;
  }

  Index vocab_size() const noexcept { return Index(symbols_.size()); }
  /// The byte of each id.
  const std::string& symbols() const noexcept { return symbols_; }
  bool contains(unsigned char byte) const noexcept { return id_[byte] >= 0; }

  /// @throws std::invalid_argument for a byte outside the vocabulary (names its offset).
  std::vector<std::int32_t> encode(const std::string& text) const {
    std::vector<std::int32_t> ids(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
      const unsigned char ch = static_cast<unsigned char>(text[i]);
      detail::require(id_[ch] >= 0, "attnsel::CharTokenizer::encode", "byte ", int(ch), " at offset ", i,
                      " of argument 'text' is not in the vocabulary");
      ids[i] = id_[ch];
    }
    return ids;
  }

  /// @throws std::invalid_argument for an id outside [0, vocab).
  std::string decode(const std::vector<std::int32_t>& ids) const {
    std::string s(ids.size(), '\0');
    for (std::size_t i = 0; i < ids.size(); ++i) {
      detail::require(ids[i] >= 0 && Index(ids[i]) < vocab_size(), "attnsel::CharTokenizer::decode",
                      "argument 'ids' holds ", ids[i], " at position ", i, ", expected an id in [0, ", vocab_size(), ")");
      s[i] = symbols_[std::size_t(ids[i])];
    }
    return s;
  }

 private:
  std::array<std::int32_t, 256> id_;
  std::string symbols_;
};

/// A tokenizer as a model file stores it (lm/serialize.hpp): its kind — "chars" (`CharTokenizer`,
/// data = its symbols), "sentencepiece" (`SentencePieceTokenizer` of data/sentencepiece.hpp,
/// data = the serialized model) or "" (none) — and the bytes that rebuild it.
struct SavedTokenizer {
  std::string kind;
  std::string data;
};

/// What `save_lm` stores for a character tokenizer.
inline SavedTokenizer saved_tokenizer(const CharTokenizer& t) { return SavedTokenizer{"chars", t.symbols()}; }

/// The whole of a file as bytes. @throws std::runtime_error when it cannot be read.
inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("attnsel::read_text_file: cannot open '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A token stream cut in contiguous parts (no window crosses from one to another).
struct TokenSplit {
  std::vector<std::int32_t> train, validation, test;
};

/// Contiguous parts of a token stream: train (the start), validation, then test (the end), the
/// last two `validation_fraction` and `test_fraction` of the tokens (test empty when 0).
/// @throws std::invalid_argument for a validation fraction outside (0, 1), a test fraction
///         outside [0, 1), fractions summing to 1 or more, or a part shorter than 2 tokens.
inline TokenSplit split_tokens(const std::vector<std::int32_t>& tokens, double validation_fraction,
                               double test_fraction = 0.0) {
  constexpr const char* fn = "attnsel::split_tokens";
  detail::require(validation_fraction > 0.0 && validation_fraction < 1.0, fn, "argument 'validation_fraction' is ",
                  validation_fraction, ", expected a value in (0, 1)");
  detail::require(test_fraction >= 0.0 && test_fraction < 1.0, fn, "argument 'test_fraction' is ", test_fraction,
                  ", expected a value in [0, 1)");
  detail::require(validation_fraction + test_fraction < 1.0, fn, "arguments 'validation_fraction' = ",
                  validation_fraction, " and 'test_fraction' = ", test_fraction, " sum to ",
                  validation_fraction + test_fraction, ", expected less than 1 (something left to train on)");
  const std::size_t n_val = std::size_t(double(tokens.size()) * validation_fraction);
  const std::size_t n_test = std::size_t(double(tokens.size()) * test_fraction);
  const std::size_t n_train = tokens.size() - n_val - n_test;
  detail::require(n_val >= 2 && n_train >= 2 && (test_fraction == 0.0 || n_test >= 2), fn, "a stream of ",
                  tokens.size(), " tokens gives ", n_train, " training, ", n_val, " validation and ", n_test,
                  " test tokens, expected at least 2 in each part asked for");
  TokenSplit s;
  const auto at = [&](std::size_t i) { return tokens.begin() + std::ptrdiff_t(i); };
  s.train.assign(at(0), at(n_train));
  s.validation.assign(at(n_train), at(n_train + n_val));
  s.test.assign(at(n_train + n_val), tokens.end());
  return s;
}

/// A batch of B sequences of T tokens, stacked: `inputs[b·T + t]`, and `targets` the next token
/// of each (a negative target is not counted by the loss).
struct TokenBatch {
  std::vector<std::int32_t> inputs, targets;
  Index batch = 0, seq_len = 0;
};

/// B windows of T + 1 consecutive tokens at uniformly drawn offsets of `tokens`.
/// @throws std::invalid_argument when the stream is shorter than T + 1 or B, T < 1.
inline TokenBatch sample_windows(const std::vector<std::int32_t>& tokens, Index batch, Index seq_len, Rng& rng) {
  constexpr const char* fn = "attnsel::sample_windows";
  detail::require(batch >= 1 && seq_len >= 1, fn, "arguments 'batch' and 'seq_len' are ", batch, " and ", seq_len,
                  ", expected >= 1");
  detail::require(Index(tokens.size()) >= seq_len + 1, fn, "the stream has ", tokens.size(),
                  " tokens, fewer than seq_len + 1 = ", seq_len + 1);
  TokenBatch b;
  b.batch = batch;
  b.seq_len = seq_len;
  b.inputs.resize(std::size_t(batch * seq_len));
  b.targets.resize(std::size_t(batch * seq_len));
  const std::uint64_t starts = std::uint64_t(Index(tokens.size()) - seq_len);
  for (Index s = 0; s < batch; ++s) {
    const std::size_t o = std::size_t(random::index(rng, starts));
    for (Index t = 0; t < seq_len; ++t) {
      b.inputs[std::size_t(s * seq_len + t)] = tokens[o + std::size_t(t)];
      b.targets[std::size_t(s * seq_len + t)] = tokens[o + std::size_t(t) + 1];
    }
  }
  return b;
}

/// The windows that tile `tokens` without overlap (the last partial one dropped), `batch` at a
/// time: the deterministic evaluation batches of a validation stream.
inline std::vector<TokenBatch> tile_windows(const std::vector<std::int32_t>& tokens, Index batch, Index seq_len,
                                            Index max_windows = -1) {
  constexpr const char* fn = "attnsel::tile_windows";
  detail::require(batch >= 1 && seq_len >= 1, fn, "arguments 'batch' and 'seq_len' are ", batch, " and ", seq_len,
                  ", expected >= 1");
  Index windows = (Index(tokens.size()) - 1) / seq_len;
  if (max_windows >= 0) windows = std::min(windows, max_windows);
  detail::require(windows >= 1, fn, "the stream has ", tokens.size(), " tokens, fewer than seq_len + 1 = ", seq_len + 1);
  std::vector<TokenBatch> out;
  for (Index w0 = 0; w0 < windows; w0 += batch) {
    TokenBatch b;
    b.batch = std::min(batch, windows - w0);
    b.seq_len = seq_len;
    for (Index w = w0; w < w0 + b.batch; ++w)
      for (Index t = 0; t < seq_len; ++t) {
        b.inputs.push_back(tokens[std::size_t(w * seq_len + t)]);
        b.targets.push_back(tokens[std::size_t(w * seq_len + t + 1)]);
      }
    out.push_back(std::move(b));
  }
  return out;
}

/// `windows` non-overlapping windows spread evenly over `tokens` (window i starts at tile
/// ⌊i·n / windows⌋ of the n that tile the stream), `batch` at a time; every tile when `windows` is
/// 0 or at least n. A held-out part made of several sources is then measured across all of them,
/// not only at its start (as `tile_windows` with a maximum would).
inline std::vector<TokenBatch> spread_windows(const std::vector<std::int32_t>& tokens, Index batch, Index seq_len,
                                              Index windows = 0) {
  constexpr const char* fn = "attnsel::spread_windows";
  detail::require(batch >= 1 && seq_len >= 1, fn, "arguments 'batch' and 'seq_len' are ", batch, " and ", seq_len,
                  ", expected >= 1");
  detail::require(windows >= 0, fn, "argument 'windows' is ", windows, ", expected >= 0 (0 = every window)");
  const Index tiles = (Index(tokens.size()) - 1) / seq_len;
  detail::require(tiles >= 1, fn, "the stream has ", tokens.size(), " tokens, fewer than seq_len + 1 = ", seq_len + 1);
  const Index n = windows == 0 ? tiles : std::min(windows, tiles);
  std::vector<TokenBatch> out;
  for (Index w0 = 0; w0 < n; w0 += batch) {
    TokenBatch b;
    b.batch = std::min(batch, n - w0);
    b.seq_len = seq_len;
    for (Index w = w0; w < w0 + b.batch; ++w) {
      const std::size_t start = std::size_t((double(w) * double(tiles)) / double(n)) * std::size_t(seq_len);
      for (Index t = 0; t < seq_len; ++t) {
        b.inputs.push_back(tokens[start + std::size_t(t)]);
        b.targets.push_back(tokens[start + std::size_t(t) + 1]);
      }
    }
    out.push_back(std::move(b));
  }
  return out;
}

ATTNSEL_NAMESPACE_END
