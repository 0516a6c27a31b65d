// Every kernel, on the scalar fallback and on the default xsimd arch, against the long-double
// reference: sizes 0, 1, lanes-1, lanes, lanes+1, ..., 1003, unaligned starts, special values.
#include "../catch_compat.hpp"
#include "../reference.hpp"
#include "test_support.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using namespace attnsel_test;
namespace kernels = attnsel::simd::kernels;
using attnsel::simd::npos;
using attnsel::simd::SoftmaxStats;

TEMPLATE_TEST_CASE("dot and sum match the reference", "[simd][reduce]", float, double) {
  using T = TestType;
  for_each_arch([](auto arch) {
    for (std::size_t n : sizes<T>()) {
      for (std::size_t off : offsets()) {
        INFO("arch " << arch_label(arch) << " n " << n << " offset " << off);
        const auto xv = ref::uniform<T>(n, 11 + n);
        const auto yv = ref::uniform<T>(n, 97 + n);
        Shifted<T> x(xv, off), y(yv, off + 1);
        long double scale = 0, abs_sum = 0, ref_sum = 0;
        for (std::size_t i = 0; i < n; ++i) {
          scale += std::fabs((long double)xv[i] * yv[i]);
          abs_sum += std::fabs((long double)xv[i]);
          ref_sum += xv[i];
        }
        const T d = kernels::dot{}(arch, x.data(), y.data(), n);
        CHECK(std::fabs(d - ref::dot(xv, yv)) <= tol<T>(n, scale));
        const T s = kernels::sum{}(arch, x.data(), n);
        CHECK(std::fabs(s - ref_sum) <= tol<T>(n, abs_sum));
      }
    }
  });
}

TEMPLATE_TEST_CASE("narrow_stats rounds to float and matches the reference sums in one pass", "[simd][reduce]", float, double) {
  using T = TestType;
  for_each_arch([](auto arch) {
    for (std::size_t n : sizes<T>()) {
      for (std::size_t off : offsets()) {
        INFO("arch " << arch_label(arch) << " n " << n << " offset " << off);
        auto xv = ref::uniform<T>(n, 5 + n);
        const auto yv = ref::uniform<T>(n, 71 + n);
        if (n > 2) xv[n / 2] = T(-3.5);  // the largest magnitude is negative, mid-vector
        Shifted<T> x(xv, off), y(yv, off + 1);
        std::vector<float> out(n + 2, -7.f);
        long double sq = 0, dt = 0, dt_scale = 0, mx = 0;
        for (std::size_t i = 0; i < n; ++i) {
          sq += (long double)xv[i] * xv[i];
          dt += (long double)xv[i] * yv[i];
          dt_scale += std::fabs((long double)xv[i] * yv[i]);
          mx = std::max(mx, std::fabs((long double)xv[i]));
        }
        const auto st = kernels::narrow_stats{}(arch, x.data(), y.data(), out.data() + 1, n);
        CHECK(std::fabs(st.sum_squares - sq) <= tol<T>(n, sq));
        CHECK(std::fabs(st.dot - dt) <= tol<T>(n, dt_scale));
        CHECK(st.max_abs == T(mx));
        bool rounded = true;
        for (std::size_t i = 0; i < n; ++i) rounded = rounded && out[i + 1] == static_cast<float>(xv[i]);
        CHECK(rounded);
        CHECK(out[0] == -7.f);  // nothing written outside [0, n)
        CHECK(out[n + 1] == -7.f);
        const auto no_y = kernels::narrow_stats{}(arch, x.data(), static_cast<const T*>(nullptr), out.data() + 1, n);
        CHECK(no_y.dot == T(0));
        CHECK(no_y.sum_squares == st.sum_squares);
      }
    }
  });
}

TEMPLATE_TEST_CASE("max finds the largest value, -inf when empty", "[simd][reduce]", float, double) {
  using T = TestType;
  for_each_arch([](auto arch) {
    for (std::size_t n : sizes<T>()) {
      for (std::size_t off : offsets()) {
        INFO("arch " << arch_label(arch) << " n " << n << " offset " << off);
        auto xv = ref::uniform<T>(n, 5 + n, T(-100), T(100));
        if (n > 2) xv[n - 1] = T(1e4);  // the maximum in the tail
        Shifted<T> x(xv, off);
        const T expect = n == 0 ? -std::numeric_limits<T>::infinity() : *std::max_element(xv.begin(), xv.end());
        CHECK(kernels::max{}(arch, x.data(), n) == expect);
      }
    }
  });
}

