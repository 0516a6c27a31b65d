// Block-sparse row matrices (sparse/): construction, accessors, the three products against
// dense Eigen products on odd shapes, edge blocks, empty block-rows, fully dense / empty masks,
// every fast-path block size and generic sizes, strided views, determinism across threads, and
// the exceptions for bad arguments.
#include "../catch_compat.hpp"

#include <attnsel/sparse/sparse.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

using attnsel::BlockShape;
using attnsel::BlockSparseMatrix;
using attnsel::BlockSparseProductOptions;
using attnsel::Index;
using attnsel::RowMatrix;

namespace {

using Mask = Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using DMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <class T>
RowMatrix<T> random_matrix(Index r, Index c, std::mt19937_64& g) {
  std::uniform_real_distribution<double> u(-1, 1);
  RowMatrix<T> m(r, c);
  for (Index i = 0; i < r; ++i)
    for (Index j = 0; j < c; ++j) m(i, j) = T(u(g));
  return m;
}

Mask random_mask(Index r, Index c, double density, std::mt19937_64& g) {
  std::bernoulli_distribution b(density);
  Mask m(r, c);
  for (Index i = 0; i < r; ++i)
    for (Index j = 0; j < c; ++j) m(i, j) = b(g) ? 1 : 0;
  return m;
}

/// `dense` with the blocks the mask drops set to zero.
template <class T>
RowMatrix<T> apply_mask(const RowMatrix<T>& dense, const Mask& mask, Index br, Index bc) {
  RowMatrix<T> out = dense;
  for (Index i = 0; i < dense.rows(); ++i)
    for (Index j = 0; j < dense.cols(); ++j)
      if (!mask(i / br, j / bc)) out(i, j) = T(0);
  return out;
}

template <class T>
double rel_tol(Index k) {
  return (std::is_same_v<T, float> ? 1e-5 : 1e-13) * std::sqrt(double(std::max<Index>(k, 1)));
}

/// max over entries of |got - want| / (tol * (|A|·|B|)_ij + tiny), must be <= 1.
template <class T>
bool close_product(const RowMatrix<T>& got, const DMat& A, const DMat& B, double tol) {
  if (got.rows() != A.rows() || got.cols() != B.cols()) return false;
  const DMat want = A * B;
  const DMat bound = A.cwiseAbs() * B.cwiseAbs();
  for (Index i = 0; i < got.rows(); ++i)
    for (Index j = 0; j < got.cols(); ++j) {
      const double err = std::fabs(double(got(i, j)) - want(i, j));
      if (!(err <= tol * bound(i, j) + 1e-30)) return false;
    }
  return true;
}

template <class T>
DMat to_double(const RowMatrix<T>& m) {
  return m.template cast<double>();
}

BlockSparseProductOptions serial() {
  BlockSparseProductOptions o;
  o.parallel = false;
  return o;
}
BlockSparseProductOptions always_parallel() {
  BlockSparseProductOptions o;
  o.parallel = true;
  o.min_parallel_flops = 0;
  return o;
}

/// Checks every product of a BSR matrix built from (dense, mask) against dense products.
template <class T>
void check_products(const RowMatrix<T>& dense, const Mask& mask, BlockShape bs,
                    const std::vector<Index>& batches, std::mt19937_64& g) {
  const BlockSparseMatrix<T> w(dense, mask, bs);
  const RowMatrix<T> wm = apply_mask(dense, mask, bs.rows, bs.cols);
  INFO("R=" << dense.rows() << " C=" << dense.cols() << " block " << bs.rows << "x" << bs.cols
            << " nnz_blocks=" << w.nnz_blocks());
  REQUIRE(w.to_dense() == wm);
  const DMat wd = to_double(wm);
  for (Index batch : batches) {
    INFO("batch " << batch);
    const RowMatrix<T> X = random_matrix<T>(batch, dense.cols(), g);
    const RowMatrix<T> U = random_matrix<T>(batch, dense.rows(), g);
    const RowMatrix<T> Y = w.multiply(X);
    CHECK(close_product(Y, to_double(X), DMat(wd.transpose()), rel_tol<T>(dense.cols())));
    const RowMatrix<T> Z = w.multiply_transposed(U);
    CHECK(close_product(Z, to_double(U), wd, rel_tol<T>(dense.rows())));
    // Serial and threaded runs give identical bits; out-parameter forms match value forms.
    RowMatrix<T> Ys(batch, dense.rows()), Yp(batch, dense.rows());
    w.multiply(X, Ys, serial());
    w.multiply(X, Yp, always_parallel());
    CHECK(Ys == Y);
    CHECK(Yp == Y);
    RowMatrix<T> Zs(batch, dense.cols()), Zp(batch, dense.cols());
    w.multiply_transposed(U, Zs, serial());
    w.multiply_transposed(U, Zp, always_parallel());
    CHECK(Zs == Z);
    CHECK(Zp == Z);
    if (batch == 1) {
      // y = W·x equals the batch-of-one product exactly.
      const attnsel::Vector<T> x = X.row(0).transpose();
      const attnsel::Vector<T> y = w.multiply_vector(x);
      CHECK(y == Y.row(0).transpose());
      attnsel::Vector<T> yo(dense.rows());
      w.multiply_vector(x, yo, always_parallel());
      CHECK(yo == y);
      CHECK(w.multiply_vector(X.row(0)) == y);  // a row vector works too
    }
  }
}

}  // namespace

