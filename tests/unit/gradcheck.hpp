// Central finite differences for the gradient checks (double precision).
#pragma once

#include <attnsel/attnsel.hpp>

#include <cmath>
#include <functional>

namespace gradcheck {

using M = attnsel::RowMatrix<double>;

/// Numerical gradient of f w.r.t. every entry of `x` (x is restored afterwards).
inline M numeric(M& x, const std::function<double()>& f, double h = 1e-5) {
  M g(x.rows(), x.cols());
  for (Eigen::Index i = 0; i < x.size(); ++i) {
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

/// ||a - b|| / max(||a|| + ||b||, tiny): the relative error the issue bounds by 1e-6.
inline double rel_error(const M& a, const M& b) {
  const double denom = a.norm() + b.norm();
  return denom < 1e-300 ? 0.0 : (a - b).norm() / denom;
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
