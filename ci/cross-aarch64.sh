#!/usr/bin/env bash
# ci/cross-aarch64.sh - cross-build ibdcrypt for AArch64 and run the test suite under qemu-user.
#
#   ci/cross-aarch64.sh [build-dir]      (default: build-aarch64, relative to the repository)
#
# Installs, only when missing, Debian's cross compiler, qemu-user and the arm64 builds of the
# libraries the library and its tests link (Debian multiarch: OpenSSL, zlib, zstd for the redo
# log tests; add new ones to target_libs).
# Configures with cmake/toolchain-aarch64.cmake and -DIBC_WERROR=ON, builds, checks that the
# CPU detection picks the armce tier under `qemu-aarch64 -cpu max`, then runs CTest (the
# toolchain sets CMAKE_CROSSCOMPILING_EMULATOR, so every test runs through qemu; the real-server
# tests are not registered in a cross build).
# Exits non-zero on any failure.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build-aarch64}
case $build in /*) ;; *) build=$root/$build ;; esac
jobs=$(nproc 2>/dev/null || echo 2)

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# --- dependencies (idempotent) --------------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
target_libs=(libssl-dev:arm64 zlib1g-dev:arm64 libzstd-dev:arm64)
missing=()
for p in gcc-aarch64-linux-gnu qemu-user cmake "${target_libs[@]}"; do
    installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "cross-aarch64: installing ${missing[*]}"
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        as_root dpkg --add-architecture arm64
    fi
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

# --- configure, build ---------------------------------------------------------------------
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-aarch64.cmake" \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIBC_WERROR=ON -DIBC_BUILD_BENCH=OFF \
      >"$build/cmake.log" 2>&1 ||
    { cat "$build/cmake.log"; exit 1; }
grep -q 'armce=1' "$build/cmake.log" ||
    { grep 'tiers' "$build/cmake.log"; echo "cross-aarch64: armce tier not built"; exit 1; }
cmake --build "$build" -j"$jobs" -- --no-print-directory >"$build/build.log" 2>&1 ||
    { cat "$build/build.log"; exit 1; }

# --- run under qemu -----------------------------------------------------------------------
# the loader next to the libraries the binary loads (cmake/toolchain-aarch64.cmake says why)
ld_prefix=/usr/aarch64-linux-gnu
[ -e /lib/ld-linux-aarch64.so.1 ] && ld_prefix=/
qemu=(qemu-aarch64 -cpu max -L "$ld_prefix")
cpu_out=$("${qemu[@]}" "$build/ibdcrypt" cpu)
echo "$cpu_out" | sed 's/^/  /'
echo "$cpu_out" | grep -q '^selected: *armce' ||
    { echo "cross-aarch64: armce not selected under qemu -cpu max"; exit 1; }

cd "$build"
ctest --output-on-failure -j"$jobs" --timeout 600
