// Version macros, error types, and the ODR check: odr_a.cpp and odr_b.cpp include the whole
// library into two more TUs of this binary; a non-inline definition would fail to link.
#include "../catch_compat.hpp"

#include <attnsel/attnsel.hpp>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <ostream>
#if defined(_OPENMP)
#include <omp.h>
#endif

int attnsel_odr_a();
int attnsel_odr_b();

TEST_CASE("version macros agree", "[foundation]") {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%d.%d.%d", ATTNSEL_VERSION_MAJOR, ATTNSEL_VERSION_MINOR, ATTNSEL_VERSION_PATCH);
  CHECK(std::string(buf) == ATTNSEL_VERSION_STRING);
  CHECK(ATTNSEL_VERSION == ATTNSEL_VERSION_MAJOR * 10000 + ATTNSEL_VERSION_MINOR * 100 + ATTNSEL_VERSION_PATCH);
}

TEST_CASE("parse_error carries file, line and column", "[foundation][errors]") {
  const attnsel::parse_error e("data.csv", 12, 3, "expected a number, got 'abc'");
  CHECK(std::string(e.what()) == "data.csv:12:3: expected a number, got 'abc'");
  CHECK(e.file() == "data.csv");
  CHECK(e.line() == 12);
  CHECK(e.column() == 3);
  const std::runtime_error& base = e;  // catchable as std::runtime_error
  CHECK(std::string(base.what()).find("data.csv") == 0);
}

TEST_CASE("require throws std::invalid_argument with the function name first", "[foundation][errors]") {
  ATTNSEL_CHECK_INVALID(attnsel::detail::require(false, "attnsel::f", "argument 'k' is ", 7, ", expected <= ", 3),
                        "attnsel::f: argument 'k' is 7, expected <= 3");
  CHECK_NOTHROW(attnsel::detail::require(true, "attnsel::f", "unused"));
}

namespace {
struct Printable {
  int id;
};
std::ostream& operator<<(std::ostream& os, const Printable& p) { return os << "<printable " << p.id << ">"; }
enum class Colour { red };
std::ostream& operator<<(std::ostream& os, Colour) { return os << "red"; }
}  // namespace

TEST_CASE("every kind of message part prints as operator<< would", "[foundation][errors]") {
  // A part keeps a printed object by address: temporaries of the calling expression live
  // through the call, and the message is built before it returns.
  const std::string name = std::string("col") + std::string(1, '\0') + "x";
  ATTNSEL_CHECK_INVALID(attnsel::detail::require(false, "attnsel::g", "a ", Printable{7}, " b ", Colour::red, " c ",
                                                 std::string("temp") + "orary", ' ', 'q', " ", -3L, " ", 4u, " ",
                                                 0.5f, " ", 0.25, " ", static_cast<const char*>(nullptr)),
                        "attnsel::g: a <printable 7> b red c temporary q -3 4 0.5 0.25 (null)");
  CHECK(attnsel::detail::concat("n=", name, '|', Printable{2}) == std::string("n=col") + '\0' + "x|<printable 2>");
  CHECK(std::is_trivially_destructible_v<attnsel::detail::MessagePart>);
}

template <class T>
void check_all_finite_every_position() {
  using attnsel::detail::all_finite;
  const T bad[] = {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity(),
                   -std::numeric_limits<T>::infinity()};
  attnsel::RowMatrix<T> R = attnsel::RowMatrix<T>::Constant(7, 5, std::numeric_limits<T>::max());
  Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> C = R;
  CHECK(all_finite(R));
  CHECK(all_finite(C));
  CHECK(all_finite(R.block(1, 1, 4, 3)));
  CHECK(all_finite(attnsel::RowMatrix<T>(0, 5)));
  for (const T b : bad)
    for (Eigen::Index i = 0; i < R.rows(); ++i)
      for (Eigen::Index j = 0; j < R.cols(); ++j) {
        attnsel::RowMatrix<T> Rb = R;
        Rb(i, j) = b;
        Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> Cb = Rb;
        CHECK_FALSE(all_finite(Rb));
        CHECK_FALSE(all_finite(Cb));
        CHECK_FALSE(all_finite(Rb.row(i)));
        CHECK_FALSE(all_finite(Cb.col(j)));
        // A block that leaves the bad coefficient out is finite.
        CHECK(all_finite(Rb.block(i == 0 ? 1 : 0, 0, 1, 5)));
      }
}

TEST_CASE("detail::all_finite finds NaN and inf anywhere, in either storage order and in blocks", "[foundation]") {
  check_all_finite_every_position<float>();
  check_all_finite_every_position<double>();
}

TEST_CASE("the library links from several TUs of one binary (ODR)", "[foundation]") {
  CHECK(attnsel_odr_a() == 1);
  CHECK(attnsel_odr_b() == 1);
}

TEST_CASE("an exception thrown on an OpenMP thread reaches the caller of the parallel helpers", "[foundation][errors]") {
  // Enough work to go parallel on 2 threads when built with OpenMP. Without the hand-over an
  // exception leaving the parallel region is std::terminate, and this test aborts.
#if defined(_OPENMP)
  const int saved = omp_get_max_threads();
  omp_set_num_threads(2);
#endif
  std::atomic<int> ran{0};
  CHECK_THROWS_WITH(attnsel::detail::for_row_chunks(8 * 16, 16, 1e9,
                                                    [&](std::ptrdiff_t r0, std::ptrdiff_t) {
                                                      ++ran;
                                                      if (r0 == 3 * 16) throw std::runtime_error("chunk 3 failed");
                                                    }),
                    "chunk 3 failed");
  ran = 0;
  CHECK_THROWS_WITH(attnsel::detail::for_chunks(attnsel::Index(1) << 17,
                                                [&](attnsel::Index begin, attnsel::Index) {
                                                  ++ran;
                                                  if (begin == 0) throw std::invalid_argument("piece 0 failed");
                                                }),
                    "piece 0 failed");
#if defined(_OPENMP)
  CHECK(ran == 8);  // the other pieces still ran
  omp_set_num_threads(saved);
#endif
}
