// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file nn/layers_impl.hpp
/// Definitions of the layers declared in layers.hpp.

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "../parallel.hpp"
#include "layers.hpp"

ATTNSEL_NAMESPACE_BEGIN

namespace detail {

template <class T>
void check_batch(const char* layer, const RowMatrix<T>& X, Index expected_cols) {
  require(X.cols() == expected_cols, layer, "input has ", X.cols(), " columns, expected ", expected_cols,
          " (argument 'X')");
}

/// backward's X must have the layer's input width, and dY (and Y) the rows of X and the
/// layer's output width.
template <class T>
void check_backward(const char* layer, const RowMatrix<T>& X, const RowMatrix<T>* Y, const RowMatrix<T>& dY,
                    Index in, Index out) {
  require(X.cols() == in, layer, "argument 'X' has ", X.cols(), " columns, expected ", in);
  require(dY.rows() == X.rows() && dY.cols() == out, layer, "output gradient is ", dY.rows(), "x", dY.cols(),
          ", expected ", X.rows(), "x", out, " (argument 'dY': the forward output's shape)");
  if (Y)
    require(Y->rows() == X.rows() && Y->cols() == out, layer, "argument 'Y' is ", Y->rows(), "x", Y->cols(),
            ", expected ", X.rows(), "x", out);
}

/// Strided row-major views: every dense product of the training floor runs on these, through
/// `matmul` below, so a TU instantiates Eigen's product dispatch three times per scalar type
/// (A·B, Aᵀ·B, A·Bᵀ) rather than once per expression shape (a Block, a Transpose of a Block, …
/// each its own GEMM dispatch and GEMV fallbacks; docs/conventions.md §7). The same Eigen
/// kernels and blocking run as on the matrices themselves: the same bits.
template <class T>
using RowView = Eigen::Map<RowMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using ConstRowView = Eigen::Map<const RowMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

/// Views of a whole matrix, of rows [r0, r0 + rows), of columns [c0, c0 + cols): `in_*` to
/// read, `out_*` to write.
template <class T>
ConstRowView<T> in_rows(const RowMatrix<T>& M, Index r0, Index rows) {
  return ConstRowView<T>(M.data() + r0 * M.cols(), rows, M.cols(), Eigen::OuterStride<>(M.cols()));
}
template <class T>
ConstRowView<T> in_view(const RowMatrix<T>& M) {
  return in_rows(M, 0, M.rows());
}
template <class T>
ConstRowView<T> in_cols(const RowMatrix<T>& M, Index c0, Index cols) {
  return ConstRowView<T>(M.data() + c0, M.rows(), cols, Eigen::OuterStride<>(M.cols()));
}
template <class T>
RowView<T> out_rows(RowMatrix<T>& M, Index r0, Index rows) {
  return RowView<T>(M.data() + r0 * M.cols(), rows, M.cols(), Eigen::OuterStride<>(M.cols()));
}
template <class T>
RowView<T> out_view(RowMatrix<T>& M) {
  return out_rows(M, 0, M.rows());
}
template <class T>
RowView<T> out_cols(RowMatrix<T>& M, Index c0, Index cols) {
  return RowView<T>(M.data() + c0, M.rows(), cols, Eigen::OuterStride<>(M.cols()));
}

/// Whether a matmul operand enters as itself or transposed.
enum class Op { none, transpose };

/// C = op_a(A) · op_b(B), C already of the product's shape, not both transposed (either is an
/// internal error and throws; Eigen's own size asserts are off under NDEBUG). Threads: as the
/// caller's scope allows Eigen (ThreadsForWork / SingleThreadScope).
template <class T>
void matmul(const ConstRowView<T>& A, Op op_a, const ConstRowView<T>& B, Op op_b, RowView<T> C) {
  const bool ta = op_a == Op::transpose, tb = op_b == Op::transpose;
  const Index m = ta ? A.cols() : A.rows(), k = ta ? A.rows() : A.cols();
  const Index kb = tb ? B.cols() : B.rows(), n = tb ? B.rows() : B.cols();
  require(!(ta && tb) && k == kb && C.rows() == m && C.cols() == n, "attnsel::detail::matmul",
          "internal error: op(A) is ", m, "x", k, ", op(B) ", kb, "x", n, ", C ", C.rows(), "x", C.cols(),
          ta && tb ? ", both transposed" : "", " (argument 'C' must be op(A)·op(B), at most one operand transposed)");
  if (ta) {
    C.noalias() = A.transpose() * B;
  } else if (op_b == Op::transpose) {
    C.noalias() = A * B.transpose();
  } else {
    C.noalias() = A * B;
  }
}

/// Rows per chunk (and columns per chunk of a gradient product) of the thread-count
/// independent products below.
constexpr Index product_row_chunk = 256;
constexpr Index product_col_chunk = 64;

/// Y = A·op(B) (+ the row `bias`) with A's rows in fixed chunks of product_row_chunk, each chunk
/// one single-threaded Eigen product, the chunks on OpenMP threads: every row of Y is the same
/// for any thread count (Eigen's own parallel product picks its blocking, and so its rounding,
/// by the thread count).
template <class T>
void chunked_product(const RowMatrix<T>& A, const RowMatrix<T>& B, Op op_b, RowMatrix<T>& Y,
                     const RowMatrix<T>* bias = nullptr) {
  const Index out = op_b == Op::transpose ? B.rows() : B.cols();
  Y.resize(A.rows(), out);
  const double madds = double(A.rows()) * double(A.cols()) * double(out);
  for_row_chunks(A.rows(), product_row_chunk, madds * (omp_parallel_pass / omp_parallel_work), [&](Index r0, Index r1) {
    const SingleThreadScope one;
    matmul<T>(in_rows(A, r0, r1 - r0), Op::none, in_view(B), op_b, out_rows(Y, r0, r1 - r0));
    if (bias) Y.middleRows(r0, r1 - r0).rowwise() += bias->row(0);
  });
}

/// G = Xᵀ·D and, with `colsum`, colsum = the column sums of D (1 × D.cols()), computed by fixed
/// chunks of product_col_chunk columns of D, each one single-threaded Eigen product over all
/// rows, the chunks on OpenMP threads: the same bits for any thread count.
template <class T>
void chunked_gram(const RowMatrix<T>& X, const RowMatrix<T>& D, RowMatrix<T>& G, RowMatrix<T>* colsum = nullptr) {
  G.resize(X.cols(), D.cols());
  if (colsum) colsum->setZero(1, D.cols());
  const double madds = double(X.rows()) * double(X.cols()) * double(D.cols());
  const Index C = D.cols();
  const Index chunks = (C + product_col_chunk - 1) / product_col_chunk;
  // for_row_chunks over chunk indices: chunk c covers columns [c·64, min(C, (c+1)·64)).
  for_row_chunks(chunks, 1, madds * (omp_parallel_pass / omp_parallel_work), [&](Index c0, Index c1) {
    const SingleThreadScope one;
    for (Index c = c0; c < c1; ++c) {
      const Index j0 = c * product_col_chunk, w = std::min(C, j0 + product_col_chunk) - j0;
      matmul<T>(in_view(X), Op::transpose, in_cols(D, j0, w), Op::none, out_cols(G, j0, w));
      if (colsum)
        for (Index r = 0; r < D.rows(); ++r) colsum->row(0).segment(j0, w) += D.row(r).segment(j0, w);
    }
  });
}

}  // namespace detail

