# feature_selection --output: the selection is written as JSON with its feature names, and
# --no-picture writes no PNG (even with --picture given).
file(REMOVE_RECURSE "${DIR}")
file(MAKE_DIRECTORY "${DIR}")
execute_process(COMMAND "${PROGRAM}" --quiet --method omp --task regression --data diabetes --k 3 --epochs 2
    --output "${DIR}/selection.json" --no-picture --picture "${DIR}/never.png"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "exit status ${rc}\n${out}\n${err}")
endif()
execute_process(COMMAND "${PROGRAM}" --quiet --k 4 --epochs 2 --output "${DIR}/digits.json" --no-picture
    --picture "${DIR}/never.png"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out2 ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "exit status ${rc}\n${out2}\n${err}")
endif()
if(EXISTS "${DIR}/never.png")
  message(FATAL_ERROR "--no-picture wrote ${DIR}/never.png")
endif()
foreach(f selection digits)
  file(READ "${DIR}/${f}.json" json)
  string(JSON format GET "${json}" format)
  string(JSON n LENGTH "${json}" features)
  string(JSON names LENGTH "${json}" feature_names)
  if(NOT format STREQUAL "attnsel.selection" OR NOT n EQUAL names)
    message(FATAL_ERROR "${f}.json: format '${format}', ${n} features, ${names} names:\n${json}")
  endif()
  set(${f}_n ${n})
endforeach()
# The printed selection is the saved one, names and order.
string(JSON first GET "${json}" feature_names 0)
string(JSON first_index GET "${json}" features 0)
if(NOT selection_n EQUAL 3 OR NOT digits_n EQUAL 4 OR NOT out2 MATCHES "1\\. ${first} ")
  message(FATAL_ERROR "expected 3 and 4 features, the first printed as ${first}; got ${selection_n}, ${digits_n}:\n${out2}")
endif()
if(NOT out2 MATCHES "indices: ${first_index} ")
  message(FATAL_ERROR "the first saved index ${first_index} is not the first printed:\n${out2}")
endif()
message(STATUS "saved ${selection_n} and ${digits_n} features; first of digits: ${first} (${first_index})")
