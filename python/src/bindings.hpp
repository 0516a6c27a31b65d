// Shared by the TUs of attnsel's Python module (module.cpp, select_float.cpp, select_double.cpp).
#pragma once

#include <pybind11/eigen.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <attnsel/attnsel.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace attnsel_python {

namespace py = pybind11;
using attnsel::Index;

template <class T>
using Rows = Eigen::Ref<const attnsel::RowMatrix<T>>;
template <class T>
using Vec = Eigen::Ref<const attnsel::Vector<T>>;

/// Options of every selector, as Python passes them (one dict of keyword arguments).
/// The options of one selection; the defaults are the C++ selector's own (the Python signature
/// repeats them, and test_python_defaults_are_the_cpp_defaults keeps the two equal; the group
/// LASSO scale is a default argument in C++, repeated here by hand).
struct SelectArgs {
  static const attnsel::SequentialAttentionOptions<double>& cpp() {
    static const attnsel::SequentialAttentionOptions<double> defaults{};
    return defaults;
  }
  std::string method = "sequential_attention";
  Index k = cpp().k;
  std::string task = "classification";
  std::vector<Index> hidden = cpp().hidden;
  Index epochs = cpp().epochs, batch_size = cpp().batch_size, per_round = cpp().per_round;
  double learning_rate = cpp().learning_rate;
  double group_lasso_scale = 0.01;  // the default argument of attnsel::sequential_lasso_selection
  bool input_batch_norm = cpp().input_batch_norm;
  std::uint64_t seed = cpp().seed;
};

inline attnsel::Task parse_task(const std::string& t) {
  if (t == "classification") return attnsel::Task::classification;
  if (t == "regression") return attnsel::Task::regression;
  throw std::invalid_argument("attnsel.select: task must be 'classification' or 'regression', got '" + t + "'");
}

template <class T>
py::dict select(Rows<T> X, Vec<T> y, const SelectArgs& a) {
  attnsel::Selection<T> s;
  {
    py::gil_scoped_release release;  // the arrays stay referenced by the caller's frame
    attnsel::SequentialAttentionOptions<T> o;
    o.k = a.k;
    o.task = parse_task(a.task);
    o.hidden = a.hidden;
    o.epochs = a.epochs;
    o.batch_size = a.batch_size;
    o.per_round = a.per_round;
    o.learning_rate = T(a.learning_rate);
    o.input_batch_norm = a.input_batch_norm;
    o.seed = a.seed;
    const T gl = T(a.group_lasso_scale);
    if (a.method == "sequential_attention") {
      s = attnsel::SequentialAttentionSelector<T>(o).fit(X, y);
    } else if (a.method == "omp") {
      s = attnsel::orthogonal_matching_pursuit(X, y, a.k);
    } else if (a.method == "lasso") {
      s = attnsel::lasso_path_selection(X, y, a.k);
    } else if (a.method == "lly") {
      s = attnsel::lly_selection(X, y, o);
    } else if (a.method == "sequential_lasso") {
      s = attnsel::sequential_lasso_selection(X, y, o, gl);
    } else if (a.method == "group_lasso") {
      s = attnsel::group_lasso_selection(X, y, o, gl);
    } else if (a.method == "gradient_omp") {
      s = attnsel::gradient_omp_selection(X, y, o);
    } else {
      throw std::invalid_argument("attnsel.select: method must be sequential_attention, omp, lasso, lly, "
                                  "sequential_lasso, group_lasso or gradient_omp, got '" + a.method + "'");
    }
  }
  py::dict out;
  out["features"] = s.features;
  out["losses"] = s.losses;
  out["method"] = s.method;
  out["features_from_training"] = s.features_from_training;
  return out;
}

/// Registers select(X, y, args) for scalar type T (select_float.cpp, select_double.cpp).
void register_select_float(py::module_& m);
void register_select_double(py::module_& m);

}  // namespace attnsel_python
