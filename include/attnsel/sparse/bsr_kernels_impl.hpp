// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file sparse/bsr_kernels_impl.hpp
/// Out-of-line xsimd definitions of the BSR kernels declared in bsr_kernels.hpp. Every helper is
/// templated on the arch it runs, so TUs built for different instruction sets never share a
/// symbol (and all of it sits in attnsel's per-arch ABI namespace anyway).

#include <algorithm>
#include <cstddef>
#include <type_traits>

#include "bsr_kernels.hpp"

#if ATTNSEL_SIMD_ENABLED

ATTNSEL_NAMESPACE_BEGIN
namespace detail {
namespace bsr {
ATTNSEL_SIMD_NAMESPACE_BEGIN

// ---- register widths ----------------------------------------------------------------------

/// The 32-byte and 16-byte instruction sets this TU can use next to its widest one (xmm/ymm
/// registers divide 4- and 8-float blocks exactly where a zmm would be half padding).
template <class T, std::size_t Bytes>
struct narrow_arch {
  using type = void;
};
#if XSIMD_WITH_FMA3_AVX2
template <class T>
struct narrow_arch<T, 32> {
  using type = xsimd::fma3<xsimd::avx2>;
};
#elif XSIMD_WITH_AVX2
template <class T>
struct narrow_arch<T, 32> {
  using type = xsimd::avx2;
};
#elif XSIMD_WITH_FMA3_AVX
template <class T>
struct narrow_arch<T, 32> {
  using type = xsimd::fma3<xsimd::avx>;
};
#elif XSIMD_WITH_AVX
template <class T>
struct narrow_arch<T, 32> {
  using type = xsimd::avx;
};
#endif
#if XSIMD_WITH_FMA3_SSE
template <class T>
struct narrow_arch<T, 16> {
  using type = xsimd::fma3<xsimd::sse4_2>;
};
#elif XSIMD_WITH_SSE4_2
template <class T>
struct narrow_arch<T, 16> {
  using type = xsimd::sse4_2;
};
#elif XSIMD_WITH_SSE2
template <class T>
struct narrow_arch<T, 16> {
  using type = xsimd::sse2;
};
#elif XSIMD_WITH_NEON64
template <class T>
struct narrow_arch<T, 16> {
  using type = xsimd::neon64;
};
#elif XSIMD_WITH_NEON
template <>
struct narrow_arch<float, 16> {
  using type = xsimd::neon;
};
#endif

/// Lanes of `batch<T, A>` (0 for A = void).
template <class T, class A>
struct lanes_of : std::integral_constant<Index, Index(xsimd::batch<T, A>::size)> {};
template <class T>
struct lanes_of<T, void> : std::integral_constant<Index, 0> {};

/// `Candidate` if it is narrower than `Arch` (a genuine alternative), else void.
template <class T, class Arch, class Candidate>
using if_narrower =
    std::conditional_t<!std::is_void_v<Candidate> && (lanes_of<T, Candidate>::value > 0) &&
                           lanes_of<T, Candidate>::value < lanes_of<T, Arch>::value,
                       Candidate, void>;

/// The widths a kernel may use, widest first: Arch itself, then 32- and 16-byte registers.
template <class T, class Arch>
struct widths {
  using w0 = Arch;
  using w1 = if_narrower<T, Arch, typename narrow_arch<T, 32>::type>;
  using w2 = if_narrower<T, Arch, typename narrow_arch<T, 16>::type>;
};

template <class T, class A>
constexpr bool divides(Index n) noexcept {
  return lanes_of<T, A>::value > 0 && n % lanes_of<T, A>::value == 0;
}

/// Widest width whose lane count divides N (void if none).
template <class T, class Arch, Index N>
using width_for = std::conditional_t<
    divides<T, typename widths<T, Arch>::w0>(N), typename widths<T, Arch>::w0,
    std::conditional_t<divides<T, typename widths<T, Arch>::w1>(N), typename widths<T, Arch>::w1,
                       std::conditional_t<divides<T, typename widths<T, Arch>::w2>(N),
                                          typename widths<T, Arch>::w2, void>>>;

/// Rows of X per register tile for NV registers of outputs per row.
template <class T, class A, int NV>
constexpr int tile_rows() noexcept {
#if XSIMD_WITH_AVX512F || XSIMD_WITH_NEON64
  constexpr int regs = 32;  // AVX-512 also gives xmm/ymm code 32 registers
#else
  constexpr int regs = 16;
#endif
  (void)sizeof(xsimd::batch<T, A>);
  if constexpr (regs >= 32) {
    return NV <= 2 ? 8 : 6;
  } else {
    return NV == 1 ? 6 : NV == 2 ? 4 : NV == 3 ? 3 : 2;
  }
}

// ---- the register-tile micro-kernel --------------------------------------------------------

/// acc[m][v] += x[m * ldx] * line[v * L]: one reduction step of an M x NV tile.
template <int M, int NV, class B, class T>
ATTNSEL_DETAIL_BSR_INLINE void fma_line(B (&acc)[M][NV], const T* x, Index ldx,
                                        const T* line) noexcept {
  constexpr Index L = Index(B::size);
  B wv[NV];
  for (int v = 0; v < NV; ++v) wv[v] = B::load_unaligned(line + v * L);
  for (int m = 0; m < M; ++m) {
    const B xb(x[m * ldx]);
    for (int v = 0; v < NV; ++v) acc[m][v] = xsimd::fma(xb, wv[v], acc[m][v]);
  }
}

/// Runs one Tile: M rows x NV registers of width WA; KC > 0 unrolls blocks whose reduction
/// length is KC. Tiles with fewer than 4 accumulators split the reduction into U independent
/// chains (FMA latency), always the same way for a given M.
template <class WA, int M, int NV, Index KC, class T>
void run_tile(const Tile<T>& t) noexcept {
  using B = xsimd::batch<T, WA>;
  constexpr Index L = Index(B::size);
  constexpr int U = M * NV >= 4 ? 1 : (M * NV == 1 ? 4 : 2);
  B acc[U][M][NV];
  for (int u = 0; u < U; ++u)
    for (int m = 0; m < M; ++m)
      for (int v = 0; v < NV; ++v) acc[u][m][v] = B(T(0));
  const bool full = t.ncols == NV * L;
  if (t.accumulate) {
    for (int m = 0; m < M; ++m) {
      const T* yr = t.y + m * t.ldy;
      if (full) {
        for (int v = 0; v < NV; ++v) acc[0][m][v] = B::load_unaligned(yr + v * L);
      } else {
        alignas(64) T buf[NV * L] = {};
        std::copy(yr, yr + t.ncols, buf);
        for (int v = 0; v < NV; ++v) acc[0][m][v] = B::load_unaligned(buf + v * L);
      }
    }
  }
  for (Index q = 0; q < t.nblocks; ++q) {
    const T* xq = t.x + t.bidx[q] * t.kstep;
    const T* wq = t.w + q * t.wstride;
    const Index kc = q + 1 == t.nblocks ? t.k_last : t.k_full;
    Index c = 0;
    if constexpr (KC > 0) {
      if (kc == KC) {
        for (; c < KC; c += U)
          for (int u = 0; u < U; ++u) fma_line<M, NV>(acc[u], xq + c + u, t.ldx, wq + (c + u) * t.ldw);
        continue;
      }
    }
    for (; c + U <= kc; c += U)
      for (int u = 0; u < U; ++u) fma_line<M, NV>(acc[u], xq + c + u, t.ldx, wq + (c + u) * t.ldw);
    for (; c < kc; ++c) fma_line<M, NV>(acc[0], xq + c, t.ldx, wq + c * t.ldw);
  }
  for (int u = 1; u < U; ++u)
    for (int m = 0; m < M; ++m)
      for (int v = 0; v < NV; ++v) acc[0][m][v] += acc[u][m][v];
  for (int m = 0; m < M; ++m) {
    T* yr = t.y + m * t.ldy;
    if (full) {
      for (int v = 0; v < NV; ++v) acc[0][m][v].store_unaligned(yr + v * L);
    } else {
      alignas(64) T buf[NV * L];
      for (int v = 0; v < NV; ++v) acc[0][m][v].store_unaligned(buf + v * L);
      std::copy(buf, buf + t.ncols, yr);
    }
  }
}

/// Calls `pass.template operator()<M>(b)` over rows [b0, b1): tiles of MM rows, then 4, 2, 1.
/// The split depends only on b0 and b1.
template <int MM, class Pass>
ATTNSEL_DETAIL_BSR_INLINE void over_panels(Index b0, Index b1, Pass&& pass) {
  Index b = b0;
  for (; b + MM <= b1; b += MM) pass.template run<MM>(b);
  if constexpr (MM > 4) {
    if (b + 4 <= b1) {
      pass.template run<4>(b);
      b += 4;
    }
  }
  if constexpr (MM > 2) {
    for (; b + 2 <= b1; b += 2) pass.template run<2>(b);
  }
  for (; b < b1; ++b) pass.template run<1>(b);
}

// ---- Y = X·Wᵀ ------------------------------------------------------------------------------

template <class WA, int NV, Index KC, class T>
struct ForwardPass {
  const View<T>& w;
  const T* x;
  Index ldx;
  T* y;
  Index ldy;
  Index i0, i1;
  Index off;  // first output of the block covered by this pass (multiple of the width)

