#!/usr/bin/env bash
# The redo log against a real MariaDB 10.11 server with innodb_encrypt_log=ON (CTest label
# "server"), run once per cipher:
#
#   redo.sh IBDCRYPT [mdb_new options...]
#
#   1. kill -9 of a server under a write workload (megabytes of encrypted redo pending), then
#      `ibdcrypt rekey` of the datadir, --mode=rewrap and --mode=reencrypt: a server holding
#      only the new keys recovers from the log (no redo errors) and gives the CHECKSUM TABLE
#      values of the same datadir recovered with the old keys; kill -9 of rekey while it
#      writes the log, then the same command again: byte-identical to an uninterrupted run;
#   2. a live mariadb-backup --backup --stream=xbstream under the workload and a CREATE TABLE
#      (*.new files), the stream verified as it is and extracted: copy
#      1 prepared by mariadb-backup with the old keys; copy 2 (and 3) re-keyed by `ibdcrypt
#      prepare --to-keyfile NEW` (reencrypt, rewrap), then prepared by mariadb-backup with only
#      the new keys; servers on every copy give identical CHECKSUM TABLE values;
#   3. a flipped bit in a log record is reported with its LSN; a truncated or a garbage log
#      is a clear error; re-keying any of them writes nothing;
#   4. encryption turned on for a running server, killed after the rotation threads logged
#      the crypt data of the tablespaces they finished: rewrap re-encrypts those tablespaces
#      instead, reencrypt keeps their crypt-data IV, and the server recovers with only the new
#      keys and starts again.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=testlib.sh
. "$HERE/testlib.sh"
IBDCRYPT=$1
shift
OPTS=("$@") # the server options (mdb_new)
test_begin redo
SEED=${IBC_TEST_SEED:-$RANDOM}
RANDOM=$SEED
echo "redo: seed $SEED (set IBC_TEST_SEED to replay)"

# json FILE EXPR: a value from a JSON document (python expression on `j`)
json() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
# redo_field DIR FIELD: a field of the redo log's "redo" object in `inspect --json`
redo_field() {
  "$IBDCRYPT" inspect --json "$1" > "$T/inspect.json" 2> /dev/null || true
  json "$T/inspect.json" "[f['redo'] for f in j['files'] if 'redo' in f][0]['$2']"
}
# diag INSTANCE KEYS WHY: fail with what a failed check leaves to go on: the server log's lines
# about recovery and pages, then which pages a deep verify of the stopped datadir names
diag() {
  grep -E -i "doublewrite|recover|restor|corrupt|page|decrypt" "$1/log/error.log" | tail -40 >&2
  mdb_stop "$1" > /dev/null 2>&1 || true
  "$IBDCRYPT" verify --deep --keyfile="$2" "$1/data" >&2
  fail "$3"
}
# on NAME DATADIR KEYS: start a server with only KEYS on DATADIR (recovery applies the log),
# check every table, record CHECKSUM TABLE in $T/sum-NAME.txt, stop it (every page recovery
# wrote is flushed), and start it once more: what recovery wrote must read back too (a page 0
# whose crypt data recovery reverted fails only then). No redo or decryption errors in its log.
on() {
  mdb_clone "$T/a" "$T/srv-$1" keyfile="$3" datadir_from="$2"
  mdb_start "$T/srv-$1" || fail "no server starts on $1 with only its keys"
  mdb_check "$T/srv-$1" || diag "$T/srv-$1" "$3" "CHECK TABLE failed on $1"
  mdb_checksums "$T/srv-$1" > "$T/sum-$1.txt"
  mdb_stop "$T/srv-$1"
  mdb_start "$T/srv-$1" || fail "the server on $1 does not start again after its recovery"
  mdb_check "$T/srv-$1" || diag "$T/srv-$1" "$3" "CHECK TABLE failed on $1 after a restart"
  mdb_stop "$T/srv-$1"
  if grep -E "Missing FILE_CHECKPOINT|Corrupted|corrupt|decrypt|Plugin .* failed" \
       "$T/srv-$1/log/error.log" | grep -v "^$" > "$T/errs"; then
    cat "$T/errs" >&2; fail "server on $1 logged redo or decryption errors"
  fi
  rm -rf "$T/srv-$1"
}
# lost_page ORIG REKEYED: find a page of an encrypted .ibd in ORIG that the doublewrite area of
# ORIG/ibdata1 holds a byte-identical copy of (LSN not older than the checkpoint, so recovery
# may use it), and zero that page in REKEYED (if given); print "file page"; exit 1 if none
lost_page() {
  local cp_lsn
  cp_lsn=$(redo_field "$1" checkpoint_lsn)
  python3 - "$1" "${2:-}" "$cp_lsn" <<'EOF'
import os, sys
orig, rek, cp = sys.argv[1], sys.argv[2], int(sys.argv[3])  # rek '': only look for one
sysdata = open(os.path.join(orig, 'ibdata1'), 'rb').read()
flags = int.from_bytes(sysdata[54:58], 'big')
ps = (512 << (flags & 15)) if flags & 16 else 16384
ext = 1048576 // ps if ps <= 16384 else 64
files = [os.path.join(r, f) for r, _, fs in os.walk(orig) for f in fs if f.endswith('.ibd')]
data = {f: open(f, 'rb').read() for f in files}
for slot in range(ext, 3 * ext):
    c = sysdata[slot * ps:(slot + 1) * ps]
    pno = int.from_bytes(c[4:8], 'big')
    if not any(c) or not pno or int.from_bytes(c[16:24], 'big') < cp:
        continue
    for f, d in data.items():
        page = d[pno * ps:(pno + 1) * ps]
        if page == c and int.from_bytes(page[0:4], 'big'):
            rel = os.path.relpath(f, orig)
            if rek:
                with open(os.path.join(rek, rel), 'r+b') as g:
                    g.seek(pno * ps)
                    g.write(bytes(ps))
            print(rel, pno)
            sys.exit(0)
sys.exit(1)
EOF
}
same() { diff -u "$T/sum-$1.txt" "$T/sum-$2.txt" || fail "CHECKSUM TABLE: $2 differs from $1"; }

