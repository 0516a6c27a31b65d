// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file error.hpp
/// Exception types and the helpers public entry points use to check their arguments.
///
/// - Bad arguments throw `std::invalid_argument`; the message starts with the function name, names
///   the argument, the value received and what was expected.
/// - Malformed files throw `attnsel::parse_error` (a `std::runtime_error`) carrying file, line
///   and column.

#include <cstddef>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#include "config.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// Thrown by readers for malformed input; `what()` reads "file:line:column: message".
class parse_error : public std::runtime_error {
 public:
  parse_error(std::string file, std::size_t line, std::size_t column, const std::string& message)
      : std::runtime_error(format(file, line, column, message)),
        file_(std::move(file)),
        line_(line),
        column_(column) {}

  /// Name of the file (or "<stream>") the error was found in.
  const std::string& file() const noexcept { return file_; }
  /// 1-based line number (0 when not applicable).
  std::size_t line() const noexcept { return line_; }
  /// 1-based column (field) number (0 when not applicable).
  std::size_t column() const noexcept { return column_; }

 private:
  static std::string format(const std::string& file, std::size_t line, std::size_t column,
                            const std::string& message) {
    std::ostringstream os;
    os << file << ':' << line << ':' << column << ": " << message;
    return os.str();
  }

  std::string file_;
  std::size_t line_;
  std::size_t column_;
};

namespace detail {

/// Concatenates any streamable pieces into one string.
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

/// Throws std::invalid_argument with "<function>: <pieces...>".
template <class... Parts>
[[noreturn]] void throw_invalid(const char* function, const Parts&... parts) {
  throw std::invalid_argument(concat(function, ": ", parts...));
}

/// Throws std::invalid_argument unless `condition` holds.
template <class... Parts>
void require(bool condition, const char* function, const Parts&... parts) {
  if (!condition) throw_invalid(function, parts...);
}

}  // namespace detail

ATTNSEL_NAMESPACE_END
