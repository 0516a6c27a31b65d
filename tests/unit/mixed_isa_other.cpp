// The other TU of the mixed instruction-set test: built with different -m flags (see mixed_isa.hpp).
#include "mixed_isa.hpp"

#include <sstream>

namespace mixed {

const char* other_arch() { return ATTNSEL_SIMD_ARCH_NAME; }

attnsel::Dataset<double> other_read_csv(const std::string& text) {
  std::istringstream in(text);
  return attnsel::read_csv<double>(in, attnsel::CsvOptions{}, "other.csv");
}

attnsel::Selection<double> other_select(const attnsel::Dataset<double>& data, attnsel::Index k) {
  return attnsel::orthogonal_matching_pursuit(data.X, data.y, k);
}

std::size_t other_catch_parse_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const attnsel::parse_error& e) {
    return e.line();
  }
  return 0;
}

double other_dot(const attnsel::Dataset<double>& data) {
  const Eigen::VectorXd a = data.X.col(0), b = data.X.col(1);
  return attnsel::simd::dot(a.data(), b.data(), static_cast<std::size_t>(a.size()));
}

}  // namespace mixed
