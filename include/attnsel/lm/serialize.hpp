// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file lm/serialize.hpp
/// Saving and loading a `TransformerLM` with its tokenizer (docs/language-models.md §4).
///
/// The file is little-endian binary:
///
///     magic      8 bytes  "ATTNSLM" followed by a zero byte
///     version    u32      4 (files of versions 1 to 3 still load, as models of uniform layers)
///     scalar     u32      bytes per stored value: 4 (float) or 8 (double)
///     config     i64 vocab, context, layers, heads, width, head_dim, mlp_ratio;
///                u8 tied_embeddings, u8 selective; u64 count + count × i64 selector_heads;
///                f64 dropout; u64 seed;
///                (version 4) u64 count + count × i64 layer_heads, u64 count + count × i64 layer_mlp
///                (count 0: uniform)
///     tokenizer  (version 3) u32 kind length + kind bytes: "" (none), "chars" or "sentencepiece";
///                u64 length + bytes: a CharTokenizer's symbols or a serialized SentencePiece model
///                (versions 1 and 2: u64 length + the symbols of a CharTokenizer, 0 = none)
///     tensors    u64 count, then per tensor: u32 name length, name bytes, i64 rows, i64 cols,
///                rows·cols values, row-major
///     budgets    (version 2) u64 count, then per set: u32 policy length, policy bytes, u64 layers,
///                layers × i64 budgets (0 = unbounded), f64 tolerance, f64 validation perplexity
///
/// Loading checks every field and each tensor's name and shape against the model the config
/// builds, and throws attnsel::parse_error (file, 0, 0, what and where) on a truncated file, a
/// wrong magic or version, or a mismatch. A float file loads into a double model and back.
/// Saving writes a temporary file and renames it, so a failed save leaves an existing file intact.

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "../data/text.hpp"
#include "../error.hpp"
#include "transformer.hpp"

ATTNSEL_NAMESPACE_BEGIN

namespace detail {
namespace lmio {

constexpr char magic[8] = {'A', 'T', 'T', 'N', 'S', 'L', 'M', '\0'};
constexpr std::uint32_t version = 4;

inline bool little_endian() {
  const std::uint16_t one = 1;
  unsigned char b;
  std::memcpy(&b, &one, 1);
  return b == 1;
}

class Writer {
 public:
  explicit Writer(std::ofstream& out) : out_(out) {}
  template <class V>
  void put(V v) {
    unsigned char b[sizeof(V)];
    std::memcpy(b, &v, sizeof(V));
    if (!little_endian())
      for (std::size_t i = 0; i < sizeof(V) / 2; ++i) std::swap(b[i], b[sizeof(V) - 1 - i]);
    out_.write(reinterpret_cast<const char*>(b), sizeof(V));
  }
  void bytes(const std::string& s) { out_.write(s.data(), std::streamsize(s.size())); }

 private:
  std::ofstream& out_;
};

class Reader {
 public:
  Reader(std::ifstream& in, std::string file) : in_(in), file_(std::move(file)) {}
  [[noreturn]] void fail(const std::string& what) const {
    throw parse_error(file_, 0, 0, what + " (at byte " + std::to_string(offset_) + ")");
  }
  template <class V>
  V get(const char* what) {
    unsigned char b[sizeof(V)];
    in_.read(reinterpret_cast<char*>(b), sizeof(V));
    if (in_.gcount() != std::streamsize(sizeof(V))) fail(std::string("truncated file: ends inside ") + what);
    if (!little_endian())
      for (std::size_t i = 0; i < sizeof(V) / 2; ++i) std::swap(b[i], b[sizeof(V) - 1 - i]);
    offset_ += sizeof(V);
    V v;
    std::memcpy(&v, b, sizeof(V));
    return v;
  }
  std::string bytes(std::uint64_t n, const char* what) {
    if (n > (std::uint64_t(1) << 32)) fail(std::string(what) + " claims " + std::to_string(n) + " bytes");
    std::string s(std::size_t(n), '\0');
    in_.read(&s[0], std::streamsize(n));
    if (in_.gcount() != std::streamsize(n)) fail(std::string("truncated file: ends inside ") + what);
    offset_ += n;
    return s;
  }
  bool at_end() { return in_.peek() == std::char_traits<char>::eof(); }

