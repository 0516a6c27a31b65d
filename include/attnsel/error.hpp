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
#include <initializer_list>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>
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

/// One piece of an error message: text, a number, or anything else `operator<<` prints. The
/// checks below take their pieces through this one type, so a TU instantiates one small
/// forwarding template per distinct `require(...)` signature and a single message builder,
/// not an `ostringstream` chain per signature (compile time: docs/conventions.md §7).
class MessagePart {
 public:
  MessagePart(const char* text) noexcept : kind_(Kind::text), text_(text ? text : "(null)") {}
  /// All of the string, NUL bytes too (CSV messages quote raw fields), as `os << text` printed it.
  MessagePart(const std::string& text) noexcept : kind_(Kind::sized_text), text_(text.data()), size_(text.size()) {}
  MessagePart(char c) noexcept : kind_(Kind::character), char_(c) {}
  MessagePart(float v) noexcept : kind_(Kind::floating), double_(v) {}
  MessagePart(double v) noexcept : kind_(Kind::floating), double_(v) {}
  MessagePart(long double v) noexcept : kind_(Kind::long_floating), long_double_(v) {}
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, char>, int> = 0>
  MessagePart(I v) noexcept {
    if constexpr (std::is_signed_v<I>) {
      kind_ = Kind::signed_integer;
      signed_ = static_cast<long long>(v);
    } else {
      kind_ = Kind::unsigned_integer;
      unsigned_ = static_cast<unsigned long long>(v);
    }
  }
  /// Anything else that prints (enums, string views, user types): kept by address and printed
  /// when the message is built, within the call that took the part (a part lives no longer).
  template <class X, std::enable_if_t<!std::is_arithmetic_v<X> && !std::is_convertible_v<const X&, const char*> &&
                                          !std::is_same_v<X, std::string>,
                                      int> = 0>
  MessagePart(const X& x) noexcept : kind_(Kind::object), object_{&x, &print_object<X>} {}

  void print(std::ostream& os) const {
    switch (kind_) {
      case Kind::text: os << text_; break;
      case Kind::sized_text: os.write(text_, static_cast<std::streamsize>(size_)); break;
      case Kind::character: os << char_; break;
      case Kind::signed_integer: os << signed_; break;
      case Kind::unsigned_integer: os << unsigned_; break;
      case Kind::floating: os << double_; break;  // a float prints as its double, as operator<< does
      case Kind::long_floating: os << long_double_; break;
      case Kind::object: object_.print(os, object_.address); break;
    }
  }

 private:
  template <class X>
  static void print_object(std::ostream& os, const void* address) {
    os << *static_cast<const X*>(address);
  }
  struct Object {
    const void* address;
    void (*print)(std::ostream&, const void*);
  };
  enum class Kind { text, sized_text, character, signed_integer, unsigned_integer, floating, long_floating, object };
  Kind kind_;
  union {
    const char* text_;
    char char_;
    long long signed_;
    unsigned long long unsigned_;
    double double_;
    long double long_double_;
    Object object_;
  };
  std::size_t size_ = 0;  // of sized_text
};
// Trivially destructible: a check's argument list needs no clean-up code, so each distinct
// require(...) signature instantiates a few stores and a call (compile time, conventions §7).
static_assert(std::is_trivially_destructible_v<MessagePart>);

/// The pieces printed one after the other into one string.
inline std::string join_message(std::initializer_list<MessagePart> parts) {
  std::ostringstream os;
  for (const MessagePart& p : parts) p.print(os);
  return os.str();
}

/// Throws std::invalid_argument with "<function>: <pieces...>".
[[noreturn]] inline void throw_invalid_message(const char* function, std::initializer_list<MessagePart> parts) {
  std::ostringstream os;
  os << function << ": ";
  for (const MessagePart& p : parts) p.print(os);
  throw std::invalid_argument(os.str());
}

/// Concatenates any streamable pieces into one string.
template <class... Parts>
std::string concat(const Parts&... parts) {
  return join_message({MessagePart(parts)...});
}

/// Throws std::invalid_argument with "<function>: <pieces...>".
template <class... Parts>
[[noreturn]] void throw_invalid(const char* function, const Parts&... parts) {
  throw_invalid_message(function, {MessagePart(parts)...});
}

/// Throws std::invalid_argument unless `condition` holds.
template <class... Parts>
void require(bool condition, const char* function, const Parts&... parts) {
  if (!condition) throw_invalid_message(function, {MessagePart(parts)...});
}

}  // namespace detail

ATTNSEL_NAMESPACE_END