TEMPLATE_TEST_CASE("BSR products match dense products: fast-path block sizes", "[sparse]", float,
                   double) {
  using T = TestType;
  std::mt19937_64 g(1);
  const std::vector<Index> batches{0, 1, 2, 3, 5, 8, 13, 67, 130};
  for (Index b : {4, 8, 16, 32}) {
    // Multiples of the block and odd shapes with partial edge blocks on both sides.
    for (auto rc : {std::pair<Index, Index>{4 * b, 3 * b}, {3 * b + 1, 5 * b - 3}, {b, b},
                    {2 * b + b / 2, b + 1}}) {
      const RowMatrix<T> dense = random_matrix<T>(rc.first, rc.second, g);
      const Index gr = (rc.first + b - 1) / b, gc = (rc.second + b - 1) / b;
      check_products(dense, random_mask(gr, gc, 0.5, g), {b, b}, batches, g);
    }
  }
}

TEMPLATE_TEST_CASE("BSR products match dense products: generic and rectangular blocks",
                   "[sparse]", float, double) {
  using T = TestType;
  std::mt19937_64 g(2);
  const std::vector<Index> batches{0, 1, 3, 9, 70};
  const std::vector<std::pair<Index, Index>> blocks{{1, 1}, {3, 3}, {5, 5}, {64, 64}, {4, 8},
                                                    {8, 4}, {16, 32}, {3, 7}, {12, 20}, {33, 17},
                                                    {64, 1}, {1, 64}, {2, 2}, {6, 6}};
  for (const auto& bs : blocks) {
    for (auto rc : {std::pair<Index, Index>{37, 53}, {64, 64}, {65, 130}, {100, 71}}) {
      if (bs.first > rc.first || bs.second > rc.second) continue;
      const RowMatrix<T> dense = random_matrix<T>(rc.first, rc.second, g);
      const Index gr = (rc.first + bs.first - 1) / bs.first;
      const Index gc = (rc.second + bs.second - 1) / bs.second;
      check_products(dense, random_mask(gr, gc, 0.6, g), {bs.first, bs.second}, batches, g);
    }
  }
}

TEMPLATE_TEST_CASE("BSR tiny and odd shapes", "[sparse]", float, double) {
  using T = TestType;
  std::mt19937_64 g(3);
  const std::vector<Index> batches{0, 1, 2, 7};
  // 1x1 with a 1x1 block, a single row, a single column, a matrix equal to one block.
  check_products(random_matrix<T>(1, 1, g), Mask::Ones(1, 1), {1, 1}, batches, g);
  check_products(random_matrix<T>(1, 37, g), Mask::Ones(1, 5), {1, 8}, batches, g);
  check_products(random_matrix<T>(37, 1, g), Mask::Ones(5, 1), {8, 1}, batches, g);
  check_products(random_matrix<T>(37, 53, g), random_mask(5, 7, 0.5, g), {8, 8}, batches, g);
  check_products(random_matrix<T>(7, 5, g), Mask::Ones(1, 1), {7, 5}, batches, g);
  check_products(random_matrix<T>(64, 64, g), Mask::Ones(1, 1), {64, 64}, batches, g);
}

