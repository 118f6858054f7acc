# Cross build for AArch64 Linux with Debian's cross toolchain, tests run under qemu-user.
#
#   cmake -S . -B build-aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake
#
# Needs gcc-aarch64-linux-gnu, qemu-user and the arm64 OpenSSL from Debian multiarch
# (dpkg --add-architecture arm64; apt-get install libssl-dev:arm64); ci/cross-aarch64.sh
# installs them. Debian's cross gcc already searches /usr/include/aarch64-linux-gnu and
# /usr/lib/aarch64-linux-gnu, where multiarch puts the arm64 libraries, so no sysroot is set:
# the host's /usr is the "root", restricted to the aarch64 library directory below.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(IBC_CROSS_TRIPLE aarch64-linux-gnu CACHE STRING "Cross toolchain prefix")
set(CMAKE_C_COMPILER ${IBC_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${IBC_CROSS_TRIPLE}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${IBC_CROSS_TRIPLE})

# Find target libraries only in the multiarch directory, never the host's x86-64 ones, and
# programs (code generators, python) only on the host.
set(CMAKE_FIND_ROOT_PATH /usr/${IBC_CROSS_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# pkg-config (FindOpenSSL asks it first) must describe the arm64 packages, not the host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${IBC_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

# CTest (and add_test commands) run target binaries through qemu. -cpu max enables the ARMv8
# Crypto Extensions, PMULL and CRC32; -L is where qemu finds the dynamic loader. The binaries
# load their libraries (libcrypto, libz, libc) from the multiarch /lib/aarch64-linux-gnu, so the
# loader must be the multiarch one too (libc6:arm64, installed with those libraries): the cross
# toolchain's own loader in /usr/aarch64-linux-gnu is a different glibc build, and with the
# multiarch libc.so.6 every pthread_create spins forever (seen with 2.36-8cross1 against
# 2.36-9+deb12u14). Without multiarch libc, the cross loader and libc go together.
if(EXISTS /lib/ld-linux-aarch64.so.1)
  set(IBC_QEMU_LD_PREFIX / CACHE PATH "qemu-aarch64 -L: where the target's dynamic loader is")
else()
  set(IBC_QEMU_LD_PREFIX /usr/${IBC_CROSS_TRIPLE} CACHE PATH
      "qemu-aarch64 -L: where the target's dynamic loader is")
endif()
find_program(IBC_QEMU_AARCH64 qemu-aarch64)
if(IBC_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${IBC_QEMU_AARCH64} -cpu max -L ${IBC_QEMU_LD_PREFIX})
endif()
