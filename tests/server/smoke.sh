#!/usr/bin/env bash
# Smoke test of the real-server harness (tests/server/mdb.sh), CTest label "server".
#
# One small 16K instance (AES_CBC, encrypted tables and log, key ids 1, 2, 100): load the
# deterministic data set, run a few workload iterations, record CHECKSUM TABLE, stop cleanly;
# start a clone on a copy of the datadir and require identical checksums, CHECK TABLE OK and
# the same encryption state. Then a clone whose key file has other keys for ids 2 and 100
# (same key 1) must fail to read exactly the tables under keys 2 and 100 - so a passing
# comparison is not vacuous. Exit 77 (CTest skip) when no MariaDB 10.11 is installed.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=testlib.sh
. "$HERE/testlib.sh"
test_begin smoke

step "create instance"
mdb_new "$T/a" page=16k algo=AES_CBC encrypt_tables=ON encrypt_log=ON
mdb_start "$T/a"
mdb_wait_encrypted "$T/a"
mdb_load "$T/a" 0.5
last=$(mdb_workload "$T/a" 20)
mdb_wait_encrypted "$T/a" 30
[[ "$last" == 20 ]] || fail "workload reports last iteration '$last', expected 20"
mdb_checksums "$T/a" > "$T/before.txt"
mdb_encryption "$T/a" | cut -f1,2,3,5,7 > "$T/enc-before.tsv"
mdb_check "$T/a"
# every space is encrypted with the expected key id, except the ENCRYPTED=NO table
awk -F'\t' 'NR > 1 && $2 != "ibc/t_noenc" && ($3 != 1 || $4 != 1) {
              print "not encrypted: " $0; bad = 1 }
            NR > 1 && $2 == "ibc/t_noenc" && $3 != 0 { print "encrypted: " $0; bad = 1 }
            END { exit bad }' "$T/enc-before.tsv" || fail "unexpected encryption state"
for t in t_k2:2 t_k100:100 t_blob:100 t_k1:1 t_default:1 ibdata1:1; do
  name=ibc/${t%%:*}; [[ ${t%%:*} == ibdata1 ]] && name=innodb_system
  awk -F'\t' -v n="$name" -v k="${t#*:}" '$2 == n && $5 == k { ok = 1 } END { exit !ok }' \
    "$T/enc-before.tsv" || fail "$name is not under key id ${t#*:}"
done
n=$(wc -l < "$T/before.txt")
(( n >= 12 )) || fail "only $n tables checksummed"
mdb_stop "$T/a"

step "offline checks of the stopped datadir"
mdb_file_info "$T/a/data" > "$T/files.tsv"
# full_crc32 16K tablespaces carry flags 0x15 (0x35 page_compressed); ROW_FORMAT=COMPRESSED
# 8K is legacy 0x29; crypt_data key ids match the table clauses.
expect_file() {  # expect_file FILE FLAGS CRYPT_TYPE KEY_ID
  awk -F'\t' -v f="$1" -v fl="$2" -v ty="$3" -v k="$4" \
    '$1 == f { found = 1; if ($4 != fl || $9 != ty || $12 != k) { print; exit 1 } }
     END { exit !found }' "$T/files.tsv" || fail "page 0 of $1: expected flags $2 type $3 key $4"
}
expect_file ibdata1 0x15 1 1
expect_file ibc/t_k2.ibd 0x15 1 2
expect_file ibc/t_noenc.ibd 0x15 0 1
expect_file ibc/t_pc_k2.ibd 0x35 1 2
expect_file ibc/t_zip_k100.ibd 0x29 1 100
if command -v innochecksum >/dev/null; then
  for f in ibc/t_k1.ibd ibc/t_zip.ibd ibc/t_pc.ibd; do
    innochecksum "$T/a/data/$f" > /dev/null 2>&1 || fail "innochecksum rejects $f"
  done
fi

step "clone on a copy of the datadir"
mdb_clone "$T/a" "$T/b"
mdb_start "$T/b"
mdb_checksums "$T/b" > "$T/after.txt"
diff -u "$T/before.txt" "$T/after.txt" || fail "checksums differ on the clone"
mdb_check "$T/b"
mdb_encryption "$T/b" | cut -f1,2,3,5,7 > "$T/enc-after.tsv"
diff -u "$T/enc-before.tsv" "$T/enc-after.tsv" || fail "encryption state differs on the clone"
mdb_stop "$T/b"

step "clone with other keys for ids 2 and 100 must not read those tables"
{ grep '^1;' "$T/a/keys/keys.txt"; grep -v '^1;' "$T/a/keys/keys.txt" | grep -v '^#' |
    while IFS=';' read -r id _; do echo "$id;$(mdb_key_hex other "$id")"; done; } > "$T/mixed.txt"
mdb_clone "$T/a" "$T/c" keyfile="$T/mixed.txt"
mdb_start "$T/c"
if MDB_QUIET=1 mdb_checksums "$T/c" > "$T/wrong.txt" 2> "$T/wrong.err"; then
  fail "checksums succeeded with wrong keys for ids 2 and 100"
fi
awk '$2 == "NULL" { print $1 }' "$T/wrong.txt" | sort > "$T/null.txt"
printf '%s\n' ibc.t_blob ibc.t_k100 ibc.t_k2 ibc.t_pc_k2 ibc.t_zip_k100 ibc.wl_log \
  ibc.t_fts ibc.t_versioned ibc.t_gis ibc.t-näme.x | sort > "$T/null-expected.txt"
diff -u "$T/null-expected.txt" "$T/null.txt" || fail "wrong set of unreadable tables"
# the tables under key 1 / unencrypted still read back identically
grep -v -F -f "$T/null-expected.txt" "$T/before.txt" > "$T/k1-before.txt"
grep -v -F -f "$T/null-expected.txt" "$T/wrong.txt" > "$T/k1-after.txt"
diff -u "$T/k1-before.txt" "$T/k1-after.txt" || fail "key-1 tables differ under mixed keys"
mdb_stop "$T/c"

step "PASS ($n tables)"
