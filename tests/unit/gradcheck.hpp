// Central finite differences for the gradient checks (double precision).
#pragma once

#include <attnsel/attnsel.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace gradcheck {

using M = attnsel::RowMatrix<double>;

/// Entries a central difference is taken for: every one; in the sanitizer build (where one costs
/// 10 to 20 times as much and the job is to catch memory errors, which every entry's pass
/// exercises alike) one in `sanitized_stride`, on a diagonal pattern that visits every row and
/// column. `rel_error` compares only the entries taken.
#if defined(ATTNSEL_TEST_SANITIZED)
inline constexpr Eigen::Index sanitized_stride = 4;
#else
inline constexpr Eigen::Index sanitized_stride = 1;
#endif

/// Whether entry (r, c) is one a central difference is taken for.
inline bool taken(Eigen::Index r, Eigen::Index c) { return (r + c) % sanitized_stride == 0; }

/// Numerical gradient of f w.r.t. the entries of `x` (x is restored afterwards); NaN where no
/// difference is taken (see sanitized_stride).
inline M numeric(M& x, const std::function<double()>& f, double h = 1e-5) {
  M g(x.rows(), x.cols());
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    const Eigen::Index r = i / std::max<Eigen::Index>(1, x.cols()), c = i % std::max<Eigen::Index>(1, x.cols());
    if (!taken(r, c)) {
      g.data()[i] = std::numeric_limits<double>::quiet_NaN();
      continue;
    }
    const double keep = x.data()[i];
    x.data()[i] = keep + h;
    const double fp = f();
    x.data()[i] = keep - h;
    const double fm = f();
    x.data()[i] = keep;
    g.data()[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/// ||a - b|| / max(||a|| + ||b||, tiny) over the entries a central difference is taken for (all
/// of them but in the sanitizer build; either argument may be the numerical gradient): the
/// relative error the issue bounds by 1e-6. A NaN among those entries makes it NaN (a failure).
inline double rel_error(const M& a, const M& b) {
  if (sanitized_stride == 1) {
    const double denom = a.norm() + b.norm();
    return denom < 1e-300 ? 0.0 : (a - b).norm() / denom;
  }
  double d = 0, na = 0, nb = 0;
  for (Eigen::Index r = 0; r < a.rows(); ++r)
    for (Eigen::Index c = 0; c < a.cols(); ++c)
      if (taken(r, c)) {
        d += (a(r, c) - b(r, c)) * (a(r, c) - b(r, c));
        na += a(r, c) * a(r, c);
        nb += b(r, c) * b(r, c);
      }
  const double denom = std::sqrt(na) + std::sqrt(nb);
  return denom < 1e-300 ? (d == d ? 0.0 : d) : std::sqrt(d) / denom;
}

/// A random matrix whose entries stay at least `gap` away from 0 (keeps ReLU kinks away).
inline M random_away_from_zero(Eigen::Index r, Eigen::Index c, attnsel::Rng& rng, double gap = 0.05) {
  M x(r, c);
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    double v = attnsel::random::uniform(rng, -1.0, 1.0);
    if (std::fabs(v) < gap) v = v < 0 ? v - gap : v + gap;
    x.data()[i] = v;
  }
  return x;
}

}  // namespace gradcheck
