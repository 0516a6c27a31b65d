// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file kv_cache.hpp
/// A per-layer KV cache for token-by-token decoding with Selective Attention, evicting tokens
/// under a memory budget by a policy given as a template parameter.
///
/// The cache carries, for every cached key j, the accumulated mask `F[j]` = the votes
/// relu(scale · q_s · k_s,j) of every earlier query after j (s = the selector head; BOS and a
/// query's own key get no votes). A decode step for the token at position t:
/// 1. if the cache is full, asks the policy for a victim among the cached tokens and drops it;
/// 2. appends the token's k, v (with F = 0);
/// 3. every head attends over the cached tokens with logits `scale · q_h · k_h,j − F[j]`
///    (F is used only when `selective`);
/// 4. adds the selector head's votes of this query to F of every earlier cached token;
/// 5. lets a threshold policy drop tokens whose F is now too large.
/// So a step's output is exactly the full-sequence Selective Attention output with the evicted
/// keys masked out, and the cache never holds more than `budget` tokens.
///
/// Policies (namespace `attnsel::evict`; the exact rules are at each type): `SelectiveF`
/// (evict the largest F; optional F threshold), `H2O` (evict the lowest accumulated attention
/// outside a recent window), `StreamingLLM` (keep the first min(sinks, budget − 2) positions and
/// the most recent tokens), `TOVA` (evict the lowest attention from the most recent query,
/// averaged over heads) and `KNorm` (evict the largest key norm).
///
/// BOS (position 0) is an ordinary token for every policy: it is evicted exactly when the
/// policy's own rule picks it (StreamingLLM keeps it as a sink while min(sinks, budget − 2) ≥ 1;
/// SelectiveF sees F(BOS) = 0, since BOS gets no votes, so it goes only when every cached F is
/// 0). This is forced by the small budgets: with budget 2, StreamingLLM must keep the previous
/// token and the newest, so BOS cannot be exempt. Every built-in rule breaks ties to the oldest
/// position. The newest token is never evicted (the victim is chosen before it is appended)
/// and never dropped.
///
/// A policy is any type with `template <class T> Index victim(const CacheState<T>&) const`
/// (a slot in [0, size)), and optionally `template <class T> bool drop(const CacheState<T>&,
/// Index slot) const` (called after every step for every slot but the newest),
/// `bool needs_steps() const` (false lets `prefill` use the tiled kernel while the tokens fit the
/// budget; a policy without it is always decoded step by step) and `void check(const char* fn)
/// const` (validates the policy's options when the cache is built).

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "../config.hpp"
#include "../error.hpp"
#include "../simd/dispatch.hpp"
#include "../types.hpp"
#include "selective_attention.hpp"

ATTNSEL_NAMESPACE_BEGIN

/// Options of a `KVCache`.
struct KVCacheOptions {
  /// Number of heads H.
  Index heads = 1;
  /// Size d of each head's query and key.
  Index head_dim = 0;
  /// Size of each head's value (0 = head_dim).
  Index value_dim = 0;
  /// Maximum number of cached tokens; 0 = unbounded. Must be 0 or >= 2 (the newest token and at
  /// least one before it; BOS is an ordinary token that the policy may evict).
  Index budget = 0;
  /// Subtract the accumulated F from the logits (false: plain causal attention).
  bool selective = true;
  /// The head whose logits cast the selection votes.
  Index selector_head = 0;
  /// Logit scale; 0 = 1/sqrt(head_dim).
  double scale = 0.0;
  /// Reject NaN / Inf in q, k, v with std::invalid_argument.
  bool check_finite = true;
};

