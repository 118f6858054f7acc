#!/usr/bin/env bash
# The front-ends against a real MariaDB 10.11 server (CTest label "server"):
#
#   frontends.sh IBDCRYPT PAGETOOL [mdb_new options...]
#
#   1. backup of a stopped server to a directory and through --stream=xbstream | mbstream -x
#      (and the stream checked by verify --stream=xbstream, as is a mariadb-backup stream):
#      files byte-identical to the source, the manifests' CRC-32C of every file equal to the
#      reference's; a server started on the copy gives equal CHECKSUM TABLE;
#   2. prepare for a new key file, --mode=rewrap and --mode=reencrypt, and rekey in place
#      (and of a mariadb-backup incremental backup: refused, as its .delta pages would stay
#      under the old keys; applied to its base by mariadb-backup, then prepared):
#      a server holding only the new keys passes CHECK TABLE with the CHECKSUM TABLE values
#      recorded before; after rewrap only page 0 of each encrypted tablespace differs, after
#      reencrypt every encrypted page differs; the backup's manifest, updated by prepare,
#      passes verify --manifest with the new keys;
#   3. kill -9 of prepare and of rekey at random moments (crash points and timed kills,
#      several seeds; in two rounds a second crash during the resume), then the same command
#      again: byte-identical to an uninterrupted run; while a rekey runs, a server start and a
#      second rekey are refused;
#   4. a missing or a wrong key, a running server, an unreadable file, a full target file
#      system, garbage instead of a datadir: a clear message, the exit code of the design,
#      the source untouched;
#   5. bad pages in the source: named with file and page, exit 1, no backup unless
#      --keep-going, whose manifest lists them;
#   6. Aria tables (the mysql.* system tables among them) and binary logs encrypted with key
#      id 1: rekey to another key 1 re-encrypts the Aria pages and the logs' events (also
#      killed and run again); verify --deep, inspect and backup with keys check them (a
#      damaged event or page named, and no backup written), verify --stream the Aria tables
#      of ibdcrypt's and mariadb-backup's streams; a server holding only the new keys reads
#      every table and event.
#   7. a replica's relay logs encrypted with key id 1 (in the datadir, named otherwise, or in a
#      directory of their own): rekey re-encrypts them, verify --deep checks them, and the
#      replica holding only the new keys applies what they hold (its table then equals the
#      primary's).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=testlib.sh
. "$HERE/testlib.sh"
IBDCRYPT=$1 PAGETOOL=$2
shift 2
test_begin frontends
MNT=""
busy=""
TEST_ON_EXIT='[[ -z "$MNT" ]] || umount "$MNT" 2> /dev/null; [[ -z "$busy" ]] || kill -9 "$busy" 2> /dev/null'
SEED=${IBC_TEST_SEED:-$RANDOM}
RANDOM=$SEED
echo "frontends: seed $SEED (set IBC_TEST_SEED to replay)"

step "server: $*"
# encrypt_log=ON: prepare and rekey re-key the redo log with the pages (redo.sh tests it under
# load; here a clean stop leaves a log of one FILE_CHECKPOINT)
mdb_new "$T/a" encrypt_tables=ON encrypt_log=ON "$@"
mdb_start "$T/a"
mdb_wait_encrypted "$T/a"
mdb_load "$T/a" 0.3
mdb_wait_encrypted "$T/a" 30
mdb_checksums "$T/a" > "$T/before.txt"
mdb_stop "$T/a"
D=$T/a/data
K=$T/a/keys/keys.txt
NEWK=$T/keys-new.txt
mdb_make_keys "frontends-new-$SEED" "$(_mdb_get "$T/a" key_ids)" "$NEWK"
sums "$D" > "$T/src.sums"

step "1. backup to a directory and through an xbstream"
expect 0 "$IBDCRYPT" backup --datadir="$D" --keyfile="$K" --target-dir="$T/bk"
diff -r --exclude=ibdcrypt-backup.json "$D" "$T/bk" > /dev/null || fail "backup differs from the source"
python3 -c "import json,sys; m=json.load(open(sys.argv[1])); sys.exit(m['summary']['verdict'] != 'ok' or m['summary']['encrypted'] == 0)" \
  "$T/bk/ibdcrypt-backup.json" || fail "manifest verdict"
"$IBDCRYPT" backup --datadir="$D" --keyfile="$K" --stream=xbstream 2> "$T/err" | tee "$T/bk.xbs" |
  (mkdir -p "$T/bkx" && mbstream -x -C "$T/bkx") || fail "stream | mbstream -x: $(tail -3 "$T/err")"
# the stream checked without extracting it (its pages decrypted, its manifest's CRCs)
expect 0 "$IBDCRYPT" verify --stream=xbstream --deep --keyfile="$K" < "$T/bk.xbs"
rm -f "$T/bk.xbs"
diff -r --exclude=ibdcrypt-backup.json "$T/bk" "$T/bkx" > /dev/null ||
  fail "the extracted stream differs from the directory backup"
# the manifests' per-file CRC-32C (most of them joined from the pages' stored checksums, not
# read again) against the reference CRC of each source file
(cd "$D" && find . -type f ! -name ibtmp1 -printf '%P\0' | xargs -0 "$PAGETOOL" crc32c) > "$T/ref.crc"
for m in "$T/bk" "$T/bkx"; do
  python3 - "$m/ibdcrypt-backup.json" "$T/ref.crc" <<'EOF' || fail "manifest CRC-32C in $m"
import json, sys
ref = dict(l.split()[::-1] for l in open(sys.argv[2]))
files = {f['path']: f.get('crc32c') for f in json.load(open(sys.argv[1]))['files']}
bad = [p for p in ref if files.get(p) != ref[p]]
if bad or len(files) != len(ref):
    print(f"{len(bad)} of {len(ref)} files differ (manifest lists {len(files)}), e.g. {bad[:3]}")
    sys.exit(1)
print(f"manifest CRC-32C of {len(ref)} files equal the reference")
EOF
done
server_on backup "$T/bk" "$K"
# a mariadb-backup stream of a running server (its copy threads interleave the files' chunks),
# checked without extracting it, then extracted and checked as a directory
mdb_start "$T/srv-backup"
# and a full backup, then writes, then an incremental one (step 2)
mdb_backup "$T/srv-backup" "$T/mbf" || fail "mariadb-backup (full)"
mdb_workload "$T/srv-backup" 12 > /dev/null
mdb_backup "$T/srv-backup" "$T/mbi" --incremental-basedir="$T/mbf" || fail "mariadb-backup --incremental-basedir"
mdb_checksums "$T/srv-backup" > "$T/inc.txt"
mdb_backup "$T/srv-backup" "$T/mb" --stream --parallel=2 || fail "mariadb-backup --stream"
mdb_stop "$T/srv-backup"
expect 0 "$IBDCRYPT" verify --stream=xbstream --deep --json --keyfile="$K" < "$T/mb.xb"
mv "$T/out" "$T/mb-stream.json"
expect 0 "$IBDCRYPT" verify --deep --json --keyfile="$K" "$T/mb"
python3 - "$T/mb-stream.json" "$T/out" <<'EOF' || fail "the stream and its extracted copy verify differently"
import json, sys
s, d = (json.load(open(p)) for p in sys.argv[1:3])
pages = lambda j: {f['path']: f['pages'] for f in j['files'] if f['kind'] in ('system', 'undo', 'tablespace')}
assert s['summary']['encrypted'] > 100, s['summary']
assert pages(s) == pages(d), [p for p in pages(d) if pages(s).get(p) != pages(d)[p]][:5]
print(f"mariadb-backup stream: {len(pages(s))} tablespaces, {s['summary']['encrypted']} encrypted pages, as extracted")
EOF
rm -rf "$T/mb" "$T/mb.xb"

