// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file selective_attention_impl.hpp
/// Definitions for selective_attention.hpp (included at its end).

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../parallel.hpp"
#include "../simd/dispatch.hpp"
#include "selective_attention.hpp"
#include "tile_kernels.hpp"

ATTNSEL_NAMESPACE_BEGIN
namespace detail {
namespace selective {

template <class T>
using Heads = HeadsView<const T>;

inline std::size_t sz(Index n) { return static_cast<std::size_t>(n); }

/// Number of threads for `units` independent pieces of `work` multiply-adds in total.
inline int thread_count(bool parallel, Index units, double work) {
#ifdef _OPENMP
  if (!parallel || units < 2 || work < 2.0e6 || omp_in_parallel()) return 1;
  return static_cast<int>(std::min<Index>(units, omp_get_max_threads()));
#else
  (void)parallel;
  (void)units;
  (void)work;
  return 1;
#endif
}

inline int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

template <class T>
void check_finite_heads(const char* fn, const char* name, const Heads<T>& X) {
  for (Index h = 0; h < X.heads(); ++h)
    for (Index i = 0; i < X.rows(); ++i) {
      const T* r = X.row(h, i);
      for (Index c = 0; c < X.dim(); ++c)
        if (!std::isfinite(r[c]))
          throw_invalid(fn, name, " contains a non-finite value (", r[c], ") at head ", h, ", row ", i,
                        ", column ", c);
    }
}

template <class T, class U>
void check_same_layout(const char* fn, const char* name, const HeadsView<U>& X, Index heads, Index rows,
                       Index dim, const char* what) {
  require(X.heads() == heads, fn, name, " has ", X.heads(), " heads, expected ", heads, " (as ", what, ")");
  require(X.rows() == rows, fn, name, " has ", X.rows(), " rows, expected ", rows, " (as ", what, ")");
  require(X.dim() == dim, fn, name, " has head size ", X.dim(), ", expected ", dim, " (as ", what, ")");
}

/// Checks the common arguments; returns the logit scale to use.
template <class T>
T check_common(const char* fn, const Heads<T>& Q, const Heads<T>& K, const Heads<T>& V,
               const SelectiveAttentionOptions& o) {
  require(Q.heads() >= 1, fn, "Q must have at least one head (got ", Q.heads(), ")");
  require(Q.dim() >= 1, fn, "Q must have head size >= 1 (got ", Q.dim(), ")");
  check_same_layout<T>(fn, "K", K, Q.heads(), Q.rows(), Q.dim(), "Q");
  require(V.heads() == Q.heads(), fn, "V has ", V.heads(), " heads, expected ", Q.heads(), " (as Q)");
  require(V.rows() == Q.rows(), fn, "V has ", V.rows(), " rows, expected ", Q.rows(), " (as Q)");
  require(V.dim() >= 1, fn, "V must have head size >= 1 (got ", V.dim(), ")");
  require(o.selector_head >= 0 && o.selector_head < Q.heads(), fn, "selector_head must be in [0, ",
          Q.heads(), ") (got ", o.selector_head, ")");
  require(std::isfinite(o.scale) && o.scale >= 0.0, fn,
          "scale must be finite and >= 0 (0 = 1/sqrt(d)); got ", o.scale);
  require(o.tile >= 8 && o.tile <= 1024, fn, "tile must be in [8, 1024] (got ", o.tile, ")");
  require(o.query_tile >= 1 && o.query_tile <= 4096, fn, "query_tile must be in [1, 4096] (got ", o.query_tile, ")");
  if (o.check_finite) {
    check_finite_heads(fn, "Q", Q);
    check_finite_heads(fn, "K", K);
    check_finite_heads(fn, "V", V);
  }
  return o.scale > 0.0 ? static_cast<T>(o.scale) : T(1) / std::sqrt(static_cast<T>(Q.dim()));
}

/// Shared shape facts of one call.
template <class T>
struct Problem {
  Heads<T> Q, K, V;
  Index N = 0, d = 0, dv = 0, H = 0, tile = 64, qtile = 256, sel = 0;
  T scale = T(1);
  bool selective = true;
};

/// Adds query row i's votes R[i, j0 + c] to run[c] for the nk keys of a tile.
template <class T>
void add_votes(T* run, const T* s0_row, Index i, Index j0, Index nk) {
  if (j0 >= 1 && j0 + nk <= i) {
    tile::relu_add(run, s0_row, nk);  // every key in [1, i): no mask needed
    return;
  }
  for (Index c = 0; c < nk; ++c) {
    const Index j = j0 + c;
    if (j >= 1 && j < i && s0_row[c] > T(0)) run[c] += s0_row[c];
  }
}

/// Forward over the heads [hb, he) for all query tiles (query tiles of p.qtile rows, key tiles
/// of p.tile keys; a larger query tile amortises packing each key tile over more rows).
template <class T>
void forward_heads(const Problem<T>& p, const HeadsView<T>& O, Index hb, Index he, T* lse,
                   T* votes_out) {
  const Index N = p.N, d = p.d, dv = p.dv, tk = p.tile, tq = p.qtile, nh = he - hb;
  const bool need_f = p.selective;
  std::vector<T> kpack(sz(d * tk)), s0(sz(tq * tk)), s(sz(tq * tk)), ftile(sz(tq * tk)), run(sz(tk));
  std::vector<T> facc(need_f ? sz(N) : 0, T(0));
  std::vector<T> m(sz(nh * tq)), l(sz(nh * tq)), acc(sz(nh * tq * dv));
  const T ninf = -std::numeric_limits<T>::infinity();

  for (Index i0 = 0; i0 < N; i0 += tq) {
    const Index mq = std::min(tq, N - i0);
    std::fill(m.begin(), m.end(), ninf);
    std::fill(l.begin(), l.end(), T(0));
    std::fill(acc.begin(), acc.end(), T(0));
    for (Index j0 = 0; j0 < i0 + mq; j0 += tk) {
      const Index nk = std::min(tk, N - j0);
      const Index r0 = std::max<Index>(0, j0 - i0);  // rows before r0 see none of these keys
      const Index rows = mq - r0;
      const bool partial = j0 + nk > i0 + r0 + 1;     // some rows see only part of the tile
      if (need_f) {
        tile::transpose(nk, d, p.K.row(p.sel, j0), p.K.stride(p.sel), kpack.data(), nk, p.scale);
        tile::gemm(rows, nk, d, p.Q.row(p.sel, i0 + r0), p.Q.stride(p.sel), kpack.data(), nk, s0.data(), nk, false);
        std::copy(facc.begin() + j0, facc.begin() + j0 + nk, run.begin());
        for (Index r = 0; r < rows; ++r) {
          std::copy(run.begin(), run.begin() + nk, ftile.begin() + r * nk);
          add_votes(run.data(), s0.data() + r * nk, i0 + r0 + r, j0, nk);
        }
        std::copy(run.begin(), run.begin() + nk, facc.begin() + j0);
      }
            for (Index h = hb; h < he; ++h) {
        T* S = s.data();
        if (need_f && h == p.sel) {
          S = s0.data();
        } else {
          tile::transpose(nk, d, p.K.row(h, j0), p.K.stride(h), kpack.data(), nk, p.scale);
          tile::gemm(rows, nk, d, p.Q.row(h, i0 + r0), p.Q.stride(h), kpack.data(), nk, S, nk, false);
        }
        if (need_f) tile::sub_inplace(S, ftile.data(), rows * nk);
        T* mh = m.data() + (h - hb) * tq + r0;
        T* lh = l.data() + (h - hb) * tq + r0;
        T* ah = acc.data() + ((h - hb) * tq + r0) * dv;
        for (Index r = 0; r < rows; ++r) {
          const Index i = i0 + r0 + r;
          const Index len = partial ? std::min(nk, i - j0 + 1) : nk;  // keys j <= i (len >= 1)
          T* row = S + r * nk;
          const T mnew = std::max(mh[r], tile::row_max(row, len));
          const T alpha = std::exp(mh[r] - mnew);  // 0 on the row's first tile (mh = -inf)
          const T sum = tile::exp_shift_sum(row, mnew, len);
          std::fill(row + len, row + nk, T(0));
          lh[r] = lh[r] * alpha + sum;
          mh[r] = mnew;
          if (alpha != T(1)) tile::scale_inplace(alpha, ah + r * dv, dv);
        }
        tile::gemm(rows, dv, nk, S, nk, p.V.row(h, j0), p.V.stride(h), ah, dv, true);
      }
    }
    for (Index h = hb; h < he; ++h) {
      const T* mh = m.data() + (h - hb) * tq;
      const T* lh = l.data() + (h - hb) * tq;
      const T* ah = acc.data() + (h - hb) * tq * dv;
      for (Index r = 0; r < mq; ++r) {
        const T inv = lh[r] > T(0) ? T(1) / lh[r] : T(0);
        T* o = O.row(h, i0 + r);
        for (Index c = 0; c < dv; ++c) o[c] = ah[r * dv + c] * inv;
        if (lse) lse[h * N + i0 + r] = mh[r] + std::log(lh[r]);
      }
    }
  }
  if (votes_out && need_f) std::copy(facc.begin(), facc.end(), votes_out);
}

/// Materialised F (N × N) for inspection.
template <class T>
RowMatrix<T> materialise_F(const Problem<T>& p) {
  const Index N = p.N;
  RowMatrix<T> F = RowMatrix<T>::Zero(N, N);
  if (!p.selective || N == 0) return F;
  const auto Qs = p.Q.matrix(p.sel);
  const auto Ks = p.K.matrix(p.sel);
  std::vector<T> run(sz(N), T(0));
  for (Index i = 0; i < N; ++i) {
    for (Index j = 0; j < N; ++j) F(i, j) = run[sz(j)];
    for (Index j = 1; j < i; ++j) {
      const T v = p.scale * Qs.row(i).dot(Ks.row(j));
      if (v > T(0)) run[sz(j)] += v;
    }
  }
  return F;
}

template <class T>
void fill_inspection(const Problem<T>& p, const SelectiveAttentionOptions& o, SelectiveAttentionAux<T>& aux) {
  if (!o.return_F && !o.return_weights) return;
  RowMatrix<T> F = materialise_F(p);
  if (o.return_weights) {
    aux.weights.assign(sz(p.H), RowMatrix<T>());
    for (Index h = 0; h < p.H; ++h) {
      RowMatrix<T> W = p.scale * (p.Q.matrix(h) * p.K.matrix(h).transpose());
      W -= F;
      for (Index i = 0; i < p.N; ++i) {
        const T mx = W.row(i).head(i + 1).maxCoeff();
        T s(0);
        for (Index j = 0; j <= i; ++j) s += (W(i, j) = std::exp(W(i, j) - mx));
        W.row(i).head(i + 1) /= s;
        W.row(i).tail(p.N - i - 1).setZero();
      }
      aux.weights[sz(h)] = std::move(W);
    }
  }
  if (o.return_F) aux.F = std::move(F);
}

template <class T>
Problem<T> make_problem(const Heads<T>& Q, const Heads<T>& K, const Heads<T>& V,
                        const SelectiveAttentionOptions& o, T scale) {
  Problem<T> p;
  p.Q = Q;
  p.K = K;
  p.V = V;
  p.N = Q.rows();
  p.d = Q.dim();
  p.dv = V.dim();
  p.H = Q.heads();
  p.tile = o.tile;
  p.qtile = o.query_tile;
  p.sel = o.selector_head;
  p.scale = scale;
  p.selective = o.selective;
  return p;
}

/// Backward over one key tile [j0, j0 + nk), all query tiles below it, all heads.
template <class T>
struct BackwardWorkspace {
  std::vector<T> kpack, vpack, fcol, s, pt, dp, dz, dft, g, dq;
  BackwardWorkspace(Index H, Index N, Index d, Index dv, Index tl, bool selective)
      : kpack(sz(H * d * tl)),
        vpack(sz(H * dv * tl)),
        fcol(selective ? sz(N * tl) : 0),
        s(sz(tl * tl)),
        pt(sz(tl * tl)),
        dp(sz(tl * tl)),
        dz(sz(tl * tl)),
        dft(sz(tl * tl)),
        g(sz(tl)),
        dq(sz(H * N * d), T(0)) {}
};

template <class T>
void backward_key_tile(const Problem<T>& p, const Heads<T>& O, const Heads<T>& dO, const T* lse,
                       const T* D, const HeadsView<T>& dK, const HeadsView<T>& dV, bool stop_grad,
                       Index j0, BackwardWorkspace<T>& w) {
  (void)O;
  const Index N = p.N, d = p.d, dv = p.dv, H = p.H, tl = p.tile, sel = p.sel;
  const Index nk = std::min(tl, N - j0);
  const bool selective = p.selective;
  for (Index h = 0; h < H; ++h) {
    tile::transpose(nk, d, p.K.row(h, j0), p.K.stride(h), w.kpack.data() + h * d * tl, nk, p.scale);
    tile::transpose(nk, dv, p.V.row(h, j0), p.V.stride(h), w.vpack.data() + h * dv * tl, nk, T(1));
    for (Index c = 0; c < nk; ++c) {
      std::fill(dK.row(h, j0 + c), dK.row(h, j0 + c) + d, T(0));
      std::fill(dV.row(h, j0 + c), dV.row(h, j0 + c) + dv, T(0));
    }
  }
  T* s = w.s.data();
  if (selective) {  // F for this key column block, rows j0..N-1, in query order
    std::fill(w.g.begin(), w.g.end(), T(0));
    for (Index i0 = j0; i0 < N; i0 += tl) {
      const Index mq = std::min(tl, N - i0);
      tile::gemm(mq, nk, d, p.Q.row(sel, i0), p.Q.stride(sel), w.kpack.data() + sel * d * tl, nk, s, nk, false);
      for (Index r = 0; r < mq; ++r) {
        std::copy(w.g.begin(), w.g.begin() + nk, w.fcol.begin() + (i0 - j0 + r) * nk);
        add_votes(w.g.data(), s + r * nk, i0 + r, j0, nk);
      }
    }
  }
  std::fill(w.g.begin(), w.g.end(), T(0));  // now: Σ of dF over the query rows already done
  const Index last = j0 + ((N - 1 - j0) / tl) * tl;
  for (Index i0 = last; i0 >= j0; i0 -= tl) {
    const Index mq = std::min(tl, N - i0);
    const bool diag = i0 == j0;
    if (selective) std::fill(w.dft.begin(), w.dft.begin() + mq * nk, T(0));
    for (Index step = 0; step < H; ++step) {
      // The selector head goes last: its gradient through F needs every head's dF.
      const Index h = selective ? (step < sel ? step : (step + 1 < H ? step + 1 : sel)) : step;
      T* P = w.pt.data();
      tile::gemm(mq, nk, d, p.Q.row(h, i0), p.Q.stride(h), w.kpack.data() + h * d * tl, nk, s, nk, false);
      std::copy(s, s + mq * nk, P);
      if (selective) tile::sub_inplace(P, w.fcol.data() + (i0 - j0) * nk, mq * nk);
      for (Index r = 0; r < mq; ++r) {
        const Index len = diag ? r + 1 : nk;
        tile::exp_shift_sum(P + r * nk, lse[h * N + i0 + r], len);
        std::fill(P + r * nk + len, P + (r + 1) * nk, T(0));
      }
      // dV_h[keys] += Pᵀ dO_h[queries]
      tile::gemm_tn(nk, dv, mq, P, nk, dO.row(h, i0), dO.stride(h), dV.row(h, j0), dV.stride(h), true);
      // dP = dO_h Vᵀ ; dZ = P ∘ (dP − D)
      tile::gemm(mq, nk, dv, dO.row(h, i0), dO.stride(h), w.vpack.data() + h * dv * tl, nk, w.dp.data(), nk, false);
      T* dz = w.dz.data();
      for (Index r = 0; r < mq; ++r)
        tile::softmax_grad(P + r * nk, w.dp.data() + r * nk, D[h * N + i0 + r], dz + r * nk, nk);
      if (selective) tile::sub_inplace(w.dft.data(), dz, mq * nk);  // dF = −Σ_h dZ_h
      if (selective && h == sel) {
        // dR[k,j] = Σ_{i>k} dF[i,j], through R = relu(L_s) on 1 ≤ j < k.
        for (Index r = mq - 1; r >= 0; --r) {
          const Index i = i0 + r;
          if (!stop_grad) {
            const T* sr = s + r * nk;
            T* dzr = dz + r * nk;
            for (Index c = 0; c < nk; ++c) {
              const Index j = j0 + c;
              if (j >= 1 && j < i && sr[c] > T(0)) dzr[c] += w.g[sz(c)];
            }
          }
          tile::add_inplace(w.g.data(), w.dft.data() + r * nk, nk);  // g: Σ of dF over rows > r
        }
      }
      // dQ_h[queries] += scale dZ K_h ; dK_h[keys] += scale dZᵀ Q_h
      tile::scale_inplace(p.scale, dz, mq * nk);
      tile::gemm(mq, d, nk, dz, nk, p.K.row(h, j0), p.K.stride(h), w.dq.data() + (h * N + i0) * d, d, true);
      tile::gemm_tn(nk, d, mq, dz, nk, p.Q.row(h, i0), p.Q.stride(h), dK.row(h, j0), dK.stride(h), true);
    }
    if (i0 == j0) break;
  }
}

}  // namespace selective
}  // namespace detail

