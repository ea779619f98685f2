# 32-bit x86 build on a 64-bit Debian/Ubuntu host (size_t and pointers are 4
# bytes), as a stand-in for 32-bit mobile targets:
#   apt-get install gcc-multilib g++-multilib libmd-dev:i386 libssl-dev:i386 libgtest-dev:i386
#   cmake -S . -B build-m32 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/linux-i386.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR i686)
set(CMAKE_C_FLAGS_INIT -m32)
set(CMAKE_CXX_FLAGS_INIT -m32)
set(CMAKE_EXE_LINKER_FLAGS_INIT -m32)
set(CMAKE_SHARED_LINKER_FLAGS_INIT -m32)
set(CMAKE_MODULE_LINKER_FLAGS_INIT -m32)
# Debian's i386 packages live under the multiarch directory.
set(CMAKE_LIBRARY_ARCHITECTURE i386-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# pkg-config (which FindOpenSSL asks first) must see the target's .pc files,
# not the build machine's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/i386-linux-gnu/pkgconfig:/usr/share/pkgconfig")
# An x86_64 kernel runs i386 programs itself: build-time tools and tests need
# no emulator, only a command CMake can put in front of them.
find_program(SC_ENV_PROGRAM env REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${SC_ENV_PROGRAM})
