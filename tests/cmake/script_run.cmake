# For the test scripts that run as `cmake -P`: sc_run(<what> <command...>)
# runs a command and, when it fails, stops the test with the command line and
# everything it printed. Its standard output is left in sc_run_output.
function(sc_run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "${what} failed (${rc}):\n  ${cmd}\n${out}${err}")
  endif()
  message(STATUS "${what}: ok\n${out}")
  set(sc_run_output "${out}" PARENT_SCOPE)
endfunction()
