// Subword tokenizers through SentencePiece (issue #35): training in memory, exact round trips,
// the tokenizer saved with a model, and bad input.
#include <attnsel/attnsel.hpp>
#include <attnsel/data/sentencepiece.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <unistd.h>

#include "../catch_compat.hpp"

namespace {

/// A small English text with repeated words, so a few hundred pieces are worth learning.
std::string training_text() {
  const char* lines[] = {"The whale swam past the ship in the morning light.",
                         "Call me Ishmael; some years ago I went to sea.",
                         "The jury said the election was conducted fairly.",
                         "A fortune: you will meet a tall stranger on Tuesday.",
                         "Mr. President, the state of the union is strong."};
  std::string text;
  for (int r = 0; r < 40; ++r)
    for (const char* l : lines) text += std::string(l) + (r % 3 == 0 ? "  \n" : "\n");
  return text;
}

}  // namespace

TEST_CASE("SentencePiece: trained in memory, exact round trips, deterministic", "[data][sentencepiece]") {
  attnsel::SentencePieceOptions o;
  o.vocab_size = 420;
  const attnsel::SentencePieceTokenizer t = attnsel::train_sentencepiece(training_text(), o);
  CHECK(t.vocab_size() > 300);
  CHECK(t.vocab_size() <= 420);
  // Every byte survives: spaces (doubled too), newlines, blank lines, digits, bytes the training
  // text lacks (byte pieces).
  for (const std::string& s : {std::string("The whale  swam.\n\nCall me\n"), std::string("  leading, trailing  "),
                              std::string("1234 \xc3\xbc\xe2\x82\xac \t|"), std::string("\n"), std::string()}) {
    const std::vector<std::int32_t> ids = t.encode(s);
    for (std::int32_t id : ids) CHECK((id >= 0 && attnsel::Index(id) < t.vocab_size()));
    CHECK(t.decode(ids) == s);
  }
  // Subwords: pieces of more than one byte, so a sentence of the training text takes fewer pieces
  // than bytes.
  const std::string sample = "The whale swam past the ship.";
  CHECK(t.encode(sample).size() < sample.size());
  // The same text and options give the same model, byte for byte.
  CHECK(attnsel::train_sentencepiece(training_text(), o).serialized() == t.serialized());
  // Rebuilt from its serialized form (what a model file keeps), it encodes the same.
  const auto again = attnsel::SentencePieceTokenizer::from_serialized(t.serialized());
  CHECK(again.encode(sample) == t.encode(sample));
  CHECK(t.saved_tokenizer().kind == "sentencepiece");
  CHECK(t.saved_tokenizer().data == t.serialized());
}

TEST_CASE("SentencePiece: the tokenizer travels with the saved model", "[data][sentencepiece][lm][io]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("attnsel_spm_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  attnsel::SentencePieceOptions o;
  o.vocab_size = 400;
  o.model_type = "bpe";
  const attnsel::SentencePieceTokenizer t = attnsel::train_sentencepiece(training_text(), o);
  attnsel::TransformerConfig c;
  c.vocab = t.vocab_size();
  c.context = 8;
  c.layers = 1;
  c.heads = 2;
  c.width = 8;
  attnsel::TransformerLM<float> lm(c);
  const std::string path = (dir / "model.bin").string();
  attnsel::save_lm(lm, path, t.saved_tokenizer());
  const attnsel::LoadedLM<float> loaded = attnsel::load_lm<float>(path);
  REQUIRE(loaded.saved_tokenizer.kind == "sentencepiece");
  CHECK(loaded.tokenizer.vocab_size() == 0);  // not a character tokenizer
  const auto back = attnsel::SentencePieceTokenizer::from_serialized(loaded.saved_tokenizer.data);
  const std::string s = "Call me Ishmael.\n";
  CHECK(back.encode(s) == t.encode(s));
  CHECK(back.vocab_size() == loaded.model.config().vocab);
  // A model file round-trips through a .model file too.
  const std::string model_file = (dir / "pieces.model").string();
  t.save(model_file);
  CHECK(attnsel::SentencePieceTokenizer::from_file(model_file).serialized() == t.serialized());
  fs::remove_all(dir);
}

TEST_CASE("SentencePiece: bad input is refused with a message naming it", "[data][sentencepiece][errors]") {
  using attnsel_test::invalid_argument_message;
  using Catch::Matchers::Contains;
  attnsel::SentencePieceOptions o;
  CHECK_THAT(invalid_argument_message([&] { attnsel::train_sentencepiece("", o); }), Contains("argument 'text' is empty"));
  o.vocab_size = 100;
  CHECK_THAT(invalid_argument_message([&] { attnsel::train_sentencepiece("abc\n", o); }), Contains("'vocab_size' is 100"));
  o.vocab_size = 262;  // "ab c\n": a, b, the space's U+2581, c and the newline need 264
  CHECK_THAT(invalid_argument_message([&] { attnsel::train_sentencepiece("ab c\n", o); }),
             Contains("expected at least 264 for this text (its 5 distinct characters"));
  o.vocab_size = 420;
  o.model_type = "word";
  CHECK_THAT(invalid_argument_message([&] { attnsel::train_sentencepiece("abc\n", o); }), Contains("'model_type' is 'word'"));
  CHECK_THAT(invalid_argument_message([&] { attnsel::SentencePieceTokenizer::from_serialized("not a model"); }),
             Contains("is not a SentencePiece model"));
  CHECK_THROWS_AS(attnsel::SentencePieceTokenizer::from_file("/nonexistent/attnsel/pieces.model"), std::runtime_error);
  o.model_type = "unigram";
  const attnsel::SentencePieceTokenizer t = attnsel::train_sentencepiece(training_text(), o);
  CHECK_THAT(invalid_argument_message([&] { t.decode({0, std::int32_t(t.vocab_size())}); }),
             Contains("holds " + std::to_string(t.vocab_size()) + " at position 1"));
  CHECK_THAT(invalid_argument_message([&] { t.decode({-1}); }), Contains("holds -1 at position 0"));
  const attnsel::SentencePieceTokenizer empty;
  CHECK_THAT(invalid_argument_message([&] { empty.encode("x"); }), Contains("holds no model"));
}
