// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file data/csv.hpp
/// Reads a numeric table with a label column from CSV into a Dataset.
///
/// The dialect is RFC 4180 as R's write.csv and pandas' to_csv write it: a header row, fields
/// separated by `delimiter`, optional double quotes around a field ("" inside quotes is one "),
/// quoted fields may hold delimiters and line breaks, CRLF or LF line ends, a UTF-8 byte-order
/// mark, blank lines and `#` comment lines skipped. An unnamed first header field (R's row
/// names, pandas' index) drops that column unless told otherwise.
///
/// Class labels may be strings or numbers. Class ids are assigned in sorted order of the labels:
/// numerically when every label is a number ("1" < "2" < "10"), else by byte-wise string order
/// ("M" < "R"); `Dataset::classes` keeps the label of each id. A regression target must be numeric.
///
/// Errors: `attnsel::parse_error` with file, line and column (1-based field number) for a ragged
/// row, a non-numeric feature cell, an infinite value, a missing value without imputation, an
/// unterminated quote, or a file without data rows; `std::invalid_argument` for options that do
/// not fit the file (an unknown label column). Missing values are the cells listed in
/// `missing_values` (empty, NA, ?, ...); with `impute_mean` they become the column mean.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <fstream>
#include <istream>
#include <iterator>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "../error.hpp"
#include "../types.hpp"
#include "dataset.hpp"

ATTNSEL_NAMESPACE_BEGIN

struct CsvOptions {
  /// Label column by header name; when empty, `label_index` is used.
  std::string label;
  /// Label column by 0-based index among all columns; negative counts from the end (-1 = last).
  Index label_index = -1;
  Task task = Task::classification;
  char delimiter = ',';
  /// The first (non-comment) row holds the column names; without it features are named x0, x1, ...
  bool header = true;
  /// Lines whose first character is this are skipped ('\0': none).
  char comment = '#';
  /// Replace missing feature values by the column mean over the rows that have one (else a
  /// missing value is an error). Missing labels are always an error.
  bool impute_mean = false;
  /// Cells (after trimming spaces, outside quotes) that mean "missing".
  std::vector<std::string> missing_values{"", "NA", "N/A", "na", "?", "NaN", "nan", "null", "NULL"};
  /// Columns to ignore, by header name (e.g. an id column).
  std::vector<std::string> drop;
  /// Drop a first column whose header name is empty (R row names, pandas index).
  bool drop_unnamed_first_column = true;
};

namespace detail {

/// Splits CSV text into records, tracking line numbers for messages.
class CsvScanner {
 public:
  CsvScanner(std::string text, char delimiter, char comment, std::string file)
      : s_(std::move(text)), delim_(delimiter), comment_(comment), file_(std::move(file)) {
    if (s_.size() >= 3 && s_.compare(0, 3, "\xEF\xBB\xBF") == 0) pos_ = 3;  // UTF-8 BOM
  }

  /// Next record into `fields`; false at the end. `quoted[i]` tells whether field i was quoted.
  bool next(std::vector<std::string>& fields, std::vector<bool>& quoted) {
    for (;;) {
      if (pos_ >= s_.size()) return false;
      // Skip blank and comment lines.
      const std::size_t eol = s_.find('\n', pos_);
      const std::size_t end = eol == std::string::npos ? s_.size() : eol;
      std::string_view line(s_.data() + pos_, end - pos_);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const bool blank = line.find_first_not_of(" \t") == std::string_view::npos;
      if (blank || (comment_ != '\0' && line.front() == comment_)) {
        pos_ = end + (eol == std::string::npos ? 0 : 1);
        ++line_;
        continue;
      }
      break;
    }
    record_line_ = line_;
    fields.clear();
    quoted.clear();
    std::string field;
    bool in_quotes = false, was_quoted = false, after_quote = false;
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (in_quotes) {
        if (c == '"') {
          if (pos_ < s_.size() && s_[pos_] == '"') {
            field += '"';
            ++pos_;
          } else {
            in_quotes = false;
            after_quote = true;
          }
        } else {
          if (c == '\n') ++line_;
          field += c;
        }
        continue;
      }
      if (c == delim_) {
        push(fields, quoted, field, was_quoted);
        was_quoted = after_quote = false;
        continue;
      }
      if (c == '\n' || c == '\r') {
        if (c == '\r' && pos_ < s_.size() && s_[pos_] == '\n') ++pos_;
        ++line_;
        push(fields, quoted, field, was_quoted);
        return true;
      }
      if (c == '"' && !was_quoted && trim(field).empty()) {
        in_quotes = was_quoted = true;
        field.clear();
        continue;
      }
      if (after_quote && c != ' ' && c != '\t') {
        throw parse_error(file_, line_, fields.size() + 1,
                          concat("unexpected character '", c, "' after a closing quote"));
      }
      if (!after_quote) field += c;
    }
    if (in_quotes) throw parse_error(file_, record_line_, fields.size() + 1, "unterminated quoted field");
    push(fields, quoted, field, was_quoted);
    ++line_;
    return true;
  }

