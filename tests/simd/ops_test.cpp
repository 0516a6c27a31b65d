// The checked Eigen-level API (simd/ops.hpp): shapes and expressions it accepts, the results it
// documents for edge cases, and the exceptions it throws for bad arguments.
#include "../catch_compat.hpp"
#include "../reference.hpp"

#include <attnsel/attnsel.hpp>

#include <cmath>
#include <limits>
#include <vector>

using attnsel::Index;
using attnsel::RowMatrix;

TEMPLATE_TEST_CASE("Eigen API reads vectors of any layout and expressions", "[ops]", float, double) {
  using T = TestType;
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using RowVec = Eigen::Matrix<T, 1, Eigen::Dynamic>;
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;  // column-major
  const Index n = 37;
  const Vec x = Vec::Random(n);
  Vec m = Vec::Ones(n);
  m(3) = 0;
  m(20) = 0;
  const Vec s = attnsel::masked_softmax(x, m);
  CHECK(s(3) == T(0));
  CHECK(std::fabs(s.sum() - T(1)) < T(1e-5));

  // Row vector in, row vector out, same values.
  const RowVec xr = x.transpose();
  const RowVec mr = m.transpose();
  const RowVec sr = attnsel::masked_softmax(xr, mr);
  CHECK((sr.transpose() - s).cwiseAbs().maxCoeff() == T(0));

  // A strided row of a column-major matrix and an expression give the same values.
  Mat M = Mat::Random(3, n);
  M.row(1) = xr;
  const RowVec ss = attnsel::masked_softmax(M.row(1), mr);
  CHECK((ss.transpose() - s).cwiseAbs().maxCoeff() == T(0));
  const Vec se = attnsel::masked_softmax(T(2) * x - x, m);
  CHECK((se - s).cwiseAbs().maxCoeff() <= T(1e-6));

  CHECK(std::fabs(attnsel::dot(x, M.row(1)) - x.squaredNorm()) <= T(1e-4));
  CHECK(std::fabs(attnsel::sum(M) - M.sum()) <= T(1e-4));
  CHECK(attnsel::max_value(x) == x.maxCoeff());
  CHECK((attnsel::axpy(T(2), x, x) - T(3) * x).cwiseAbs().maxCoeff() <= T(1e-6));
  CHECK((attnsel::scale(T(-1), M) + M).cwiseAbs().maxCoeff() == T(0));
  CHECK((attnsel::relu(M) - M.cwiseMax(T(0))).cwiseAbs().maxCoeff() == T(0));

  const T lse = attnsel::log_sum_exp(x);
  CHECK(std::fabs(lse - std::log(x.array().exp().sum())) <= T(1e-5));
  const T mlse = attnsel::masked_log_sum_exp(x, m);
  CHECK(std::fabs(mlse - std::log((x.array().exp() * m.array()).sum())) <= T(1e-5));

  const Vec cs = attnsel::inclusive_scan(x);
  const Vec ce = attnsel::exclusive_scan(x);
  CHECK(std::fabs(cs(n - 1) - x.sum()) <= T(1e-4));
  CHECK(ce(0) == T(0));
  CHECK(std::fabs(ce(n - 1) - (x.sum() - x(n - 1))) <= T(1e-4));
}

TEMPLATE_TEST_CASE("softmax_rows and causal_softmax_rows", "[ops]", float, double) {
  using T = TestType;
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  const Mat X = Mat::Random(5, 7);
  const RowMatrix<T> C = attnsel::causal_softmax_rows(X);
  for (Index r = 0; r < 5; ++r) {
    CHECK(std::fabs(C.row(r).sum() - T(1)) <= T(1e-5));
    for (Index c = r + 1; c < 7; ++c) CHECK(C(r, c) == T(0));
  }
  const RowMatrix<T> C2 = attnsel::causal_softmax_rows(X, 10);  // offset beyond cols: full rows
  CHECK(C2.row(0).minCoeff() > T(0));
  const RowMatrix<T> L = attnsel::softmax_rows(X, {0, 1, 7, 3, 2});
  CHECK(L.row(0).cwiseAbs().maxCoeff() == T(0));
  CHECK(L(1, 0) == T(1));
  CHECK(std::fabs(L.row(2).sum() - T(1)) <= T(1e-5));
  const RowMatrix<T> S = attnsel::scan_rows(X);
  CHECK((S.row(4) - X.colwise().sum()).cwiseAbs().maxCoeff() <= T(1e-5));
  const RowMatrix<T> E = attnsel::scan_rows(X, true);
  CHECK(E.row(0).cwiseAbs().maxCoeff() == T(0));
}

