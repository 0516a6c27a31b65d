// Seeded synthetic problems shared by the extremes, determinism, concurrency and memory tests.
#pragma once

#include <attnsel/random.hpp>
#include <attnsel/types.hpp>

#include <cstdint>

namespace attnsel_test {

/// n x d standard normal features; the class (0, 1, 2) depends on features `a` and `b` only
/// (a linear score, so both a linear and an MLP selector can find them).
template <class T>
void planted_classes(attnsel::Index n, attnsel::Index d, std::uint64_t seed, attnsel::RowMatrix<T>& X,
                     attnsel::Vector<T>& y, attnsel::Index a = 0, attnsel::Index b = 1) {
  attnsel::Rng rng(seed);
  X.resize(n, d);
  y.resize(n);
  for (attnsel::Index i = 0; i < n; ++i) {
    for (attnsel::Index j = 0; j < d; ++j) X(i, j) = T(attnsel::random::normal(rng));
    const double s = 2.0 * double(X(i, a)) - 1.5 * double(X(i, b));
    y(i) = s > 0.7 ? T(2) : (s < -0.7 ? T(0) : T(1));
  }
}

/// n x d standard normal features, y = 3 x_a − 2 x_b + 0.1 noise.
template <class T>
void planted_regression(attnsel::Index n, attnsel::Index d, std::uint64_t seed, attnsel::RowMatrix<T>& X,
                        attnsel::Vector<T>& y, attnsel::Index a = 0, attnsel::Index b = 1) {
  attnsel::Rng rng(seed);
  X.resize(n, d);
  y.resize(n);
  for (attnsel::Index i = 0; i < n; ++i)
    for (attnsel::Index j = 0; j < d; ++j) X(i, j) = T(attnsel::random::normal(rng));
  for (attnsel::Index i = 0; i < n; ++i)
    y(i) = T(3.0 * double(X(i, a)) - 2.0 * double(X(i, b)) + 0.1 * attnsel::random::normal(rng));
}

/// A rows x cols row-major matrix of N(0, sd²) entries.
template <class T>
attnsel::RowMatrix<T> normal_matrix(attnsel::Index rows, attnsel::Index cols, std::uint64_t seed, double sd = 1.0) {
  attnsel::Rng rng(seed);
  attnsel::RowMatrix<T> m(rows, cols);
  for (attnsel::Index i = 0; i < m.size(); ++i) m.data()[i] = T(attnsel::random::normal(rng, 0.0, sd));
  return m;
}

}  // namespace attnsel_test
