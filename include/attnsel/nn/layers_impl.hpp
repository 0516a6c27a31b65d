// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file nn/layers_impl.hpp
/// Definitions of the layers declared in layers.hpp.

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "../parallel.hpp"
#include "../simd/gemm.hpp"
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

/// Strided row-major views (data, rows, columns, row stride): every dense product of the
/// training floor runs on these, through `matmul` below and simd/gemm.hpp (no Eigen product
/// or expression is instantiated by a layer; docs/conventions.md §7).
template <class T>
struct ConstRowView {
  const T* data;
  Index rows, cols, stride;
};
template <class T>
struct RowView {
  T* data;
  Index rows, cols, stride;
};

/// Views of a whole matrix, of rows [r0, r0 + rows), of columns [c0, c0 + cols): `in_*` to
/// read, `out_*` to write.
template <class T>
ConstRowView<T> in_rows(const RowMatrix<T>& M, Index r0, Index rows) {
  return {M.data() + r0 * M.cols(), rows, M.cols(), M.cols()};
}
template <class T>
ConstRowView<T> in_view(const RowMatrix<T>& M) {
  return in_rows(M, 0, M.rows());
}
template <class T>
ConstRowView<T> in_cols(const RowMatrix<T>& M, Index c0, Index cols) {
  return {M.data() + c0, M.rows(), cols, M.cols()};
}
template <class T>
RowView<T> out_rows(RowMatrix<T>& M, Index r0, Index rows) {
  return {M.data() + r0 * M.cols(), rows, M.cols(), M.cols()};
}
template <class T>
RowView<T> out_view(RowMatrix<T>& M) {
  return out_rows(M, 0, M.rows());
}
template <class T>
RowView<T> out_cols(RowMatrix<T>& M, Index c0, Index cols) {
  return {M.data() + c0, M.rows(), cols, M.cols()};
}

/// Whether a matmul operand enters as itself or transposed.
enum class Op { none, transpose };

/// C = op_a(A) · op_b(B), C already of the product's shape, not both transposed (either is an
/// internal error and throws). Rows in chunks on OpenMP threads when the caller's scope allows
/// threads (ThreadsForWork / SingleThreadScope) and the product is large: every entry is one
/// p-ordered chain (simd/gemm.hpp), so C has the same bits for any thread count and a row the
/// same bits whatever the other rows.
template <class T>
void matmul(const ConstRowView<T>& A, Op op_a, const ConstRowView<T>& B, Op op_b, const RowView<T>& C) {
  const bool ta = op_a == Op::transpose, tb = op_b == Op::transpose;
  const Index m = ta ? A.cols : A.rows, k = ta ? A.rows : A.cols;
  const Index kb = tb ? B.cols : B.rows, n = tb ? B.rows : B.cols;
  require(!(ta && tb) && k == kb && C.rows == m && C.cols == n, "attnsel::detail::matmul",
          "internal error: op(A) is ", m, "x", k, ", op(B) ", kb, "x", n, ", C ", C.rows, "x", C.cols,
          ta && tb ? ", both transposed" : "", " (argument 'C' must be op(A)·op(B), at most one operand transposed)");
  using Operand = simd::GemmOperand<T>;
  const Operand a = ta ? Operand{A.data, 1, A.stride} : Operand{A.data, A.stride, 1};
  const Operand b = tb ? Operand{B.data, 1, B.stride} : Operand{B.data, B.stride, 1};
  const double madds = double(m) * double(n) * double(k);
  for_row_chunks(m, 64, madds * (omp_parallel_pass / omp_parallel_work), [&](Index r0, Index r1) {
    Operand ar = a;
    ar.data += r0 * a.row_stride;
    simd::gemm<T>(std::size_t(r1 - r0), std::size_t(n), std::size_t(k), ar, b, C.data + r0 * C.stride,
                  std::size_t(C.stride));
  });
}

/// Rows [r0, r1) of Y += the row `bias` (1 × Y.cols()).
template <class T>
void add_row(RowMatrix<T>& Y, const RowMatrix<T>& bias, Index r0, Index r1) {
  const Index c = Y.cols();
  const T* b = bias.data();
  for (Index r = r0; r < r1; ++r) {
    T* y = Y.data() + r * c;
    for (Index j = 0; j < c; ++j) y[j] += b[j];
  }
}

/// out = x ⊙ y (same shapes; out resized).
template <class T>
void hadamard(const RowMatrix<T>& x, const RowMatrix<T>& y, RowMatrix<T>& out) {
  out.resize(x.rows(), x.cols());
  const T *px = x.data(), *py = y.data();
  T* po = out.data();
  for (Index i = 0, n = x.size(); i < n; ++i) po[i] = px[i] * py[i];
}

/// s[j] += Σ_r D(r, j0 + j) for j in [0, w), rows in order (contiguous reads).
template <class T>
void add_column_sums(const RowMatrix<T>& D, Index j0, Index w, T* s) {
  for (Index r = 0, c = D.cols(); r < D.rows(); ++r) {
    const T* d = D.data() + r * c + j0;
    for (Index j = 0; j < w; ++j) s[j] += d[j];
  }
}

