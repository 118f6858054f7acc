#!/usr/bin/env bash
# Build the development fixtures: stopped MariaDB 10.11 datadirs of known variants, for
# developing and testing the page engine offline.
#
#   tests/server/make_fixtures.sh OUTDIR [VARIANT ...]        (default: all variants)
#
# Each OUTDIR/<variant>/ is a complete, STOPPED mdb instance (see mdb.sh), built in place:
#   data/                  the datadir after a clean shutdown (for *-killed: after kill -9)
#   keys/keys.txt          the key file (ids 1,2,100; key = SHA-256("ibdcrypt:<id>"))
#   keys/keys-new.txt      other keys, same ids (SHA-256("ibdcrypt-new:<id>")), for re-keying
#   keys/keys.enc, keys.pass, keys-new.enc   (enckeyfile variant: openssl-encrypted files)
#   my.cnf, instance.env   the exact configuration the server ran with
#   variant.txt            the settings, and what was done to the data
#   checksums.txt          mdb_checksums (CHECKSUM TABLE of every user table)
#   encryption.tsv         INFORMATION_SCHEMA.INNODB_TABLESPACES_ENCRYPTION
#   innodb_tablespaces.tsv INFORMATION_SCHEMA.INNODB_SYS_TABLESPACES (in-memory FLAG!)
#   files.tsv              page 0 of every data file as read from disk (mdb_file_info)
#   log/error.log          the server's error log
# For *-killed the .txt/.tsv files come from a server that recovered a COPY of data/; the
# datadir itself still holds the pending redo. recovery.txt has the recovery log lines.
# Never start a server directly on a fixture: clone it (mdb_clone FIXTURE NEWDIR).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=mdb.sh
. "$HERE/mdb.sh"

[[ $# -ge 1 ]] || { sed -n '2,22p' "$0"; exit 2; }
OUT=$(_mdb_abs "$1"); shift
mkdir -p "$OUT"
ALL="cbc-fc32-16k ctr-fc32-16k cbc-crc32-16k ctr-crc32-16k cbc-fc32-4k ctr-fc32-64k
     cbc-fc32-16k-enckeyfile cbc-fc32-16k-killed plain-fc32-16k"
VARIANTS=${*:-$ALL}
SCALE=${FIXTURE_SCALE:-1}
WORK=${FIXTURE_WORKLOAD:-60}
T=$(mdb_tmproot)
trap 'mdb_cleanup; rm -rf "$T"' EXIT

options_of() {
  case "$1" in
    cbc-fc32-16k) echo "page=16k checksum=full_crc32 algo=AES_CBC" ;;
    ctr-fc32-16k) echo "page=16k checksum=full_crc32 algo=AES_CTR" ;;
    cbc-crc32-16k) echo "page=16k checksum=crc32 algo=AES_CBC" ;;
    ctr-crc32-16k) echo "page=16k checksum=crc32 algo=AES_CTR" ;;
    cbc-fc32-4k) echo "page=4k checksum=full_crc32 algo=AES_CBC" ;;
    ctr-fc32-64k) echo "page=64k checksum=full_crc32 algo=AES_CTR" ;;
    cbc-fc32-16k-enckeyfile) echo "page=16k checksum=full_crc32 algo=AES_CBC keyfile=enc" ;;
    cbc-fc32-16k-killed) echo "page=16k checksum=full_crc32 algo=AES_CBC" ;;
    plain-fc32-16k) echo "page=16k checksum=full_crc32 keyfile=none" ;;
    *) return 1 ;;
  esac
}

write_meta() {  # write_meta INSTANCE FIXTUREDIR: the .txt/.tsv files from a running server
  local i=$1 f=$2
  mdb_checksums "$i" > "$f/checksums.txt"
  mdb_encryption "$i" > "$f/encryption.tsv"
  mdb_tablespaces "$i" > "$f/innodb_tablespaces.tsv"
  mdb_check "$i"
}

build() {
  local v=$1 f="$OUT/$1" opts t0=$SECONDS last pid
  opts=$(options_of "$v") || { echo "unknown variant $v" >&2; return 1; }
  echo "=== $v ($opts)"
  rm -rf "$f"
  # shellcheck disable=SC2086
  mdb_new "$f" $opts encrypt_tables=ON encrypt_log=ON key_ids=1,2,100 seed=ibdcrypt
  mdb_make_keys ibdcrypt-new 1,2,100 "$f/keys/keys-new.txt"
  if [[ "$(_mdb_get "$f" keyfile)" == none ]]; then
    mdb_make_keys ibdcrypt 1,2,100 "$f/keys/keys.txt"
  fi
  if [[ "$(_mdb_get "$f" keyfile)" == enc ]]; then
    mdb_encrypt_keyfile "$f/keys/keys-new.txt" "$f/keys/keys-new.enc" "$f/keys/keys.pass" \
      ibdcrypt-new
  fi
  mdb_start "$f"
  mdb_wait_encrypted "$f"
  mdb_load "$f" "$SCALE"
  last=$(mdb_workload "$f" "$WORK")
  mdb_wait_encrypted "$f"
  {
    echo "variant=$v"
    echo "server=$("$(_mdb_bin mariadbd)" --version | sed 's/^.*Ver //')"
    echo "created=$(date -u '+%F %T UTC')"
    sed -e '/^keyfile_path=/d' -e '/^filekey_path=/d' -e '/^extra=$/d' -e '/^plugin_dir=/d' \
      "$f/instance.env"
    echo "data=mdb_load scale $SCALE, then mdb_workload iterations 1..$last"
  } > "$f/variant.txt"
  if [[ "$v" == *-killed ]]; then
    # keep writing, then kill -9 in the middle of it: the log has redo past the checkpoint
    ( mdb_workload "$f" 100000 > /dev/null 2>&1 || true ) &
    pid=$!
    sleep "${FIXTURE_KILL_AFTER:-4}"
    mdb_kill9 "$f"
    wait "$pid" || true
    echo "killed=kill -9 about ${FIXTURE_KILL_AFTER:-4}s into a further mdb_workload" \
      >> "$f/variant.txt"
    cp "$f/log/error.log" "$T/error.log.$v"
    rm -rf "$T/rec"
    mdb_clone "$f" "$T/rec"
    mdb_start "$T/rec"
    mdb_wait_encrypted "$T/rec"
    write_meta "$T/rec" "$f"
    last=$(mdb_sql "$T/rec" "SELECT MAX(i) FROM $MDB_DB.wl_log")
    echo "recovered=committed workload iterations 1..$last (see recovery.txt)" \
      >> "$f/variant.txt"
    grep -E 'crash recovery|checkpoint|To recover|End of log|rolled back|Rolled back|recover' \
      "$T/rec/log/error.log" | sed 's/^[0-9-]* *[0-9:]* //' > "$f/recovery.txt" || true
    mdb_stop "$T/rec"
    rm -rf "$T/rec"
  else
    write_meta "$f" "$f"
    mdb_stop "$f"
  fi
  mdb_file_info "$f/data" > "$f/files.tsv"
  rm -f "$f/run/"*
  echo "=== $v done in $((SECONDS - t0))s: $(du -sh --apparent-size "$f/data" | cut -f1) apparent," \
       "$(du -sh "$f/data" | cut -f1) on disk"
}

for v in $VARIANTS; do build "$v"; done
