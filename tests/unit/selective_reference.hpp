// Plain, obviously-correct Selective Attention in double with materialised N × N matrices:
// the reference the tiled kernels and the KV cache are tested against.
#pragma once

#include <attnsel/types.hpp>

#include <cmath>
#include <functional>
#include <limits>
#include <vector>

namespace attnsel_test {

using Mat = attnsel::RowMatrix<double>;
using Heads = std::vector<Mat>;

/// F from the selector head's scaled logits, step by step as the paper's sketch: causal mask,
/// ReLU, zero the BOS column and the diagonal, shift one query down, cumulative sum over queries.
inline Mat reference_F(const Mat& q, const Mat& k, double scale) {
  const Eigen::Index n = q.rows();
  Mat S = scale * (q * k.transpose());
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index j = 0; j < n; ++j) {
      if (j > i) S(i, j) = -std::numeric_limits<double>::infinity();  // causal mask first
      S(i, j) = std::max(S(i, j), 0.0);                                // ReLU
      if (j == 0 || j == i) S(i, j) = 0.0;                             // BOS, self
    }
  Mat shifted = Mat::Zero(n, n);
  if (n > 1) shifted.bottomRows(n - 1) = S.topRows(n - 1);  // roll down one query
  Mat F = Mat::Zero(n, n);
  for (Eigen::Index i = 0; i < n; ++i) {
    F.row(i) = shifted.row(i);
    if (i > 0) F.row(i) += F.row(i - 1);
  }
  return F;
}

struct ReferenceResult {
  Heads out;
  Heads weights;
  Mat F;
};

/// visible(i, j): may query i see key j (besides j <= i)? Used to mask keys a KV cache evicted.
inline ReferenceResult reference_attention(const Heads& Q, const Heads& K, const Heads& V, bool selective,
                                           Eigen::Index sel, double scale,
                                           const std::function<bool(Eigen::Index, Eigen::Index)>& visible = {},
                                           const Mat* F_override = nullptr) {
  const Eigen::Index n = Q.front().rows();
  ReferenceResult r;
  r.F = selective ? (F_override ? *F_override : reference_F(Q[std::size_t(sel)], K[std::size_t(sel)], scale))
                  : Mat::Zero(n, n);
  for (std::size_t h = 0; h < Q.size(); ++h) {
    Mat L = scale * (Q[h] * K[h].transpose()) - r.F;
    Mat W = Mat::Zero(n, n);
    for (Eigen::Index i = 0; i < n; ++i) {
      double mx = -std::numeric_limits<double>::infinity();
      for (Eigen::Index j = 0; j <= i; ++j)
        if (!visible || visible(i, j)) mx = std::max(mx, L(i, j));
      double s = 0;
      for (Eigen::Index j = 0; j <= i; ++j)
        if (!visible || visible(i, j)) s += (W(i, j) = std::exp(L(i, j) - mx));
      W.row(i) /= s;
    }
    r.out.push_back(W * V[h]);
    r.weights.push_back(W);
  }
  return r;
}

}  // namespace attnsel_test