/// Rows per chunk (and columns per chunk of a gradient product) of the thread-count
/// independent products below.
constexpr Index product_row_chunk = 256;
constexpr Index product_col_chunk = 64;

/// Y = A·op(B) (+ the row `bias`) with A's rows in fixed chunks of product_row_chunk, each chunk
/// one single-threaded product, the chunks on OpenMP threads: every row of Y is the same for
/// any thread count.
template <class T>
void chunked_product(const RowMatrix<T>& A, const RowMatrix<T>& B, Op op_b, RowMatrix<T>& Y,
                     const RowMatrix<T>* bias = nullptr) {
  const Index out = op_b == Op::transpose ? B.rows() : B.cols();
  Y.resize(A.rows(), out);
  const double madds = double(A.rows()) * double(A.cols()) * double(out);
  for_row_chunks(A.rows(), product_row_chunk, madds * (omp_parallel_pass / omp_parallel_work), [&](Index r0, Index r1) {
    const SingleThreadScope one;
    matmul<T>(in_rows(A, r0, r1 - r0), Op::none, in_view(B), op_b, out_rows(Y, r0, r1 - r0));
    if (bias) add_row(Y, *bias, r0, r1);
  });
}

/// G = Xᵀ·D and, with `colsum`, colsum = the column sums of D (1 × D.cols()), computed by fixed
/// chunks of product_col_chunk columns of D, each one single-threaded product over all
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
      if (colsum) add_column_sums(D, j0, w, colsum->data() + j0);
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
  if (has_mask_) detail::hadamard(W_.value, M_, W_eff_);
  const RowMatrix<T>& W = effective_weight();
  if (thread_independent_) {
    detail::chunked_product<T>(X, W, detail::Op::none, Y, &b_.value);
    return;
  }
  Y.resize(X.rows(), output_size());
  const detail::ThreadsForWork threads(double(X.rows()) * double(input_size()) * double(output_size()));
  detail::matmul<T>(detail::in_view(X), detail::Op::none, detail::in_view(W), detail::Op::none, detail::out_view(Y));
  detail::for_row_chunks(Y.rows(), 64, double(Y.size()), [&](Index r0, Index r1) { detail::add_row(Y, b_.value, r0, r1); });
}

