// The compiled library's kernel tables (issue #36, simd/kernel_table.hpp): every table this CPU
// can run computes what the scalar reference computes, at sizes around every table's lane counts
// and at unaligned starts; the tables it cannot run are withheld; the choice follows the CPU and
// ATTNSEL_ISA (ctest runs this under several values of it).
#include "../catch_compat.hpp"
#include "../simd/test_support.hpp"

#include <attnsel/nn/nn.hpp>
#include <attnsel/simd/kernel_table.hpp>
#include <attnsel/selective/tile_kernels.hpp>
#include <attnsel/simd/simd.hpp>
#include <attnsel/sparse/sparse.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "../reference.hpp"

namespace {

using attnsel::simd::runtime::Isa;
using attnsel::simd::runtime::KernelTable;
namespace scalar = attnsel::simd::scalar;
using attnsel_test::Shifted;

constexpr Isa isas[] = {Isa::sse2, Isa::avx2, Isa::avx512};

/// What this CPU and OS support, asked independently of the library's own detection.
bool cpu_has(Isa isa) {
  __builtin_cpu_init();
  switch (isa) {
    case Isa::sse2: return true;
    case Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && cpu_has(Isa::avx2);
  }
  return false;
}

const char* expected_arch(Isa isa) {
  return isa == Isa::avx512 ? "avx512bw" : isa == Isa::avx2 ? "fma3_avx2" : "sse2";
}

template <class T>
const KernelTable<T>* table(Isa isa) {
  if constexpr (std::is_same_v<T, float>) {
    return attnsel::simd::runtime::kernel_table_float(isa);
  } else {
    return attnsel::simd::runtime::kernel_table_double(isa);
  }
}

/// Sizes around the lane counts of every table (2, 4, 8 and 16 lanes), and a long one.
std::vector<std::size_t> sizes() { return {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 255, 1003}; }

template <class T>
bool close(long double got, long double want, long double scale, std::size_t n) {
  return std::fabs(got - want) <= attnsel_test::tol<T>(n, scale);
}

}  // namespace

TEST_CASE("the tables this CPU can run are there, named for their instruction set; the others are withheld", "[dispatch]") {
  for (Isa isa : isas) {
    INFO("isa " << attnsel::simd::runtime::isa_name(isa));
    const auto* f = attnsel::simd::runtime::kernel_table_float(isa);
    const auto* d = attnsel::simd::runtime::kernel_table_double(isa);
    CHECK((f != nullptr) == cpu_has(isa));
    CHECK((d != nullptr) == cpu_has(isa));
    if (f) CHECK(std::string(f->isa) == expected_arch(isa));
    if (d) CHECK(std::string(d->isa) == expected_arch(isa));
  }
}

TEST_CASE("the dispatched instruction set is the best the CPU has, capped by ATTNSEL_ISA", "[dispatch]") {
  Isa best = Isa::sse2;
  for (Isa isa : isas)
    if (cpu_has(isa)) best = isa;
  Isa want = best;
  const char* env = std::getenv("ATTNSEL_ISA");
  if (env && std::strcmp(env, "sse2") == 0) want = Isa::sse2;
  if (env && std::strcmp(env, "avx2") == 0 && int(best) > int(Isa::avx2)) want = Isa::avx2;
  INFO("ATTNSEL_ISA " << (env ? env : "(unset)") << ", best " << attnsel::simd::runtime::isa_name(best));
  CHECK(attnsel::simd::runtime::dispatched_isa() == want);
  CHECK(std::string(attnsel::simd::runtime::kernel_table<float>().isa) == expected_arch(want));
  CHECK(std::string(attnsel::simd::runtime::kernel_table<double>().isa) == expected_arch(want));
  CHECK(&attnsel::simd::runtime::kernel_table<float>() == attnsel::simd::runtime::kernel_table_float(want));
  CHECK(std::string(attnsel::simd_arch()) == attnsel::simd::runtime::isa_name(want));
}

