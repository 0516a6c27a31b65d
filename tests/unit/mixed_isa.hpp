// The functions of mixed_isa_other.cpp, a TU compiled with other -m flags than mixed_isa_test.cpp
// (tests/CMakeLists.txt). Only attnsel types cross between the two.
#pragma once
#include <functional>
#include <string>

#include <attnsel/attnsel.hpp>

namespace mixed {
/// ATTNSEL_SIMD_ARCH_NAME in the other TU.
const char* other_arch();
/// attnsel::read_csv in the other TU (throws attnsel::parse_error from there on bad input).
attnsel::Dataset<double> other_read_csv(const std::string& text);
/// OMP selection of k features of `data`, run in the other TU.
attnsel::Selection<double> other_select(const attnsel::Dataset<double>& data, attnsel::Index k);
/// Runs f and returns the line of the attnsel::parse_error it throws (0 if it throws none):
/// the catch clause is in the other TU.
std::size_t other_catch_parse_error(const std::function<void()>& f);
/// attnsel::dot of the first two columns of X, by the other TU's kernels.
double other_dot(const attnsel::Dataset<double>& data);
}  // namespace mixed
