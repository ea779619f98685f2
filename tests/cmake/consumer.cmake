# An external project against the installed copy, the four ways users link it:
# find_package with the shared or the static library, and pkg-config with
# each. Included from tests/CMakeLists.txt after install.cmake; each test runs
# this file as a `cmake -P` script:
#   cmake -DMODE=<find_package|pkgconfig> -DLINK=<shared|static> -DPREFIX=<p>
#         -DLIBDIR=<p>/lib -DWORK=<dir> -DCC=<c compiler> [-DFLAGS=..]
#         [-DGENERATOR=..] [-DTOOLCHAIN=..] [-DEMULATOR=..]
#         [-DCXX_RUNTIME=libstdc++|libc++ -DREADELF=.. -DNM=..] -P consumer.cmake
# With CXX_RUNTIME, the program (linked statically) or the library it loads
# must use that C++ runtime and not the other one.
#   cmake -DMODE=package -DLIBDIR=<p>/lib -DCXX_RUNTIME_LIBS=<names>
#         -DCXX_RUNTIME_LDFLAGS=<-l options> -P consumer.cmake
# checks what the installed package says the static library links with.

if(CMAKE_SCRIPT_MODE_FILE)
  cmake_minimum_required(VERSION 3.16)
  get_filename_component(source_dir "${CMAKE_CURRENT_LIST_DIR}/../consumer" ABSOLUTE)

  include(${CMAKE_CURRENT_LIST_DIR}/script_run.cmake)

  separate_arguments(flags UNIX_COMMAND "${FLAGS}")
  file(REMOVE_RECURSE "${WORK}")
  file(MAKE_DIRECTORY "${WORK}")

  if(MODE STREQUAL "package")
    # The static library's link interface, as the CMake package and the
    # pkg-config file give it: libmd and the C++ runtime, named (-l) rather
    # than located, so that the user's linker finds them.
    set(targets_file "${LIBDIR}/cmake/stableconn/stableconnTargets.cmake")
    file(READ "${targets_file}" targets)
    if(NOT targets MATCHES "set_target_properties\\(stableconn::stableconn_static PROPERTIES[^)]*INTERFACE_LINK_LIBRARIES \"([^\"]*)\"")
      message(FATAL_ERROR "${targets_file} gives stableconn::stableconn_static no INTERFACE_LINK_LIBRARIES")
    endif()
    set(link_interface "${CMAKE_MATCH_1}")
    # With version 2, libcrypto as the imported target the package finds.
    set(expected md)
    if(WITH_V2)
      list(APPEND expected OpenSSL::Crypto)
    endif()
    list(APPEND expected ${CXX_RUNTIME_LIBS})
    if(NOT link_interface STREQUAL "${expected}")
      message(FATAL_ERROR "the installed stableconn::stableconn_static links '${link_interface}', "
        "not '${expected}' (libmd and the C++ runtime by name, libcrypto as OpenSSL::Crypto)")
    endif()
    file(STRINGS "${LIBDIR}/pkgconfig/stableconn.pc" requires_private REGEX "^Requires\\.private:")
    set(expected_requires "Requires.private: ")
    if(WITH_V2)
      string(APPEND expected_requires "libcrypto >= 3.0")
    endif()
    if(NOT requires_private STREQUAL expected_requires)
      message(FATAL_ERROR "stableconn.pc says '${requires_private}', not '${expected_requires}'")
    endif()
    set(pc_file "${LIBDIR}/pkgconfig/stableconn.pc")
    file(STRINGS "${pc_file}" libs_private REGEX "^Libs\\.private:")
    set(expected_pc "-lmd ${CXX_RUNTIME_LDFLAGS}")
    if(NOT "m" IN_LIST CXX_RUNTIME_LIBS)
      string(APPEND expected_pc " -lm")
    endif()
    string(REGEX REPLACE " +" " " expected_pc "${expected_pc}")
    if(NOT libs_private STREQUAL "Libs.private: ${expected_pc}")
      message(FATAL_ERROR "${pc_file} says '${libs_private}', not 'Libs.private: ${expected_pc}'")
    endif()
    message(STATUS "the installed package links the static library with: ${link_interface} (pkg-config: ${expected_pc})")
    return()
  endif()

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
    # Only the installed copy's .pc file and those of its dependencies (the
    # target's libcrypto), none of the system's others.
    set(ENV{PKG_CONFIG_PATH} "${LIBDIR}/pkgconfig")
    set(ENV{PKG_CONFIG_LIBDIR} "${LIBDIR}/pkgconfig")
    if(DEP_PC_DIR)
      set(ENV{PKG_CONFIG_LIBDIR} "${LIBDIR}/pkgconfig:${DEP_PC_DIR}")
    endif()
    sc_run("pkg-config --modversion" "${PKG_CONFIG}" --modversion stableconn)
    string(STRIP "${sc_run_output}" version)
    if(NOT version STREQUAL VERSION)
      message(FATAL_ERROR "pkg-config reports version '${version}', the build is ${VERSION}")
    endif()
    sc_run("pkg-config --cflags" "${PKG_CONFIG}" --cflags stableconn)
    separate_arguments(cflags UNIX_COMMAND "${sc_run_output}")
    set(program "${WORK}/consumer")
    if(LINK STREQUAL "static")
      # The usual way to take the archive while the C library stays shared:
      # glibc's own libraries (libm, which code built against libc++ calls)
      # go after -Bdynamic, since glibc's static archives do not go into a
      # dynamically linked program.
      sc_run("pkg-config --static --libs" "${PKG_CONFIG}" --static --libs stableconn)
      separate_arguments(pc_libs UNIX_COMMAND "${sc_run_output}")
      set(libs "")
      set(libc_libs "")
      foreach(item IN LISTS pc_libs)
        if(item MATCHES "^-l(m|dl|pthread|rt)$")
          list(APPEND libc_libs "${item}")
        else()
          list(APPEND libs "${item}")
        endif()
      endforeach()
      sc_run("cc with pkg-config --static"
        "${CC}" ${flags} "${source_dir}/consumer.c" ${cflags} -Wl,-Bstatic ${libs} -Wl,-Bdynamic ${libc_libs} -ldl
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
  # The version, written once in the project() call, reaches both the
  # installed header and the library.
  foreach(what header library)
    if(NOT sc_run_output MATCHES "${what} version ([^\n]*)")
      message(FATAL_ERROR "the consumer did not print its ${what} version")
    elseif(NOT CMAKE_MATCH_1 STREQUAL VERSION)
      message(FATAL_ERROR "the consumer's ${what} version is '${CMAKE_MATCH_1}', the build is ${VERSION}")
    endif()
  endforeach()
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

  if(CXX_RUNTIME)
    # Which C++ runtime the code of the library runs with: the one linked into
    # the program (static) or the one the shared library needs. libstdc++ is
    # named libstdc++.so, asks for GLIBCXX_ symbol versions, or (linked in)
    # leaves its std::__throw_length_error helpers (libc++ has its own in
    # std::__1); libc++ is named libc++.so or leaves symbols of its std::__1
    # namespace.
    if(NOT READELF OR NOT NM)
      message(FATAL_ERROR "CXX_RUNTIME is set: readelf and nm are needed (READELF, NM)")
    endif()
    if(LINK STREQUAL "static")
      set(binary "${program}")
    else()
      set(binary "${origin}")
    endif()
    sc_run("readelf -dV" "${READELF}" -dVW "${binary}")
    set(elf "${sc_run_output}")
    execute_process(COMMAND "${NM}" "${binary}" RESULT_VARIABLE rc OUTPUT_VARIABLE symbols ERROR_QUIET)
    if(NOT rc EQUAL 0)
      set(symbols "")
    endif()
    set(uses "")
    if(elf MATCHES "NEEDED[^\n]*\\[libstdc\\+\\+\\.so" OR elf MATCHES "GLIBCXX_[0-9]"
        OR symbols MATCHES "[ \n]_ZSt(20__throw_length_error|19__throw_logic_error|20__throw_out_of_range)PKc")
      list(APPEND uses libstdc++)
    endif()
    if(elf MATCHES "NEEDED[^\n]*\\[libc\\+\\+(_shared)?\\.so" OR symbols MATCHES "[ \n]_ZN[KS]*t3__1")
      list(APPEND uses libc++)
    endif()
    if(NOT uses STREQUAL CXX_RUNTIME)
      message(FATAL_ERROR "${binary} should use ${CXX_RUNTIME} alone, but the C++ runtimes found "
        "in it are: '${uses}'\n${elf}")
    endif()
    message(STATUS "${binary} uses ${CXX_RUNTIME}, and no other C++ runtime")
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

# The C++ runtime the programs must end up with (cmake/sc_cxx_runtime.cmake),
# checked with readelf and nm where the toolchain has them.
set(_sc_runtime_args "")
if(SC_CXX_RUNTIME MATCHES "^lib(std)?c\\+\\+$")
  set(_sc_readelf "${CMAKE_READELF}")
  if(NOT _sc_readelf)
    find_program(_sc_readelf readelf)
  endif()
  if(_sc_readelf AND CMAKE_NM)
    set(_sc_runtime_args -DCXX_RUNTIME=${SC_CXX_RUNTIME} -DREADELF=${_sc_readelf} -DNM=${CMAKE_NM})
  endif()
endif()

# What the installed package says the static library links with.
add_test(NAME consumer_package_link_interface
  COMMAND ${CMAKE_COMMAND} -DMODE=package -DLIBDIR=${SC_INSTALL_TEST_LIBDIR}
    "-DCXX_RUNTIME_LIBS=${SC_CXX_RUNTIME_LIBS}" "-DCXX_RUNTIME_LDFLAGS=${SC_CXX_RUNTIME_LDFLAGS}"
    -DWITH_V2=${SC_WITH_V2} -P ${CMAKE_CURRENT_LIST_FILE})
set_tests_properties(consumer_package_link_interface PROPERTIES FIXTURES_REQUIRED sc_installed)

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
    "-DEMULATOR=${SC_TEST_EMULATOR}" ${_sc_runtime_args}
    -DVERSION=${PROJECT_VERSION} -DSOVERSION=${PROJECT_VERSION_MAJOR}
    -P ${CMAKE_CURRENT_LIST_FILE})
