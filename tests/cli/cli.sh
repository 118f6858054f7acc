#!/usr/bin/env bash
# The CLI contract (design.md, "The CLI"): every command has a --help that says how to use it,
# usage errors exit 2 with a message, --isa forcing an unknown or unusable tier exits 2,
# --version, JSON output parses, and the exit codes of verify on the committed real-server
# samples (0 good, 1 bad page or wrong key, 3 missing key).
set -euo pipefail
B=$1
DATA=$2
PAGETOOL=${3:-} # build/tests/pagetool; the checks that edit samples are skipped without it
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "cli: FAIL: $*" >&2; exit 1; }
code() { local rc=0; "$@" > "$T/out" 2> "$T/err" || rc=$?; echo $rc; }

[[ $(code "$B" --version) == 0 ]] && grep -q '^ibdcrypt [0-9]' "$T/out" || fail "--version"
[[ $(code "$B" --help) == 0 ]] || fail "--help"
cp "$T/out" "$T/help"
for c in cpu inspect verify backup prepare rekey demo; do
  grep -q "^  $c " "$T/help" || fail "--help does not list $c"
  [[ $(code "$B" $c --help) == 0 ]] && grep -q "^Usage: ibdcrypt $c" "$T/out" || fail "$c --help"
  grep -qi "exit status" "$T/out" || fail "$c --help does not give the exit codes"
done
[[ $(code "$B") == 2 ]] || fail "no command must exit 2"
[[ $(code "$B" frobnicate) == 2 ]] && grep -q "unknown command" "$T/err" || fail "unknown command"
[[ $(code "$B" verify --frobnicate x) == 2 ]] || fail "unknown option"
[[ $(code "$B" --isa=avx9000 cpu) == 2 ]] && grep -q "unknown ISA tier" "$T/err" || fail "unknown tier"
[[ $(code "$B" --threads=lots cpu) == 2 ]] || fail "bad --threads"
[[ $(code "$B" verify --keyfile-key=secret x) == 2 ]] && grep -q "never" "$T/err" ||
  fail "a literal secret on the command line must be refused"
usable=$("$B" cpu --json | python3 -c "import json,sys; print(json.load(sys.stdin)['usable'])")
for tier in portable aesni vaes256 vaes512 armce; do
  rc=$(code "$B" --isa=$tier cpu --json)
  if [[ ",$usable," == *",$tier,"* ]]; then
    [[ $rc == 0 ]] && python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d['selected'] != sys.argv[2])" "$T/out" $tier ||
      fail "--isa=$tier (usable) gave $rc"
  else
    [[ $rc == 2 ]] && grep -q "not supported" "$T/err" || fail "--isa=$tier (not usable) gave $rc"
  fi
done

# verify on real pages (tests/data: a MariaDB 10.11.19 sample and its lab keys)
S=$DATA/mariadb-10.11/cbc-fc32-16k
[[ $(code "$B" verify --deep --json --keyfile=$S/keys.txt $S) == 0 ]] || fail "verify --deep of samples"
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['summary']['verdict']=='ok' and d['summary']['encrypted']>0" "$T/out" ||
  fail "verify JSON"
[[ $(code "$B" verify --deep --keyfile=$S/keys-new.txt $S) == 1 ]] && grep -q "KEY MISMATCH" "$T/out" ||
  fail "wrong keys must exit 1 and say KEY MISMATCH"
grep -v '^2;' $S/keys.txt > "$T/no2.txt"
[[ $(code "$B" verify --deep --keyfile="$T/no2.txt" $S/t_blob.ibd $S/t_k1.ibd) == 0 ]] || fail "keys for these files"
cp $S/t_k1.ibd "$T/bad.ibd"
python3 -c "import sys; f=open(sys.argv[1],'r+b'); f.seek(16384*3+500); b=f.read(1); f.seek(16384*3+500); f.write(bytes([b[0]^1]))" "$T/bad.ibd"
[[ $(code "$B" verify --json "$T/bad.ibd") == 1 ]] && grep -q '"page":3,"problem":"bad-checksum"' "$T/out" ||
  fail "a flipped bit must exit 1 naming page 3"
[[ $(code "$B" verify --allow-mismatches=1 "$T/bad.ibd") == 0 ]] || fail "--allow-mismatches"
[[ $(code "$B" verify --page=3 "$T/bad.ibd") == 1 ]] || fail "--page=3"
[[ $(code "$B" verify --start-page=4 "$T/bad.ibd") == 0 ]] || fail "--start-page=4 skips page 3"
[[ $(code "$B" verify --page=3 $S) == 2 ]] || fail "--page on a directory must be a usage error"
[[ $(code "$B" verify --page=8 $S/t_k1.ibd) == 2 ]] && grep -q "page 8 is past the end of .*(8 pages" "$T/err" ||
  fail "--page past the end must be a usage error, not a check of nothing: $(cat "$T/err")"
