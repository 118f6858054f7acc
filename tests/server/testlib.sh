# shellcheck shell=bash
# testlib.sh: what the real-server test scripts share (it loads mdb.sh). A script starts with
#
#   set -euo pipefail
#   HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#   . "$HERE/testlib.sh"
#
# then
#
#   test_begin NAME     exit 77 (CTest skip) without a MariaDB 10.11 server; T = a fresh
#                       temporary root, removed at exit (kept with MDB_KEEP=1) after every
#                       server started from this shell is killed; TEST_ON_EXIT (a command
#                       string) runs first at exit
#   step MSG, fail MSG  progress line / failure (exit 1), prefixed with NAME
#   expect CODE CMD...  run CMD, require exit code CODE; its stdout in $T/out, stderr in $T/err
#   sums DIR            a sha256 line per file (to prove a directory untouched)
#   server_on NAME DATADIR KEYS [REF]
#                       a server of $T/a's variant on a copy of DATADIR holding only KEYS:
#                       CHECK TABLE passes, CHECKSUM TABLE equals REF ($T/before.txt); started
#                       twice, so that what its first start wrote (page 0s, the log) is read
#                       back too

# shellcheck source=mdb.sh
. "$(dirname "${BASH_SOURCE[0]}")/mdb.sh"

test_begin() {
  TEST_NAME=$1
  if ! mdb_available; then
    echo "$TEST_NAME: MariaDB 10.11 server not installed; skipping"
    exit 77
  fi
  T=$(mdb_tmproot)
  trap _test_end EXIT
}

_test_end() {
  mdb_cleanup
  [[ -z "${TEST_ON_EXIT:-}" ]] || eval "$TEST_ON_EXIT" || true
  [[ "${MDB_KEEP:-0}" == 1 ]] || rm -rf "$T"
}

fail() { echo "$TEST_NAME: FAIL: $*" >&2; exit 1; }
step() { echo "$TEST_NAME: [$SECONDS s] $*"; }

expect() {
  local want=$1 rc=0
  shift
  "$@" > "$T/out" 2> "$T/err" || rc=$?
  [[ $rc == "$want" ]] || { cat "$T/out" "$T/err" >&2; fail "'$*' exited $rc, expected $want"; }
}

sums() { (cd "$1" && find . -type f ! -name '*.pid' -print0 | sort -z | xargs -0 sha256sum); }

server_on() {
  mdb_clone "$T/a" "$T/srv-$1" keyfile="$3" datadir_from="$2"
  mdb_start "$T/srv-$1"
  mdb_check "$T/srv-$1"
  mdb_checksums "$T/srv-$1" > "$T/after-$1.txt"
  mdb_stop "$T/srv-$1"
  mdb_start "$T/srv-$1" || fail "the server on $1 does not start a second time"
  mdb_check "$T/srv-$1"
  mdb_stop "$T/srv-$1"
  diff -u "${4:-$T/before.txt}" "$T/after-$1.txt" || fail "CHECKSUM TABLE differs on $1"
}
