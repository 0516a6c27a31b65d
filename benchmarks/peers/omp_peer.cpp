// attnsel's OMP on a problem written by benchmarks/peers/sklearn_omp.py, for the comparison with
// scikit-learn's OrthogonalMatchingPursuit (fit_intercept off).
//   omp_peer PROBLEM.bin [REPEATS]
// PROBLEM.bin: int64 n, d, k, then X as n·d float64 column by column, then y as n float64 (native
// byte order). Prints the best-of-REPEATS wall-clock seconds of orthogonal_matching_pursuit in
// double and in float (X and y converted to float beforehand, outside the timing), the variant
// the cost model chose, the Gram columns it computed and the two selections in order.
#include <attnsel/attnsel.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

namespace {

const char* variant_name(attnsel::OmpOptions::Precompute p) {
  switch (p) {
    case attnsel::OmpOptions::Precompute::gram: return "gram";
    case attnsel::OmpOptions::Precompute::residual: return "residual";
    case attnsel::OmpOptions::Precompute::lazy_gram: return "lazy_gram";
    default: return "automatic";
  }
}

template <class T>
void run(const char* label, const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& X, const attnsel::Vector<T>& y,
         attnsel::Index k, int repeats) {
  attnsel::OmpOptions o;
  o.fit_intercept = false;
  double best = std::numeric_limits<double>::infinity();
  attnsel::OmpResult<T> r;
  for (int i = 0; i < repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    r = attnsel::orthogonal_matching_pursuit(X, y, k, o);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::printf("%s_seconds %.9f\n%s_variant %s\n%s_gram_columns %ld\n%s_order", label, best, label, variant_name(r.variant),
              label, long(r.gram_columns), label);
  for (attnsel::Index j : r.features) std::printf(" %ld", long(j));
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: omp_peer PROBLEM.bin [REPEATS]\n";
    return 2;
  }
  const int repeats = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  std::ifstream in(argv[1], std::ios::binary);
  std::int64_t head[3] = {0, 0, 0};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  const attnsel::Index n = head[0], d = head[1], k = head[2];
  if (!in || n < 1 || d < 1 || k < 1) {
    std::cerr << "omp_peer: cannot read the header of " << argv[1] << "\n";
    return 1;
  }
  Eigen::MatrixXd X(n, d);
  Eigen::VectorXd y(n);
  in.read(reinterpret_cast<char*>(X.data()), std::streamsize(sizeof(double) * std::size_t(n * d)));
  in.read(reinterpret_cast<char*>(y.data()), std::streamsize(sizeof(double) * std::size_t(n)));
  if (!in) {
    std::cerr << "omp_peer: " << argv[1] << " is shorter than its header says\n";
    return 1;
  }
  std::printf("n %ld d %ld k %ld repeats %d\n", long(n), long(d), long(k), repeats);
  run<double>("double", X, y, k, repeats);
  const Eigen::MatrixXf Xf = X.cast<float>();
  const Eigen::VectorXf yf = y.cast<float>();
  run<float>("float", Xf, yf, k, repeats);
  return 0;
}
