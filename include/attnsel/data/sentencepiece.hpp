// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file data/sentencepiece.hpp
/// Subword tokenization for language models through SentencePiece (Debian: libsentencepiece-dev;
/// link `sentencepiece` and `sentencepiece_train`, e.g. pkg-config's `sentencepiece`). Not
/// included by attnsel.hpp: only a TU that includes this header needs the library
/// (docs/language-models.md §3).
///
/// `train_sentencepiece` trains a model on text held in memory; `SentencePieceTokenizer` encodes
/// and decodes with a trained model and keeps its serialized form, which `save_lm` stores with a
/// model (`saved_tokenizer()`), so the tokenizer travels with the model. Text round-trips exactly:
/// the models this header trains keep every byte (no normalisation, spaces and newlines kept, every
/// byte of the training text covered, unknown bytes spelled as byte pieces).

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../types.hpp"
#include "text.hpp"

// Exported by libsentencepiece (0.1.9x) but not declared in its public headers: the trainer logs
// its command line at INFO level before it reads --minloglevel, and library code never prints.
namespace sentencepiece {
namespace logging {
int GetMinLogLevel();
void SetMinLogLevel(int);
}  // namespace logging
}  // namespace sentencepiece

ATTNSEL_NAMESPACE_BEGIN

/// A SentencePiece model: encode / decode with ids in [0, vocab_size()).
class SentencePieceTokenizer {
 public:
  /// The model whose serialized protocol buffer is `serialized` (a `.model` file's bytes).
  /// @throws std::invalid_argument when the bytes are not a SentencePiece model.
  static SentencePieceTokenizer from_serialized(std::string serialized) {
    SentencePieceTokenizer t;
    t.sp_ = std::make_shared<sentencepiece::SentencePieceProcessor>();
    const auto status = t.sp_->LoadFromSerializedProto(serialized);
    detail::require(status.ok(), "attnsel::SentencePieceTokenizer::from_serialized", "argument 'serialized' (",
                    serialized.size(), " bytes) is not a SentencePiece model: ", status.ToString());
    t.serialized_ = std::move(serialized);
    return t;
  }

  /// The model of a `.model` file (as written by `spm_train` or `save`).
  /// @throws std::runtime_error when the file cannot be read; std::invalid_argument when it is
  ///         not a SentencePiece model.
  static SentencePieceTokenizer from_file(const std::string& path) { return from_serialized(read_text_file(path)); }

  Index vocab_size() const noexcept { return sp_ ? Index(sp_->GetPieceSize()) : 0; }
  /// The serialized model (what `from_serialized` takes).
  const std::string& serialized() const noexcept { return serialized_; }
  /// What `save_lm` stores to rebuild this tokenizer with `from_saved`.
  SavedTokenizer saved_tokenizer() const { return SavedTokenizer{"sentencepiece", serialized_}; }
  /// The piece of an id (e.g. "▁the"). @throws std::invalid_argument for an id outside the vocabulary.
  std::string piece(std::int32_t id) const {
    check_id(id, "attnsel::SentencePieceTokenizer::piece", 0);
    return sp_->IdToPiece(int(id));
  }

  /// @throws std::runtime_error when SentencePiece fails (it maps unknown text to its unknown piece).
  std::vector<std::int32_t> encode(const std::string& text) const {
    require_model("attnsel::SentencePieceTokenizer::encode");
    std::vector<int> ids;
    const auto status = sp_->Encode(text, &ids);
    if (!status.ok()) throw std::runtime_error("attnsel::SentencePieceTokenizer::encode: " + status.ToString());
    return std::vector<std::int32_t>(ids.begin(), ids.end());
  }

  /// @throws std::invalid_argument for an id outside [0, vocab).
  std::string decode(const std::vector<std::int32_t>& ids) const {
    constexpr const char* fn = "attnsel::SentencePieceTokenizer::decode";
    require_model(fn);
    for (std::size_t i = 0; i < ids.size(); ++i) check_id(ids[i], fn, i);
    std::string out;
    const auto status = sp_->Decode(std::vector<int>(ids.begin(), ids.end()), &out);
    if (!status.ok()) throw std::runtime_error(std::string(fn) + ": " + status.ToString());
    return out;
  }

  /// Writes the model as a `.model` file. @throws std::runtime_error when it cannot be written.
  void save(const std::string& path) const {
    require_model("attnsel::SentencePieceTokenizer::save");
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(serialized_.data(), std::streamsize(serialized_.size()));
    if (!out) throw std::runtime_error("attnsel::SentencePieceTokenizer::save: cannot write '" + path + "'");
  }

 private:
  void require_model(const char* fn) const { detail::require(sp_ != nullptr, fn, "the tokenizer holds no model"); }
  void check_id(std::int32_t id, const char* fn, std::size_t at) const {
    detail::require(id >= 0 && Index(id) < vocab_size(), fn, "argument 'ids' holds ", id, " at position ", at,
                    ", expected an id in [0, ", vocab_size(), ")");
  }