// ---- Dense ----

template <class T>
Dense<T>::Dense(Index in, Index out, Rng& rng, Init init)
    : W_("weight", in < 1 ? 1 : in, out < 1 ? 1 : out), b_("bias", 1, out < 1 ? 1 : out) {
  detail::require(in >= 1, "attnsel::Dense", "argument 'in' is ", in, ", expected >= 1");
  detail::require(out >= 1, "attnsel::Dense", "argument 'out' is ", out, ", expected >= 1");
  const double fan_in = double(in), fan_out = double(out);
  switch (init) {
    case Init::glorot_uniform:
    case Init::he_uniform: {
      const double limit = init == Init::glorot_uniform ? std::sqrt(6.0 / (fan_in + fan_out)) : std::sqrt(6.0 / fan_in);
      for (Index i = 0; i < W_.value.size(); ++i) W_.value.data()[i] = T(random::uniform(rng, -limit, limit));
      break;
    }
    case Init::he_normal: {
      const double sd = std::sqrt(2.0 / fan_in);
      for (Index i = 0; i < W_.value.size(); ++i) W_.value.data()[i] = T(random::normal(rng, 0.0, sd));
      break;
    }
    case Init::zeros:
      break;
  }
}

template <class T>
std::string Dense<T>::describe() const {
  return "Dense(" + std::to_string(input_size()) + " -> " + std::to_string(output_size()) +
         (has_mask_ ? ", masked)" : ")");
}

template <class T>
template <class D>
void Dense<T>::set_weight_mask(const Eigen::MatrixBase<D>& M) {
  detail::require(M.rows() == W_.value.rows() && M.cols() == W_.value.cols(), "attnsel::Dense::set_weight_mask",
                  "argument 'M' is ", M.rows(), "x", M.cols(), ", expected ", W_.value.rows(), "x",
                  W_.value.cols(), " (the kernel's shape)");
  RowMatrix<T> m = M.template cast<T>();
  detail::require(detail::all_finite(m), "attnsel::Dense::set_weight_mask", "argument 'M' holds NaN or inf");
  M_ = std::move(m);
  has_mask_ = true;
}

