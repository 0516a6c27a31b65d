// Second TU of the ODR check: uses non-template and template parts of the whole library.
#include <attnsel/attnsel.hpp>

int attnsel_odr_a() {
  Eigen::VectorXf x(4), m(4);
  x << 1, 5, 3, 5;
  m << 1, 1, 0, 1;
  try {
    attnsel::detail::require(false, "odr", "check");
  } catch (const std::invalid_argument&) {
  }
  const attnsel::parse_error e("f", 1, 1, "m");
  return static_cast<int>(attnsel::masked_argmax(x, m)) + static_cast<int>(e.line()) - 1 +
         static_cast<int>(attnsel::masked_top_k(x, m, 1)[0]) - 1;
}