 private:
  std::ifstream& in_;
  std::string file_;
  std::uint64_t offset_ = 0;
};

/// Writes `path` through body(Writer&) into path + ".tmp", then renames that over `path`, so a
/// failed write leaves an existing file intact. `fn` names the caller in the errors.
/// @throws std::runtime_error when the file cannot be written or renamed.
template <class Body>
void write_atomically(const std::string& path, const std::string& fn, Body body) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(fn + ": cannot write '" + tmp + "'");
    Writer w(out);
    body(out, w);
    out.flush();
    if (!out) {
      out.close();
      std::remove(tmp.c_str());
      throw std::runtime_error(fn + ": writing '" + tmp + "' failed");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error(fn + ": cannot rename '" + tmp + "' to '" + path + "'");
  }
}

}  // namespace lmio
}  // namespace detail

/// Per-layer cache budgets stored with a model (for example the result of `fit_budgets`), so
/// that a decoder can use them later (`LoadedLM::budgets_for`).
struct SavedBudgets {
  std::string policy;          ///< the eviction policy they were fitted for: an `evict::*::name`
  std::vector<Index> budgets;  ///< one per layer; 0 = unbounded
  double tolerance = 0;        ///< the relative perplexity tolerance of the fit
  double perplexity = 0;       ///< the validation perplexity with these budgets
};