template <class T>
void Dense<T>::clear_weight_mask() noexcept {
  has_mask_ = false;
  M_.resize(0, 0);
  dM_.resize(0, 0);
  W_eff_.resize(0, 0);
}

template <class T>
void Dense<T>::forward(const RowMatrix<T>& X, RowMatrix<T>& Y, bool) {
  detail::check_batch("attnsel::Dense::forward", X, input_size());
  if (has_mask_) W_eff_.noalias() = W_.value.cwiseProduct(M_);
  const RowMatrix<T>& W = effective_weight();
  if (thread_independent_) {
    detail::chunked_product<T>(X, W, detail::Op::none, Y, &b_.value);
    return;
  }
  Y.resize(X.rows(), output_size());
  const detail::ThreadsForWork threads(double(X.rows()) * double(input_size()) * double(output_size()));
  detail::matmul<T>(detail::in_view(X), detail::Op::none, detail::in_view(W), detail::Op::none, detail::out_view(Y));
  const auto bias = b_.value.row(0);
  detail::for_row_chunks(Y.rows(), 64, double(Y.size()), [&](Index r0, Index r1) { Y.middleRows(r0, r1 - r0).rowwise() += bias; });
}

template <class T>
void Dense<T>::backward(const RowMatrix<T>& X, const RowMatrix<T>&, const RowMatrix<T>& dY, RowMatrix<T>* dX) {
  detail::check_backward("attnsel::Dense::backward", X, static_cast<const RowMatrix<T>*>(nullptr), dY,
                         input_size(), output_size());
  if (thread_independent_) {
    detail::chunked_gram<T>(X, dY, has_mask_ ? G_ : W_.grad, &b_.grad);
    if (has_mask_) {
      W_.grad.noalias() = G_.cwiseProduct(M_);
      dM_.noalias() = G_.cwiseProduct(W_.value);
    }
    if (dX) detail::chunked_product<T>(dY, effective_weight(), detail::Op::transpose, *dX);
    return;
  }
  const detail::ThreadsForWork threads(double(X.rows()) * double(input_size()) * double(output_size()));
  using detail::Op;
  using detail::in_view;
  using detail::out_view;
  if (has_mask_) {
    G_.resize(input_size(), output_size());
    detail::matmul<T>(in_view(X), Op::transpose, in_view(dY), Op::none, out_view(G_));
    W_.grad.noalias() = G_.cwiseProduct(M_);
    dM_.noalias() = G_.cwiseProduct(W_.value);
  } else {
    W_.grad.resize(input_size(), output_size());
    detail::matmul<T>(in_view(X), Op::transpose, in_view(dY), Op::none, out_view(W_.grad));
  }
  ones_.setOnes(1, dY.rows());
  b_.grad.resize(1, output_size());
  // Column sums as a GEMV (row-major colwise().sum() is strided).
  detail::matmul<T>(in_view(ones_), Op::none, in_view(dY), Op::none, out_view(b_.grad));
  if (dX) {
    dX->resize(dY.rows(), input_size());
    detail::matmul<T>(in_view(dY), Op::none, in_view(effective_weight()), Op::transpose, out_view(*dX));
  }
}

// ---- ReLU ----

template <class T>
void ReLU<T>::forward(const RowMatrix<T>& X, RowMatrix<T>& Y, bool) {
  detail::check_batch("attnsel::ReLU::forward", X, size_);
  Y.resize(X.rows(), X.cols());
  simd::relu(X.data(), Y.data(), static_cast<std::size_t>(X.size()));
}

template <class T>
void ReLU<T>::backward(const RowMatrix<T>& X, const RowMatrix<T>& Y, const RowMatrix<T>& dY, RowMatrix<T>* dX) {
  detail::check_backward("attnsel::ReLU::backward", X, &Y, dY, size_, size_);
  if (!dX) return;
  dX->resize(dY.rows(), dY.cols());
  dX->array() = (Y.array() > T(0)).select(dY.array(), T(0));
}

// ---- BatchNorm ----

template <class T>
BatchNorm<T>::BatchNorm(Index size, BatchNormOptions<T> options)
    : opt_(options), gamma_("gamma", 1, size < 1 ? 1 : size), beta_("beta", 1, size < 1 ? 1 : size) {
  detail::require(size >= 1, "attnsel::BatchNorm", "argument 'size' is ", size, ", expected >= 1");
  detail::require(options.momentum >= T(0) && options.momentum <= T(1), "attnsel::BatchNorm",
                  "option 'momentum' is ", options.momentum, ", expected a value in [0, 1]");
  detail::require(options.epsilon > T(0), "attnsel::BatchNorm", "option 'epsilon' is ",
                  options.epsilon, ", expected > 0");
  gamma_.value.setOnes();
  running_mean_ = RowMatrix<T>::Zero(1, size);
  running_var_ = RowMatrix<T>::Ones(1, size);
}