TEMPLATE_TEST_CASE("axpy, scale and relu are elementwise and in place", "[simd][elementwise]", float, double) {
  using T = TestType;
  for_each_arch([](auto arch) {
    for (std::size_t n : sizes<T>()) {
      for (std::size_t off : offsets()) {
        INFO("arch " << arch_label(arch) << " n " << n << " offset " << off);
        const auto xv = ref::uniform<T>(n, 3 + n);
        const auto yv = ref::uniform<T>(n, 4 + n);
        const T a = T(0.37);
        Shifted<T> x(xv, off), y(yv, off + 2);
        kernels::axpy{}(arch, a, x.data(), y.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
          const long double r = (long double)a * xv[i] + yv[i];
          CHECK(std::fabs(y[i] - r) <= tol<T>(1, std::fabs(r) + 1));
        }
        CHECK(y.guard_intact());

        Shifted<T> out(std::vector<T>(n, T(0)), off + 1);
        kernels::scale{}(arch, a, x.data(), out.data(), n);
        for (std::size_t i = 0; i < n; ++i) CHECK(out[i] == T(a * xv[i]));
        CHECK(out.guard_intact());
        kernels::scale{}(arch, T(2), x.data(), x.data(), n);  // in place
        for (std::size_t i = 0; i < n; ++i) CHECK(x[i] == T(2) * xv[i]);

        Shifted<T> z(xv, off);
        kernels::relu{}(arch, z.data(), z.data(), n);
        for (std::size_t i = 0; i < n; ++i) CHECK(z[i] == (xv[i] > T(0) ? xv[i] : T(0)));
        CHECK(z.guard_intact());
      }
    }
  });
}

TEMPLATE_TEST_CASE("mul_add and sub are elementwise, with or without z, in place on any operand", "[simd][elementwise]",
                   float, double) {
  using T = TestType;
  for_each_arch([](auto arch) {
    for (std::size_t n : sizes<T>()) {
      for (std::size_t off : offsets()) {
        INFO("arch " << arch_label(arch) << " n " << n << " offset " << off);
        const auto xv = ref::uniform<T>(n, 31 + n), yv = ref::uniform<T>(n, 32 + n), zv = ref::uniform<T>(n, 33 + n);
        Shifted<T> x(xv, off), y(yv, off + 1), z(zv, off + 2), out(std::vector<T>(n, T(9)), off + 3);
        // x·y + z: fused or not, within one rounding of the exact value.
        kernels::mul_add{}(arch, x.data(), y.data(), z.data(), out.data(), n);
        for (std::size_t i = 0; i < n; ++i) {
          const long double r = (long double)xv[i] * yv[i] + zv[i];
          CHECK(std::fabs(out[i] - r) <= tol<T>(2, std::fabs((long double)xv[i] * yv[i]) + std::fabs((long double)zv[i])));
        }
        CHECK(out.guard_intact());
        kernels::mul_add{}(arch, x.data(), y.data(), static_cast<const T*>(nullptr), out.data(), n);  // no z: exact product
        for (std::size_t i = 0; i < n; ++i) CHECK(out[i] == T(xv[i] * yv[i]));
        kernels::sub{}(arch, x.data(), y.data(), out.data(), n);
        for (std::size_t i = 0; i < n; ++i) CHECK(out[i] == T(xv[i] - yv[i]));
        CHECK(out.guard_intact());
        // In place: out == z (an accumulation), out == x, out == y.
        kernels::mul_add{}(arch, x.data(), y.data(), z.data(), z.data(), n);
        for (std::size_t i = 0; i < n; ++i)
          CHECK(std::fabs(z[i] - ((long double)xv[i] * yv[i] + zv[i])) <=
                tol<T>(2, std::fabs((long double)xv[i] * yv[i]) + std::fabs((long double)zv[i])));
        kernels::sub{}(arch, x.data(), y.data(), x.data(), n);
        for (std::size_t i = 0; i < n; ++i) CHECK(x[i] == T(xv[i] - yv[i]));
        kernels::mul_add{}(arch, x.data(), y.data(), static_cast<const T*>(nullptr), y.data(), n);
        for (std::size_t i = 0; i < n; ++i) CHECK(y[i] == T(T(xv[i] - yv[i]) * yv[i]));
        CHECK(x.guard_intact());
        CHECK(y.guard_intact());
        CHECK(z.guard_intact());
      }
    }
  });
}

