#!/usr/bin/env bash
# Tablespaces outside the datadir, against a real MariaDB 10.11 server (CTest label "server"):
#
#   linked.sh IBDCRYPT [mdb_new options...]
#
# A table created with DATA DIRECTORY (its .ibd elsewhere; the datadir holds an .isl file that
# names it), a database directory moved to another disk and linked back (a symbolic link),
# the system tablespace as two files of names and directories of their own (absolute paths in
# innodb_data_file_path), the redo log and the undo tablespaces in directories of their own
# (innodb_log_group_home_dir, innodb_undo_directory; the commands given --defaults-file, or
# for mariadb-backup's backup its backup-my.cnf):
#   1. verify --deep checks all of them;
#   2. backup copies them as regular files (the remote table as db/t.ibd beside its .isl, the
#      log and undo files at the top, as mariadb-backup does), byte-identical;
#   3. prepare of that backup and of a mariadb-backup one re-keys the copies and never the
#      originals; the prepared backups deep-verify with the new keys;
#   4. rekey in place re-keys them where they are: a server holding only the new keys passes
#      CHECK TABLE with the CHECKSUM TABLE values recorded before.
# Before, all four skipped every one of them without a word.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=testlib.sh
. "$HERE/testlib.sh"
IBDCRYPT=$1
shift
test_begin linked

step "server: $*"
mkdir -p "$T/logdir" "$T/undodir" "$T/datahome" "$T/datahome2"
mdb_new "$T/a" encrypt_tables=ON encrypt_log=ON "mysqld:innodb_log_group_home_dir=$T/logdir" \
  "mysqld:innodb_undo_directory=$T/undodir" "mysqld:innodb_undo_tablespaces=2" \
  "mysqld:innodb_data_home_dir=" \
  "mysqld:innodb_data_file_path=$T/datahome/sysa:4M;$T/datahome2/sysb:8M:autoextend" "$@"
[[ -f "$T/logdir/ib_logfile0" && -f "$T/undodir/undo002" && -f "$T/datahome/sysa" &&
   -f "$T/datahome2/sysb" && ! -e "$T/a/data/ib_logfile0" && ! -e "$T/a/data/ibdata1" ]] ||
  fail "the log, undo and system tablespaces are not in their own directories"
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
CNF=$T/a/my.cnf
outside() { for o in remote disk2 logdir undodir datahome datahome2; do sums "$T/$o"; done; }
outside > "$T/outside.sums"
cp "$T/logdir/ib_logfile0" "$T/undodir/undo001" "$T/datahome/sysa" "$T/"

step "1. verify --deep checks all of them"
expect 0 "$IBDCRYPT" --json verify --deep --defaults-file="$CNF"
python3 - "$T/out" <<'EOF' || fail "verify does not check the linked files: $(cat "$T/out" | head -c 600)"
import json, sys
files = {f['path']: f for f in json.load(open(sys.argv[1]))['files']}
for p in ('ld/t_remote.ibd', 'moved/t.ibd', 'undo001', 'undo002', 'sysa'):
    f = files[p]
    assert f['encrypted'] and f['pages']['encrypted'] > 0 and f['verdict'] == 'ok', (p, f)
assert files['sysa']['kind'] == 'system', files['sysa']
# (the second file of the system tablespace: its pages continue the first's; unused here)
f = files['sysb']
assert f['kind'] == 'system' and f['pages']['total'] == 512 and f['verdict'] == 'ok', f
r = files['ib_logfile0']['redo']
assert r['encrypted'] and r['mtrs'] >= 1, r
EOF

step "2. backup copies them"
expect 0 "$IBDCRYPT" backup --defaults-file="$CNF" --target-dir="$T/bk"
for f in logdir/ib_logfile0 undodir/undo001 undodir/undo002 datahome/sysa datahome2/sysb; do
  cmp "$T/$f" "$T/bk/${f#*/}" || fail "$f was not copied to the top of the backup"
done
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
  cmp -s "$T/sysa" "$T/$b/sysa" && fail "prepare of $b left the system tablespace (sysa) as it was"
  expect 0 "$IBDCRYPT" --json verify --deep --keyfile="$NEWK" "$T/$b"
  python3 -c "import json,sys; f={f['path']: f for f in json.load(open(sys.argv[1]))['files']}['sysa']; assert f['kind'] == 'system' and f['pages']['encrypted'] > 0, f" \
    "$T/out" || fail "verify of $b does not take sysa as the system tablespace"
done

step "4. rekey in place re-keys them where they are"
expect 0 "$IBDCRYPT" rekey --defaults-file="$CNF" --to-keyfile="$NEWK"
cmp -s "$T/logdir/ib_logfile0" "$T/ib_logfile0" && fail "rekey left the redo log as it was"
cmp -s "$T/undodir/undo001" "$T/undo001" && fail "rekey left undo001 as it was"
cmp -s "$T/datahome/sysa" "$T/sysa" && fail "rekey left the system tablespace (sysa) as it was"
expect 0 "$IBDCRYPT" -q verify --deep --defaults-file="$CNF" --keyfile="$NEWK"
server_on rekey "$D" "$NEWK"
echo "linked: all checks passed"