TEMPLATE_TEST_CASE("the compiled library's own code runs the dispatched table: a Dense layer's product has the bits of "
                   "that table's gemm, which other tables' differ from", "[dispatch]", float, double) {
  using T = TestType;
  // Every entry is one chain over the depth in every table (simd/gemm.hpp), so the tables with
  // FMA (avx2, avx512) agree with each other and differ from SSE2's multiply-then-add.
  const attnsel::Index batch = 7, in = 300, out = 37;
  attnsel::Rng rng(11);
  attnsel::Dense<T> layer(in, out, rng);
  attnsel::RowMatrix<T> X(batch, in), Y;
  for (attnsel::Index i = 0; i < X.size(); ++i) X.data()[i] = T(attnsel::random::normal(rng, 0.0, 1.0));
  layer.bias().value.setZero();  // Y is then the product alone
  layer.forward(X, Y, false);
  auto product = [&](const KernelTable<T>& t) {
    attnsel::RowMatrix<T> C(batch, out);
    std::vector<T> work(t.gemm_work_size(std::size_t(out), std::size_t(in)));
    const attnsel::RowMatrix<T>& W = layer.weight().value;
    t.gemm(std::size_t(batch), std::size_t(out), std::size_t(in), attnsel::simd::GemmOperand<T>{X.data(), std::ptrdiff_t(in), 1},
           attnsel::simd::GemmOperand<T>{W.data(), std::ptrdiff_t(W.cols()), 1}, C.data(), std::size_t(out), work.data());
    return C;
  };
  const Isa chosen = attnsel::simd::runtime::dispatched_isa();
  INFO("dispatched " << attnsel::simd::runtime::isa_name(chosen));
  CHECK(Y == product(*table<T>(chosen)));
  for (Isa isa : isas)
    if (table<T>(isa) && (isa == Isa::sse2) != (chosen == Isa::sse2)) {
      INFO("other table " << attnsel::simd::runtime::isa_name(isa));
      CHECK(Y != product(*table<T>(isa)));  // so the check above can tell the tables apart
    }
}

