#!/usr/bin/env bash
# Install every Debian package ibdcrypt needs to build, test, benchmark and demo.
# Idempotent and quiet when everything is already installed. Debian 12 (bookworm).
set -euo pipefail

packages=(
  build-essential cmake clang libclang-rt-14-dev python3 pkg-config
  libssl-dev zlib1g-dev libzstd-dev zstd libhwloc-dev liburing-dev libdeflate-dev time
  libisal-dev libipsec-mb-dev libbenchmark-dev
  mariadb-server mariadb-backup
  liblz4-dev liblzo2-dev liblzma-dev libbz2-dev libsnappy-dev
  mariadb-plugin-provider-lz4 mariadb-plugin-provider-lzo mariadb-plugin-provider-lzma
  mariadb-plugin-provider-bzip2 mariadb-plugin-provider-snappy
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  echo "ci/setup.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
