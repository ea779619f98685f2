# The Python (ctypes) and LuaJIT (FFI) bindings, tested the way their users
# run them: the installed module loading the installed shared library.
# Included from tests/CMakeLists.txt after install.cmake, which provides the
# sc_installed fixture and SC_INSTALL_TEST_PREFIX / SC_INSTALL_TEST_LIBDIR.
# The test scripts are in tests/bindings/.
get_filename_component(_sc_bindings_tests "${CMAKE_CURRENT_LIST_DIR}/../bindings" ABSOLUTE)

if(NOT SC_HOST_CAN_LOAD_LIBRARY)
  message(STATUS "Binding tests skipped: host interpreters cannot load this build's library "
                 "(sanitizers or cross-compiling)")
  return()
endif()

set(SC_BINDINGS_MODULE_ROOT "${SC_INSTALL_TEST_PREFIX}/${CMAKE_INSTALL_DATADIR}/stableconn")
# The SONAME, which is what a user's runtime loads.
set(SC_BINDINGS_LIBRARY "${SC_INSTALL_TEST_LIBDIR}/$<TARGET_SONAME_FILE_NAME:stableconn>")

find_package(Python3 COMPONENTS Interpreter QUIET)
if(Python3_Interpreter_FOUND)
  add_test(NAME binding_python
    COMMAND "${Python3_EXECUTABLE}" "${_sc_bindings_tests}/test_python.py"
      --module-dir "${SC_BINDINGS_MODULE_ROOT}/python"
      --library "${SC_BINDINGS_LIBRARY}")
  # No __pycache__ in the installed copy: it should stay as installed.
  set_tests_properties(binding_python PROPERTIES
    FIXTURES_REQUIRED sc_installed
    ENVIRONMENT "PYTHONPATH=${SC_BINDINGS_MODULE_ROOT}/python;STABLECONN_LIBRARY=${SC_BINDINGS_LIBRARY};PYTHONDONTWRITEBYTECODE=1"
    TIMEOUT 300)
else()
  message(STATUS "Python binding test skipped: no Python 3 interpreter found")
endif()

find_program(SC_LUAJIT_EXECUTABLE NAMES luajit)
if(SC_LUAJIT_EXECUTABLE)
  add_test(NAME binding_luajit
    COMMAND "${SC_LUAJIT_EXECUTABLE}" "${_sc_bindings_tests}/test_luajit.lua"
      "${SC_BINDINGS_MODULE_ROOT}/luajit" "${SC_BINDINGS_LIBRARY}")
  set_tests_properties(binding_luajit PROPERTIES
    FIXTURES_REQUIRED sc_installed
    ENVIRONMENT "LUA_PATH=${SC_BINDINGS_MODULE_ROOT}/luajit/?.lua;STABLECONN_LIBRARY=${SC_BINDINGS_LIBRARY}"
    TIMEOUT 300)
else()
  message(STATUS "LuaJIT binding test skipped: luajit not found (apt-get install luajit)")
endif()
