// The examples' text tokenizer: characters (attnsel::CharTokenizer) or SentencePiece subwords
// (attnsel::SentencePieceTokenizer, when the examples are built with libsentencepiece-dev), behind
// one small interface, and what a model file keeps of it (attnsel::SavedTokenizer).
#pragma once

#include <attnsel/attnsel.hpp>
#if ATTNSEL_EXAMPLES_SENTENCEPIECE
#include <attnsel/data/sentencepiece.hpp>
#endif

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace examples {

class TextCodec {
 public:
  /// Characters: the bytes of `corpus`.
  static TextCodec characters(const std::string& corpus) {
    TextCodec c;
    c.kind_ = "chars";
    c.chars_ = attnsel::CharTokenizer::from_corpus(corpus);
    return c;
  }
  /// Subwords: a SentencePiece `.model` file.
  static TextCodec sentencepiece_file(const std::string& path) {
#if ATTNSEL_EXAMPLES_SENTENCEPIECE
    TextCodec c;
    c.kind_ = "sentencepiece";
    c.pieces_ = attnsel::SentencePieceTokenizer::from_file(path);
    return c;
#else
    throw std::runtime_error("'" + path + "': this program was built without SentencePiece (libsentencepiece-dev)");
#endif
  }
  /// The tokenizer a model file holds; kind "" (none) gives an empty codec.
  static TextCodec from_saved(const attnsel::SavedTokenizer& saved) {
    TextCodec c;
    c.kind_ = saved.kind;
    if (saved.kind == "chars") {
      c.chars_ = attnsel::CharTokenizer::from_symbols(saved.data);
    } else if (saved.kind == "sentencepiece") {
#if ATTNSEL_EXAMPLES_SENTENCEPIECE
      c.pieces_ = attnsel::SentencePieceTokenizer::from_serialized(saved.data);
#else
      throw std::runtime_error("the model's tokenizer is SentencePiece, and this program was built without it "
                               "(libsentencepiece-dev)");
#endif
    }
    return c;
  }

  const std::string& kind() const noexcept { return kind_; }
  bool empty() const noexcept { return kind_.empty(); }
  attnsel::Index vocab_size() const {
#if ATTNSEL_EXAMPLES_SENTENCEPIECE
    if (kind_ == "sentencepiece") return pieces_.vocab_size();
#endif
    return kind_ == "chars" ? chars_.vocab_size() : 0;
  }
  std::vector<std::int32_t> encode(const std::string& text) const {
#if ATTNSEL_EXAMPLES_SENTENCEPIECE
    if (kind_ == "sentencepiece") return pieces_.encode(text);
#endif
    return chars_.encode(text);
  }
  std::string decode(const std::vector<std::int32_t>& ids) const {
#if ATTNSEL_EXAMPLES_SENTENCEPIECE
    if (kind_ == "sentencepiece") return pieces_.decode(ids);
#endif
    return chars_.decode(ids);
  }
  attnsel::SavedTokenizer saved() const {
#if ATTNSEL_EXAMPLES_SENTENCEPIECE
    if (kind_ == "sentencepiece") return pieces_.saved_tokenizer();
#endif
    return kind_ == "chars" ? attnsel::saved_tokenizer(chars_) : attnsel::SavedTokenizer{};
  }
  /// "characters" or "SentencePiece subwords", for reports.
  std::string describe() const {
    return kind_ == "chars" ? "characters" : kind_ == "sentencepiece" ? "SentencePiece subwords" : "none";
  }

 private:
  std::string kind_;
  attnsel::CharTokenizer chars_;
#if ATTNSEL_EXAMPLES_SENTENCEPIECE
  attnsel::SentencePieceTokenizer pieces_;
#endif
};

}  // namespace examples