/// What an eviction policy sees: the cached tokens' slots (in no particular order). Each
/// pointer holds `size` entries, one per slot.
template <class T>
struct CacheState {
  Index size = 0;                 ///< cached tokens
  Index budget = 0;               ///< the budget (0 = unbounded)
  Index position = 0;             ///< position of the incoming token (= tokens seen so far)
  const Index* positions = nullptr;  ///< absolute position of each slot's token (0 = BOS)
  const T* f = nullptr;           ///< accumulated selective mask F of each slot
  /// Attention each slot received, summed over heads and over the steps decoded one by one
  /// (a tiled `prefill` adds nothing: policies that read it must say `needs_steps()`).
  const T* attention = nullptr;
  /// Attention the most recent query (position − 1) gave each slot, averaged over heads: the
  /// softmax weights it used (with F subtracted when `selective`). Every cached token was visible
  /// to that query. 0 for all slots before the first step.
  const T* last_attention = nullptr;
  /// Mean over heads of the L2 norm of each slot's key: (1/H) Σ_h ‖k_h‖₂.
  const T* key_norm = nullptr;
};

namespace evict {

namespace detail {
/// Slot with the best key among slots passing `eligible`; ties to the oldest position; -1 when
/// no slot is eligible.
template <class T, class Eligible, class Better>
Index pick(const CacheState<T>& s, Eligible eligible, Better better) {
  Index best = -1;
  for (Index i = 0; i < s.size; ++i) {
    if (!eligible(i)) continue;
    if (best < 0 || better(i, best) || (!better(best, i) && s.positions[i] < s.positions[best])) best = i;
  }
  return best;
}
/// The slot of the oldest cached token (BOS when it is cached).
template <class T>
Index oldest(const CacheState<T>& s) {
  return pick(s, [](Index) { return true; }, [](Index, Index) { return false; });
}
}  // namespace detail

/// Selective Attention's rule: evict the most-masked cached token, the largest F, BOS included;
/// ties go to the oldest position. BOS gets no votes, so F(BOS) = 0 and it goes only when every
/// cached F is 0. Ties to the oldest because they are ties at F = 0 in practice (tokens no query
/// has voted on, and always the previous token, which no query can have voted on yet): among
/// tokens with no masking evidence, keeping the most recent ones is the sliding window, and it
/// keeps the previous token (F[t, t−1] = 0 always) for every budget >= 2; ties to the newest
/// would evict exactly that token. With a finite `threshold`, every token whose F exceeds it is
/// also dropped after each step (a memory saving without a fixed budget); the rule is the same
/// for BOS, whose F = 0 stays below any threshold >= 0 (a negative threshold keeps only the
/// newest token).
struct SelectiveF {
  /// The name budgets fitted for this policy are saved under (lm/serialize.hpp).
  static constexpr const char* name = "selective";
  double threshold = std::numeric_limits<double>::infinity();

  /// @throws std::invalid_argument for a NaN threshold.
  void check(const char* fn) const {
    attnsel::detail::require(!std::isnan(threshold), fn, "policy option 'threshold' is ", threshold,
                             ", expected a number (+inf: no threshold)");
  }

  template <class T>
  Index victim(const CacheState<T>& s) const {
    return detail::pick(s, [](Index) { return true; }, [&](Index a, Index b) { return s.f[a] > s.f[b]; });
  }
  template <class T>
  bool drop(const CacheState<T>& s, Index slot) const {
    return double(s.f[slot]) > threshold;
  }
  /// With a threshold, what a query sees depends on the drops before it: decode step by step.
  bool needs_steps() const { return std::isfinite(threshold); }
};

/// H2O (Zhang et al., 2023): at the step for position t, the cached tokens at positions
/// >= t − w are the recent window, w = `recent`, or when that is 0 ⌊`recent_share` · budget⌋
/// (by default budget / 2), at least 1;
/// evict, among the other cached tokens (BOS included), the one with the lowest accumulated
/// attention (summed over heads and every query so far), ties to the oldest. When the window
/// covers every cached token, evict the oldest. The window always holds the previous token, so
/// it is kept for every budget >= 2.
struct H2O {
  static constexpr const char* name = "h2o";
  /// The recent window in tokens; 0: `recent_share` of the budget.
  Index recent = 0;
  /// The recent window as a share of the budget, when `recent` is 0.
  double recent_share = 0.5;

  /// @throws std::invalid_argument for a negative window or a share outside [0, 1].
  void check(const char* fn) const {
    attnsel::detail::require(recent >= 0, fn, "policy option 'recent' is ", recent,
                             ", expected >= 0 (0 = recent_share of the budget)");
    attnsel::detail::require(recent_share >= 0.0 && recent_share <= 1.0, fn, "policy option 'recent_share' is ",
                             recent_share, ", expected a share in [0, 1]");
  }

