// A yardstick for benchmarks/compile_time.sh: Eigen alone, the three float products of
// attnsel::detail::matmul (A·B, Aᵀ·B, A·Bᵀ on strided row-major maps), compiled whole or one of
// the paths that Eigen's product dispatch picks among at run time. -DPART= selects:
//   0  none (Eigen's headers alone: subtract this row)
//   1  the three products through operator* (what matmul compiles: all the paths below)
//   2  their small-size path alone (lazyProduct, the coefficient-based product)
//   3  their matrix-vector paths alone (an output of one column, or of one row: GEMV)
//   4  one direct call of Eigen's blocked GEMM kernel (the large-size path of one product)
// Compiled, never run.
#include <Eigen/Dense>

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using View = Eigen::Map<RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;
using ConstView = Eigen::Map<const RowMatrix, Eigen::Unaligned, Eigen::OuterStride<>>;

void products(const ConstView& A, const ConstView& B, View C, int op) {
#if PART == 1
  if (op == 0) C.noalias() = A * B;
  else if (op == 1) C.noalias() = A.transpose() * B;
  else C.noalias() = A * B.transpose();
#elif PART == 2
  if (op == 0) C.noalias() = A.lazyProduct(B);
  else if (op == 1) C.noalias() = A.transpose().lazyProduct(B);
  else C.noalias() = A.lazyProduct(B.transpose());
#elif PART == 3
  if (op == 0) C.col(0).noalias() = A * B.col(0), C.row(0).noalias() = A.row(0) * B;
  else if (op == 1) C.col(0).noalias() = A.transpose() * B.col(0), C.row(0).noalias() = A.col(0).transpose() * B;
  else C.col(0).noalias() = A * B.row(0).transpose(), C.row(0).noalias() = A.row(0) * B.transpose();
#elif PART == 4
  using Eigen::Index;
  using namespace Eigen::internal;
  const Index m = C.rows(), n = C.cols(), k = A.cols();
  gemm_blocking_space<Eigen::RowMajor, float, float, Eigen::Dynamic, Eigen::Dynamic, Eigen::Dynamic, 1, false> blocking(m, n, k, 1, true);
  general_matrix_matrix_product<Index, float, Eigen::RowMajor, false, float, Eigen::RowMajor, false, Eigen::RowMajor, 1>::run(
      m, n, k, A.data(), A.outerStride(), B.data(), B.outerStride(), C.data(), 1, C.outerStride(), 1.0f, blocking, nullptr);
  (void)op;
#else
  (void)A, (void)B, (void)C, (void)op;
#endif
}
