# The C++ runtime the library's objects need when something else than the C++
# compiler links them: a C program linking the static library names it
# explicitly (the static target's link interface, the pkg-config file's
# Libs.private, the tests that link with a plain C compiler).
#
# It is the runtime of the C++ toolchain this build uses:
#   Android NDK     CMAKE_ANDROID_STL_TYPE (CMake's own Android support) or
#                   ANDROID_STL (the NDK's toolchain file); c++_static, the
#                   NDK's default, is c++_static and c++abi
#   elsewhere       the C++ library the compiler driver links by itself, as
#                   CMake recorded it (CMAKE_CXX_IMPLICIT_LINK_LIBRARIES):
#                   stdc++ with gcc and a default clang, c++ with clang and
#                   -stdlib=libc++ in CMAKE_CXX_FLAGS (or a toolchain whose
#                   default is libc++); c++abi is added when the static libc++
#                   does not carry the ABI library itself (a link test),
#                   and libm, which code compiled against libc++ calls
#
# Sets, after include(sc_cxx_runtime):
#   SC_CXX_RUNTIME          libstdc++, libc++, or none (Android "none" or an
#                           unknown toolchain)
#   SC_CXX_RUNTIME_LIBS     the libraries, by name (for target_link_libraries):
#                           stdc++, or c++ [c++abi] m, or an NDK runtime
#   SC_CXX_RUNTIME_LDFLAGS  the same as -l options, one string (for pkg-config)
#
# Set SC_CXX_RUNTIME_LIBS on the cmake command line to override the result.

if(DEFINED SC_CXX_RUNTIME_LIBS)
  set(_sc_libs "${SC_CXX_RUNTIME_LIBS}")
  set(_sc_kind "given")
elseif(CMAKE_SYSTEM_NAME STREQUAL "Android")
  if(CMAKE_ANDROID_STL_TYPE)
    set(_sc_stl "${CMAKE_ANDROID_STL_TYPE}")
  elseif(ANDROID_STL)
    set(_sc_stl "${ANDROID_STL}")
  else()
    set(_sc_stl c++_static)
  endif()
  if(_sc_stl STREQUAL "c++_static")
    set(_sc_libs c++_static c++abi)
  elseif(_sc_stl STREQUAL "none")
    set(_sc_libs "")
  elseif(_sc_stl STREQUAL "system")
    set(_sc_libs stdc++)
  else()
    # c++_shared, and the runtimes of old NDKs (gnustl_static, ...), are
    # libraries of that name.
    set(_sc_libs "${_sc_stl}")
  endif()
  set(_sc_kind "Android STL ${_sc_stl}")
else()
  set(_sc_libs "")
  foreach(_sc_lib IN LISTS CMAKE_CXX_IMPLICIT_LINK_LIBRARIES)
    if(_sc_lib MATCHES "^(stdc\\+\\+|c\\+\\+|c\\+\\+abi|supc\\+\\+|cxxrt)$" AND NOT _sc_lib IN_LIST _sc_libs)
      list(APPEND _sc_libs "${_sc_lib}")
    endif()
  endforeach()
  if(NOT _sc_libs)
    # Nothing recorded (an unusual driver): read the flags.
    if(APPLE OR CMAKE_CXX_FLAGS MATCHES "(^| )-stdlib=libc\\+\\+( |$)")
      set(_sc_libs c++)
    elseif(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
      set(_sc_libs stdc++)
    endif()
  endif()
  set(_sc_kind "the C++ compiler's")
  if("c++" IN_LIST _sc_libs AND NOT APPLE AND NOT "c++abi" IN_LIST _sc_libs AND NOT "cxxrt" IN_LIST _sc_libs)
    # A shared libc++ brings its ABI library along; a static one may not.
    include(CheckCXXSourceCompiles)
    include(CMakePushCheckState)
    cmake_push_check_state(RESET)
    set(CMAKE_REQUIRED_QUIET ON)
    set(CMAKE_REQUIRED_LINK_OPTIONS -nostdlib++)
    set(CMAKE_REQUIRED_LIBRARIES -Wl,-Bstatic -lc++ -Wl,-Bdynamic m)
    check_cxx_source_compiles("
      #include <stdexcept>
      int main(int argc, char **) {
        try { if (argc > 5) throw std::runtime_error(\"x\"); } catch (const std::exception &) { return 1; }
        return 0;
      }" SC_STATIC_LIBCXX_HAS_ABI)
    cmake_pop_check_state()
    if(NOT SC_STATIC_LIBCXX_HAS_ABI)
      list(APPEND _sc_libs c++abi)
    endif()
  endif()
  if(_sc_libs MATCHES "(^|;)c\\+\\+(;|$)" AND "m" IN_LIST CMAKE_CXX_IMPLICIT_LINK_LIBRARIES)
    # libc++'s headers call the math library from inline code, which then
    # lands in the library's objects (libstdc++ keeps such calls inside
    # itself).
    list(APPEND _sc_libs m)
  endif()
endif()

if("stdc++" IN_LIST _sc_libs OR "supc++" IN_LIST _sc_libs)
  set(SC_CXX_RUNTIME libstdc++)
elseif(_sc_libs MATCHES "(^|;)c\\+\\+(_static|_shared)?(;|$)")
  set(SC_CXX_RUNTIME libc++)
elseif(_sc_libs)
  set(SC_CXX_RUNTIME "${_sc_libs}")
else()
  set(SC_CXX_RUNTIME none)
endif()
set(SC_CXX_RUNTIME_LIBS "${_sc_libs}")
set(SC_CXX_RUNTIME_LDFLAGS "")
foreach(_sc_lib IN LISTS _sc_libs)
  string(APPEND SC_CXX_RUNTIME_LDFLAGS " -l${_sc_lib}")
endforeach()
string(STRIP "${SC_CXX_RUNTIME_LDFLAGS}" SC_CXX_RUNTIME_LDFLAGS)
message(STATUS "C++ runtime for C programs that link the static library (${_sc_kind}): "
  "${SC_CXX_RUNTIME} (${SC_CXX_RUNTIME_LDFLAGS})")
unset(_sc_libs)
unset(_sc_lib)
unset(_sc_kind)
unset(_sc_stl)