TEMPLATE_TEST_CASE("adam updates weights, gradients and moments in place like the reference", "[simd][elementwise]", float,
                   double) {
  using T = TestType;
  for_each_arch([](auto arch) {
    for (std::size_t n : sizes<T>()) {
      for (std::size_t off : offsets()) {
        for (int variant = 0; variant < 3; ++variant) {  // plain, coupled l2, decoupled decay
          INFO("arch " << arch_label(arch) << " n " << n << " offset " << off << " variant " << variant);
          const auto w0 = ref::uniform<T>(n, 7 + n), g0 = ref::uniform<T>(n, 8 + n);
          const auto m0 = ref::uniform<T>(n, 9 + n, T(-0.1), T(0.1));
          auto v0 = ref::uniform<T>(n, 10 + n, T(0), T(0.05));
          const attnsel::simd::AdamStep<T> st{T(0.9),  T(0.999), T(0.01 / 0.271), T(1 - 0.997),
                                               T(1e-7), variant == 2 ? T(1e-3) : T(0), variant == 1 ? T(0.05) : T(0)};
          Shifted<T> w(w0, off), g(g0, off + 1), m(m0, off + 2), v(v0, off);
          kernels::adam{}(arch, st, w.data(), g.data(), m.data(), v.data(), n);
          bool close = true;
          for (std::size_t i = 0; i < n; ++i) {
            const long double gi = (long double)g0[i] + (long double)st.l2 * w0[i];
            const long double mi = (long double)st.beta1 * m0[i] + (1.0L - (long double)st.beta1) * gi;
            const long double vi = (long double)st.beta2 * v0[i] + (1.0L - (long double)st.beta2) * gi * gi;
            long double wi = w0[i] - (long double)st.decay * w0[i];
            const long double delta = (long double)st.step * mi / (std::sqrt(vi / (long double)st.c2) + st.eps);
            wi -= delta;
            const long double e = 64.0L * std::numeric_limits<T>::epsilon();
            close = close && std::fabs(g[i] - gi) <= e * (std::fabs(gi) + 1) &&
                    std::fabs(m[i] - mi) <= e * (std::fabs(mi) + 1e-3L) &&
                    std::fabs(v[i] - vi) <= e * (std::fabs(vi) + 1e-6L) &&
                    std::fabs(w[i] - wi) <= e * (std::fabs(w0[i]) + std::fabs(delta) + 1e-3L);
          }
          CHECK(close);
          CHECK(w.guard_intact());
          CHECK(g.guard_intact());
          CHECK(m.guard_intact());
          CHECK(v.guard_intact());
        }
      }
    }
  });
}

