# An external project against the installed copy, the four ways users link it:
# find_package with the shared or the static library, and pkg-config with
# each. Included from tests/CMakeLists.txt after install.cmake; each test runs
# this file as a `cmake -P` script:
#   cmake -DMODE=<find_package|pkgconfig> -DLINK=<shared|static> -DPREFIX=<p>
#         -DLIBDIR=<p>/lib -DWORK=<dir> -DCC=<c compiler> [-DFLAGS=..]
#         [-DGENERATOR=..] [-DTOOLCHAIN=..] [-DEMULATOR=..] -P consumer.cmake

if(CMAKE_SCRIPT_MODE_FILE)
  cmake_minimum_required(VERSION 3.16)
  set(source_dir "${CMAKE_CURRENT_LIST_DIR}/consumer")

  include(${CMAKE_CURRENT_LIST_DIR}/script_run.cmake)

  separate_arguments(flags UNIX_COMMAND "${FLAGS}")
  file(REMOVE_RECURSE "${WORK}")
  file(MAKE_DIRECTORY "${WORK}")

  if(MODE STREQUAL "other_major")
    # The package promises compatibility within its major version only.
    math(EXPR next_major "${SOVERSION} + 1")
    execute_process(COMMAND "${CMAKE_COMMAND}" -S "${source_dir}" -B "${WORK}"
        "-DCMAKE_PREFIX_PATH=${PREFIX}" "-DSC_WANT_VERSION=${next_major}.0" "-DCMAKE_C_COMPILER=${CC}"
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(rc EQUAL 0)
      message(FATAL_ERROR "find_package(stableconn ${next_major}.0) accepted version ${VERSION}")
    endif()
    if(NOT "${out}${err}" MATCHES "compatible with requested version")
      message(FATAL_ERROR "configuring failed, but not for the version:\n${out}${err}")
    endif()
    message(STATUS "find_package(stableconn ${next_major}.0) refuses ${VERSION}, as it should")
    return()
  endif()

  if(MODE STREQUAL "find_package" OR MODE STREQUAL "add_subdirectory")
    set(args -S "${source_dir}" -B "${WORK}" "-DSC_LINK=${LINK}"
      "-DCMAKE_C_COMPILER=${CC}" "-DCMAKE_C_FLAGS=${FLAGS}")
    if(MODE STREQUAL "add_subdirectory")
      list(APPEND args "-DSC_SOURCE_DIR=${SOURCE_ROOT}" "-DCMAKE_CXX_COMPILER=${CXX}"
        "-DCMAKE_CXX_FLAGS=${CXXFLAGS}" "-DSC_SANITIZE=${SANITIZE}")
    else()
      list(APPEND args "-DCMAKE_PREFIX_PATH=${PREFIX}")
    endif()
    if(GENERATOR)
      list(APPEND args -G "${GENERATOR}")
    endif()
    if(TOOLCHAIN)
      list(APPEND args "-DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN}")
    endif()
    sc_run("configure the consumer (${MODE})" "${CMAKE_COMMAND}" ${args})
    sc_run("build the consumer" "${CMAKE_COMMAND}" --build "${WORK}" -j2)
    set(program "${WORK}/consumer")

  elseif(MODE STREQUAL "pkgconfig")
    find_program(PKG_CONFIG NAMES pkg-config pkgconf REQUIRED)
    # Only the installed copy's .pc file, none of the system's.
    set(ENV{PKG_CONFIG_PATH} "${LIBDIR}/pkgconfig")
    set(ENV{PKG_CONFIG_LIBDIR} "${LIBDIR}/pkgconfig")
    sc_run("pkg-config --modversion" "${PKG_CONFIG}" --modversion stableconn)
    string(STRIP "${sc_run_output}" version)
    if(NOT version STREQUAL VERSION)
      message(FATAL_ERROR "pkg-config reports version '${version}', the build is ${VERSION}")
    endif()
    sc_run("pkg-config --cflags" "${PKG_CONFIG}" --cflags stableconn)
    separate_arguments(cflags UNIX_COMMAND "${sc_run_output}")
    set(program "${WORK}/consumer")
    if(LINK STREQUAL "static")
      # The usual way to take the archive while libc stays shared.
      sc_run("pkg-config --static --libs" "${PKG_CONFIG}" --static --libs stableconn)
      separate_arguments(libs UNIX_COMMAND "${sc_run_output}")
      sc_run("cc with pkg-config --static"
        "${CC}" ${flags} "${source_dir}/consumer.c" ${cflags} -Wl,-Bstatic ${libs} -Wl,-Bdynamic -ldl
        -o "${program}")
    else()
      sc_run("pkg-config --libs" "${PKG_CONFIG}" --libs stableconn)
      separate_arguments(libs UNIX_COMMAND "${sc_run_output}")
      sc_run("pkg-config --variable=libdir" "${PKG_CONFIG}" --variable=libdir stableconn)
      string(STRIP "${sc_run_output}" pc_libdir)
      sc_run("cc with pkg-config"
        "${CC}" ${flags} "${source_dir}/consumer.c" ${cflags} ${libs} "-Wl,-rpath,${pc_libdir}" -ldl
        -o "${program}")
    endif()

  else()
    message(FATAL_ERROR "consumer.cmake: MODE must be find_package or pkgconfig")
  endif()

  separate_arguments(emulator UNIX_COMMAND "${EMULATOR}")
  sc_run("run the consumer" ${emulator} "${program}")
  if(NOT sc_run_output MATCHES "cp_new from: ([^\n]*)")
    message(FATAL_ERROR "the consumer did not say where cp_new came from")
  endif()
  get_filename_component(origin "${CMAKE_MATCH_1}" REALPATH)
  get_filename_component(libdir_real "${LIBDIR}" REALPATH)
  get_filename_component(work_real "${WORK}" REALPATH)
  if(LINK STREQUAL "static")
    if(origin MATCHES "libstableconn")
      message(FATAL_ERROR "linked statically, yet cp_new came from ${origin}")
    endif()
  elseif(MODE STREQUAL "add_subdirectory")
    if(NOT origin MATCHES "^${work_real}/stableconn/libstableconn\\.so")
      message(FATAL_ERROR "cp_new came from ${origin}, not from the library built in ${work_real}")
    endif()
  elseif(NOT origin MATCHES "^${libdir_real}/libstableconn\\.so")
    message(FATAL_ERROR "cp_new came from ${origin}, not from the installed copy in ${libdir_real}")
  endif()
  # The shared library is named by its SONAME (the major version) in the program.
  find_program(READELF readelf)
  if(READELF)
    sc_run("readelf -d" "${READELF}" -d "${program}")
    if(LINK STREQUAL "static" AND sc_run_output MATCHES "libstableconn")
      message(FATAL_ERROR "the statically linked program still needs the shared library:\n${sc_run_output}")
    elseif(LINK STREQUAL "shared" AND NOT sc_run_output MATCHES "NEEDED[^\n]*\\[libstableconn\\.so\\.${SOVERSION}\\]")
      message(FATAL_ERROR "the program does not need libstableconn.so.${SOVERSION}:\n${sc_run_output}")
    endif()
  endif()
  return()
endif()

# ------------------------------------------------------------------ build mode

# The consumer is configured from another directory: name the toolchain file
# (if any) by its absolute path, found as CMake found it.
set(_sc_toolchain "")
if(CMAKE_TOOLCHAIN_FILE)
  foreach(_sc_base "${CMAKE_BINARY_DIR}" "${PROJECT_SOURCE_DIR}")
    get_filename_component(_sc_candidate "${CMAKE_TOOLCHAIN_FILE}" ABSOLUTE BASE_DIR "${_sc_base}")
    if(NOT _sc_toolchain AND EXISTS "${_sc_candidate}")
      set(_sc_toolchain "${_sc_candidate}")
    endif()
  endforeach()
endif()

if(SC_SANITIZE)
  # The installed libraries carry sanitizer instrumentation; so must the users.
  set(_sc_consumer_flags "${CMAKE_C_FLAGS} -fsanitize=address,undefined")
else()
  set(_sc_consumer_flags "${CMAKE_C_FLAGS}")
endif()
add_test(NAME consumer_find_package_other_major
  COMMAND ${CMAKE_COMMAND} -DMODE=other_major -DPREFIX=${SC_INSTALL_TEST_PREFIX}
    -DWORK=${CMAKE_CURRENT_BINARY_DIR}/consumer-other-major -DCC=${CMAKE_C_COMPILER}
    -DVERSION=${PROJECT_VERSION} -DSOVERSION=${PROJECT_VERSION_MAJOR}
    -P ${CMAKE_CURRENT_LIST_FILE})
set_tests_properties(consumer_find_package_other_major PROPERTIES FIXTURES_REQUIRED sc_installed)
# The source tree as a subdirectory of the user's project: builds the library
# again, so only once, with the shared library.
add_test(NAME consumer_add_subdirectory_shared
  COMMAND ${CMAKE_COMMAND} -DMODE=add_subdirectory -DLINK=shared
    -DSOURCE_ROOT=${PROJECT_SOURCE_DIR}
    -DWORK=${CMAKE_CURRENT_BINARY_DIR}/consumer-add_subdirectory-shared
    -DCC=${CMAKE_C_COMPILER} -DCXX=${CMAKE_CXX_COMPILER} "-DFLAGS=${_sc_consumer_flags}"
    "-DCXXFLAGS=${CMAKE_CXX_FLAGS}" -DSANITIZE=${SC_SANITIZE}
    "-DGENERATOR=${CMAKE_GENERATOR}" "-DTOOLCHAIN=${_sc_toolchain}"
    "-DEMULATOR=${SC_TEST_EMULATOR}"
    -DVERSION=${PROJECT_VERSION} -DSOVERSION=${PROJECT_VERSION_MAJOR}
    -P ${CMAKE_CURRENT_LIST_FILE})
set_tests_properties(consumer_add_subdirectory_shared PROPERTIES TIMEOUT 600)
foreach(_sc_mode find_package pkgconfig)
  foreach(_sc_link shared static)
    add_test(NAME consumer_${_sc_mode}_${_sc_link}
      COMMAND ${CMAKE_COMMAND}
        -DMODE=${_sc_mode} -DLINK=${_sc_link}
        -DPREFIX=${SC_INSTALL_TEST_PREFIX} -DLIBDIR=${SC_INSTALL_TEST_LIBDIR}
        -DWORK=${CMAKE_CURRENT_BINARY_DIR}/consumer-${_sc_mode}-${_sc_link}
        -DCC=${CMAKE_C_COMPILER} "-DFLAGS=${_sc_consumer_flags}"
        "-DGENERATOR=${CMAKE_GENERATOR}" "-DTOOLCHAIN=${_sc_toolchain}"
        "-DEMULATOR=${SC_TEST_EMULATOR}"
        -DVERSION=${PROJECT_VERSION} -DSOVERSION=${PROJECT_VERSION_MAJOR}
        -P ${CMAKE_CURRENT_LIST_FILE})
    set_tests_properties(consumer_${_sc_mode}_${_sc_link} PROPERTIES
      FIXTURES_REQUIRED sc_installed RESOURCE_LOCK consumer_${_sc_mode}_${_sc_link})
  endforeach()
endforeach()
