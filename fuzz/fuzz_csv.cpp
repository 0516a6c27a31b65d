// libFuzzer target: attnsel::read_csv over a stream. The first two bytes choose the options
// (header, label by name or index, delimiter, comment character, task, imputation, dropped
// columns, float or double), the rest is the CSV text. read_csv documents parse_error and
// std::invalid_argument; any other exception, a sanitizer report or a broken invariant of the
// returned Dataset is a crash.
#include <attnsel/data/csv.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

namespace {

void check(bool ok) {
  if (!ok) std::abort();  // a broken invariant: libFuzzer records it as a crash
}

template <class T>
void read(const std::string& text, const attnsel::CsvOptions& opt) {
  std::istringstream in(text);
  attnsel::Dataset<T> d;
  try {
    d = attnsel::read_csv<T>(in, opt, "<fuzz>");
  } catch (const attnsel::parse_error& e) {
    check(e.what()[0] != '\0');
    return;
  } catch (const std::invalid_argument& e) {
    check(e.what()[0] != '\0');
    return;
  }
  check(d.X.rows() > 0);
  check(d.y.size() == d.X.rows());
  check(std::size_t(d.X.cols()) == d.feature_names.size());
  check(d.X.allFinite());
  check(d.y.allFinite());
  if (opt.task == attnsel::Task::classification) {
    check(!d.classes.empty());
    for (attnsel::Index i = 0; i < d.y.size(); ++i) {
      const T c = d.y(i);
      check(c >= 0 && c < T(d.classes.size()) && c == std::floor(c));
    }
  } else {
    check(d.classes.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t a = data[0], b = data[1];
  attnsel::CsvOptions opt;
  opt.header = (a & 1) == 0;
  opt.task = (a & 2) ? attnsel::Task::regression : attnsel::Task::classification;
  opt.impute_mean = (a & 4) != 0;
  opt.drop_unnamed_first_column = (a & 8) == 0;
  static const char delimiters[4] = {',', ';', '\t', ' '};
  opt.delimiter = delimiters[(a >> 4) & 3];
  opt.comment = (a & 64) ? '\0' : '#';
  if (b & 128) {
    static const char* const names[8] = {"y", "label", "a", "", "x0", "x1", "class", "\"y\""};
    opt.label = names[b & 7];
  } else {
    opt.label_index = attnsel::Index(b & 7) - 4;  // -4 .. 3
  }
  switch ((b >> 3) & 3) {
    case 1: opt.drop = {"id"}; break;
    case 2: opt.drop = {"a", "b"}; break;
    case 3: opt.missing_values = {"-", ""}; break;
    default: break;
  }
  const std::string text(reinterpret_cast<const char*>(data + 2), size - 2);
  if (b & 32)
    read<double>(text, opt);
  else
    read<float>(text, opt);
  return 0;
}