step "server: $*"
mdb_new "$T/a" encrypt_tables=ON encrypt_log=ON "$@"
mdb_start "$T/a"
mdb_wait_encrypted "$T/a"
mdb_load "$T/a" 0.1
mdb_wait_encrypted "$T/a" 30
K=$T/a/keys/keys.txt
NEWK=$T/keys-new.txt
mdb_make_keys "redo-new-$SEED" "$(_mdb_get "$T/a" key_ids)" "$NEWK"

step "1. kill -9 under a workload, then rekey"
# the page cleaner flushes all the time (through the doublewrite buffer), so the datadir holds
# pages, doublewrite copies and page 0s newer than the checkpoint the log recovers from. How
# much redo is pending, and whether a doublewrite copy newer than the checkpoint survives,
# depend on the moment of the kill: up to five kills, until one leaves enough of both (the
# lost-page test below needs such a copy).
for attempt in 1 2 3 4 5; do
  mdb_workload "$T/a" 30 > /dev/null
  mdb_sql "$T/a" "SET GLOBAL innodb_max_dirty_pages_pct_lwm=0.001, GLOBAL innodb_max_dirty_pages_pct=0.001"
  sleep 2
  mdb_workload "$T/a" 30 > /dev/null
  mdb_kill9 "$T/a"
  cp -a --sparse=always "$T/a/data" "$T/killed"
  pending=$(redo_field "$T/killed" pending_bytes)
  mtrs=$(redo_field "$T/killed" mtrs)
  why=""
  (( pending > 300000 && mtrs > 1000 )) || why="only $pending bytes of redo pending"
  [[ -n $why ]] || lost_page "$T/killed" > /dev/null ||
    why="no doublewrite copy newer than the checkpoint"
  [[ -z $why ]] && break
  (( attempt < 5 )) || fail "after $attempt kills: $why"
  echo "redo: kill $attempt: $why; again"
  rm -rf "$T/killed"
  mdb_start "$T/a"
done
echo "redo: the killed server's log holds $pending bytes of redo in $mtrs mini-transactions"
expect 0 "$IBDCRYPT" verify --deep --keyfile="$K" "$T/killed"
on killed-old "$T/killed" "$K"
for mode in rewrap reencrypt; do
  cp -a --sparse=always "$T/killed" "$T/rk-$mode"
  expect 0 "$IBDCRYPT" rekey --datadir="$T/rk-$mode" --keyfile="$K" --to-keyfile="$NEWK" \
    --mode=$mode
  grep -q "redo log: $( [[ $mode == rewrap ]] && echo re-wrapped || echo re-encrypted)" "$T/err" ||
    fail "rekey --mode=$mode did not re-key the log: $(cat "$T/err")"
  sed 's/^/redo:   /' "$T/err"
  expect 0 "$IBDCRYPT" verify --deep --keyfile="$NEWK" "$T/rk-$mode"
  expect 1 "$IBDCRYPT" verify --deep --keyfile="$K" "$T/rk-$mode"
  if [[ $mode == reencrypt ]]; then
    # a data page lost (all zero) whose copy is in the doublewrite area: recovery writes the
    # copy back and decrypts it with the new keys, so the copy must have been re-encrypted
    zeroed=$(lost_page "$T/killed" "$T/rk-$mode") || fail "no usable doublewrite copy found"
    echo "redo: zeroed $zeroed; recovery must restore it from the doublewrite area"
  fi
  on "killed-$mode" "$T/rk-$mode" "$NEWK"
  same killed-old "killed-$mode"
