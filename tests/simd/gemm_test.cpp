// The dense product kernel (simd/gemm.hpp), on the scalar fallback and on the default xsimd arch,
// against a long-double reference: m, n, k in {0, 1, lanes-1, lanes, lanes+1, ...}, every
// combination of transposed operands, odd strides, unaligned starts, C's padding untouched; and
// its order property: a row's bits do not depend on the other rows of the call.
#include "../catch_compat.hpp"
#include "../reference.hpp"
#include "test_support.hpp"

#include <attnsel/simd/gemm.hpp>

#include <cmath>
#include <cstddef>
#include <vector>

using namespace attnsel_test;
namespace kernels = attnsel::simd::kernels;
using attnsel::simd::GemmOperand;

namespace {

/// A rows x cols matrix stored row-major (or column-major: `transposed`) in a buffer with
/// `pad` extra values per stored line and `off` values before the first one.
template <class T>
struct Strided {
  Strided(std::size_t rows, std::size_t cols, bool transposed, std::size_t pad, std::size_t off, unsigned seed)
      : r(rows), c(cols), t(transposed), ld((transposed ? rows : cols) + pad), o(off) {
    const std::size_t lines = transposed ? cols : rows;
    buf = ref::uniform<T>(off + lines * ld + 1, seed);
  }
  T at(std::size_t i, std::size_t j) const { return buf[o + (t ? j * ld + i : i * ld + j)]; }
  GemmOperand<T> operand() const {
    return t ? GemmOperand<T>{buf.data() + o, 1, std::ptrdiff_t(ld)} : GemmOperand<T>{buf.data() + o, std::ptrdiff_t(ld), 1};
  }
  std::size_t r, c;
  bool t;
  std::size_t ld, o;
  std::vector<T> buf;
};

template <class T, class Arch>
std::vector<T> run_gemm(Arch arch, std::size_t m, std::size_t n, std::size_t k, GemmOperand<T> a,
                        GemmOperand<T> b, std::size_t ldc, T fill) {
  std::vector<T> c(m * ldc + 1, fill);
  std::vector<T> work(kernels::gemm_work_size<T, Arch>(n, k) + 1);
  kernels::gemm{}(arch, m, n, k, a, b, c.data(), ldc, work.data());
  return c;
}

}  // namespace

TEMPLATE_TEST_CASE("gemm matches the reference for every shape, transpose and stride", "[simd][gemm]", float, double) {
  using T = TestType;
  const std::size_t L = attnsel::simd::lanes<T, attnsel::simd::default_arch>();
  const std::vector<std::size_t> dims{0, 1, L - 1, L, L + 1, 2 * L + 1, 4 * L + 3};
  for_each_arch([&](auto arch) {
    for (std::size_t m : dims)
      for (std::size_t n : dims)
        for (std::size_t k : dims)
          for (int ops = 0; ops < 4; ++ops) {
            const bool ta = ops & 1, tb = ops & 2;
            const std::size_t pad = (m + n + k) % 3;
            INFO("arch " << arch_label(arch) << " m " << m << " n " << n << " k " << k << " ta " << ta << " tb " << tb);
            const Strided<T> A(m, k, ta, pad, 1, unsigned(3 + m + 7 * k)), B(k, n, tb, pad + 1, 3, unsigned(5 + n + 11 * k));
            const std::size_t ldc = n + 2;
            const auto c = run_gemm<T>(arch, m, n, k, A.operand(), B.operand(), ldc, T(-777));
            for (std::size_t i = 0; i < m; ++i) {
              for (std::size_t j = 0; j < n; ++j) {
                long double s = 0, scale = 0;
                for (std::size_t p = 0; p < k; ++p) {
                  s += (long double)A.at(i, p) * B.at(p, j);
                  scale += std::fabs((long double)A.at(i, p) * B.at(p, j));
                }
                CHECK(std::fabs(c[i * ldc + j] - s) <= tol<T>(k, scale));
              }
              for (std::size_t j = n; j < ldc && i * ldc + j < c.size(); ++j) CHECK(c[i * ldc + j] == T(-777));
            }
            CHECK(c.back() == T(-777));
          }
  });
}

TEMPLATE_TEST_CASE("gemm overwrites C, and k == 0 gives zeros", "[simd][gemm]", float, double) {
  using T = TestType;
  for_each_arch([](auto arch) {
    const Strided<T> A(5, 0, false, 0, 0, 1), B(0, 9, false, 0, 0, 2);
    const auto c = run_gemm<T>(arch, 5, 9, 0, A.operand(), B.operand(), 9, T(3));
    for (std::size_t i = 0; i < 45; ++i) CHECK(c[i] == T(0));
    const Strided<T> A2(5, 300, false, 0, 0, 3), B2(300, 9, true, 0, 0, 4);  // k above the depth block
    const auto c1 = run_gemm<T>(arch, 5, 9, 300, A2.operand(), B2.operand(), 9, T(3));
    const auto c2 = run_gemm<T>(arch, 5, 9, 300, A2.operand(), B2.operand(), 9, T(-1e30));
    for (std::size_t i = 0; i < 45; ++i) CHECK(c1[i] == c2[i]);
  });
}

TEMPLATE_TEST_CASE("a row of a gemm has the same bits whatever the other rows of the call", "[simd][gemm]", float, double) {
  // Each entry is one p-ordered chain of multiply-adds: splitting the rows into calls (as the
  // training floor does across threads) or moving a row within a tile changes nothing.
  using T = TestType;
  for_each_arch([](auto arch) {
    for (std::size_t k : {std::size_t(7), std::size_t(257), std::size_t(600)}) {
      for (int tb = 0; tb < 2; ++tb) {
        const std::size_t m = 139, n = 37;
        INFO("arch " << arch_label(arch) << " k " << k << " tb " << tb);
        const Strided<T> A(m, k, false, 1, 0, 17), B(k, n, tb == 1, 2, 1, 19);
        const auto whole = run_gemm<T>(arch, m, n, k, A.operand(), B.operand(), n, T(0));
        for (std::size_t first : {std::size_t(0), std::size_t(1), std::size_t(5), std::size_t(130), std::size_t(138)}) {
          for (std::size_t rows : {std::size_t(1), std::size_t(3), std::size_t(9)}) {
            if (first + rows > m) continue;
            GemmOperand<T> a = A.operand();
            a.data += std::ptrdiff_t(first) * a.row_stride;
            const auto part = run_gemm<T>(arch, rows, n, k, a, B.operand(), n, T(0));
            for (std::size_t i = 0; i < rows * n; ++i) CHECK(part[i] == whole[first * n + i]);
          }
        }
      }
    }
  });
}

TEMPLATE_TEST_CASE("gemm propagates NaN and inf like the reference", "[simd][gemm]", float, double) {
  using T = TestType;
  for_each_arch([](auto arch) {
    const std::size_t m = 6, n = 21, k = 13;
    Strided<T> A(m, k, false, 0, 0, 23), B(k, n, false, 0, 0, 29);
    A.buf[2 * k + 4] = std::numeric_limits<T>::quiet_NaN();        // row 2
    B.buf[5 * n + 20] = std::numeric_limits<T>::infinity();        // column 20
    const auto c = run_gemm<T>(arch, m, n, k, A.operand(), B.operand(), n, T(0));
    for (std::size_t j = 0; j < n; ++j) CHECK(std::isnan(c[2 * n + j]));
    for (std::size_t i = 0; i < m; ++i) {
      if (i == 2) continue;
      CHECK(std::isinf(c[i * n + 20]));
      CHECK(std::isfinite(c[i * n + 19]));
    }
  });
}