set_tests_properties(consumer_add_subdirectory_shared PROPERTIES TIMEOUT 600)
# Where the target's libcrypto.pc lives, for the pkg-config consumers.
set(_sc_dep_pc_dir "")
if(SC_WITH_V2)
  get_filename_component(_sc_dep_pc_dir "${OPENSSL_CRYPTO_LIBRARY}" DIRECTORY)
  set(_sc_dep_pc_dir "${_sc_dep_pc_dir}/pkgconfig")
endif()
foreach(_sc_mode find_package pkgconfig)
  foreach(_sc_link shared static)
    add_test(NAME consumer_${_sc_mode}_${_sc_link}
      COMMAND ${CMAKE_COMMAND}
        -DMODE=${_sc_mode} -DLINK=${_sc_link}
        -DPREFIX=${SC_INSTALL_TEST_PREFIX} -DLIBDIR=${SC_INSTALL_TEST_LIBDIR}
        -DWORK=${CMAKE_CURRENT_BINARY_DIR}/consumer-${_sc_mode}-${_sc_link}
        -DCC=${CMAKE_C_COMPILER} "-DFLAGS=${_sc_consumer_flags}"
        "-DGENERATOR=${CMAKE_GENERATOR}" "-DTOOLCHAIN=${_sc_toolchain}"
        "-DEMULATOR=${SC_TEST_EMULATOR}" ${_sc_runtime_args}
        -DVERSION=${PROJECT_VERSION} -DSOVERSION=${PROJECT_VERSION_MAJOR}
        "-DDEP_PC_DIR=${_sc_dep_pc_dir}"
        -P ${CMAKE_CURRENT_LIST_FILE})
    set_tests_properties(consumer_${_sc_mode}_${_sc_link} PROPERTIES
      FIXTURES_REQUIRED sc_installed RESOURCE_LOCK consumer_${_sc_mode}_${_sc_link})
  endforeach()
endforeach()
