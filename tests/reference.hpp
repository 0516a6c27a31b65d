// Plain, obviously-correct reference implementations (long double) the kernels are tested
// against. Written independently of include/attnsel/simd/scalar.hpp.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <cstdint>
#include <random>
#include <vector>

namespace ref {

using LD = long double;

template <class T>
LD dot(const std::vector<T>& x, const std::vector<T>& y) {
  LD s = 0;
  for (std::size_t i = 0; i < x.size(); ++i) s += LD(x[i]) * LD(y[i]);
  return s;
}

/// Softmax over candidates (mask empty = all), zeros elsewhere; all zeros if no finite-mass candidate.
template <class T>
std::vector<LD> softmax(const std::vector<T>& x, const std::vector<T>& mask) {
  const std::size_t n = x.size();
  auto cand = [&](std::size_t i) { return mask.empty() || mask[i] != T(0); };
  LD m = -std::numeric_limits<LD>::infinity();
  for (std::size_t i = 0; i < n; ++i)
    if (cand(i)) m = std::max<LD>(m, x[i]);
  std::vector<LD> out(n, 0);
  if (m == -std::numeric_limits<LD>::infinity()) return out;
  LD s = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (cand(i)) s += (out[i] = std::exp(LD(x[i]) - m));
  for (auto& v : out) v /= s;
  return out;
}

template <class T>
LD log_sum_exp(const std::vector<T>& x, const std::vector<T>& mask) {
  auto cand = [&](std::size_t i) { return mask.empty() || mask[i] != T(0); };
  LD m = -std::numeric_limits<LD>::infinity();
  for (std::size_t i = 0; i < x.size(); ++i)
    if (cand(i)) m = std::max<LD>(m, x[i]);
  if (m == -std::numeric_limits<LD>::infinity()) return m;
  LD s = 0;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (cand(i)) s += std::exp(LD(x[i]) - m);
  return m + std::log(s);
}

/// Candidates sorted by value descending, ties by index ascending (full order).
template <class T>
std::vector<std::size_t> order(const std::vector<T>& x, const std::vector<T>& mask) {
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (mask.empty() || mask[i] != T(0)) idx.push_back(i);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return x[a] > x[b]; });
  return idx;
}

template <class T>
std::vector<T> uniform(std::size_t n, std::uint64_t seed, T lo = T(-1), T hi = T(1)) {
  std::mt19937_64 g(seed);
  std::uniform_real_distribution<double> d{static_cast<double>(lo), static_cast<double>(hi)};
  std::vector<T> v(n);
  for (auto& e : v) e = T(d(g));
  return v;
}

/// 0/1 mask with about `p` candidates.
template <class T>
std::vector<T> mask(std::size_t n, std::uint64_t seed, double p = 0.7) {
  std::mt19937_64 g(seed);
  std::bernoulli_distribution d(p);
  std::vector<T> v(n);
  for (auto& e : v) e = d(g) ? T(1) : T(0);
  return v;
}

}  // namespace ref