template <class T>
void Dense<T>::backward(const RowMatrix<T>& X, const RowMatrix<T>&, const RowMatrix<T>& dY, RowMatrix<T>* dX) {
  detail::check_backward("attnsel::Dense::backward", X, static_cast<const RowMatrix<T>*>(nullptr), dY,
                         input_size(), output_size());
  if (thread_independent_) {
    detail::chunked_gram<T>(X, dY, has_mask_ ? G_ : W_.grad, &b_.grad);
    if (has_mask_) {
      detail::hadamard(G_, M_, W_.grad);
      detail::hadamard(G_, W_.value, dM_);
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
    detail::hadamard(G_, M_, W_.grad);
    detail::hadamard(G_, W_.value, dM_);
  } else {
    W_.grad.resize(input_size(), output_size());
    detail::matmul<T>(in_view(X), Op::transpose, in_view(dY), Op::none, out_view(W_.grad));
  }
  b_.grad.setZero(1, output_size());  // the same sums, in the same order, as chunked_gram's
  detail::add_column_sums(dY, 0, dY.cols(), b_.grad.data());
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
  // A kernel, not a loop here: the loop's conditional load of dy stays a branch on SSE2 (12-21 % of
  // a Sequential Attention fit there, docs/dev/isa-dispatch-survey.txt).
  simd::relu_backward(Y.data(), dY.data(), dX->data(), static_cast<std::size_t>(dY.size()));
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
  const Index N = X.rows(), D = X.cols();
  const auto d = static_cast<std::size_t>(D);
  const T* x = X.data();
  xhat_.resize(N, D);
  T* xh = xhat_.data();
  inv_std_.resize(1, D);
  T* is = inv_std_.data();
  // Row by row on the kernels (simd/dispatch.hpp): the compiled library runs them on the
  // instruction set chosen at run time, where a loop here would run on its build flags.
  if (train) {
    detail::require(N >= 1, "attnsel::BatchNorm", "training batch is empty");
    const T n = T(N);
    std::vector<T> mean(d, T(0)), var(d, T(0));
    for (Index r = 0; r < N; ++r) simd::axpy(T(1), x + r * D, mean.data(), d);
    for (std::size_t c = 0; c < d; ++c) mean[c] /= n;
    for (Index r = 0; r < N; ++r) {
      simd::sub(x + r * D, mean.data(), xh + r * D, d);
      simd::mul_add(xh + r * D, xh + r * D, var.data(), var.data(), d);
    }
    T *rm = running_mean_.data(), *rv = running_var_.data();
    const T mom = opt_.momentum;
    for (Index c = 0; c < D; ++c) {
      const T v = var[std::size_t(c)] / n;
      is[c] = T(1) / std::sqrt(v + opt_.epsilon);
      rm[c] = mom * rm[c] + (T(1) - mom) * mean[std::size_t(c)];
      rv[c] = mom * rv[c] + (T(1) - mom) * v;
    }
    for (Index r = 0; r < N; ++r) simd::mul_add(xh + r * D, is, static_cast<const T*>(nullptr), xh + r * D, d);
  } else {
    const T *rm = running_mean_.data(), *rv = running_var_.data();
    for (Index c = 0; c < D; ++c) is[c] = T(1) / std::sqrt(rv[c] + opt_.epsilon);
    for (Index r = 0; r < N; ++r) {
      simd::sub(x + r * D, rm, xh + r * D, d);
      simd::mul_add(xh + r * D, is, static_cast<const T*>(nullptr), xh + r * D, d);
    }
  }
  const T *g = gamma_.value.data(), *b = beta_.value.data();
  T* y = Y.data();
  for (Index r = 0; r < N; ++r) simd::mul_add(xh + r * D, g, b, y + r * D, d);
}

template <class T>
void BatchNorm<T>::backward(const RowMatrix<T>& X, const RowMatrix<T>&, const RowMatrix<T>& dY, RowMatrix<T>* dX) {
  detail::check_backward("attnsel::BatchNorm::backward", X, static_cast<const RowMatrix<T>*>(nullptr), dY,
                         input_size(), output_size());
  detail::require(xhat_.rows() == X.rows(), "attnsel::BatchNorm::backward",
                  "the batch has ", X.rows(), " rows, the last forward pass had ", xhat_.rows());
  const Index N = dY.rows(), D = dY.cols();
  const auto d = static_cast<std::size_t>(D);
  beta_.grad.setZero(1, D);
  gamma_.grad.setZero(1, D);
  T *db = beta_.grad.data(), *dg = gamma_.grad.data();
  const T *dy = dY.data(), *xh = xhat_.data(), *g = gamma_.value.data(), *is = inv_std_.data();
  for (Index r = 0; r < N; ++r) {
    simd::axpy(T(1), dy + r * D, db, d);
    simd::mul_add(dy + r * D, xh + r * D, dg, dg, d);
  }
  if (!dX) return;
  dX->resize(N, D);
  T* dx = dX->data();
  if (last_train_) {
    // dX = gamma·inv_std / N · (N·dY − sum(dY) − xhat ⊙ sum(dY ⊙ xhat)), per row
    // dy ⊙ (N·k) + (−sum(dY) ⊙ k) + xhat ⊙ (−sum(dY ⊙ xhat) ⊙ k) with k = gamma·inv_std / N.
    const T n = T(N);
    std::vector<T> nk(d), c0(d), c1(d);
    for (std::size_t c = 0; c < d; ++c) {
      const T k = g[c] * is[c] / n;
      nk[c] = n * k;
      c0[c] = -db[c] * k;
      c1[c] = -dg[c] * k;
    }
    for (Index r = 0; r < N; ++r) {
      simd::mul_add(dy + r * D, nk.data(), c0.data(), dx + r * D, d);
      simd::mul_add(xh + r * D, c1.data(), dx + r * D, dx + r * D, d);
    }
  } else {
    std::vector<T> k(d);
    for (std::size_t c = 0; c < d; ++c) k[c] = g[c] * is[c];
    for (Index r = 0; r < N; ++r) simd::mul_add(dy + r * D, k.data(), static_cast<const T*>(nullptr), dx + r * D, d);
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
  const Index N = X.rows(), D = X.cols();
  const T *x = X.data(), *a = a_.data();
  T* y = Y.data();
  for (Index r = 0; r < N; ++r)
    simd::mul_add(x + r * D, a, static_cast<const T*>(nullptr), y + r * D, static_cast<std::size_t>(D));
}

template <class T>
void FeatureScale<T>::backward(const RowMatrix<T>& X, const RowMatrix<T>&, const RowMatrix<T>& dY,
                               RowMatrix<T>* dX) {
  detail::check_backward("attnsel::FeatureScale::backward", X, static_cast<const RowMatrix<T>*>(nullptr), dY,
                         input_size(), output_size());
  const Index N = dY.rows(), D = dY.cols();
  const T *dy = dY.data(), *x = X.data(), *a = a_.data();
  da_.setZero(1, D);
  T* da = da_.data();
  const auto d = static_cast<std::size_t>(D);
  for (Index r = 0; r < N; ++r) simd::mul_add(dy + r * D, x + r * D, da, da, d);
  if (!dX) return;
  dX->resize(N, D);
  T* dx = dX->data();
  for (Index r = 0; r < N; ++r) simd::mul_add(dy + r * D, a, static_cast<const T*>(nullptr), dx + r * D, d);
}

ATTNSEL_NAMESPACE_END
