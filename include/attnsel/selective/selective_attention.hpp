// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file selective_attention.hpp
/// Selective Attention (Leviathan, Kalman, Matias, ICLR 2025): causal attention whose logits are
/// lowered by a soft mask F that earlier tokens cast on each other.
///
/// For one layer with H heads over N tokens (token 0 is BOS), with scaled causal logits
/// `L_h[i,j] = scale · q_h,i · k_h,j` (j ≤ i):
///
///     R[k,j] = max(L_s[k,j], 0)   for 1 ≤ j < k, else 0        (s = the selector head)
///     F[i,j] = Σ_{k=j+1}^{i-1} R[k,j]                           (shifted cumulative sum)
///     O_h    = softmax_row(L_h − F) · V_h                       (every head, s included)
///
/// so BOS (column 0) and a query's own key are never masked, and a token's vote reaches only the
/// queries after it. `selective = false` runs plain causal attention through the same kernel.
///
/// The kernel never materialises an N × N matrix: query tiles run in order, key tiles inside
/// them, an online softmax keeps a running max / sum / accumulator per row, and F is carried as a
/// per-key running sum of votes (extra memory O(N + tile² + heads·tile·d) per thread). Heads are
/// split over OpenMP threads (when compiled with OpenMP); a thread that does not own the
/// selector head recomputes that head's logits for F. The backward pass runs key tiles in
/// parallel, recomputes the logits, and carries the gradient of F as a per-key suffix sum.
///
/// Scalar types: float and double. Float accumulates logits, F and the softmax in float.

#include <Eigen/Core>

#include <cmath>
#include <limits>
#include <vector>

#include "../config.hpp"
#include "../error.hpp"
#include "../types.hpp"
#include "heads.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// Options of `selective_attention` and `selective_attention_backward`.
struct SelectiveAttentionOptions {
  /// Number of heads of a packed N × (heads·d) input (ignored by the per-head overloads).
  Index heads = 1;
  /// false: plain causal attention (F = 0) through the same kernel.
  bool selective = true;
  /// The head whose logits cast the selection votes.
  Index selector_head = 0;
  /// Logit scale; 0 means 1/sqrt(d).
  double scale = 0.0;
  /// Also return F (N × N) in the aux struct, for inspection (materialises N²).
  bool return_F = false;
  /// Also return every head's attention weights (heads × N × N), for inspection.
  bool return_weights = false;
  /// Backward: treat F as a constant (no gradient into the selector head's Q and K through F).
  bool stop_selector_gradient = false;
  /// Key tile (keys per block of the online softmax; also the backward's query and key tile), 8–1024.
  Index tile = 64;
  /// Query rows per block of the forward pass, 1–4096: each packed key tile serves this many rows.
  Index query_tile = 256;
  /// Use OpenMP threads (heads in the forward pass, key tiles in the backward pass).
  bool parallel = true;
  /// Reject NaN / Inf in Q, K, V (and dO) with std::invalid_argument. Costs one pass over the inputs.
  bool check_finite = true;
};

/// Extra results of the forward pass.
template <class T>
struct SelectiveAttentionAux {
  /// heads × N: log-sum-exp of every softmax row (what the backward pass needs).
  RowMatrix<T> lse;
  /// N: Σ_k R[k,j], the votes each key received from all N queries; F of a query N would see.
  /// This is the state a `KVCache` continues from after a prefill. Empty when not selective.
  Vector<T> column_votes;
  /// N × N soft mask F when `return_F` (zeros when not selective).
  RowMatrix<T> F;
  /// heads matrices N × N of attention weights when `return_weights`.
  std::vector<RowMatrix<T>> weights;
};

/// Gradients returned by the value-returning backward overload (packed layout like the inputs).
template <class T>
struct SelectiveAttentionGradients {
  RowMatrix<T> dQ, dK, dV;
};

/// Forward pass on head views: O_h = softmax(scale·Q_h K_hᵀ − F) V_h with the causal mask.
/// Q, K: heads × N × d; V, O: heads × N × dv. `aux` (optional) receives lse, the column votes and
/// the inspection matrices asked for. Throws std::invalid_argument on mismatched shapes, a bad
/// selector head / scale / tile, or NaN / Inf in the inputs.
template <class T>
void selective_attention(const HeadsView<const T>& Q, const HeadsView<const T>& K,
                         const HeadsView<const T>& V, const HeadsView<T>& O,
                         const SelectiveAttentionOptions& options = {},
                         SelectiveAttentionAux<T>* aux = nullptr);

/// Packed layout: Q, K are N × (heads·d), V is N × (heads·dv), row-major (other layouts are copied
/// once); returns O, N × (heads·dv). `options.heads` says how many heads.
template <class DQ, class DK, class DV>
RowMatrix<typename DQ::Scalar> selective_attention(const Eigen::MatrixBase<DQ>& Q,
                                                   const Eigen::MatrixBase<DK>& K,
                                                   const Eigen::MatrixBase<DV>& V,
                                                   const SelectiveAttentionOptions& options = {},
                                                   SelectiveAttentionAux<typename DQ::Scalar>* aux = nullptr);

/// Per-head layout: vectors of H row-major N × d (N × dv for V) matrices; returns H outputs.
template <class T>
std::vector<RowMatrix<T>> selective_attention(const std::vector<RowMatrix<T>>& Q,
                                              const std::vector<RowMatrix<T>>& K,
                                              const std::vector<RowMatrix<T>>& V,
                                              const SelectiveAttentionOptions& options = {},
                                              SelectiveAttentionAux<T>* aux = nullptr);

/// Backward pass on head views: given the forward inputs, its output O, its `lse` (aux.lse) and
/// dL/dO, writes dL/dQ, dL/dK, dL/dV (overwritten). Includes the path through F into the selector
/// head's Q and K unless `stop_selector_gradient`.
template <class T>
void selective_attention_backward(const HeadsView<const T>& Q, const HeadsView<const T>& K,
                                  const HeadsView<const T>& V, const HeadsView<const T>& O,
                                  const HeadsView<const T>& dO, const RowMatrix<T>& lse,
                                  const HeadsView<T>& dQ, const HeadsView<T>& dK,
                                  const HeadsView<T>& dV, const SelectiveAttentionOptions& options = {});

/// Packed layout backward: runs the forward pass itself, then returns dQ, dK, dV (packed).
template <class DQ, class DK, class DV, class DG>
SelectiveAttentionGradients<typename DQ::Scalar> selective_attention_backward(
    const Eigen::MatrixBase<DQ>& Q, const Eigen::MatrixBase<DK>& K, const Eigen::MatrixBase<DV>& V,
    const Eigen::MatrixBase<DG>& dO, const SelectiveAttentionOptions& options = {});

ATTNSEL_NAMESPACE_END

#include "selective_attention_impl.hpp"
