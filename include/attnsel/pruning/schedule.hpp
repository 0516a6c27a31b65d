// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file schedule.hpp
/// The phase timeline of block pruning over the training progress τ ∈ [0, 1].
///
/// With sparsification phases (SequentialAttention++):
///
///     dense warm-up | cycles × (sparsify, sparse, dense) | sparsify, sparse | fine-tune
///
/// without them (ACDC): `dense warm-up | cycles × (sparse, dense) | sparse | fine-tune`. The part
/// between warm-up and fine-tuning is split into `cycles + 1` equal segments, each split equally
/// into its phases (the last segment: a third sparsifying, two thirds sparse). Within a
/// sparsification phase, at its fraction u ∈ [0, 1], the target sparsity is
/// `s · (1 − e^{−c·u}) / (1 − e^{−c})` (prunes fast early, carefully late; c = 4 in the paper).

#include <cmath>
#include <cstdint>

#include "../config.hpp"
#include "../error.hpp"
#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

enum class PruningPhase { dense, sparsify, sparse, fine_tune };

inline const char* to_string(PruningPhase p) noexcept {
  switch (p) {
    case PruningPhase::dense: return "dense";
    case PruningPhase::sparsify: return "sparsify";
    case PruningPhase::sparse: return "sparse";
    case PruningPhase::fine_tune: return "fine-tune";
  }
  return "?";
}

struct PruningSchedule {
  double warmup = 0.1;     ///< dense warm-up, fraction of training
  Index cycles = 2;        ///< dense/sparse cycles before the final sparse phase
  double fine_tune = 0.2;  ///< final fine-tuning with mask and attention frozen, fraction of training
  double c = 4.0;          ///< exponent of the sparsification schedule

  /// Where training is at progress τ.
  struct Position {
    PruningPhase phase = PruningPhase::dense;
    Index index = 0;  ///< phase counter: changes exactly at phase boundaries
    double u = 0.0;   ///< fraction of the current phase elapsed, [0, 1)
  };

  void validate(const char* fn) const {
    detail::require(std::isfinite(warmup) && warmup >= 0 && warmup < 1, fn, "schedule.warmup must be in [0, 1) (got ",
                    warmup, ")");
    detail::require(std::isfinite(fine_tune) && fine_tune >= 0 && fine_tune < 1, fn,
                    "schedule.fine_tune must be in [0, 1) (got ", fine_tune, ")");
    detail::require(warmup + fine_tune < 1, fn, "schedule.warmup + schedule.fine_tune must be < 1 (got ",
                    warmup + fine_tune, ")");
    detail::require(cycles >= 0 && cycles <= 1000, fn, "schedule.cycles must be in [0, 1000] (got ", cycles, ")");
    detail::require(std::isfinite(c) && c > 0, fn, "schedule.c must be > 0 (got ", c, ")");
  }

  /// Target sparsity at fraction u of a sparsification phase towards `sparsity`.
  double sparsity_at(double u, double sparsity) const {
    if (u <= 0) return 0.0;
    if (u >= 1) return sparsity;
    return sparsity * (1.0 - std::exp(-c * u)) / (1.0 - std::exp(-c));
  }

  Position at(double tau, bool sparsification) const {
    Position p;
    if (tau < warmup) {
      p.phase = PruningPhase::dense;
      p.index = 0;
      p.u = warmup > 0 ? tau / warmup : 0.0;
      return p;
    }
    const double end = 1.0 - fine_tune;
    if (tau >= end) {
      p.phase = PruningPhase::fine_tune;
      p.u = fine_tune > 0 ? (tau - end) / fine_tune : 0.0;
      p.index = 1 + (cycles + 1) * 3;
      return p;
    }
    const double seg = (end - warmup) / double(cycles + 1);
    const double x = (tau - warmup) / seg;
    Index s = static_cast<Index>(x);
    if (s > cycles) s = cycles;
    const double v = x - double(s);  // fraction of the segment
    if (s < cycles) {
      const int parts = sparsification ? 3 : 2;
      int k = static_cast<int>(v * parts);
      if (k >= parts) k = parts - 1;
      static const PruningPhase with[3] = {PruningPhase::sparsify, PruningPhase::sparse, PruningPhase::dense};
      static const PruningPhase without[2] = {PruningPhase::sparse, PruningPhase::dense};
      p.phase = sparsification ? with[k] : without[k];
      p.u = v * parts - k;
      p.index = 1 + s * 3 + k;
    } else if (sparsification && v < 1.0 / 3.0) {
      p.phase = PruningPhase::sparsify;
      p.u = v * 3.0;
      p.index = 1 + s * 3;
    } else {
      p.phase = PruningPhase::sparse;
      p.u = sparsification ? (v - 1.0 / 3.0) * 1.5 : v;
      p.index = 1 + s * 3 + 1;
    }
    return p;
  }
};

ATTNSEL_NAMESPACE_END
