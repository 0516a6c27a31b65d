// Memory probe (issue #8): selecting from d = 22,000 generated candidates (a gene-expression-
// sized problem) must stay within 2x the bytes of the input matrix, counted as the peak of heap
// bytes allocated during the selection on top of what was allocated before it.
//
// Heap bytes are counted by replacing malloc and friends in this executable (glibc: they forward
// to __libc_malloc & co.; Eigen's aligned allocations and operator new both end there), with
// malloc_usable_size, so the count is an upper bound of what was asked for. Not built with the
// sanitizers, which replace malloc themselves.
//
//   memory_probe [n] [d]       defaults: n = 1000, d = 22000
#include <attnsel/attnsel.hpp>

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include "../heap_counter.hpp"

namespace {

using heap_counter::peak_extra;

bool report(const char* what, long long input, std::pair<long long, double> r) {
  const double ratio = double(r.first) / double(input);
  std::printf("%-40s input %7.1f MB, peak extra %7.1f MB = %.2fx the input (%.2f s)%s\n", what, double(input) / 1e6,
              double(r.first) / 1e6, ratio, r.second, ratio <= 2.0 ? "" : "  ** over 2x **");
  return ratio <= 2.0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const attnsel::Index n = argc > 1 ? std::atoll(argv[1]) : 1000;
    const attnsel::Index d = argc > 2 ? std::atoll(argv[2]) : 22000;
    bool ok = true;
    {
      // Sequential Attention in float (as the examples run it), a few epochs.
      attnsel::Rng rng(1);
      attnsel::RowMatrix<float> X(n, d);
      attnsel::Vector<float> y(n);
      for (attnsel::Index i = 0; i < X.size(); ++i) X.data()[i] = float(attnsel::random::normal(rng));
      for (attnsel::Index i = 0; i < n; ++i) y(i) = X(i, 17) - X(i, 12345) > 0 ? 1.0f : 0.0f;
      attnsel::SequentialAttentionOptions<float> o;
      o.k = 5;
      o.epochs = 2;
      attnsel::Selection<float> s;
      const auto r = peak_extra([&] { s = attnsel::SequentialAttentionSelector<float>(o).fit(X, y); });
      ok = report("Sequential Attention (float, 2 epochs)", X.size() * long(sizeof(float)), r) && ok;
      std::printf("  selected:");
      for (attnsel::Index f : s.features) std::printf(" %lld", static_cast<long long>(f));
      std::printf("\n");
    }
    {
      // OMP in double on a column-major matrix (Eigen's default), with the intercept (a centred
      // copy of X) and without (X used in place).
      attnsel::Rng rng(2);
      Eigen::MatrixXd X(n, d);
      for (attnsel::Index i = 0; i < X.size(); ++i) X.data()[i] = attnsel::random::normal(rng);
      Eigen::VectorXd y = 3 * X.col(17) - 2 * X.col(12345);
      for (attnsel::Index i = 0; i < n; ++i) y(i) += 0.1 * attnsel::random::normal(rng);
      const long long input = X.size() * long(sizeof(double));
      for (auto variant : {attnsel::OmpOptions::Precompute::automatic, attnsel::OmpOptions::Precompute::residual}) {
        for (bool intercept : {true, false}) {
          attnsel::OmpOptions oo;
          oo.precompute = variant;
          oo.fit_intercept = intercept;
          attnsel::OmpResult<double> res;
          const auto r = peak_extra([&] { res = attnsel::orthogonal_matching_pursuit(X, y, 20, oo); });
          const std::string what = std::string("OMP k=20 ") + (variant == attnsel::OmpOptions::Precompute::automatic ? "automatic" : "residual") +
                                   (intercept ? ", intercept" : ", no intercept");
          ok = report(what.c_str(), input, r) && ok;
          std::printf("  variant %d, mixed %d, first features %lld %lld\n", int(res.variant), int(res.mixed),
                      static_cast<long long>(res.features[0]), static_cast<long long>(res.features[1]));
        }
      }
    }
    std::printf("%s\n", ok ? "memory_probe: within 2x" : "memory_probe: FAILED (over 2x the input)");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "memory_probe: %s\n", e.what());
    return 1;
  }
}
