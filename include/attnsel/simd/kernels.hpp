// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file simd/kernels.hpp
/// The kernel functors. Each is written once against `xsimd::batch<T, Arch>` (unaligned loads
/// and stores, a scalar tail) and has a `scalar_arch` overload that runs the portable code of
/// scalar.hpp. Call them with an arch tag:
///
/// @code
///   float d = attnsel::simd::kernels::dot{}(xsimd::avx2{}, x, y, n);          // explicit arch
///   float e = attnsel::simd::kernels::dot{}(attnsel::simd::scalar_arch{}, x, y, n);
/// @endcode
///
/// or through the dispatching functions of dispatch.hpp, which pick `arch_for<T>`. The functors
/// follow the xsimd dispatch pattern (templated `operator()` defined out of line), so they can
/// be instantiated per arch in separately compiled TUs (see docs/conventions.md §5).
///
/// Preconditions (not checked here; the Eigen-level functions in ops.hpp check them):
/// pointers valid for the sizes given, `n == 0` allowed with any pointer, masks hold 0 (not a
/// candidate) or non-zero (candidate), `mask == nullptr` means every entry is a candidate, no NaN
/// among candidate logits for argmax/top-k. Outputs may alias inputs exactly (in place) where noted.

#include <cstddef>

#include "arch.hpp"
#include "scalar.hpp"