  template <int M>
  void run(Index b) const noexcept {
    constexpr Index L = lanes_of<T, WA>::value;
    const Index bs = w.block_size();
    for (Index I = i0; I < i1; ++I) {
      const Index ncols = std::min(NV * L, w.rows_in(I) - off);
      if (ncols <= 0) continue;
      const Index k0 = w.row_ptr[I];
      Tile<T> t;
      t.x = x + b * ldx;
      t.ldx = ldx;
      t.y = y + b * ldy + I * w.br + off;
      t.ldy = ldy;
      t.bidx = w.col_idx + k0;
      t.kstep = w.bc;
      t.w = w.values + k0 * bs + off;
      t.wstride = bs;
      t.ldw = w.brp;
      t.nblocks = w.row_ptr[I + 1] - k0;
      t.k_full = w.bc;
      t.k_last = t.nblocks > 0 ? w.cols_in(w.col_idx[w.row_ptr[I + 1] - 1]) : w.bc;
      t.ncols = ncols;
      run_tile<WA, M, NV, KC>(t);
    }
  }
};

template <class WA, int NV, Index KC, class T>
void forward_pass(const View<T>& w, Index off, const T* x, Index ldx, T* y, Index ldy, Index b0,
                  Index b1, Index i0, Index i1) noexcept {
  over_panels<tile_rows<T, WA, NV>()>(b0, b1, ForwardPass<WA, NV, KC, T>{w, x, ldx, y, ldy, i0, i1, off});
}

/// Generic path: registers of width WA (whose lanes divide the padded side `padded`), split
/// into passes of at most 4 registers; `pass(NV, off)` is given the width at compile time.
template <class WA, class T, class Pass>
void generic_passes(Index padded, Pass&& pass) {
  constexpr Index L = lanes_of<T, WA>::value;
  const Index nv_total = padded / L;
  for (Index v0 = 0; v0 < nv_total; v0 += 4) {
    const Index off = v0 * L;
    switch (std::min<Index>(4, nv_total - v0)) {
      case 1: pass(std::integral_constant<int, 1>{}, off); break;
      case 2: pass(std::integral_constant<int, 2>{}, off); break;
      case 3: pass(std::integral_constant<int, 3>{}, off); break;
      default: pass(std::integral_constant<int, 4>{}, off); break;
    }
  }
}

/// Calls `fast(integral_constant<Index, B>)` for square blocks of a fast-path size whose width
/// exists; returns false otherwise.
template <class T, class Arch, class Fast>
bool fast_path(Index br, Index bc, Fast&& fast) {
  if (br != bc) return false;
  auto go = [&](auto bsize) {
    constexpr Index B = decltype(bsize)::value;
    using WA = width_for<T, Arch, B>;
    if constexpr (std::is_void_v<WA>) {
      return false;
    } else if constexpr (B / lanes_of<T, WA>::value > 4) {
      return false;
    } else {
      fast(bsize);
      return true;
    }
  };
  switch (br) {
    case 4: return go(std::integral_constant<Index, 4>{});
    case 8: return go(std::integral_constant<Index, 8>{});
    case 16: return go(std::integral_constant<Index, 16>{});
    case 32: return go(std::integral_constant<Index, 32>{});
    default: return false;
  }
}

/// Calls `generic(WA{})` with the widest width whose lanes divide `padded`; false if none.
template <class T, class Arch, class Generic>
bool generic_path(Index padded, Generic&& generic) {
  using Wd = widths<T, Arch>;
  if (divides<T, typename Wd::w0>(padded)) {
    generic(typename Wd::w0{});
    return true;
  }
  if constexpr (!std::is_void_v<typename Wd::w1>) {
    if (divides<T, typename Wd::w1>(padded)) {
      generic(typename Wd::w1{});
      return true;
    }
  }
  if constexpr (!std::is_void_v<typename Wd::w2>) {
    if (divides<T, typename Wd::w2>(padded)) {
      generic(typename Wd::w2{});
      return true;
    }
  }
  return false;
}

template <class Arch, class T>
void forward::operator()(Arch, const View<T>& w, const T* x, Index ldx, T* y, Index ldy, Index b0,
                         Index b1, Index i0, Index i1) const noexcept {
  if (b0 >= b1 || i0 >= i1) return;
  const bool fast = fast_path<T, Arch>(w.br, w.bc, [&](auto bsize) {
    constexpr Index B = decltype(bsize)::value;
    using WA = width_for<T, Arch, B>;
    forward_pass<WA, int(B / lanes_of<T, WA>::value), B>(w, 0, x, ldx, y, ldy, b0, b1, i0, i1);
  });
  if (fast) return;
  const bool simd = generic_path<T, Arch>(w.brp, [&](auto wa) {
    using WA = decltype(wa);
    generic_passes<WA, T>(w.brp, [&](auto nv, Index off) {
      forward_pass<WA, decltype(nv)::value, 0>(w, off, x, ldx, y, ldy, b0, b1, i0, i1);
    });
  });
  if (!simd) forward{}(simd::scalar_arch{}, w, x, ldx, y, ldy, b0, b1, i0, i1);
}

// ---- Y = X·W -------------------------------------------------------------------------------

/// Capacity (in T) of the stack buffer transposed blocks are packed into.
template <class T>
constexpr Index pack_capacity() noexcept {
  return Index(32768 / sizeof(T));
}

template <class WA, int NV, Index KC, class T>
struct TransposedPass {
  const View<T>& w;
  const T* x;
  Index ldx;
  T* y;
  Index ldy;
  Index J;
  const T* packed;  // nblocks blocks of br lines of bcp values
  Index bcp;
  Index q0, nblocks;
  Index off;

