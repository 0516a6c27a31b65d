// train_tokenizer: trains a SentencePiece subword model on a text file (the training part of a
// corpus only) for train_lm --tokenizer, with attnsel::train_sentencepiece: every line used, no
// normalisation, spaces and newlines kept, bytes the text lacks spelled as byte pieces, so text
// round-trips exactly. Prints the vocabulary and the bytes per token on the file.
//
//   bash scripts/get_data.sh english
//   train_tokenizer --text ~/.cache/attnsel/english/train.txt --pieces 4096 --out english4096.model
//   train_tokenizer --help
#include <attnsel/attnsel.hpp>
#include <attnsel/data/sentencepiece.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <string>

#include "common/cli.hpp"

int main(int argc, char** argv) {
  CLI::App app{"Train a SentencePiece subword model on a text file (for train_lm --tokenizer)."};
  std::string text, out;
  attnsel::SentencePieceOptions o;
  app.add_option("--text", text, "the text to learn the pieces from (only the training part of a corpus)")->required();
  app.add_option("--out", out, "the model file to write (.model)")->required();
  app.add_option("--pieces", o.vocab_size, "vocabulary size, byte and special pieces included")->capture_default_str()
      ->check(CLI::Range(260, 1 << 20));
  app.add_option("--type", o.model_type, "unigram or bpe")->capture_default_str()->check(CLI::IsMember({"unigram", "bpe"}));
  app.add_option("--max-piece-length", o.max_piece_length, "bytes per piece at most")->capture_default_str()
      ->check(CLI::Range(1, 64));
  app.add_option("--threads", o.threads, "trainer threads")->capture_default_str()->check(CLI::Range(1, 256));
  if (const int status = examples::parse_command_line(app, argc, argv, "train_tokenizer"); status >= 0) return status;
  try {
    const std::string corpus = attnsel::read_text_file(text);
    const auto t0 = std::chrono::steady_clock::now();
    const attnsel::SentencePieceTokenizer t = attnsel::train_sentencepiece(corpus, o);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    t.save(out);
    const std::size_t tokens = t.encode(corpus).size();
    std::printf("%s: %lld pieces (%s), %.3f bytes per token on %s (%zu bytes), trained in %.1f s\n", out.c_str(),
                (long long)t.vocab_size(), o.model_type.c_str(), double(corpus.size()) / double(tokens), text.c_str(),
                corpus.size(), seconds);
  } catch (const std::exception& e) {
    return examples::report_failure("train_tokenizer", e);
  }
  return 0;
}