template <class T>
void selective_attention(const HeadsView<const T>& Q, const HeadsView<const T>& K,
                         const HeadsView<const T>& V, const HeadsView<T>& O,
                         const SelectiveAttentionOptions& options, SelectiveAttentionAux<T>* aux) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "selective_attention supports float and double");
  namespace sd = detail::selective;
  constexpr const char* fn = "selective_attention";
  const T scale = sd::check_common<T>(fn, Q, K, V, options);
  sd::check_same_layout<T>(fn, "O", O, Q.heads(), Q.rows(), V.dim(), "V");
  const auto p = sd::make_problem(Q, K, V, options, scale);
  if (aux) {
    aux->lse.resize(p.H, p.N);
    if (p.selective) aux->column_votes.setZero(p.N);
    else aux->column_votes.resize(0);
    aux->F.resize(0, 0);
    aux->weights.clear();
  }
  if (p.N > 0) {
    const double work = double(p.N) * double(p.N) * double(p.H) * double(p.d + p.dv);
    const int nt = sd::thread_count(options.parallel, p.H, work);
    T* lse = aux ? aux->lse.data() : nullptr;
    T* votes = aux && p.selective ? aux->column_votes.data() : nullptr;
    if (nt <= 1) {
      sd::forward_heads(p, O, 0, p.H, lse, votes);
    } else {
#ifdef _OPENMP
      detail::ParallelErrors errors;  // forward_heads allocates its tiles
#pragma omp parallel num_threads(nt)
      {
        const Index t = sd::thread_id();
        const Index hb = t * p.H / nt, he = (t + 1) * p.H / nt;
        errors.run([&] { sd::forward_heads(p, O, hb, he, lse, t == 0 ? votes : nullptr); });
      }
      errors.rethrow();
#endif
    }
  }
  if (aux) sd::fill_inspection(p, options, *aux);
}

