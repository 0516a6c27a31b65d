// Issue #16: attnsel's types are the same in TUs compiled for different instruction sets; only
// the kernels differ. This TU has the build's default flags, mixed_isa_other.cpp other -m flags.
#include "mixed_isa.hpp"

#include <cmath>
#include <cstring>
#include <sstream>
#include <string>

#include "../catch_compat.hpp"

namespace {

std::string table(int rows) {
  std::ostringstream s;
  s << "a,b,c,d,label\n";
  for (int i = 0; i < rows; ++i) {
    const double a = 0.1 * i, b = std::sin(0.7 * i), c = std::cos(1.3 * i), d = 0.01 * i * i;
    s << a << ',' << b << ',' << c << ',' << d << ',' << 2.0 * b - 0.5 * d + 0.001 * c << '\n';
  }
  return s.str();
}

}  // namespace

TEST_CASE("TUs built for different instruction sets share attnsel's types", "[abi]") {
  // The two TUs really were compiled for different instruction sets (their kernels differ).
  REQUIRE(std::strcmp(mixed::other_arch(), ATTNSEL_SIMD_ARCH_NAME) != 0);

  attnsel::CsvOptions regression;
  regression.task = attnsel::Task::regression;
  std::istringstream in(table(40));
  const attnsel::Dataset<double> here = attnsel::read_csv<double>(in, regression);

  SECTION("a Dataset made here is selected from there, and the Selection comes back") {
    const attnsel::Selection<double> there = mixed::other_select(here, 2);
    const attnsel::Selection<double> local = attnsel::orthogonal_matching_pursuit(here.X, here.y, 2);
    CHECK(there.features == local.features);
    CHECK(there.method == local.method);
    CHECK(there.features.size() == 2);
  }
  SECTION("a Dataset read there is used here") {
    const attnsel::Dataset<double> d = mixed::other_read_csv(table(5));
    CHECK(d.rows() == 5);
    CHECK(d.feature_names == here.feature_names);
    const Eigen::VectorXd a = here.X.col(0), b = here.X.col(1);
    const double local = attnsel::simd::dot(a.data(), b.data(), 40), there = mixed::other_dot(here);
    CHECK(std::abs(local - there) <= 1e-12 * std::abs(local));
  }
  SECTION("an attnsel exception thrown there is caught here as its own type") {
    try {
      (void)mixed::other_read_csv("a,b\n1,2\n3\n");
      FAIL("no exception");
    } catch (const attnsel::parse_error& e) {
      CHECK(e.line() == 3);
      CHECK(e.file() == "other.csv");
    }
  }
  SECTION("an attnsel exception thrown here is caught there as its own type") {
    const std::size_t line = mixed::other_catch_parse_error([] {
      std::istringstream bad("a,b\n1,2\n3,4\n5\n");
      (void)attnsel::read_csv<double>(bad);
    });
    CHECK(line == 4);
  }
}