TEMPLATE_TEST_CASE("row-wise softmax of a large matrix (row blocks, threaded with OpenMP) matches per-row softmax", "[ops]", float, double) {
  using T = TestType;
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  const Mat X = Mat::Random(300, 200) * T(4);
  const RowMatrix<T> C = attnsel::causal_softmax_rows(X, 50);
  for (Index r = 0; r < X.rows(); ++r) {
    const Index len = std::min<Index>(r + 51, X.cols());
    const Eigen::Matrix<T, Eigen::Dynamic, 1> p = attnsel::softmax(X.row(r).head(len).transpose());
    CHECK((C.row(r).head(len).transpose() - p).cwiseAbs().maxCoeff() <= T(1e-6));
    if (len < X.cols()) CHECK(C.row(r).tail(X.cols() - len).cwiseAbs().maxCoeff() == T(0));
  }
}

TEMPLATE_TEST_CASE("argmax and top-k through the Eigen API", "[ops]", float, double) {
  using T = TestType;
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  Vec x(6);
  x << 3, 7, 7, 1, 7, 2;
  Vec m(6);
  m << 1, 0, 1, 1, 1, 1;
  CHECK(attnsel::masked_argmax(x, m) == 2);
  CHECK(attnsel::argmax(x) == 1);
  CHECK(attnsel::masked_argmax(x, Vec::Zero(6)) == -1);
  CHECK(attnsel::masked_top_k(x, m, 3) == std::vector<Index>{2, 4, 0});
  CHECK(attnsel::top_k(x, 4) == std::vector<Index>{1, 2, 4, 0});
  CHECK(attnsel::top_k(x, 0).empty());
  CHECK(attnsel::argmax(Vec()) == -1);
}

TEMPLATE_TEST_CASE("documented results for empty and all-masked inputs", "[ops]", float, double) {
  using T = TestType;
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  const Vec empty;
  CHECK(attnsel::softmax(empty).size() == 0);
  CHECK(attnsel::sum(empty) == T(0));
  CHECK(attnsel::max_value(empty) == -std::numeric_limits<T>::infinity());
  CHECK(attnsel::log_sum_exp(empty) == -std::numeric_limits<T>::infinity());
  const Vec x = Vec::Random(9);
  const Vec s = attnsel::masked_softmax(x, Vec::Zero(9));
  CHECK(s.cwiseAbs().maxCoeff() == T(0));
  CHECK(attnsel::masked_log_sum_exp(x, Vec::Zero(9)) == -std::numeric_limits<T>::infinity());
}

