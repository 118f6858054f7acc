#!/usr/bin/env bash
# Build every libFuzzer target (tests/fuzz) in build-fuzz - clang, ASan + UBSan, coverage
# instrumentation of the whole library - and run each for a bounded time, starting from a
# copy of its seed corpus (the repository is never written). Exits non-zero on any crash,
# leak, timeout, out-of-memory or sanitizer report, and keeps the failing input in
# build-fuzz/fuzz-artifacts/ with the command that replays it.
#
#   IBC_FUZZ_SECONDS  time per target (default 30)
#   IBC_FUZZ_TARGETS  space-separated names to run (default: all)
#   IBC_FUZZ_BUILD    build directory (default build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${IBC_FUZZ_SECONDS:-30}
build=${IBC_FUZZ_BUILD:-build-fuzz}
jobs=$(nproc)

CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIBC_WERROR=ON \
  -DIBC_FUZZ=ON -DIBC_SANITIZE=address,undefined -DIBC_BUILD_BENCH=OFF -DIBC_BUILD_TOOLS=OFF \
  >/dev/null
cmake --build "$build" -j "$jobs" --target ibc_fuzz >/dev/null

manifest=$build/tests/fuzz/targets.txt
work=$(mktemp -d "${TMPDIR:-/tmp}/ibc-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
artifacts=$root/$build/fuzz-artifacts
rm -rf "$artifacts" # only this run's failures
failed=0

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

while read -r name max_len; do
  [[ -n $name ]] || continue
  if [[ -n ${IBC_FUZZ_TARGETS:-} && " $IBC_FUZZ_TARGETS " != *" $name "* ]]; then
    continue
  fi
  corpus=$work/corpus-$name
  mkdir -p "$corpus" "$work/art-$name"
  if [[ -d tests/fuzz/corpus/$name ]]; then
    cp -R tests/fuzz/corpus/"$name"/. "$corpus"/
  fi
  dict=()
  [[ -f tests/fuzz/$name.dict ]] && dict=(-dict="tests/fuzz/$name.dict")
  log=$work/$name.log
  t0=$SECONDS
  rc=0
  "$build/tests/fuzz/$name" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/art-$name/" \
    "${dict[@]}" "$corpus" >"$log" 2>&1 || rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  if ((rc != 0)) || grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$log"; then
    failed=1
    mkdir -p "$artifacts"
    cp "$log" "$artifacts/$name.log"
    cp -R "$work/art-$name"/. "$artifacts"/ 2>/dev/null || true
    echo "FAIL $name (exit $rc after $((SECONDS - t0)) s); log and inputs in $artifacts:" >&2
    grep -E 'ERROR|runtime error|SUMMARY|Test unit written' "$log" | head -20 >&2 || true
    for a in "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* "$artifacts"/oom-*; do
      [[ -e $a ]] && echo "  replay: $build/tests/fuzz/$name $a" >&2
    done
  else
    echo "ok   $name: ${runs:-?} runs in $((SECONDS - t0)) s, ${cov:-cov: ?}, max_len $max_len"
  fi
done <"$manifest"

exit "$failed"
