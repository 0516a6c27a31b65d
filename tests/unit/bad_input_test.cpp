// The bad-input battery (issue #8): one table of calls of every public entry point with wrong
// shapes, empty matrices, k = 0 / k > d, negative or NaN hyper-parameters, NaN / Inf in data,
// wrong label types, budgets < 2, block sizes 0, ... Every row must throw the documented
// exception family with a message naming the argument (and the bad value where the API reports
// it), and nothing may be written to std::cout / std::cerr / std::clog or to file descriptors 1
// and 2 while the call runs.
#include "../catch_compat.hpp"

#include <attnsel/attnsel.hpp>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tiny_lm.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#define ATTNSEL_BAD_INPUT_FD_CAPTURE 1
#else
#define ATTNSEL_BAD_INPUT_FD_CAPTURE 0
#endif

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define ATTNSEL_BAD_INPUT_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(ATTNSEL_BAD_INPUT_SANITIZED)
#define ATTNSEL_BAD_INPUT_SANITIZED 1
#endif
#if defined(ATTNSEL_BAD_INPUT_SANITIZED) && ATTNSEL_BAD_INPUT_FD_CAPTURE && __has_include(<sanitizer/common_interface_defs.h>)
#include <sanitizer/common_interface_defs.h>
#define ATTNSEL_BAD_INPUT_KEEP_REPORTS 1
#else
#define ATTNSEL_BAD_INPUT_KEEP_REPORTS 0
#endif

using namespace attnsel;

namespace {

/// A tiny LM configuration for the rows that need a model (vocabulary 5, context 8, width 8).
attnsel::TransformerConfig tiny_lm_config(attnsel::Index layers) {
  return lm_config(5, 8, layers, 2, 8);
}

using M = RowMatrix<double>;
using V = Vector<double>;
using BoolMask = Eigen::Matrix<bool, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr double nan_d = std::numeric_limits<double>::quiet_NaN();
constexpr double inf_d = std::numeric_limits<double>::infinity();

/// The exception family a row expects.
enum class Expect {
  invalid_argument,  ///< std::invalid_argument
  parse_error,       ///< attnsel::parse_error (a std::runtime_error)
  runtime_error,     ///< std::runtime_error other than parse_error
};

/// What a call did.
enum class Outcome { invalid_argument, parse_error, runtime_error, other_exception, unknown_exception, returned };

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::invalid_argument: return "std::invalid_argument";
    case Outcome::parse_error: return "attnsel::parse_error";
    case Outcome::runtime_error: return "std::runtime_error";
    case Outcome::other_exception: return "another std::exception";
    case Outcome::unknown_exception: return "a non-standard exception";
    case Outcome::returned: return "no exception";
  }
  return "?";
}

Outcome expected_outcome(Expect e) {
  switch (e) {
    case Expect::invalid_argument: return Outcome::invalid_argument;
    case Expect::parse_error: return Outcome::parse_error;
    case Expect::runtime_error: return Outcome::runtime_error;
  }
  return Outcome::returned;
}

struct Case {
  const char* name;
  std::function<void()> call;
  Expect expect;
  std::vector<std::string> must_contain;
};

/// Redirects the standard streams (and, on POSIX, file descriptors 1 and 2) for its lifetime and
/// reports what was written. Under ASan / UBSan their reports go to a copy of the original
/// standard error, so a sanitizer finding inside a captured call is still shown.
class OutputCapture {
 public:
  OutputCapture() {
#if ATTNSEL_BAD_INPUT_KEEP_REPORTS
    static const bool reports_kept = [] {
      const int fd = dup(2);
      if (fd >= 0) __sanitizer_set_report_fd(reinterpret_cast<void*>(static_cast<std::uintptr_t>(fd)));
      return fd >= 0;
    }();
    (void)reports_kept;
#endif
    std::cout.flush();
    std::cerr.flush();
    std::clog.flush();
    std::fflush(stdout);
    std::fflush(stderr);
    cout_ = std::cout.rdbuf(out_.rdbuf());
    cerr_ = std::cerr.rdbuf(out_.rdbuf());
    clog_ = std::clog.rdbuf(out_.rdbuf());
#if ATTNSEL_BAD_INPUT_FD_CAPTURE
    file_ = std::tmpfile();
    if (file_) {
      saved_[0] = dup(1);
      saved_[1] = dup(2);
      dup2(fileno(file_), 1);
      dup2(fileno(file_), 2);
    }
#endif
  }
  ~OutputCapture() { finish(); }
  OutputCapture(const OutputCapture&) = delete;
  OutputCapture& operator=(const OutputCapture&) = delete;

  /// Restores the streams; returns everything written while captured.
  std::string finish() {
    if (done_) return text_;
    done_ = true;
    std::cout.flush();
    std::cerr.flush();
    std::clog.flush();
    std::cout.rdbuf(cout_);
    std::cerr.rdbuf(cerr_);
    std::clog.rdbuf(clog_);
    text_ = out_.str();
#if ATTNSEL_BAD_INPUT_FD_CAPTURE
    if (file_) {
      std::fflush(stdout);
      std::fflush(stderr);
      dup2(saved_[0], 1);
      dup2(saved_[1], 2);
      close(saved_[0]);
      close(saved_[1]);
      std::rewind(file_);
      char buf[256];
      std::size_t n = 0;
      while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0) text_.append(buf, n);
      std::fclose(file_);
      file_ = nullptr;
    }
#endif
    return text_;
  }

 private:
  std::ostringstream out_;
  std::streambuf* cout_ = nullptr;
  std::streambuf* cerr_ = nullptr;
  std::streambuf* clog_ = nullptr;
#if ATTNSEL_BAD_INPUT_FD_CAPTURE
  std::FILE* file_ = nullptr;
  int saved_[2] = {-1, -1};
#endif
  bool done_ = false;
  std::string text_;
};

struct Result {
  Outcome outcome = Outcome::returned;
  std::string message;
  std::string output;
};

Result run(const Case& c) {
  Result r;
  OutputCapture capture;
  try {
    c.call();
  } catch (const parse_error& e) {
    r.outcome = Outcome::parse_error;
    r.message = e.what();
  } catch (const std::invalid_argument& e) {
    r.outcome = Outcome::invalid_argument;
    r.message = e.what();
  } catch (const std::runtime_error& e) {
    r.outcome = Outcome::runtime_error;
    r.message = e.what();
  } catch (const std::exception& e) {
    r.outcome = Outcome::other_exception;
    r.message = e.what();
  } catch (...) {
    r.outcome = Outcome::unknown_exception;
  }
  r.output = capture.finish();
  return r;
}

// ---- fixtures ----

/// n x d features (no two columns alike) and class ids 0/1.
Dataset<double> small_data(Index n = 24, Index d = 4) {
  Dataset<double> ds;
  ds.X.resize(n, d);
  ds.y.resize(n);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < d; ++j) ds.X(i, j) = std::sin(1.3 * double(i) + 0.7 * double(j)) + double(j);
    ds.y(i) = double(i % 2);
  }
  for (Index j = 0; j < d; ++j) ds.feature_names.push_back("f" + std::to_string(j));
  ds.classes = {"a", "b"};
  ds.task = Task::classification;
  return ds;
}

/// A Sequential Attention configuration that trains in milliseconds.
SequentialAttentionOptions<double> quick(Index k = 2) {
  SequentialAttentionOptions<double> o;
  o.k = k;
  o.hidden = {4};
  o.epochs = 1;
  o.batch_size = 8;
  return o;
}

Dataset<double> csv(const std::string& text, const CsvOptions& opt = {}) {
  std::istringstream in(text);
  return read_csv<double>(in, opt, "t.csv");
}

CsvOptions label(const std::string& name) {
  CsvOptions o;
  o.label = name;
  return o;
}