TEMPLATE_TEST_CASE("BSR empty block-rows, empty block-columns, fully dense and fully empty masks",
                   "[sparse]", float, double) {
  using T = TestType;
  std::mt19937_64 g(4);
  const std::vector<Index> batches{1, 4, 33};
  for (Index b : {3, 8, 16}) {
    const Index R = 5 * b + 2, C = 4 * b + 1;
    const RowMatrix<T> dense = random_matrix<T>(R, C, g);
    Mask m = random_mask(6, 5, 0.7, g);
    m.row(0).setZero();  // empty first block-row
    m.row(3).setZero();  // empty block-row in the middle
    m.row(5).setZero();  // empty (partial) last block-row
    m.col(2).setZero();  // empty block-column
    check_products(dense, m, {b, b}, batches, g);
    check_products(dense, Mask::Ones(6, 5), {b, b}, batches, g);
    check_products(dense, Mask::Zero(6, 5), {b, b}, batches, g);

    const BlockSparseMatrix<T> full(dense, Mask::Ones(6, 5), {b, b});
    CHECK(full.density() == 1.0);
    CHECK(full.to_dense() == dense);
    const BlockSparseMatrix<T> none(dense, Mask::Zero(6, 5), {b, b});
    CHECK(none.nnz_blocks() == 0);
    CHECK(none.density() == 0.0);
    const RowMatrix<T> X = random_matrix<T>(9, C, g);
    CHECK(none.multiply(X).cwiseAbs().maxCoeff() == T(0));
    CHECK(none.multiply_transposed(random_matrix<T>(9, R, g)).cwiseAbs().maxCoeff() == T(0));
  }
}

TEMPLATE_TEST_CASE("BSR construction, accessors and the block mask", "[sparse]", float, double) {
  using T = TestType;
  std::mt19937_64 g(5);
  RowMatrix<T> dense = RowMatrix<T>::Zero(37, 53);
  dense(0, 0) = T(1);     // block (0, 0)
  dense(20, 50) = T(-2);  // block (2, 6), a partial edge block-column
  dense(36, 8) = T(3);    // block (4, 1), the partial last block-row
  const BlockSparseMatrix<T> w(dense, BlockShape{8, 8});
  CHECK(w.rows() == 37);
  CHECK(w.cols() == 53);
  CHECK(w.block_rows() == 8);
  CHECK(w.block_cols() == 8);
  CHECK(w.block_shape().rows == 8);
  CHECK(w.grid_rows() == 5);
  CHECK(w.grid_cols() == 7);
  CHECK(w.nnz_blocks() == 3);
  CHECK(w.density() == Approx(3.0 / 35.0));
  CHECK(w.padded_block_rows() == 8);
  CHECK(w.to_dense() == dense);
  const auto mask = w.block_mask();
  CHECK(mask.rows() == 5);
  CHECK(mask.cols() == 7);
  CHECK(mask.count() == 3);
  CHECK(mask(0, 0));
  CHECK(mask(2, 6));
  CHECK(mask(4, 1));
  CHECK(w.row_offsets() == std::vector<Index>{0, 1, 1, 2, 2, 3});
  CHECK(w.block_columns() == std::vector<Index>{0, 6, 1});
  CHECK(w.block(1)(4, 2) == T(-2));
  CHECK(w.block(2)(4, 0) == T(3));
  CHECK(w.block(2).rows() == 8);
  CHECK(w.memory_bytes() >= std::size_t(3 * 64) * sizeof(T));

  // A stored all-zero block is kept when the mask says so; dense values under a zero mask
  // entry are dropped.
  Mask m = Mask::Zero(5, 7);
  m(1, 1) = 1;  // all zeros in `dense`
  m(0, 0) = 1;
  const BlockSparseMatrix<T> wm(dense, m, BlockShape{8, 8});
  CHECK(wm.nnz_blocks() == 2);
  RowMatrix<T> expect = RowMatrix<T>::Zero(37, 53);
  expect(0, 0) = T(1);
  CHECK(wm.to_dense() == expect);

  // Masks of other scalar types, and from expressions.
  const Eigen::Matrix<bool, Eigen::Dynamic, Eigen::Dynamic> mb = m.cast<bool>();
  CHECK(BlockSparseMatrix<T>(dense, mb, BlockShape{8, 8}).nnz_blocks() == 2);
  const Eigen::MatrixXf mf = m.cast<float>();
  CHECK(BlockSparseMatrix<T>(dense, mf, BlockShape{8, 8}).nnz_blocks() == 2);
  CHECK(BlockSparseMatrix<T>(dense, (mf.array() > 0.5f).matrix(), BlockShape{8, 8}).nnz_blocks() == 2);
  // Dense input of another scalar type / as an expression / column-major.
  const Eigen::MatrixXd dd = dense.template cast<double>();
  CHECK(BlockSparseMatrix<T>(dd, m, BlockShape{8, 8}).to_dense() == expect);
  CHECK(BlockSparseMatrix<T>(T(2) * dense, m, BlockShape{8, 8}).to_dense() == T(2) * expect);

  // Block shape read from the mask when it is unambiguous.
  const RowMatrix<T> d2 = random_matrix<T>(64, 48, g);
  const BlockSparseMatrix<T> inferred(d2, Mask::Ones(4, 3));
  CHECK(inferred.block_rows() == 16);
  CHECK(inferred.block_cols() == 16);
  const BlockSparseMatrix<T> inferred_edge(random_matrix<T>(784, 53, g), Mask::Ones(49, 7));
  CHECK(inferred_edge.block_rows() == 16);  // only 16 gives ceil(784/h) == 49
  CHECK(inferred_edge.block_cols() == 8);   // only 8 gives ceil(53/h) == 7

  // Default-constructed: 0 x 0, no blocks; products of empty shapes work.
  const BlockSparseMatrix<T> empty;
  CHECK(empty.rows() == 0);
  CHECK(empty.nnz_blocks() == 0);
  CHECK(empty.density() == 0.0);
  CHECK(empty.multiply(RowMatrix<T>(3, 0)).rows() == 3);
  CHECK(empty.multiply(RowMatrix<T>(3, 0)).cols() == 0);

  // Copies are independent values.
  BlockSparseMatrix<T> copy = w;
  copy = wm;
  CHECK(copy.nnz_blocks() == 2);
  CHECK(w.nnz_blocks() == 3);
}