/// Writes `model` (its config and every parameter, as T), the tokenizer it was trained with
/// (`saved_tokenizer(char_tokenizer)`, `SentencePieceTokenizer::saved_tokenizer()`, or `{}` for
/// none) and any budget sets to `path`.
/// @throws std::invalid_argument for a budget set with a policy name of 0 or more than 64
///         characters, a number of budgets other than the model's layers, or a budget of 1 or < 0;
///         for a tokenizer kind other than "", "chars" and "sentencepiece", or data with kind "";
///         for a model with structure scales set; std::runtime_error when the file cannot be
///         written.
template <class T>
void save_lm(TransformerLM<T>& model, const std::string& path, const SavedTokenizer& tokenizer,
             const std::vector<SavedBudgets>& budgets = {}) {
  namespace io = detail::lmio;
  detail::require(!model.has_structure_scales(), "attnsel::save_lm",
                  "the model has structure scales set, which the file cannot hold: save the sliced model (slice_structure)");
  detail::require(tokenizer.kind.empty() || tokenizer.kind == "chars" || tokenizer.kind == "sentencepiece", "attnsel::save_lm",
                  "tokenizer kind '", tokenizer.kind, "', expected 'chars', 'sentencepiece' or '' (none)");
  detail::require(!tokenizer.kind.empty() || tokenizer.data.empty(), "attnsel::save_lm", "tokenizer data of ",
                  tokenizer.data.size(), " bytes without a kind");
  for (std::size_t k = 0; k < budgets.size(); ++k) {
    const SavedBudgets& b = budgets[k];
    detail::require(!b.policy.empty() && b.policy.size() <= 64, "attnsel::save_lm", "budget set ", k, " has policy name '",
                    b.policy, "', expected 1 to 64 characters");
    detail::require(Index(b.budgets.size()) == model.config().layers, "attnsel::save_lm", "budget set ", k, " ('", b.policy,
                    "') has ", b.budgets.size(), " budgets, expected one per layer (", model.config().layers, ")");
    for (std::size_t l = 0; l < b.budgets.size(); ++l)
      detail::require(b.budgets[l] == 0 || b.budgets[l] >= 2, "attnsel::save_lm", "budget set ", k, " ('", b.policy,
                      "') holds ", b.budgets[l], " for layer ", l, ", expected 0 (unbounded) or >= 2");
  }
  io::write_atomically(path, "attnsel::save_lm", [&](std::ofstream& out, io::Writer& w) {
    out.write(io::magic, 8);
    w.put<std::uint32_t>(io::version);
    w.put<std::uint32_t>(std::uint32_t(sizeof(T)));
    const TransformerConfig& c = model.config();
    for (Index v : {c.vocab, c.context, c.layers, c.heads, c.width, c.head_dim, c.mlp_ratio}) w.put<std::int64_t>(std::int64_t(v));
    w.put<std::uint8_t>(c.tied_embeddings ? 1 : 0);
    w.put<std::uint8_t>(c.selective ? 1 : 0);
    w.put<std::uint64_t>(c.selector_heads.size());
    for (Index h : c.selector_heads) w.put<std::int64_t>(std::int64_t(h));
    w.put<double>(c.dropout);
    w.put<std::uint64_t>(c.seed);
    for (const std::vector<Index>* v : {&c.layer_heads, &c.layer_mlp}) {
      w.put<std::uint64_t>(v->size());
      for (Index x : *v) w.put<std::int64_t>(std::int64_t(x));
    }
    w.put<std::uint32_t>(std::uint32_t(tokenizer.kind.size()));
    w.bytes(tokenizer.kind);
    w.put<std::uint64_t>(tokenizer.data.size());
    w.bytes(tokenizer.data);
    const auto named = model.named_parameters();
    w.put<std::uint64_t>(named.size());
    for (const auto& np : named) {
      w.put<std::uint32_t>(std::uint32_t(np.first.size()));
      w.bytes(np.first);
      const RowMatrix<T>& v = np.second->value;
      w.put<std::int64_t>(std::int64_t(v.rows()));
      w.put<std::int64_t>(std::int64_t(v.cols()));
      for (Index i = 0; i < v.size(); ++i) w.put<T>(v.data()[i]);
    }
    w.put<std::uint64_t>(budgets.size());
    for (const SavedBudgets& b : budgets) {
      w.put<std::uint32_t>(std::uint32_t(b.policy.size()));
      w.bytes(b.policy);
      w.put<std::uint64_t>(b.budgets.size());
      for (Index v : b.budgets) w.put<std::int64_t>(std::int64_t(v));
      w.put<double>(b.tolerance);
      w.put<double>(b.perplexity);
    }
  });
}

/// Writes `model` with a character tokenizer (or none: nullptr) and any budget sets to `path`.
template <class T>
void save_lm(TransformerLM<T>& model, const std::string& path, const CharTokenizer* tokenizer = nullptr,
             const std::vector<SavedBudgets>& budgets = {}) {
  save_lm(model, path, tokenizer ? saved_tokenizer(*tokenizer) : SavedTokenizer{}, budgets);
}

/// A model, the tokenizer saved with it and its budget sets. `saved_tokenizer.kind` says which
/// tokenizer: "chars" (then `tokenizer` is it), "sentencepiece" (rebuild it with
/// `SentencePieceTokenizer::from_serialized(saved_tokenizer.data)`, data/sentencepiece.hpp) or ""
/// (none saved; `tokenizer.vocab_size() == 0` unless the kind is "chars").
template <class T>
struct LoadedLM {
  TransformerLM<T> model;
  CharTokenizer tokenizer;
  std::vector<SavedBudgets> budgets;
  SavedTokenizer saved_tokenizer;
  /// The last budget set saved for `policy`, or nullptr.
  const SavedBudgets* budgets_for(const std::string& policy) const {
    for (auto it = budgets.rbegin(); it != budgets.rend(); ++it)
      if (it->policy == policy) return &*it;
    return nullptr;
  }
};