TEMPLATE_TEST_CASE("every kernel of every runnable table matches the scalar reference", "[dispatch]", float, double) {
  using T = TestType;
  for (Isa isa : isas) {
    const KernelTable<T>* t = table<T>(isa);
    if (!t) continue;  // withheld: the test case above checks that this CPU lacks it
    for (std::size_t n : sizes()) {
      for (std::size_t off : {std::size_t(0), std::size_t(1), std::size_t(3)}) {
        INFO("isa " << t->isa << " n " << n << " offset " << off);
        const auto xv = ref::uniform<T>(n, 31 + n), yv = ref::uniform<T>(n, 77 + n);
        std::vector<T> mv(n);
        for (std::size_t i = 0; i < n; ++i) mv[i] = T(i % 3 != 1);
        Shifted<T> x(xv, off), y(yv, off + 1), m(mv, off + 2);
        long double sa = 0, sxy = 0;
        for (std::size_t i = 0; i < n; ++i) {
          sa += std::fabs((long double)xv[i]);
          sxy += std::fabs((long double)xv[i] * yv[i]);
        }
        CHECK(close<T>(t->dot(x.data(), y.data(), n), scalar::dot(xv.data(), yv.data(), n), sxy, n));
        CHECK(close<T>(t->sum(x.data(), n), scalar::sum(xv.data(), n), sa, n));
        CHECK(t->max(x.data(), n) == scalar::max(xv.data(), n));
        CHECK(t->argmax(x.data(), m.data(), n) == scalar::argmax(xv.data(), mv.data(), n));
        CHECK(t->argmax(x.data(), nullptr, n) == scalar::argmax(xv.data(), static_cast<const T*>(nullptr), n));
        const long double lse = t->log_sum_exp(x.data(), m.data(), n), lse_ref = scalar::log_sum_exp(xv.data(), mv.data(), n);
        CHECK((std::isinf(lse_ref) ? lse == lse_ref : close<T>(lse, lse_ref, std::fabs(lse_ref) + 1, n)));
        // Elementwise kernels are exact.
        Shifted<T> out(std::vector<T>(n, T(5)), off + 2), ref_out(std::vector<T>(n, T(5)), 0);
        t->relu(x.data(), out.data(), n);
        scalar::relu(xv.data(), ref_out.data(), n);
        for (std::size_t i = 0; i < n; ++i) CHECK(out[i] == ref_out[i]);
        t->relu_backward(x.data(), y.data(), out.data(), n);
        scalar::relu_backward(xv.data(), yv.data(), ref_out.data(), n);
        for (std::size_t i = 0; i < n; ++i) CHECK(out[i] == ref_out[i]);
        t->scale(T(0.37), x.data(), out.data(), n);
        for (std::size_t i = 0; i < n; ++i) CHECK(out[i] == T(T(0.37) * xv[i]));
        CHECK(out.guard_intact());
        t->mul_add(x.data(), y.data(), m.data(), out.data(), n);
        for (std::size_t i = 0; i < n; ++i)
          CHECK(close<T>(out[i], (long double)xv[i] * yv[i] + mv[i], std::fabs((long double)xv[i] * yv[i]) + 1, 2));
        t->mul_add(x.data(), y.data(), nullptr, out.data(), n);
        for (std::size_t i = 0; i < n; ++i) CHECK(out[i] == T(xv[i] * yv[i]));
        t->sub(x.data(), y.data(), out.data(), n);
        for (std::size_t i = 0; i < n; ++i) CHECK(out[i] == T(xv[i] - yv[i]));
        CHECK(out.guard_intact());
        std::vector<T> yy(yv), yy_ref(yv);
        t->axpy(T(0.5), x.data(), yy.data(), n);
        scalar::axpy(T(0.5), xv.data(), yy_ref.data(), n);
        for (std::size_t i = 0; i < n; ++i) CHECK(close<T>(yy[i], yy_ref[i], std::fabs(yy_ref[i]) + 1, 1));
        // Softmax over the candidates, and its statistics.
        const auto st = t->softmax(x.data(), m.data(), out.data(), n);
        const auto st_ref = scalar::softmax(xv.data(), mv.data(), ref_out.data(), n);
        CHECK(st.max == st_ref.max);
        CHECK(close<T>(st.sum, st_ref.sum, st_ref.sum + 1, n));
        for (std::size_t i = 0; i < n; ++i) CHECK(std::fabs(out[i] - ref_out[i]) <= attnsel_test::softmax_tol<T>(ref_out[i]) * 4);
        // Prefix sums.
        std::vector<T> sc(n), sc_ref(n);
        for (bool exclusive : {false, true}) {
          t->scan(xv.data(), sc.data(), n, exclusive);
          scalar::scan(xv.data(), sc_ref.data(), n, exclusive);
          for (std::size_t i = 0; i < n; ++i) CHECK(close<T>(sc[i], sc_ref[i], sa, n));
        }
        // Adam: one update, against the reference, same constants.
        const attnsel::simd::AdamStep<T> as{T(0.9), T(0.999), T(0.01), T(0.003), T(1e-7), T(1e-3), T(0)};
        std::vector<T> w(xv), g(yv), mm(n, T(0.01)), vv(n, T(0.02)), w2(xv), g2(yv), mm2(mm), vv2(vv);
        t->adam(as, w.data(), g.data(), mm.data(), vv.data(), n);
        scalar::adam(as, w2.data(), g2.data(), mm2.data(), vv2.data(), n);
        for (std::size_t i = 0; i < n; ++i) CHECK(close<T>(w[i], w2[i], std::fabs(w2[i]) + 1, 8));
      }
    }
    // Narrowing statistics, rows of softmax and gemm at a few shapes.
    for (std::size_t n : {std::size_t(0), std::size_t(17), std::size_t(100)}) {
      const auto xv = ref::uniform<T>(n, 5), yv = ref::uniform<T>(n, 6);
      std::vector<float> a(n), b(n);
      const auto s1 = t->narrow_stats(xv.data(), yv.data(), a.data(), n);
      const auto s2 = scalar::narrow_stats(xv.data(), yv.data(), b.data(), n);
      CHECK(a == b);
      CHECK(s1.max_abs == s2.max_abs);
      CHECK(close<T>(s1.sum_squares, s2.sum_squares, s2.sum_squares + 1, n));
      CHECK(close<T>(s1.dot, s2.dot, std::fabs((long double)s2.dot) + (long double)n, n));
    }
    for (std::size_t rows : {std::size_t(1), std::size_t(7)}) {
      for (std::size_t cols : {std::size_t(1), std::size_t(19)}) {
        INFO("isa " << t->isa << " softmax rows " << rows << " x " << cols);
        const auto in = ref::uniform<T>(rows * cols, 9 + rows * cols);
        std::vector<T> out(rows * cols), ref(rows * cols);
        std::vector<std::size_t> lengths(rows);
        for (std::size_t r = 0; r < rows; ++r) lengths[r] = (r * 5) % (cols + 1);
        t->softmax_rows(in.data(), cols, out.data(), cols, rows, cols, lengths.data());
        scalar::softmax_rows(in.data(), cols, ref.data(), cols, rows, cols, [&](std::size_t r) { return lengths[r]; });
        for (std::size_t i = 0; i < out.size(); ++i) CHECK(std::fabs(out[i] - ref[i]) <= attnsel_test::softmax_tol<T>(ref[i]) * 4);
        t->causal_softmax_rows(in.data(), cols, out.data(), cols, rows, cols, 2);
        scalar::softmax_rows(in.data(), cols, ref.data(), cols, rows, cols, [](std::size_t r) { return r + 3; });
        for (std::size_t i = 0; i < out.size(); ++i) CHECK(std::fabs(out[i] - ref[i]) <= attnsel_test::softmax_tol<T>(ref[i]) * 4);
        std::vector<T> sr(rows * cols), sr_ref(rows * cols);
        t->scan_rows(in.data(), cols, sr.data(), cols, rows, cols, true);
        scalar::scan_rows(in.data(), cols, sr_ref.data(), cols, rows, cols, true);
        for (std::size_t i = 0; i < sr.size(); ++i) CHECK(close<T>(sr[i], sr_ref[i], rows, rows));
      }
    }
    for (std::size_t m : {std::size_t(1), std::size_t(13), std::size_t(40)}) {
      for (std::size_t n : {std::size_t(1), std::size_t(33)}) {
        for (std::size_t k : {std::size_t(0), std::size_t(5), std::size_t(300)}) {
          INFO("isa " << t->isa << " gemm " << m << " x " << n << " x " << k);
          const auto A = ref::uniform<T>(m * k, 3), B = ref::uniform<T>(k * n, 4);
          const attnsel::simd::GemmOperand<T> a{A.data(), std::ptrdiff_t(k), 1}, bt{B.data(), 1, std::ptrdiff_t(k)};
          std::vector<T> C(m * n, T(7)), R(m * n, T(7)), work(t->gemm_work_size(n, k) + 1);
          t->gemm(m, n, k, a, bt, C.data(), n, work.data());
          scalar::gemm(m, n, k, a, bt, R.data(), n);
          for (std::size_t i = 0; i < C.size(); ++i) CHECK(close<T>(C[i], R[i], (long double)k, k));
        }
      }
    }
  }
}