done
# the log after rewrap: only its header changed; after reencrypt: its pending records too
cmp -s <(tail -c +513 "$T/killed/ib_logfile0") <(tail -c +513 "$T/rk-rewrap/ib_logfile0") ||
  fail "rewrap changed more than the log header"
cmp -s "$T/killed/ib_logfile0" "$T/rk-reencrypt/ib_logfile0" &&
  fail "reencrypt left the log as it was"

step "1. kill -9 of rekey while it re-keys the log, then the same command again"
args=(--keyfile="$K" --to-keyfile="$NEWK" --mode=reencrypt --deterministic-iv=redo-$SEED)
cp -a --sparse=always "$T/killed" "$T/ref"
expect 0 "$IBDCRYPT" -q rekey --datadir="$T/ref" "${args[@]}"
points=(redo-undo-saved redo-write redo-write redo-written)
for i in 1 2 3 4; do
  w=$T/crash-$i
  cp -a --sparse=always "$T/killed" "$w"
  p=${points[i - 1]}
  n=1; [[ $p == redo-write && $i == 3 ]] && n=2 # the first chunk of records; the header
  IBDCRYPT_CRASH_POINT="$p:$n" "$IBDCRYPT" -q rekey --datadir="$w" "${args[@]}" 2> /dev/null &&
    fail "crash point $p:$n was not reached"
  expect 0 "$IBDCRYPT" -q rekey --datadir="$w" "${args[@]}"
  [[ ! -e "$w/.ibdcrypt-journal" && ! -e "$w/.ibdcrypt-redo-undo" ]] || fail "journal left in $w"
  diff -r "$T/ref" "$w" > /dev/null || fail "rekey after a crash at $p:$n differs from an uninterrupted run"
  rm -rf "$w"
done
# rewrap: the log header goes with the page 0s, journaled in one batch
expect 0 "$IBDCRYPT" -q rekey --datadir="$T/rk-rewrap" --keyfile="$NEWK" --to-keyfile="$K" --mode=rewrap
cmp -s "$T/killed/ib_logfile0" "$T/rk-rewrap/ib_logfile0" || fail "rewrap and back is not the original log"
for p in journal-save rekey-page0; do
  w=$T/crash-$p
  cp -a --sparse=always "$T/killed" "$w"
  IBDCRYPT_CRASH_POINT="$p:1" "$IBDCRYPT" -q rekey --datadir="$w" --keyfile="$K" \
    --to-keyfile="$NEWK" --mode=rewrap 2> /dev/null && fail "crash point $p:1 was not reached"
  expect 0 "$IBDCRYPT" -q rekey --datadir="$w" --keyfile="$K" --to-keyfile="$NEWK" --mode=rewrap
  expect 0 "$IBDCRYPT" -q rekey --datadir="$w" --keyfile="$NEWK" --to-keyfile="$K" --mode=rewrap
  diff -r "$T/killed" "$w" > /dev/null || fail "rewrap after a crash at $p:1, and back, differs from the original"
  rm -rf "$w"
done