  template <class T>
  Index victim(const CacheState<T>& s) const {
    const Index window = recent > 0 ? recent : std::max<Index>(1, Index(recent_share * double(s.budget)));
    auto old_enough = [&](Index i) { return s.positions[i] < s.position - window; };
    auto lower = [&](Index a, Index b) { return s.attention[a] < s.attention[b]; };
    const Index v = detail::pick(s, old_enough, lower);
    return v >= 0 ? v : detail::oldest(s);
  }
  /// Its scores are the attention each token received at every step.
  bool needs_steps() const { return true; }
};

/// StreamingLLM (Xiao et al., 2024): attention sinks and a window of recent tokens. With budget b
/// the first m = min(sinks, b − 2) positions are the sinks and the other b − m slots hold the
/// most recent tokens, so after the step for position t >= b − 1 the cache is exactly
/// {0, …, m − 1} ∪ {t − (b − m) + 1, …, t}: at least two recent tokens, so the previous token is
/// kept for every budget >= 2 (a small budget shrinks the sinks, not the window). The victim is
/// the oldest cached token at a position >= m (the oldest cached token if there is none). BOS
/// is the first sink when m >= 1 and an ordinary old token otherwise.
struct StreamingLLM {
  static constexpr const char* name = "streaming";
  Index sinks = 4;

  /// @throws std::invalid_argument for a negative number of sinks.
  void check(const char* fn) const {
    attnsel::detail::require(sinks >= 0, fn, "policy option 'sinks' is ", sinks, ", expected >= 0");
  }

  template <class T>
  Index victim(const CacheState<T>& s) const {
    const Index kept = s.budget > 0 ? std::max<Index>(0, std::min(sinks, s.budget - 2)) : sinks;
    const Index v = detail::pick(
        s, [&](Index i) { return s.positions[i] >= kept; }, [](Index, Index) { return false; });
    return v >= 0 ? v : detail::oldest(s);
  }
  bool needs_steps() const { return false; }
};

/// TOVA (Oren et al., 2024, "Transformers are Multi-State RNNs"): evict the cached token to which
/// the most recent query (position t − 1, at the step for position t) gave the lowest attention,
/// averaged over heads (`CacheState::last_attention`, the softmax weights that query used, with F
/// subtracted when the cache is selective); ties to the oldest. BOS included. As in the paper,
/// that query's own token may be the victim (this cache evicts before appending, so the paper's
/// "drop the new token" is "evict position t − 1" here).
struct TOVA {
  static constexpr const char* name = "tova";

  template <class T>
  Index victim(const CacheState<T>& s) const {
    return detail::pick(s, [](Index) { return true; },
                        [&](Index a, Index b) { return s.last_attention[a] < s.last_attention[b]; });
  }
  /// Needs only the last query's attention, which `prefill` computes: the tiled kernel may run.
  bool needs_steps() const { return false; }
};

/// K-norm (Devoto et al., 2024, "A Simple and Effective L2 Norm-Based Strategy for KV Cache
/// Compression"): evict the cached token whose key has the largest L2 norm, the norm being the
/// mean over heads of each head's key norm, (1/H) Σ_h ‖k_h‖₂ (`CacheState::key_norm`, from the
/// cached key when the token is appended); ties to the oldest. BOS included. The mean of per-head
/// norms, like TOVA's mean over heads, weighs every head equally (a norm of the whole row would
/// let the heads with the largest keys decide).
struct KNorm {
  static constexpr const char* name = "knorm";

  template <class T>
  Index victim(const CacheState<T>& s) const {
    return detail::pick(s, [](Index) { return true; }, [&](Index a, Index b) { return s.key_norm[a] > s.key_norm[b]; });
  }
  bool needs_steps() const { return false; }
};

}  // namespace evict

