// A yardstick for benchmarks/recipes/compile_time.sh: Eigen alone, one float matrix product of the row-major
// kind the training floor runs (Eigen's GEMM, its GEMV fallbacks and its small-size lazy product
// are all instantiated, as for any product of run-time size).
#include <Eigen/Dense>
#include <cstdio>
int main() {
  using M = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const M A = M::Random(200, 20), B = M::Random(20, 8);
  const M C = A * B;
  std::printf("%f\n", double(C(0, 0)));
}