TEMPLATE_TEST_CASE("bad arguments throw std::invalid_argument naming the argument", "[ops][errors]", float, double) {
  using T = TestType;
  using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const T inf = std::numeric_limits<T>::infinity();
  const Vec x = Vec::Random(5);
  const Vec ones = Vec::Ones(5);

  SECTION("size mismatches") {
    ATTNSEL_CHECK_INVALID(attnsel::dot(x, Vec::Ones(4)), "attnsel::dot", "'y'", "size 4", "expected 5");
    ATTNSEL_CHECK_INVALID(attnsel::masked_softmax(x, Vec::Ones(6)), "masked_softmax", "'mask'", "size 6");
    ATTNSEL_CHECK_INVALID(attnsel::masked_log_sum_exp(x, Vec::Ones(2)), "'mask'", "size 2");
    ATTNSEL_CHECK_INVALID(attnsel::masked_argmax(x, Vec::Ones(1)), "'mask'", "size 1");
    ATTNSEL_CHECK_INVALID(attnsel::masked_top_k(x, Vec::Ones(3), 1), "'mask'", "size 3");
    ATTNSEL_CHECK_INVALID(attnsel::axpy(T(1), x, Vec::Ones(7)), "'y'", "size 7");
  }
  SECTION("matrices where vectors are expected") {
    ATTNSEL_CHECK_INVALID(attnsel::softmax(Mat::Ones(2, 3)), "'logits'", "must be a vector", "2x3");
    ATTNSEL_CHECK_INVALID(attnsel::masked_softmax(x, Mat::Ones(5, 2)), "'mask'", "5x2");
    ATTNSEL_CHECK_INVALID(attnsel::top_k(Mat::Ones(3, 3), 1), "'x'", "3x3");
  }
  SECTION("masks that are not 0/1") {
    Vec bad = ones;
    bad(2) = T(0.5);
    ATTNSEL_CHECK_INVALID(attnsel::masked_softmax(x, bad), "'mask'", "0 and 1", "0.5", "index 2");
    bad(2) = nan;
    ATTNSEL_CHECK_INVALID(attnsel::masked_argmax(x, bad), "'mask'", "index 2");
    bad(2) = T(-1);
    ATTNSEL_CHECK_INVALID(attnsel::masked_top_k(x, bad, 1), "'mask'", "-1");
  }
  SECTION("NaN / +inf at candidates") {
    Vec y = x;
    y(4) = nan;
    ATTNSEL_CHECK_INVALID(attnsel::softmax(y), "'logits'", "nan", "index 4");
    ATTNSEL_CHECK_INVALID(attnsel::masked_softmax(y, ones), "'logits'", "index 4");
    ATTNSEL_CHECK_INVALID(attnsel::log_sum_exp(y), "'logits'", "index 4");
    ATTNSEL_CHECK_INVALID(attnsel::argmax(y), "'x'", "index 4");
    ATTNSEL_CHECK_INVALID(attnsel::top_k(y, 2), "'x'", "index 4");
    y(4) = inf;
    ATTNSEL_CHECK_INVALID(attnsel::softmax(y), "'logits'", "inf", "index 4");
    ATTNSEL_CHECK_INVALID(attnsel::masked_log_sum_exp(y, ones), "'logits'", "index 4");
    CHECK(attnsel::argmax(y) == 4);  // +inf is a valid maximum
    // ... but NaN outside the mask is ignored.
    Vec m = ones;
    m(4) = 0;
    y(4) = nan;
    CHECK(std::isfinite(attnsel::masked_softmax(y, m).sum()));
    CHECK(attnsel::masked_argmax(y, m) >= 0);
    Mat R = Mat::Random(3, 4);
    R(1, 2) = nan;
    ATTNSEL_CHECK_INVALID(attnsel::causal_softmax_rows(R, 5), "'X'", "(1, 2)");
    CHECK_NOTHROW(attnsel::causal_softmax_rows(R));  // (1, 2) is outside row 1's causal length
  }
  SECTION("k and lengths out of range") {
    Vec m = ones;
    m(0) = 0;
    ATTNSEL_CHECK_INVALID(attnsel::masked_top_k(x, m, 5), "'k'", "is 5", "[0, 4]", "candidates");
    ATTNSEL_CHECK_INVALID(attnsel::masked_top_k(x, m, -1), "'k'", "is -1");
    ATTNSEL_CHECK_INVALID(attnsel::top_k(x, 6), "'k'", "is 6", "[0, 5]");
    const Mat X = Mat::Random(2, 3);
    ATTNSEL_CHECK_INVALID(attnsel::softmax_rows(X, {1}), "'lengths'", "size 1", "expected 2");
    ATTNSEL_CHECK_INVALID(attnsel::softmax_rows(X, {1, 4}), "'lengths'", "4", "row 1", "[0, 3]");
    ATTNSEL_CHECK_INVALID(attnsel::softmax_rows(X, {-1, 0}), "'lengths'", "-1", "row 0");
    ATTNSEL_CHECK_INVALID(attnsel::causal_softmax_rows(X, -2), "'offset'", "-2");
  }
}
