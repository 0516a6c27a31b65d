// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file data/variable_assignment.hpp
/// The Variable Assignment task of the Selective Attention paper (docs/language-models.md §3):
/// a stream of assignments `x = v` to a handful of variables, with queries `x ? v` whose answer v
/// is the latest value assigned to x. Older assignments of a variable become irrelevant as soon
/// as it is reassigned — what selective attention can learn to mask. Loss and accuracy are
/// counted on the answer tokens only.
///
/// Tokens: 0 = BOS, 1 = '=', 2 = '?', 3 .. 3+variables−1 the variables, then the values
/// 0 .. values−1. A sequence is BOS followed by groups of three tokens; the first group is an
/// assignment, every later one a query of an assigned variable with probability `query_rate`.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "../error.hpp"
#include "../random.hpp"
#include "../types.hpp"
#include "text.hpp"

ATTNSEL_NAMESPACE_BEGIN

struct VariableAssignmentOptions {
  Index variables = 4;
  /// Values 0 .. values−1.
  Index values = 8;
  /// Input tokens per sequence (BOS included); the model's context must be at least this.
  Index seq_len = 64;
  /// Share of the groups after the first that are queries.
  double query_rate = 0.3;
};

class VariableAssignment {
 public:
  static constexpr std::int32_t bos = 0, assign = 1, query = 2, first_variable = 3;

  /// @throws std::invalid_argument for variables or values < 1, seq_len < 4 or a query rate
  ///         outside [0, 1].
  explicit VariableAssignment(VariableAssignmentOptions options) : opt_(options) {
    constexpr const char* fn = "attnsel::VariableAssignment";
    detail::require(options.variables >= 1, fn, "option 'variables' is ", options.variables, ", expected >= 1");
    detail::require(options.values >= 1, fn, "option 'values' is ", options.values, ", expected >= 1");
    detail::require(options.seq_len >= 4, fn, "option 'seq_len' is ", options.seq_len, ", expected >= 4");
    detail::require(options.query_rate >= 0.0 && options.query_rate <= 1.0, fn, "option 'query_rate' is ",
                    options.query_rate, ", expected a value in [0, 1]");
  }

  const VariableAssignmentOptions& options() const noexcept { return opt_; }
  Index vocab_size() const noexcept { return 3 + opt_.variables + opt_.values; }
  std::int32_t variable_token(Index x) const noexcept { return std::int32_t(first_variable + x); }
  std::int32_t value_token(Index v) const noexcept { return std::int32_t(first_variable + opt_.variables + v); }

  /// B sequences: inputs of seq_len tokens; targets −1 except where the input is '?', whose
  /// target is the answer (the latest value of the queried variable).
  TokenBatch sample(Index batch, Rng& rng) const {
    detail::require(batch >= 1, "attnsel::VariableAssignment::sample", "argument 'batch' is ", batch, ", expected >= 1");
    const Index T = opt_.seq_len;
    TokenBatch b;
    b.batch = batch;
    b.seq_len = T;
    b.inputs.reserve(std::size_t(batch * T));
    b.targets.reserve(std::size_t(batch * T));
    std::vector<std::int32_t> seq;
    std::vector<bool> answer;
    std::vector<Index> latest(std::size_t(opt_.variables));
    std::vector<Index> assigned;
    for (Index s = 0; s < batch; ++s) {
      seq.assign(1, bos);
      answer.assign(1, false);
      std::fill(latest.begin(), latest.end(), Index(-1));
      assigned.clear();
      while (Index(seq.size()) < T + 1) {
        const bool is_query = !assigned.empty() && random::uniform01(rng) < opt_.query_rate;
        if (is_query) {
          const Index x = assigned[std::size_t(random::index(rng, assigned.size()))];
          seq.insert(seq.end(), {variable_token(x), query, value_token(latest[std::size_t(x)])});
          answer.insert(answer.end(), {false, false, true});
        } else {
          const Index x = Index(random::index(rng, std::uint64_t(opt_.variables)));
          const Index v = Index(random::index(rng, std::uint64_t(opt_.values)));
          if (latest[std::size_t(x)] < 0) assigned.push_back(x);
          latest[std::size_t(x)] = v;
          seq.insert(seq.end(), {variable_token(x), assign, value_token(v)});
          answer.insert(answer.end(), {false, false, false});
        }
      }
      for (Index t = 0; t < T; ++t) {
        b.inputs.push_back(seq[std::size_t(t)]);
        b.targets.push_back(answer[std::size_t(t + 1)] ? seq[std::size_t(t + 1)] : -1);
      }
    }
    return b;
  }

  /// A readable form of a token sequence, e.g. "^ x0=3 x1=5 x0?3".
  std::string describe(const std::vector<std::int32_t>& tokens) const {
    std::string s;
    for (std::int32_t t : tokens) {
      if (t == bos) {
        s += "^";
      } else if (t == assign) {
        s += "=";
      } else if (t == query) {
        s += "?";
      } else if (t < first_variable + opt_.variables) {
        s += " x" + std::to_string(t - first_variable);
      } else {
        s += std::to_string(t - first_variable - opt_.variables);
      }
    }
    return s;
  }

 private:
  VariableAssignmentOptions opt_;
};

ATTNSEL_NAMESPACE_END