ATTNSEL_NAMESPACE_BEGIN
namespace simd {
ATTNSEL_SIMD_NAMESPACE_BEGIN
namespace kernels {

/// sum_i x[i] * y[i]. Complexity O(n).
struct dot {
  template <class Arch, class T>
  T operator()(Arch, const T* x, const T* y, std::size_t n) const noexcept;
  template <class T>
  T operator()(scalar_arch, const T* x, const T* y, std::size_t n) const noexcept {
    return scalar::dot(x, y, n);
  }
};

/// One pass over x: rounds it to float into `out` and returns Σx², max|x| and Σx·y (0 when
/// y == nullptr). For the float screening of OMP's correlations (selection/omp.hpp). NaN in x
/// makes the sums NaN (max|x| is then unspecified). `out` must not overlap x or y.
struct narrow_stats {
  template <class Arch, class T>
  NarrowStats<T> operator()(Arch, const T* x, const T* y, float* out, std::size_t n) const noexcept;
  template <class T>
  NarrowStats<T> operator()(scalar_arch, const T* x, const T* y, float* out, std::size_t n) const noexcept {
    return scalar::narrow_stats(x, y, out, n);
  }
};

/// sum_i x[i]; 0 for n == 0.
struct sum {
  template <class Arch, class T>
  T operator()(Arch, const T* x, std::size_t n) const noexcept;
  template <class T>
  T operator()(scalar_arch, const T* x, std::size_t n) const noexcept {
    return scalar::sum(x, n);
  }
};

/// max_i x[i]; -inf for n == 0.
struct max {
  template <class Arch, class T>
  T operator()(Arch, const T* x, std::size_t n) const noexcept;
  template <class T>
  T operator()(scalar_arch, const T* x, std::size_t n) const noexcept {
    return scalar::max(x, n);
  }
};

/// y[i] += a * x[i].
struct axpy {
  template <class Arch, class T>
  void operator()(Arch, T a, const T* x, T* y, std::size_t n) const noexcept;
  template <class T>
  void operator()(scalar_arch, T a, const T* x, T* y, std::size_t n) const noexcept {
    scalar::axpy(a, x, y, n);
  }
};

/// out[i] = a * x[i]; out == x allowed.
struct scale {
  template <class Arch, class T>
  void operator()(Arch, T a, const T* x, T* out, std::size_t n) const noexcept;
  template <class T>
  void operator()(scalar_arch, T a, const T* x, T* out, std::size_t n) const noexcept {
    scalar::scale(a, x, out, n);
  }
};

/// out[i] = x[i] * y[i] + z[i] (z == nullptr: x[i] * y[i]); fused where the instruction set has
/// FMA, so the last bit may differ between instruction sets. out may be x, y or z (elementwise).
struct mul_add {
  template <class Arch, class T>
  void operator()(Arch, const T* x, const T* y, const T* z, T* out, std::size_t n) const noexcept;
  template <class T>
  void operator()(scalar_arch, const T* x, const T* y, const T* z, T* out, std::size_t n) const noexcept {
    scalar::mul_add(x, y, z, out, n);
  }
};

/// out[i] = x[i] - y[i]; out may be x or y.
struct sub {
  template <class Arch, class T>
  void operator()(Arch, const T* x, const T* y, T* out, std::size_t n) const noexcept;
  template <class T>
  void operator()(scalar_arch, const T* x, const T* y, T* out, std::size_t n) const noexcept {
    scalar::sub(x, y, out, n);
  }
};

/// out[i] = max(x[i], 0) (NaN -> 0); out == x allowed.
struct relu {
  template <class Arch, class T>
  void operator()(Arch, const T* x, T* out, std::size_t n) const noexcept;
  template <class T>
  void operator()(scalar_arch, const T* x, T* out, std::size_t n) const noexcept {
    scalar::relu(x, out, n);
  }
};

/// ReLU's backward pass: dx[i] = dy[i] where y[i] > 0, else +0 (y NaN -> 0; a NaN in dy where
/// y > 0 passes through); dx == dy allowed. A select, not a branch: bitwise the scalar loop.
struct relu_backward {
  template <class Arch, class T>
  void operator()(Arch, const T* y, const T* dy, T* dx, std::size_t n) const noexcept;
  template <class T>
  void operator()(scalar_arch, const T* y, const T* dy, T* dx, std::size_t n) const noexcept {
    scalar::relu_backward(y, dy, dx, n);
  }
};

/// One Adam update of n parameters (scalar.hpp's adam): w, g, m, v updated in place.
struct adam {
  template <class Arch, class T>
  void operator()(Arch, const AdamStep<T>& s, T* w, T* g, T* m, T* v, std::size_t n) const noexcept;
  template <class T>
  void operator()(scalar_arch, const AdamStep<T>& s, T* w, T* g, T* m, T* v, std::size_t n) const noexcept {
    scalar::adam(s, w, g, m, v, n);
  }
};

/// Numerically stable softmax over the candidates: out[i] = exp(x[i] - m) / s for candidates,
/// exactly 0 for the others (whatever their logits); all zeros when there is no candidate or
/// every candidate is -inf. Returns {m, s}. out == x allowed.
struct softmax {
  template <class Arch, class T>
  SoftmaxStats<T> operator()(Arch, const T* x, const T* mask, T* out, std::size_t n) const noexcept;
  template <class T>
  SoftmaxStats<T> operator()(scalar_arch, const T* x, const T* mask, T* out,
                             std::size_t n) const noexcept {
    return scalar::softmax(x, mask, out, n);
  }
};

/// log(sum over candidates of exp(x[i])), computed stably; -inf when there is no candidate.
struct log_sum_exp {
  template <class Arch, class T>
  T operator()(Arch, const T* x, const T* mask, std::size_t n) const noexcept;
  template <class T>
  T operator()(scalar_arch, const T* x, const T* mask, std::size_t n) const noexcept {
    return scalar::log_sum_exp(x, mask, n);
  }
};

/// Row-wise softmax of a row-major rows x cols matrix: row r over its first min(len(r), cols)
/// entries, zeros after (a row of length 0 is all zeros). `len` is any callable
/// `std::size_t(std::size_t row)`. out == in with the same stride allowed.
struct softmax_rows {
  template <class Arch, class T, class RowLength>
  void operator()(Arch, const T* in, std::size_t in_stride, T* out, std::size_t out_stride,
                  std::size_t rows, std::size_t cols, RowLength len) const noexcept;
  template <class T, class RowLength>
  void operator()(scalar_arch, const T* in, std::size_t in_stride, T* out,
                  std::size_t out_stride, std::size_t rows, std::size_t cols,
                  RowLength len) const noexcept {
    scalar::softmax_rows(in, in_stride, out, out_stride, rows, cols, len);
  }
};

/// Index of the largest candidate, lowest index on ties; npos when there is no candidate.
struct argmax {
  template <class Arch, class T>
  std::size_t operator()(Arch, const T* x, const T* mask, std::size_t n) const noexcept;
  template <class T>
  std::size_t operator()(scalar_arch, const T* x, const T* mask, std::size_t n) const noexcept {
    return scalar::argmax(x, mask, n);
  }
};

/// Prefix sums of a vector, inclusive or exclusive; out == x allowed. The SIMD version runs
/// independent partial scans and then adds the carries, so its rounding can differ from a
/// sequential sum by a few ulps of the running total.
struct scan {
  template <class Arch, class T>
  void operator()(Arch, const T* x, T* out, std::size_t n, bool exclusive) const noexcept;
  template <class T>
  void operator()(scalar_arch, const T* x, T* out, std::size_t n, bool exclusive) const noexcept {
    (void)scalar::scan(x, out, n, exclusive);
  }
};

/// Cumulative sums down the rows of a row-major matrix (per column, vectorised across columns);
/// inclusive or exclusive; out == in with the same stride allowed.
struct scan_rows {
  template <class Arch, class T>
  void operator()(Arch, const T* in, std::size_t in_stride, T* out, std::size_t out_stride,
                  std::size_t rows, std::size_t cols, bool exclusive) const noexcept;
  template <class T>
  void operator()(scalar_arch, const T* in, std::size_t in_stride, T* out,
                  std::size_t out_stride, std::size_t rows, std::size_t cols,
                  bool exclusive) const noexcept {
    scalar::scan_rows(in, in_stride, out, out_stride, rows, cols, exclusive);
  }
};

}  // namespace kernels
ATTNSEL_SIMD_NAMESPACE_END
}  // namespace simd
ATTNSEL_NAMESPACE_END

#include "kernels_impl.hpp"