step "2. a live mariadb-backup under the workload"
mdb_start "$T/a"
mdb_workload "$T/a" 25s > "$T/wl.out" &
wl=$!
sleep 3
# DDL during the backup: mariadb-backup copies the tablespaces created after its checkpoint
# again at its end as *.new files, which ibdcrypt prepare leaves alone (their whole content is
# in the log, so mariadb-backup --prepare rebuilds them under the log's, i.e. the new, key)
( sleep 1; mdb_sql "$T/a" "CREATE TABLE ibc.t_during (id INT PRIMARY KEY, v VARCHAR(200))
    ENCRYPTED=YES; INSERT INTO ibc.t_during SELECT seq, REPEAT(CHAR(65 + seq % 26), 150)
    FROM ibc.seq_1_to_5000" > /dev/null ) &
ddl=$!
mdb_backup "$T/a" "$T/bk" --stream # through an xbstream (kept as bk.xb), extracted to bk
wait $wl || fail "workload failed"
wait $ddl || fail "DDL during the backup failed"
mdb_stop "$T/a"
ls "$T/bk/ibc/"*.new > /dev/null 2>&1 || fail "the backup holds no *.new file (DDL during the backup)"
echo "redo: the backup holds $(ls "$T/bk/ibc/"*.new | wc -l) *.new files"
pending=$(redo_field "$T/bk" pending_bytes)
mtrs=$(redo_field "$T/bk" mtrs)
echo "redo: the backup's log holds $pending bytes of redo in $mtrs mini-transactions"
(( mtrs > 100 )) || fail "the backup's log holds too little redo ($mtrs mini-transactions)"
expect 0 "$IBDCRYPT" verify --deep --keyfile="$K" "$T/bk"
# the stream of a backup under load, checked without extracting it
expect 0 "$IBDCRYPT" verify --stream=xbstream --deep --keyfile="$K" < "$T/bk.xb"
rm -f "$T/bk.xb"
cp -a "$T/bk" "$T/copy1"
cp -a "$T/bk" "$T/copy2"
cp -a "$T/bk" "$T/copy3"
mdb_prepare "$T/copy1"
on copy1 "$T/copy1" "$K"
for c in "copy2 reencrypt" "copy3 rewrap"; do
  set -- $c
  expect 0 "$IBDCRYPT" prepare --target-dir="$T/$1" --keyfile="$K" --to-keyfile="$NEWK" --mode=$2
  sed 's/^/redo:   /' "$T/err"
  grep -q "file_key_management_filename=$NEWK" "$T/$1/backup-my.cnf" ||
    fail "backup-my.cnf of $1 does not name the new keys"
  mdb_prepare "$T/$1"
  on "$1" "$T/$1" "$NEWK"
  same copy1 "$1"
done

step "3. damage: named, and nothing written"
cp -a --sparse=always "$T/killed" "$T/flip"
first=$(redo_field "$T/flip" first_lsn)
cap=$(redo_field "$T/flip" capacity)
cp_lsn=$(redo_field "$T/flip" checkpoint_lsn)
end=$(redo_field "$T/flip" end_lsn)
lsn=$(( cp_lsn + (end - cp_lsn) / 2 ))
off=$(( 12288 + (lsn - first) % cap ))
python3 - "$T/flip/ib_logfile0" "$off" <<'EOF'
import sys
f = open(sys.argv[1], 'r+b'); off = int(sys.argv[2])
f.seek(off); b = f.read(1); f.seek(off); f.write(bytes([b[0] ^ 0x10]))
EOF
sums "$T/flip" > "$T/flip.sums"
expect 1 "$IBDCRYPT" verify "$T/flip"
grep -q "ib_logfile0.*mini-transaction at LSN [0-9]" "$T/out" ||
  fail "the damaged mtr is not named by LSN: $(cat "$T/out")"
bad=$(grep -o "mini-transaction at LSN [0-9]*" "$T/out" | head -1 | awk '{print $4}')
(( bad <= lsn && bad > lsn - 1100000 )) || fail "the reported LSN $bad is not at the flipped byte ($lsn)"
expect 1 "$IBDCRYPT" rekey --datadir="$T/flip" --keyfile="$K" --to-keyfile="$NEWK"
grep -q "nothing written" "$T/err" || fail "rekey of a damaged log: $(cat "$T/err")"
sums "$T/flip" | diff -q - "$T/flip.sums" > /dev/null || fail "rekey of a damaged log wrote"
expect 1 "$IBDCRYPT" backup --datadir="$T/flip" --target-dir="$T/bk-flip"
[[ ! -e "$T/bk-flip" ]] || fail "a backup with a damaged log was written"
for how in truncated garbage; do
  cp -a --sparse=always "$T/killed" "$T/$how"
  if [[ $how == truncated ]]; then
    truncate -s 9000 "$T/$how/ib_logfile0"
  else
    head -c 2000000 /dev/urandom > "$T/$how/ib_logfile0"
  fi
  sums "$T/$how" > "$T/$how.sums"
  expect 1 "$IBDCRYPT" verify "$T/$how"
  grep -q "ib_logfile0.*ERROR" "$T/out" || fail "$how log not named: $(cat "$T/out")"
  expect 1 "$IBDCRYPT" rekey --datadir="$T/$how" --keyfile="$K" --to-keyfile="$NEWK"
  grep -q "ib_logfile0" "$T/err" || fail "rekey of a $how log: $(cat "$T/err")"
  sums "$T/$how" | diff -q - "$T/$how.sums" > /dev/null || fail "rekey of a $how log wrote"
done
step "4. crypt data written by the pending redo: rewrap re-encrypts those tablespaces"
# Encryption turned on for a running server's tables: when the rotation threads finish a
# tablespace, they log its crypt data to page 0 (fil_crypt_flush_space ->
# fil_space_crypt_t::write_page0). Killed before the next checkpoint, recovery writes that old
# IV back into page 0, and the server that flushes it fails at its next start: a re-wrapped
# page 0 would be undone. Rewrap must find those writes in the log and re-encrypt the
# tablespaces (keeping their IV) instead. Whether the rotated pages reached the disk and
# whether a checkpoint follows the rotation before the kill depend on timing: up to five tries.
R=$T/r
mdb_new "$R" encrypt_tables=OFF threads=2 encrypt_log=ON "${OPTS[@]}"
RK=$R/keys/keys.txt
RNEWK=$T/keys-new-r.txt
mdb_make_keys "redo-r-$SEED" "$(_mdb_get "$R" key_ids)" "$RNEWK"
mdb_start "$R"
mdb_sql "$R" "CREATE DATABASE IF NOT EXISTS ibc; CREATE TABLE ibc.t_rot (id INT PRIMARY KEY,
  v VARCHAR(200)); INSERT INTO ibc.t_rot SELECT seq, REPEAT(CHAR(65 + seq % 26), 150)
  FROM ibc.seq_1_to_20000" > /dev/null
