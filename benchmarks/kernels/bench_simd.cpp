// Kernel benchmarks: each kernel as the xsimd version ("simd"), the scalar fallback ("scalar")
// and the obvious Eigen expression ("eigen"; std:: algorithms where Eigen has none), side by
// side in one binary. Names are kernel/impl/type/n so benchmarks/kernels/ratios.py can pair them.
// Before timing, the suite checks that the three implementations agree.
#include <attnsel/attnsel.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace {

namespace k = attnsel::simd::kernels;
using attnsel::simd::default_arch;
using attnsel::simd::scalar_arch;

template <class T>
struct Data {
  explicit Data(std::size_t n) : x(n), y(n), mask(n), out(n) {
    std::mt19937_64 g(42);
    std::uniform_real_distribution<double> u(-4, 4);
    std::bernoulli_distribution b(0.75);
    for (std::size_t i = 0; i < n; ++i) {
      x[i] = T(u(g));
      y[i] = T(u(g));
      mask[i] = b(g) ? T(1) : T(0);
    }
  }
  std::vector<T> x, y, mask, out;
};

template <class T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <class T>
using CMap = Eigen::Map<const Vec<T>>;
template <class T>
using MapV = Eigen::Map<Vec<T>>;

template <class T>
const char* type_name() {
  return std::is_same_v<T, float> ? "f32" : "f64";
}

// ---- one function per (kernel, implementation); each runs the kernel once on `d` ----

template <class T, class Arch>
void run_dot(Data<T>& d) {
  T r = k::dot{}(Arch{}, d.x.data(), d.y.data(), d.x.size());
  benchmark::DoNotOptimize(r);
}
template <class T>
void eigen_dot(Data<T>& d) {
  T r = CMap<T>(d.x.data(), Eigen::Index(d.x.size())).dot(CMap<T>(d.y.data(), Eigen::Index(d.y.size())));
  benchmark::DoNotOptimize(r);
}

template <class T, class Arch>
void run_sum(Data<T>& d) {
  T r = k::sum{}(Arch{}, d.x.data(), d.x.size());
  benchmark::DoNotOptimize(r);
}
template <class T>
void eigen_sum(Data<T>& d) {
  T r = CMap<T>(d.x.data(), Eigen::Index(d.x.size())).sum();
  benchmark::DoNotOptimize(r);
}

template <class T, class Arch>
void run_max(Data<T>& d) {
  T r = k::max{}(Arch{}, d.x.data(), d.x.size());
  benchmark::DoNotOptimize(r);
}
template <class T>
void eigen_max(Data<T>& d) {
  T r = CMap<T>(d.x.data(), Eigen::Index(d.x.size())).maxCoeff();
  benchmark::DoNotOptimize(r);
}

template <class T, class Arch>
void run_axpy(Data<T>& d) {
  k::axpy{}(Arch{}, T(1e-3), d.x.data(), d.out.data(), d.x.size());
  benchmark::ClobberMemory();
}
template <class T>
void eigen_axpy(Data<T>& d) {
  const auto n = Eigen::Index(d.x.size());
  MapV<T>(d.out.data(), n) += T(1e-3) * CMap<T>(d.x.data(), n);
  benchmark::ClobberMemory();
}

template <class T, class Arch>
void run_relu(Data<T>& d) {
  k::relu{}(Arch{}, d.x.data(), d.out.data(), d.x.size());
  benchmark::ClobberMemory();
}
template <class T>
void eigen_relu(Data<T>& d) {
  const auto n = Eigen::Index(d.x.size());
  MapV<T>(d.out.data(), n) = CMap<T>(d.x.data(), n).cwiseMax(T(0));
  benchmark::ClobberMemory();
}

template <class T, class Arch>
void run_masked_softmax(Data<T>& d) {
  auto st = k::softmax{}(Arch{}, d.x.data(), d.mask.data(), d.out.data(), d.x.size());
  benchmark::DoNotOptimize(st);
  benchmark::ClobberMemory();
}
template <class T>
void eigen_masked_softmax(Data<T>& d) {
  const auto n = Eigen::Index(d.x.size());
  const auto x = CMap<T>(d.x.data(), n).array();
  const auto cand = CMap<T>(d.mask.data(), n).array() != T(0);
  auto out = MapV<T>(d.out.data(), n).array();
  const T m = cand.select(x, -std::numeric_limits<T>::infinity()).maxCoeff();
  out = cand.select((x - m).exp(), T(0));
  out /= out.sum();
  benchmark::ClobberMemory();
}