namespace detail {
template <class P, class = void>
struct has_needs_steps : std::false_type {};
template <class P>
struct has_needs_steps<P, std::void_t<decltype(bool(std::declval<const P&>().needs_steps()))>> : std::true_type {};
template <class P, class = void>
struct has_check : std::false_type {};
template <class P>
struct has_check<P, std::void_t<decltype(std::declval<const P&>().check(static_cast<const char*>(nullptr)))>>
    : std::true_type {};
template <class P, class T, class = void>
struct has_drop : std::false_type {};
template <class P, class T>
struct has_drop<P, T, std::void_t<decltype(std::declval<const P&>().drop(std::declval<const CacheState<T>&>(), Index{}))>>
    : std::true_type {};
}  // namespace detail

/// Per-layer KV cache with accumulated Selective Attention masks and a pluggable eviction policy.
template <class T, class Policy = evict::SelectiveF>
class KVCache {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "KVCache supports float and double");

 public:
  using Row = Eigen::Matrix<T, 1, Eigen::Dynamic>;

  explicit KVCache(const KVCacheOptions& options, Policy policy = {})
      : o_(options), policy_(std::move(policy)) {
    constexpr const char* fn = "KVCache";
    detail::require(o_.heads >= 1, fn, "heads must be >= 1 (got ", o_.heads, ")");
    detail::require(o_.head_dim >= 1, fn, "head_dim must be >= 1 (got ", o_.head_dim, ")");
    detail::require(o_.value_dim >= 0, fn, "value_dim must be >= 0 (0 = head_dim; got ", o_.value_dim, ")");
    detail::require(o_.budget == 0 || o_.budget >= 2, fn,
                    "budget must be 0 (unbounded) or >= 2 (the newest token and one before it); got ", o_.budget);
    detail::require(o_.selector_head >= 0 && o_.selector_head < o_.heads, fn, "selector_head must be in [0, ",
                    o_.heads, ") (got ", o_.selector_head, ")");
    detail::require(std::isfinite(o_.scale) && o_.scale >= 0.0, fn,
                    "scale must be finite and >= 0 (0 = 1/sqrt(head_dim)); got ", o_.scale);
    if constexpr (detail::has_check<Policy>::value) policy_.check(fn);
    dv_ = o_.value_dim > 0 ? o_.value_dim : o_.head_dim;
    scale_ = o_.scale > 0 ? T(o_.scale) : T(1) / std::sqrt(T(o_.head_dim));
    if (o_.budget > 0) reserve(o_.budget);
    q_.resize(std::size_t(o_.heads * o_.head_dim));
    k_.resize(q_.size());
    v_.resize(std::size_t(o_.heads * dv_));
  }

  /// One decode step for the next token: q, k of size heads·head_dim, v of size heads·value_dim
  /// (row or column vectors, any layout). Returns the attention output, heads·value_dim.
  template <class DQ, class DK, class DV>
  Row decode_step(const Eigen::MatrixBase<DQ>& q, const Eigen::MatrixBase<DK>& k, const Eigen::MatrixBase<DV>& v) {
    constexpr const char* fn = "KVCache::decode_step";
    const Index hd = o_.heads * o_.head_dim, hv = o_.heads * dv_;
    detail::require(q.size() == hd, fn, "q has ", q.size(), " entries, expected heads x head_dim = ", hd);
    detail::require(k.size() == hd, fn, "k has ", k.size(), " entries, expected heads x head_dim = ", hd);
    detail::require(v.size() == hv, fn, "v has ", v.size(), " entries, expected heads x value_dim = ", hv);
    detail::require(q.rows() == 1 || q.cols() == 1, fn, "q must be a vector (got ", q.rows(), " x ", q.cols(), ")");
    detail::require(k.rows() == 1 || k.cols() == 1, fn, "k must be a vector (got ", k.rows(), " x ", k.cols(), ")");
    detail::require(v.rows() == 1 || v.cols() == 1, fn, "v must be a vector (got ", v.rows(), " x ", v.cols(), ")");
    for (Index i = 0; i < hd; ++i) {
      q_[std::size_t(i)] = q.derived().coeff(i);
      k_[std::size_t(i)] = k.derived().coeff(i);
    }
    for (Index i = 0; i < hv; ++i) v_[std::size_t(i)] = v.derived().coeff(i);
    if (o_.check_finite) {
      check_finite(fn, "q", q_);
      check_finite(fn, "k", k_);
      check_finite(fn, "v", v_);
    }
    Row out(hv);
    step(q_.data(), k_.data(), v_.data(), out.data());
    return out;
  }

  /// Decode step on raw pointers (no checks beyond finiteness when enabled, no allocation once
  /// the cache has reached its budget): out receives heads·value_dim values.
  void decode_step(const T* q, const T* k, const T* v, T* out) {
    if (o_.check_finite) {
      const Index hd = o_.heads * o_.head_dim, hv = o_.heads * dv_;
      for (Index i = 0; i < hd; ++i)
        detail::require(std::isfinite(q[i]) && std::isfinite(k[i]), "KVCache::decode_step",
                        "q or k contains a non-finite value at index ", i);
      for (Index i = 0; i < hv; ++i)
        detail::require(std::isfinite(v[i]), "KVCache::decode_step", "v contains a non-finite value at index ", i);
    }
    step(q, k, v, out);
  }

  /// Runs a whole sequence (N × heads·head_dim packed Q, K; N × heads·value_dim V) through the
  /// cache and returns the N outputs. When the cache is empty, the tokens fit the budget and the
  /// policy needs no attention history, the tiled prefill kernel does the work for all but the
  /// last of the tokens that fit and that one is an ordinary step (so `last_attention` is its
  /// query's); otherwise the tokens are decoded one by one.
  template <class DQ, class DK, class DV>
  RowMatrix<T> prefill(const Eigen::MatrixBase<DQ>& Q, const Eigen::MatrixBase<DK>& K, const Eigen::MatrixBase<DV>& V) {
    constexpr const char* fn = "KVCache::prefill";
    const Index N = Q.rows();
    detail::require(K.rows() == N && V.rows() == N, fn, "Q, K, V must have the same number of rows (got ", N, ", ",
                    K.rows(), ", ", V.rows(), ")");
    detail::require(Q.cols() == o_.heads * o_.head_dim && K.cols() == Q.cols(), fn, "Q and K must have heads x head_dim = ",
                    o_.heads * o_.head_dim, " columns (got ", Q.cols(), " and ", K.cols(), ")");
    detail::require(V.cols() == o_.heads * dv_, fn, "V must have heads x value_dim = ", o_.heads * dv_,
                    " columns (got ", V.cols(), ")");
    RowMatrix<T> out(N, o_.heads * dv_);
    Index done = 0;
    if (size_ == 0 && seen_ == 0 && !needs_steps() && N > 1) {
      // The tiled kernel for the first `tiled` tokens, then the last token that fits the budget
      // by an ordinary step: it adds its votes and records its attention (last_attention).
      done = o_.budget > 0 ? std::min(N, o_.budget) : N;
      const Index tiled = done - 1;
      if (o_.check_finite) {  // the step's row too, before the kernel fills the cache
        check_finite_row(fn, "Q", Q, tiled);
        check_finite_row(fn, "K", K, tiled);
        check_finite_row(fn, "V", V, tiled);
      }
      if (tiled > 0) {
        SelectiveAttentionOptions so;
        so.heads = o_.heads;
        so.selective = o_.selective;
        so.selector_head = o_.selector_head;
        so.scale = double(scale_);
        so.check_finite = o_.check_finite;
        SelectiveAttentionAux<T> aux;
        const RowMatrix<T> q = Q.topRows(tiled), k = K.topRows(tiled), v = V.topRows(tiled);
        out.topRows(tiled) = selective_attention(q, k, v, so, &aux);
        reserve(tiled);
        for (Index t = 0; t < tiled; ++t) {
          std::copy(k.row(t).data(), k.row(t).data() + k.cols(), keys_.row(t).data());
          std::copy(v.row(t).data(), v.row(t).data() + v.cols(), values_.row(t).data());
          pos_[std::size_t(t)] = t;
          f_[std::size_t(t)] = o_.selective ? aux.column_votes(t) : T(0);
          att_[std::size_t(t)] = T(0);
          last_[std::size_t(t)] = T(0);
          norm_[std::size_t(t)] = key_norm(keys_.row(t).data());
        }
        size_ = seen_ = tiled;
      }
      const RowMatrix<T> q = Q.row(tiled), k = K.row(tiled), v = V.row(tiled);
      Row o(o_.heads * dv_);
      step(q.data(), k.data(), v.data(), o.data());
      out.row(tiled) = o;
    }
    for (Index t = done; t < N; ++t) out.row(t) = decode_step(Q.row(t), K.row(t), V.row(t));
    return out;
  }

  Index size() const noexcept { return size_; }                ///< cached tokens
  Index tokens_seen() const noexcept { return seen_; }         ///< tokens decoded so far
  Index evicted() const noexcept { return evicted_; }          ///< tokens dropped so far
  const KVCacheOptions& options() const noexcept { return o_; }
  const Policy& policy() const noexcept { return policy_; }
  /// Bytes of the K and V entries currently cached.
  std::size_t bytes() const noexcept { return std::size_t(size_) * std::size_t(o_.heads * (o_.head_dim + dv_)) * sizeof(T); }
  /// Absolute positions of the cached tokens, in slot order.
  std::vector<Index> positions() const { return {pos_.begin(), pos_.begin() + size_}; }
  /// Accumulated F of the cached tokens, in slot order.
  std::vector<T> accumulated_f() const { return {f_.begin(), f_.begin() + size_}; }
  /// Accumulated attention of the cached tokens, in slot order (summed over heads and steps).
  std::vector<T> accumulated_attention() const { return {att_.begin(), att_.begin() + size_}; }
  /// Attention the most recent query gave the cached tokens, in slot order (mean over heads).
  std::vector<T> last_attention() const { return {last_.begin(), last_.begin() + size_}; }
  /// Key norms of the cached tokens, in slot order: (1/H) Σ_h ‖k_h‖₂.
  std::vector<T> key_norms() const { return {norm_.begin(), norm_.begin() + size_}; }
  /// Whether the token at absolute position p is cached.
  bool contains(Index p) const { return std::find(pos_.begin(), pos_.begin() + size_, p) != pos_.begin() + size_; }

  /// Forgets every token (keeps the memory).
  void clear() noexcept { size_ = seen_ = evicted_ = 0; }

 private:
  bool needs_steps() const {
    if constexpr (detail::has_needs_steps<Policy>::value) return policy_.needs_steps();
    else return true;
  }

  void check_finite(const char* fn, const char* name, const std::vector<T>& x) const {
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!std::isfinite(x[i])) detail::throw_invalid(fn, name, " contains a non-finite value (", x[i], ") at index ", i);
  }
  template <class D>
  static void check_finite_row(const char* fn, const char* name, const Eigen::MatrixBase<D>& x, Index row) {
    for (Index c = 0; c < x.cols(); ++c)
      if (!std::isfinite(x(row, c)))
        detail::throw_invalid(fn, name, " contains a non-finite value (", x(row, c), ") at row ", row, ", column ", c);
  }

  void reserve(Index n) {
    if (n <= capacity_) return;
    const Index cap = std::max(n, capacity_ * 2);
    keys_.conservativeResize(cap, o_.heads * o_.head_dim);
    values_.conservativeResize(cap, o_.heads * dv_);
    pos_.resize(std::size_t(cap));
    f_.resize(std::size_t(cap));
    att_.resize(std::size_t(cap));
    last_.resize(std::size_t(cap));
    norm_.resize(std::size_t(cap));
    logits_.resize(std::size_t(cap));
    raw_.resize(std::size_t(cap));
    capacity_ = cap;
  }

  CacheState<T> state() const {
    return CacheState<T>{size_, o_.budget, seen_, pos_.data(), f_.data(), att_.data(), last_.data(), norm_.data()};
  }

  void remove(Index slot) {
    const Index last = size_ - 1;
    if (slot != last) {
      keys_.row(slot) = keys_.row(last);
      values_.row(slot) = values_.row(last);
      pos_[std::size_t(slot)] = pos_[std::size_t(last)];
      f_[std::size_t(slot)] = f_[std::size_t(last)];
      att_[std::size_t(slot)] = att_[std::size_t(last)];
      last_[std::size_t(slot)] = last_[std::size_t(last)];
      norm_[std::size_t(slot)] = norm_[std::size_t(last)];
    }
    --size_;
    ++evicted_;
  }

  void apply_drops() {
    if constexpr (detail::has_drop<Policy, T>::value) {  // (compiles for every policy: compiled mode)
      for (Index s = size_ - 1; s >= 0; --s)
        if (pos_[std::size_t(s)] != seen_ - 1 && policy_.drop(state(), s)) remove(s);
    }
  }

  /// (1/H) Σ_h ‖k_h‖₂ of a key row of heads·head_dim values.
  T key_norm(const T* key) const {
    T sum = T(0);
    for (Index h = 0; h < o_.heads; ++h) {
      T sq = T(0);
      for (Index i = 0; i < o_.head_dim; ++i) sq += key[h * o_.head_dim + i] * key[h * o_.head_dim + i];
      sum += std::sqrt(sq);
    }
    return sum / T(o_.heads);
  }

  void step(const T* q, const T* k, const T* v, T* out);

  KVCacheOptions o_;
  Policy policy_;
  Index dv_ = 0;
  T scale_ = T(1);
  RowMatrix<T> keys_, values_;
  std::vector<Index> pos_;
  std::vector<T> f_, att_, last_, norm_, logits_, raw_;
  std::vector<T> q_, k_, v_;
  Index size_ = 0, seen_ = 0, evicted_ = 0, capacity_ = 0;
};

