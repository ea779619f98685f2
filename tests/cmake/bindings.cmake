# The Python (ctypes) and LuaJIT (FFI) bindings, tested the way their users
# run them: the installed module loading the installed shared library.
# Included from tests/CMakeLists.txt after install.cmake, which provides the
# sc_installed fixture and SC_INSTALL_TEST_PREFIX / SC_INSTALL_TEST_LIBDIR.
# The test scripts are in tests/bindings/.
get_filename_component(_sc_bindings_tests "${CMAKE_CURRENT_LIST_DIR}/../bindings" ABSOLUTE)
get_filename_component(_sc_bindings_examples "${CMAKE_CURRENT_LIST_DIR}/../../examples" ABSOLUTE)

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

# The Lua C module (bindings/lua), one build per Lua version, run by that
# version's interpreter (Debian's lua5.4, lua5.3): the module found through
# package.cpath in the installed copy, the library through the dynamic linker.
# Each gets the extension test, a script in the 2014 modules' style, and the
# examples' server and client over loopback.
# SC_LUA_MODULES (bindings/lua/CMakeLists.txt) lists "<version>;<target>".
if(NOT SC_LUA_MODULES)
  if(SC_BUILD_LUA)
    message(STATUS "Lua module tests skipped: no Lua module built (apt-get install liblua5.4-dev)")
  endif()
  return()
endif()
while(SC_LUA_MODULES)
  list(POP_FRONT SC_LUA_MODULES _sc_lua_version _sc_lua_target)
  string(REPLACE "." "" _sc_lua_nodot "${_sc_lua_version}")
  string(REPLACE "." "_" _sc_lua_underscore "${_sc_lua_version}")
  set(_sc_lua_dir "${SC_LUA${_sc_lua_nodot}_INSTALL_DIR}")
  if(IS_ABSOLUTE "${_sc_lua_dir}")
    message(STATUS "Lua ${_sc_lua_version} module tests skipped: it installs outside the prefix (${_sc_lua_dir})")
    continue()
  endif()
  find_program(SC_LUA${_sc_lua_nodot}_EXECUTABLE NAMES lua${_sc_lua_version} lua${_sc_lua_nodot})
  if(NOT SC_LUA${_sc_lua_nodot}_EXECUTABLE)
    message(STATUS "Lua ${_sc_lua_version} module tests skipped: no lua${_sc_lua_version} interpreter "
                   "(apt-get install lua${_sc_lua_version})")
    continue()
  endif()
  set(_sc_lua_module_dir "${SC_INSTALL_TEST_PREFIX}/${_sc_lua_dir}")
  # Only the installed copy on the search path (no ";;": no system copy).
  # The versioned variable is the one Lua reads first.
  set(_sc_lua_env
    "LUA_CPATH_${_sc_lua_underscore}=${_sc_lua_module_dir}/?.so"
    "LUA_CPATH=${_sc_lua_module_dir}/?.so"
    "LD_LIBRARY_PATH=${SC_INSTALL_TEST_LIBDIR}")
  add_test(NAME binding_lua${_sc_lua_version}
    COMMAND "${SC_LUA${_sc_lua_nodot}_EXECUTABLE}" "${_sc_bindings_tests}/test_lua.lua"
      "${_sc_lua_module_dir}" "${SC_INSTALL_TEST_LIBDIR}")
  add_test(NAME binding_lua${_sc_lua_version}_2014_style
    COMMAND "${SC_LUA${_sc_lua_nodot}_EXECUTABLE}" "${_sc_bindings_tests}/lua_2014_style.lua")
  set_tests_properties(binding_lua${_sc_lua_version} binding_lua${_sc_lua_version}_2014_style PROPERTIES
    FIXTURES_REQUIRED sc_installed
    ENVIRONMENT "${_sc_lua_env}"
    TIMEOUT 300)

  # The README's Lua server and client (examples/lua), over loopback with
  # LuaSocket, when this version's LuaSocket is installed.
  execute_process(COMMAND "${SC_LUA${_sc_lua_nodot}_EXECUTABLE}" -e "require 'socket'"
    RESULT_VARIABLE _sc_lua_socket_rc OUTPUT_QUIET ERROR_QUIET TIMEOUT 10)
  if(NOT _sc_lua_socket_rc EQUAL 0)
    message(STATUS "Lua ${_sc_lua_version} example test skipped: no LuaSocket (apt-get install lua-socket)")
    continue()
  endif()
  add_test(NAME binding_lua${_sc_lua_version}_examples
    COMMAND "${SC_LUA${_sc_lua_nodot}_EXECUTABLE}" "${_sc_bindings_tests}/lua_examples.lua"
      "${SC_LUA${_sc_lua_nodot}_EXECUTABLE}" "${_sc_bindings_examples}/lua" "${_sc_lua_module_dir}")
  set_tests_properties(binding_lua${_sc_lua_version}_examples PROPERTIES
    FIXTURES_REQUIRED sc_installed
    ENVIRONMENT "${_sc_lua_env}"
    TIMEOUT 60)
endwhile()
