# Warning, sanitizer and architecture helpers for attnsel's *own* targets (tests, examples,
# benchmarks). Nothing here reaches the attnsel INTERFACE target or its consumers.
include_guard(GLOBAL)

function(attnsel_set_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
      -Wno-sign-conversion -Wno-missing-field-initializers)
    if(ATTNSEL_WERROR)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  elseif(MSVC)
    target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${ATTNSEL_WERROR}>:/WX>)
  endif()
  if(ATTNSEL_SANITIZE AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    # UBSan without its null, alignment, vptr and object-size checks: they instrument every
    # pointer use of Eigen's expression templates and made the sanitizer build 45 % slower to
    # compile (CI time). A null or misaligned access still faults and ASan reports it; what UBSan
    # keeps (signed overflow, shifts, bounds, bool/enum loads, unreachable, return, VLA bounds)
    # is where index arithmetic can go wrong silently.
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined
      -fno-sanitize=null,alignment,vptr,object-size
      -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
  if(ATTNSEL_SANITIZE_THREAD AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -fsanitize=thread -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=thread)
  endif()
endfunction()

# Builds `target` for the machine it is built on (tests of the wide SIMD paths, benchmarks).
function(attnsel_target_native target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -march=native)  # our tests, examples and benchmarks only
    # GCC 12's AVX-512 intrinsic headers trip these inside inlined xsimd/Eigen code.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      target_compile_options(${target} PRIVATE -Wno-uninitialized -Wno-maybe-uninitialized)
    endif()
  endif()
endfunction()