mdb_stop "$R"
for attempt in 1 2 3 4 5; do
  rm -rf "$T/rot"
  cp -a --sparse=always "$R/data" "$T/rot0"
  mdb_start "$R"
  mdb_sql "$R" "SET GLOBAL innodb_encrypt_tables=ON" > /dev/null
  settled=0
  for _ in $(seq 600); do # until t_rot is encrypted and flushed (up to 30 s on a loaded CI)
    [[ $(mdb_sql "$R" "SELECT CONCAT(ENCRYPTION_SCHEME, ROTATING_OR_FLUSHING) FROM
      information_schema.INNODB_TABLESPACES_ENCRYPTION WHERE NAME = 'ibc/t_rot'") == 10 ]] &&
      settled=1 && break
    sleep 0.05
  done
  mdb_kill9 "$R"
  cp -a --sparse=always "$R/data" "$T/rot"
  cp -a --sparse=always "$T/rot" "$T/rot-rw"
  expect 0 "$IBDCRYPT" rekey --datadir="$T/rot-rw" --keyfile="$RK" --to-keyfile="$RNEWK" \
    --mode=rewrap
  # the server may call the rotation done while the encrypted pages are still only in its
  # buffer pool (seen once: page 0 says encrypted, every data page on disk is plain)
  on_disk=0
  grep -q "ibc/t_rot .* ok" <("$IBDCRYPT" inspect --keyfile="$RK" "$T/rot" 2>&1) && on_disk=1
  ((settled && on_disk)) && grep -q "pending redo rewrites the crypt data" "$T/err" && break
  (( attempt < 5 )) || fail "no settled rotation on disk with its crypt-data write left in the pending redo after $attempt tries"
  if ((!settled)); then
    echo "redo: try $attempt: t_rot was still rotating when the server was killed; again"
  elif ((!on_disk)); then
    echo "redo: try $attempt: t_rot's encrypted pages were not on disk at the kill; again"
  else
    echo "redo: try $attempt: a checkpoint came after the rotation; again"
  fi
  rm -rf "$R/data" "$T/rot-rw"
  mv "$T/rot0" "$R/data"
done
sed 's/^/redo:   /' "$T/err"
grep -q "ibc/t_rot .* ok" <("$IBDCRYPT" inspect --keyfile="$RK" "$T/rot" 2>&1) ||
  fail "t_rot is not encrypted in the killed datadir"
on rot-old "$T/rot" "$RK"
on rot-rewrap "$T/rot-rw" "$RNEWK"
same rot-old rot-rewrap
# reencrypt keeps the crypt-data IV of the tablespaces whose crypt data the pending redo
# writes (those the rotation finished), and gives the others a fresh one
cp -a --sparse=always "$T/rot" "$T/rot-re"
expect 0 "$IBDCRYPT" rekey --datadir="$T/rot-re" --keyfile="$RK" --to-keyfile="$RNEWK" \
  --mode=reencrypt
grep -q "pending redo rewrites the crypt data of [0-9]* tablespaces\?: \(it keeps its\|they keep their\) crypt-data IV" \
  "$T/err" || fail "reencrypt did not keep the IVs the pending redo writes: $(cat "$T/err")"
on rot-reencrypt "$T/rot-re" "$RNEWK"
same rot-old rot-reencrypt

step "all checks passed"
