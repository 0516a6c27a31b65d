// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file lm/checkpoint.hpp
/// The training checkpoint of `train_lm` (LMTrainOptions::checkpoint_path; docs/language-models.md
/// §2): everything a run needs to continue and end bit for bit where an uninterrupted run ends.
///
/// The file is little-endian binary:
///
///     magic        8 bytes "ATTNSCK" followed by a zero byte
///     version      u32 1
///     scalar       u32 bytes per stored value: 4 (float) or 8 (double)
///     fingerprint  u64 length + text: "key=value" lines naming the run (the model's configuration,
///                  the options that shape training, the batch seed and the caller's tag)
///     step         i64 updates applied
///     engines      u32 length + text of the batch engine; u64 count, then per dropout engine
///                  u32 length + text (std::mt19937_64's stream form)
///     adam         u64 update count; u64 tensor count, then per tensor: u32 name length, name,
///                  i64 rows, i64 cols, then rows·cols values, first moments, second moments
///     running      f64 sum and i64 count of the batch losses since the last curve point
///     result       u64 points × (i64 step, f64 train loss, f64 validation loss, f64 seconds,
///                  f64 validation accuracy); u64 losses × f64; i64 tokens; f64 seconds;
///                  f64 evaluation seconds
///
/// Reading checks every field before anything is applied, so a bad file leaves the model and the
/// optimizer as they were.

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../optim/adam.hpp"
#include "../random.hpp"
#include "serialize.hpp"
#include "transformer.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// One point of the learning curve.
struct LMCurvePoint {
  Index step = 0;
  double train_loss = 0;       ///< mean of the batch losses since the previous point
  double validation_loss = 0;
  double seconds = 0;
  /// Share of counted validation targets predicted (argmax), e.g. Variable Assignment's answers.
  double validation_accuracy = 0;
};

struct LMTrainResult {
  std::vector<LMCurvePoint> curve;
  /// Every step's batch loss.
  std::vector<double> losses;
  double seconds = 0;
  /// Of `seconds`, the time spent evaluating on the validation batches.
  double eval_seconds = 0;
  Index tokens = 0;  ///< input tokens processed
  /// Training throughput: tokens / (seconds − eval_seconds).
  double tokens_per_second = 0;
  /// The step a checkpoint let the run continue from (0: it ran from the start). `seconds`,
  /// `eval_seconds` and `tokens` count the steps before it too.
  Index resumed_from = 0;
};