TEMPLATE_TEST_CASE("BSR products read strided views and write only their output", "[sparse]",
                   float, double) {
  using T = TestType;
  using ColMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  std::mt19937_64 g(6);
  const Index R = 45, C = 38;
  const RowMatrix<T> dense = random_matrix<T>(R, C, g);
  for (Index b : {4, 5, 16}) {
    const Index gr = (R + b - 1) / b, gc = (C + b - 1) / b;
    const Mask m = random_mask(gr, gc, 0.6, g);
    const BlockSparseMatrix<T> w(dense, m, {b, b});
    const DMat wd = to_double(w.to_dense());

    // X is a block of a bigger row-major matrix (outer stride > cols).
    const RowMatrix<T> big = random_matrix<T>(30, C + 11, g);
    const auto Xb = big.block(3, 5, 19, C);
    const RowMatrix<T> Xc = Xb;
    const RowMatrix<T> ref = w.multiply(Xc);
    CHECK(w.multiply(Xb) == ref);
    // Map with an OuterStride, and a column-major X (copied once by Eigen::Ref).
    Eigen::Map<const RowMatrix<T>, 0, Eigen::OuterStride<>> Xm(big.data() + 3 * big.cols() + 5, 19, C,
                                                                Eigen::OuterStride<>(big.cols()));
    CHECK(w.multiply(Xm) == ref);
    const ColMat Xcol = Xc;
    CHECK(w.multiply(Xcol) == ref);
    CHECK(close_product(w.multiply(Xc * T(2) - Xc), to_double(Xc), DMat(wd.transpose()), rel_tol<T>(C)));

    // Y is a block of a bigger row-major matrix; everything around it stays untouched.
    const T sentinel = T(12345);
    RowMatrix<T> out = RowMatrix<T>::Constant(25, R + 9, sentinel);
    w.multiply(Xm, out.block(2, 4, 19, R));
    CHECK(RowMatrix<T>(out.block(2, 4, 19, R)) == ref);
    out.block(2, 4, 19, R).setConstant(sentinel);
    CHECK((out.array() == sentinel).all());

    RowMatrix<T> out2 = RowMatrix<T>::Constant(21, C + 3, sentinel);
    const RowMatrix<T> U = random_matrix<T>(19, R, g);
    const RowMatrix<T> zref = w.multiply_transposed(U);
    w.multiply_transposed(U, out2.block(1, 2, 19, C));
    CHECK(RowMatrix<T>(out2.block(1, 2, 19, C)) == zref);
    out2.block(1, 2, 19, C).setConstant(sentinel);
    CHECK((out2.array() == sentinel).all());

    // Free functions.
    CHECK(attnsel::multiply(w, Xc) == ref);
    CHECK(attnsel::multiply_transposed(w, U) == zref);
    RowMatrix<T> y3(19, R);
    attnsel::multiply(w, Xc, y3);
    CHECK(y3 == ref);
    RowMatrix<T> z3(19, C);
    attnsel::multiply_transposed(w, U, z3);
    CHECK(z3 == zref);

    // A strided vector (a column of a row-major matrix) for W·x.
    const attnsel::Vector<T> xv = big.row(0).head(C).transpose();
    RowMatrix<T> xs(C, 3);
    xs.col(1) = xv;
    CHECK(w.multiply_vector(xs.col(1)) == w.multiply_vector(xv));
  }
}