TEMPLATE_TEST_CASE("relu_backward passes dy where y > 0, in place too, bitwise the scalar loop", "[simd][elementwise]",
                   float, double) {
  using T = TestType;
  for_each_arch([](auto arch) {
    for (std::size_t n : sizes<T>()) {
      for (std::size_t off : offsets()) {
        INFO("arch " << arch_label(arch) << " n " << n << " offset " << off);
        auto yv = ref::uniform<T>(n, 21 + n);
        const auto gv = ref::uniform<T>(n, 22 + n);
        for (std::size_t i = 0; i < n; i += 7) yv[i] = T(0);  // exact zeros: not > 0
        if (n > 3) yv[3] = std::numeric_limits<T>::quiet_NaN();
        Shifted<T> y(yv, off), g(gv, off + 1), dx(std::vector<T>(n, T(9)), off + 2);
        kernels::relu_backward{}(arch, y.data(), g.data(), dx.data(), n);
        for (std::size_t i = 0; i < n; ++i) CHECK(dx[i] == (yv[i] > T(0) ? gv[i] : T(0)));
        CHECK(dx.guard_intact());
        kernels::relu_backward{}(arch, y.data(), g.data(), g.data(), n);  // dx == dy
        for (std::size_t i = 0; i < n; ++i) CHECK(g[i] == (yv[i] > T(0) ? gv[i] : T(0)));
        CHECK(g.guard_intact());
      }
    }
    // A NaN gradient where y > 0 passes through; where y <= 0 it becomes +0.
    const std::size_t n = 2 * attnsel::simd::lanes<T, decltype(arch)>() + 1;
    std::vector<T> y(n, T(1)), g(n, std::numeric_limits<T>::quiet_NaN()), dx(n, T(5));
    y[0] = T(-1);
    y[n - 1] = T(-0.0);
    kernels::relu_backward{}(arch, y.data(), g.data(), dx.data(), n);
    CHECK(dx[0] == T(0));
    CHECK(!std::signbit(dx[0]));
    CHECK(dx[n - 1] == T(0));
    for (std::size_t i = 1; i + 1 < n; ++i) CHECK(std::isnan(dx[i]));
  });
}

TEMPLATE_TEST_CASE("relu maps NaN and -0 to +0", "[simd][elementwise]", float, double) {
  using T = TestType;
  for_each_arch([](auto arch) {
    const std::size_t n = 2 * attnsel::simd::lanes<T, decltype(arch)>() + 3;
    std::vector<T> v(n, std::numeric_limits<T>::quiet_NaN());
    v[1] = T(-0.0);
    v[2] = std::numeric_limits<T>::infinity();
    std::vector<T> out(n, T(5));
    kernels::relu{}(arch, v.data(), out.data(), n);
    CHECK(out[0] == T(0));
    CHECK(out[1] == T(0));
    CHECK(out[2] == std::numeric_limits<T>::infinity());
    for (std::size_t i = 3; i < n; ++i) CHECK(out[i] == T(0));
  });
}

namespace {

template <class T, class Arch>
void check_softmax(Arch arch, const std::vector<T>& xv, const std::vector<T>& mv, std::size_t off) {
  const std::size_t n = xv.size();
  Shifted<T> x(xv, off), m(mv, off + 1), out(std::vector<T>(n, T(-1)), off + 2);
  const T* mask = mv.empty() ? nullptr : m.data();
  const SoftmaxStats<T> st = kernels::softmax{}(arch, x.data(), mask, out.data(), n);
  const std::vector<long double> r = ref::softmax(xv, mv);
  long double total = 0;
  bool any = false;
  for (std::size_t i = 0; i < n; ++i) {
    const bool cand = mv.empty() || mv[i] != T(0);
    if (!cand) {
      CHECK(out[i] == T(0));
    } else {
      CHECK(std::fabs(out[i] - r[i]) <= softmax_tol<T>(r[i]));
      any = any || r[i] > 0;
    }
    CHECK(std::isfinite(out[i]));
    total += out[i];
  }
  CHECK(out.guard_intact());
  if (any) {
    CHECK(std::fabs(total - 1) <= tol<T>(n, 1));
    CHECK(std::isfinite(st.sum));
    CHECK(st.sum >= T(1));
  } else {
    CHECK(total == 0);
    CHECK(st.sum == T(0));
    CHECK(st.max == -std::numeric_limits<T>::infinity());
  }
  const T lse = kernels::log_sum_exp{}(arch, x.data(), mask, n);
  const long double rl = ref::log_sum_exp(xv, mv);
  if (std::isinf(rl)) {
    CHECK(lse == -std::numeric_limits<T>::infinity());
  } else {
    CHECK(std::fabs(lse - rl) <= 16 * std::numeric_limits<T>::epsilon() * (std::fabs(rl) + 1));
  }
  // In place: out == x.
  Shifted<T> y(xv, off);
  kernels::softmax{}(arch, y.data(), mask, y.data(), n);
  for (std::size_t i = 0; i < n; ++i) CHECK(y[i] == out[i]);
}

}  // namespace