std::vector<unsigned char> idx_bytes(unsigned char type, const std::vector<std::uint32_t>& dims,
                                     const std::vector<unsigned char>& payload) {
  std::vector<unsigned char> b{0, 0, type, static_cast<unsigned char>(dims.size())};
  for (std::uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>((d >> s) & 0xffu));
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

/// Small IDX files (good and broken) in a private temporary folder, removed at the end.
struct IdxFiles {
  std::filesystem::path dir;
  std::string missing, truncated, bad_magic, bad_type, too_short, nan_value, images, labels3, labels2d,
      labels_negative;

  IdxFiles() {
    std::ostringstream name;
    name << "attnsel_bad_input_" << std::chrono::steady_clock::now().time_since_epoch().count();
    dir = std::filesystem::temp_directory_path() / name.str();
    std::filesystem::create_directories(dir);
    missing = (dir / "does_not_exist.idx").string();
    truncated = write("truncated.idx", idx_bytes(0x08, {10}, {1, 2, 3, 4, 5}));
    bad_magic = write("bad_magic.idx", {1, 0, 0x08, 1, 0, 0, 0, 1, 5});
    bad_type = write("bad_type.idx", {0, 0, 0x07, 1, 0, 0, 0, 1, 5});
    too_short = write("short.idx", {0, 0});
    nan_value = write("nan.idx", idx_bytes(0x0D, {1}, {0x7f, 0xc0, 0x00, 0x00}));
    images = write("images.idx", idx_bytes(0x08, {2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 7}));
    labels3 = write("labels3.idx", idx_bytes(0x08, {3}, {0, 1, 2}));
    labels2d = write("labels2d.idx", idx_bytes(0x08, {2, 1}, {0, 1}));
    labels_negative = write("labels_negative.idx", idx_bytes(0x09, {2}, {0xff, 0x01}));
  }
  ~IdxFiles() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  IdxFiles(const IdxFiles&) = delete;
  IdxFiles& operator=(const IdxFiles&) = delete;

 private:
  std::string write(const char* file, const std::vector<unsigned char>& bytes) {
    const std::string path = (dir / file).string();
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return path;
  }
};

struct Fixture {
  Dataset<double> data = small_data();
  M X = data.X;
  V y = data.y;
  IdxFiles idx;
};

// ---- the table ----

std::vector<Case> data_cases(Fixture& f) {
  return {
      // CSV: malformed rows and cells are parse_errors with file:line:column.
      {"csv: ragged row", [] { csv("a,b,label\n1,2,0\n3,0\n"); }, Expect::parse_error,
       {"t.csv:3:", "2 fields", "expected 3"}},
      {"csv: non-numeric feature cell", [] { csv("a,b,label\n1,x,0\n"); }, Expect::parse_error,
       {"t.csv:2:2", "'b'", "'x'"}},
      {"csv: NaN cell without imputation", [] { csv("a,b,label\n1,NaN,0\n"); }, Expect::parse_error,
       {"t.csv:2:2", "'b'", "NaN", "impute_mean"}},
      {"csv: infinite cell", [] { csv("a,b,label\n1,inf,0\n2,3,1\n"); }, Expect::parse_error,
       {"t.csv:2:2", "'b'", "inf"}},
      {"csv: unknown label column", [] { csv("a,b\n1,2\n", label("type")); }, Expect::invalid_argument,
       {"'label'", "'type'", "columns: a, b"}},
      {"csv: label_index out of range",
       [] {
         CsvOptions o;
         o.label_index = 7;
         csv("a,b\n1,2\n", o);
       },
       Expect::invalid_argument, {"'label_index'", "7"}},
      {"csv: drop names a missing column",
       [] {
         CsvOptions o;
         o.drop = {"zzz"};
         csv("a,b\n1,2\n", o);
       },
       Expect::invalid_argument, {"'drop'", "'zzz'"}},
      {"csv: label column also dropped",
       [] {
         CsvOptions o = label("b");
         o.drop = {"b"};
         csv("a,b\n1,2\n", o);
       },
       Expect::invalid_argument, {"label column 'b'", "dropped"}},
      {"csv: header only", [] { csv("a,b,label\n"); }, Expect::parse_error, {"t.csv", "no data rows"}},
      {"csv: empty input", [] { csv(""); }, Expect::parse_error, {"t.csv", "no header row"}},
      {"csv: unterminated quote", [] { csv("a,b\n1,\"2\n"); }, Expect::parse_error, {"t.csv:2:2", "unterminated"}},
      {"csv: regression target not a number",
       [] {
         CsvOptions o;
         o.task = Task::regression;
         csv("a,y\n1,2\n3,abc\n", o);
       },
       Expect::parse_error, {"t.csv:3:2", "'y'", "'abc'"}},
      {"csv: missing label", [] { csv("a,label\n1,NA\n"); }, Expect::parse_error, {"t.csv:2:2", "'label'", "NA"}},
      {"csv: nothing to impute from",
       [] {
         CsvOptions o;
         o.impute_mean = true;
         csv("a,b,label\n1,?,0\n2,?,1\n", o);
       },
       Expect::parse_error, {"'b'", "impute"}},
      {"csv: file that does not exist",
       [&f] { read_csv<double>((f.idx.dir / "nope.csv").string()); }, Expect::parse_error,
       {"nope.csv", "cannot open"}},
      // IDX readers.
      {"idx: missing file", [&f] { read_idx(f.idx.missing); }, Expect::parse_error,
       {"does_not_exist.idx", "cannot open"}},
      {"idx: truncated file", [&f] { read_idx(f.idx.truncated); }, Expect::parse_error,
       {"truncated.idx", "announces 10 values", "has 13 bytes"}},
      {"idx: bad magic number", [&f] { read_idx(f.idx.bad_magic); }, Expect::parse_error,
       {"bad_magic.idx", "not an IDX file"}},
      {"idx: unknown type code", [&f] { read_idx(f.idx.bad_type); }, Expect::parse_error,
       {"bad_type.idx", "type code 7"}},
      {"idx: shorter than a header", [&f] { read_idx(f.idx.too_short); }, Expect::parse_error,
       {"short.idx", "2 bytes"}},
      {"idx: NaN value", [&f] { read_idx_matrix<double>(f.idx.nan_value); }, Expect::parse_error,
       {"nan.idx", "value 0", "not finite"}},
      {"idx: NaN scale", [&f] { read_idx_matrix<double>(f.idx.images, nan_d); }, Expect::invalid_argument,
       {"idx_matrix", "'scale'", "nan"}},
      {"idx: dataset with NaN scale", [&f] { read_idx_dataset<double>(f.idx.images, f.idx.labels3, inf_d); },
       Expect::invalid_argument, {"idx_matrix", "'scale'", "inf"}},
      {"idx: label count differs from image count",
       [&f] { read_idx_dataset<double>(f.idx.images, f.idx.labels3); }, Expect::parse_error,
       {"labels3.idx", "3 labels for 2 images"}},
      {"idx: 2-D label file", [&f] { read_idx_dataset<double>(f.idx.images, f.idx.labels2d); },
       Expect::parse_error, {"labels2d.idx", "has 2"}},
      {"idx: negative label", [&f] { read_idx_dataset<double>(f.idx.images, f.idx.labels_negative); },
       Expect::parse_error, {"labels_negative.idx", "label -1"}},
      // Splits.
      {"split: test_fraction 1", [&f] { stratified_split(f.data, 1.0, 1); }, Expect::invalid_argument,
       {"'test_fraction'", "is 1"}},
      {"split: test_fraction NaN", [&f] { stratified_split(f.data, nan_d, 1); }, Expect::invalid_argument,
       {"'test_fraction'", "nan"}},
      {"split: negative validation_fraction", [&f] { stratified_split(f.data, -0.1, 0.2, 1); },
       Expect::invalid_argument, {"'validation_fraction'", "-0.1"}},
      {"split: fractions add up to 1.1", [&f] { stratified_split(f.data, 0.6, 0.5, 1); }, Expect::invalid_argument,
       {"validation_fraction + test_fraction", "1.1"}},
      {"split: empty data set", [] { stratified_split(Dataset<double>{}, 0.25, 1); }, Expect::invalid_argument,
       {"'data'", "no rows"}},
      {"split: NaN class id",
       [&f] {
         Dataset<double> d = f.data;
         d.y(5) = nan_d;
         stratified_split(d, 0.25, 1);
       },
       Expect::invalid_argument, {"'data'", "nan", "row 5"}},
      {"split: non-integer class id",
       [&f] {
         Dataset<double> d = f.data;
         d.y(3) = 1.5;
         stratified_split(d, 0.25, 0.25, 1);
       },
       Expect::invalid_argument, {"'data'", "1.5", "row 3"}},
      {"split: y shorter than X",
       [&f] {
         Dataset<double> d = f.data;
         d.y.conservativeResize(20);
         stratified_split(d, 0.25, 1);
       },
       Expect::invalid_argument, {"'data'", "24 rows", "20"}},
      {"dataset: subset row out of range", [&f] { f.data.subset({0, 25}); }, Expect::invalid_argument,
       {"'rows'", "25"}},
      {"dataset: select_features column -1", [&f] { f.data.select_features({-1}); }, Expect::invalid_argument,
       {"'columns'", "-1"}},
      // Scaling and one-hot.
      {"standardizer: fit on no rows", [] { Standardizer<double>().fit(M(0, 3)); }, Expect::invalid_argument,
       {"'X'", "no rows"}},
      {"standardizer: fit on NaN",
       [&f] {
         M X = f.X;
         X(2, 1) = nan_d;
         Standardizer<double>().fit(X);
       },
       Expect::invalid_argument, {"'X'", "NaN"}},
      {"standardizer: transform with the wrong width",
       [&f] {
         Standardizer<double> s;
         s.fit(f.X);
         s.transform(M::Zero(2, 3));
       },
       Expect::invalid_argument, {"'X'", "3 columns", "fitted on 4"}},
      {"standardizer: transform before fit", [&f] { Standardizer<double>().transform(f.X); },
       Expect::invalid_argument, {"Standardizer::transform", "call fit first"}},
      {"standardizer: NaN min_std", [] { Standardizer<double> s(nan_d); }, Expect::invalid_argument,
       {"'min_std'", "nan"}},
      {"min-max scaler: fit on inf",
       [&f] {
         M X = f.X;
         X(0, 0) = inf_d;
         MinMaxScaler<double>().fit(X);
       },
       Expect::invalid_argument, {"'X'", "inf"}},
      {"min-max scaler: transform with the wrong width",
       [&f] {
         MinMaxScaler<double> s;
         s.fit(f.X);
         s.transform(M::Zero(1, 5));
       },
       Expect::invalid_argument, {"'X'", "5 columns"}},
      {"one_hot: classes 0", [&f] { one_hot(f.y, 0); }, Expect::invalid_argument, {"'classes'", "0"}},
      {"one_hot: NaN label",
       [] {
         V y(3);
         y << 0, nan_d, 1;
         one_hot(y, 2);
       },
       Expect::invalid_argument, {"'y'", "nan", "index 1"}},
      {"one_hot: fractional label",
       [] {
         V y(2);
         y << 0, 0.5;
         one_hot(y, 2);
       },
       Expect::invalid_argument, {"'y'", "0.5"}},
  };
}

std::vector<Case> nn_cases(Fixture& f) {
  return {
      {"dense: input of the wrong width",
       [] {
         Rng rng(1);
         Dense<double> d(3, 2, rng);
         M Y;
         d.forward(M::Zero(4, 5), Y, true);
       },
       Expect::invalid_argument, {"Dense::forward", "'X'", "5 columns", "expected 3"}},
      {"dense: out = 0",
       [] {
         Rng rng(1);
         Dense<double> d(3, 0, rng);
       },
       Expect::invalid_argument, {"'out'", "0"}},
      {"dense: weight mask with NaN",
       [] {
         Rng rng(1);
         Dense<double> d(2, 2, rng);
         M m = M::Ones(2, 2);
         m(1, 0) = nan_d;
         d.set_weight_mask(m);
       },
       Expect::invalid_argument, {"'M'", "NaN"}},
      {"dense: weight mask of the wrong shape",
       [] {
         Rng rng(1);
         Dense<double> d(3, 2, rng);
         d.set_weight_mask(M::Ones(2, 2));
       },
       Expect::invalid_argument, {"'M'", "2x2", "3x2"}},
      {"dense: backward with the wrong output gradient",
       [] {
         Rng rng(1);
         Dense<double> d(3, 2, rng);
         M X = M::Ones(4, 3), Y;
         d.forward(X, Y, true);
         d.backward(X, Y, M::Zero(3, 2), nullptr);
       },
       Expect::invalid_argument, {"'dY'", "3x2", "4x2"}},
      {"relu: size 0", [] { ReLU<double> r(0); }, Expect::invalid_argument, {"'size'", "0"}},
      {"leaky relu: NaN alpha", [] { LeakyReLU<double> r(3, nan_d); }, Expect::invalid_argument, {"'alpha'", "nan"}},
      {"leaky relu: input of the wrong width",
       [] {
         LeakyReLU<double> r(3, 0.1);
         M Y;
         r.forward(M::Zero(2, 4), Y, true);
       },
       Expect::invalid_argument, {"'X'", "4 columns", "expected 3"}},
      {"batch norm: epsilon 0", [] { BatchNorm<double> b(3, {0.99, 0.0}); }, Expect::invalid_argument,
       {"'epsilon'", "0"}},
      {"batch norm: NaN momentum", [] { BatchNorm<double> b(3, {nan_d, 1e-3}); }, Expect::invalid_argument,
       {"'momentum'", "nan"}},
      {"feature scale: inf scale",
       [] {
         FeatureScale<double> s(3);
         M a = M::Ones(1, 3);
         a(0, 2) = inf_d;
         s.set_scale(a);
       },
       Expect::invalid_argument, {"'a'", "inf", "index 2"}},
      {"make_mlp: inputs 0", [] { make_mlp<double>(0, 2); }, Expect::invalid_argument, {"'inputs'", "0"}},
      {"make_mlp: hidden width 0", [] { make_mlp<double>(3, 2, MLPOptions{{4, 0}}); }, Expect::invalid_argument,
       {"'hidden'", "holds 0"}},
      {"sequential: predict with the wrong width",
       [] {
         auto m = make_mlp<double>(4, 2, MLPOptions{{3}});
         m.predict(M::Zero(2, 5));
       },
       Expect::invalid_argument, {"'X'", "5 columns", "expected 4"}},
      {"sequential: predict with batch 0",
       [&f] {
         auto m = make_mlp<double>(4, 2, MLPOptions{{3}});
         m.predict(f.X, 0);
       },
       Expect::invalid_argument, {"'batch'", "0"}},
      {"sequential: add a null layer",
       [] {
         Sequential<double> s;
         s.add(nullptr);
       },
       Expect::invalid_argument, {"'layer'", "null"}},
      {"loss: NaN class id",
       [] {
         M y(2, 1);
         y << 0, nan_d;
         SoftmaxCrossEntropy<double>{}.value(M::Zero(2, 3), y);
       },
       Expect::invalid_argument, {"'target'", "nan", "row 1"}},
      {"loss: huge class id",
       [] {
         M y(1, 1);
         y << 1e300;
         M g;
         SoftmaxCrossEntropy<double>{}.value_and_grad(M::Zero(1, 3), y, g);
       },
       Expect::invalid_argument, {"'target'", "1e+300"}},
      {"loss: MSE target of the wrong shape", [] { MeanSquaredError<double>{}.value(M::Zero(2, 3), M::Zero(3, 3)); },
       Expect::invalid_argument, {"'target'", "3x3", "2x3"}},
      {"loss: binary logistic with two logit columns",
       [] { BinaryLogistic<double>{}.value(M::Zero(2, 2), M::Zero(2, 1)); }, Expect::invalid_argument,
       {"'out'", "2 columns", "expected 1"}},
      // Optimizers.
      {"adam: negative learning rate", [] { Adam<double> a({-1.0}); }, Expect::invalid_argument,
       {"learning rate", "-1"}},
      {"adam: NaN learning rate", [] { Adam<double> a({nan_d}); }, Expect::invalid_argument,
       {"learning rate", "nan"}},
      {"adam: NaN beta1", [] { Adam<double> a({1e-3, nan_d}); }, Expect::invalid_argument, {"'beta1'", "nan"}},
      {"adam: beta2 = 1", [] { Adam<double> a({1e-3, 0.9, 1.0}); }, Expect::invalid_argument, {"'beta2'", "1"}},
      {"adam: epsilon 0", [] { Adam<double> a({1e-3, 0.9, 0.999, 0.0}); }, Expect::invalid_argument,
       {"'epsilon'", "0"}},
      {"adam: infinite weight decay", [] { Adam<double> a({1e-3, 0.9, 0.999, 1e-7, inf_d}); },
       Expect::invalid_argument, {"'weight_decay'", "inf"}},
      {"adam: NaN l2", [] { Adam<double> a({1e-3, 0.9, 0.999, 1e-7, 0.0, nan_d}); }, Expect::invalid_argument,
       {"'l2'", "nan"}},
      {"sgd: NaN momentum", [] { SGD<double> s({0.1, nan_d}); }, Expect::invalid_argument, {"'momentum'", "nan"}},
      {"sgd: negative weight decay", [] { SGD<double> s({0.1, 0.0, false, -1.0}); }, Expect::invalid_argument,
       {"'weight_decay'", "-1"}},
      {"sgd: infinite learning rate", [] { SGD<double> s({inf_d}); }, Expect::invalid_argument,
       {"learning rate", "inf"}},
      {"optimizer: NaN lr_scale",
       [] {
         Parameter<double> p("w", 2, 2);
         Adam<double> a;
         a.add_parameters({&p}, GroupOptions<double>{nan_d, {}, {}});
       },
       Expect::invalid_argument, {"'lr_scale'", "nan"}},
      {"optimizer: null parameter",
       [] {
         SGD<double> s;
         s.add_parameters({nullptr});
       },
       Expect::invalid_argument, {"'params'", "null"}},
      {"optimizer: a parameter listed twice registers nothing",
       [] {
         Parameter<double> p("w", 2, 2), q("v", 1, 3);
         Adam<double> a;
         try {
           a.add_parameters({&q, &p, &p});
         } catch (const std::invalid_argument&) {
         }
         if (a.parameter_count() != 0 || a.group_count() != 0) throw std::logic_error("half-registered group");
         a.step();  // must not touch a group that was never added
         a.add_parameters({&q, &p, &p});
       },
       Expect::invalid_argument, {"'w'", "registered twice", "positions 1 and 2"}},
      {"optimizer: gradient of the wrong shape",
       [] {
         Parameter<double> p("w", 3, 3);
         Adam<double> a;
         a.add_parameters({&p});
         p.grad = M::Zero(2, 2);
         a.step();
       },
       Expect::invalid_argument, {"'w'", "2x2", "3x3"}},
      {"early stop: patience 0", [] { EarlyStop e(0); }, Expect::invalid_argument, {"'patience'", "0"}},
      {"early stop: NaN min_delta", [] { EarlyStop e(3, nan_d); }, Expect::invalid_argument,
       {"'min_delta'", "nan"}},
      // Trainer.
      {"fit: NaN in X",
       [&f] {
         auto m = make_mlp<double>(4, 2, MLPOptions{{3}});
         Adam<double> a;
         M X = f.X;
         X(3, 2) = nan_d;
         fit(m, SoftmaxCrossEntropy<double>{}, a, X, f.data.targets(), TrainOptions<double>{});
       },
       Expect::invalid_argument, {"'X'", "nan", "(3, 2)"}},
      {"fit: Y rows differ from X rows",
       [&f] {
         auto m = make_mlp<double>(4, 2, MLPOptions{{3}});
         Adam<double> a;
         fit(m, SoftmaxCrossEntropy<double>{}, a, f.X, M(M::Zero(19, 1)), TrainOptions<double>{});
       },
       Expect::invalid_argument, {"'Y'", "19 rows", "expected 24"}},
      {"fit: negative epochs",
       [&f] {
         auto m = make_mlp<double>(4, 2, MLPOptions{{3}});
         Adam<double> a;
         TrainOptions<double> t;
         t.epochs = -1;
         fit(m, SoftmaxCrossEntropy<double>{}, a, f.X, f.data.targets(), t);
       },
       Expect::invalid_argument, {"'epochs'", "-1"}},
      {"fit: batch_size 0",
       [&f] {
         auto m = make_mlp<double>(4, 2, MLPOptions{{3}});
         Adam<double> a;
         TrainOptions<double> t;
         t.batch_size = 0;
         fit(m, SoftmaxCrossEntropy<double>{}, a, f.X, f.data.targets(), t);
       },
       Expect::invalid_argument, {"'batch_size'", "0"}},
      {"fit: schedule gives a NaN learning rate",
       [&f] {
         auto m = make_mlp<double>(4, 2, MLPOptions{{3}});
         Adam<double> a;
         TrainOptions<double> t;
         t.epochs = 1;
         t.learning_rate = CosineLR<double>{nan_d};
         fit(m, SoftmaxCrossEntropy<double>{}, a, f.X, f.data.targets(), t);
       },
       Expect::invalid_argument, {"learning rate", "nan"}},
      {"fit: training diverges",
       [&f] {
         auto m = make_mlp<double>(4, 1, MLPOptions{{3}});
         SGD<double> s;
         TrainOptions<double> t;
         t.epochs = 1;
         fit(m, MeanSquaredError<double>{}, s, f.X, M(M::Constant(f.X.rows(), 1, 1e300)), t);
       },
       Expect::runtime_error, {"training loss", "inf", "diverged"}},
  };
}

std::vector<Case> selection_cases(Fixture& f) {
  return {
      {"sa: k = 0", [&f] { SequentialAttentionSelector<double>(quick(0)).fit(f.X, f.y); }, Expect::invalid_argument,
       {"'k' is 0", "[1, 4]"}},
      {"sa: k > d", [&f] { SequentialAttentionSelector<double>(quick(5)).fit(f.X, f.y); }, Expect::invalid_argument,
       {"'k' is 5", "[1, 4]"}},
      {"sa: X and y rows differ",
       [&f] { SequentialAttentionSelector<double>(quick()).fit(f.X, V(f.y.head(20))); }, Expect::invalid_argument,
       {"'y'", "20 values", "expected 24"}},
      {"sa: y is a matrix",
       [&f] { SequentialAttentionSelector<double>(quick()).fit(f.X, M(M::Zero(24, 2))); }, Expect::invalid_argument,
       {"'y'", "vector", "24x2"}},
      {"sa: empty X", [] { SequentialAttentionSelector<double>(quick()).fit(M(0, 4), V(0)); },
       Expect::invalid_argument, {"'X'", "0x4"}},
      {"sa: NaN in X",
       [&f] {
         M X = f.X;
         X(3, 1) = nan_d;
         SequentialAttentionSelector<double>(quick()).fit(X, f.y);
       },
       Expect::invalid_argument, {"'X'", "nan", "(3, 1)"}},
      {"sa: fractional class id",
       [&f] {
         V y = f.y;
         y(4) = 0.5;
         SequentialAttentionSelector<double>(quick()).fit(f.X, y);
       },
       Expect::invalid_argument, {"'y'", "0.5", "index 4"}},
      {"sa: negative class id",
       [&f] {
         V y = f.y;
         y(2) = -1;
         SequentialAttentionSelector<double>(quick()).fit(f.X, y);
       },
       Expect::invalid_argument, {"'y'", "-1", "index 2"}},
      {"sa: NaN class id",
       [&f] {
         V y = f.y;
         y(7) = nan_d;
         SequentialAttentionSelector<double>(quick()).fit(f.X, y);
       },
       Expect::invalid_argument, {"'y'", "nan", "index 7"}},
      {"sa: NaN regression target",
       [&f] {
         auto o = quick();
         o.task = Task::regression;
         V y = f.y;
         y(6) = nan_d;
         SequentialAttentionSelector<double>(o).fit(f.X, y);
       },
       Expect::invalid_argument, {"'y'", "nan", "index 6"}},
      {"sa: a single class", [&f] { SequentialAttentionSelector<double>(quick()).fit(f.X, V(V::Zero(24))); },
       Expect::invalid_argument, {"'y'", "single class"}},
      {"sa: NaN learning rate",
       [&f] {
         auto o = quick();
         o.learning_rate = nan_d;
         SequentialAttentionSelector<double>(o).fit(f.X, f.y);
       },
       Expect::invalid_argument, {"'learning_rate'", "nan"}},
      {"sa: decay_rate 0",
       [&f] {
         auto o = quick();
         o.decay_rate = 0;
         SequentialAttentionSelector<double>(o).fit(f.X, f.y);
       },
       Expect::invalid_argument, {"'decay_rate'", "0"}},
      {"sa: negative l2",
       [&f] {
         auto o = quick();
         o.l2 = -1;
         SequentialAttentionSelector<double>(o).fit(f.X, f.y);
       },
       Expect::invalid_argument, {"'l2'", "-1"}},
      {"sa: epochs 0",
       [&f] {
         auto o = quick();
         o.epochs = 0;
         SequentialAttentionSelector<double>(o).fit(f.X, f.y);
       },
       Expect::invalid_argument, {"'epochs'", "0"}},
      {"sa: batch_size 0",
       [&f] {
         auto o = quick();
         o.batch_size = 0;
         SequentialAttentionSelector<double>(o).fit(f.X, f.y);
       },
       Expect::invalid_argument, {"'batch_size'", "0"}},
      {"sa: per_round does not divide k",
       [&f] {
         auto o = quick(4);
         o.per_round = 3;
         SequentialAttentionSelector<double>(o).fit(f.X, f.y);
       },
       Expect::invalid_argument, {"'per_round'", "3"}},
      {"sa: NaN start",
       [&f] {
         auto o = quick();
         o.start = nan_d;
         SequentialAttentionSelector<double>(o).fit(f.X, f.y);
       },
       Expect::invalid_argument, {"'start'", "nan"}},
      {"sa: hidden width 0",
       [&f] {
         auto o = quick();
         o.hidden = {0};
         SequentialAttentionSelector<double>(o).fit(f.X, f.y);
       },
       Expect::invalid_argument, {"'hidden'", "0"}},
      {"sa: transform before fit", [&f] { SequentialAttentionSelector<double>(quick()).transform(f.X); },
       Expect::invalid_argument, {"transform", "call fit first"}},
      {"attention mask: k > d",
       [] {
         AttentionMaskOptions o;
         o.k = 6;
         AttentionMask<double> m(5, o);
       },
       Expect::invalid_argument, {"'k' is 6", "[1, 5]"}},
      {"attention mask: NaN progress",
       [] {
         AttentionMaskOptions o;
         o.k = 2;
         AttentionMask<double> m(5, o);
         m.update(nan_d);
       },
       Expect::invalid_argument, {"'tau'", "nan"}},
      {"attention mask: gradient of the wrong size",
       [] {
         AttentionMaskOptions o;
         o.k = 2;
         AttentionMask<double> m(5, o);
         m.backward(M::Zero(1, 3));
       },
       Expect::invalid_argument, {"'grad_a'", "3 values", "expected 5"}},
      // The neural-network baselines.
      {"lly: k > d", [&f] { lly_selection(f.X, f.y, quick(9)); }, Expect::invalid_argument, {"'k' is 9"}},
      {"gradient omp: k = 0", [&f] { gradient_omp_selection(f.X, f.y, quick(0)); }, Expect::invalid_argument,
       {"'k' is 0"}},
      {"gradient omp: batch_size 0",
       [&f] {
         auto o = quick();
         o.batch_size = 0;
         gradient_omp_selection(f.X, f.y, o);
       },
       Expect::invalid_argument, {"'batch_size'", "0"}},
      {"sequential lasso: NaN group_lasso_scale", [&f] { sequential_lasso_selection(f.X, f.y, quick(), nan_d); },
       Expect::invalid_argument, {"'group_lasso_scale'", "nan"}},
      {"sequential lasso: stop 1.5", [&f] { sequential_lasso_selection(f.X, f.y, quick(), 0.01, 1.5); },
       Expect::invalid_argument, {"'stop'", "1.5"}},
      {"group lasso: NaN learning rate",
       [&f] {
         auto o = quick();
         o.learning_rate = nan_d;
         group_lasso_selection(f.X, f.y, o);
       },
       Expect::invalid_argument, {"'learning_rate'", "nan"}},
      {"group lasso: hidden width 0",
       [&f] {
         auto o = quick();
         o.hidden = {0};
         group_lasso_selection(f.X, f.y, o);
       },
       Expect::invalid_argument, {"'hidden'", "0"}},
      {"lly: string-like class ids (1.5)",
       [&f] {
         V y = f.y;
         y(0) = 1.5;
         lly_selection(f.X, y, quick());
       },
       Expect::invalid_argument, {"'y'", "1.5"}},
      {"random selection: k = 0", [] { random_selection<double>(5, 0, 1); }, Expect::invalid_argument, {"'k' is 0"}},
      {"random selection: k > d", [] { random_selection<double>(3, 4, 1); }, Expect::invalid_argument,
       {"'k' is 4", "[1, 3]"}},
      {"all features: d = 0", [] { all_features<double>(0); }, Expect::invalid_argument, {"'d' is 0"}},
      {"retrain: no features", [&f] { retrain_score(f.data, f.data, {}); }, Expect::invalid_argument,
       {"'features'", "empty"}},
      {"retrain: feature out of range", [&f] { retrain_score(f.data, f.data, {12}); }, Expect::invalid_argument,
       {"'columns'", "12"}},
      {"retrain: empty training set", [&f] { retrain_score(Dataset<double>{}, f.data, {0}); },
       Expect::invalid_argument, {"'train'", "no rows"}},
      {"retrain: NaN class id in test",
       [&f] {
         Dataset<double> t = f.data;
         t.y(2) = nan_d;
         retrain_score(f.data, t, {0, 1});
       },
       Expect::invalid_argument, {"'test'", "nan", "row 2"}},
      // OMP, Lasso path, linear Sequential Attention.
      {"omp: k = 0", [&f] { orthogonal_matching_pursuit(f.X, f.y, 0); }, Expect::invalid_argument, {"'k' is 0"}},
      {"omp: k > d", [&f] { orthogonal_matching_pursuit(f.X, f.y, 5); }, Expect::invalid_argument,
       {"'k' is 5", "[1, 4]"}},
      {"omp: y of the wrong length", [&f] { orthogonal_matching_pursuit(f.X, V(f.y.head(10)), 2); },
       Expect::invalid_argument, {"'y'", "10 values", "24"}},
      {"omp: empty X", [] { orthogonal_matching_pursuit(M(0, 0), V(0), 1); }, Expect::invalid_argument,
       {"'X'", "0x0"}},
      {"omp: NaN in X",
       [&f] {
         M X = f.X;
         X(1, 1) = nan_d;
         orthogonal_matching_pursuit(X, f.y, 2);
       },
       Expect::invalid_argument, {"'X'", "NaN"}},
      {"omp: inf in y",
       [&f] {
         V y = f.y;
         y(0) = inf_d;
         orthogonal_matching_pursuit(f.X, y, 2);
       },
       Expect::invalid_argument, {"'y'", "inf"}},
      {"omp: negative gram_batch",
       [&f] {
         OmpOptions o;
         o.gram_batch = -1;
         orthogonal_matching_pursuit(f.X, f.y, 2, o);
       },
       Expect::invalid_argument, {"gram_batch", "-1"}},
      {"lasso: k > d", [&f] { lasso_path_selection(f.X, f.y, 5); }, Expect::invalid_argument, {"'k' is 5"}},
      {"lasso: eps 0",
       [&f] {
         LassoPathOptions o;
         o.eps = 0;
         lasso_path_selection(f.X, f.y, 2, o);
       },
       Expect::invalid_argument, {"'eps'", "0"}},
      {"lasso: NaN tol",
       [&f] {
         LassoPathOptions o;
         o.tol = nan_d;
         lasso_path_selection(f.X, f.y, 2, o);
       },
       Expect::invalid_argument, {"'tol'", "nan"}},
      {"lasso: n_lambdas 1",
       [&f] {
         LassoPathOptions o;
         o.n_lambdas = 1;
         lasso_path_selection(f.X, f.y, 2, o);
       },
       Expect::invalid_argument, {"'n_lambdas'", "1"}},
      {"lasso: NaN in y",
       [&f] {
         V y = f.y;
         y(9) = nan_d;
         lasso_path_selection(f.X, y, 2);
       },
       Expect::invalid_argument, {"'y'", "nan", "9"}},
      {"lasso: single row", [] { lasso_path_selection(M(M::Ones(1, 3)), V(V::Ones(1)), 1); },
       Expect::invalid_argument, {"'X'", "1x3"}},
      {"linear sa: k = 0", [&f] { linear_sequential_attention(f.X, f.y, 0); }, Expect::invalid_argument,
       {"'k' is 0"}},
      {"linear sa: NaN learning rate",
       [&f] {
         LinearSequentialAttentionOptions o;
         o.learning_rate = nan_d;
         linear_sequential_attention(f.X, f.y, 2, o);
       },
       Expect::invalid_argument, {"'learning_rate'", "nan"}},
      {"linear sa: negative l2",
       [&f] {
         LinearSequentialAttentionOptions o;
         o.l2 = -1;
         linear_sequential_attention(f.X, f.y, 2, o);
       },
       Expect::invalid_argument, {"'l2'", "-1"}},
      {"linear sa: inf in X",
       [&f] {
         M X = f.X;
         X(4, 3) = -inf_d;
         linear_sequential_attention(X, f.y, 2);
       },
       Expect::invalid_argument, {"'X'", "-inf", "(4, 3)"}},
  };
}

PruningOptions<double> dense_ok() {
  PruningOptions<double> o;
  o.min_blocks = 1;
  return o;
}

std::vector<Case> pruning_cases() {
  return {
      {"block grid: block 0", [] { BlockGrid g(10, 10, 0, 2); }, Expect::invalid_argument, {"block_rows", "0"}},
      {"block grid: block larger than the matrix", [] { BlockGrid g(10, 10, 2, 11); }, Expect::invalid_argument,
       {"block_cols", "11"}},
      {"block grid: empty matrix", [] { BlockGrid g(0, 10, 1, 1); }, Expect::invalid_argument, {"'rows'", "0 x 10"}},
      {"block grid: expand of the wrong shape", [] { BlockGrid(8, 8, 4, 4).expand(M::Zero(3, 2)); },
       Expect::invalid_argument, {"block values", "3 x 2", "2 x 2"}},
      {"pruner: sparsity 1",
       [] {
         auto o = dense_ok();
         o.sparsity = 1.0;
         SequentialAttentionPP<double> p(BlockGrid(8, 8, 2, 2), o);
       },
       Expect::invalid_argument, {"sparsity", "1"}},
      {"pruner: NaN sparsity",
       [] {
         auto o = dense_ok();
         o.sparsity = nan_d;
         MagnitudePruner<double> p(BlockGrid(8, 8, 2, 2), o);
       },
       Expect::invalid_argument, {"sparsity", "nan"}},
      {"pruner: negative sparsity",
       [] {
         auto o = dense_ok();
         o.sparsity = -0.1;
         ACDCPruner<double> p(BlockGrid(8, 8, 2, 2), o);
       },
       Expect::invalid_argument, {"sparsity", "-0.1"}},
      {"pruner: attention_min > attention_max",
       [] {
         auto o = dense_ok();
         o.attention_min = 2;
         o.attention_max = 1;
         SequentialAttentionPP<double> p(BlockGrid(8, 8, 2, 2), o);
       },
       Expect::invalid_argument, {"attention_min", "2"}},
      {"pruner: NaN warm-up",
       [] {
         auto o = dense_ok();
         o.schedule.warmup = nan_d;
         PowerpropPruner<double> p(BlockGrid(8, 8, 2, 2), o);
       },
       Expect::invalid_argument, {"warmup", "nan"}},
      {"pruner: negative cycles",
       [] {
         auto o = dense_ok();
         o.schedule.cycles = -1;
         ACDCPruner<double> p(BlockGrid(8, 8, 2, 2), o);
       },
       Expect::invalid_argument, {"cycles", "-1"}},
      {"pruner: negative min_blocks",
       [] {
         auto o = dense_ok();
         o.min_blocks = -1;
         MagnitudePruner<double> p(BlockGrid(8, 8, 2, 2), o);
       },
       Expect::invalid_argument, {"min_blocks", "-1"}},
      {"pruner: NaN logit weight decay",
       [] {
         auto o = dense_ok();
         o.logit_weight_decay = nan_d;
         SequentialAttentionPP<double> p(BlockGrid(8, 8, 2, 2), o);
       },
       Expect::invalid_argument, {"logit_weight_decay", "nan"}},
      {"pruner: NaN progress",
       [] {
         SequentialAttentionPP<double> p(BlockGrid(8, 8, 2, 2), dense_ok());
         M W = M::Ones(8, 8);
         p.set_progress(nan_d, W);
       },
       Expect::invalid_argument, {"tau", "nan"}},
      {"pruner: W of the wrong shape",
       [] {
         MagnitudePruner<double> p(BlockGrid(8, 8, 2, 2), dense_ok());
         M W = M::Ones(8, 7);
         p.set_progress(0.5, W);
       },
       Expect::invalid_argument, {"W is 8 x 7", "8 x 8"}},
      {"pruner: weight_gradient with dW_eff of the wrong shape",
       [] {
         SequentialAttentionPP<double> p(BlockGrid(8, 8, 2, 2), dense_ok());
         p.weight_gradient(M::Ones(8, 8), M::Ones(4, 4));
       },
       Expect::invalid_argument, {"dW_eff", "4 x 4", "8 x 8"}},
      {"pruner: weight_gradient with W of the wrong shape",
       [] {
         SequentialAttentionPP<double> p(BlockGrid(8, 8, 2, 2), dense_ok());
         M W = M::Ones(8, 8);
         p.set_progress(0.0, W);
         p.weight_gradient(M::Ones(4, 4), M::Ones(8, 8));
       },
       Expect::invalid_argument, {"'W'", "4 x 4", "8 x 8"}},
      {"pruner: backward with dW of the wrong shape",
       [] {
         PowerpropPruner<double> p(BlockGrid(8, 8, 2, 2), dense_ok());
         M W = M::Ones(8, 8);
         p.set_progress(0.0, W);
         M dW = M::Zero(2, 2);
         p.backward(W, M::Zero(8, 8), dW);
       },
       Expect::invalid_argument, {"'dW'", "2 x 2", "8 x 8"}},
      {"pruner: backward with dM of the wrong shape",
       [] {
         SequentialAttentionPP<double> p(BlockGrid(8, 8, 2, 2), dense_ok());
         M W = M::Ones(8, 8), dW = M::Zero(8, 8);
         p.set_progress(0.0, W);
         p.backward(W, M::Zero(3, 8), dW);
       },
       Expect::invalid_argument, {"'dM'", "3 x 8", "8 x 8"}},
      {"block pruning: dense_index out of range",
       [] {
         auto model = make_mlp<double>(8, 2, MLPOptions{{8}});
         Adam<double> adam;
         BlockPruning<double, Adam<double>> bp(adam);
         bp.add(model, 5, PruningMethod::magnitude, 2);
       },
       Expect::invalid_argument, {"dense_index", "5", "2 Dense layers"}},
      {"block pruning: block size 0",
       [] {
         auto model = make_mlp<double>(8, 2, MLPOptions{{8}});
         Adam<double> adam;
         BlockPruning<double, Adam<double>> bp(adam);
         bp.add(model, 0, PruningMethod::sequential_attention_pp, 0);
       },
       Expect::invalid_argument, {"'block'", "0"}},
      {"block pruning: pruner grid differs from the layer",
       [] {
         Rng rng(1);
         Dense<double> d(8, 4, rng);
         Adam<double> adam;
         BlockPruning<double, Adam<double>> bp(adam);
         bp.add(d, make_pruner<double>(PruningMethod::acdc, BlockGrid(8, 8, 2, 2), dense_ok()));
       },
       Expect::invalid_argument, {"grid is 8 x 8", "8 x 4"}},
      {"block pruning: null pruner",
       [] {
         Rng rng(1);
         Dense<double> d(8, 4, rng);
         Adam<double> adam;
         BlockPruning<double, Adam<double>> bp(adam);
         bp.add(d, nullptr);
       },
       Expect::invalid_argument, {"pruner", "null"}},
  };
}

std::vector<Case> sparse_cases() {
  return {
      {"bsr: block mask of the wrong shape",
       [] { BlockSparseMatrix<double> w(M::Ones(8, 8), BoolMask::Constant(3, 3, true), BlockShape{4, 4}); },
       Expect::invalid_argument, {"'block_mask'", "3x3", "2x2"}},
      {"bsr: block rows 0", [] { BlockSparseMatrix<double> w(M::Ones(8, 8), BlockShape{0, 4}); },
       Expect::invalid_argument, {"'block.rows'", "0"}},
      {"bsr: block cols 65", [] { BlockSparseMatrix<double> w(M::Ones(80, 80), BlockShape{4, 65}); },
       Expect::invalid_argument, {"'block.cols'", "65"}},
      {"bsr: block larger than the matrix", [] { BlockSparseMatrix<double> w(M::Ones(4, 4), BlockShape{8, 2}); },
       Expect::invalid_argument, {"'block.rows'", "8", "4 rows"}},
      {"bsr: empty matrix", [] { BlockSparseMatrix<double> w(M(0, 0), BlockShape{1, 1}); },
       Expect::invalid_argument, {"'block.rows'", "0 rows"}},
      {"bsr: mask with more rows than the matrix",
       [] { BlockSparseMatrix<double> w(M::Ones(8, 8), BoolMask::Constant(9, 1, true)); }, Expect::invalid_argument,
       {"'block_mask'", "9"}},
      {"bsr: product with X of the wrong width",
       [] {
         BlockSparseMatrix<double> w(M::Ones(8, 6), BlockShape{4, 2});
         w.multiply(M::Ones(3, 5));
       },
       Expect::invalid_argument, {"'X'", "5 columns", "expected 6"}},
      {"bsr: product into Y of the wrong shape",
       [] {
         BlockSparseMatrix<double> w(M::Ones(8, 6), BlockShape{4, 2});
         M X = M::Ones(3, 6), Y(3, 5);
         w.multiply(X, Y);
       },
       Expect::invalid_argument, {"'Y'", "3x5", "3x8"}},
      {"bsr: product into Y overlapping X",
       [] {
         BlockSparseMatrix<double> w(M::Ones(8, 8), BlockShape{4, 4});
         M X = M::Ones(3, 8);
         w.multiply(X, X);
       },
       Expect::invalid_argument, {"'Y'", "overlaps"}},
      {"bsr: transposed product with X of the wrong width",
       [] {
         BlockSparseMatrix<double> w(M::Ones(8, 6), BlockShape{4, 2});
         w.multiply_transposed(M::Ones(3, 6));
       },
       Expect::invalid_argument, {"'X'", "6 columns", "expected 8"}},
      {"bsr: vector of the wrong size",
       [] {
         BlockSparseMatrix<double> w(M::Ones(8, 6), BlockShape{4, 2});
         w.multiply_vector(V::Ones(5));
       },
       Expect::invalid_argument, {"'x'", "size 5", "expected 6"}},
      {"bsr: vector that is a matrix",
       [] {
         BlockSparseMatrix<double> w(M::Ones(8, 6), BlockShape{4, 2});
         w.multiply_vector(M::Ones(2, 3));
       },
       Expect::invalid_argument, {"'x'", "vector", "2x3"}},
      {"bsr: block index out of range",
       [] {
         BlockSparseMatrix<double> w(M::Ones(8, 8), BlockShape{4, 4});
         w.block(99);
       },
       Expect::invalid_argument, {"'k'", "99"}},
      // Kernels of the simd layer that take user data.
      {"kernels: top-k larger than the candidates",
       [] {
         V x = V::LinSpaced(5, 0, 1), m = V::Ones(5);
         m(0) = 0;
         masked_top_k(x, m, 5);
       },
       Expect::invalid_argument, {"'k' is 5", "[0, 4]"}},
      {"kernels: mask of the wrong size", [] { masked_softmax(V(V::Ones(5)), V(V::Ones(4))); },
       Expect::invalid_argument, {"'mask'", "size 4", "5"}},
      {"kernels: NaN logit",
       [] {
         V x = V::Zero(4);
         x(2) = nan_d;
         masked_softmax(x, V(V::Ones(4)));
       },
       Expect::invalid_argument, {"'logits'", "nan", "index 2"}},
      {"kernels: negative causal offset", [] { causal_softmax_rows(M::Zero(3, 3), -1); }, Expect::invalid_argument,
       {"'offset'", "-1"}},
      {"kernels: dot of different sizes", [] { dot(V(V::Ones(3)), V(V::Ones(4))); }, Expect::invalid_argument,
       {"size 4", "3"}},
  };
}

/// Packed N x (H·d) inputs with a recognisable, finite pattern.
M packed(Index n, Index cols, double phase) {
  M m(n, cols);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < cols; ++j) m(i, j) = std::sin(phase + 0.37 * double(i) + 0.91 * double(j));
  return m;
}

