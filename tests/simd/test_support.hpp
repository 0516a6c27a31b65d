// Shared helpers for the kernel tests: arch loop, sizes, offset buffers, tolerances.
#pragma once

#include <attnsel/simd/simd.hpp>

#include <cmath>
#include <cstddef>
#include <limits>
#include <set>
#include <type_traits>
#include <vector>

namespace attnsel_test {

namespace simd = attnsel::simd;

/// Calls f(arch) for the scalar fallback and, when SIMD is on, for the default xsimd arch.
template <class F>
void for_each_arch(F&& f) {
  f(simd::scalar_arch{});
  if constexpr (!std::is_same_v<simd::default_arch, simd::scalar_arch>) f(simd::default_arch{});
}

template <class Arch>
const char* arch_label(Arch) {
  return Arch::name();
}

/// n in {0, 1, lanes-1, lanes, lanes+1, 2*lanes+1, 4*lanes+3, 255, 256, 257, 1003}.
template <class T>
std::vector<std::size_t> sizes() {
  const std::size_t L = simd::lanes<T, simd::default_arch>();
  std::set<std::size_t> s{0, 1, L - 1, L, L + 1, 2 * L + 1, 4 * L + 3, 255, 256, 257, 1000 + 3};
  return {s.begin(), s.end()};
}

/// Start offsets (in elements) used to make data unaligned.
inline std::vector<std::size_t> offsets() { return {0, 1, 3}; }

/// Copy of `v` placed `offset` elements into a larger buffer, with a guard value after it.
template <class T>
class Shifted {
 public:
  Shifted(const std::vector<T>& v, std::size_t offset)
      : storage_(v.size() + offset + 1, T(-777)), offset_(offset), n_(v.size()) {
    std::copy(v.begin(), v.end(), storage_.begin() + static_cast<std::ptrdiff_t>(offset));
  }
  T* data() { return storage_.data() + offset_; }
  const T* data() const { return storage_.data() + offset_; }
  T operator[](std::size_t i) const { return data()[i]; }
  std::size_t size() const { return n_; }
  /// The element right after the view was not touched.
  bool guard_intact() const { return storage_[offset_ + n_] == T(-777); }
  /// The elements before the view were not touched.
  bool prefix_intact() const {
    for (std::size_t i = 0; i < offset_; ++i)
      if (storage_[i] != T(-777) && storage_[i] != T(0)) return false;
    return true;
  }

 private:
  std::vector<T> storage_;
  std::size_t offset_;
  std::size_t n_;
};

/// Tolerance for a sum of n terms whose magnitudes add up to `scale`.
template <class T>
long double tol(std::size_t n, long double scale) {
  return 4.0L * std::numeric_limits<T>::epsilon() * static_cast<long double>(n + 2) * scale +
         std::numeric_limits<T>::min();
}

/// Tolerance for one softmax probability `p` (exp of a rounded difference, then a division).
template <class T>
long double softmax_tol(long double p) {
  return 64.0L * std::numeric_limits<T>::epsilon() * p + std::numeric_limits<T>::min();
}

}  // namespace attnsel_test