TEMPLATE_TEST_CASE("BSR NaN policy: no checks, propagation through stored blocks only", "[sparse]",
                   float, double) {
  using T = TestType;
  std::mt19937_64 g(7);
  const RowMatrix<T> dense = random_matrix<T>(32, 32, g);
  Mask m = Mask::Ones(2, 2);
  m(0, 1) = 0;
  m(1, 1) = 0;  // block-column 1 (X columns 16..31) meets no stored block
  const BlockSparseMatrix<T> w(dense, m, {16, 16});
  RowMatrix<T> X = random_matrix<T>(3, 32, g);
  X(0, 20) = std::numeric_limits<T>::quiet_NaN();  // only absent blocks: Y stays finite
  X(1, 3) = std::numeric_limits<T>::infinity();    // stored blocks: propagates
  const RowMatrix<T> Y = w.multiply(X);
  CHECK(Y.row(0).allFinite());
  CHECK(!Y.row(1).allFinite());
  CHECK(Y.row(2).allFinite());
  // NaN weights are stored as they are (a NaN makes its block "non-zero").
  RowMatrix<T> dn = RowMatrix<T>::Zero(32, 32);
  dn(17, 2) = std::numeric_limits<T>::quiet_NaN();
  const BlockSparseMatrix<T> wn(dn, BlockShape{16, 16});
  CHECK(wn.nnz_blocks() == 1);
  const RowMatrix<T> Yn = wn.multiply(RowMatrix<T>::Ones(1, 32));
  CHECK(std::isnan(Yn(0, 17)));
  CHECK(Yn(0, 0) == T(0));
}

