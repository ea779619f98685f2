# A copy of the library installed from this build tree, for the tests that use
# it the way its users do (an external project, the scripting bindings).
# Included from tests/CMakeLists.txt. Tests that need it declare
#   FIXTURES_REQUIRED sc_installed
# and find it under ${SC_INSTALL_TEST_PREFIX}, with the layout of
# GNUInstallDirs (lib dir: ${SC_INSTALL_TEST_LIBDIR}).

set(SC_INSTALL_TEST_PREFIX "${CMAKE_BINARY_DIR}/installed-copy")
set(SC_INSTALL_TEST_LIBDIR "${SC_INSTALL_TEST_PREFIX}/${CMAKE_INSTALL_LIBDIR}")

# Programs of this host (Python, LuaJIT) can load the library only when it is
# built for the host itself (the 32-bit toolchain file cross-compiles) and
# without sanitizer runtimes.
set(SC_HOST_CAN_LOAD_LIBRARY OFF)
if(NOT SC_SANITIZE AND NOT CMAKE_CROSSCOMPILING)
  set(SC_HOST_CAN_LOAD_LIBRARY ON)
endif()

add_test(NAME install_clean
  COMMAND ${CMAKE_COMMAND} -E rm -rf "${SC_INSTALL_TEST_PREFIX}")
add_test(NAME install_copy
  COMMAND ${CMAKE_COMMAND} --install "${CMAKE_BINARY_DIR}" --prefix "${SC_INSTALL_TEST_PREFIX}")
set_tests_properties(install_clean PROPERTIES FIXTURES_SETUP sc_installed)
set_tests_properties(install_copy PROPERTIES FIXTURES_SETUP sc_installed DEPENDS install_clean)

# How the scripts of the tests start a program built for the target: directly,
# or through the toolchain's emulator (qemu-user for ARM), as one string.
string(REPLACE ";" " " SC_TEST_EMULATOR "${CMAKE_CROSSCOMPILING_EMULATOR}")