[[ $(code "$B" verify --start-page=5 --end-page=2 $S/t_k1.ibd) == 2 ]] || fail "--start-page after --end-page"
[[ $(code "$B" verify --page=7 $S/t_k1.ibd) == 0 ]] || fail "--page=7, the last page: $(cat "$T/err")"
# a copy cut short at a page boundary: every page left is sound, page 0 says how many are gone
head -c $((16384 * 5)) $S/t_k1.ibd > "$T/short.ibd"
[[ $(code "$B" verify --deep --keyfile=$S/keys.txt "$T/short.ibd") == 1 ]] &&
  grep -q "ERROR: truncated: page 0 records 8 pages (FSP_SIZE), the file holds 5; pages 5 to 7 are missing" "$T/out" ||
  fail "a tablespace cut short must exit 1 naming the missing pages: $(cat "$T/out")"
# ROW_FORMAT=COMPRESSED 2K pages (cbc-fc32-4k: 24 of them): the server allocates in multiples of
# 4096 bytes and appends an odd last page at its first write, so FSP_SIZE may be one page more
Z=$DATA/mariadb-10.11/cbc-fc32-4k/t_zip.ibd
head -c $((2048 * 23)) $Z > "$T/z.ibd"
[[ $(code "$B" verify "$T/z.ibd") == 1 ]] && grep -q "the file holds 23; page 23 is missing" "$T/out" ||
  fail "24 2K pages recorded, 23 in the file: $(cat "$T/out")"
if [[ -n $PAGETOOL ]]; then
  { cat $Z; head -c 2048 /dev/zero; } > "$T/z.ibd"
  "$PAGETOOL" fsp-size "$T/z.ibd" && truncate -s $((2048 * 24)) "$T/z.ibd"
  [[ $(code "$B" verify "$T/z.ibd") == 0 ]] ||
    fail "25 2K pages recorded, 24 in the file (48 KiB, as the server allocates): $(cat "$T/out")"
fi
# a backup checked against its manifest: as written, then with a file changed, a file gone,
# a file added, and a page altered with its checksum recomputed (which page checks pass)
[[ $(code "$B" backup --datadir=$S --keyfile=$S/keys.txt --target-dir="$T/bk") == 0 ]] ||
  fail "backup of the samples: $(cat "$T/err")"
[[ $(code "$B" verify --deep --manifest --keyfile=$S/keys.txt "$T/bk") == 0 ]] ||
  fail "verify --manifest of a fresh backup: $(cat "$T/out" "$T/err")"
[[ $(code "$B" verify --manifest "$T/bk/t_k1.ibd") == 2 ]] || fail "--manifest needs the backup's directory"
[[ $(code "$B" verify --manifest "$T") == 3 ]] && grep -q "ibdcrypt-backup.json" "$T/err" ||
  fail "--manifest without one must exit 3 naming it"
printf x | dd of="$T/bk/variant.txt" bs=1 seek=3 conv=notrunc status=none
rm "$T/bk/t_zip.ibd"
echo new > "$T/bk/added.txt"
[[ $(code "$B" verify --manifest --json "$T/bk") == 1 ]] && python3 - "$T/out" <<'PY' ||
import json, sys
f = {x['path']: x for x in json.load(open(sys.argv[1]))['files']}
assert f['variant.txt']['error'].startswith('changed since the backup: CRC-32C'), f['variant.txt']
assert f['t_zip.ibd']['error'].startswith('missing:'), f['t_zip.ibd']
assert "not in the backup's manifest" in f['added.txt']['notes'], f['added.txt']
assert f['t_k1.ibd']['verdict'] == 'ok' and len(f['t_k1.ibd']['crc32c']) == 8, f['t_k1.ibd']
PY
  fail "verify --manifest of an altered backup: $(cat "$T/out")"
if [[ -n $PAGETOOL ]]; then
  "$PAGETOOL" flip "$T/bk/t_k1.ibd" 3 5000 reseal
  [[ $(code "$B" verify --manifest "$T/bk") == 1 ]] && grep -q "t_k1.ibd.*changed since the backup: CRC-32C" "$T/out" ||
    fail "a resealed page must differ from the manifest: $(cat "$T/out")"