template <class T, class Arch>
void run_masked_lse(Data<T>& d) {
  T r = k::log_sum_exp{}(Arch{}, d.x.data(), d.mask.data(), d.x.size());
  benchmark::DoNotOptimize(r);
}
template <class T>
void eigen_masked_lse(Data<T>& d) {
  const auto n = Eigen::Index(d.x.size());
  const auto x = CMap<T>(d.x.data(), n).array();
  const auto cand = CMap<T>(d.mask.data(), n).array() != T(0);
  const T m = cand.select(x, -std::numeric_limits<T>::infinity()).maxCoeff();
  T r = m + std::log(cand.select((x - m).exp(), T(0)).sum());
  benchmark::DoNotOptimize(r);
}

template <class T, class Arch>
void run_masked_argmax(Data<T>& d) {
  std::size_t r = k::argmax{}(Arch{}, d.x.data(), d.mask.data(), d.x.size());
  benchmark::DoNotOptimize(r);
}
template <class T>
void eigen_masked_argmax(Data<T>& d) {
  const auto n = Eigen::Index(d.x.size());
  const auto cand = CMap<T>(d.mask.data(), n).array() != T(0);
  Eigen::Index r = 0;
  cand.select(CMap<T>(d.x.data(), n).array(), -std::numeric_limits<T>::infinity()).maxCoeff(&r);
  benchmark::DoNotOptimize(r);
}

template <class T, class Arch>
void run_scan(Data<T>& d) {
  k::scan{}(Arch{}, d.x.data(), d.out.data(), d.x.size(), false);
  benchmark::ClobberMemory();
}
template <class T>
void std_scan(Data<T>& d) {
  std::partial_sum(d.x.begin(), d.x.end(), d.out.begin());
  benchmark::ClobberMemory();
}

// Row kernels view the n values as a sqrt(n) x sqrt(n) row-major matrix.
template <class T>
std::size_t side(const Data<T>& d) {
  return static_cast<std::size_t>(std::sqrt(double(d.x.size())));
}

template <class T, class Arch>
void run_causal_softmax_rows(Data<T>& d) {
  const std::size_t s = side(d);
  k::softmax_rows{}(Arch{}, d.x.data(), s, d.out.data(), s, s, s, [](std::size_t r) { return r + 1; });
  benchmark::ClobberMemory();
}
template <class T>
void eigen_causal_softmax_rows(Data<T>& d) {
  const auto s = Eigen::Index(side(d));
  using RM = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const RM> X(d.x.data(), s, s);
  Eigen::Map<RM> O(d.out.data(), s, s);
  for (Eigen::Index r = 0; r < s; ++r) {
    const auto row = X.row(r).head(r + 1).array();
    auto o = O.row(r).head(r + 1).array();
    o = (row - row.maxCoeff()).exp();
    o /= o.sum();
    O.row(r).tail(s - r - 1).setZero();
  }
  benchmark::ClobberMemory();
}

template <class T, class Arch>
void run_scan_rows(Data<T>& d) {
  const std::size_t s = side(d);
  k::scan_rows{}(Arch{}, d.x.data(), s, d.out.data(), s, s, s, false);
  benchmark::ClobberMemory();
}
template <class T>
void eigen_scan_rows(Data<T>& d) {
  const auto s = Eigen::Index(side(d));
  using RM = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::Map<const RM> X(d.x.data(), s, s);
  Eigen::Map<RM> O(d.out.data(), s, s);
  O.row(0) = X.row(0);
  for (Eigen::Index r = 1; r < s; ++r) O.row(r) = O.row(r - 1) + X.row(r);
  benchmark::ClobberMemory();
}

template <class T>
void run_top_k(Data<T>& d) {
  std::size_t idx[16];
  std::size_t w = attnsel::simd::masked_top_k(d.x.data(), d.mask.data(), d.x.size(), 16, idx);
  benchmark::DoNotOptimize(w);
  benchmark::DoNotOptimize(idx[0]);
}
template <class T>
void std_sort_top_k(Data<T>& d) {
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < d.x.size(); ++i)
    if (d.mask[i] != T(0)) idx.push_back(i);
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return d.x[a] > d.x[b]; });
  benchmark::DoNotOptimize(idx.data());
}

