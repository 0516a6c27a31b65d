// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file nn/layers.hpp
/// Layers with hand-written forward and backward passes over row-major minibatches (rows are
/// examples): Dense (with an optional weight-mask hook), ReLU, BatchNorm, FeatureScale.
///
/// Contract shared by every layer:
///  - `forward(X, Y, train)` writes Y (resized as needed).
///  - `backward(X, Y, dY, dX)` takes the X and Y of the last forward call (layers keep no
///    pointers to caller memory), overwrites the gradients of the layer's parameters with
///    dL/dparam and, when `dX` is not null, writes dL/dX. Shapes are checked.
///  - `parameters()` lists the trainable tensors (value + grad) for an optimizer.

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "../error.hpp"
#include "../random.hpp"
#include "../simd/dispatch.hpp"
#include "../types.hpp"
#include "parameter.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// Base class of all layers (a virtual call per layer and batch is negligible next to a GEMM).
template <class T>
class Layer {
 public:
  virtual ~Layer() = default;
  /// Columns the layer expects in X.
  virtual Index input_size() const = 0;
  /// Columns the layer writes to Y.
  virtual Index output_size() const = 0;
  virtual void forward(const RowMatrix<T>& X, RowMatrix<T>& Y, bool train) = 0;
  virtual void backward(const RowMatrix<T>& X, const RowMatrix<T>& Y, const RowMatrix<T>& dY,
                        RowMatrix<T>* dX) = 0;
  virtual std::vector<Parameter<T>*> parameters() { return {}; }
  /// Short description, e.g. "Dense(784 -> 256)".
  virtual std::string describe() const = 0;
};

/// Weight initialisation of Dense layers.
enum class Init {
  glorot_uniform,  ///< U(-sqrt(6/(in+out)), +sqrt(6/(in+out))), Keras' default
  he_uniform,      ///< U(-sqrt(6/in), +sqrt(6/in)), for ReLU stacks
  he_normal,       ///< N(0, 2/in)
  zeros,
};

/// Fully connected layer Y = X (W ⊙ M) + b, W of shape in x out, b of shape 1 x out.
///
/// The weight-mask hook: after `set_weight_mask(M)` the layer uses the effective kernel W ⊙ M
/// (M of shape in x out, any real values, e.g. 0/1 block masks times attention weights), and
/// `backward` also produces dL/dM in `weight_mask_grad()`. Without a mask, M is implicitly 1.
/// Complexity: forward 2·batch·in·out flops, backward twice that (once without dX).
template <class T>
class Dense final : public Layer<T> {
 public:
  /// @throws std::invalid_argument if a size is < 1.
  Dense(Index in, Index out, Rng& rng, Init init = Init::glorot_uniform);

  Index input_size() const override { return W_.value.rows(); }
  Index output_size() const override { return W_.value.cols(); }
  void forward(const RowMatrix<T>& X, RowMatrix<T>& Y, bool train) override;
  void backward(const RowMatrix<T>& X, const RowMatrix<T>& Y, const RowMatrix<T>& dY, RowMatrix<T>* dX) override;
  std::vector<Parameter<T>*> parameters() override { return {&W_, &b_}; }
  std::string describe() const override;

  Parameter<T>& weight() noexcept { return W_; }
  Parameter<T>& bias() noexcept { return b_; }
  const Parameter<T>& weight() const noexcept { return W_; }
  const Parameter<T>& bias() const noexcept { return b_; }

  /// Uses W ⊙ M from now on. @throws std::invalid_argument if M is not in x out or not finite.
  template <class D>
  void set_weight_mask(const Eigen::MatrixBase<D>& M);
  /// Back to the plain kernel W.
  void clear_weight_mask() noexcept;
  bool has_weight_mask() const noexcept { return has_mask_; }
  const RowMatrix<T>& weight_mask() const noexcept { return M_; }
  /// dL/dM of the last backward pass (empty when no mask is set).
  const RowMatrix<T>& weight_mask_grad() const noexcept { return dM_; }
  /// The kernel the forward pass uses: W, or W ⊙ M with a mask.
  const RowMatrix<T>& effective_weight() const noexcept { return has_mask_ ? W_eff_ : W_.value; }

  /// With `on`, the products split into fixed chunks (256 rows of X; 64 columns of the kernel
  /// gradient), each one single-threaded product, the chunks on OpenMP threads. Both settings
  /// give bitwise the same outputs and gradients for any thread count: every entry of a product
  /// is one chain of multiply-adds in a fixed order (simd/gemm.hpp). Kept for the transformer
  /// layers, which switch it on, and for code written against earlier versions.
  void set_thread_count_independent(bool on) noexcept { thread_independent_ = on; }
  bool thread_count_independent() const noexcept { return thread_independent_; }

 private:
  Parameter<T> W_, b_;
  RowMatrix<T> M_, W_eff_, dM_, G_;
  bool has_mask_ = false;
  bool thread_independent_ = false;
};