fi
# prepare brings the manifest along: after a rewrap (page 0s changed, their CRCs updated by
# the change) and a reencrypt (files read again), verify --manifest passes with the new keys; a
# run killed after writing the manifest and run again gives the uninterrupted run's bytes (the
# manifest not updated twice); a file damaged before prepare is still named after it
[[ $(code "$B" backup --datadir=$S --keyfile=$S/keys.txt --target-dir="$T/pb") == 0 ]] ||
  fail "backup of the samples: $(cat "$T/err")"
# the padding after each page_compressed page's payload (punched out by the server) stays a
# hole: the copy of t_pc.ibd (8 pages, 7 of them page_compressed) takes 52 KiB of 128 here
cmp -s $S/t_pc.ibd "$T/pb/t_pc.ibd" && (( $(stat -c '%b * %B' "$T/pb/t_pc.ibd") <= 65536 )) ||
  fail "backup of t_pc.ibd: not the same bytes, or not sparse: $(ls -ls "$T/pb/t_pc.ibd")"
cp -a "$T/pb" "$T/pb-crash"
cp -a "$T/pb" "$T/pb-dmg"
cp -a "$T/pb" "$T/pb-badmf"
cp -a "$T/pb" "$T/pb-hole"
cp -a "$T/pb" "$T/pb-rekey"
[[ $(code "$B" --json prepare --target-dir="$T/pb" --keyfile=$S/keys.txt --to-keyfile=$S/keys-new.txt) == 0 ]] &&
  grep -q '"manifest":"updated"' "$T/out" || fail "prepare (rewrap) of a backup: $(cat "$T/out" "$T/err")"
[[ $(code "$B" verify --deep --manifest --keyfile=$S/keys-new.txt "$T/pb") == 0 ]] &&
  grep -q "the manifest was updated by ibdcrypt prepare (plan [0-9a-f]\{16\})" "$T/err" ||
  fail "verify --manifest after prepare --mode=rewrap: $(cat "$T/out" "$T/err")"
python3 -c "import json,sys; p=json.load(open(sys.argv[1]))['prepared']; assert p['mode']=='rewrap' and p['files_updated']==5 and len(p['keys'])==3, p" \
  "$T/pb/ibdcrypt-backup.json" || fail "the manifest's \"prepared\""
[[ $(IBDCRYPT_CRASH_POINT=manifest-written:1 code "$B" prepare --target-dir="$T/pb-crash" \
  --keyfile=$S/keys.txt --to-keyfile=$S/keys-new.txt) == 137 ]] || fail "crash point manifest-written"
[[ -e "$T/pb-crash/.ibdcrypt-journal" ]] || fail "no journal left by the crash"
# prepare changes a backup in place: a symbolic link or an .isl (DATA DIRECTORY) leading out
# of it is refused, and nothing is written; verify follows them
[[ $(code "$B" backup --datadir=$S --keyfile=$S/keys.txt --target-dir="$T/pl") == 0 ]] || fail "backup for pl"
mkdir -p "$T/outside" && mv "$T/pl/t_pc.ibd" "$T/outside/" && ln -s "$T/outside/t_pc.ibd" "$T/pl/t_pc.ibd"
sums_pl() { (cd "$T" && find pl outside -type f -exec cksum {} + | sort); }
sums_pl > "$T/pl.sums"
[[ $(code "$B" prepare --target-dir="$T/pl" --keyfile=$S/keys.txt --to-keyfile=$S/keys-new.txt) == 3 ]] &&
  grep -q "t_pc.ibd: a symbolic link out of the backup" "$T/err" ||
  fail "prepare of a backup with a link out of it: $(cat "$T/err")"
rm "$T/pl/t_pc.ibd" && echo "$T/outside/t_pc.ibd" > "$T/pl/t_pc.isl"
[[ $(code "$B" verify --deep --keyfile=$S/keys.txt "$T/pl") == 0 ]] && grep -q "t_pc.ibd" "$T/out" ||
  fail "verify does not follow an .isl: $(cat "$T/out" "$T/err")"
[[ $(code "$B" prepare --target-dir="$T/pl" --keyfile=$S/keys.txt --to-keyfile=$S/keys-new.txt) == 3 ]] &&
  grep -q "t_pc.isl: a table created with DATA DIRECTORY, and no t_pc.ibd beside it" "$T/err" ||
  fail "prepare of a backup whose .isl leads out of it: $(cat "$T/err")"
rm "$T/pl/t_pc.isl"
sums_pl | grep -v "pl/t_pc" | diff -q - <(grep -v "pl/t_pc" "$T/pl.sums") > /dev/null ||
  fail "a refused prepare changed files"