TEMPLATE_TEST_CASE("every runnable table's Selective Attention tile kernels match the scalar reference", "[dispatch]",
                   float, double) {
  using T = TestType;
  namespace tile = attnsel::detail::tile;
  using I = std::ptrdiff_t;
  for (Isa isa : isas) {
    const KernelTable<T>* t = table<T>(isa);
    if (!t) continue;
    // Products: sizes around the lane counts and the register tiles (8 and 6 rows), A plain and
    // transposed, leading dimensions wider than the tile (odd strides), overwrite and accumulate.
    for (I m : {I(0), I(1), I(5), I(7), I(9), I(17)}) {
      for (I n : {I(0), I(1), I(3), I(8), I(15), I(17), I(33), I(65)}) {
        for (I k : {I(0), I(1), I(4), I(31)}) {
          for (bool transposed_a : {false, true}) {
            for (bool accumulate : {false, true}) {
              INFO("isa " << t->isa << " tile gemm " << m << " x " << n << " x " << k << " transposed A "
                          << transposed_a << " accumulate " << accumulate);
              const I lda = (transposed_a ? m : k) + 3, ldb = n + 1, ldc = n + 2;
              const I ars = transposed_a ? 1 : lda, acs = transposed_a ? lda : 1;
              const I a_size = transposed_a ? k * lda : m * lda;
              const auto A = ref::uniform<T>(std::size_t(std::max<I>(a_size, 1)), 21 + std::uint64_t(m * n + k));
              const auto B = ref::uniform<T>(std::size_t(std::max<I>(k * ldb, 1)), 22 + std::uint64_t(m + n * k));
              const auto C0 = ref::uniform<T>(std::size_t(std::max<I>(m * ldc, 1)), 23);
              std::vector<T> C(C0), R(C0);
              t->tile_gemm(m, n, k, A.data(), ars, acs, B.data(), ldb, C.data(), ldc, accumulate);
              tile::gemm_scalar(m, n, k, A.data(), ars, acs, B.data(), ldb, R.data(), ldc, accumulate);
              for (I i = 0; i < m; ++i)
                for (I j = 0; j < ldc; ++j) {
                  const std::size_t at = std::size_t(i * ldc + j);
                  if (j >= n) {
                    CHECK(C[at] == C0[at]);  // the gap between rows is left alone
                  } else {
                    CHECK(close<T>(C[at], R[at], (long double)k + 1, std::size_t(k) + 1));
                  }
                }
            }
          }
        }
      }
    }
    // Row helpers, at unaligned starts.
    for (std::size_t n : sizes()) {
      for (std::size_t off : {std::size_t(0), std::size_t(1)}) {
        INFO("isa " << t->isa << " tile helpers n " << n << " offset " << off);
        const auto xv = ref::uniform<T>(n, 41 + n), fv = ref::uniform<T>(n, 42 + n);
        Shifted<T> x(xv, off), f(fv, off + 1);
        std::vector<T> ref_x(xv);
        t->tile_sub(x.data(), f.data(), I(n));
        tile::sub_inplace<T, attnsel::simd::scalar_arch>(ref_x.data(), fv.data(), I(n));
        for (std::size_t i = 0; i < n; ++i) CHECK(x[i] == ref_x[i]);
        t->tile_relu_add(x.data(), f.data(), I(n));
        tile::relu_add<T, attnsel::simd::scalar_arch>(ref_x.data(), fv.data(), I(n));
        for (std::size_t i = 0; i < n; ++i) CHECK(x[i] == ref_x[i]);
        CHECK(x.guard_intact());
        // exp(x − m): the shift is the row's maximum, as in the online softmax; -inf entries give 0.
        std::vector<T> e(xv), e_ref(xv);
        if (n > 2) e[2] = e_ref[2] = -std::numeric_limits<T>::infinity();
        const T mx = n ? *std::max_element(xv.begin(), xv.end()) : T(0);
        const T s = t->tile_exp_shift_sum(e.data(), mx, I(n));
        const T s_ref = tile::exp_shift_sum<T, attnsel::simd::scalar_arch>(e_ref.data(), mx, I(n));
        CHECK(close<T>(s, s_ref, s_ref + 1, n));
        for (std::size_t i = 0; i < n; ++i) CHECK(std::fabs(e[i] - e_ref[i]) <= attnsel_test::softmax_tol<T>(e_ref[i]) * 4);
        if (n > 2) CHECK(e[2] == T(0));
        Shifted<T> g(std::vector<T>(n, T(9)), off + 2);
        std::vector<T> g_ref(n, T(9));
        t->tile_softmax_grad(xv.data(), fv.data(), T(0.25), g.data(), I(n));
        tile::softmax_grad<T, attnsel::simd::scalar_arch>(xv.data(), fv.data(), T(0.25), g_ref.data(), I(n));
        for (std::size_t i = 0; i < n; ++i) CHECK(g[i] == g_ref[i]);
        CHECK(g.guard_intact());
      }
    }
  }
}

