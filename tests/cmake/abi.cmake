# The shared library's ABI against the description committed in abi/.
# Included from tests/CMakeLists.txt, where it registers the checks below when
# libabigail's abidiff and abidw are installed, the library is built with debug
# info (abidiff reads the types from DWARF) and abi/ holds a description for
# this target (x86_64 or i386 Linux). The same file is also a `cmake -P`
# script: SC_ABI_MODE=check compares a library with a description,
# SC_ABI_MODE=dump writes one (the abi_update target, scripts/abi_update.sh).
#
# Policy, see abi/README.md: the legacy part (cp_*, cc_*, struct pool_message,
# struct connection_message) may not change at all, not even harmlessly; the
# sc_* part may grow but nothing in it may be removed or changed.

# tests/abi/: the suppressions and the probe libraries' sources.
get_filename_component(_sc_abi_dir "${CMAKE_CURRENT_LIST_DIR}/../abi" ABSOLUTE)

if(CMAKE_SCRIPT_MODE_FILE)
  # ---------------------------------------------------------------- script mode
  cmake_minimum_required(VERSION 3.16)

  if(NOT SC_ABI_MODE)
    set(SC_ABI_MODE check)
  endif()

  if(SC_ABI_MODE STREQUAL "dump")
    foreach(v ABIDW LIB HEADERS_DIR ARCH OUT)
      if(NOT ${v})
        message(FATAL_ERROR "usage: cmake -DSC_ABI_MODE=dump -DABIDW=<abidw> -DLIB=<libstableconn.so.1> "
          "-DHEADERS_DIR=<dir with the public headers> -DARCH=x86_64|i386 -DOUT=<file.abi> "
          "-P abi.cmake (${v} is not set)")
      endif()
    endforeach()
    # abidw keeps the types defined in headers whose file names are found
    # under HEADERS_DIR and turns all others into declarations: the structs
    # behind the opaque handles (connection_pool, connection) hold C++
    # internals that are no part of the ABI. Locations, paths, parameter
    # names (those of the definitions in src/) and DT_NEEDED entries are left
    # out and type ids are hashes, so the file depends only on the ABI and
    # the target, not on this machine, the sources' wording or lines, or the
    # sanitizer runtime.
    execute_process(
      COMMAND "${ABIDW}" --no-corpus-path --no-comp-dir-path --no-elf-needed
        --no-show-locs --short-locs --no-parameter-names --type-id-style hash
        --exported-interfaces-only --drop-private-types --headers-dir "${HEADERS_DIR}"
        --out-file "${OUT}.tmp" "${LIB}"
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      file(REMOVE "${OUT}.tmp")
      message(FATAL_ERROR "abidw ${LIB} failed (${rc}):\n${out}${err}")
    endif()
    file(READ "${OUT}.tmp" abi)
    # Guards against a description that would not be reproducible or would
    # freeze the library's internals. libabigail 2.2 tells private types from
    # public ones by their declaring file, and loses that file for a type
    # declared in the compiled .cc itself when clang writes DWARF 5 (file
    # index 0): then the structs behind the handles come out whole.
    set(problems "")
    set(public_structs "")
    file(GLOB headers "${HEADERS_DIR}/*")
    foreach(h IN LISTS headers)
      file(STRINGS "${h}" lines REGEX "^[ \t]*struct[ \t]+[A-Za-z_][A-Za-z0-9_]*[ \t]*{")
      foreach(line IN LISTS lines)
        string(REGEX REPLACE "^[ \t]*struct[ \t]+([A-Za-z_][A-Za-z0-9_]*).*" "\\1" name "${line}")
        list(APPEND public_structs "${name}")
      endforeach()
    endforeach()
    string(REGEX MATCHALL "<(class|union)-decl name='[^']*'[^>]*>" decls "${abi}")
    foreach(decl IN LISTS decls)
      string(REGEX REPLACE "^<[a-z]+-decl name='([^']*)'.*" "\\1" name "${decl}")
      if(NOT decl MATCHES "is-declaration-only='yes'" AND NOT name IN_LIST public_structs)
        list(APPEND problems "'${name}' is described in full but is not a struct of the public headers")
      endif()
    endforeach()
    if(abi MATCHES "(path|filepath|comp-dir-path)='/")
      list(APPEND problems "it contains absolute paths")
    endif()
    if(ARCH STREQUAL "x86_64")
      set(elf_arch elf-amd-x86_64)
    elseif(ARCH STREQUAL "i386")
      set(elf_arch elf-intel-80386)
    else()
      set(elf_arch "")
      list(APPEND problems "unknown ARCH '${ARCH}' (x86_64 or i386)")
    endif()
    if(elf_arch AND NOT abi MATCHES "<abi-corpus [^>]*architecture='${elf_arch}'")
      list(APPEND problems "the library is not built for ${ARCH} (${elf_arch})")
    endif()
    if(NOT abi MATCHES "<function-decl name='cp_new'")
      list(APPEND problems "cp_new is missing: was the library built with debug info?")
    endif()
    if(problems)
      string(REPLACE ";" "\n  " problems "${problems}")
      message(FATAL_ERROR "abidw wrote an unusable description of ${LIB} (kept as ${OUT}.tmp):\n  ${problems}")
    endif()
    file(RENAME "${OUT}.tmp" "${OUT}")
    message(STATUS "ABI description written: ${OUT}")
    return()
  elseif(NOT SC_ABI_MODE STREQUAL "check")
    message(FATAL_ERROR "abi.cmake: unknown SC_ABI_MODE '${SC_ABI_MODE}' (check or dump)")
  endif()

  # ------------------------------------------------------------------- check
  # PART: legacy, whole (everything, additions allowed) or all (both).
  # EXPECT=fail or pass turns the check into a test of the check: the result
  # must be the expected one and the report must match EXPECT_REPORT.
  foreach(v ABIDIFF LIB BASELINE)
    if(NOT ${v})
      message(FATAL_ERROR "usage: cmake -DABIDIFF=<abidiff> -DLIB=<libstableconn.so.1> -DBASELINE=<file.abi> "
        "[-DPART=legacy|whole|all] [-DEXPECT=pass|fail -DEXPECT_REPORT=<regex>] -P abi.cmake (${v} is not set)")
    endif()
  endforeach()
  foreach(f "${LIB}" "${BASELINE}")
    if(NOT EXISTS "${f}")
      message(FATAL_ERROR "${f} does not exist")
    endif()
  endforeach()
  if(NOT PART)
    set(PART all)
  endif()
  if(NOT PART MATCHES "^(legacy|whole|all)$")
    message(FATAL_ERROR "PART must be legacy, whole or all, not '${PART}'")
  endif()
  if(DEFINED EXPECT AND NOT EXPECT MATCHES "^(pass|fail)$")
    message(FATAL_ERROR "EXPECT must be pass or fail, not '${EXPECT}'")
  endif()
  set(suppr_dir "${_sc_abi_dir}")

  # --harmless: abidiff hides changes it deems harmless by default, such as
  # a renamed struct field, which still breaks every legacy program's source.
  # No default suppression files: the result must not depend on ~/.abignore.
  set(abidiff_options --no-default-suppression --no-corpus-path
    --exported-interfaces-only --fail-no-debug-info --harmless)

  set(report "")
  set(failed OFF)
  set(tool_error OFF)
  set(runs "")

  # Runs abidiff on BASELINE and LIB; sets <prefix>_rc and <prefix>_out.
  function(sc_abidiff prefix)
    execute_process(
      COMMAND "${ABIDIFF}" ${abidiff_options} ${ARGN} "${BASELINE}" "${LIB}"
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    string(STRIP "${out}${err}" out)
    set(${prefix}_rc "${rc}" PARENT_SCOPE)
    set(${prefix}_out "${out}" PARENT_SCOPE)
    string(REPLACE ";" " " cmd "${ABIDIFF} ${abidiff_options} ${ARGN} ${BASELINE} ${LIB}")
    set(runs "${runs}\$ ${cmd}\n${out}\n(exit status ${rc})\n" PARENT_SCOPE)
    # Bit 1: error, bit 2: usage error; not a number: it did not even run.
    if(NOT rc MATCHES "^[0-9]+$")
      set(tool_error ON PARENT_SCOPE)
    else()
      math(EXPR bad "${rc} & 3")
      if(bad)
        set(tool_error ON PARENT_SCOPE)
      endif()
    endif()
  endfunction()

  # Bit 8: incompatible (a removal, for instance); bit 4: some change.
  function(sc_describe rc out_var)
    set(what "")
    if(rc MATCHES "^[0-9]+$")
      math(EXPR incompatible "${rc} & 8")
      math(EXPR changed "${rc} & 4")
      if(incompatible)
        set(what "incompatible change")
      elseif(changed)
        set(what "change")
      endif()
    endif()
    set(${out_var} "${what}" PARENT_SCOPE)
  endfunction()

  if(PART MATCHES "^(legacy|all)$")
    # sc_* functions are suppressed, so whatever abidiff reports is in the
    # legacy functions or in a type they use (also when an sc_* function
    # uses it too).
    sc_abidiff(legacy --suppressions "${suppr_dir}/legacy.suppr")
    if(legacy_rc STREQUAL "0")
      string(APPEND report "legacy ABI (cp_*, cc_* and their types): unchanged\n")
    else()
      set(failed ON)
      sc_describe("${legacy_rc}" what)
      string(APPEND report "legacy ABI (cp_*, cc_* and their types): CHANGED (abidiff ${legacy_rc}: ${what})\n"
        "${legacy_out}\n\n")
    endif()
  endif()

  if(PART MATCHES "^(whole|all)$")
    # Added functions and variables are suppressed in the first run: what is
    # left is a removal or a change. The second run names the additions.
    sc_abidiff(kept --suppressions "${suppr_dir}/additions.suppr")
    sc_abidiff(whole)
    if(NOT kept_rc STREQUAL "0")
      set(failed ON)
      sc_describe("${kept_rc}" what)
      string(APPEND report "whole-library ABI: CHANGED (abidiff ${kept_rc}: ${what} beyond additions)\n"
        "${whole_out}\n\n")
    elseif(whole_rc STREQUAL "0")
      string(APPEND report "whole-library ABI: unchanged\n")
    else()
      string(APPEND report "whole-library ABI: additions only, which is compatible\n"
        "${whole_out}\n\n"
        "NOTE: ${BASELINE} does not list these additions yet. Regenerate it "
        "(bash scripts/abi_update.sh) so that from now on they are checked too.\n")
    endif()
  endif()

  # message() without a mode prints the report as it is; FATAL_ERROR would
  # rewrap abidiff's indented lines.
  if(tool_error)
    message("${runs}")
    message(FATAL_ERROR "abidiff could not compare ${LIB} with ${BASELINE} (its runs are above)")
  endif()

  if(NOT DEFINED EXPECT)
    message("${report}")
    if(failed)
      message(FATAL_ERROR "${LIB} breaks the ABI recorded in ${BASELINE} (abidiff's report is above). "
        "The legacy ABI must never change. An intended change of the sc_* part "
        "that is compatible by the API's own rules (such as a field appended to "
        "a struct whose size is passed in) is recorded by regenerating the "
        "description: bash scripts/abi_update.sh")
    endif()
    message(STATUS "${LIB} matches ${BASELINE}")
    return()
  endif()

  if(failed)
    set(result fail)
  else()
    set(result pass)
  endif()
  message("${report}")
  if(NOT result STREQUAL EXPECT)
    message(FATAL_ERROR "expected the check to ${EXPECT} on ${LIB}, but it did ${result} (report above)")
  endif()
  if(DEFINED EXPECT_REPORT AND NOT report MATCHES "${EXPECT_REPORT}")
    message(FATAL_ERROR "the check did ${result} on ${LIB} as expected, but its report (above) "
      "does not match '${EXPECT_REPORT}'")
  endif()
  message(STATUS "the check did ${result} on ${LIB}, as expected, for the expected reason")
  return()
endif()

# ------------------------------------------------------------------ build mode

set(_sc_abi_script "${CMAKE_CURRENT_LIST_FILE}")
find_program(SC_ABIDIFF abidiff)
find_program(SC_ABIDW abidw)
mark_as_advanced(SC_ABIDIFF SC_ABIDW)

# Which description applies: the one recorded for this processor and
# pointer size, when there is one.
set(_sc_abi_arch "")
set(_sc_abi_skip "")
if(NOT SC_ABIDIFF OR NOT SC_ABIDW)
  set(_sc_abi_skip "abidiff or abidw not found (Debian: apt-get install abigail-tools)")
elseif(NOT CMAKE_SYSTEM_NAME STREQUAL "Linux"
    OR NOT CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|amd64|AMD64|i[3-6]86|x86)$")
  set(_sc_abi_skip "abi/ only describes x86 Linux")
elseif(CMAKE_SIZEOF_VOID_P EQUAL 8)
  set(_sc_abi_arch x86_64)
elseif(CMAKE_SIZEOF_VOID_P EQUAL 4 AND NOT "${CMAKE_C_FLAGS} ${CMAKE_CXX_FLAGS}" MATCHES "-mx32")
  set(_sc_abi_arch i386)
else()
  set(_sc_abi_skip "no description for this pointer size")
endif()
set(_sc_abi_baseline "${PROJECT_SOURCE_DIR}/abi/stableconn-${_sc_abi_arch}.abi")

# abidiff compares types read from DWARF: the library's C++ flags must ask for
# debug info. The last -g option counts; -g0 and -g1 leave the types out.
function(_sc_abi_has_debug_info flags out_var)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  set(result OFF)
  foreach(f IN LISTS flags)
    if(f MATCHES "^-g(gdb|dwarf|dwarf-?[0-9]+|[23]|gdb[23])?$")
      set(result ON)
    elseif(f MATCHES "^-g(gdb)?[01]$")
      set(result OFF)
    endif()
  endforeach()
  set(${out_var} ${result} PARENT_SCOPE)
endfunction()

set(_sc_abi_configs "")
if(NOT _sc_abi_skip)
  if(CMAKE_CONFIGURATION_TYPES)
    foreach(cfg IN LISTS CMAKE_CONFIGURATION_TYPES)
      string(TOUPPER "${cfg}" CFG)
      _sc_abi_has_debug_info("${CMAKE_CXX_FLAGS} ${CMAKE_CXX_FLAGS_${CFG}}" g)
      if(g)
        list(APPEND _sc_abi_configs "${cfg}")
      endif()
    endforeach()
    if(NOT _sc_abi_configs)
      set(_sc_abi_skip "no configuration is built with debug info (-g)")
    endif()
  else()
    string(TOUPPER "${CMAKE_BUILD_TYPE}" _sc_abi_cfg)
    _sc_abi_has_debug_info("${CMAKE_CXX_FLAGS} ${CMAKE_CXX_FLAGS_${_sc_abi_cfg}}" g)
    if(NOT g)
      set(_sc_abi_skip "the library is built without debug info (-g): use RelWithDebInfo or Debug")
    endif()
  endif()
endif()

if(_sc_abi_skip)
  message(STATUS "ABI check not registered: ${_sc_abi_skip}")
  return()
endif()

# Regenerates abi/stableconn-<arch>.abi from this build; run by
# scripts/abi_update.sh, never by a plain build. abidw only needs the public
# headers' file names, so they are copied where no other header is (the
# generated ones are named by their absolute paths in the build tree).
set(_sc_abi_headers_dir "${CMAKE_CURRENT_BINARY_DIR}/abi_public_headers")
file(REMOVE_RECURSE "${_sc_abi_headers_dir}")
if(SC_PUBLIC_HEADERS)
  foreach(h IN LISTS SC_PUBLIC_HEADERS)
    if(NOT IS_ABSOLUTE "${h}")
      set(h "${PROJECT_SOURCE_DIR}/${h}")
    endif()
    file(COPY "${h}" DESTINATION "${_sc_abi_headers_dir}")
  endforeach()
  add_custom_target(abi_update
    COMMAND ${CMAKE_COMMAND} -DSC_ABI_MODE=dump -DABIDW=${SC_ABIDW}
      -DLIB=$<TARGET_FILE:stableconn> -DHEADERS_DIR=${_sc_abi_headers_dir}
      -DARCH=${_sc_abi_arch} -DOUT=${PROJECT_SOURCE_DIR}/abi/stableconn-${_sc_abi_arch}.abi
      -P ${_sc_abi_script}
    VERBATIM)
  add_dependencies(abi_update stableconn)
else()
  message(WARNING "no abi_update target: SC_PUBLIC_HEADERS, the list of public headers, is not set")
endif()

if(NOT EXISTS "${_sc_abi_baseline}")
  message(STATUS "ABI check not registered: no ${_sc_abi_baseline} (create it: bash scripts/abi_update.sh)")
  return()
endif()

function(_sc_abi_test name lib part)
  set(configurations "")
  if(_sc_abi_configs)
    set(configurations CONFIGURATIONS ${_sc_abi_configs})
  endif()
  add_test(NAME ${name} ${configurations}
    COMMAND ${CMAKE_COMMAND} -DABIDIFF=${SC_ABIDIFF} -DBASELINE=${_sc_abi_baseline}
      -DLIB=${lib} -DPART=${part} ${ARGN}
      -P ${_sc_abi_script})
  set_tests_properties(${name} PROPERTIES LABELS abi)
endfunction()

# The library itself, in two tests so that ctest names the part that broke.
_sc_abi_test(abi_legacy $<TARGET_FILE:stableconn> legacy)
_sc_abi_test(abi_whole $<TARGET_FILE:stableconn> whole)

# The check must be able to fail: probe libraries, each named like the real
# one (same SONAME) and differing from it in one known way, with the verdict
# and the part of the report that names the difference.
function(_sc_abi_probe_library target)
  set_target_properties(${target} PROPERTIES
    OUTPUT_NAME stableconn
    SOVERSION ${PROJECT_VERSION_MAJOR}
    LIBRARY_OUTPUT_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/abi_probes/${target}")
  # The types are read from DWARF, whatever the build type.
  target_compile_options(${target} PRIVATE -g)
endfunction()

# The legacy functions alone, written out in C (tests/abi/legacy_probe.c).
foreach(probe intact:0 struct_changed:1 signature_changed:2 function_removed:3 sc_changed:4)
  string(REPLACE ":" ";" probe "${probe}")
  list(GET probe 0 name)
  list(GET probe 1 variant)
  add_library(sc_abi_probe_${name} SHARED ${_sc_abi_dir}/legacy_probe.c)
  target_compile_definitions(sc_abi_probe_${name} PRIVATE SC_ABI_PROBE=${variant})
  _sc_abi_probe_library(sc_abi_probe_${name})
endforeach()

# The real objects, with one sc_* function more or one less.
add_library(sc_abi_probe_sc_added SHARED $<TARGET_OBJECTS:stableconn_objects> ${_sc_abi_dir}/sc_added.c)
add_library(sc_abi_probe_sc_removed SHARED $<TARGET_OBJECTS:stableconn_objects>)
foreach(target sc_abi_probe_sc_added sc_abi_probe_sc_removed)
  set_target_properties(${target} PROPERTIES LINKER_LANGUAGE CXX)
  target_link_libraries(${target} PRIVATE md::md ${SC_V2_LINK})
  _sc_abi_probe_library(${target})
endforeach()
target_link_options(sc_abi_probe_sc_added PRIVATE
  "LINKER:--version-script=${PROJECT_SOURCE_DIR}/cmake/stableconn.map")
target_link_options(sc_abi_probe_sc_removed PRIVATE
  "LINKER:--version-script=${_sc_abi_dir}/sc_removed.map")

# The stand-in matches the legacy part exactly, so that the failures below
# come from the one difference each probe has. sc_* functions are all missing
# from it: this passing also shows that the legacy check ignores them.
_sc_abi_test(abi_probe_intact $<TARGET_FILE:sc_abi_probe_intact> legacy
  -DEXPECT=pass)
_sc_abi_test(abi_probe_struct_changed $<TARGET_FILE:sc_abi_probe_struct_changed> legacy
  -DEXPECT=fail "-DEXPECT_REPORT=legacy ABI.*CHANGED.*struct pool_message.*type size changed.*int flags")
_sc_abi_test(abi_probe_signature_changed $<TARGET_FILE:sc_abi_probe_signature_changed> legacy
  -DEXPECT=fail "-DEXPECT_REPORT=legacy ABI.*CHANGED.*cp_send.*parameter 4 of type 'typedef size_t' changed")
_sc_abi_test(abi_probe_function_removed $<TARGET_FILE:sc_abi_probe_function_removed> legacy
  -DEXPECT=fail "-DEXPECT_REPORT=legacy ABI.*CHANGED.*incompatible.*Removed function.*cc_handshake")
_sc_abi_test(abi_probe_sc_changed $<TARGET_FILE:sc_abi_probe_sc_changed> all
  -DEXPECT=fail "-DEXPECT_REPORT=legacy ABI[^:]*: unchanged.*whole-library ABI: CHANGED.*sc_version\\(\\)'.*return type changed")
_sc_abi_test(abi_probe_sc_removed $<TARGET_FILE:sc_abi_probe_sc_removed> all
  -DEXPECT=fail "-DEXPECT_REPORT=legacy ABI[^:]*: unchanged.*whole-library ABI: CHANGED.*incompatible.*1 Removed function.*sc_version")
_sc_abi_test(abi_probe_sc_added $<TARGET_FILE:sc_abi_probe_sc_added> all
  -DEXPECT=pass "-DEXPECT_REPORT=legacy ABI[^:]*: unchanged.*whole-library ABI: additions only.*1 Added function.*sc_abi_probe_added.*NOTE")
