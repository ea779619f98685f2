# 32-bit ARM (armhf: ARMv7, hard float) cross build on a Debian/Ubuntu host,
# with the programs run under qemu-user: char is unsigned there, size_t and
# pointers are 4 bytes, and there is no 128-bit integer type.
#   apt-get install crossbuild-essential-armhf qemu-user libmd-dev:armhf libssl-dev:armhf libgtest-dev:armhf
#   cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/linux-armhf.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)
set(CMAKE_LIBRARY_ARCHITECTURE arm-linux-gnueabihf)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
# pkg-config (which FindOpenSSL asks first) must see the target's .pc files,
# not the build machine's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/arm-linux-gnueabihf/pkgconfig:/usr/share/pkgconfig")
find_program(SC_QEMU_ARM qemu-arm REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${SC_QEMU_ARM} -L /usr/arm-linux-gnueabihf)
# Programs under qemu-user can neither start other ARM programs (the TCP demo
# starts its server and clients) nor, with this qemu, fork: the tests that
# need either are left out of this build.
set(SC_TARGET_EMULATED ON)