SelectiveAttentionOptions two_heads() {
  SelectiveAttentionOptions o;
  o.heads = 2;
  return o;
}

KVCacheOptions cache_options() {
  KVCacheOptions o;
  o.heads = 2;
  o.head_dim = 4;
  o.budget = 4;
  return o;
}

std::vector<Case> selective_cases() {
  const M Q = packed(10, 8, 0.1), K = packed(10, 8, 0.2), Vv = packed(10, 6, 0.3);
  return {
      {"selective: K with fewer rows", [=] { selective_attention(Q, M(K.topRows(9)), Vv, two_heads()); },
       Expect::invalid_argument, {"K", "9 rows", "10"}},
      {"selective: K columns not a multiple of heads", [=] { selective_attention(Q, M(K.leftCols(5)), Vv, two_heads()); },
       Expect::invalid_argument, {"K", "5 columns", "heads = 2"}},
      {"selective: K head size differs", [=] { selective_attention(Q, M(K.leftCols(6)), Vv, two_heads()); },
       Expect::invalid_argument, {"K", "head size 3", "4"}},
      {"selective: V with fewer rows", [=] { selective_attention(Q, K, M(Vv.topRows(3)), two_heads()); },
       Expect::invalid_argument, {"V", "3 rows"}},
      {"selective: heads 0",
       [=] {
         auto o = two_heads();
         o.heads = 0;
         selective_attention(Q, K, Vv, o);
       },
       Expect::invalid_argument, {"heads", "0"}},
      {"selective: selector head out of range",
       [=] {
         auto o = two_heads();
         o.selector_head = 2;
         selective_attention(Q, K, Vv, o);
       },
       Expect::invalid_argument, {"selector_head", "2", "[0, 2)"}},
      {"selective: negative selector head",
       [=] {
         auto o = two_heads();
         o.selector_head = -1;
         selective_attention(Q, K, Vv, o);
       },
       Expect::invalid_argument, {"selector_head", "-1"}},
      {"selective: NaN scale",
       [=] {
         auto o = two_heads();
         o.scale = nan_d;
         selective_attention(Q, K, Vv, o);
       },
       Expect::invalid_argument, {"scale", "nan"}},
      {"selective: tile 4",
       [=] {
         auto o = two_heads();
         o.tile = 4;
         selective_attention(Q, K, Vv, o);
       },
       Expect::invalid_argument, {"tile", "4"}},
      {"selective: query_tile 0",
       [=] {
         auto o = two_heads();
         o.query_tile = 0;
         selective_attention(Q, K, Vv, o);
       },
       Expect::invalid_argument, {"query_tile", "0"}},
      {"selective: NaN in Q",
       [=] {
         M q = Q;
         q(3, 5) = nan_d;
         selective_attention(q, K, Vv, two_heads());
       },
       Expect::invalid_argument, {"Q", "non-finite", "nan", "head 1", "row 3", "column 1"}},
      {"selective: inf in V",
       [=] {
         M v = Vv;
         v(0, 0) = inf_d;
         selective_attention(Q, K, v, two_heads());
       },
       Expect::invalid_argument, {"V", "non-finite", "inf"}},
      {"selective: per-head lists of different lengths",
       [] {
         std::vector<M> q(2, M::Ones(4, 3)), k(3, M::Ones(4, 3)), v(2, M::Ones(4, 3));
         selective_attention(q, k, v);
       },
       Expect::invalid_argument, {"same number of heads", "3"}},
      {"selective: no heads",
       [] {
         const std::vector<M> none;
         selective_attention(none, none, none);
       },
       Expect::invalid_argument, {"Q", "at least one head"}},
      {"selective backward: dO of the wrong shape",
       [=] { selective_attention_backward(Q, K, Vv, M(M::Zero(4, 6)), two_heads()); }, Expect::invalid_argument,
       {"dO", "4 x 6", "10 x 6"}},
      {"selective backward: NaN in dO",
       [=] {
         M g = M::Zero(10, 6);
         g(9, 0) = nan_d;
         selective_attention_backward(Q, K, Vv, g, two_heads());
       },
       Expect::invalid_argument, {"dO", "non-finite"}},
      {"selective backward: lse of the wrong shape",
       [=] {
         SelectiveAttentionAux<double> aux;
         const M O = selective_attention(Q, K, Vv, two_heads(), &aux);
         M dQ(10, 8), dK(10, 8), dV(10, 6);
         using CV = HeadsView<const double>;
         using MV = HeadsView<double>;
         const M lse = aux.lse.leftCols(9);
         selective_attention_backward<double>(CV::packed(Q, 2), CV::packed(K, 2), CV::packed(Vv, 2),
                                              CV::packed(O, 2), CV::packed(O, 2), lse, MV::packed(dQ, 2),
                                              MV::packed(dK, 2), MV::packed(dV, 2), two_heads());
       },
       Expect::invalid_argument, {"lse", "2 x 9", "2 x 10"}},
      // KV cache.
      {"kv cache: budget 1",
       [] {
         auto o = cache_options();
         o.budget = 1;
         KVCache<double> c(o);
       },
       Expect::invalid_argument, {"budget", "1", ">= 2"}},
      {"kv cache: negative budget",
       [] {
         auto o = cache_options();
         o.budget = -3;
         KVCache<double> c(o);
       },
       Expect::invalid_argument, {"budget", "-3"}},
      {"kv cache: head_dim 0",
       [] {
         auto o = cache_options();
         o.head_dim = 0;
         KVCache<double> c(o);
       },
       Expect::invalid_argument, {"head_dim", "0"}},
      {"kv cache: negative value_dim",
       [] {
         auto o = cache_options();
         o.value_dim = -2;
         KVCache<double> c(o);
       },
       Expect::invalid_argument, {"value_dim", "-2"}},
      {"kv cache: selector head out of range",
       [] {
         auto o = cache_options();
         o.selector_head = 2;
         KVCache<double> c(o);
       },
       Expect::invalid_argument, {"selector_head", "2"}},
      {"kv cache: NaN scale",
       [] {
         auto o = cache_options();
         o.scale = nan_d;
         KVCache<double> c(o);
       },
       Expect::invalid_argument, {"scale", "nan"}},
      {"kv cache: NaN eviction threshold",
       [] { KVCache<double, evict::SelectiveF> c(cache_options(), evict::SelectiveF{nan_d}); },
       Expect::invalid_argument, {"threshold", "nan"}},
      {"kv cache: negative H2O window", [] { KVCache<double, evict::H2O> c(cache_options(), evict::H2O{-1}); },
       Expect::invalid_argument, {"recent", "-1"}},
      {"kv cache: H2O window share above 1", [] { KVCache<double, evict::H2O> c(cache_options(), evict::H2O{0, 1.5}); },
       Expect::invalid_argument, {"recent_share", "1.5"}},
      {"kv cache: NaN H2O window share", [] { KVCache<double, evict::H2O> c(cache_options(), evict::H2O{0, nan_d}); },
       Expect::invalid_argument, {"recent_share", "nan"}},
      {"kv cache: negative StreamingLLM sinks",
       [] { KVCache<double, evict::StreamingLLM> c(cache_options(), evict::StreamingLLM{-2}); },
       Expect::invalid_argument, {"sinks", "-2"}},
      // TOVA and KNorm have no options of their own: their caches check the shared ones.
      {"kv cache: TOVA with a budget of 1",
       [] {
         auto o = cache_options();
         o.budget = 1;
         KVCache<double, evict::TOVA> c(o);
       },
       Expect::invalid_argument, {"KVCache", "budget", "1", ">= 2"}},
      {"kv cache: KNorm with a negative budget",
       [] {
         auto o = cache_options();
         o.budget = -5;
         KVCache<float, evict::KNorm> c(o);
       },
       Expect::invalid_argument, {"KVCache", "budget", "-5"}},
      {"kv cache: TOVA prefill with NaN in the last row that fits the budget",
       [] {
         KVCache<double, evict::TOVA> c(cache_options());
         M q = M::Ones(6, 8);
         q(3, 2) = nan_d;
         c.prefill(q, M(M::Ones(6, 8)), M(M::Ones(6, 8)));
       },
       Expect::invalid_argument, {"KVCache::prefill", "Q", "non-finite", "nan", "row 3", "column 2"}},
      {"kv cache: KNorm prefill with NaN in V",
       [] {
         KVCache<double, evict::KNorm> c(cache_options());
         M v = M::Ones(6, 8);
         v(1, 0) = nan_d;
         c.prefill(M(M::Ones(6, 8)), M(M::Ones(6, 8)), v);
       },
       Expect::invalid_argument, {"V", "non-finite"}},
      {"kv cache: q of the wrong size",
       [] {
         KVCache<double> c(cache_options());
         c.decode_step(V::Ones(7), V::Ones(8), V::Ones(8));
       },
       Expect::invalid_argument, {"q", "7", "8"}},
      {"kv cache: NaN in k",
       [] {
         KVCache<double> c(cache_options());
         V k = V::Ones(8);
         k(5) = nan_d;
         c.decode_step(V::Ones(8), k, V::Ones(8));
       },
       Expect::invalid_argument, {"k", "non-finite", "index 5"}},
      {"kv cache: v that is a matrix",
       [] {
         KVCache<double> c(cache_options());
         c.decode_step(V::Ones(8), V::Ones(8), M::Ones(2, 4));
       },
       Expect::invalid_argument, {"v", "vector", "2 x 4"}},
      {"kv cache: inf through the pointer interface",
       [] {
         KVCache<double> c(cache_options());
         std::vector<double> q(8, 1.0), k(8, 1.0), v(8, 1.0), out(8);
         v[3] = inf_d;
         c.decode_step(q.data(), k.data(), v.data(), out.data());
       },
       Expect::invalid_argument, {"v", "non-finite", "index 3"}},
      {"kv cache: prefill with different row counts",
       [] {
         KVCache<double> c(cache_options());
         const M A = M::Ones(3, 8);
         c.prefill(A, M(A.topRows(2)), A);
       },
       Expect::invalid_argument, {"same number of rows", "2"}},
      {"kv cache: prefill with the wrong width",
       [] {
         KVCache<double> c(cache_options());
         const M A = M::Ones(3, 6);
         c.prefill(A, A, M(M::Ones(3, 8)));
       },
       Expect::invalid_argument, {"heads x head_dim", "6"}},
  };
}

