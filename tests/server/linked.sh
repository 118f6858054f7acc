#!/usr/bin/env bash
# Tablespaces outside the datadir, against a real MariaDB 10.11 server (CTest label "server"):
#
#   linked.sh IBDCRYPT [mdb_new options...]
#
# A table created with DATA DIRECTORY (its .ibd elsewhere; the datadir holds an .isl file that
# names it) and a database directory moved to another disk and linked back (a symbolic link):
#   1. verify --deep checks the pages of both;
#   2. backup copies them as regular files (the remote one as db/t.ibd beside its .isl),
#      byte-identical; so does mariadb-backup (db/t.ibd beside db/t.isl);
#   3. prepare of either backup re-keys the copies and never the originals the .isl files
#      name; the prepared backup deep-verifies with the new keys;
#   4. rekey in place re-keys them where they are: a server holding only the new keys passes
#      CHECK TABLE with the CHECKSUM TABLE values recorded before.
# Before these were followed, all four skipped both tables without a word.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=testlib.sh
. "$HERE/testlib.sh"
IBDCRYPT=$1
shift
test_begin linked

step "server: $*"
mdb_new "$T/a" encrypt_tables=ON encrypt_log=ON "$@"
mdb_start "$T/a"
mdb_wait_encrypted "$T/a"
mkdir -p "$T/remote" "$T/disk2"
mdb_sql "$T/a" "CREATE DATABASE ld; USE ld;
  CREATE TABLE t_remote (id INT PRIMARY KEY, a VARCHAR(100)) ENGINE=InnoDB
    DATA DIRECTORY='$T/remote';
  INSERT INTO t_remote SELECT seq, REPEAT(CHAR(65 + seq % 26), 90) FROM seq_1_to_3000;
  CREATE TABLE t_local (id INT PRIMARY KEY, a VARCHAR(100)) ENGINE=InnoDB;
  INSERT INTO t_local SELECT seq, REPEAT('l', 80) FROM seq_1_to_2000;
  CREATE DATABASE moved; USE moved;
  CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(100)) ENGINE=InnoDB;
  INSERT INTO t SELECT seq, REPEAT('m', 80) FROM seq_1_to_3000;" > /dev/null
REMOTE=$T/remote/ld/t_remote.ibd
[[ -f "$REMOTE" && -f "$T/a/data/ld/t_remote.isl" && ! -e "$T/a/data/ld/t_remote.ibd" ]] ||
  fail "DATA DIRECTORY did not give a remote tablespace and an .isl"
# mariadb-backup of the running server (for step 3), after a restart: with the tables'
# creation behind the checkpoint it copies them as tablespaces, not as .new files
mdb_stop "$T/a"
mdb_start "$T/a"
mdb_backup "$T/a" "$T/mb"
mdb_checksums "$T/a" > "$T/before.txt"
mdb_stop "$T/a"
# the database directory moved to another disk and linked back; the server follows the link
mv "$T/a/data/moved" "$T/disk2/moved"
ln -s "$T/disk2/moved" "$T/a/data/moved"
D=$T/a/data
K=$T/a/keys/keys.txt
NEWK=$T/keys-new.txt
mdb_make_keys "linked-new" "$(_mdb_get "$T/a" key_ids)" "$NEWK"
outside() { sums "$T/remote"; sums "$T/disk2"; }
outside > "$T/outside.sums"

step "1. verify --deep checks both"
expect 0 "$IBDCRYPT" --json verify --deep --keyfile="$K" "$D"
python3 - "$T/out" <<'EOF' || fail "verify does not check the linked tablespaces: $(cat "$T/out" | head -c 600)"
import json, sys
files = {f['path']: f for f in json.load(open(sys.argv[1]))['files']}
for p in ('ld/t_remote.ibd', 'moved/t.ibd'):
    f = files[p]
    assert f['encrypted'] and f['pages']['encrypted'] > 0 and f['verdict'] == 'ok', (p, f)
EOF

step "2. backup copies them"
expect 0 "$IBDCRYPT" backup --datadir="$D" --keyfile="$K" --target-dir="$T/bk"
cmp "$REMOTE" "$T/bk/ld/t_remote.ibd" || fail "the remote tablespace's copy differs"
cmp "$D/ld/t_remote.isl" "$T/bk/ld/t_remote.isl" || fail "the .isl was not copied"
[[ -f "$T/bk/moved/t.ibd" && ! -L "$T/bk/moved" ]] && cmp "$T/disk2/moved/t.ibd" "$T/bk/moved/t.ibd" ||
  fail "the linked database directory was not copied"
[[ -f "$T/mb/ld/t_remote.ibd" ]] || fail "mariadb-backup did not copy the remote tablespace beside its .isl"

step "3. prepare re-keys the backups' copies, never the originals"
for b in bk mb; do
  expect 0 "$IBDCRYPT" prepare --target-dir="$T/$b" --keyfile="$K" --to-keyfile="$NEWK" --mode=reencrypt
  outside | diff -q - "$T/outside.sums" > /dev/null || fail "prepare of $b changed files outside it"
  cmp -s "$REMOTE" "$T/$b/ld/t_remote.ibd" && fail "prepare of $b left the remote tablespace's copy as it was"
  expect 0 "$IBDCRYPT" verify --deep --keyfile="$NEWK" "$T/$b"
done

step "4. rekey in place re-keys them where they are"
expect 0 "$IBDCRYPT" rekey --datadir="$D" --keyfile="$K" --to-keyfile="$NEWK"
expect 0 "$IBDCRYPT" -q verify --deep --keyfile="$NEWK" "$D"
server_on rekey "$D" "$NEWK"
echo "linked: all checks passed"