TEMPLATE_TEST_CASE("masked softmax and log-sum-exp match the reference", "[simd][softmax]", float, double) {
  using T = TestType;
  for_each_arch([](auto arch) {
    for (std::size_t n : sizes<T>()) {
      for (std::size_t off : offsets()) {
        INFO("arch " << arch_label(arch) << " n " << n << " offset " << off);
        const auto xv = ref::uniform<T>(n, 21 + n, T(-8), T(8));
        check_softmax<T>(arch, xv, ref::mask<T>(n, 77 + n), off);
        check_softmax<T>(arch, xv, std::vector<T>{}, off);  // unmasked
      }
    }
  });
}

TEMPLATE_TEST_CASE("softmax special values: +-1e4, -inf, all-masked, NaN outside the mask", "[simd][softmax]", float, double) {
  using T = TestType;
  const T inf = std::numeric_limits<T>::infinity();
  for_each_arch([&](auto arch) {
    for (std::size_t n : sizes<T>()) {
      if (n == 0) continue;
      INFO("arch " << arch_label(arch) << " n " << n);
      // Huge logits of both signs: no overflow, the largest wins.
      auto big = ref::uniform<T>(n, 1 + n);
      for (std::size_t i = 0; i < n; ++i) big[i] = big[i] > 0 ? T(1e4) : T(-1e4);
      big[n / 2] = T(1e4);
      check_softmax<T>(arch, big, ref::mask<T>(n, 2 + n, 0.9), 1);
      check_softmax<T>(arch, big, std::vector<T>{}, 0);
      // -inf logits get probability 0; all -inf behaves like all-masked.
      auto with_inf = ref::uniform<T>(n, 3 + n);
      for (std::size_t i = 0; i < n; i += 3) with_inf[i] = -inf;
      check_softmax<T>(arch, with_inf, std::vector<T>{}, 3);
      check_softmax<T>(arch, std::vector<T>(n, -inf), std::vector<T>{}, 0);
      // All masked: zeros, sum 0, lse -inf.
      check_softmax<T>(arch, ref::uniform<T>(n, 4 + n), std::vector<T>(n, T(0)), 1);
      // Excluded entries never matter, even NaN and +inf.
      auto dirty = ref::uniform<T>(n, 5 + n);
      auto mv = ref::mask<T>(n, 6 + n, 0.5);
      std::vector<T> clean = dirty;
      for (std::size_t i = 0; i < n; ++i)
        if (mv[i] == T(0)) dirty[i] = (i % 2) ? std::numeric_limits<T>::quiet_NaN() : inf;
      std::vector<T> a(n), b(n);
      kernels::softmax{}(arch, dirty.data(), mv.data(), a.data(), n);
      kernels::softmax{}(arch, clean.data(), mv.data(), b.data(), n);
      CHECK(a == b);
    }
  });
}

TEMPLATE_TEST_CASE("softmax flags NaN or +inf at a candidate through a non-finite sum", "[simd][softmax]", float, double) {
  using T = TestType;
  for_each_arch([](auto arch) {
    for (std::size_t n : sizes<T>()) {
      if (n == 0) continue;
      INFO("arch " << arch_label(arch) << " n " << n);
      for (T bad : {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity()}) {
        auto xv = ref::uniform<T>(n, 8 + n);
        xv[n - 1] = bad;
        std::vector<T> out(n);
        const auto st = kernels::softmax{}(arch, xv.data(), static_cast<const T*>(nullptr), out.data(), n);
        CHECK_FALSE(std::isfinite(st.sum));
      }
    }
  });
}

