# Installs the build tree's attnsel into a fresh staging prefix (used by the find_package test).
file(REMOVE_RECURSE "${STAGE}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${STAGE}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})")
endif()
foreach(f include/attnsel/attnsel.hpp share/cmake/attnsel/attnselConfig.cmake
          share/cmake/attnsel/attnselConfigVersion.cmake share/cmake/attnsel/attnselTargets.cmake)
  if(NOT EXISTS "${STAGE}/${f}")
    message(FATAL_ERROR "the install is missing ${f}")
  endif()
endforeach()