template <class T, class Policy>
void KVCache<T, Policy>::step(const T* q, const T* k, const T* v, T* out) {
  const Index H = o_.heads, d = o_.head_dim, dv = dv_;
  if (o_.budget > 0 && size_ >= o_.budget) {
    const Index victim = policy_.victim(state());
    remove(victim >= 0 && victim < size_ ? victim : 0);
  }
  reserve(size_ + 1);
  const Index me = size_;
  std::copy(k, k + H * d, keys_.row(me).data());
  std::copy(v, v + H * dv, values_.row(me).data());
  pos_[std::size_t(me)] = seen_;
  f_[std::size_t(me)] = T(0);
  att_[std::size_t(me)] = T(0);
  norm_[std::size_t(me)] = key_norm(keys_.row(me).data());
  ++size_;
  const Index n = size_;
  // One head's cached keys (values) are an n × d block of rows with stride H·d: the logits are
  // a matrix-vector product with it and the output one with its transpose.
  using Rows = Eigen::Map<const RowMatrix<T>, 0, Eigen::OuterStride<>>;
  using Vec = Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>;
  using ConstVec = Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>;
  Vec logits(logits_.data(), n), att(att_.data(), n), last(last_.data(), n);
  last.setZero();
  for (Index h = 0; h < H; ++h) {
    const Rows keys(keys_.data() + h * d, n, d, Eigen::OuterStride<>(H * d));
    logits.noalias() = scale_ * (keys * ConstVec(q + h * d, d));
    if (h == o_.selector_head) Vec(raw_.data(), n) = logits;
    if (o_.selective) logits -= ConstVec(f_.data(), n);
    simd::softmax(logits.data(), logits.data(), std::size_t(n));
    const Rows values(values_.data() + h * dv, n, dv, Eigen::OuterStride<>(H * dv));
    Vec(out + h * dv, dv).noalias() = values.transpose() * logits;
    att += logits;
    last += logits;
  }
  last /= T(H);
  if (o_.selective)  // this query's votes on every earlier token except BOS
    for (Index s = 0; s < n; ++s)
      if (s != me && pos_[std::size_t(s)] != 0 && raw_[std::size_t(s)] > T(0)) f_[std::size_t(s)] += raw_[std::size_t(s)];
  ++seen_;
  if constexpr (detail::has_drop<Policy, T>::value) apply_drops();
}

ATTNSEL_NAMESPACE_END
