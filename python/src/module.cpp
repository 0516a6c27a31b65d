// attnsel's Python module: the selectors, the Selective Attention kernels and the KV cache over
// numpy arrays. Holds no algorithm of its own (docs/architecture: python/ binds the headers);
// the scikit-learn estimators are in attnsel/__init__.py.
//
// Arrays: the kernels and the KV caches take C-contiguous float32 or float64 arrays only, as
// Eigen::Ref without a copy (anything else: TypeError). select(X, y) takes a C-contiguous float32
// pair as it is; any other array is converted by pybind11 to C-contiguous float64 (the estimator
// in attnsel/__init__.py hands it C-contiguous float32 or float64). Fitting releases the GIL. C++
// std::invalid_argument arrives as ValueError, std::runtime_error as RuntimeError.
#include "bindings.hpp"

using namespace attnsel_python;

namespace {

attnsel::SelectiveAttentionOptions attention_options(Index heads, bool selective, Index selector_head, double scale,
                                                     bool stop_selector_gradient) {
  attnsel::SelectiveAttentionOptions o;
  o.heads = heads;
  o.selective = selective;
  o.selector_head = selector_head;
  o.scale = scale;
  o.stop_selector_gradient = stop_selector_gradient;
  return o;
}

template <class T>
void bind_kernels(py::module_& m) {
  m.def(
      "selective_attention",
      [](Rows<T> Q, Rows<T> K, Rows<T> V, Index heads, bool selective, Index selector_head, double scale) {
        py::gil_scoped_release release;
        return attnsel::selective_attention(Q, K, V, attention_options(heads, selective, selector_head, scale, false));
      },
      py::arg("Q").noconvert(), py::arg("K").noconvert(), py::arg("V").noconvert(), py::kw_only(), py::arg("heads") = 1,
      py::arg("selective") = true, py::arg("selector_head") = 0, py::arg("scale") = 0.0);
  m.def(
      "selective_attention_backward",
      [](Rows<T> Q, Rows<T> K, Rows<T> V, Rows<T> dO, Index heads, bool selective, Index selector_head, double scale,
         bool stop_selector_gradient) {
        attnsel::SelectiveAttentionGradients<T> g;
        {
          py::gil_scoped_release release;
          g = attnsel::selective_attention_backward(
              Q, K, V, dO, attention_options(heads, selective, selector_head, scale, stop_selector_gradient));
        }
        return py::make_tuple(g.dQ, g.dK, g.dV);
      },
      py::arg("Q").noconvert(), py::arg("K").noconvert(), py::arg("V").noconvert(), py::arg("dO").noconvert(),
      py::kw_only(), py::arg("heads") = 1, py::arg("selective") = true, py::arg("selector_head") = 0,
      py::arg("scale") = 0.0, py::arg("stop_selector_gradient") = false);
}

attnsel::KVCacheOptions cache_options(Index heads, Index head_dim, Index value_dim, Index budget, bool selective,
                                      Index selector_head, double scale) {
  attnsel::KVCacheOptions o;
  o.heads = heads;
  o.head_dim = head_dim;
  o.value_dim = value_dim;
  o.budget = budget;
  o.selective = selective;
  o.selector_head = selector_head;
  o.scale = scale;
  return o;
}

/// The policy's one option as a keyword argument (name, default, how to build the policy), or
/// none (`name` is null).
template <class Policy>
struct PolicyOption {
  static constexpr const char* name = nullptr;
};
template <>
struct PolicyOption<attnsel::evict::SelectiveF> {
  static constexpr const char* name = "threshold";
  static double fallback() { return attnsel::evict::SelectiveF{}.threshold; }
  static attnsel::evict::SelectiveF make(double v) { return attnsel::evict::SelectiveF{v}; }
};
template <>
struct PolicyOption<attnsel::evict::H2O> {
  static constexpr const char* name = "recent";
  static Index fallback() { return attnsel::evict::H2O{}.recent; }
  static attnsel::evict::H2O make(Index v) { return attnsel::evict::H2O{v}; }
};
template <>
struct PolicyOption<attnsel::evict::StreamingLLM> {
  static constexpr const char* name = "sinks";
  static Index fallback() { return attnsel::evict::StreamingLLM{}.sinks; }
  static attnsel::evict::StreamingLLM make(Index v) { return attnsel::evict::StreamingLLM{v}; }
};

template <class T, class Policy>
void bind_cache(py::module_& m, const char* name) {
  using Cache = attnsel::KVCache<T, Policy>;
  using Option = PolicyOption<Policy>;
  py::class_<Cache> cls(m, name);
  if constexpr (Option::name != nullptr) {
    using Value = decltype(Option::fallback());
    cls.def(py::init([](Index heads, Index head_dim, Index value_dim, Index budget, bool selective,
                        Index selector_head, double scale, Value option) {
              return Cache(cache_options(heads, head_dim, value_dim, budget, selective, selector_head, scale),
                           Option::make(option));
            }),
            py::kw_only(), py::arg("heads"), py::arg("head_dim"), py::arg("value_dim") = 0, py::arg("budget") = 0,
            py::arg("selective") = true, py::arg("selector_head") = 0, py::arg("scale") = 0.0,
            py::arg(Option::name) = Option::fallback());
  } else {
    cls.def(py::init([](Index heads, Index head_dim, Index value_dim, Index budget, bool selective,
                        Index selector_head, double scale) {
              return Cache(cache_options(heads, head_dim, value_dim, budget, selective, selector_head, scale));
            }),
            py::kw_only(), py::arg("heads"), py::arg("head_dim"), py::arg("value_dim") = 0, py::arg("budget") = 0,
            py::arg("selective") = true, py::arg("selector_head") = 0, py::arg("scale") = 0.0);
  }
  cls.def(
         "decode_step",
         [](Cache& c, Vec<T> q, Vec<T> k, Vec<T> v) {
           return attnsel::Vector<T>(c.decode_step(q.transpose(), k.transpose(), v.transpose()).transpose());
         },
         py::arg("q").noconvert(), py::arg("k").noconvert(), py::arg("v").noconvert())
      .def(
          "prefill", [](Cache& c, Rows<T> Q, Rows<T> K, Rows<T> V) { return c.prefill(Q, K, V); },
          py::arg("Q").noconvert(), py::arg("K").noconvert(), py::arg("V").noconvert())
      .def_property_readonly("size", &Cache::size)
      .def_property_readonly("tokens_seen", &Cache::tokens_seen)
      .def_property_readonly("evicted", &Cache::evicted)
      .def_property_readonly("nbytes", &Cache::bytes)
      .def("positions", &Cache::positions)
      .def("clear", &Cache::clear)
      .def_property_readonly_static("policy", [](py::object) { return std::string(Policy::name); });
}

}  // namespace

