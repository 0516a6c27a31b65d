# Compiled mode really compiles less (issue #16): the header-only object of compiled_probe.cpp
# defines the class templates' members it uses, the compiled-mode object (ATTNSEL_COMPILED=1)
# only refers to them, the library defines them.
#   cmake -DNM=<nm> -DHEADER_ONLY=<object> -DCOMPILED=<object> -DLIBRARY=<archive> -P this file
foreach(side HEADER_ONLY COMPILED LIBRARY)
  execute_process(COMMAND "${NM}" -C --defined-only "${${side}}" RESULT_VARIABLE rc OUTPUT_VARIABLE defs_${side}
    ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} ${${side}} failed (${rc}): ${err}")
  endif()
endforeach()
foreach(symbol
    "SequentialAttentionSelector<float>::fit_prepared"
    "SequentialAttentionSelector<double>::fit_prepared"
    "Dense<float>::backward"
    "BatchNorm<double>::forward"
    "vtable for attnsel::abi_v0_1::Dense<float>"
    "TransformerLM<float>::backward"
    "KVCache<double, attnsel::abi_v0_1::evict::SelectiveF>::step("
    "detail::omp_prepared<float>"
    "detail::lasso_path_prepared<double>"
    "detail::linear_sa_prepared<float>"
    "void attnsel::abi_v0_1::selective_attention<float>("
    "void attnsel::abi_v0_1::selective_attention_backward<double>(")
  string(FIND "${defs_HEADER_ONLY}" "${symbol}" in_header_only)
  string(FIND "${defs_COMPILED}" "${symbol}" in_compiled)
  string(FIND "${defs_LIBRARY}" "${symbol}" in_library)
  if(in_header_only EQUAL -1)
    message(FATAL_ERROR "the header-only object does not define ${symbol}: the check would prove nothing")
  endif()
  if(NOT in_compiled EQUAL -1)
    message(FATAL_ERROR "the compiled-mode object still defines ${symbol}")
  endif()
  if(in_library EQUAL -1)
    message(FATAL_ERROR "attnsel::compiled does not define ${symbol}")
  endif()
  message(STATUS "${symbol}: defined header-only, left to the library in compiled mode")
endforeach()
# The alignment marker (types.hpp): the library defines the one of its class, its users refer to it.
execute_process(COMMAND "${NM}" -C --undefined-only "${COMPILED}" OUTPUT_VARIABLE undefined_COMPILED)
string(REGEX MATCH "compiled_library_built_for_eigen_max_align_bytes_[0-9]+_static_[0-9]+" marker "${undefined_COMPILED}")
if(NOT marker)
  message(FATAL_ERROR "the compiled-mode object does not refer to an alignment marker")
endif()
string(FIND "${defs_LIBRARY}" "${marker}" marker_in_library)
if(marker_in_library EQUAL -1)
  message(FATAL_ERROR "attnsel::compiled does not define ${marker}, which its users refer to")
endif()
message(STATUS "${marker}: referred to by the compiled-mode object, defined by the library")