// ---- the dense product (simd/gemm.hpp) against Eigen's, on the training floor's shapes ----
// op(A)·op(B) with A, B row-major; "nn" = A·B, "tn" = Aᵀ·B (a weight gradient), "nt" = A·Bᵀ
// (an input gradient). Named gemm_<ops>_<m>x<k>x<n>/impl/type/<m·k·n>.

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class T>
struct GemmData {
  GemmData(Eigen::Index m, Eigen::Index k, Eigen::Index n, bool trans_a, bool trans_b)
      : A(trans_a ? k : m, trans_a ? m : k), B(trans_b ? n : k, trans_b ? k : n), C(m, n), ta(trans_a), tb(trans_b) {
    std::mt19937_64 g(7);
    std::uniform_real_distribution<double> u(-1, 1);
    for (Eigen::Index i = 0; i < A.size(); ++i) A.data()[i] = T(u(g));
    for (Eigen::Index i = 0; i < B.size(); ++i) B.data()[i] = T(u(g));
  }
  attnsel::simd::GemmOperand<T> a() const {
    return ta ? attnsel::simd::GemmOperand<T>{A.data(), 1, A.cols()} : attnsel::simd::GemmOperand<T>{A.data(), A.cols(), 1};
  }
  attnsel::simd::GemmOperand<T> b() const {
    return tb ? attnsel::simd::GemmOperand<T>{B.data(), 1, B.cols()} : attnsel::simd::GemmOperand<T>{B.data(), B.cols(), 1};
  }
  RowMat<T> A, B, C;
  bool ta, tb;
};

template <class T, class Arch>
void run_gemm(GemmData<T>& d, std::vector<T>& work) {
  const auto m = std::size_t(d.C.rows()), n = std::size_t(d.C.cols());
  const auto kk = std::size_t(d.ta ? d.A.rows() : d.A.cols());
  k::gemm{}(Arch{}, m, n, kk, d.a(), d.b(), d.C.data(), n, work.data());
  benchmark::ClobberMemory();
}
template <class T>
void eigen_gemm(GemmData<T>& d) {
  if (d.ta)
    d.C.noalias() = d.A.transpose() * d.B;
  else if (d.tb)
    d.C.noalias() = d.A * d.B.transpose();
  else
    d.C.noalias() = d.A * d.B;
  benchmark::ClobberMemory();
}

template <class T>
void add_gemm(Eigen::Index m, Eigen::Index kk, Eigen::Index n, bool ta, bool tb, bool with_scalar) {
  const std::string ops = std::string(ta ? "t" : "n") + (tb ? "t" : "n");
  const std::string base = "gemm_" + ops + "_" + std::to_string(m) + "x" + std::to_string(kk) + "x" + std::to_string(n);
  const std::string tail = std::string("/") + type_name<T>() + "/" + std::to_string(m * kk * n);
  auto reg = [&](const char* impl, int which) {
    benchmark::RegisterBenchmark((base + "/" + impl + tail).c_str(), [=](benchmark::State& s) {
      GemmData<T> d(m, kk, n, ta, tb);
      std::vector<T> work(k::gemm_work_size<T, default_arch>(std::size_t(n), std::size_t(kk)) + 1);
      for (auto _ : s) {
        if (which == 0) run_gemm<T, default_arch>(d, work);
        if (which == 1) run_gemm<T, scalar_arch>(d, work);
        if (which == 2) eigen_gemm<T>(d);
      }
      s.SetItemsProcessed(static_cast<int64_t>(s.iterations()) * static_cast<int64_t>(m * kk * n));
    });
  };
  reg("simd", 0);
  if (with_scalar) reg("scalar", 1);
  reg("eigen", 2);
}

template <class T>
void register_gemm() {
  // MNIST MLP (784 -> 67 -> 10, batch 256): forward, weight gradient, input gradient.
  add_gemm<T>(256, 784, 67, false, false, true);
  add_gemm<T>(784, 256, 67, true, false, false);
  add_gemm<T>(256, 67, 784, false, true, false);
  add_gemm<T>(256, 67, 10, false, false, true);
  add_gemm<T>(67, 256, 10, true, false, false);
  add_gemm<T>(256, 10, 67, false, true, false);
  // One row (a single prediction), and a larger square product.
  add_gemm<T>(1, 784, 67, false, false, true);
  add_gemm<T>(1, 67, 784, false, true, false);
  add_gemm<T>(512, 512, 512, false, false, false);
  add_gemm<T>(512, 512, 512, false, true, false);
}

// ---- registration ----