  template <int M>
  void run(Index b) const noexcept {
    constexpr Index L = lanes_of<T, WA>::value;
    const Index ncols = std::min(NV * L, w.cols_in(J) - off);
    if (ncols <= 0) return;
    Tile<T> t;
    t.x = x + b * ldx;
    t.ldx = ldx;
    t.y = y + b * ldy + J * w.bc + off;
    t.ldy = ldy;
    t.bidx = w.col_row + q0;
    t.kstep = w.br;
    t.w = packed + off;
    t.wstride = w.br * bcp;
    t.ldw = bcp;
    t.nblocks = nblocks;
    t.k_full = w.br;
    t.k_last = nblocks > 0 ? w.rows_in(w.col_row[q0 + nblocks - 1]) : w.br;
    t.ncols = ncols;
    t.accumulate = q0 > w.col_ptr[J];
    run_tile<WA, M, NV, KC>(t);
  }
};

/// Y = X·W over rows [b0, b1) and block-columns [j0, j1), registers of width WA, `padded` =
/// bc rounded up to a multiple of its lanes; `pass(NV, off, run_pass)` enumerates the passes.
template <class WA, Index KC, class T, class Passes>
void transposed_columns(const View<T>& w, Index bcp, const T* x, Index ldx, T* y, Index ldy,
                        Index b0, Index b1, Index j0, Index j1, Passes&& passes) noexcept {
  alignas(64) T packed[pack_capacity<T>()];
  const Index per_block = w.br * bcp;
  const Index chunk = std::max<Index>(1, pack_capacity<T>() / per_block);
  const Index bs = w.block_size();
  for (Index J = j0; J < j1; ++J) {
    const Index qa = w.col_ptr[J], qb = w.col_ptr[J + 1];
    Index q0 = qa;
    do {
      const Index n = std::min(chunk, qb - q0);
      // Pack: block (r, c) -> packed[r * bcp + c], columns past bc zero.
      for (Index i = 0; i < n; ++i) {
        const T* src = w.values + w.col_block[q0 + i] * bs;
        T* dst = packed + i * per_block;
        for (Index r = 0; r < w.br; ++r) {
          T* line = dst + r * bcp;
          for (Index c = 0; c < w.bc; ++c) line[c] = src[c * w.brp + r];
          for (Index c = w.bc; c < bcp; ++c) line[c] = T(0);
        }
      }
      passes([&](auto nv, Index off) {
        constexpr int NV = decltype(nv)::value;
        over_panels<tile_rows<T, WA, NV>()>(
            b0, b1, TransposedPass<WA, NV, KC, T>{w, x, ldx, y, ldy, J, packed, bcp, q0, n, off});
      });
      q0 += n;
    } while (q0 < qb);
  }
}

template <class Arch, class T>
void transposed::operator()(Arch, const View<T>& w, const T* x, Index ldx, T* y, Index ldy,
                            Index b0, Index b1, Index j0, Index j1) const noexcept {
  if (b0 >= b1 || j0 >= j1) return;
  const bool fast = fast_path<T, Arch>(w.br, w.bc, [&](auto bsize) {
    constexpr Index B = decltype(bsize)::value;
    using WA = width_for<T, Arch, B>;
    constexpr int NV = int(B / lanes_of<T, WA>::value);
    transposed_columns<WA, B>(w, B, x, ldx, y, ldy, b0, b1, j0, j1, [](auto&& run) {
      run(std::integral_constant<int, NV>{}, Index(0));
    });
  });
  if (fast) return;
  const Index bcp = round_up(w.bc, pad_lanes<T>());
  const bool simd = generic_path<T, Arch>(bcp, [&](auto wa) {
    using WA = decltype(wa);
    transposed_columns<WA, 0>(w, bcp, x, ldx, y, ldy, b0, b1, j0, j1, [bcp](auto&& run) {
      generic_passes<WA, T>(bcp, run);
    });
  });
  if (!simd) transposed{}(simd::scalar_arch{}, w, x, ldx, y, ldy, b0, b1, j0, j1);
}

ATTNSEL_SIMD_NAMESPACE_END
}  // namespace bsr
}  // namespace detail
ATTNSEL_NAMESPACE_END

#endif  // ATTNSEL_SIMD_ENABLED