  /// 1-based line on which the last record started.
  std::size_t line() const noexcept { return record_line_; }
  const std::string& file() const noexcept { return file_; }

  static std::string trim(const std::string& f) {
    const std::size_t b = f.find_first_not_of(" \t");
    if (b == std::string::npos) return std::string();
    const std::size_t e = f.find_last_not_of(" \t");
    return f.substr(b, e - b + 1);
  }

 private:
  static void push(std::vector<std::string>& fields, std::vector<bool>& quoted, std::string& field, bool was_quoted) {
    fields.push_back(was_quoted ? field : trim(field));
    quoted.push_back(was_quoted);
    field.clear();
  }

  std::string s_;
  std::size_t pos_ = 0;
  char delim_;
  char comment_;
  std::string file_;
  std::size_t line_ = 1;
  std::size_t record_line_ = 1;
};

/// Parses a whole cell as a finite or infinite double (locale-independent); false if it is not a
/// number.
inline bool parse_number(const std::string& cell, double& out) {
  std::string t = CsvScanner::trim(cell);
  const char* b = t.data();
  const char* e = t.data() + t.size();
  if (b != e && *b == '+') ++b;
  if (b == e || (b != t.data() && *b == '-')) return false;  // "+-1" is not a number
  const auto r = std::from_chars(b, e, out);
  if (r.ptr != e) return false;
  if (r.ec == std::errc::result_out_of_range) {
    // A well-formed number beyond double: overflow gives ±inf, underflow 0.
    const std::size_t x = t.find_first_of("eE");
    const bool overflow = x == std::string::npos || (x + 1 < t.size() && t[x + 1] != '-');
    const bool negative = t.find('-') == 0;
    out = overflow ? (negative ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity())
                   : (negative ? -0.0 : 0.0);
    return true;
  }
  return r.ec == std::errc();
}

inline bool is_missing(const std::string& cell, bool quoted, const std::vector<std::string>& missing) {
  if (quoted && !cell.empty()) return false;
  const std::string t = CsvScanner::trim(cell);
  return std::find(missing.begin(), missing.end(), t) != missing.end();
}

