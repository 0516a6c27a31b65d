// select(X, y, args) in float (see bindings.hpp).
#include "bindings.hpp"

void attnsel_python::register_select_float(py::module_& m) {
  m.def("select", &select<float>, py::arg("X").noconvert(), py::arg("y").noconvert(), py::arg("args"));
}