/// Y = max(X, 0).
template <class T>
class ReLU final : public Layer<T> {
 public:
  explicit ReLU(Index size) : size_(size) {
    detail::require(size >= 1, "attnsel::ReLU", "argument 'size' is ", size, ", expected >= 1");
  }
  Index input_size() const override { return size_; }
  Index output_size() const override { return size_; }
  void forward(const RowMatrix<T>& X, RowMatrix<T>& Y, bool train) override;
  void backward(const RowMatrix<T>& X, const RowMatrix<T>& Y, const RowMatrix<T>& dY, RowMatrix<T>* dX) override;
  std::string describe() const override { return "ReLU(" + std::to_string(size_) + ")"; }

 private:
  Index size_;
};

/// Y = X where X > 0, alpha · X elsewhere (alpha = 0 is ReLU).
template <class T>
class LeakyReLU final : public Layer<T> {
 public:
  LeakyReLU(Index size, T alpha) : size_(size), alpha_(alpha) {
    detail::require(size >= 1, "attnsel::LeakyReLU", "argument 'size' is ", size, ", expected >= 1");
    detail::require(std::isfinite(alpha), "attnsel::LeakyReLU", "argument 'alpha' is ", alpha, ", expected a finite value");
  }
  Index input_size() const override { return size_; }
  Index output_size() const override { return size_; }
  void forward(const RowMatrix<T>& X, RowMatrix<T>& Y, bool) override {
    detail::require(X.cols() == size_, "attnsel::LeakyReLU::forward", "input has ", X.cols(), " columns, expected ", size_,
                    " (argument 'X')");
    Y.resize(X.rows(), X.cols());
    Y.array() = (X.array() > T(0)).select(X.array(), alpha_ * X.array());
  }
  void backward(const RowMatrix<T>& X, const RowMatrix<T>&, const RowMatrix<T>& dY, RowMatrix<T>* dX) override {
    detail::require(X.cols() == size_ && dY.rows() == X.rows() && dY.cols() == size_, "attnsel::LeakyReLU::backward",
                    "output gradient is ", dY.rows(), "x", dY.cols(), ", expected ", X.rows(), "x", size_,
                    " (argument 'dY')");
    if (!dX) return;
    dX->resize(dY.rows(), dY.cols());
    dX->array() = (X.array() > T(0)).select(dY.array(), alpha_ * dY.array());
  }
  std::string describe() const override { return "LeakyReLU(" + std::to_string(size_) + ")"; }

 private:
  Index size_;
  T alpha_;
};

/// Options of BatchNorm (defaults follow Keras: momentum 0.99, epsilon 1e-3).
template <class T>
struct BatchNormOptions {
  /// running = momentum · running + (1 − momentum) · batch statistic.
  T momentum = T(0.99);
  T epsilon = T(1e-3);
};

/// Batch normalisation over the rows: Y = gamma ⊙ (X − mean) / sqrt(var + eps) + beta.
/// Training mode uses the batch's mean and (biased) variance and updates the running
/// statistics; evaluation mode uses the running statistics.
template <class T>
class BatchNorm final : public Layer<T> {
 public:
  explicit BatchNorm(Index size, BatchNormOptions<T> options = {});
  Index input_size() const override { return gamma_.value.cols(); }
  Index output_size() const override { return gamma_.value.cols(); }
  void forward(const RowMatrix<T>& X, RowMatrix<T>& Y, bool train) override;
  void backward(const RowMatrix<T>& X, const RowMatrix<T>& Y, const RowMatrix<T>& dY, RowMatrix<T>* dX) override;
  std::vector<Parameter<T>*> parameters() override { return {&gamma_, &beta_}; }
  std::string describe() const override { return "BatchNorm(" + std::to_string(input_size()) + ")"; }

  const RowMatrix<T>& running_mean() const noexcept { return running_mean_; }
  const RowMatrix<T>& running_var() const noexcept { return running_var_; }
  Parameter<T>& gamma() noexcept { return gamma_; }
  Parameter<T>& beta() noexcept { return beta_; }

 private:
  BatchNormOptions<T> opt_;
  Parameter<T> gamma_, beta_;
  RowMatrix<T> running_mean_, running_var_, inv_std_, xhat_;
  bool last_train_ = false;
};

/// Y = X ⊙ a, one scale per column (feature), the same for every row. `a` is not a parameter of
/// this layer: a selector sets it (`set_scale`) before the forward pass and reads dL/da
/// (`scale_grad()`) after the backward pass. Starts at a = 1.
template <class T>
class FeatureScale final : public Layer<T> {
 public:
  explicit FeatureScale(Index size);
  Index input_size() const override { return a_.cols(); }
  Index output_size() const override { return a_.cols(); }
  void forward(const RowMatrix<T>& X, RowMatrix<T>& Y, bool train) override;
  void backward(const RowMatrix<T>& X, const RowMatrix<T>& Y, const RowMatrix<T>& dY, RowMatrix<T>* dX) override;
  std::string describe() const override { return "FeatureScale(" + std::to_string(input_size()) + ")"; }

  /// @throws std::invalid_argument if `a` is not a vector of input_size() finite values.
  template <class D>
  void set_scale(const Eigen::MatrixBase<D>& a);
  /// The current scale, 1 x size.
  const RowMatrix<T>& scale() const noexcept { return a_; }
  /// dL/da of the last backward pass, 1 x size.
  const RowMatrix<T>& scale_grad() const noexcept { return da_; }

 private:
  RowMatrix<T> a_, da_;
};

ATTNSEL_NAMESPACE_END

#include "layers_impl.hpp"