# changed_pages MODE OLD NEW: for every tablespace file, check which pages changed. rewrap:
# page 0 of encrypted tablespaces only; reencrypt: every encrypted page (key version set), and
# page 0 (a fresh crypt-data IV). The doublewrite area of ibdata1 holds copies of other
# tablespaces' pages: reencrypt re-encrypts the copies it can place; both modes give the
# copies of a page 0 (type FSP_HDR, page number 0) the new IV, rewrap changes no other: a copy
# that held its tablespace's old IV must hold the new one (recovery may write it back).
changed_pages() {
  python3 - "$@" <<'EOF'
import os, sys
mode, old, new = sys.argv[1:4]
bad = 0
MAGIC = bytes([0x73, 0x0e, 0x0c, 0x52, 0x45, 0x74])  # fil0crypt.cc CRYPT_MAGIC
def iv_of(page0):
    at = page0.find(MAGIC)
    return page0[at + 8:at + 24] if at >= 0 else None
ivs, copies = {}, []  # space id -> (IV before, IV after); ibdata1's page 0 copies before/after
for root, _, files in os.walk(old):
    for name in files:
        if not (name.endswith('.ibd') or name.startswith('ibdata')):
            continue
        rel = os.path.relpath(os.path.join(root, name), old)
        a = open(os.path.join(old, rel), 'rb').read()
        b = open(os.path.join(new, rel), 'rb').read()
        flags = int.from_bytes(a[54:58], 'big')
        fc32 = bool(flags & 16)
        zss, ss = (flags >> 1) & 15, (flags >> 6) & 15
        ps = (512 << (flags & 15)) if fc32 else (512 << zss if zss else (512 << ss if ss else 16384))
        logical = ps if fc32 else (512 << ss if ss else 16384)
        extent = 1048576 // logical if logical <= 16384 else 64
        dblwr = range(extent, 3 * extent) if rel == 'ibdata1' else range(0)
        enc, changed = [], []
        ivs[int.from_bytes(a[34:38], 'big')] = (iv_of(a[:ps]), iv_of(b[:ps]))
        for p in range(len(a) // ps):
            x, y = a[p*ps:(p+1)*ps], b[p*ps:(p+1)*ps]
            t = int.from_bytes(x[24:26], 'big')
            kv = int.from_bytes(x[0:4] if fc32 else x[26:30], 'big')
            if p and kv and p not in dblwr and (fc32 or t not in (8, 9, 17854)):
                enc.append(p)
            page0copy = x[4:8] == bytes(4) and t == 8
            if p in dblwr and page0copy:
                copies.append((p, int.from_bytes(x[34:38], 'big'), iv_of(x), iv_of(y)))
            if x != y and not (p in dblwr and (mode == 'reencrypt' or page0copy)):
                changed.append(p)
        want = ([0] + enc if mode == 'reencrypt' else [0]) if enc else []
        if changed != want:
            print('%s: changed %s, expected %s' % (rel, changed[:20], want[:20]))
            bad = 1
moved = 0
for p, space, before, after in copies:
    home = ivs.get(space)
    if home and before and home[0] != home[1] and before == home[0]:
        moved += 1
        if after != home[1]:
            print('ibdata1: the doublewrite copy of page 0 of space %d (page %d) kept its old IV'
                  % (space, p))
            bad = 1
print('%s: %d doublewrite copies of a page 0 took their new IV' % (mode, moved))
sys.exit(bad)
EOF
}

for mode in rewrap reencrypt; do
  step "2. prepare --mode=$mode"
  cp -a --sparse=always "$T/bk" "$T/pr-$mode"
  expect 0 "$IBDCRYPT" prepare --target-dir="$T/pr-$mode" --keyfile="$K" --to-keyfile="$NEWK" \
    --mode=$mode
  changed_pages $mode "$T/bk" "$T/pr-$mode" || fail "prepare --mode=$mode changed the wrong pages"
  # the manifest follows (rewrap: CRCs updated by the page 0s' change; reencrypt: files read)
  expect 0 "$IBDCRYPT" verify --deep --manifest --keyfile="$NEWK" "$T/pr-$mode"
  server_on "prepare-$mode" "$T/pr-$mode" "$NEWK"
done

step "2. an incremental backup: refused; applied to its base first, then prepared"
sums "$T/mbi" > "$T/mbi.sums"
expect 3 "$IBDCRYPT" prepare --target-dir="$T/mbi" --keyfile="$K" --to-keyfile="$NEWK"
grep -q "an incremental backup (.*\.delta holds pages changed since its base backup" "$T/err" &&
  sums "$T/mbi" | diff -q - "$T/mbi.sums" > /dev/null ||
  fail "prepare of an incremental backup: $(cat "$T/err")"
"$IBDCRYPT" verify --keyfile="$K" "$T/mbi" > "$T/out" 2> "$T/err" || true
grep -q "verify: an incremental backup of mariadb-backup (.*\.delta, ...): the pages of its .delta files are not checked" "$T/err" ||
  fail "verify of an incremental backup does not say its .delta pages are not checked: $(cat "$T/err")"
mdb_prepare "$T/mbf" || fail "mariadb-backup --prepare of the base"
mdb_prepare "$T/mbf" --incremental-dir="$T/mbi" || fail "mariadb-backup --prepare --incremental-dir"
expect 0 "$IBDCRYPT" prepare --target-dir="$T/mbf" --keyfile="$K" --to-keyfile="$NEWK" \
  --mode=reencrypt
server_on incremental "$T/mbf" "$NEWK" "$T/inc.txt"
rm -rf "$T/mbf" "$T/mbi"

step "2. rekey in place"
cp -a --sparse=always "$D" "$T/rk"
expect 0 "$IBDCRYPT" rekey --datadir="$T/rk" --keyfile="$K" --to-keyfile="$NEWK"
expect 0 "$IBDCRYPT" verify --deep --keyfile="$NEWK" "$T/rk"
server_on rekey "$T/rk" "$NEWK"
# reencrypt gives fresh page keys even where the key stays: the same key file as the target
# still re-encrypts every encrypted page (under a new crypt-data IV)
cp -a --sparse=always "$D" "$T/rk-same"
expect 0 "$IBDCRYPT" rekey --datadir="$T/rk-same" --keyfile="$K" --to-keyfile="$K"
changed_pages reencrypt "$D" "$T/rk-same" || fail "rekey to the same keys kept page keys"
expect 0 "$IBDCRYPT" verify --deep --keyfile="$K" "$T/rk-same"
rm -rf "$T/rk-same"

step "3. kill -9 at random moments, then the same command again"
cp -a --sparse=always "$T/bk" "$T/ref"
expect 0 "$IBDCRYPT" prepare --target-dir="$T/ref" --keyfile="$K" --to-keyfile="$NEWK" \
  --mode=reencrypt --deterministic-iv=crash-$SEED
points=(journal-save journal-saved rekey-write rekey-page0 redo-undo-saved redo-write manifest-written)
# rounds 1-6: one crash, then the command again; rounds 7-8: a second crash during that resume
# (it replays the journal first), then the command a third time
for i in 1 2 3 4 5 6 7 8; do
  for cmd in prepare rekey; do
    w=$T/crash-$cmd-$i
    rm -rf "$w"
    if [[ $cmd == prepare ]]; then
      cp -a --sparse=always "$T/bk" "$w"; args=(prepare --target-dir="$w")
    else
      cp -a --sparse=always "$D" "$w"; args=(rekey --datadir="$w")
    fi
    args+=(--keyfile="$K" --to-keyfile="$NEWK" --mode=reencrypt --deterministic-iv=crash-$SEED)
    if (( i % 2 )); then
      # a crash point: the N-th journal write, data write, page 0 write
      p=${points[RANDOM % ${#points[@]}]}
      IBDCRYPT_CRASH_POINT="$p:$((1 + RANDOM % 12))" "$IBDCRYPT" -q "${args[@]}" 2>/dev/null || true
    else
      # a timed kill
      "$IBDCRYPT" -q "${args[@]}" 2>/dev/null &
      pid=$!
      sleep "0.$((RANDOM % 9))$((RANDOM % 10))"
      kill -9 $pid 2>/dev/null || true
      wait $pid 2>/dev/null || true
    fi
    if (( i > 6 )); then
      p=${points[RANDOM % ${#points[@]}]}
      IBDCRYPT_CRASH_POINT="$p:$((1 + RANDOM % 3))" "$IBDCRYPT" -q "${args[@]}" 2>/dev/null || true
    fi
    expect 0 "$IBDCRYPT" -q "${args[@]}"
    [[ ! -e "$w/.ibdcrypt-journal" ]] || fail "journal left in $w"
    # (a datadir has no manifest: the prepared backup's is the one file rekey does not make)
    x=(); [[ $cmd == rekey ]] && x=(-x ibdcrypt-backup.json)
    diff -r "${x[@]}" "$T/ref" "$w" > /dev/null || fail "$cmd after a crash (round $i) differs from an uninterrupted run"
  done
done
server_on crash "$T/crash-rekey-2" "$NEWK"
# a server started while rekey runs is refused (the run holds InnoDB's own locks on ibdata1
# and ib_logfile0), and so is a second run; the stopped run, killed, then finishes
mdb_clone "$T/a" "$T/busy" keyfile="$K" datadir_from="$D" > /dev/null
IBDCRYPT_CRASH_POINT=rekey-write:1:stop "$IBDCRYPT" -q rekey --datadir="$T/busy/data" \
  --keyfile="$K" --to-keyfile="$NEWK" > /dev/null 2>&1 &
busy=$!
for _ in $(seq 100); do [[ $(ps -o stat= -p $busy) == T* ]] && break; sleep 0.1; done
[[ $(ps -o stat= -p $busy) == T* ]] || fail "rekey did not stop at its first write"
! mdb_start "$T/busy" > /dev/null 2>&1 || fail "a server started on a datadir that rekey is changing"
grep -q "Unable to lock ./ibdata1" "$T/busy/log/error.log" || fail "the server did not fail on the lock"
expect 3 "$IBDCRYPT" rekey --datadir="$T/busy/data" --keyfile="$K" --to-keyfile="$NEWK"
grep -q "another ibdcrypt prepare or rekey is running" "$T/err" || fail "a second rekey: $(cat "$T/err")"
kill -9 $busy; wait $busy 2>/dev/null || true
busy=""
expect 0 "$IBDCRYPT" -q rekey --datadir="$T/busy/data" --keyfile="$K" --to-keyfile="$NEWK"
server_on busy "$T/busy/data" "$NEWK"

step "4. errors: nothing changed, clear messages"
check_untouched() { sums "$D" | diff -q - "$T/src.sums" > /dev/null || fail "the source changed ($1)"; }
grep -v '^100;' "$NEWK" > "$T/keys-no100.txt"
cp -a --sparse=always "$D" "$T/e"
sums "$T/e" > "$T/e.sums"
expect 3 "$IBDCRYPT" rekey --datadir="$T/e" --keyfile="$K" --to-keyfile="$T/keys-no100.txt"
grep -q "key id 100" "$T/err" || fail "missing new key not named: $(cat "$T/err")"
sums "$T/e" | diff -q - "$T/e.sums" > /dev/null || fail "rekey with a missing key changed files"
mdb_make_keys "wrong-$SEED" "$(_mdb_get "$T/a" key_ids)" "$T/keys-wrong.txt"
expect 1 "$IBDCRYPT" rekey --datadir="$T/e" --keyfile="$T/keys-wrong.txt" --to-keyfile="$NEWK"
grep -q "does not decrypt" "$T/err" || fail "wrong current key not named: $(cat "$T/err")"
sums "$T/e" | diff -q - "$T/e.sums" > /dev/null || fail "rekey with a wrong key changed files"
grep -v '^100;' "$K" > "$T/keys-current-no100.txt"
expect 3 "$IBDCRYPT" verify --deep --keyfile="$T/keys-current-no100.txt" "$D"
grep -q "KEY MISSING" "$T/out" || fail "verify --deep with a missing key did not say so"
mdb_clone "$T/a" "$T/live" datadir_from="$D"
mdb_start "$T/live"
expect 3 "$IBDCRYPT" rekey --datadir="$T/live/data" --keyfile="$K" --to-keyfile="$NEWK"
grep -q "server is running" "$T/err" || fail "running server not named: $(cat "$T/err")"
expect 3 "$IBDCRYPT" backup --datadir="$T/live/data" --keyfile="$K" --target-dir="$T/bk-live"
[[ ! -e "$T/bk-live" ]] || fail "a backup of a running server was left behind"
# verify of a running server while it writes: its tablespaces checked, its moving log not
( for k in $(seq 1 30); do
    mdb_sql "$T/live" "UPDATE ibc.t_k1 SET a = a + 1 WHERE id % 31 = $k" || break
  done ) > /dev/null 2>&1 &
wl=$!
expect 0 "$IBDCRYPT" verify --deep --keyfile="$K" "$T/live/data"
wait "$wl" || true
grep -q "^ib_logfile0 .*NOT CHECKED: in use: InnoDB's lock on it is held" "$T/out" &&
  grep -q "server (pid [0-9]*) is running on these files" "$T/err" &&
  grep -q "ibc/t_k1.ibd .* OK$" "$T/out" || fail "verify of a running server: $(cat "$T/out" "$T/err")"
mdb_stop "$T/live"
# an unreadable file: the tool runs as an unprivileged user (root reads everything)
if command -v setpriv > /dev/null; then
  cp -a "$D" "$T/perm" && chown -R nobody "$T/perm" && chmod 755 "$T"
  chmod 000 "$T/perm/ibc/t_k1.ibd"
  expect 3 setpriv --reuid=nobody --regid=nogroup --clear-groups "$IBDCRYPT" verify "$T/perm"
  grep -q "t_k1.ibd.*cannot open: Permission denied" "$T/out" || fail "unreadable file not named"
  mkdir -p "$T/permout" && chown nobody "$T/permout"
  expect 3 setpriv --reuid=nobody --regid=nogroup --clear-groups "$IBDCRYPT" backup \
    --datadir="$T/perm" --target-dir="$T/permout/bk"
  grep -q "backup: ibc/t_k1.ibd could not be read" "$T/err" && [[ -z "$(ls -A "$T/permout")" ]] ||
    fail "backup of an unreadable file: $(cat "$T/err")"
fi
# a full target file system
mkdir -p "$T/small"
if mount -t tmpfs -o size=4m tmpfs "$T/small" 2> /dev/null; then
  MNT=$T/small
  expect 3 "$IBDCRYPT" backup --datadir="$D" --keyfile="$K" --target-dir="$T/small/bk"
  grep -qi "no space" "$T/err" || fail "full target not named: $(cat "$T/err")"
  [[ -z "$(ls -A "$T/small")" ]] || fail "a partial backup was left on the full file system: $(ls -A "$T/small")"
  umount "$T/small"; MNT=""
  # rekey on a file system that fills up while it runs: exit 3, saying how to finish; once
  # there is room, the same command finishes it
  mb=$(du -s --block-size=1M "$D" | cut -f1)
  mount -t tmpfs -o size=$((mb + 1))m tmpfs "$T/small" && MNT=$T/small
  cp -a "$D" "$T/small/d"
  expect 3 "$IBDCRYPT" rekey --datadir="$T/small/d" --keyfile="$K" --to-keyfile="$NEWK"
  grep -qi "no space" "$T/err" && grep -q "stopped part-way; .*run the same command again" "$T/err" ||
    fail "rekey on a full file system: $(cat "$T/err")"
  mount -o remount,size=$((3 * mb))m "$T/small"
  expect 0 "$IBDCRYPT" rekey --datadir="$T/small/d" --keyfile="$K" --to-keyfile="$NEWK"
  expect 0 "$IBDCRYPT" verify --deep --keyfile="$NEWK" "$T/small/d"
  umount "$T/small"; MNT=""
else
  echo "frontends: cannot mount a tmpfs here; full-target check skipped"
fi
# garbage instead of a datadir
mkdir -p "$T/garbage/db"
head -c 100000 /dev/urandom > "$T/garbage/ibdata1"
head -c 70000 /dev/urandom > "$T/garbage/db/t.ibd"
expect 1 "$IBDCRYPT" verify "$T/garbage"
grep -q "ibdata1.*not an InnoDB tablespace" "$T/out" "$T/err" || fail "garbage not named"
expect 1 "$IBDCRYPT" rekey --datadir="$T/garbage" --keyfile="$K" --to-keyfile="$NEWK"
check_untouched "error cases"

step "5. bad pages in the source"
cp -a --sparse=always "$D" "$T/bad"
python3 - "$T/bad/ibc/t_k2.ibd" <<'EOF'
import sys
f = open(sys.argv[1], 'r+b'); data = f.read()
flags = int.from_bytes(data[54:58], 'big')
ps = (512 << (flags & 15)) if flags & 16 else 16384
f.seek(3 * ps + ps // 2); b = f.read(1); f.seek(3 * ps + ps // 2); f.write(bytes([b[0] ^ 0x40]))
EOF
expect 1 "$IBDCRYPT" backup --datadir="$T/bad" --keyfile="$K" --target-dir="$T/bk-bad"
grep -q "page 3: bad-checksum" "$T/err" || fail "bad page not named: $(cat "$T/err")"
[[ ! -e "$T/bk-bad" ]] || fail "a backup with bad pages was written without --keep-going"
expect 1 "$IBDCRYPT" backup --datadir="$T/bad" --keyfile="$K" --target-dir="$T/bk-bad" --keep-going
python3 - "$T/bk-bad/ibdcrypt-backup.json" <<'EOF' || fail "manifest does not list the bad page"
import json, sys
m = json.load(open(sys.argv[1]))
f = [f for f in m['files'] if f['path'] == 'ibc/t_k2.ibd'][0]
sys.exit(not (m['summary']['verdict'] == 'bad' and f['bad_pages'] == [{'page': 3, 'problem': 'bad-checksum'}]))
EOF
# its stream, verified by workers, and on one thread: the same report
expect 1 "$IBDCRYPT" backup --datadir="$T/bad" --keyfile="$K" --stream=xbstream --keep-going
mv "$T/out" "$T/bad.xbs"
for t in 1 2; do
  expect 1 "$IBDCRYPT" --threads=$t --json verify --stream=xbstream --deep --keyfile="$K" < "$T/bad.xbs"
  python3 -c "import json,sys; [print(f['path'], f['pages'], f.get('bad_pages')) for f in json.load(open(sys.argv[1]))['files']]" \
    "$T/out" > "$T/bad-stream-$t.txt"
done
grep -q "^ibc/t_k2.ibd .* \[{'page': 3, 'problem': 'bad-checksum'}\]$" "$T/bad-stream-2.txt" &&
  cmp -s "$T/bad-stream-1.txt" "$T/bad-stream-2.txt" ||
  fail "verify --stream of a bad page: $(diff "$T/bad-stream-1.txt" "$T/bad-stream-2.txt" | head -5)"
rm -f "$T/bad.xbs"

step "6. Aria tables and binary logs encrypted with key id 1"
# aria_encrypt_tables=ON encrypts Aria tables with key id 1, the mysql.* system tables too;
# encrypt_binlog=ON the binary logs, with key 1 itself. Re-keyed to another key 1 without
# them, a server holding only the new keys could not open mysql.global_priv (seen: "Access
# denied" for root, "Read page with wrong checksum" for mysql/tables_priv.MAI) nor read its
# binary logs (seen: SHOW BINLOG EVENTS "Wrong offset or I/O error"). rekey re-wraps the
# Aria tables' IVs and re-encrypts every event of the binary logs (also when killed before
# its page writes, or between two logs, and run again: the same bytes); the server reads
# every table and every event (SHOW BINLOG EVENTS, mariadb-binlog decoding them) with only
# the new keys.
mdb_new "$T/ar" encrypt_tables=ON encrypt_log=ON "mysqld:aria_encrypt_tables=ON" \
  "mysqld:encrypt_binlog=ON" "mysqld:log_bin=binlog" "mysqld:server_id=1" "$@"
mdb_start "$T/ar"
mdb_sql "$T/ar" "CREATE DATABASE ar; USE ar;
  CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(100), b BLOB) ENGINE=Aria ROW_FORMAT=PAGE;
  INSERT INTO t SELECT seq, REPEAT('a', 90), IF(seq % 100 = 0, REPEAT('B', 20000), NULL)
    FROM seq_1_to_2000;
  CREATE TABLE n (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=Aria TRANSACTIONAL=0;
  INSERT INTO n SELECT seq, REPEAT('n', 90) FROM seq_1_to_2000;
  CREATE TABLE pc (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=Aria PAGE_CHECKSUM=0;
  INSERT INTO pc SELECT seq, REPEAT('p', 90) FROM seq_1_to_500;
  CREATE TABLE i (id INT PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB;
  INSERT INTO i SELECT seq, REPEAT('i', 90) FROM seq_1_to_2000; FLUSH BINARY LOGS;
  SET binlog_format=ROW; UPDATE i SET v = CONCAT(v, id) WHERE id % 7 = 0;
  INSERT INTO i VALUES (5000, REPEAT('z', 100)); FLUSH BINARY LOGS" > /dev/null
ar_sums() { mdb_sql "$1" "CHECKSUM TABLE ar.t, ar.n, ar.pc, ar.i; SELECT COUNT(*) FROM mysql.global_priv"; }
# every event of the first two binary logs (closed: the third gets a Stop event when the
# server stops), as the server reads and decodes them
ar_binlogs() {
  local l
  for l in binlog.000001 binlog.000002; do
    mdb_sql "$1" "SHOW BINLOG EVENTS IN '$l'" &&
      "$(_mdb_bin mariadb-binlog)" --defaults-file="$1/my.cnf" --read-from-remote-server \
        --base64-output=decode-rows --verbose "$l" | grep -v "in use or was not closed properly" ||
      return 1
  done
}
ar_sums "$T/ar" > "$T/ar-before.txt"
ar_binlogs "$T/ar" > "$T/ar-binlogs-before.txt"
mdb_stop "$T/ar"
ARK=$T/ar/keys/keys.txt
ARNEW=$T/keys-ar-new.txt
mdb_make_keys "aria-new-$SEED" "$(_mdb_get "$T/ar" key_ids)" "$ARNEW"
expect 0 "$IBDCRYPT" --json inspect "$T/ar/data"
python3 -c "import json,sys; j=json.load(open(sys.argv[1])); assert j['aria_tables_encrypted'] >= 20 and j['binary_logs_encrypted'] == 3, (j['aria_tables_encrypted'], j['binary_logs_encrypted'])" \
  "$T/out" || fail "inspect does not count the Aria tables and binary log encrypted with key 1"
# key 1 kept: nothing to re-wrap, nothing to warn about
{ grep -v '^1;' "$ARNEW"; grep '^1;' "$ARK"; } > "$T/keys-ar-k1.txt"
cp -a --sparse=always "$T/ar/data" "$T/ar-k1"
expect 0 "$IBDCRYPT" rekey --datadir="$T/ar-k1" --keyfile="$ARK" --to-keyfile="$T/keys-ar-k1.txt"
grep -q "Aria\|binary log" "$T/err" && fail "rekey with key 1 kept: $(cat "$T/err")"
rm -rf "$T/ar-k1"
cp -a --sparse=always "$T/ar/data" "$T/ar-rk"
cp -a --sparse=always "$T/ar/data" "$T/ar-crash"
cp -a --sparse=always "$T/ar/data" "$T/ar-crash2"
expect 0 "$IBDCRYPT" rekey --datadir="$T/ar-rk" --keyfile="$ARK" --to-keyfile="$ARNEW" \
  --deterministic-iv=ar-$SEED
grep -q "; [0-9]* Aria tables re-encrypted ([0-9]* pages); 3 binary logs re-encrypted" "$T/err" ||
  fail "rekey of a datadir with Aria tables and binary logs encrypted with key 1: $(cat "$T/err")"
# reencrypt gave the Aria tables new page keys: every page of their data and index files
# differs but the bitmap (page 0 of a data file, never encrypted) and the index file's header
# page; PAGE_CHECKSUM=0 too (ma_crypt.c sets the checksum of every page it encrypts)
python3 - "$T/ar/data/ar" "$T/ar-rk/ar" <<'PY' || fail "Aria pages after reencrypt: not every page re-encrypted"
import sys
a, b = sys.argv[1:]
for t, want in (('t', 1), ('n', 1), ('pc', 1)):
    for ext, skip in (('MAD', 1), ('MAI', 1)):
        x, y = open(f'{a}/{t}.{ext}', 'rb').read(), open(f'{b}/{t}.{ext}', 'rb').read()
        pages = [(x[i:i + 8192], y[i:i + 8192]) for i in range(skip * 8192, len(x), 8192)]
        same = sum(p == q for p, q in pages)
        assert len(x) == len(y) and pages, (t, ext)
        assert (same == 0) if want else (same == len(pages)), (t, ext, same, len(pages))
PY
expect 137 env IBDCRYPT_CRASH_POINT=rekey-page0:1 "$IBDCRYPT" rekey --datadir="$T/ar-crash" \
  --keyfile="$ARK" --to-keyfile="$ARNEW" --deterministic-iv=ar-$SEED
expect 0 "$IBDCRYPT" rekey --datadir="$T/ar-crash" --keyfile="$ARK" --to-keyfile="$ARNEW" \
  --deterministic-iv=ar-$SEED
diff -r "$T/ar-rk" "$T/ar-crash" > /dev/null || fail "rekey killed before its heads and run again differs"
cp -a --sparse=always "$T/ar/data" "$T/ar-crash3"
expect 137 env IBDCRYPT_CRASH_POINT=rekey-aria:2 "$IBDCRYPT" rekey --datadir="$T/ar-crash3" \
  --keyfile="$ARK" --to-keyfile="$ARNEW" --deterministic-iv=ar-$SEED
expect 0 "$IBDCRYPT" rekey --datadir="$T/ar-crash3" --keyfile="$ARK" --to-keyfile="$ARNEW" \
  --deterministic-iv=ar-$SEED
diff -r "$T/ar-rk" "$T/ar-crash3" > /dev/null || fail "rekey killed among the Aria pages and run again differs"
rm -rf "$T/ar-crash3"
# rewrap: the Aria tables' pages keep their page key (their data files stay as they are)
cp -a --sparse=always "$T/ar/data" "$T/ar-rw"
expect 0 "$IBDCRYPT" rekey --mode=rewrap --datadir="$T/ar-rw" --keyfile="$ARK" --to-keyfile="$ARNEW"
grep -q "; [0-9]* Aria tables re-wrapped (their pages keep their page key); 3 binary logs" "$T/err" &&
  cmp -s "$T/ar/data/ar/t.MAD" "$T/ar-rw/ar/t.MAD" || fail "rekey --mode=rewrap of the Aria tables: $(cat "$T/err")"
rm -rf "$T/ar-rw"
# killed with the first log renamed and the second written beside it, not yet renamed
expect 137 env IBDCRYPT_CRASH_POINT=rekey-binlog:2 "$IBDCRYPT" rekey --datadir="$T/ar-crash2" \
  --keyfile="$ARK" --to-keyfile="$ARNEW" --deterministic-iv=ar-$SEED
cmp -s "$T/ar/data/binlog.000001" "$T/ar-crash2/binlog.000001" &&
  fail "the first binary log was not re-keyed before the kill"
cmp -s "$T/ar/data/binlog.000002" "$T/ar-crash2/binlog.000002" ||
  fail "the second binary log changed before its rename"
expect 0 "$IBDCRYPT" rekey --datadir="$T/ar-crash2" --keyfile="$ARK" --to-keyfile="$ARNEW" \
  --deterministic-iv=ar-$SEED
grep -q "; 2 binary logs re-encrypted" "$T/err" || fail "the re-run did not finish the binary logs: $(cat "$T/err")"
diff -r "$T/ar-rk" "$T/ar-crash2" > /dev/null ||
  fail "rekey killed between two binary logs and run again differs"
rm -rf "$T/ar-crash" "$T/ar-crash2"
# damaged binary logs: an event whose bytes changed is re-encrypted as it is (the new key
# gives the bytes the old one gave) with a warning; a log cut inside its last event keeps
# that event's bytes
cp -a --sparse=always "$T/ar/data" "$T/ar-dmg"
python3 - "$T/ar-dmg/binlog.000001" <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
fde = struct.unpack_from('<I', b, 4 + 9)[0]
off = 4 + fde + struct.unpack_from('<I', b, 4 + fde + 9)[0]   # the first encrypted event
off += struct.unpack_from('<I', b, off + 9)[0]                # the second
b[off + 20] ^= 0x10
open(sys.argv[1], 'wb').write(b)
PY
size3=$(stat -c %s "$T/ar-dmg/binlog.000003")
truncate -s $((size3 - 5)) "$T/ar-dmg/binlog.000003"
expect 0 "$IBDCRYPT" rekey --datadir="$T/ar-dmg" --keyfile="$ARK" --to-keyfile="$ARNEW" \
  --deterministic-iv=ar-$SEED
grep -q "warning: 1 event of the binary log binlog.000001 did not decrypt to a sound event" "$T/err" &&
  grep -q "warning: the binary log binlog.000003 ends in an event cut short" "$T/err" ||
  fail "damaged binary logs: $(cat "$T/err")"
python3 - "$T/ar/data/binlog.000003" "$T/ar-rk/binlog.000003" "$T/ar-dmg/binlog.000003" <<'PY' ||
import sys
orig, rekeyed, cut = (open(f, 'rb').read() for f in sys.argv[1:])
n = len(orig) - 23                   # its last event: Stop, 19 + 4 bytes, cut 5 bytes short
sys.exit(not (cut[:n] == rekeyed[:n] != orig[:n] and cut[n:] == orig[n:len(orig) - 5]))
PY
  fail "the cut log: its whole events re-keyed, the cut one as it was"
expect 1 "$IBDCRYPT" verify --deep --keyfile="$ARNEW" "$T/ar-dmg"
grep -q "^binlog.000001 .*ERROR: 1 of [0-9]* events do not decrypt to a sound event with key id 1 (the first at offset [0-9]*)" "$T/out" &&
  grep -q "^binlog.000003 .* OK" "$T/out" || fail "verify --deep of the damaged binary logs: $(cat "$T/out")"
# backup with keys checks the binary logs and Aria tables before it writes anything: a damaged
# event, then (the log put right) a damaged Aria page, is named, and no backup is written
expect 1 "$IBDCRYPT" backup --datadir="$T/ar-dmg" --keyfile="$ARNEW" --target-dir="$T/ar-bk"
grep -q "^binlog.000001 .*ERROR: 1 of [0-9]* events do not decrypt to a sound event" "$T/err" &&
  grep -q "backup NOT written: a binary log or an Aria table is damaged" "$T/err" &&
  [[ ! -e $T/ar-bk ]] || fail "backup of a datadir with a damaged binary log: $(cat "$T/err")"
cp "$T/ar-rk/binlog.000001" "$T/ar-dmg/binlog.000001"
# its last page (the first one a key opens tells a damaged page from a wrong key)
dpage=$(python3 - "$T/ar-dmg/ar/t.MAD" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
last = len(b) // 8192 - 1
assert last >= 2, last
b[last * 8192 + 100] ^= 0x01
open(sys.argv[1], 'wb').write(b)
print(last)
PY
)
expect 1 "$IBDCRYPT" backup --datadir="$T/ar-dmg" --keyfile="$ARNEW" --stream=xbstream
grep -q "^ar/t.MAI .*ERROR: .MAD page $dpage does not decrypt with key id 1 to its checksum (damaged)" "$T/err" &&
  [[ ! -s $T/out ]] || fail "backup of a datadir with a damaged Aria page: $(cat "$T/err")"
expect 1 "$IBDCRYPT" backup --datadir="$T/ar-dmg" --keyfile="$ARNEW" --target-dir="$T/ar-bk" --keep-going
grep -q "\"error\":\".MAD page $dpage does not decrypt with key id 1 to its checksum (damaged)\"" \
  "$T/ar-bk/ibdcrypt-backup.json" && cmp -s "$T/ar-dmg/ar/t.MAD" "$T/ar-bk/ar/t.MAD" ||
  fail "backup --keep-going of a damaged Aria page: $(cat "$T/err")"
# verify --stream --deep checks the Aria tables of a stream too (their files held until both
# came: the .MAD comes before its .MAI)
expect 1 "$IBDCRYPT" backup --datadir="$T/ar-dmg" --keyfile="$ARNEW" --stream=xbstream --keep-going
mv "$T/out" "$T/ar-dmg.xbs"
expect 1 "$IBDCRYPT" verify --stream=xbstream --deep --keyfile="$ARNEW" < "$T/ar-dmg.xbs"
grep -q "^ar/t.MAI .*ERROR: .MAD page $dpage does not decrypt with key id 1 to its checksum (damaged)" "$T/out" &&
  grep -q "^ar/n.MAI .*Aria table, key 1 AES_CBC: [0-9]* pages decrypted (.MAD and .MAI)  OK" "$T/out" ||
  fail "verify --stream of a damaged Aria page: $(cat "$T/out")"
rm -rf "$T/ar-dmg" "$T/ar-bk" "$T/ar-dmg.xbs"
expect 0 "$IBDCRYPT" rekey --datadir="$T/ar-rk" --keyfile="$ARK" --to-keyfile="$ARNEW"
grep -q "nothing to do" "$T/err" || fail "a second rekey did not find the Aria tables done: $(cat "$T/err")"
# verify --deep decrypts and checks every event of the binary logs (with progress)
expect 0 "$IBDCRYPT" --progress=json verify --deep --keyfile="$ARNEW" "$T/ar-rk"
[[ $(grep -c "^binlog.00000[123] .*binary log, key 1 AES_CBC: [0-9]* events decrypted  OK" "$T/out") == 3 ]] ||
  fail "verify --deep does not check the binary logs: $(cat "$T/out")"
grep -q '^{"progress":"binary logs","bytes":\([0-9]*\),"total":\1,"percent":100.0,.*"done":true}$' "$T/err" ||
  fail "no progress while the binary logs are checked: $(cat "$T/err")"
# and every page of the Aria tables (.MAD and .MAI), re-encrypted under the new page keys
grep -q "^ar/t.MAI .*Aria table, key 1 AES_CBC: [0-9]* pages decrypted (.MAD and .MAI)  OK" "$T/out" &&
  grep -q "^ar/n.MAI .*Aria table, key 1 AES_CBC: [0-9]* pages decrypted (.MAD and .MAI)  OK" "$T/out" &&
  grep -q "^mysql/global_priv.MAI .*Aria table, key 1 AES_CBC: [0-9]* pages decrypted" "$T/out" ||
  fail "verify --deep does not check the Aria tables: $(grep MAI "$T/out")"
# so does a backup with keys (its report on stderr beside the stream), and a verify of that
# stream (the Aria tables: with the old key 1 a key mismatch)
expect 0 "$IBDCRYPT" backup --datadir="$T/ar-rk" --keyfile="$ARNEW" --stream=xbstream
[[ $(grep -c "^binlog.00000[123] .*binary log, key 1 AES_CBC: [0-9]* events decrypted  OK" "$T/err") == 3 ]] &&
  grep -q "^ar/t.MAI .*Aria table, key 1 AES_CBC: [0-9]* pages decrypted (.MAD and .MAI)  OK" "$T/err" &&
  [[ -s $T/out ]] || fail "backup with keys does not check the binary logs and Aria tables: $(cat "$T/err")"
mv "$T/out" "$T/ar-rk.xbs"
grep "^ar/t.MAI " "$T/err" > "$T/ar-t-line.txt"
expect 0 "$IBDCRYPT" verify --stream=xbstream --deep --keyfile="$ARNEW" < "$T/ar-rk.xbs"
grep -q "^mysql/global_priv.MAI .*Aria table, key 1 AES_CBC: [0-9]* pages decrypted" "$T/out" &&
  grep -qxF "$(cat "$T/ar-t-line.txt")" "$T/out" ||
  fail "verify --stream does not check the Aria tables as backup did: $(grep MAI "$T/out")"
expect 1 "$IBDCRYPT" verify --stream=xbstream --deep --keyfile="$ARK" < "$T/ar-rk.xbs"
grep -q "^ar/t.MAI .*ERROR: key id 1 does not decrypt this Aria table (KEY MISMATCH)" "$T/out" ||
  fail "verify --stream with the old key 1: $(grep MAI "$T/out")"
rm -f "$T/ar-rk.xbs"
expect 0 "$IBDCRYPT" --json inspect --keyfile="$ARNEW" "$T/ar-rk"
grep -q '"binary_logs_key":"ok","aria_tables_key":"ok"' "$T/out" || fail "inspect with the new keys: $(cat "$T/out")"
expect 0 "$IBDCRYPT" inspect --keyfile="$ARK" "$T/ar-rk"
grep -q "re-encrypt them; WRONG KEY: key 1 does not open binlog.000001, ..." "$T/out" &&
  grep -q "prepare and rekey re-key them; WRONG KEY: key 1 does not open ar/n.MAI, ..." "$T/out" ||
  fail "inspect with the old keys: $(tail -3 "$T/out")"
expect 1 "$IBDCRYPT" verify --deep --keyfile="$ARK" "$T/ar-rk"
grep -q "^binlog.000001 .*ERROR: key id 1 does not decrypt this binary log (KEY MISMATCH)" "$T/out" &&
  grep -q "^ar/t.MAI .*ERROR: key id 1 does not decrypt this Aria table (KEY MISMATCH)" "$T/out" ||
  fail "verify --deep with the old keys: $(cat "$T/out")"
mdb_clone "$T/ar" "$T/srv-ar" keyfile="$ARNEW" datadir_from="$T/ar-rk"
mdb_start "$T/srv-ar"
ar_sums "$T/srv-ar" > "$T/ar-after.txt"
# a mariadb-backup stream of it (an idle server): verify --stream --deep checks its Aria tables
mdb_backup "$T/srv-ar" "$T/ar-mbs" --stream --parallel=2 || fail "mariadb-backup --stream"
expect 0 "$IBDCRYPT" verify --stream=xbstream --deep --keyfile="$ARNEW" < "$T/ar-mbs.xb"
grep -q "^ar/t.MAI .*Aria table, key 1 AES_CBC: [0-9]* pages decrypted (.MAD and .MAI)  OK" "$T/out" &&
  grep -q "^mysql/global_priv.MAI .*Aria table, key 1 AES_CBC: [0-9]* pages decrypted" "$T/out" ||
  fail "verify --stream of a mariadb-backup stream with Aria tables: $(grep MAI "$T/out")"
rm -rf "$T/ar-mbs" "$T/ar-mbs.xb"
ar_binlogs "$T/srv-ar" > "$T/ar-binlogs-after.txt" || fail "the server cannot read the re-keyed binary logs"
mdb_check "$T/srv-ar"
mdb_stop "$T/srv-ar"
diff -u "$T/ar-before.txt" "$T/ar-after.txt" || fail "the tables differ after rekey"
diff -u "$T/ar-binlogs-before.txt" "$T/ar-binlogs-after.txt" > "$T/binlog-diff.txt" ||
  fail "the binary logs read differently after rekey: $(head -20 "$T/binlog-diff.txt")"
grep -q "UPDATE .ar.\..i." "$T/ar-binlogs-after.txt" || fail "mariadb-binlog decoded no row event"
# the binary logs under AES_CTR (file_key_management_encryption_algorithm), through a backup
# and prepare (which updates the backup's manifest for them): a server with only the new keys
# reads every event
mdb_new "$T/bc" encrypt_tables=ON encrypt_log=ON algo=AES_CTR "mysqld:encrypt_binlog=ON" \
  "mysqld:log_bin=binlog" "mysqld:server_id=1"
mdb_start "$T/bc"
mdb_sql "$T/bc" "CREATE DATABASE ar; USE ar; CREATE TABLE i (id INT PRIMARY KEY, v VARCHAR(100));
  INSERT INTO i SELECT seq, REPEAT('c', seq % 90) FROM seq_1_to_500; FLUSH BINARY LOGS;
  SET binlog_format=ROW; UPDATE i SET v = CONCAT(v, id) WHERE id % 7 = 0; FLUSH BINARY LOGS" \
  > /dev/null
ar_binlogs "$T/bc" > "$T/bc-before.txt"
mdb_stop "$T/bc"
BCNEW=$T/keys-bc-new.txt
mdb_make_keys "bc-new-$SEED" "$(_mdb_get "$T/bc" key_ids)" "$BCNEW"
expect 0 "$IBDCRYPT" backup --datadir="$T/bc/data" --keyfile="$T/bc/keys/keys.txt" --target-dir="$T/bc-bk"
expect 0 "$IBDCRYPT" prepare --target-dir="$T/bc-bk" --keyfile="$T/bc/keys/keys.txt" \
  --to-keyfile="$BCNEW"
grep -q "; 3 binary logs re-encrypted" "$T/err" || fail "prepare, AES_CTR binary logs: $(cat "$T/err")"
# the manifest prepare updated holds the re-keyed logs; every event opens with the new keys
expect 0 "$IBDCRYPT" verify --deep --manifest --keyfile="$BCNEW" "$T/bc-bk"
[[ $(grep -c "^binlog.00000[123] .*binary log, key 1 AES_CTR: [0-9]* events decrypted  OK" "$T/out") == 3 ]] ||
  fail "verify --deep --manifest of the prepared AES_CTR backup: $(tail -5 "$T/out")"
mdb_clone "$T/bc" "$T/srv-bc" keyfile="$BCNEW" datadir_from="$T/bc-bk"
mdb_start "$T/srv-bc"
ar_binlogs "$T/srv-bc" > "$T/bc-after.txt" || fail "the server cannot read the AES_CTR binary logs"
mdb_stop "$T/srv-bc"
diff -u "$T/bc-before.txt" "$T/bc-after.txt" > "$T/binlog-diff.txt" ||
  fail "the AES_CTR binary logs read differently after prepare: $(head -20 "$T/binlog-diff.txt")"
# kill -9 with the binary log in use: the server's crash recovery reads the last binary log
# (two-phase commit between it and InnoDB), so with only the new keys it must open the
# re-keyed log, and every transaction committed before the kill is there
mdb_new "$T/bx" encrypt_tables=ON encrypt_log=ON "mysqld:encrypt_binlog=ON" \
  "mysqld:log_bin=binlog" "mysqld:server_id=1" "$@"
mdb_start "$T/bx"
mdb_sql "$T/bx" "CREATE DATABASE bx; USE bx; CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(60))
  ENGINE=InnoDB; INSERT INTO t SELECT seq, REPEAT('x', seq % 50) FROM seq_1_to_300" > /dev/null
for i in $(seq 1 40); do echo "INSERT INTO bx.t VALUES ($((1000 + i)), 'committed $i');"; done |
  mdb_sql "$T/bx" - > /dev/null
mdb_sql "$T/bx" "CHECKSUM TABLE bx.t; SELECT COUNT(*) FROM bx.t" > "$T/bx-before.txt"
mdb_kill9 "$T/bx"
cp -a --sparse=always "$T/bx/data" "$T/bx-rk"
expect 0 "$IBDCRYPT" rekey --datadir="$T/bx-rk" --keyfile="$T/bx/keys/keys.txt" --to-keyfile="$ARNEW"
grep -q "; 1 binary log re-encrypted" "$T/err" || fail "rekey after kill -9 with a binary log: $(cat "$T/err")"
mdb_clone "$T/bx" "$T/srv-bx" keyfile="$ARNEW" datadir_from="$T/bx-rk"
mdb_start "$T/srv-bx"
mdb_sql "$T/srv-bx" "CHECKSUM TABLE bx.t; SELECT COUNT(*) FROM bx.t" > "$T/bx-after.txt"
mdb_sql "$T/srv-bx" "SHOW BINLOG EVENTS IN 'binlog.000001'" > "$T/bx-events.txt" ||
  fail "the server cannot read the re-keyed binary log after the crash"
mdb_stop "$T/srv-bx"
grep -q "Recovering after a crash using binlog" "$T/srv-bx/log/error.log" ||
  fail "the server did not recover from the binary log: $(tail -5 "$T/srv-bx/log/error.log")"
diff -u "$T/bx-before.txt" "$T/bx-after.txt" || fail "committed rows lost after the crash and rekey"
grep -q "committed 40" "$T/bx-events.txt" && (( $(grep -c "Xid" "$T/bx-events.txt") >= 40 )) ||
  fail "the binary log lost its transactions: $(tail -3 "$T/bx-events.txt")"
# kill -9 with Aria changes not yet in the tables' pages (the Aria log holds them): after a
# reencrypt, the server's Aria recovery applies them to the re-encrypted pages with only the
# new keys (seen: "Aria engine: starting recovery ... recovery done"), every row there
mdb_new "$T/ak" encrypt_tables=ON encrypt_log=ON "mysqld:aria_encrypt_tables=ON" "$@"
mdb_start "$T/ak"
mdb_sql "$T/ak" "CREATE DATABASE ak; USE ak; CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(100),
  b BLOB) ENGINE=Aria TRANSACTIONAL=1; INSERT INTO t SELECT seq, REPEAT('a', 90),
  IF(seq % 100 = 0, REPEAT('B', 20000), NULL) FROM seq_1_to_3000; FLUSH TABLES" > /dev/null
for i in $(seq 1 30); do
  echo "INSERT INTO ak.t VALUES ($((5000 + i)), 'after $i', REPEAT('z', 5000));"
  echo "UPDATE ak.t SET v = 'upd' WHERE id = $i;"
done | mdb_sql "$T/ak" - > /dev/null
ak_sums() { mdb_sql "$1" "SELECT COUNT(*), SUM(LENGTH(b)), SUM(v = 'upd') FROM ak.t"; }
ak_sums "$T/ak" > "$T/ak-before.txt"
mdb_backup "$T/ak" "$T/ak-mb" || fail "mariadb-backup of a server with encrypted Aria tables"
mdb_kill9 "$T/ak"
# its mariadb-backup backup: prepare re-encrypts the Aria tables there too, and mariadb-backup
# --prepare, then a server, with only the new keys have every row
expect 0 "$IBDCRYPT" prepare --target-dir="$T/ak-mb" --keyfile="$T/ak/keys/keys.txt" \
  --to-keyfile="$ARNEW" --mode=reencrypt
grep -q "; [0-9]* Aria tables re-encrypted" "$T/err" || fail "prepare of a mariadb-backup backup with Aria tables: $(cat "$T/err")"
mdb_prepare "$T/ak-mb" || fail "mariadb-backup --prepare with the new keys"
mdb_clone "$T/ak" "$T/srv-akb" keyfile="$ARNEW" datadir_from="$T/ak-mb"
mdb_start "$T/srv-akb"
ak_sums "$T/srv-akb" > "$T/akb-after.txt"
mdb_stop "$T/srv-akb"
diff -u "$T/ak-before.txt" "$T/akb-after.txt" || fail "Aria rows differ in the prepared mariadb-backup backup"
expect 0 "$IBDCRYPT" rekey --datadir="$T/ak/data" --keyfile="$T/ak/keys/keys.txt" --to-keyfile="$ARNEW"
grep -q "; [0-9]* Aria tables re-encrypted" "$T/err" || fail "rekey after kill -9 with Aria changes: $(cat "$T/err")"
mdb_clone "$T/ak" "$T/srv-ak" keyfile="$ARNEW"
mdb_start "$T/srv-ak"
ak_sums "$T/srv-ak" > "$T/ak-after.txt"
mdb_sql "$T/srv-ak" "CHECK TABLE ak.t, mysql.global_priv EXTENDED" > "$T/ak-check.txt"
mdb_stop "$T/srv-ak"
grep -q "Aria engine: recovery done" "$T/srv-ak/log/error.log" ||
  fail "no Aria recovery after the kill: $(tail -5 "$T/srv-ak/log/error.log")"
diff -u "$T/ak-before.txt" "$T/ak-after.txt" || fail "Aria rows lost after the kill and reencrypt"
[[ $(grep -c "status	OK" "$T/ak-check.txt") == 2 ]] || fail "CHECK TABLE after Aria recovery: $(cat "$T/ak-check.txt")"
# binary logs outside the datadir: log_bin=DIR/lo.log (the server drops the extension and
# writes DIR/lo.000001, ...). rekey --defaults-file follows log_bin there and re-encrypts them;
# another base name's logs in that directory stay as they are. Left under the old key 1 (as
# before), a server with only the new keys could not read them: SHOW BINLOG EVENTS "Wrong
# offset or I/O error".
mkdir -p "$T/lo-logs"
mdb_new "$T/lo" encrypt_tables=ON encrypt_log=ON "mysqld:encrypt_binlog=ON" \
  "mysqld:log_bin=$T/lo-logs/lo.log" "mysqld:server_id=1"
mdb_start "$T/lo"
mdb_sql "$T/lo" "CREATE DATABASE lo; USE lo; CREATE TABLE lo.t (id INT PRIMARY KEY, v VARCHAR(40));
  INSERT INTO lo.t SELECT seq, REPEAT('o', seq % 40) FROM seq_1_to_300; FLUSH BINARY LOGS;
  UPDATE lo.t SET v = 'u' WHERE id % 9 = 0; FLUSH BINARY LOGS" > /dev/null
lo_binlogs() {
  mdb_sql "$1" "SHOW BINLOG EVENTS IN 'lo.000001'; SHOW BINLOG EVENTS IN 'lo.000002';
    CHECKSUM TABLE lo.t"
}
lo_binlogs "$T/lo" > "$T/lo-before.txt"
mdb_stop "$T/lo"
[[ -f "$T/lo-logs/lo.000003" && ! -e "$T/lo/data/lo.000001" ]] ||
  fail "log_bin=$T/lo-logs/lo.log: not the files expected: $(ls "$T/lo-logs" "$T/lo/data")"
cp "$T/lo-logs/lo.000001" "$T/lo-logs/other.000001" # another server's, in the same directory
cp "$T/lo-logs/lo.000001" "$T/lo-000001.orig"
expect 0 "$IBDCRYPT" rekey --defaults-file="$T/lo/my.cnf" --to-keyfile="$ARNEW"
grep -q "; 3 binary logs re-encrypted" "$T/err" ||
  fail "rekey of a datadir whose binary logs are elsewhere: $(cat "$T/err")"
cmp -s "$T/lo-logs/lo.000001" "$T/lo-000001.orig" && fail "lo.000001 was not re-keyed"
cmp -s "$T/lo-logs/other.000001" "$T/lo-000001.orig" || fail "another base name's log changed"
expect 0 "$IBDCRYPT" verify --deep --defaults-file="$T/lo/my.cnf" --keyfile="$ARNEW"
[[ $(grep -c "^$T/lo-logs/lo.00000[123] .*binary log, key 1 AES_CBC: [0-9]* events decrypted  OK" "$T/out") == 3 ]] ||
  fail "verify --deep --defaults-file does not check the binary logs elsewhere: $(cat "$T/out")"
rm "$T/lo-logs/other.000001"
mdb_clone "$T/lo" "$T/srv-lo" keyfile="$ARNEW"
mdb_start "$T/srv-lo"
lo_binlogs "$T/srv-lo" > "$T/lo-after.txt" || fail "the server cannot read the re-keyed binary logs"
mdb_stop "$T/srv-lo"
diff -u "$T/lo-before.txt" "$T/lo-after.txt" || fail "the binary logs elsewhere read differently"

step "7. a replica's relay logs encrypted with key id 1"
# A replica with encrypt_binlog=ON encrypts its relay logs with its own key 1, under the nonce
# of their own START_ENCRYPTION_EVENT; the events its primary sent keep the primary's headers
# (end positions in the primary's log), so only their CRC tells a key. rekey re-encrypts them
# with the binary logs: the replica, holding only the new keys, applies what they hold.
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mdb_new "$T/pri" seed="pri-$SEED" "mysqld:encrypt_binlog=ON" "mysqld:log_bin=binlog" \
  "mysqld:server_id=1" "mysqld:skip_networking=OFF" "mysqld:port=$PORT" \
  "mysqld:bind_address=127.0.0.1" "$@"
mdb_new "$T/rep" seed="rep-$SEED" "mysqld:encrypt_binlog=ON" "mysqld:server_id=2" \
  "mysqld:relay_log=relay-bin" "mysqld:skip_slave_start=ON" "$@"
mdb_start "$T/pri"
mdb_sql "$T/pri" "CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY 'pw';
  GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'; CREATE DATABASE d; USE d;
  CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(200));
  INSERT INTO t SELECT seq, REPEAT('x', seq % 200) FROM seq_1_to_3000;
  SET SESSION binlog_format=ROW; UPDATE t SET v = CONCAT(v, 'z') WHERE id % 7 = 0"
mdb_start "$T/rep"
# the replica fetches the primary's log into its relay logs and applies none of it
mdb_sql "$T/rep" "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$PORT,
  MASTER_USER='repl', MASTER_PASSWORD='pw', MASTER_USE_GTID=no,
  MASTER_LOG_FILE='binlog.000001', MASTER_LOG_POS=4; START SLAVE IO_THREAD"
want=$(mdb_sql "$T/pri" "SHOW MASTER STATUS" | cut -f2)
for _ in $(seq 300); do
  [[ $(mdb_sql "$T/rep" "SHOW SLAVE STATUS" | cut -f7) == "$want" ]] && break
  sleep 0.1
done
mdb_sql "$T/rep" "STOP SLAVE IO_THREAD"
[[ $(mdb_sql "$T/rep" "SHOW SLAVE STATUS" | cut -f7) == "$want" ]] ||
  fail "the replica did not fetch the primary's log"
mdb_sql "$T/pri" "CHECKSUM TABLE d.t" > "$T/pri-sum.txt"
mdb_stop "$T/rep"
mdb_stop "$T/pri"
REPNEW=$T/keys-rep-new.txt
mdb_make_keys "rep-new-$SEED" "$(_mdb_get "$T/rep" key_ids)" "$REPNEW"
cp -a --sparse=always "$T/rep/data" "$T/rep-rk"
expect 0 "$IBDCRYPT" rekey --datadir="$T/rep-rk" --keyfile="$T/rep/keys/keys.txt" \
  --to-keyfile="$REPNEW"
grep -q "; 2 binary logs re-encrypted ([0-9.]* KiB; 2 of them relay logs)" "$T/err" &&
  ! grep -q "relay_log_recovery" "$T/err" || fail "rekey of a replica's relay logs: $(cat "$T/err")"
cmp -s "$T/rep/data/relay-bin.000002" "$T/rep-rk/relay-bin.000002" &&
  fail "the relay log was not re-keyed"
expect 0 "$IBDCRYPT" verify --deep --keyfile="$REPNEW" "$T/rep-rk"
grep -q "^relay-bin.000002 .*relay log, key 1 AES_CBC: [0-9]* events decrypted  OK" "$T/out" ||
  fail "verify --deep of the re-keyed relay log: $(cat "$T/out")"
# named otherwise (relay_log=NAME): the same, the CRCs telling the key
cp -a --sparse=always "$T/rep/data" "$T/rep-named"
mv "$T/rep-named/relay-bin.000002" "$T/rep-named/rep-relay.000002"
expect 0 "$IBDCRYPT" rekey --datadir="$T/rep-named" --keyfile="$T/rep/keys/keys.txt" \
  --to-keyfile="$REPNEW"
cmp -s "$T/rep-named/rep-relay.000002" "$T/rep-rk/relay-bin.000002" ||
  fail "a relay log named otherwise was not re-keyed alike: $(cat "$T/err")"
rm -rf "$T/rep-named"
# in a directory of their own (relay_log=DIR/NAME), found through --defaults-file: the same
mkdir -p "$T/rep-out/relay"
cp -a --sparse=always "$T/rep/data" "$T/rep-out/data"
mv "$T/rep-out/data/relay-bin."* "$T/rep-out/relay/"
sed -e "s|^datadir = .*|datadir = $T/rep-out/data|" \
  -e "s|^relay_log=relay-bin$|relay_log=$T/rep-out/relay/relay-bin|" "$T/rep/my.cnf" > "$T/rep-out/my.cnf"
grep -q "^relay_log=$T/rep-out/relay/relay-bin$" "$T/rep-out/my.cnf" || fail "the test's my.cnf"
expect 0 "$IBDCRYPT" rekey --defaults-file="$T/rep-out/my.cnf" --to-keyfile="$REPNEW"
grep -q "; 2 binary logs re-encrypted ([0-9.]* KiB; 2 of them relay logs)" "$T/err" &&
  cmp -s "$T/rep-out/relay/relay-bin.000002" "$T/rep-rk/relay-bin.000002" ||
  fail "relay logs in a directory of their own: $(cat "$T/err")"
rm -rf "$T/rep-out"
expect 1 "$IBDCRYPT" verify --deep --keyfile="$T/rep/keys/keys.txt" "$T/rep-rk"
grep -q "^relay-bin.000002 .*ERROR: key id 1 does not decrypt this binary log (KEY MISMATCH)" \
  "$T/out" || fail "verify --deep of the re-keyed relay log with the old keys: $(cat "$T/out")"
# the replica with only the new keys applies the relay logs: the primary's table
mdb_clone "$T/rep" "$T/srv-rep" keyfile="$REPNEW" datadir_from="$T/rep-rk"
mdb_start "$T/srv-rep"
mdb_sql "$T/srv-rep" "START SLAVE SQL_THREAD"
for _ in $(seq 300); do
  mdb_sql "$T/srv-rep" "CHECKSUM TABLE d.t" > "$T/rep-sum.txt" 2> /dev/null &&
    cmp -s "$T/pri-sum.txt" "$T/rep-sum.txt" && break
  sleep 0.1
done
mdb_sql "$T/srv-rep" "SHOW SLAVE STATUS" | cut -f12,20 > "$T/rep-status.txt"
mdb_stop "$T/srv-rep"
cmp -s "$T/pri-sum.txt" "$T/rep-sum.txt" ||
  fail "the replica with the new keys did not apply its relay logs: $(cat "$T/rep-status.txt")"
step "all checks passed"