template <class T>
Dataset<T> parse_csv(std::string text, const CsvOptions& opt, const std::string& file) {
  constexpr const char* fn = "attnsel::read_csv";
  CsvScanner scan(std::move(text), opt.delimiter, opt.comment, file);
  std::vector<std::string> fields;
  std::vector<bool> quoted;

  std::vector<std::string> names;
  std::size_t columns = 0;
  std::vector<std::vector<std::string>> first_rows;  // a data row read while looking for the width
  if (opt.header) {
    if (!scan.next(fields, quoted)) throw parse_error(file, 1, 0, "the file has no header row");
    names = fields;
    columns = names.size();
  } else {
    if (!scan.next(fields, quoted)) throw parse_error(file, 1, 0, "the file has no data rows");
    columns = fields.size();
    for (std::size_t c = 0; c < columns; ++c) names.push_back("x" + std::to_string(c));
  }

  // Which columns to keep.
  std::vector<bool> dropped(columns, false);
  if (opt.header && opt.drop_unnamed_first_column && columns > 1 && names[0].empty()) dropped[0] = true;
  for (const std::string& d : opt.drop) {
    const auto it = std::find(names.begin(), names.end(), d);
    require(it != names.end(), fn, "option 'drop' names column '", d, "', which the header of ", file, " lacks");
    dropped[static_cast<std::size_t>(it - names.begin())] = true;
  }
  std::size_t label_col = 0;
  if (!opt.label.empty()) {
    const auto it = std::find(names.begin(), names.end(), opt.label);
    if (it == names.end()) {
      std::string all;
      for (std::size_t c = 0; c < names.size(); ++c) all += (c ? ", " : "") + names[c];
      throw_invalid(fn, "option 'label' is '", opt.label, "', but ", file, " has no such column (columns: ", all, ")");
    }
    label_col = static_cast<std::size_t>(it - names.begin());
  } else {
    const Index idx = opt.label_index < 0 ? Index(columns) + opt.label_index : opt.label_index;
    require(idx >= 0 && idx < Index(columns), fn, "option 'label_index' is ", opt.label_index, ", but ", file,
            " has ", columns, " columns");
    label_col = static_cast<std::size_t>(idx);
  }
  require(!dropped[label_col], fn, "the label column '", names[label_col], "' is also dropped");

  std::vector<std::size_t> feature_cols;
  for (std::size_t c = 0; c < columns; ++c)
    if (c != label_col && !dropped[c]) feature_cols.push_back(c);

  std::vector<double> values;  // row-major, NaN = missing (imputed later)
  std::vector<std::string> labels;
  std::vector<std::size_t> label_lines;
  bool have_row = !opt.header;  // without a header the first record is already data
  std::size_t rows = 0;
  std::vector<std::size_t> missing_per_col(feature_cols.size(), 0);
  for (;;) {
    if (!have_row && !scan.next(fields, quoted)) break;
    have_row = false;
    const std::size_t line = scan.line();
    if (fields.size() != columns) {
      throw parse_error(file, line, std::min(fields.size(), columns) + 1,
                        concat("the row has ", fields.size(), " fields, expected ", columns));
    }
    for (std::size_t j = 0; j < feature_cols.size(); ++j) {
      const std::size_t c = feature_cols[j];
      double v = 0;
      if (is_missing(fields[c], quoted[c], opt.missing_values)) {
        if (!opt.impute_mean) {
          throw parse_error(file, line, c + 1,
                            concat("feature '", names[c], "' is missing ('", fields[c],
                                   "'); set CsvOptions::impute_mean to fill in column means"));
        }
        v = std::numeric_limits<double>::quiet_NaN();
        ++missing_per_col[j];
      } else if (!parse_number(fields[c], v)) {
        throw parse_error(file, line, c + 1, concat("feature '", names[c], "' is not a number: '", fields[c], "'"));
      } else if (!std::isfinite(v) || std::fabs(v) > double(std::numeric_limits<T>::max())) {
        throw parse_error(file, line, c + 1, concat("feature '", names[c], "' is not finite in this precision: '",
                                                    fields[c], "'"));
      }
      values.push_back(v);
    }
    if (is_missing(fields[label_col], quoted[label_col], opt.missing_values)) {
      throw parse_error(file, line, label_col + 1,
                        concat("the label '", names[label_col], "' is missing ('", fields[label_col], "')"));
    }
    labels.push_back(quoted[label_col] ? fields[label_col] : CsvScanner::trim(fields[label_col]));
    label_lines.push_back(line);
    ++rows;
  }
  if (rows == 0) throw parse_error(file, scan.line(), 0, "the file has no data rows");

  Dataset<T> out;
  out.task = opt.task;
  out.X.resize(Index(rows), Index(feature_cols.size()));
  for (std::size_t j = 0; j < feature_cols.size(); ++j) {
    out.feature_names.push_back(names[feature_cols[j]]);
    double mean = 0;
    if (missing_per_col[j] > 0) {
      if (missing_per_col[j] == rows) {
        throw parse_error(file, 0, feature_cols[j] + 1,
                          concat("feature '", names[feature_cols[j]], "' has no value to impute a mean from"));
      }
      long double s = 0;
      for (std::size_t r = 0; r < rows; ++r) {
        const double v = values[r * feature_cols.size() + j];
        if (!std::isnan(v)) s += v;
      }
      mean = double(s / (rows - missing_per_col[j]));
    }
    for (std::size_t r = 0; r < rows; ++r) {
      const double v = values[r * feature_cols.size() + j];
      out.X(Index(r), Index(j)) = T(std::isnan(v) ? mean : v);
    }
  }

  out.y.resize(Index(rows));
  if (opt.task == Task::regression) {
    for (std::size_t r = 0; r < rows; ++r) {
      double v = 0;
      if (!parse_number(labels[r], v) || !std::isfinite(v) || std::fabs(v) > double(std::numeric_limits<T>::max()))
        throw parse_error(file, label_lines[r], label_col + 1,
                          concat("the regression target '", names[label_col], "' is not a finite number in this precision: '",
                                 labels[r], "'"));
      out.y(Index(r)) = T(v);
    }
    return out;
  }
  // Classification: sorted numerically when every label is a number, else as strings.
  bool numeric = true;
  std::vector<double> numbers(rows);
  for (std::size_t r = 0; r < rows && numeric; ++r) numeric = parse_number(labels[r], numbers[r]) && !std::isnan(numbers[r]);
  if (numeric) {
    std::map<double, std::string> ids;
    for (std::size_t r = 0; r < rows; ++r) ids.emplace(numbers[r], labels[r]);
    std::map<double, Index> id_of;
    for (const auto& [value, name] : ids) {
      id_of[value] = Index(out.classes.size());
      out.classes.push_back(name);
    }
    for (std::size_t r = 0; r < rows; ++r) out.y(Index(r)) = T(id_of[numbers[r]]);
  } else {
    std::map<std::string, Index> id_of;
    for (const std::string& l : labels) id_of.emplace(l, 0);
    for (auto& [name, id] : id_of) {
      id = Index(out.classes.size());
      out.classes.push_back(name);
    }
    for (std::size_t r = 0; r < rows; ++r) out.y(Index(r)) = T(id_of[labels[r]]);
  }
  return out;
}

}  // namespace detail

/// Reads CSV text from a stream; `name` is used in error messages.
template <class T = float>
Dataset<T> read_csv(std::istream& in, const CsvOptions& options = {}, const std::string& name = "<stream>") {
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw parse_error(name, 0, 0, "read error");
  return detail::parse_csv<T>(std::move(text), options, name);
}

/// Reads a CSV file. @throws parse_error (also when the file cannot be opened).
template <class T = float>
Dataset<T> read_csv(const std::string& path, const CsvOptions& options = {}) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw parse_error(path, 0, 0, "cannot open the file");
  return read_csv<T>(f, options, path);
}

ATTNSEL_NAMESPACE_END