TransformerConfig tiny_lm_config() {
  return lm_config(6, 8, 1, 2, 8);
}

std::vector<Case> lm_cases() {
  using Ids = std::vector<std::int32_t>;
  return {
      {"transformer: width not a multiple of heads",
       [] {
         TransformerConfig c = tiny_lm_config();
         c.width = 9;
         TransformerLM<double> lm(c);
       },
       Expect::invalid_argument, {"width", "9", "heads = 2"}},
      {"transformer: zero layers",
       [] {
         TransformerConfig c = tiny_lm_config();
         c.layers = 0;
         TransformerLM<float> lm(c);
       },
       Expect::invalid_argument, {"layers", "0"}},
      {"transformer: selector head out of range",
       [] {
         TransformerConfig c = tiny_lm_config();
         c.selector_heads = {2};
         TransformerLM<float> lm(c);
       },
       Expect::invalid_argument, {"selector_heads", "2", "layer 0"}},
      {"transformer: dropout 1",
       [] {
         TransformerConfig c = tiny_lm_config();
         c.dropout = 1.0;
         TransformerLM<float> lm(c);
       },
       Expect::invalid_argument, {"dropout", "1"}},
      {"transformer: token id outside the vocabulary",
       [] {
         TransformerLM<double> lm(tiny_lm_config());
         lm.forward(Ids{0, 1, 6, 2}, 4);
       },
       Expect::invalid_argument, {"ids", "6", "position 2"}},
      {"transformer: negative token id",
       [] {
         TransformerLM<double> lm(tiny_lm_config());
         lm.forward(Ids{0, -1}, 2);
       },
       Expect::invalid_argument, {"ids", "-1", "position 1"}},
      {"transformer: sequence longer than the context",
       [] {
         TransformerLM<double> lm(tiny_lm_config());
         lm.forward(Ids(9, 0), 9);
       },
       Expect::invalid_argument, {"seq_len", "9", "context"}},
      {"transformer: empty batch",
       [] {
         TransformerLM<double> lm(tiny_lm_config());
         lm.forward(Ids{}, 4);
       },
       Expect::invalid_argument, {"ids", "0 tokens"}},
      {"transformer: targets of the wrong length",
       [] {
         TransformerLM<double> lm(tiny_lm_config());
         lm.forward(Ids{0, 1, 2, 3}, 4);
         lm.backward(Ids{1, 2, 3});
       },
       Expect::invalid_argument, {"targets", "3 tokens", "4"}},
      {"transformer: target outside the vocabulary",
       [] {
         TransformerLM<double> lm(tiny_lm_config());
         lm.forward(Ids{0, 1}, 2);
         lm.loss(Ids{1, 6});
       },
       Expect::invalid_argument, {"targets", "6", "position 1"}},
      {"transformer: backward before forward",
       [] {
         TransformerLM<double> lm(tiny_lm_config());
         lm.backward(Ids{1});
       },
       Expect::invalid_argument, {"forward pass first"}},
      {"train_lm: zero steps",
       [] {
         TransformerLM<float> lm(tiny_lm_config());
         LMTrainOptions o;
         o.steps = 0;
         train_lm(lm, [](Rng&) { return TokenBatch{}; }, {}, o);
       },
       Expect::invalid_argument, {"steps", "0"}},
      {"train_lm: NaN learning rate",
       [] {
         TransformerLM<float> lm(tiny_lm_config());
         LMTrainOptions o;
         o.learning_rate = nan_d;
         train_lm(lm, [](Rng&) { return TokenBatch{}; }, {}, o);
       },
       Expect::invalid_argument, {"learning_rate", "nan"}},
      {"load_lm: a file that is not a model",
       [] {
         const std::string path = (std::filesystem::temp_directory_path() / "attnsel_bad_input_not_a_model.bin").string();
         { std::ofstream(path) << "hello, this is text and not a model file"; }
         struct Remove {
           std::string p;
           ~Remove() { std::remove(p.c_str()); }
         } remove{path};
         load_lm<float>(path);
       },
       Expect::parse_error, {"attnsel_bad_input_not_a_model.bin", "wrong magic"}},
      {"load_lm: a missing file",
       [] { load_lm<float>("/nonexistent/attnsel/model.bin"); },
       Expect::parse_error, {"/nonexistent/attnsel/model.bin", "cannot open"}},
      {"tokenizer: a byte outside the vocabulary",
       [] { CharTokenizer::from_corpus("abc").encode("abd"); },
       Expect::invalid_argument, {"byte 100", "offset 2", "text"}},
      {"tokenizer: an empty corpus",
       [] { CharTokenizer::from_corpus(""); },
       Expect::invalid_argument, {"corpus", "empty"}},
      {"tokenizer: a symbol listed twice",
       [] { CharTokenizer::from_symbols("abca"); },
       Expect::invalid_argument, {"symbols", "byte 97", "twice"}},
      {"text windows: a stream shorter than a window",
       [] {
         Rng rng(1);
         sample_windows(std::vector<std::int32_t>(5, 0), 2, 5, rng);
       },
       Expect::invalid_argument, {"5 tokens", "seq_len + 1 = 6"}},
      {"text split: validation fraction 1",
       [] { split_tokens(std::vector<std::int32_t>(50, 0), 1.0); },
       Expect::invalid_argument, {"validation_fraction", "1"}},
      {"LM memory loss: a negative weight",
       [] {
         TransformerLM<float> lm(tiny_lm_config(1));
         MemoryLossOptions o;
         o.weight = -0.1;
         lm.set_memory_loss(o);
       },
       Expect::invalid_argument, {"weight", "-0.1"}},
      {"LM memory loss: tau 0",
       [] {
         TransformerLM<float> lm(tiny_lm_config(1));
         MemoryLossOptions o;
         o.weight = 0.1;
         o.tau = 0.0;
         lm.set_memory_loss(o);
       },
       Expect::invalid_argument, {"tau", "0", "> 0"}},
      {"LM decoder: budgets for the wrong number of layers",
       [] {
         TransformerLM<float> lm(tiny_lm_config(2));
         LMDecoder<float> d(lm, {4});
       },
       Expect::invalid_argument, {"budgets", "1 entries", "one per layer (2)"}},
      {"LM decoder: a budget of 1",
       [] {
         TransformerLM<float> lm(tiny_lm_config(2));
         LMDecoder<float> d(lm, {4, 1});
       },
       Expect::invalid_argument, {"budgets", "holds 1 for layer 1"}},
      {"LM decoder: a TOVA budget of 1",
       [] {
         TransformerLM<float> lm(tiny_lm_config(2));
         LMDecoder<float, evict::TOVA> d(lm, {1, 4});
       },
       Expect::invalid_argument, {"budgets", "holds 1 for layer 0"}},
      {"LM decoder: a negative KNorm budget",
       [] {
         TransformerLM<float> lm(tiny_lm_config(2));
         LMDecoder<float, evict::KNorm> d(lm, {4, -2});
       },
       Expect::invalid_argument, {"budgets", "holds -2 for layer 1"}},
      {"LM decoder: two tokens for three sequences",
       [] {
         TransformerLM<float> lm(tiny_lm_config(1));
         LMDecoder<float> d(lm, {}, {}, 3);
         d.step(std::vector<std::int32_t>{1, 2});
       },
       Expect::invalid_argument, {"tokens", "2 tokens", "one per sequence (3)"}},
      {"budget fitting: no validation data",
       [] {
         TransformerLM<float> lm(tiny_lm_config(1));
         fit_budgets(lm, std::vector<TokenBatch>{});
       },
       Expect::invalid_argument, {"validation", "empty"}},
      {"budget fitting: shrink 1",
       [] {
         TransformerLM<float> lm(tiny_lm_config(1));
         BudgetFitOptions o;
         o.shrink = 1.0;
         fit_budgets(lm, tile_windows(std::vector<std::int32_t>(40, 1), 2, 8), evict::SelectiveF{}, o);
       },
       Expect::invalid_argument, {"shrink", "1", "(0, 1)"}},
      {"LM decoder: a token outside the vocabulary",
       [] {
         TransformerLM<float> lm(tiny_lm_config(1));
         LMDecoder<float> d(lm);
         d.step(5);
       },
       Expect::invalid_argument, {"token", "5", "[0, 5)"}},
      {"text split: validation and test fractions sum to 1",
       [] { split_tokens(std::vector<std::int32_t>(50, 0), 0.5, 0.5); },
       Expect::invalid_argument, {"test_fraction", "0.5", "sum to 1"}},
      {"text split: negative test fraction",
       [] { split_tokens(std::vector<std::int32_t>(50, 0), 0.1, -0.1); },
       Expect::invalid_argument, {"test_fraction", "-0.1"}},
      {"variable assignment: no variables",
       [] {
         VariableAssignmentOptions o;
         o.variables = 0;
         VariableAssignment va(o);
       },
       Expect::invalid_argument, {"variables", "0"}},
      {"variable assignment: query rate above 1",
       [] {
         VariableAssignmentOptions o;
         o.query_rate = 1.5;
         VariableAssignment va(o);
       },
       Expect::invalid_argument, {"query_rate", "1.5"}},
      {"layer norm: zero width",
       [] { LayerNorm<float> ln(0); },
       Expect::invalid_argument, {"size", "0"}},
      {"dropout: rate 1",
       [] { Dropout<float> d(4, 1.0); },
       Expect::invalid_argument, {"rate", "1"}},
      {"clip_grad_norm: max_norm 0",
       [] {
         Parameter<float> p("w", 1, 1);
         clip_grad_norm<float>({&p}, 0.0);
       },
       Expect::invalid_argument, {"max_norm", "0"}},
  };
}