  std::shared_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::string serialized_;
};

/// Options of `train_sentencepiece`.
struct SentencePieceOptions {
  Index vocab_size = 4096;          ///< pieces in the model, special pieces included
  std::string model_type = "unigram";  ///< "unigram" or "bpe"
  Index max_piece_length = 16;      ///< bytes per piece at most
  Index threads = 1;                ///< trainer threads
};

namespace detail {
/// Feeds SentencePiece's trainer the lines of a text, one sentence per line, newlines kept.
class LineIterator : public sentencepiece::SentenceIterator {
 public:
  explicit LineIterator(const std::string& text) : text_(text) { next(); }
  bool done() const override { return done_; }
  void Next() override { next(); }
  const std::string& value() const override { return line_; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

 private:
  void next() {  // the next non-empty line, with its newline
    while (pos_ < text_.size()) {
      std::size_t end = text_.find('\n', pos_);
      if (end == std::string::npos) end = text_.size();
      line_ = text_.substr(pos_, end - pos_);
      pos_ = end + 1;
      if (!line_.empty()) {
        line_ += '\n';
        return;
      }
    }
    done_ = true;
  }
  const std::string& text_;
  std::size_t pos_ = 0;
  std::string line_;
  bool done_ = false;
};
}  // namespace detail

/// Trains a SentencePiece model on `text` (its lines are the sentences), deterministically: every
/// line is used (no sampling), no normalisation, spaces and newlines are kept as pieces, every
/// byte of the text is covered and bytes it lacks are spelled as byte pieces.
/// @throws std::invalid_argument for an empty text, a vocabulary smaller than the text's distinct
///         characters + 259 (the 256 byte pieces and 3 special pieces) or an unknown model type;
///         std::runtime_error when training fails.
inline SentencePieceTokenizer train_sentencepiece(const std::string& text, const SentencePieceOptions& o = {}) {
  constexpr const char* fn = "attnsel::train_sentencepiece";
  detail::require(!text.empty(), fn, "argument 'text' is empty");
  detail::require(o.vocab_size >= 260, fn, "option 'vocab_size' is ", o.vocab_size,
                  ", expected >= 260 (the 256 byte pieces and the special ones)");
  detail::require(o.model_type == "unigram" || o.model_type == "bpe", fn, "option 'model_type' is '", o.model_type,
                  "', expected 'unigram' or 'bpe'");
  detail::require(o.max_piece_length >= 1 && o.max_piece_length <= 64, fn, "option 'max_piece_length' is ",
                  o.max_piece_length, ", expected a value in [1, 64]");
  detail::require(o.threads >= 1 && o.threads <= 256, fn, "option 'threads' is ", o.threads, ", expected a value in [1, 256]");
  const std::string args = "--model_type=" + o.model_type + " --vocab_size=" + std::to_string(o.vocab_size) +
                           " --max_sentencepiece_length=" + std::to_string(o.max_piece_length) +
                           " --num_threads=" + std::to_string(o.threads) +
                           " --input_sentence_size=0 --max_sentence_length=1048576 --character_coverage=1.0"
                           " --byte_fallback=true --normalization_rule_name=identity --remove_extra_whitespaces=false"
                           " --split_digits=true"
                           " --hard_vocab_limit=false --minloglevel=2";
  // SentencePiece needs a piece for every character of the text besides the byte pieces and its
  // three special pieces (<unk>, <s>, </s>); a space counts as its meta symbol U+2581.
  std::vector<bool> seen;
  Index chars = 0;
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char b = static_cast<unsigned char>(text[i]);
    const std::size_t len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 1;
    std::uint32_t cp = len == 1 ? b : (b & (0x7Fu >> len));
    for (std::size_t k = 1; k < len && i + k < text.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3Fu);
    if (cp == ' ') cp = 0x2581;
    if (cp >= seen.size()) seen.resize(std::size_t(cp) + 1, false);
    if (!seen[cp]) {  // (every sentence ends in its newline, so '\n' counts too)
      seen[cp] = true;
      ++chars;
    }
    i += len;
  }
  detail::require(o.vocab_size >= chars + 259, fn, "option 'vocab_size' is ", o.vocab_size, ", expected at least ",
                  chars + 259, " for this text (its ", chars, " distinct characters, 256 byte pieces and 3 special pieces)");
  detail::LineIterator lines(text);
  std::string serialized;
  const int level = sentencepiece::logging::GetMinLogLevel();
  sentencepiece::logging::SetMinLogLevel(2);  // errors only (and those come back as a status)
  const auto status = sentencepiece::SentencePieceTrainer::Train(args, &lines, &serialized);
  sentencepiece::logging::SetMinLogLevel(level);
  if (!status.ok()) throw std::runtime_error(std::string(fn) + ": SentencePiece: " + status.ToString());
  return SentencePieceTokenizer::from_serialized(std::move(serialized));
}

ATTNSEL_NAMESPACE_END
