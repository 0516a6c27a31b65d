// attnsel — attention-based subset selection for C++17.
// SPDX-License-Identifier: Apache-2.0
#pragma once

/// @file data/dataset.hpp
/// A table of examples: features X (rows = examples), a target y, names, and for classification
/// the class names behind the ids in y.

#include <string>
#include <vector>

#include "../error.hpp"
#include "../types.hpp"

ATTNSEL_NAMESPACE_BEGIN

enum class Task {
  classification,  ///< y holds class ids 0 .. classes.size()-1
  regression,      ///< y holds real values
};

template <class T>
struct Dataset {
  RowMatrix<T> X;                          ///< n x d features
  Vector<T> y;                             ///< n targets (class ids as T for classification)
  std::vector<std::string> feature_names;  ///< d names
  std::vector<std::string> classes;        ///< class id -> original label (classification only)
  Task task = Task::classification;

  Index rows() const noexcept { return X.rows(); }
  Index features() const noexcept { return X.cols(); }
  Index class_count() const noexcept { return static_cast<Index>(classes.size()); }
  /// y as an n x 1 matrix, the target shape the trainer and losses take.
  RowMatrix<T> targets() const { return RowMatrix<T>(y); }

  /// The rows listed in `rows`, in that order. @throws std::invalid_argument for an index out of
  /// range, or when y does not hold one value per row of X.
  Dataset subset(const std::vector<Index>& rows) const {
    detail::require(y.size() == X.rows(), "attnsel::Dataset::subset", "the data set has ", X.rows(),
                    " rows in X but ", y.size(), " targets in y");
    Dataset out;
    out.X.resize(static_cast<Index>(rows.size()), X.cols());
    out.y.resize(static_cast<Index>(rows.size()));
    for (std::size_t i = 0; i < rows.size(); ++i) {
      detail::require(rows[i] >= 0 && rows[i] < X.rows(), "attnsel::Dataset::subset", "argument 'rows' holds ",
                      rows[i], " at position ", i, ", expected a row in [0, ", X.rows(), ")");
      out.X.row(static_cast<Index>(i)) = X.row(rows[i]);
      out.y(static_cast<Index>(i)) = y(rows[i]);
    }
    out.feature_names = feature_names;
    out.classes = classes;
    out.task = task;
    return out;
  }

  /// Only the listed feature columns, in that order (e.g. a selection's features).
  /// @throws std::invalid_argument for a column out of range.
  Dataset select_features(const std::vector<Index>& columns) const {
    Dataset out;
    out.X.resize(X.rows(), static_cast<Index>(columns.size()));
    for (std::size_t j = 0; j < columns.size(); ++j) {
      detail::require(columns[j] >= 0 && columns[j] < X.cols(), "attnsel::Dataset::select_features",
                      "argument 'columns' holds ", columns[j], " at position ", j, ", expected a column in [0, ",
                      X.cols(), ")");
      out.X.col(static_cast<Index>(j)) = X.col(columns[j]);
      if (static_cast<std::size_t>(columns[j]) < feature_names.size())
        out.feature_names.push_back(feature_names[static_cast<std::size_t>(columns[j])]);
    }
    out.y = y;
    out.classes = classes;
    out.task = task;
    return out;
  }
};

ATTNSEL_NAMESPACE_END
