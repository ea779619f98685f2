# The C ABI as C programs see it. Included from tests/CMakeLists.txt, where it
# builds tests/c_api_test.c (the legacy headers) and tests/c_ext_test.c (the
# extension header) as C99 against the shared and the static library and
# registers the checks below. The same file is also a `cmake -P` script
# (SC_CHECK=exports, static_visibility or plain_cc) that those checks run.

get_filename_component(_sc_tests_dir "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

if(CMAKE_SCRIPT_MODE_FILE)
  # ---------------------------------------------------------------- script mode
  cmake_minimum_required(VERSION 3.16)

  include(${CMAKE_CURRENT_LIST_DIR}/script_run.cmake)

  if(SC_CHECK STREQUAL "exports")
    # The shared library's dynamic symbol table: the C API and nothing else.
    if(NOT NM)
      find_program(NM nm)
    endif()
    if(NOT NM OR NOT EXISTS "${LIB}")
      message(FATAL_ERROR "usage: cmake -DSC_CHECK=exports -DLIB=<libstableconn.so> [-DNM=<nm>] -P c_abi.cmake")
    endif()
    execute_process(COMMAND "${NM}" -D --defined-only "${LIB}"
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${NM} -D --defined-only ${LIB} failed: ${err}")
    endif()
    string(REPLACE "\n" ";" lines "${out}")
    set(found "")
    set(bad "")
    foreach(line IN LISTS lines)
      if(line STREQUAL "")
        continue()
      endif()
      if(NOT line MATCHES "^[0-9a-fA-F]* *([A-Za-z?]) +([^ @]+)")
        list(APPEND bad "unparsed line: ${line}")
        continue()
      endif()
      set(type "${CMAKE_MATCH_1}")
      set(name "${CMAKE_MATCH_2}")
      if(type STREQUAL "A" AND name MATCHES "^[A-Za-z][A-Za-z0-9_.]*$")
        continue()  # a symbol version node (from the version script), not a symbol
      endif()
      if(NOT name MATCHES "^(cp|cc|sc)_[A-Za-z0-9_]+$")
        if(name MATCHES "^_Z")
          list(APPEND bad "C++ symbol: ${name}")
        else()
          list(APPEND bad "not part of the C API: ${name}")
        endif()
      elseif(NOT type STREQUAL "T")
        list(APPEND bad "not a function (nm type ${type}): ${name}")
      endif()
      list(APPEND found "${name}")
    endforeach()
    foreach(name
        cp_new cp_delete cp_timeout cp_recv cp_send cp_poll
        cc_open cc_close cc_handshake cc_send cc_recv cc_poll
        sc_version sc_strerror sc_reason_string sc_testing_set_random
        sc_pool_set_handshake_timeout sc_pool_set_reuse_timeout sc_pool_set_window
        sc_pool_set_max_handshakes sc_pool_set_max_sessions sc_pool_set_max_bytes sc_pool_socket_opened sc_pool_set_clock sc_pool_enable_events sc_pool_poll
        sc_pool_get_stats sc_pool_session_info sc_pool_session_backlog
        sc_client_set_window sc_client_enable_events sc_client_poll sc_client_get_stats
        sc_client_backlog sc_pool_poll_sized sc_client_poll_sized
        sc_keypair_generate sc_public_key sc_pool_set_static_key sc_pool_set_server_id
        sc_pool_set_versions sc_client_open_v2 sc_client_close_session sc_client_ping
        sc_client_set_clock)
      if(NOT name IN_LIST found)
        list(APPEND bad "missing: ${name}")
      endif()
    endforeach()
    if(bad)
      string(REPLACE ";" "\n  " bad "${bad}")
      message(FATAL_ERROR "${LIB} exports the wrong symbols:\n  ${bad}\nnm output:\n${out}")
    endif()
    list(LENGTH found n)
    message(STATUS "${LIB}: exactly the C API is exported (${n} functions)")

  elseif(SC_CHECK STREQUAL "static_visibility")
    # The static library's C functions carry no visibility of their own
    # (SC_STATIC): they keep the hidden default, and whatever links the
    # archive decides what it exports.
    if(NOT READELF OR NOT EXISTS "${LIB}")
      message(FATAL_ERROR "usage: cmake -DSC_CHECK=static_visibility -DLIB=<libstableconn.a> "
        "-DREADELF=<readelf> -P c_abi.cmake")
    endif()
    execute_process(COMMAND "${READELF}" -sW "${LIB}"
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${READELF} -sW ${LIB} failed: ${err}")
    endif()
    string(REPLACE "\n" ";" lines "${out}")
    set(hidden "")
    set(bad "")
    foreach(line IN LISTS lines)
      # Num: Value Size Type Bind Vis Ndx Name, for the functions defined here
      if(line MATCHES "FUNC +GLOBAL +([A-Z]+) +[0-9]+ +((cp|cc|sc)_[A-Za-z0-9_]+)$")
        if(CMAKE_MATCH_1 STREQUAL "HIDDEN")
          list(APPEND hidden "${CMAKE_MATCH_2}")
        else()
          list(APPEND bad "${CMAKE_MATCH_2} (${CMAKE_MATCH_1})")
        endif()
      endif()
    endforeach()
    foreach(name cp_new cp_poll cc_open cc_poll sc_version sc_pool_poll)
      if(NOT name IN_LIST hidden AND NOT "${bad}" MATCHES "(^|;)${name} ")
        list(APPEND bad "${name} (not found)")
      endif()
    endforeach()
    if(bad)
      string(REPLACE ";" "\n  " bad "${bad}")
      message(FATAL_ERROR "${LIB}: these C functions are not hidden in the archive:\n  ${bad}")
    endif()
    list(LENGTH hidden n)
    message(STATUS "${LIB}: its ${n} C functions keep the hidden default visibility")

  elseif(SC_CHECK STREQUAL "plain_cc")
    # What a C user types: `cc prog.c -I<root> -L<dir> -lstableconn` for the
    # shared library, `cc prog.c libstableconn.a -lmd <C++ runtime>` for the
    # static one (-lstdc++ with gcc, -lc++ with clang and libc++; -lcrypto
    # too with version 2).
    foreach(v CC SRC ROOT LIBDIR STATIC_LIB OUT)
      if(NOT ${v})
        message(FATAL_ERROR "plain_cc: ${v} is not set")
      endif()
    endforeach()
    # The build's own C flags, such as -m32 in a 32-bit build.
    separate_arguments(flags UNIX_COMMAND "${FLAGS}")
    if(SANITIZE)
      # The libraries were built with sanitizers; their runtime must be linked in.
      list(APPEND flags -fsanitize=address,undefined)
    endif()
    sc_run("cc with -lstableconn"
      "${CC}" ${flags} "${SRC}" "-I${ROOT}" "-L${LIBDIR}" -lstableconn -o "${OUT}_shared")
    separate_arguments(emulator UNIX_COMMAND "${EMULATOR}")
    sc_run("run against the shared library"
      "${CMAKE_COMMAND}" -E env "LD_LIBRARY_PATH=${LIBDIR}" ${emulator} "${OUT}_shared")
    separate_arguments(cxx_runtime UNIX_COMMAND "${CXX_RUNTIME}")
    # With version 2 built in, libcrypto as well.
    set(crypto "")
    if(WITH_V2)
      set(crypto -lcrypto)
    endif()
    sc_run("cc with libstableconn.a -lmd ${crypto} ${CXX_RUNTIME}"
      "${CC}" ${flags} "${SRC}" "-I${ROOT}" "${STATIC_LIB}" -lmd ${crypto} ${cxx_runtime} -o "${OUT}_static")
    sc_run("run linked statically" ${emulator} "${OUT}_static")

  else()
    message(FATAL_ERROR "c_abi.cmake: unknown SC_CHECK '${SC_CHECK}' (exports, static_visibility or plain_cc)")
  endif()
  return()
endif()

# ------------------------------------------------------------------ build mode

set(_sc_c_warnings
  $<$<C_COMPILER_ID:GNU,Clang,AppleClang>:-Wall -Wextra -Wpedantic
    -Werror=incompatible-pointer-types -Werror=implicit-function-declaration -Werror=int-conversion>)

# Each program against the shared library, as `-lstableconn`, and against the
# static one, whose link interface names libmd and the C++ runtime: the C
# compiler drives the link, so the runtime must come from there.
foreach(_sc_prog c_api c_ext)
  add_executable(${_sc_prog}_test_shared ${_sc_tests_dir}/${_sc_prog}_test.c)
  target_link_libraries(${_sc_prog}_test_shared PRIVATE stableconn)
  add_executable(${_sc_prog}_test_static ${_sc_tests_dir}/${_sc_prog}_test.c)
  target_link_libraries(${_sc_prog}_test_static PRIVATE stableconn_static)
  foreach(_sc_link shared static)
    set_target_properties(${_sc_prog}_test_${_sc_link} PROPERTIES
      C_STANDARD 99 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF LINKER_LANGUAGE C)
    target_compile_options(${_sc_prog}_test_${_sc_link} PRIVATE ${_sc_c_warnings})
    add_test(NAME ${_sc_prog}_${_sc_link} COMMAND ${_sc_prog}_test_${_sc_link})
  endforeach()
endforeach()
target_compile_definitions(c_ext_test_shared PRIVATE SC_TEST_EXPECT_VERSION="${PROJECT_VERSION}")
target_compile_definitions(c_ext_test_static PRIVATE SC_TEST_EXPECT_VERSION="${PROJECT_VERSION}")

# The static library's C functions are not marked for export.
if(CMAKE_READELF)
  set(SC_READELF "${CMAKE_READELF}")
else()
  find_program(SC_READELF readelf)
  mark_as_advanced(SC_READELF)
endif()
if(SC_READELF)
  add_test(NAME c_abi_static_visibility
    COMMAND ${CMAKE_COMMAND} -DSC_CHECK=static_visibility
      -DLIB=$<TARGET_FILE:stableconn_static> -DREADELF=${SC_READELF}
      -P ${CMAKE_CURRENT_LIST_FILE})
else()
  message(STATUS "c_abi_static_visibility left out: readelf not found")
endif()

# The shared library exports cp_*, cc_* and sc_* functions only.
add_test(NAME c_abi_exports
  COMMAND ${CMAKE_COMMAND} -DSC_CHECK=exports
    -DLIB=$<TARGET_FILE:stableconn> -DNM=${CMAKE_NM}
    -P ${CMAKE_CURRENT_LIST_FILE})

# A C program builds and runs with nothing but the compiler and the library.
add_test(NAME c_abi_plain_cc
  COMMAND ${CMAKE_COMMAND} -DSC_CHECK=plain_cc
    -DCC=${CMAKE_C_COMPILER}
    -DSRC=${_sc_tests_dir}/c_api_test.c
    "-DCXX_RUNTIME=${SC_CXX_RUNTIME_LDFLAGS}"
    -DROOT=${PROJECT_SOURCE_DIR}
    -DLIBDIR=$<TARGET_LINKER_FILE_DIR:stableconn>
    -DSTATIC_LIB=$<TARGET_FILE:stableconn_static>
    -DOUT=${CMAKE_CURRENT_BINARY_DIR}/c_api_test_plain
    -DSANITIZE=${SC_SANITIZE}
    -DWITH_V2=${SC_WITH_V2}
    "-DFLAGS=${CMAKE_C_FLAGS}"
    "-DEMULATOR=${SC_TEST_EMULATOR}"
    -P ${CMAKE_CURRENT_LIST_FILE})