TEMPLATE_TEST_CASE("BSR rejects bad arguments with clear messages", "[sparse]", float, double) {
  using T = TestType;
  std::mt19937_64 g(8);
  const RowMatrix<T> dense = random_matrix<T>(37, 53, g);
  const Mask m = Mask::Ones(5, 7);
  using W = BlockSparseMatrix<T>;
  // Block side 0, negative, above 64, larger than the matrix.
  ATTNSEL_CHECK_INVALID(W(dense, BlockShape{0, 8}), "attnsel::BlockSparseMatrix", "block.rows", "got 0",
                        "[1, 64]");
  ATTNSEL_CHECK_INVALID(W(dense, BlockShape{8, 0}), "block.cols", "got 0");
  ATTNSEL_CHECK_INVALID(W(dense, BlockShape{-3, 8}), "block.rows", "got -3");
  ATTNSEL_CHECK_INVALID(W(dense, BlockShape{65, 8}), "block.rows", "got 65");
  ATTNSEL_CHECK_INVALID(W(dense, m, BlockShape{0, 8}), "block.rows", "got 0");
  ATTNSEL_CHECK_INVALID(W(dense, BlockShape{40, 8}), "block.rows", "40", "37 rows");
  ATTNSEL_CHECK_INVALID(W(dense, BlockShape{8, 54}), "block.cols", "54", "53 columns");
  ATTNSEL_CHECK_INVALID(W(RowMatrix<T>(3, 5), BlockShape{4, 4}), "block.rows", "4", "3 rows");
  ATTNSEL_CHECK_INVALID(W(RowMatrix<T>(0, 0), BlockShape{1, 1}), "block.rows", "0 rows");
  // Mask of the wrong shape.
  ATTNSEL_CHECK_INVALID(W(dense, Mask::Ones(4, 7), BlockShape{8, 8}), "block_mask", "4x7", "expected 5x7");
  ATTNSEL_CHECK_INVALID(W(dense, Mask::Ones(5, 8), BlockShape{8, 8}), "block_mask", "5x8", "expected 5x7");
  ATTNSEL_CHECK_INVALID(W(dense, Mask::Ones(0, 0), BlockShape{8, 8}), "block_mask", "0x0");
  // Mask-only construction: no fitting side, or an ambiguous one.
  ATTNSEL_CHECK_INVALID(W(dense, Mask::Ones(5, 7)), "block_mask", "5 rows", "8 to 9", "BlockShape");
  CHECK(W(RowMatrix<T>::Zero(40, 53), Mask::Ones(5, 7)).block_cols() == 8);  // 53 / 7 -> only 8 fits
  ATTNSEL_CHECK_INVALID(W(RowMatrix<T>(10, 10), Mask::Ones(6, 5)), "block_mask", "6 rows", "no block side");
  ATTNSEL_CHECK_INVALID(W(RowMatrix<T>(10, 10), Mask::Ones(0, 5)), "block_mask", "0 rows");
  ATTNSEL_CHECK_INVALID(W(RowMatrix<T>(10, 10), Mask::Ones(5, 11)), "block_mask", "11 columns");
  ATTNSEL_CHECK_INVALID(W(RowMatrix<T>(200, 200), Mask::Ones(2, 2)), "block.rows", "got 100");

  const W w(dense, m, BlockShape{8, 8});
  // X with the wrong number of columns; Y of the wrong shape; Y overlapping X.
  ATTNSEL_CHECK_INVALID(w.multiply(RowMatrix<T>(4, 37)), "attnsel::BlockSparseMatrix::multiply", "'X'",
                        "37 columns", "expected 53");
  RowMatrix<T> X = random_matrix<T>(4, 53, g);
  RowMatrix<T> Ybad(4, 36);
  ATTNSEL_CHECK_INVALID(w.multiply(X, Ybad), "'Y'", "4x36", "expected 4x37");
  RowMatrix<T> Ybad2(5, 37);
  ATTNSEL_CHECK_INVALID(w.multiply(X, Ybad2), "'Y'", "5x37", "expected 4x37");
  RowMatrix<T> both(4, 53 + 37);
  ATTNSEL_CHECK_INVALID(w.multiply(both.leftCols(53), both.block(0, 10, 4, 37)), "'Y'", "overlaps");
  ATTNSEL_CHECK_INVALID(w.multiply_transposed(RowMatrix<T>(2, 53)),
                        "attnsel::BlockSparseMatrix::multiply_transposed", "'X'", "53 columns", "expected 37");
  RowMatrix<T> U = random_matrix<T>(2, 37, g);
  RowMatrix<T> Zbad(2, 37);
  ATTNSEL_CHECK_INVALID(w.multiply_transposed(U, Zbad), "'Y'", "2x37", "expected 2x53");
  ATTNSEL_CHECK_INVALID(w.multiply_vector(attnsel::Vector<T>(52)), "attnsel::BlockSparseMatrix::multiply_vector",
                        "'x'", "size 52", "expected 53");
  ATTNSEL_CHECK_INVALID(w.multiply_vector(RowMatrix<T>(2, 53)), "'x'", "must be a vector", "2x53");
  attnsel::Vector<T> yv(36);
  ATTNSEL_CHECK_INVALID(w.multiply_vector(attnsel::Vector<T>(53), yv), "'y'", "size 36", "expected 37");
  ATTNSEL_CHECK_INVALID(w.block(35), "'k'", "35", "nnz_blocks");
  ATTNSEL_CHECK_INVALID(w.block(-1), "'k'", "-1");
  // A failed call leaves Y untouched.
  RowMatrix<T> Y = RowMatrix<T>::Constant(4, 36, T(7));
  ATTNSEL_CHECK_INVALID(w.multiply(X, Y), "'Y'");
  CHECK((Y.array() == T(7)).all());
}

TEST_CASE("BSR products are large-matrix correct and thread-count independent", "[sparse]") {
  std::mt19937_64 g(9);
  const Index R = 300, C = 520;
  const RowMatrix<float> dense = random_matrix<float>(R, C, g);
  for (Index b : {16, 32, 12}) {
    const Mask m = random_mask((R + b - 1) / b, (C + b - 1) / b, 0.2, g);
    const BlockSparseMatrix<float> w(dense, m, {b, b});
    const RowMatrix<float> X = random_matrix<float>(257, C, g);
    RowMatrix<float> Y1(257, R), Y2(257, R);
    w.multiply(X, Y1, serial());
    w.multiply(X, Y2, always_parallel());
    CHECK(Y1 == Y2);
    CHECK(close_product(Y1, to_double(X), DMat(to_double(w.to_dense()).transpose()), rel_tol<float>(C)));
  }
}
