# The main job on a CPU without AVX (issue #36): feature_selection, linked to attnsel::compiled,
# run under qemu-user's Nehalem model (SSE4.2 at most) must not die of an illegal instruction,
# must say it ran the SSE2 kernels, and must select what the same program selects on this machine
# with ATTNSEL_ISA=sse2 (the same table: the same bits), line for line apart from the timing.
#   cmake -DQEMU=<qemu-x86_64> -DPROGRAM=<feature_selection> -P this file
set(args --quiet --k 10 --seed 1 --epochs 20 --no-picture)
execute_process(COMMAND ${CMAKE_COMMAND} -E env ATTNSEL_ISA=sse2 OMP_NUM_THREADS=2 "${PROGRAM}" ${args}
  RESULT_VARIABLE rc_native OUTPUT_VARIABLE native ERROR_VARIABLE err_native)
if(NOT rc_native EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} failed (${rc_native}): ${err_native}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=ATTNSEL_ISA OMP_NUM_THREADS=2 "${QEMU}" -cpu Nehalem "${PROGRAM}"
  ${args} RESULT_VARIABLE rc_old OUTPUT_VARIABLE old ERROR_VARIABLE err_old)
if(NOT rc_old EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} under ${QEMU} -cpu Nehalem failed (${rc_old}): ${err_old}\n${old}")
endif()
if(NOT old MATCHES "selected in [0-9.]+ s on the sse2 kernels")
  message(FATAL_ERROR "under -cpu Nehalem the main job does not say it ran the sse2 kernels:\n${old}")
endif()
foreach(side native old)
  string(REGEX REPLACE "selected in [0-9.]+ s on the [a-z0-9_]+ kernels, " "selected on " ${side} "${${side}}")
endforeach()
if(NOT native STREQUAL old)
  message(FATAL_ERROR "the main job selects differently under -cpu Nehalem:\n--- native, ATTNSEL_ISA=sse2\n${native}--- qemu -cpu Nehalem\n${old}")
endif()
message(STATUS "the same selection on the emulated CPU without AVX:\n${old}")