TEMPLATE_TEST_CASE("row-wise softmax with per-row lengths and odd strides", "[simd][softmax]", float, double) {
  using T = TestType;
  for_each_arch([](auto arch) {
    for (std::size_t cols : sizes<T>()) {
      if (cols > 300) continue;
      for (std::size_t rows : {std::size_t(0), std::size_t(1), std::size_t(7)}) {
        INFO("arch " << arch_label(arch) << " rows " << rows << " cols " << cols);
        const std::size_t in_stride = cols + 3, out_stride = cols + 1;
        const auto in = ref::uniform<T>(rows * in_stride + 1, 9 + cols, T(-5), T(5));
        std::vector<T> out(rows * out_stride + 1, T(-9));
        std::vector<std::size_t> len(rows);
        for (std::size_t r = 0; r < rows; ++r) len[r] = (r * 7 + cols) % (cols + 2);  // some > cols
        kernels::softmax_rows{}(arch, in.data() + 1, in_stride, out.data() + 1, out_stride, rows, cols,
                                [&](std::size_t r) { return len[r]; });
        for (std::size_t r = 0; r < rows; ++r) {
          const std::size_t l = std::min(len[r], cols);
          std::vector<T> row(in.begin() + 1 + r * in_stride, in.begin() + 1 + r * in_stride + l);
          const auto expect = ref::softmax(row, std::vector<T>{});
          for (std::size_t c = 0; c < cols; ++c) {
            const T got = out[1 + r * out_stride + c];
            if (c < l) {
              CHECK(std::fabs(got - expect[c]) <= softmax_tol<T>(expect[c]));
            } else {
              CHECK(got == T(0));
            }
          }
          // the padding between rows is untouched
          for (std::size_t c = cols; c < out_stride && r + 1 < rows; ++c) CHECK(out[1 + r * out_stride + c] == T(-9));
        }
        CHECK(out[0] == T(-9));
        // causal, in place
        std::vector<T> inplace(in.begin(), in.end());
        kernels::softmax_rows{}(arch, inplace.data() + 1, in_stride, inplace.data() + 1, in_stride, rows, cols,
                                [](std::size_t r) { return r + 1; });
        for (std::size_t r = 0; r < rows; ++r) {
          long double s = 0;
          for (std::size_t c = 0; c < cols; ++c) {
            const T v = inplace[1 + r * in_stride + c];
            if (c > r) CHECK(v == T(0));
            s += v;
          }
          if (cols > 0) CHECK(std::fabs(s - 1) <= tol<T>(cols, 1));
        }
      }
    }
  });
}

TEMPLATE_TEST_CASE("masked argmax: lowest index on ties, npos when nothing is a candidate", "[simd][select]", float, double) {
  using T = TestType;
  const T inf = std::numeric_limits<T>::infinity();
  for_each_arch([&](auto arch) {
    for (std::size_t n : sizes<T>()) {
      for (std::size_t off : offsets()) {
        INFO("arch " << arch_label(arch) << " n " << n << " offset " << off);
        auto xv = ref::uniform<T>(n, 12 + n, T(0), T(6));
        for (auto& v : xv) v = std::floor(v);  // many ties
        const auto mv = ref::mask<T>(n, 13 + n, 0.6);
        Shifted<T> x(xv, off), m(mv, off + 2);
        const auto o = ref::order(xv, mv);
        CHECK(kernels::argmax{}(arch, x.data(), m.data(), n) == (o.empty() ? npos : o[0]));
        const auto oa = ref::order(xv, std::vector<T>{});
        CHECK(kernels::argmax{}(arch, x.data(), static_cast<const T*>(nullptr), n) == (oa.empty() ? npos : oa[0]));
        const std::vector<T> none(n, T(0));
        CHECK(kernels::argmax{}(arch, x.data(), none.data(), n) == npos);
        // all candidates at -inf: the first candidate
        std::vector<T> minf(n, -inf);
        const std::size_t first = o.empty() ? npos : *std::min_element(o.begin(), o.end());
        CHECK(kernels::argmax{}(arch, minf.data(), mv.data(), n) == first);
        // a +inf candidate wins
        if (!o.empty()) {
          std::vector<T> pinf = xv;
          pinf[o.back()] = inf;
          CHECK(kernels::argmax{}(arch, pinf.data(), mv.data(), n) == o.back());
        }
      }
    }
  });
}

TEMPLATE_TEST_CASE("masked top-k: decreasing, ties by lowest index, deterministic", "[simd][select]", float, double) {
  using T = TestType;
  for (std::size_t n : sizes<T>()) {
    INFO("n " << n);
    auto xv = ref::uniform<T>(n, 14 + n, T(0), T(10));
    for (auto& v : xv) v = std::floor(v);
    const auto mv = ref::mask<T>(n, 15 + n, 0.7);
    const auto o = ref::order(xv, mv);
    for (std::size_t k : {std::size_t(0), std::size_t(1), o.size() / 2, o.size(), o.size() + 5}) {
      std::vector<std::size_t> got(k + 1, 12345);
      const std::size_t w = attnsel::simd::masked_top_k(xv.data(), mv.data(), n, k, got.data());
      REQUIRE(w == std::min(k, o.size()));
      for (std::size_t i = 0; i < w; ++i) CHECK(got[i] == o[i]);
      CHECK(got[w] == 12345);
    }
  }
}