template <class DQ, class DK, class DV>
RowMatrix<typename DQ::Scalar> selective_attention(const Eigen::MatrixBase<DQ>& Q,
                                                   const Eigen::MatrixBase<DK>& K,
                                                   const Eigen::MatrixBase<DV>& V,
                                                   const SelectiveAttentionOptions& options,
                                                   SelectiveAttentionAux<typename DQ::Scalar>* aux) {
  using T = typename DQ::Scalar;
  static_assert(std::is_same_v<T, typename DK::Scalar> && std::is_same_v<T, typename DV::Scalar>,
                "selective_attention: Q, K and V must have the same scalar type");
  using Ref = Eigen::Ref<const RowMatrix<T>, 0, Eigen::OuterStride<>>;
  const Ref q(Q.derived()), k(K.derived()), v(V.derived());
  constexpr const char* fn = "selective_attention";
  detail::require(options.heads >= 1, fn, "options.heads must be >= 1 (got ", options.heads, ")");
  detail::require(q.cols() % options.heads == 0, fn, "Q has ", q.cols(), " columns, not a multiple of heads = ",
                  options.heads);
  detail::require(k.cols() % options.heads == 0, fn, "K has ", k.cols(), " columns, not a multiple of heads = ",
                  options.heads);
  detail::require(v.cols() % options.heads == 0, fn, "V has ", v.cols(), " columns, not a multiple of heads = ",
                  options.heads);
  RowMatrix<T> out(q.rows(), v.cols());
  selective_attention<T>(HeadsView<const T>::packed(q, options.heads), HeadsView<const T>::packed(k, options.heads),
                         HeadsView<const T>::packed(v, options.heads), HeadsView<T>::packed(out, options.heads),
                         options, aux);
  return out;
}

