// select(X, y, args) in double (see bindings.hpp).
#include "bindings.hpp"

void attnsel_python::register_select_double(py::module_& m) {
  m.def("select", &select<double>, py::arg("X"), py::arg("y"), py::arg("args"));
}
