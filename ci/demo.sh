#!/usr/bin/env bash
# Install everything, build, and run the main job on an embedded default: a throwaway
# encrypted MariaDB, ibdcrypt backup (every page decrypted and checked), ibdcrypt prepare for a
# new key file (rewrap, and reencrypt), servers started with only the new keys, CHECKSUM TABLE
# compared. Extra arguments go to `ibdcrypt demo` (e.g. --rows=1000000 --keep).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" >/dev/null
./build/ibdcrypt cpu
echo
exec ./build/ibdcrypt demo "$@"