# one file under two names (two links to one directory): taken once, or a reencrypt would
# re-key it twice at once, under two fresh IVs (it stopped part-way: key mismatch)
mkdir -p "$T/tw/db" && cp $S/*.ibd "$T/tw/db/" && ln -s db "$T/tw/db2" && ln -s "$T/tw/db" "$T/tw/db3"
[[ $(code "$B" verify --keyfile=$S/keys.txt "$T/tw") == 0 ]] && [[ $(grep -c "t_k1.ibd" "$T/out") == 1 ]] &&
  grep -q "warning: 10 names lead to files listed already (db2/t_blob.ibd is the same file as db/t_blob.ibd)" "$T/err" ||
  fail "a directory reached under three names: $(cat "$T/out" "$T/err")"
[[ $(code "$B" rekey --datadir="$T/tw" --keyfile=$S/keys.txt --to-keyfile=$S/keys-new.txt) == 0 ]] &&
  [[ $(code "$B" verify --deep --keyfile=$S/keys-new.txt "$T/tw/db") == 0 ]] ||
  fail "rekey of a directory reached under three names: $(cat "$T/out" "$T/err")"
# innodb_data_file_path names the system tablespace's files: one missing, or a raw partition,
# is an error naming it
mkdir -p "$T/dfp/d" && cp $S/t_k1.ibd "$T/dfp/d/" && : > "$T/dfp/d/sys1"
printf '[mysqld]\ndatadir=%s\ninnodb_data_file_path=sys1:12M;%s:4M:autoextend\n' "$T/dfp/d" "$T/dfp/nope" > "$T/dfp/my.cnf"
[[ $(code "$B" verify --defaults-file="$T/dfp/my.cnf") == 3 ]] &&
  grep -q "$T/dfp/nope (file 2 of the system tablespace, from innodb_data_file_path): No such file" "$T/err" ||
  fail "a missing file of innodb_data_file_path: $(cat "$T/err")"
printf '[mysqld]\ndatadir=%s\ninnodb_data_file_path=/dev/sdb:10Gnewraw\n' "$T/dfp/d" > "$T/dfp/my.cnf"
[[ $(code "$B" verify --defaults-file="$T/dfp/my.cnf") == 3 ]] &&
  grep -q "innodb_data_file_path: /dev/sdb is a raw partition (not supported)" "$T/err" ||
  fail "a raw partition in innodb_data_file_path: $(cat "$T/err")"
# an option file that sets no datadir (as Debian's /etc/mysql/my.cnf, whose server takes its
# built-in one), even through the files it includes: the commands say so
mkdir -p "$T/dfp/conf.d" && printf '[mysqld]\n#datadir = /var/lib/mysql\n' > "$T/dfp/conf.d/50-server.cnf"
printf '[client-server]\n!includedir %s/conf.d/\n' "$T/dfp" > "$T/dfp/my.cnf"
for c in verify inspect backup "rekey --to-keyfile=$S/keys-new.txt"; do
  # shellcheck disable=SC2086 # the command and its option
  [[ $(code "$B" $c --defaults-file="$T/dfp/my.cnf") == 2 ]] &&
    grep -q "$T/dfp/my.cnf (with the files it includes) sets no datadir, so the server uses its built-in one" "$T/err" ||
    fail "$c, an option file without a datadir: $(cat "$T/err")"
done
# a file of the directory open in another process (a server whose ibdata1 and log live
# elsewhere holds no lock here): rekey and backup refuse, nothing written. (The shell and the
# subshell that runs ibdcrypt both hold the file; which one is named depends on their PIDs.)
cp -a $S "$T/held"
exec {heldfd}< "$T/held/t_k1.ibd"
[[ $(code "$B" rekey --datadir="$T/held" --keyfile=$S/keys.txt --to-keyfile=$S/keys-new.txt) == 3 ]] &&
  grep -q "rekey: process [0-9]* (bash) has t_k1.ibd open: stop it first" "$T/err" &&
  diff -r -q $S "$T/held" > /dev/null ||
  fail "rekey of a directory whose file another process holds: $(cat "$T/err")"
[[ $(code "$B" backup --datadir="$T/held" --keyfile=$S/keys.txt --target-dir="$T/held-bk") == 3 ]] &&
  grep -q "backup: process [0-9]* (bash) has t_k1.ibd open: stop it" "$T/err" && [[ ! -e "$T/held-bk" ]] ||
  fail "backup of a directory whose file another process holds: $(cat "$T/err")"
exec {heldfd}<&-
# the interrupted directory: verify says why its pages may not open, backup refuses it
code "$B" verify --deep --keyfile=$S/keys.txt "$T/pb-crash" > /dev/null
grep -q "an interrupted \`ibdcrypt prepare\` left this journal" "$T/err" ||
  fail "verify of an interrupted prepare's directory does not say so: $(cat "$T/err")"
[[ $(code "$B" backup --datadir="$T/pb-crash" --keyfile=$S/keys.txt --target-dir="$T/pb-crash-bk") == 3 ]] &&
  grep -q "in the middle of an interrupted \`ibdcrypt prepare\`" "$T/err" && [[ ! -e "$T/pb-crash-bk" ]] ||
  fail "backup of an interrupted prepare's directory: $(cat "$T/err")"
# one run per directory: while another holds the directory's lock (here this script, as a
# running prepare does), prepare refuses and changes nothing, and verify says a run is under way
exec {lockfd}< "$T/pb-crash"
flock -x $lockfd
(cd "$T/pb-crash" && find . -type f -exec cksum {} + | sort) > "$T/locked.sums"
[[ $(code "$B" prepare --target-dir="$T/pb-crash" --keyfile=$S/keys.txt --to-keyfile=$S/keys-new.txt) == 3 ]] &&
  grep -q "another ibdcrypt prepare or rekey is running on the directory" "$T/err" ||
  fail "prepare beside a running one: $(cat "$T/err")"
(cd "$T/pb-crash" && find . -type f -exec cksum {} + | sort) | diff -q - "$T/locked.sums" > /dev/null ||
  fail "prepare beside a running one changed files"
code "$B" verify "$T/pb-crash" > /dev/null
grep -q "an \`ibdcrypt prepare\` is re-keying this directory right now" "$T/err" ||
  fail "verify beside a running prepare does not say so: $(cat "$T/err")"
flock -u $lockfd
exec {lockfd}<&-
[[ $(code "$B" prepare --target-dir="$T/pb-crash" --keyfile=$S/keys.txt --to-keyfile=$S/keys-new.txt) == 0 ]] ||
  fail "prepare after a crash: $(cat "$T/err")"
diff -r "$T/pb" "$T/pb-crash" > /dev/null || fail "prepare after a crash differs from an uninterrupted run"
[[ $(code "$B" prepare --target-dir="$T/pb" --keyfile=$S/keys-new.txt --to-keyfile=$S/keys.txt \
  --mode=reencrypt) == 0 ]] || fail "prepare (reencrypt) of a prepared backup: $(cat "$T/err")"
[[ $(code "$B" verify --deep --manifest --keyfile=$S/keys.txt "$T/pb") == 0 ]] ||
  fail "verify --manifest after prepare --mode=reencrypt: $(cat "$T/out")"
# rekey run on a backup's directory brings its manifest along too (it names itself there)
[[ $(code "$B" --json rekey --datadir="$T/pb-rekey" --keyfile=$S/keys.txt --to-keyfile=$S/keys-new.txt) == 0 ]] &&
  grep -q '"manifest":"updated"' "$T/out" || fail "rekey of a backup's directory: $(cat "$T/out" "$T/err")"
[[ $(code "$B" verify --deep --manifest --keyfile=$S/keys-new.txt "$T/pb-rekey") == 0 ]] &&
  grep -q "the manifest was updated by ibdcrypt rekey (plan [0-9a-f]\{16\}): files are checked as rekey left them" "$T/err" ||
  fail "verify --manifest after rekey: $(cat "$T/out" "$T/err")"
if [[ -n $PAGETOOL ]]; then
  "$PAGETOOL" flip "$T/pb-dmg/t_k1.ibd" 6 5000 reseal
  [[ $(code "$B" prepare --target-dir="$T/pb-dmg" --keyfile=$S/keys.txt --to-keyfile=$S/keys-new.txt) == 0 ]] ||
    fail "prepare (rewrap) of a backup with a resealed page: $(cat "$T/err")"
  [[ $(code "$B" verify --manifest "$T/pb-dmg") == 1 ]] && grep -q "t_k1.ibd.*changed since the backup: CRC-32C" "$T/out" &&
    [[ $(grep -c "changed since" "$T/out") == 1 ]] ||
    fail "a page resealed before prepare must differ from the manifest after it: $(cat "$T/out")"
fi
# holes stay holes: reencrypt writes only the bytes that change. In t_k1.ibd pages 3-4 (never
# written) lie between re-encrypted pages; in t_pc.ibd the last 8 KiB of pages 3 and 7, past
# their compressed payload (as mbstream -x of a mariadb-backup stream may leave them)
data_at() { python3 -c "import os,sys
try: print(os.lseek(os.open(sys.argv[1], os.O_RDONLY), int(sys.argv[2]), os.SEEK_DATA))
except OSError: print(-1)" "$@"; }
holes() { [[ $(data_at "$T/pb-hole/t_k1.ibd" 49152) == 81920 &&
  $(data_at "$T/pb-hole/t_pc.ibd" 57344) == 65536 && $(data_at "$T/pb-hole/t_pc.ibd" 122880) == -1 ]]; }
if fallocate --punch-hole --offset 49152 --length 32768 "$T/pb-hole/t_k1.ibd" 2> /dev/null &&
  fallocate --punch-hole --offset 57344 --length 8192 "$T/pb-hole/t_pc.ibd" &&
  fallocate --punch-hole --offset 122880 --length 8192 "$T/pb-hole/t_pc.ibd" && holes; then
  [[ $(code "$B" prepare --mode=reencrypt --target-dir="$T/pb-hole" --keyfile=$S/keys.txt \
    --to-keyfile=$S/keys-new.txt) == 0 ]] || fail "prepare of a backup with a hole: $(cat "$T/err")"
  [[ $(code "$B" verify --deep --keyfile=$S/keys-new.txt "$T/pb-hole/t_k1.ibd" "$T/pb-hole/t_pc.ibd") == 0 ]] &&
    grep -q "t_k1.ibd.*2 zero" "$T/out" ||
    fail "verify after prepare of a backup with holes: $(cat "$T/out")"
  holes || fail "prepare --mode=reencrypt filled a hole"
else
  echo "cli: note: this file system keeps no holes: the hole check is skipped" >&2
fi
# a manifest that does not parse: prepare warns, leaves it as it is and prepares the backup
echo '{"command":"backup", "files": [' > "$T/pb-badmf/ibdcrypt-backup.json"
[[ $(code "$B" --json prepare --target-dir="$T/pb-badmf" --keyfile=$S/keys.txt --to-keyfile=$S/keys-new.txt) == 0 ]] &&
  grep -q "warning: the backup's manifest is left as it is: .*ibdcrypt-backup.json" "$T/err" &&
  grep -q '"manifest":"left as it is"' "$T/out" ||
  fail "prepare with a damaged manifest: $(cat "$T/err")"
[[ $(code "$B" verify --deep --keyfile=$S/keys-new.txt "$T/pb-badmf") == 0 ]] ||
  fail "a backup with a damaged manifest, prepared: $(cat "$T/out")"
# the same backup as a stream, checked without extracting it: as written; with a chunk's bytes
# changed (its xbstream checksum); cut short; with a file's chunks left out (the manifest
# still lists it); with a page damaged and every checksum made to match but the manifest's
[[ $(code "$B" backup --datadir=$S --keyfile=$S/keys.txt --stream=xbstream) == 0 ]] &&
  mv "$T/out" "$T/s.xbs" || fail "backup --stream of the samples: $(cat "$T/err")"
[[ $(code "$B" verify --stream=xbstream --deep --json --keyfile=$S/keys.txt < "$T/s.xbs") == 0 ]] &&
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); s=d['summary']; assert s['verdict']=='ok' and s['encrypted']>0, s; assert all(len(f.get('crc32c',''))==8 for f in d['files'] if f['path'] != 'ibdcrypt-backup.json'), d['files']" "$T/out" ||
  fail "verify --stream of a fresh stream: $(cat "$T/out" "$T/err")"
python3 - "$T/s.xbs" "$T" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], 'rb').read()
chunks, at = [], 0
while at < len(data):  # XBSTCK01, flags, type, path length, path, [len, offset, crc, payload]
    t, plen = data[at + 9:at + 10], struct.unpack('<I', data[at + 10:at + 14])[0]
    path = data[at + 14:at + 14 + plen]
    end = at + 14 + plen
    if t == b'P':
        n = struct.unpack('<Q', data[end:end + 8])[0]
        end += 20 + n
    chunks.append((t, path, at, end))
    at = end
def emit(name, keep=lambda c: True, edit=None):
    out = bytearray()
    for c in chunks:
        if not keep(c):
            continue
        raw = bytearray(data[c[2]:c[3]])
        if edit and c[0] == b'P':
            raw = edit(c, raw)
        out += raw
    open(f"{sys.argv[2]}/{name}", 'wb').write(out)
def flip(c, raw):  # a byte of the payload, the chunk checksum left as it was
    if c[1] == b't_k1.ibd' and not flip.done:
        raw[-100] ^= 1
        flip.done = True
    return raw
flip.done = False
emit('flip.xbs', edit=flip)
def reseal(c, raw):  # a byte of variant.txt, the chunk checksum recomputed
    if c[1] == b'variant.txt':
        plen = struct.unpack('<I', raw[10:14])[0]
        body = 14 + plen + 20
        raw[body] ^= 1
        raw[14 + plen + 16:14 + plen + 20] = struct.pack('<I', zlib.crc32(bytes(raw[body:])))
    return raw
emit('reseal.xbs', edit=reseal)
emit('drop.xbs', keep=lambda c: c[1] != b't_zip.ibd')
open(f"{sys.argv[2]}/short.xbs", 'wb').write(data[:len(data) // 2])
PY
[[ $(code "$B" verify --stream=xbstream < "$T/flip.xbs") == 1 ]] && grep -q "not an xbstream chunk (or a damaged one)" "$T/out" ||
  fail "a changed chunk: $(cat "$T/out" "$T/err")"
[[ $(code "$B" verify --stream=xbstream < "$T/reseal.xbs") == 1 ]] && grep -q "variant.txt.*changed since the backup: CRC-32C" "$T/out" ||
  fail "a file changed with its chunk checksum recomputed: $(cat "$T/out" "$T/err")"
[[ $(code "$B" verify --stream=xbstream < "$T/drop.xbs") == 1 ]] && grep -q "t_zip.ibd.*missing: the backup's manifest lists it" "$T/out" ||
  fail "a file left out of the stream: $(cat "$T/out" "$T/err")"
[[ $(code "$B" verify --stream=xbstream < "$T/short.xbs") == 1 ]] && grep -q -E "ends inside a chunk|incomplete" "$T/out" ||
  fail "a stream cut short: $(cat "$T/out" "$T/err")"
[[ $(code "$B" verify --stream=xbstream "$T/bk") == 2 ]] || fail "--stream with a PATH must be a usage error"
echo '{"command":"verify","files":[]}' > "$T/bk/ibdcrypt-backup.json"
[[ $(code "$B" verify --manifest "$T/bk") == 1 ]] && grep -q "not the manifest of an ibdcrypt backup" "$T/err" ||
  fail "a damaged manifest must exit 1: $(cat "$T/err")"
mkdir -p "$T/dup" && cp $S/t_k1.ibd $S/t_pc.ibd "$T/dup/" && cp $S/t_k1.ibd "$T/dup/t_k1_old.ibd"
[[ $(code "$B" verify "$T/dup") == 0 ]] && grep -q "t_k1_old.ibd has the space id 5 of t_k1.ibd" "$T/err" ||
  fail "two files with one space id must be said: $(cat "$T/err")"
mkdir -p "$T/qp/db" && cp $S/t_k1.ibd "$T/qp/db/t.ibd.qp"
[[ $(code "$B" verify "$T/qp") == 0 ]] && grep -q "1 InnoDB file compressed by mariadb-backup --compress (.qp): its pages are not checked" "$T/err" ||
  fail "a mariadb-backup --compress file must be named as unchecked: $(cat "$T/err")"
[[ $(code "$B" verify /nonexistent/x) == 3 ]] && grep -q "/nonexistent/x" "$T/err" || fail "missing path"
# a source file that changes while it is copied (here while the run is stopped after the copy)
# fails the backup: nothing written
cp -a $S "$T/chg"
IBDCRYPT_CRASH_POINT=backup-copied:1:stop "$B" backup --datadir="$T/chg" --keyfile=$S/keys.txt \
  --target-dir="$T/chg-bk" > /dev/null 2> "$T/err" &
pid=$!
for _ in $(seq 100); do [[ $(ps -o stat= -p $pid) == T* ]] && break; sleep 0.05; done
touch "$T/chg/t_k1.ibd"
kill -CONT $pid
rc=0; wait $pid || rc=$?
[[ $rc == 3 ]] && grep -q "t_k1.ibd changed while it was copied" "$T/err" && [[ ! -e "$T/chg-bk" ]] ||
  fail "backup of a file that changed while it was copied (rc $rc): $(cat "$T/err")"
# what a backup killed before its end left next to its target is removed by the next one to
# that target; one whose process still runs (here: this shell's pid) is another backup
mkdir -p "$T/kb.ibdcrypt-partial-4194999/db" && echo x > "$T/kb.ibdcrypt-partial-4194999/db/t.ibd"
[[ $(code "$B" backup --datadir=$S --keyfile=$S/keys.txt --target-dir="$T/kb") == 0 ]] &&
  grep -q "removing .*kb.ibdcrypt-partial-4194999, the partial copy of a backup that was stopped" "$T/err" &&
  [[ ! -e "$T/kb.ibdcrypt-partial-4194999" && -f "$T/kb/t_k1.ibd" ]] ||
  fail "a stopped backup's partial copy: $(cat "$T/err")"
mkdir -p "$T/kb2.ibdcrypt-partial-$$"
[[ $(code "$B" backup --datadir=$S --keyfile=$S/keys.txt --target-dir="$T/kb2") == 3 ]] &&
  grep -q "another backup to .*kb2 is running (pid $$" "$T/err" && [[ -d "$T/kb2.ibdcrypt-partial-$$" && ! -e "$T/kb2" ]] ||
  fail "a backup beside another to the same target: $(cat "$T/err")"
# a target inside the datadir (the server would take it for a database) is a usage error
cp -a $S "$T/in"
[[ $(code "$B" backup --datadir="$T/in" --keyfile=$S/keys.txt --target-dir="$T/in/sub/../bk") == 2 ]] &&
  grep -q "is inside the datadir" "$T/err" && [[ ! -e "$T/in/bk" && ! -e "$T/in/sub" ]] ||
  fail "a backup target inside the datadir: $(cat "$T/err")"
# a run that stops for a reason of the environment must not end with "all good"
[[ $(code "$B" backup --datadir=/nonexistent/x --target-dir="$T/nobk") == 3 ]] &&
  grep -q -- "-- error$" "$T/err" && ! grep -q "all good" "$T/err" && [[ ! -e "$T/nobk" ]] ||
  fail "backup of a missing datadir: $(cat "$T/err")"
rc=0; "$B" backup --datadir=$S --stream=xbstream 2> "$T/err" | head -c 0 || rc=${PIPESTATUS[0]}
[[ $rc == 3 ]] && grep -q "reader went away" "$T/err" && ! grep -q "all good" "$T/err" ||
  fail "backup whose stream's reader went away (rc $rc): $(cat "$T/err")"
[[ $(code "$B" inspect --json $S) == 0 ]] && python3 -m json.tool "$T/out" > /dev/null || fail "inspect --json"

# the redo log (tests/data/redo: logs of a killed 10.11.19 server, AES_CBC, and their keys)
R=$DATA/redo
mkdir -p "$T/log"
zstd -q -d -c "$R/cbc-killed.ib_logfile0.zst" > "$T/log/ib_logfile0"
[[ $(code "$B" verify --deep --json --keyfile="$R/keys.txt" "$T/log") == 0 ]] ||
  fail "verify --deep of a real encrypted log: $(cat "$T/out" "$T/err")"
python3 -c "import json,sys; r=[f['redo'] for f in json.load(open(sys.argv[1]))['files']][0]; assert r['format']=='enc-11' and r['mtrs']>100 and r['records_parsed']>100, r" "$T/out" ||
  fail "verify JSON of the redo log"
[[ $(code "$B" verify --deep --keyfile="$R/keys-new.txt" "$T/log") == 1 ]] && grep -q "KEY MISMATCH.*redo log" "$T/out" ||
  fail "a wrong key 1 must exit 1 naming the redo log"
[[ $(code "$B" verify --deep "$T/log") == 3 ]] && grep -q "KEY MISSING" "$T/out" ||
  fail "verify --deep of an encrypted log without keys must exit 3"
[[ $(code "$B" verify "$T/log") == 0 ]] || fail "the framing of the log checks without keys"
[[ $(code "$B" inspect --keyfile="$R/keys.txt" "$T/log") == 0 ]] && grep -q "ib_logfile0: redo log enc-11.*pending.*key ok" "$T/out" ||
  fail "inspect of the redo log: $(cat "$T/out")"
# the same log in a stream: checked as in a directory
[[ $(code "$B" backup --datadir="$T/log" --keyfile="$R/keys.txt" --stream=xbstream) == 0 ]] &&
  mv "$T/out" "$T/log.xbs" || fail "backup --stream of a log: $(cat "$T/err")"
[[ $(code "$B" verify --stream=xbstream --deep --json --keyfile="$R/keys.txt" < "$T/log.xbs") == 0 ]] &&
  python3 -c "import json,sys; r=[f['redo'] for f in json.load(open(sys.argv[1]))['files'] if 'redo' in f][0]; assert r['mtrs']>100 and r['records_parsed']>100, r" "$T/out" ||
  fail "verify --stream of a log: $(cat "$T/out" "$T/err")"
[[ $(code "$B" verify --stream=xbstream --deep --keyfile="$R/keys-new.txt" < "$T/log.xbs") == 1 ]] &&
  grep -q "KEY MISMATCH.*redo log" "$T/out" || fail "a wrong key 1 for a log in a stream: $(cat "$T/out")"
head -c 20000 "$T/log/ib_logfile0" > "$T/log/short" && mv "$T/log/short" "$T/log/ib_logfile0"
[[ $(code "$B" verify "$T/log") == 1 ]] && grep -q "ib_logfile0.*ERROR" "$T/out" || fail "a truncated log must exit 1"
echo "cli: all checks passed"