template <class T>
std::vector<RowMatrix<T>> selective_attention(const std::vector<RowMatrix<T>>& Q,
                                              const std::vector<RowMatrix<T>>& K,
                                              const std::vector<RowMatrix<T>>& V,
                                              const SelectiveAttentionOptions& options,
                                              SelectiveAttentionAux<T>* aux) {
  constexpr const char* fn = "selective_attention";
  detail::require(!Q.empty(), fn, "Q must hold at least one head (got 0)");
  detail::require(K.size() == Q.size() && V.size() == Q.size(), fn, "Q, K, V must hold the same number of heads (got ",
                  Q.size(), ", ", K.size(), ", ", V.size(), ")");
  const auto vq = HeadsView<const T>::per_head(Q);
  const auto vk = HeadsView<const T>::per_head(K);
  const auto vv = HeadsView<const T>::per_head(V);
  std::vector<RowMatrix<T>> out(Q.size(), RowMatrix<T>(vv.rows(), vv.dim()));
  selective_attention<T>(vq, vk, vv, HeadsView<T>::per_head(out), options, aux);
  return out;
}

template <class T>
void selective_attention_backward(const HeadsView<const T>& Q, const HeadsView<const T>& K,
                                  const HeadsView<const T>& V, const HeadsView<const T>& O,
                                  const HeadsView<const T>& dO, const RowMatrix<T>& lse,
                                  const HeadsView<T>& dQ, const HeadsView<T>& dK,
                                  const HeadsView<T>& dV, const SelectiveAttentionOptions& options) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "selective_attention_backward supports float and double");
  namespace sd = detail::selective;
  constexpr const char* fn = "selective_attention_backward";
  const T scale = sd::check_common<T>(fn, Q, K, V, options);
  sd::check_same_layout<T>(fn, "O", O, Q.heads(), Q.rows(), V.dim(), "V");
  sd::check_same_layout<T>(fn, "dO", dO, Q.heads(), Q.rows(), V.dim(), "V");
  sd::check_same_layout<T>(fn, "dQ", dQ, Q.heads(), Q.rows(), Q.dim(), "Q");
  sd::check_same_layout<T>(fn, "dK", dK, Q.heads(), Q.rows(), Q.dim(), "K");
  sd::check_same_layout<T>(fn, "dV", dV, Q.heads(), Q.rows(), V.dim(), "V");
  detail::require(lse.rows() == Q.heads() && lse.cols() == Q.rows(), fn, "lse is ", lse.rows(), " x ", lse.cols(),
                  ", expected heads x N = ", Q.heads(), " x ", Q.rows(), " (SelectiveAttentionAux::lse of the forward pass)");
  if (options.check_finite) {
    sd::check_finite_heads(fn, "dO", dO);
    sd::check_finite_heads(fn, "O", O);
  }
  const auto p = sd::make_problem(Q, K, V, options, scale);
  const Index N = p.N, H = p.H, d = p.d, dv = p.dv, tl = p.tile;
  for (Index h = 0; h < H; ++h)
    for (Index i = 0; i < N; ++i) std::fill(dQ.row(h, i), dQ.row(h, i) + d, T(0));
  if (N == 0) return;
  // D[h, i] = dO_h[i] · O_h[i]
  std::vector<T> D(sd::sz(H * N));
  for (Index h = 0; h < H; ++h)
    for (Index i = 0; i < N; ++i) D[sd::sz(h * N + i)] = simd::dot(dO.row(h, i), O.row(h, i), sd::sz(dv));
  const Index tiles = (N + tl - 1) / tl;
  const double work = double(N) * double(N) * double(H) * double(d + dv);
  const int nt = sd::thread_count(options.parallel, tiles, work);
  std::vector<sd::BackwardWorkspace<T>> ws;
  ws.reserve(sd::sz(nt));
  for (int t = 0; t < nt; ++t) ws.emplace_back(H, N, d, dv, tl, p.selective);
  const bool stop = options.stop_selector_gradient;
  auto run = [&](Index first, Index stride, sd::BackwardWorkspace<T>& w) {
    for (Index kt = first; kt < tiles; kt += stride)
      sd::backward_key_tile(p, O, dO, lse.data(), D.data(), dK, dV, stop, kt * tl, w);
  };
  if (nt <= 1) {
    run(0, 1, ws[0]);
  } else {
#ifdef _OPENMP
#pragma omp parallel num_threads(nt)
    {
      const int t = sd::thread_id();
      run(t, nt, ws[sd::sz(t)]);
    }
#endif
  }
  for (const auto& w : ws)
    for (Index h = 0; h < H; ++h)
      for (Index i = 0; i < N; ++i) {
        T* out = dQ.row(h, i);
        const T* src = w.dq.data() + (h * N + i) * d;
        for (Index c = 0; c < d; ++c) out[c] += src[c];
      }
}