TEMPLATE_TEST_CASE("prefix sums, inclusive and exclusive, in and out of place", "[simd][scan]", float, double) {
  using T = TestType;
  for_each_arch([](auto arch) {
    for (std::size_t n : sizes<T>()) {
      for (std::size_t off : offsets()) {
        INFO("arch " << arch_label(arch) << " n " << n << " offset " << off);
        const auto xv = ref::uniform<T>(n, 16 + n, T(0), T(1));
        for (bool exclusive : {false, true}) {
          Shifted<T> x(xv, off), out(std::vector<T>(n, T(-3)), off + 1);
          kernels::scan{}(arch, x.data(), out.data(), n, exclusive);
          Shifted<T> inplace(xv, off);
          kernels::scan{}(arch, inplace.data(), inplace.data(), n, exclusive);
          long double s = 0;
          for (std::size_t i = 0; i < n; ++i) {
            if (!exclusive) s += xv[i];
            CHECK(std::fabs(out[i] - s) <= tol<T>(i + 1, s));
            CHECK(std::fabs(inplace[i] - s) <= tol<T>(i + 1, s));
            if (exclusive) s += xv[i];
          }
          if (exclusive && n > 0) CHECK(out[0] == T(0));
          CHECK(out.guard_intact());
        }
      }
    }
  });
}

TEMPLATE_TEST_CASE("column prefix sums down the rows, odd strides, in place", "[simd][scan]", float, double) {
  using T = TestType;
  for_each_arch([](auto arch) {
    for (std::size_t cols : sizes<T>()) {
      if (cols > 300) continue;
      for (std::size_t rows : {std::size_t(0), std::size_t(1), std::size_t(2), std::size_t(9)}) {
        INFO("arch " << arch_label(arch) << " rows " << rows << " cols " << cols);
        const std::size_t is = cols + 5, os = cols + 3;
        const auto in = ref::uniform<T>(rows * is + 1, 17 + cols + rows, T(-1), T(1));
        for (bool exclusive : {false, true}) {
          std::vector<T> out(rows * os + 1, T(-9));
          kernels::scan_rows{}(arch, in.data() + 1, is, out.data() + 1, os, rows, cols, exclusive);
          std::vector<T> inplace = in;
          kernels::scan_rows{}(arch, inplace.data() + 1, is, inplace.data() + 1, is, rows, cols, exclusive);
          for (std::size_t c = 0; c < cols; ++c) {
            long double s = 0, a = 0;
            for (std::size_t r = 0; r < rows; ++r) {
              const T v = in[1 + r * is + c];
              if (!exclusive) s += v, a += std::fabs(v);
              CHECK(std::fabs(out[1 + r * os + c] - s) <= tol<T>(r + 1, a));
              CHECK(std::fabs(inplace[1 + r * is + c] - s) <= tol<T>(r + 1, a));
              if (exclusive) s += v, a += std::fabs(v);
            }
          }
          CHECK(out[0] == T(-9));
          for (std::size_t r = 0; r + 1 < rows; ++r)
            for (std::size_t c = cols; c < os; ++c) CHECK(out[1 + r * os + c] == T(-9));
        }
      }
    }
  });
}

TEST_CASE("the arch in use is reported", "[simd]") {
  const std::string name = attnsel::simd::arch_name<float>();
  INFO("arch: " << name << ", lanes<float> " << attnsel::simd::lanes<float>());
#if ATTNSEL_SIMD_ENABLED
  CHECK(name != "scalar");
  CHECK(attnsel::simd::lanes<float>() >= 2);
  CHECK(attnsel::simd::lanes<float>() == 2 * attnsel::simd::lanes<double>());
#else
  CHECK(name == "scalar");
  CHECK(attnsel::simd::lanes<float>() == 1);
#endif
  CHECK(std::string(attnsel::simd::arch_name<long double>()) == "scalar");
}