template <class T>
void BatchNorm<T>::forward(const RowMatrix<T>& X, RowMatrix<T>& Y, bool train) {
  detail::check_batch("attnsel::BatchNorm::forward", X, input_size());
  last_train_ = train;
  Y.resize(X.rows(), X.cols());
  if (train) {
    detail::require(X.rows() >= 1, "attnsel::BatchNorm", "training batch is empty");
    const T n = T(X.rows());
    const RowMatrix<T> mean = X.colwise().sum() / n;
    xhat_ = X.rowwise() - mean.row(0);
    const RowMatrix<T> var = xhat_.colwise().squaredNorm() / n;
    inv_std_ = (var.array() + opt_.epsilon).rsqrt().matrix();
    xhat_.array().rowwise() *= inv_std_.array().row(0);
    running_mean_ = opt_.momentum * running_mean_ + (T(1) - opt_.momentum) * mean;
    running_var_ = opt_.momentum * running_var_ + (T(1) - opt_.momentum) * var;
  } else {
    inv_std_ = (running_var_.array() + opt_.epsilon).rsqrt().matrix();
    xhat_ = X.rowwise() - running_mean_.row(0);
    xhat_.array().rowwise() *= inv_std_.array().row(0);
  }
  Y.array() = (xhat_.array().rowwise() * gamma_.value.array().row(0)).rowwise() + beta_.value.array().row(0);
}

template <class T>
void BatchNorm<T>::backward(const RowMatrix<T>& X, const RowMatrix<T>&, const RowMatrix<T>& dY, RowMatrix<T>* dX) {
  detail::check_backward("attnsel::BatchNorm::backward", X, static_cast<const RowMatrix<T>*>(nullptr), dY,
                         input_size(), output_size());
  detail::require(xhat_.rows() == X.rows(), "attnsel::BatchNorm::backward",
                  "the batch has ", X.rows(), " rows, the last forward pass had ", xhat_.rows());
  beta_.grad = dY.colwise().sum();
  gamma_.grad = dY.cwiseProduct(xhat_).colwise().sum();
  if (!dX) return;
  dX->resize(dY.rows(), dY.cols());
  const RowMatrix<T> scale = gamma_.value.cwiseProduct(inv_std_);  // 1 x d
  if (last_train_) {
    // dX = gamma·inv_std / N · (N·dY − sum(dY) − xhat ⊙ sum(dY ⊙ xhat))
    const T n = T(dY.rows());
    dX->array() = dY.array() * n;
    dX->array().rowwise() -= beta_.grad.array().row(0);
    dX->array() -= xhat_.array().rowwise() * gamma_.grad.array().row(0);
    dX->array().rowwise() *= (scale.array() / n).row(0);
  } else {
    dX->array() = dY.array().rowwise() * scale.array().row(0);
  }
}

// ---- FeatureScale ----

template <class T>
FeatureScale<T>::FeatureScale(Index size) {
  detail::require(size >= 1, "attnsel::FeatureScale", "argument 'size' is ", size, ", expected >= 1");
  a_ = RowMatrix<T>::Ones(1, size);
  da_ = RowMatrix<T>::Zero(1, size);
}

template <class T>
template <class D>
void FeatureScale<T>::set_scale(const Eigen::MatrixBase<D>& a) {
  detail::require((a.rows() == 1 || a.cols() == 1) && a.size() == a_.cols(), "attnsel::FeatureScale::set_scale",
                  "argument 'a' is ", a.rows(), "x", a.cols(), ", expected a vector of ", a_.cols(), " values");
  for (Index i = 0; i < a.size(); ++i) {
    const T v = T(a.cols() == 1 ? a(i, 0) : a(0, i));
    detail::require(std::isfinite(v), "attnsel::FeatureScale::set_scale", "argument 'a' holds ", v, " at index ", i);
    a_(0, i) = v;
  }
}

template <class T>
void FeatureScale<T>::forward(const RowMatrix<T>& X, RowMatrix<T>& Y, bool) {
  detail::check_batch("attnsel::FeatureScale::forward", X, input_size());
  Y.resize(X.rows(), X.cols());
  Y.array() = X.array().rowwise() * a_.array().row(0);
}

template <class T>
void FeatureScale<T>::backward(const RowMatrix<T>& X, const RowMatrix<T>&, const RowMatrix<T>& dY,
                               RowMatrix<T>* dX) {
  detail::check_backward("attnsel::FeatureScale::backward", X, static_cast<const RowMatrix<T>*>(nullptr), dY,
                         input_size(), output_size());
  da_.noalias() = dY.cwiseProduct(X).colwise().sum();
  if (!dX) return;
  dX->resize(dY.rows(), dY.cols());
  dX->array() = dY.array().rowwise() * a_.array().row(0);
}

ATTNSEL_NAMESPACE_END