template <class T>
void bench(benchmark::State& state, void (*fn)(Data<T>&), std::size_t n) {
  Data<T> d(n);
  for (auto _ : state) fn(d);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

template <class T>
void add(const std::string& kernel, const std::string& impl, void (*fn)(Data<T>&), std::size_t n) {
  const std::string name = kernel + "/" + impl + "/" + type_name<T>() + "/" + std::to_string(n);
  benchmark::RegisterBenchmark(name.c_str(), [fn, n](benchmark::State& s) { bench<T>(s, fn, n); });
}

#define ATTNSEL_BENCH_TRIPLE(kernel, baseline_name, baseline)                                      \
  add<T>(#kernel, "simd", &run_##kernel<T, default_arch>, n);                                      \
  add<T>(#kernel, "scalar", &run_##kernel<T, scalar_arch>, n);                                     \
  add<T>(#kernel, baseline_name, &baseline<T>, n)

template <class T>
void register_all() {
  for (std::size_t n : {std::size_t(256), std::size_t(4096), std::size_t(65536)}) {
    ATTNSEL_BENCH_TRIPLE(dot, "eigen", eigen_dot);
    ATTNSEL_BENCH_TRIPLE(sum, "eigen", eigen_sum);
    ATTNSEL_BENCH_TRIPLE(max, "eigen", eigen_max);
    ATTNSEL_BENCH_TRIPLE(axpy, "eigen", eigen_axpy);
    ATTNSEL_BENCH_TRIPLE(relu, "eigen", eigen_relu);
    ATTNSEL_BENCH_TRIPLE(masked_softmax, "eigen", eigen_masked_softmax);
    ATTNSEL_BENCH_TRIPLE(masked_lse, "eigen", eigen_masked_lse);
    ATTNSEL_BENCH_TRIPLE(masked_argmax, "eigen", eigen_masked_argmax);
    ATTNSEL_BENCH_TRIPLE(scan, "std", std_scan);
    ATTNSEL_BENCH_TRIPLE(causal_softmax_rows, "eigen", eigen_causal_softmax_rows);
    ATTNSEL_BENCH_TRIPLE(scan_rows, "eigen", eigen_scan_rows);
    add<T>("top_k16", "simd", &run_top_k<T>, n);
    add<T>("top_k16", "std_sort", &std_sort_top_k<T>, n);
  }
}

// ---- agreement check before timing ----

template <class T>
bool close_vectors(const std::vector<T>& a, const std::vector<T>& b, double tol) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!(std::fabs(double(a[i]) - double(b[i])) <= tol * (1 + std::fabs(double(b[i]))))) return false;
  return true;
}

template <class T>
bool verify() {
  const double tol = std::is_same_v<T, float> ? 1e-4 : 1e-10;
  bool ok = true;
  auto check = [&](bool c, const char* what) {
    if (!c) std::fprintf(stderr, "bench_simd: %s disagrees (%s)\n", what, type_name<T>());
    ok = ok && c;
  };
  Data<T> a(4096), b(4096), c(4096);
  run_masked_softmax<T, default_arch>(a);
  run_masked_softmax<T, scalar_arch>(b);
  eigen_masked_softmax<T>(c);
  check(close_vectors(a.out, b.out, tol) && close_vectors(a.out, c.out, tol), "masked_softmax");
  run_causal_softmax_rows<T, default_arch>(a);
  eigen_causal_softmax_rows<T>(c);
  check(close_vectors(a.out, c.out, tol), "causal_softmax_rows");
  run_scan_rows<T, default_arch>(a);
  eigen_scan_rows<T>(c);
  check(close_vectors(a.out, c.out, tol), "scan_rows");
  run_scan<T, default_arch>(a);
  std_scan<T>(c);
  check(close_vectors(a.out, c.out, tol * 100), "scan");
  check(k::argmax{}(default_arch{}, a.x.data(), a.mask.data(), a.x.size()) ==
            k::argmax{}(scalar_arch{}, a.x.data(), a.mask.data(), a.x.size()),
        "masked_argmax");
  for (int ops = 0; ops < 3; ++ops) {
    GemmData<T> g(37, 300, 45, ops == 1, ops == 2), e(37, 300, 45, ops == 1, ops == 2);
    std::vector<T> work(k::gemm_work_size<T, default_arch>(45, 300) + 1);
    run_gemm<T, default_arch>(g, work);
    eigen_gemm<T>(e);
    check(g.C.isApprox(e.C, T(tol)), "gemm");
  }
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (!verify<float>() || !verify<double>()) return 1;
  register_all<float>();
  register_all<double>();
  register_gemm<float>();
  register_gemm<double>();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("attnsel_simd_arch", ATTNSEL_SIMD_ARCH_NAME);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