template <class... Lists>
std::vector<Case> concat_cases(Lists&&... lists) {
  std::vector<Case> all;
  (all.insert(all.end(), lists.begin(), lists.end()), ...);
  return all;
}

}  // namespace

TEST_CASE("bad-input battery: every public entry point rejects bad input cleanly", "[errors][bad_input]") {
  Fixture f;
  const std::vector<Case> cases =
      concat_cases(data_cases(f), nn_cases(f), selection_cases(f), pruning_cases(), sparse_cases(), selective_cases(),
                   lm_cases());
  static bool counted = false;  // the test case runs once per section: count once
  if (!counted) {
    counted = true;
    CHECK(cases.size() >= 60);
  }
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const Result r = run(c);
      INFO("case: " << c.name);
      INFO("outcome: " << to_string(r.outcome));
      INFO("message: " << r.message);
      CHECK(r.outcome == expected_outcome(c.expect));
      for (const std::string& part : c.must_contain) {
        INFO("expected in the message: " << part);
        CHECK(r.message.find(part) != std::string::npos);
      }
      INFO("printed: " << r.output);
      CHECK(r.output.empty());  // (a hang is caught by the ctest TIMEOUT, tests/CMakeLists.txt)
    }
  }
}

TEST_CASE("bad-input battery: Powerprop on a layer below min_blocks trains (stays dense)", "[errors][bad_input]") {
  // BlockPruning calls backward on every pruner, active or not; an inactive Powerprop pruner has
  // no block norms and must leave the gradient alone.
  auto model = make_mlp<double>(8, 2, MLPOptions{{8}});
  Adam<double> adam;
  BlockPruning<double, Adam<double>> pruning(adam);
  PruningOptions<double> po;  // min_blocks = 100 > the 16 blocks of 2 x 2
  const BlockPruner<double>& p = pruning.add(model, 0, PruningMethod::powerprop, 2, po);
  adam.add_parameters(model.parameters());
  const Dataset<double> d = small_data(24, 8);
  TrainOptions<double> t;
  t.epochs = 2;
  t.batch_size = 8;
  const RowMatrix<double> W0 = model.find<Dense<double>>()->weight().value;
  const auto h = fit(model, SoftmaxCrossEntropy<double>{}, adam, d.X, d.targets(), t, pruning);
  CHECK_FALSE(p.active());
  CHECK(h.epochs_run == 2);
  CHECK(p.mask().count() == 16);
  CHECK(model.find<Dense<double>>()->weight().value != W0);  // trained
}

TEST_CASE("bad-input battery: the standard streams still work after the captures", "[errors][bad_input]") {
  // A capture restores std::cout and file descriptor 1: what is written afterwards reaches them.
  { OutputCapture c; }
  std::ostringstream probe;
  std::streambuf* old = std::cout.rdbuf(probe.rdbuf());
  std::cout << "ok";
  std::cout.rdbuf(old);
  CHECK(probe.str() == "ok");
}
