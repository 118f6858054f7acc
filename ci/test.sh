#!/usr/bin/env bash
# Install everything and run the whole test suite: the main build (gcc, warnings as errors)
# with every CTest test, the performance gate (ci/perf-gate), a clang build, an ASan+UBSan
# build, bounded fuzzing and the AArch64 cross build under qemu. Exits non-zero on the first
# failure. Set IBC_TEST_QUICK=1 to run only the main build and the gate.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc)
t0=$SECONDS

step() { printf '\n=== %s (%ds)\n' "$*" $((SECONDS - t0)) >&2; }

step "setup"
bash ci/setup.sh

build() { # build DIR [cmake args...]
  local dir=$1; shift
  cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIBC_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs" >/dev/null
}

step "gcc build"
build build
step "gcc: all tests"
(cd build && ctest -j "$jobs" --output-on-failure)

# The performance-regression gate: ratios ours/peer measured in one run against the floors in
# bench/floors.json (about a minute; the full Google Benchmark JSON stays in
# build/perf-gate.json). IBC_PERF_GATE=0 skips it (e.g. on a machine of another type).
if [[ "${IBC_PERF_GATE:-1}" != 0 ]]; then
  step "performance gate"
  python3 ci/perf-gate --out build/perf-gate.json
fi

if [[ "${IBC_TEST_QUICK:-0}" != 1 ]]; then
  step "clang build"
  CC=clang build build-clang
  step "clang: unit tests"
  (cd build-clang && ctest -j "$jobs" -L unit --output-on-failure)

  step "ASan+UBSan build"
  CC=clang build build-asan -DIBC_SANITIZE=address,undefined -DIBC_BUILD_BENCH=OFF
  step "ASan+UBSan: unit tests"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest -j "$jobs" -L unit --output-on-failure)
  # the real-server tests of the front-ends and the redo log (crashes, resumes, streams, the
  # log's window, linked tablespaces) under the sanitizers too: they found two undefined
  # behaviours the unit tests had not reached
  step "ASan+UBSan: front-end and redo server tests"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     ctest -j "$jobs" -R '^server[.](frontends[.]|redo[.]|linked$)' --output-on-failure)

  step "libFuzzer targets (bounded)"
  IBC_FUZZ_SECONDS=${IBC_FUZZ_SECONDS:-20} bash ci/fuzz.sh

  if [[ -f ci/cross-aarch64.sh ]]; then
    step "AArch64 cross build under qemu"
    bash ci/cross-aarch64.sh
  fi
fi

step "all tests passed"