PYBIND11_MODULE(_attnsel, m) {
  m.doc() = "attnsel's C++ core (use the attnsel package, not this module)";
  m.attr("__version__") = ATTNSEL_VERSION_STRING;
  m.def("simd_arch", [] { return std::string(attnsel::simd_arch()); },
        "the instruction set of the kernels this module runs (chosen at run time: see ATTNSEL_ISA)");
  // A function, not a value frozen at import: OMP_NUM_THREADS is read by the OpenMP runtime, and
  // threadpoolctl.threadpool_limits / omp_set_num_threads change it while the program runs.
  m.def("max_threads", [] { return attnsel::max_threads(); }, "the OpenMP threads attnsel's parallel paths may use now");

  py::class_<attnsel_python::SelectArgs>(m, "SelectArgs")
      .def(py::init<>())
      .def_readwrite("method", &SelectArgs::method)
      .def_readwrite("k", &SelectArgs::k)
      .def_readwrite("task", &SelectArgs::task)
      .def_readwrite("hidden", &SelectArgs::hidden)
      .def_readwrite("epochs", &SelectArgs::epochs)
      .def_readwrite("batch_size", &SelectArgs::batch_size)
      .def_readwrite("per_round", &SelectArgs::per_round)
      .def_readwrite("learning_rate", &SelectArgs::learning_rate)
      .def_readwrite("group_lasso_scale", &SelectArgs::group_lasso_scale)
      .def_readwrite("input_batch_norm", &SelectArgs::input_batch_norm)
      .def_readwrite("seed", &SelectArgs::seed);
  // float32 first without conversion, so a C-contiguous float32 pair is used in place; anything
  // else matches the float64 overload, which pybind11 converts to C-contiguous float64.
  register_select_float(m);
  register_select_double(m);
  bind_kernels<float>(m);
  bind_kernels<double>(m);
  bind_cache<float, attnsel::evict::SelectiveF>(m, "KVCacheSelective32");
  bind_cache<double, attnsel::evict::SelectiveF>(m, "KVCacheSelective");
  bind_cache<float, attnsel::evict::H2O>(m, "KVCacheH2O32");
  bind_cache<double, attnsel::evict::H2O>(m, "KVCacheH2O");
  bind_cache<float, attnsel::evict::StreamingLLM>(m, "KVCacheStreamingLLM32");
  bind_cache<double, attnsel::evict::StreamingLLM>(m, "KVCacheStreamingLLM");
  bind_cache<float, attnsel::evict::TOVA>(m, "KVCacheTOVA32");
  bind_cache<double, attnsel::evict::TOVA>(m, "KVCacheTOVA");
  bind_cache<float, attnsel::evict::KNorm>(m, "KVCacheKNorm32");
  bind_cache<double, attnsel::evict::KNorm>(m, "KVCacheKNorm");
}
