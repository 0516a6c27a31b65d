// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file lm/memory_loss.hpp
/// The auxiliary memory loss of Selective Attention training (docs/language-models.md §7): a
/// term that rewards masking, so that more tokens can be evicted from the KV cache later.
///
/// For one sequence of N tokens and one layer, with F the layer's accumulated mask
/// (F[i,j] = Σ_{k=j+1}^{i−1} relu(scale · q_s,k · k_s,j) for j ≥ 1, F[i,0] = 0, s the selector
/// head), query i still "holds"
///     M_i = i − Σ_{j ≤ i} min(F[i,j], τ) / τ
/// tokens that are not yet masked by τ or more (all i + 1 of them count, less the masked share,
/// less one). The term is max_i M_i: the memory the sequence needs at its most demanding position.
/// Its gradient reaches the selector head's queries and keys only through entries with F < τ
/// (and, at the maximising query, through the pairs that vote for them).
///
/// Nothing of size N × N is stored: F is carried row by row, the logits are made in blocks of
/// 64 queries.

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <vector>

#include "../error.hpp"
#include "../parallel.hpp"
#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// The memory loss's options (used by `TransformerLM::set_memory_loss` and `LMTrainOptions`).
struct MemoryLossOptions {
  /// ε: the loss is L_lm + ε·L_mem; 0 = off.
  double weight = 0.0;
  /// τ: the F at which a token counts as masked.
  double tau = 1.0;
};

namespace detail {
namespace lm {

constexpr Index memory_block = 64;

/// max_i M_i for one sequence: q, k are the selector head's N × d queries and keys. With dq, dk
/// (N × d, not null), adds coef · ∂(max_i M_i)/∂q and /∂k to them (the maximising query's
/// subgradient; ties go to the first). Returns the value and, through `argmax`, that query.
template <class T, class DQ, class DK, class GQ, class GK>
double memory_term(const Eigen::MatrixBase<DQ>& q, const Eigen::MatrixBase<DK>& k, T scale, double tau, double coef,
                   Eigen::MatrixBase<GQ>* dq, Eigen::MatrixBase<GK>* dk, Index* argmax = nullptr) {
  const SingleThreadScope one;  // the same bits for any thread count
  const Index N = q.rows();
  std::vector<double> f(std::size_t(N), 0.0), f_best;
  double best = 0.0;
  Index best_i = 0;
  RowMatrix<T> L;
  for (Index i0 = 0; i0 < N; i0 += memory_block) {
    const Index b = std::min(memory_block, N - i0);
    L.noalias() = (q.middleRows(i0, b) * k.topRows(i0 + b).transpose()) * scale;
    for (Index r = 0; r < b; ++r) {
      const Index i = i0 + r;
      // f holds F[i, ·]: the votes of the queries before i.
      double held = 0.0;
      for (Index j = 0; j <= i; ++j) held += std::min(f[std::size_t(j)], tau);
      const double m = double(i) - held / tau;
      if (m > best) {
        best = m;
        best_i = i;
        if (dq) f_best.assign(f.begin(), f.begin() + i + 1);
      }
      for (Index j = 1; j < i; ++j) f[std::size_t(j)] += std::max(double(L(r, j)), 0.0);
    }
  }
  if (argmax) *argmax = best_i;
  if (!dq || best_i < 3) return best;  // below 3 no pair (k, j) with 1 <= j < k < i* votes
  // ∂M_{i*}/∂F[i*, j] = −1/τ where F[i*, j] < τ; F[i*, j] sums relu(L[k, j]) over j < k < i*.
  std::vector<T> g(std::size_t(best_i), T(0));
  for (Index j = 1; j + 1 < best_i; ++j)
    if (f_best[std::size_t(j)] < tau) g[std::size_t(j)] = T(-coef / tau);
  RowMatrix<T> W;
  const Index K = best_i;  // voting queries k in [2, i*): rows [0, K) of q
  for (Index k0 = 0; k0 < K; k0 += memory_block) {
    const Index b = std::min(memory_block, K - k0), cols = k0 + b;
    L.noalias() = (q.middleRows(k0, b) * k.topRows(cols).transpose()) * scale;
    W.setZero(b, cols);
    for (Index r = 0; r < b; ++r) {
      const Index kk = k0 + r;
      for (Index j = 1; j < kk; ++j)
        if (L(r, j) > T(0)) W(r, j) = g[std::size_t(j)] * scale;
    }
    dq->derived().middleRows(k0, b).noalias() += W * k.topRows(cols);
    dk->derived().topRows(cols).noalias() += W.transpose() * q.middleRows(k0, b);
  }
  return best;
}

}  // namespace lm
}  // namespace detail

ATTNSEL_NAMESPACE_END
