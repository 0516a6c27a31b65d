// Shared by the examples: find and load a data set by name (bundled CSV, any CSV path, or an
// MNIST-layout IDX folder), and write tables back out as CSV.
#pragma once

#include <attnsel/attnsel.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <limits>
#include <stdexcept>
#include <string>
#include <sys/stat.h>

namespace examples {

inline bool file_exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

/// The folder of the bundled tables: $ATTNSEL_DATA_DIR, else the source tree's examples/data.
inline std::string bundled_dir() {
  if (const char* env = std::getenv("ATTNSEL_DATA_DIR")) return env;
  return ATTNSEL_EXAMPLES_DATA_DIR;
}

/// The label column of each bundled table.
inline std::string bundled_label(const std::string& name) {
  if (name == "breast_cancer") return "diagnosis";
  if (name == "wine") return "cultivar";
  if (name == "digits") return "digit";
  if (name == "diabetes") return "progression";
  return "";
}

/// First existing file among `dir/stem` and `dir/stem.gz`.
inline std::string idx_file(const std::string& dir, const std::string& stem) {
  for (const std::string& p : {dir + "/" + stem, dir + "/" + stem + ".gz"})
    if (file_exists(p)) return p;
  throw std::runtime_error("no " + stem + "[.gz] in " + dir + " (run scripts/get_data.sh)");
}

/// Train and test parts of an MNIST-layout folder (train-images-idx3-ubyte, ...), pixels in [0, 1].
template <class T>
attnsel::TrainTest<T> load_idx_folder(const std::string& dir) {
  return {attnsel::read_idx_dataset<T>(idx_file(dir, "train-images-idx3-ubyte"), idx_file(dir, "train-labels-idx1-ubyte")),
          attnsel::read_idx_dataset<T>(idx_file(dir, "t10k-images-idx3-ubyte"), idx_file(dir, "t10k-labels-idx1-ubyte"))};
}

/// A bundled table by name ("breast_cancer", "wine", "digits", "diabetes") or a CSV path.
/// `label` empty: the bundled table's label, or the last column of a CSV.
template <class T>
attnsel::Dataset<T> load_table(const std::string& name_or_path, std::string label, attnsel::Task task) {
  std::string path = name_or_path;
  if (!file_exists(path)) {
    path = bundled_dir() + "/" + name_or_path + ".csv";
    if (label.empty()) label = bundled_label(name_or_path);
    if (!file_exists(path)) throw std::runtime_error("no file '" + name_or_path + "' and no bundled table of that name in " + bundled_dir());
  }
  attnsel::CsvOptions opt;
  opt.label = label;
  opt.task = task;
  attnsel::Dataset<T> d = attnsel::read_csv<T>(path, opt);
  if (task == attnsel::Task::classification) {
    // A numeric label with fractional values, or with more distinct values than a quarter of the
    // rows (fewer than four examples a class on average), is a regression target read as classes.
    const std::string shown = label.empty() ? std::string("the last column") : "'" + label + "'";
    for (const std::string& c : d.classes) {
      char* end = nullptr;
      const double v = std::strtod(c.c_str(), &end);
      if (end != c.c_str() && *end == '\0' && std::isfinite(v) && v != std::floor(v))
        throw std::invalid_argument("the label " + shown + " of '" + name_or_path + "' holds the value " + c +
                                    ", not a class: a regression target? pass --task regression");
    }
    if (d.class_count() > std::max<attnsel::Index>(2, d.rows() / 4))
      throw std::invalid_argument("the label " + shown + " of '" + name_or_path + "' has " + std::to_string(d.class_count()) +
                                  " distinct values over " + std::to_string(d.rows()) +
                                  " rows, too many for classes: a regression target? pass --task regression");
  }
  return d;
}

/// Writes features and target as CSV with a header (for peer scripts).
template <class T>
void write_csv(const std::string& path, const attnsel::Dataset<T>& d) {
  std::ofstream f(path);
  if (!f) throw std::runtime_error("cannot write " + path);
  f << std::setprecision(std::numeric_limits<T>::max_digits10);
  for (attnsel::Index j = 0; j < d.features(); ++j) f << "f" << j << ',';
  f << "target\n";
  for (attnsel::Index i = 0; i < d.rows(); ++i) {
    for (attnsel::Index j = 0; j < d.features(); ++j) f << d.X(i, j) << ',';
    f << d.y(i) << '\n';
  }
}

}  // namespace examples