/// Reads a file written by `save_lm` (with either scalar type).
/// @throws attnsel::parse_error for a missing, truncated or inconsistent file.
template <class T>
LoadedLM<T> load_lm(const std::string& path) {
  namespace io = detail::lmio;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw parse_error(path, 0, 0, "cannot open the file");
  io::Reader r(in, path);
  const std::string m = r.bytes(8, "the magic number");
  if (std::memcmp(m.data(), io::magic, 8) != 0) r.fail("not an attnsel model file (wrong magic number)");
  const std::uint32_t version = r.get<std::uint32_t>("the version");
  if (version < 1 || version > io::version)
    r.fail("file format version " + std::to_string(version) + ", this attnsel reads versions 1 to " + std::to_string(io::version));
  const std::uint32_t scalar = r.get<std::uint32_t>("the scalar size");
  if (scalar != 4 && scalar != 8) r.fail("scalar size " + std::to_string(scalar) + ", expected 4 or 8");
  TransformerConfig c;
  c.vocab = Index(r.get<std::int64_t>("config field 'vocab'"));
  c.context = Index(r.get<std::int64_t>("config field 'context'"));
  c.layers = Index(r.get<std::int64_t>("config field 'layers'"));
  c.heads = Index(r.get<std::int64_t>("config field 'heads'"));
  c.width = Index(r.get<std::int64_t>("config field 'width'"));
  c.head_dim = Index(r.get<std::int64_t>("config field 'head_dim'"));
  c.mlp_ratio = Index(r.get<std::int64_t>("config field 'mlp_ratio'"));
  c.tied_embeddings = r.get<std::uint8_t>("config field 'tied_embeddings'") != 0;
  c.selective = r.get<std::uint8_t>("config field 'selective'") != 0;
  const std::uint64_t ns = r.get<std::uint64_t>("config field 'selector_heads'");
  if (ns > 1u << 20) r.fail("config field 'selector_heads' claims " + std::to_string(ns) + " entries");
  for (std::uint64_t i = 0; i < ns; ++i) c.selector_heads.push_back(Index(r.get<std::int64_t>("config field 'selector_heads'")));
  c.dropout = r.get<double>("config field 'dropout'");
  c.seed = r.get<std::uint64_t>("config field 'seed'");
  if (version >= 4) {
    for (std::vector<Index>* v : {&c.layer_heads, &c.layer_mlp}) {
      const char* what = v == &c.layer_heads ? "config field 'layer_heads'" : "config field 'layer_mlp'";
      const std::uint64_t n = r.get<std::uint64_t>(what);
      if (n > 1u << 20) r.fail(std::string(what) + " claims " + std::to_string(n) + " entries");
      for (std::uint64_t i = 0; i < n; ++i) v->push_back(Index(r.get<std::int64_t>(what)));
    }
  }
  try {
    validate(c);
  } catch (const std::invalid_argument& e) {
    r.fail(std::string("invalid model configuration: ") + e.what());
  }
  // Bound the sizes before allocating a model from them.
  double block_size = 0;
  for (Index l = 0; l < c.layers; ++l)
    block_size += double(c.width) * (double(mlp_hidden_of(c, l)) + double(heads_of(c, l)) * double(head_dim_of(c)));
  if (double(c.vocab) * double(c.width) > 1e10 || block_size > 1e11)
    r.fail("the configuration describes a model too large to be real (" + std::to_string(c.layers) + " layers of width " +
           std::to_string(c.width) + ")");
  SavedTokenizer saved;
  if (version >= 3) {
    const std::uint32_t nkind = r.get<std::uint32_t>("the tokenizer's kind length");
    if (nkind > 64) r.fail("the tokenizer's kind claims " + std::to_string(nkind) + " bytes");
    saved.kind = r.bytes(nkind, "the tokenizer's kind");
    if (!saved.kind.empty() && saved.kind != "chars" && saved.kind != "sentencepiece")
      r.fail("unknown tokenizer kind '" + saved.kind + "' (this attnsel knows 'chars' and 'sentencepiece')");
  }
  const std::uint64_t nsym = r.get<std::uint64_t>("the tokenizer's length");
  saved.data = r.bytes(nsym, "the tokenizer's data");
  if (version < 3 && !saved.data.empty()) saved.kind = "chars";
  if (saved.kind.empty() && !saved.data.empty()) r.fail("tokenizer data without a kind");
  const std::string& symbols = saved.data;
  LoadedLM<T> out{TransformerLM<T>(c), CharTokenizer(), {}, {}};
  if (saved.kind == "chars") {
    try {
      out.tokenizer = CharTokenizer::from_symbols(symbols);
    } catch (const std::invalid_argument& e) {
      r.fail(std::string("invalid tokenizer: ") + e.what());
    }
    if (out.tokenizer.vocab_size() > c.vocab)
      r.fail("the tokenizer has " + std::to_string(out.tokenizer.vocab_size()) + " symbols for a vocabulary of " +
             std::to_string(c.vocab));
  }
  auto named = out.model.named_parameters();
  const std::uint64_t count = r.get<std::uint64_t>("the tensor count");
  if (count != named.size())
    r.fail("the file holds " + std::to_string(count) + " tensors, the configuration's model has " + std::to_string(named.size()));
  for (auto& np : named) {
    const std::uint32_t len = r.get<std::uint32_t>("a tensor name's length");
    const std::string name = r.bytes(len, "a tensor name");
    if (name != np.first) r.fail("tensor '" + name + "' where the model has '" + np.first + "'");
    const std::int64_t rows = r.get<std::int64_t>("a tensor's shape"), cols = r.get<std::int64_t>("a tensor's shape");
    RowMatrix<T>& v = np.second->value;
    if (rows != v.rows() || cols != v.cols())
      r.fail("tensor '" + name + "' is " + std::to_string(rows) + "x" + std::to_string(cols) + ", the model's is " +
             std::to_string(v.rows()) + "x" + std::to_string(v.cols()));
    for (Index i = 0; i < v.size(); ++i)
      v.data()[i] = scalar == 4 ? T(r.get<float>("tensor values")) : T(r.get<double>("tensor values"));
  }
  if (version >= 2) {
    const std::uint64_t sets = r.get<std::uint64_t>("the number of budget sets");
    if (sets > 1024) r.fail("the file claims " + std::to_string(sets) + " budget sets");
    for (std::uint64_t k = 0; k < sets; ++k) {
      SavedBudgets b;
      const std::uint32_t len = r.get<std::uint32_t>("a budget set's policy name length");
      if (len == 0 || len > 64) r.fail("budget set " + std::to_string(k) + " has a policy name of " + std::to_string(len) + " bytes");
      b.policy = r.bytes(len, "a budget set's policy name");
      const std::uint64_t n = r.get<std::uint64_t>("a budget set's layer count");
      if (n != std::uint64_t(c.layers))
        r.fail("budget set " + std::to_string(k) + " ('" + b.policy + "') has " + std::to_string(n) + " budgets for " +
               std::to_string(c.layers) + " layers");
      for (std::uint64_t l = 0; l < n; ++l) {
        const std::int64_t v = r.get<std::int64_t>("a budget");
        if (v != 0 && (v < 2 || v > (std::int64_t(1) << 40)))
          r.fail("budget set " + std::to_string(k) + " ('" + b.policy + "') holds " + std::to_string(v) + " for layer " +
                 std::to_string(l) + ", expected 0 (unbounded) or >= 2");
        b.budgets.push_back(Index(v));
      }
      b.tolerance = r.get<double>("a budget set's tolerance");
      b.perplexity = r.get<double>("a budget set's perplexity");
      out.budgets.push_back(std::move(b));
    }
  }
  if (!r.at_end()) r.fail(version >= 2 ? "unexpected bytes after the budget sets" : "unexpected bytes after the last tensor");
  out.saved_tokenizer = std::move(saved);
  return out;
}

ATTNSEL_NAMESPACE_END
