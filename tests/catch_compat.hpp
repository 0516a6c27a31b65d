// Catch2 v2 (Debian 12's 2.13) / v3 include shim for attnsel's tests.
#pragma once

#if __has_include(<catch2/catch_test_macros.hpp>)
#include <catch2/catch_template_test_macros.hpp>
#include <catch2/catch_test_macros.hpp>
#include <catch2/generators/catch_generators.hpp>
#include <catch2/matchers/catch_matchers_floating_point.hpp>
#else
#include <catch2/catch.hpp>
#endif

#include <stdexcept>
#include <string>

namespace attnsel_test {

/// Runs f and returns the message of the std::invalid_argument it throws, or a marker string
/// ("<no exception>", "<other exception: ...>") that no test expects.
template <class F>
std::string invalid_argument_message(F&& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("<other exception: ") + e.what() + ">";
  } catch (...) {
    return "<non-standard exception>";
  }
  return "<no exception>";
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace attnsel_test

/// Checks that `expr` throws std::invalid_argument whose message contains each given string.
#define ATTNSEL_CHECK_INVALID(expr, ...)                                                           \
  do {                                                                                             \
    const std::string attnsel_msg_ = attnsel_test::invalid_argument_message([&] { (void)(expr); }); \
    INFO("message: " << attnsel_msg_);                                                             \
    for (const char* attnsel_part_ : {__VA_ARGS__}) CHECK(attnsel_test::contains(attnsel_msg_, attnsel_part_)); \
  } while (false)
