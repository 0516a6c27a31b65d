# Runtime instruction-set dispatch (issue #36; include/attnsel/simd/kernel_table.hpp).
# attnsel_add_kernel_tables(target): the kernels once per instruction set, each an OBJECT library
# whose instruction-set flags are PRIVATE to it (they reach no consumer: attnsel::attnsel and
# attnsel::compiled carry no -m flag), built from nothing but attnsel's and xsimd's headers (no
# Eigen, no OpenMP), their objects added to `target`, plus the choice among them
# (src/dispatch.cpp, baseline flags). tests/kernel_objects.cmake audits the objects.
function(attnsel_add_kernel_tables target)
  set(flags_sse2 "")
  set(flags_avx2 -mavx2 -mfma)
  set(flags_avx512 -mavx512f -mavx512cd -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma)
  foreach(isa sse2 avx2 avx512)
    add_library(attnsel_kernels_${isa} OBJECT "${PROJECT_SOURCE_DIR}/src/kernels_${isa}.cpp")
    target_include_directories(attnsel_kernels_${isa} PRIVATE "${PROJECT_SOURCE_DIR}/include")
    target_link_libraries(attnsel_kernels_${isa} PRIVATE xsimd)
    target_compile_features(attnsel_kernels_${isa} PRIVATE cxx_std_17)
    # -O3 whatever the build type: at -O0 the kernels' inline helpers would be emitted as weak
    # symbols compiled for this instruction set, and the linker may keep those copies for every
    # caller; at -O2 the register tiles (arrays of xsimd batches) are not fully unrolled and live
    # in memory: the product kernel and the attention prefill ran 3.3x slower than at -O3
    # (benchmarks/recipes/dispatch.sh).
    target_compile_options(attnsel_kernels_${isa} PRIVATE ${flags_${isa}} -O3)
    if(isa STREQUAL "avx512" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      target_compile_options(attnsel_kernels_${isa} PRIVATE -Wno-uninitialized -Wno-maybe-uninitialized)
    endif()
    set_target_properties(attnsel_kernels_${isa} PROPERTIES POSITION_INDEPENDENT_CODE ON)
    if(COMMAND attnsel_set_warnings)
      attnsel_set_warnings(attnsel_kernels_${isa})
    endif()
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:attnsel_kernels_${isa}>)
  endforeach()
  target_sources(${target} PRIVATE "${PROJECT_SOURCE_DIR}/src/dispatch.cpp")
  # The library's own sources call the tables (config.hpp): PRIVATE, its users' TUs keep their
  # own flags' kernels for what they instantiate themselves.
  target_compile_definitions(${target} PRIVATE ATTNSEL_DISPATCH=1 INTERFACE ATTNSEL_COMPILED_DISPATCH=1)
endfunction()

# attnsel_add_old_cpu_test(name command...): a test of the dispatch (label `dispatch`) that runs
# `command` on an emulated CPU without AVX. The command names the emulator as ${ATTNSEL_QEMU_X86_64}
# (Debian's qemu-user, installed by scripts/attnsel.sh deps); without it the test fails, saying so.
find_program(ATTNSEL_QEMU_X86_64 qemu-x86_64)
function(attnsel_add_old_cpu_test name)
  if(ATTNSEL_QEMU_X86_64)
    add_test(NAME ${name} COMMAND ${ARGN})
  else()
    add_test(NAME ${name}
      COMMAND ${CMAKE_COMMAND} -E echo "qemu-x86_64 is missing: install qemu-user (bash scripts/attnsel.sh deps)")
    set_tests_properties(${name} PROPERTIES WILL_FAIL ON)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS dispatch)
endfunction()