TEMPLATE_TEST_CASE("every runnable table's block-sparse products match the scalar reference, fast and generic block "
                   "shapes, edge blocks, any row and block range", "[dispatch]", float, double) {
  using T = TestType;
  namespace bsr = attnsel::detail::bsr;
  using I = std::ptrdiff_t;
  struct Case {
    I rows, cols, br, bc;
  };
  // Square 4, 8, 16 and 32 take the fast paths; 5 x 3, 1 x 1 and 12 x 7 the generic one; the
  // matrix sizes leave partial edge blocks.
  for (const Case c : {Case{37, 70, 4, 4}, Case{41, 45, 8, 8}, Case{50, 33, 16, 16}, Case{70, 65, 32, 32},
                       Case{23, 19, 5, 3}, Case{6, 9, 1, 1}, Case{30, 29, 12, 7}}) {
    attnsel::RowMatrix<T> W(c.rows, c.cols);
    const auto wv = ref::uniform<T>(std::size_t(W.size()), std::uint64_t(c.rows * 100 + c.br));
    std::copy(wv.begin(), wv.end(), W.data());
    const I gr = (c.rows + c.br - 1) / c.br, gc = (c.cols + c.bc - 1) / c.bc;
    attnsel::RowMatrix<std::uint8_t> keep(gr, gc);
    for (I i = 0; i < gr; ++i)
      for (I j = 0; j < gc; ++j) keep(i, j) = std::uint8_t((i * 7 + j * 3) % 4 != 0 || i == 0);
    const attnsel::BlockSparseMatrix<T> S(W, keep, attnsel::BlockShape{c.br, c.bc});
    const bsr::View<T> v = S.view();
    for (I batch : {I(1), I(3), I(10)}) {
      const I ldx_f = c.cols + 3, ldx_t = c.rows + 1, ldy_f = c.rows + 2, ldy_t = c.cols + 5;
      const auto xf = ref::uniform<T>(std::size_t(batch * ldx_f), 61), xt = ref::uniform<T>(std::size_t(batch * ldx_t), 62);
      for (Isa isa : isas) {
        const KernelTable<T>* t = table<T>(isa);
        if (!t) continue;
        INFO("isa " << t->isa << " W " << c.rows << " x " << c.cols << " blocks " << c.br << " x " << c.bc << " batch " << batch);
        // Y = X·Wᵀ on part of the batch and of the block-rows; outside them Y keeps its values.
        const I b0 = batch > 2 ? 1 : 0, i0 = gr > 1 ? 1 : 0;
        std::vector<T> y(std::size_t(batch * ldy_f), T(3)), y_ref(y);
        t->bsr_forward(v, xf.data(), ldx_f, y.data(), ldy_f, b0, batch, i0, gr);
        bsr::forward{}(attnsel::simd::scalar_arch{}, v, xf.data(), ldx_f, y_ref.data(), ldy_f, b0, batch, i0, gr);
        for (std::size_t i = 0; i < y.size(); ++i) CHECK(close<T>(y[i], y_ref[i], (long double)c.cols, std::size_t(c.cols)));
        // Y = X·W on part of the block-columns.
        const I j0 = gc > 1 ? 1 : 0;
        std::vector<T> z(std::size_t(batch * ldy_t), T(4)), z_ref(z);
        t->bsr_transposed(v, xt.data(), ldx_t, z.data(), ldy_t, b0, batch, j0, gc);
        bsr::transposed{}(attnsel::simd::scalar_arch{}, v, xt.data(), ldx_t, z_ref.data(), ldy_t, b0, batch, j0, gc);
        for (std::size_t i = 0; i < z.size(); ++i) CHECK(close<T>(z[i], z_ref[i], (long double)c.rows, std::size_t(c.rows)));
      }
    }
  }
}