namespace detail {
namespace lmck {

constexpr char magic[8] = {'A', 'T', 'T', 'N', 'S', 'C', 'K', '\0'};
constexpr std::uint32_t version = 1;

/// A double as text that reads back exactly.
inline std::string exact(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%a", v);
  return b;
}

inline std::string engine_text(const Rng& r) {
  std::ostringstream s;
  s << r;
  return s.str();
}

/// The state of a run between two steps, as read from or written to a checkpoint.
template <class T>
struct State {
  std::string fingerprint;
  Index step = 0;
  std::string batch_engine;
  std::vector<std::string> engines;
  std::uint64_t adam_iterations = 0;
  std::vector<std::string> names;
  std::vector<RowMatrix<T>> values, m, v;
  double since_sum = 0;
  Index since_n = 0;
  LMTrainResult result;
};

template <class T>
void write(const std::string& path, const State<T>& s) {
  namespace io = detail::lmio;
  io::write_atomically(path, "attnsel::train_lm (checkpoint)", [&](std::ofstream& out, io::Writer& w) {
    out.write(magic, 8);
    w.put<std::uint32_t>(version);
    w.put<std::uint32_t>(std::uint32_t(sizeof(T)));
    w.put<std::uint64_t>(s.fingerprint.size());
    w.bytes(s.fingerprint);
    w.put<std::int64_t>(std::int64_t(s.step));
    w.put<std::uint32_t>(std::uint32_t(s.batch_engine.size()));
    w.bytes(s.batch_engine);
    w.put<std::uint64_t>(s.engines.size());
    for (const std::string& e : s.engines) {
      w.put<std::uint32_t>(std::uint32_t(e.size()));
      w.bytes(e);
    }
    w.put<std::uint64_t>(s.adam_iterations);
    w.put<std::uint64_t>(s.names.size());
    for (std::size_t i = 0; i < s.names.size(); ++i) {
      w.put<std::uint32_t>(std::uint32_t(s.names[i].size()));
      w.bytes(s.names[i]);
      w.put<std::int64_t>(std::int64_t(s.values[i].rows()));
      w.put<std::int64_t>(std::int64_t(s.values[i].cols()));
      for (const RowMatrix<T>* t : {&s.values[i], &s.m[i], &s.v[i]})
        for (Index k = 0; k < t->size(); ++k) w.put<T>(t->data()[k]);
    }
    w.put<double>(s.since_sum);
    w.put<std::int64_t>(std::int64_t(s.since_n));
    w.put<std::uint64_t>(s.result.curve.size());
    for (const LMCurvePoint& c : s.result.curve) {
      w.put<std::int64_t>(std::int64_t(c.step));
      for (double d : {c.train_loss, c.validation_loss, c.seconds, c.validation_accuracy}) w.put<double>(d);
    }
    w.put<std::uint64_t>(s.result.losses.size());
    for (double d : s.result.losses) w.put<double>(d);
    w.put<std::int64_t>(std::int64_t(s.result.tokens));
    w.put<double>(s.result.seconds);
    w.put<double>(s.result.eval_seconds);
  });
}

/// Reads a checkpoint whose fingerprint, engines and tensors must match `expected` (the run asking
/// to continue): names, shapes, the engine count and `steps` (the run's length) bound the reads.
/// @throws std::invalid_argument naming `path` and the first field that differs when the file is
///         the checkpoint of another run; attnsel::parse_error for a truncated or corrupt file.
template <class T>
State<T> read(const std::string& path, const State<T>& expected, Index steps) {
  namespace io = detail::lmio;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw parse_error(path, 0, 0, "cannot open the checkpoint");
  io::Reader r(in, path);
  const std::string mg = r.bytes(8, "the magic number");
  if (std::memcmp(mg.data(), magic, 8) != 0) r.fail("not an attnsel training checkpoint (wrong magic number)");
  const std::uint32_t ver = r.get<std::uint32_t>("the version");
  if (ver != version) r.fail("checkpoint version " + std::to_string(ver) + ", this attnsel reads version 1");
  const std::uint32_t scalar = r.get<std::uint32_t>("the scalar size");
  if (scalar != sizeof(T))
    r.fail("a checkpoint of " + std::to_string(scalar) + "-byte values, this run trains " + std::to_string(sizeof(T)) +
           "-byte values");
  State<T> s;
  s.fingerprint = r.bytes(r.get<std::uint64_t>("the fingerprint's length"), "the fingerprint");
  if (s.fingerprint != expected.fingerprint) {
    // Name the first line that differs.
    std::istringstream a(s.fingerprint), b(expected.fingerprint);
    std::string la, lb;
    while (true) {
      const bool ga = bool(std::getline(a, la)), gb = bool(std::getline(b, lb));
      if (!ga) la = "(nothing)";
      if (!gb) lb = "(nothing)";
      if (la != lb || (!ga && !gb)) break;
    }
    throw std::invalid_argument("attnsel::train_lm: option 'checkpoint_path' names '" + path +
                                "', the checkpoint of another run: it has " + la + " where this run has " + lb);
  }
  s.step = Index(r.get<std::int64_t>("the step"));
  if (s.step < 0 || s.step > steps) r.fail("step " + std::to_string(s.step) + " of a " + std::to_string(steps) + "-step run");
  auto engine = [&](const char* what) {
    const std::uint32_t n = r.get<std::uint32_t>(what);
    if (n > 1u << 16) r.fail(std::string(what) + " claims " + std::to_string(n) + " bytes");
    const std::string text = r.bytes(n, what);
    Rng e;
    std::istringstream is(text);
    is >> e;
    if (!is) r.fail(std::string("unreadable ") + what);
    return text;
  };
  s.batch_engine = engine("the batch engine");
  const std::uint64_t ne = r.get<std::uint64_t>("the dropout engines' count");
  if (ne != expected.engines.size())
    r.fail(std::to_string(ne) + " dropout engines, the model has " + std::to_string(expected.engines.size()));
  for (std::uint64_t i = 0; i < ne; ++i) s.engines.push_back(engine("a dropout engine"));
  s.adam_iterations = r.get<std::uint64_t>("AdamW's update count");
  if (s.adam_iterations != std::uint64_t(s.step))
    r.fail("AdamW's update count " + std::to_string(s.adam_iterations) + " at step " + std::to_string(s.step));
  const std::uint64_t nt = r.get<std::uint64_t>("the tensor count");
  if (nt != expected.names.size())
    r.fail(std::to_string(nt) + " tensors, the model has " + std::to_string(expected.names.size()));
  for (std::size_t i = 0; i < expected.names.size(); ++i) {
    const std::string name = r.bytes(r.get<std::uint32_t>("a tensor name's length"), "a tensor name");
    if (name != expected.names[i]) r.fail("tensor '" + name + "' where the model has '" + expected.names[i] + "'");
    const Index rows = Index(r.get<std::int64_t>("a tensor's shape")), cols = Index(r.get<std::int64_t>("a tensor's shape"));
    if (rows != expected.values[i].rows() || cols != expected.values[i].cols())
      r.fail("tensor '" + name + "' is " + std::to_string(rows) + "x" + std::to_string(cols) + ", the model's is " +
             std::to_string(expected.values[i].rows()) + "x" + std::to_string(expected.values[i].cols()));
    s.names.push_back(name);
    for (auto* dst : {&s.values, &s.m, &s.v}) {
      RowMatrix<T> t(rows, cols);
      for (Index k = 0; k < t.size(); ++k) t.data()[k] = r.get<T>("tensor values");
      dst->push_back(std::move(t));
    }
  }
  s.since_sum = r.get<double>("the running loss sum");
  s.since_n = Index(r.get<std::int64_t>("the running loss count"));
  if (s.since_n < 0 || s.since_n > s.step) r.fail("a running loss count of " + std::to_string(s.since_n));
  const std::uint64_t np = r.get<std::uint64_t>("the curve's length");
  if (np > std::uint64_t(s.step)) r.fail(std::to_string(np) + " curve points after " + std::to_string(s.step) + " steps");
  for (std::uint64_t i = 0; i < np; ++i) {
    LMCurvePoint c;
    c.step = Index(r.get<std::int64_t>("a curve point"));
    c.train_loss = r.get<double>("a curve point");
    c.validation_loss = r.get<double>("a curve point");
    c.seconds = r.get<double>("a curve point");
    c.validation_accuracy = r.get<double>("a curve point");
    s.result.curve.push_back(c);
  }
  const std::uint64_t nl = r.get<std::uint64_t>("the losses' count");
  if (nl != std::uint64_t(s.step)) r.fail(std::to_string(nl) + " batch losses after " + std::to_string(s.step) + " steps");
  s.result.losses.resize(std::size_t(nl));
  for (double& d : s.result.losses) d = r.get<double>("the batch losses");
  s.result.tokens = Index(r.get<std::int64_t>("the token count"));
  s.result.seconds = r.get<double>("the seconds");
  s.result.eval_seconds = r.get<double>("the evaluation seconds");
  if (!r.at_end()) r.fail("unexpected bytes after the result");
  return s;
}

}  // namespace lmck
}  // namespace detail

ATTNSEL_NAMESPACE_END
