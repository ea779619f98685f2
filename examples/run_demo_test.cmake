# Runs stable_demo (DEMO) with ARGS. Passes only if it exits with status 0,
# its summary says that every byte was verified, (if MIN_RECONNECTS is set)
# the streams went through at least that many reconnects, and (if VERSIONS is
# set, e.g. "1,2") clients of each of those protocol versions took part.
execute_process(COMMAND ${DEMO} ${ARGS}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE err)
message("${out}")
if(err)
  message("stderr:\n${err}")
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "stable_demo exited with status ${rc}")
endif()
if(NOT out MATCHES "PASS: every byte verified, ([0-9]+) reconnects")
  message(FATAL_ERROR "stable_demo did not report every byte verified")
endif()
if(DEFINED MIN_RECONNECTS AND CMAKE_MATCH_1 LESS MIN_RECONNECTS)
  message(FATAL_ERROR "only ${CMAKE_MATCH_1} reconnects (expected at least ${MIN_RECONNECTS})")
endif()
if(DEFINED VERSIONS)
  string(REPLACE "," ";" _versions "${VERSIONS}")
  foreach(v IN LISTS _versions)
    if(NOT out MATCHES "version ${v}: [1-9][0-9]* clients")
      message(FATAL_ERROR "no client of protocol version ${v} took part")
    endif()
  endforeach()
endif()