template <class DQ, class DK, class DV, class DG>
SelectiveAttentionGradients<typename DQ::Scalar> selective_attention_backward(
    const Eigen::MatrixBase<DQ>& Q, const Eigen::MatrixBase<DK>& K, const Eigen::MatrixBase<DV>& V,
    const Eigen::MatrixBase<DG>& dO, const SelectiveAttentionOptions& options) {
  using T = typename DQ::Scalar;
  static_assert(std::is_same_v<T, typename DK::Scalar> && std::is_same_v<T, typename DV::Scalar> &&
                    std::is_same_v<T, typename DG::Scalar>,
                "selective_attention_backward: Q, K, V and dO must have the same scalar type");
  using Ref = Eigen::Ref<const RowMatrix<T>, 0, Eigen::OuterStride<>>;
  const Ref q(Q.derived()), k(K.derived()), v(V.derived()), g(dO.derived());
  SelectiveAttentionOptions fwd = options;
  fwd.return_F = fwd.return_weights = false;
  SelectiveAttentionAux<T> aux;
  const RowMatrix<T> O = selective_attention(q, k, v, fwd, &aux);
  const Index H = options.heads;
  detail::require(g.rows() == O.rows() && g.cols() == O.cols(), "selective_attention_backward", "dO is ", g.rows(),
                  " x ", g.cols(), ", expected the output's shape ", O.rows(), " x ", O.cols());
  SelectiveAttentionGradients<T> out{RowMatrix<T>(q.rows(), q.cols()), RowMatrix<T>(k.rows(), k.cols()),
                                     RowMatrix<T>(v.rows(), v.cols())};
  using CV = HeadsView<const T>;
  selective_attention_backward<T>(CV::packed(q, H), CV::packed(k, H), CV::packed(v, H), CV::packed(O, H),
                                  CV::packed(g, H), aux.lse, HeadsView<T>::packed(out.dQ, H),
                                  HeadsView<T>::packed(out.dK, H), HeadsView<T>::packed(out.dV, H), fwd);
  return out;
}

ATTNSEL_NAMESPACE_END
