#!/usr/bin/env bash
# The page engine against a real MariaDB 10.11 server, one variant per run (CTest label
# "server"; tests/CMakeLists.txt lists the matrix):
#
#   engine.sh IBDCRYPT PAGETOOL page=16k checksum=full_crc32 algo=AES_CBC [keyfile=enc] ...
#
# A throwaway server with tables under key ids 1, 2 and 100, unencrypted, page_compressed and
# ROW_FORMAT=COMPRESSED ones side by side, the system tablespace encrypted, the redo log not
# encrypted (the log has its own tests); then, on the stopped datadir:
#   1. verify and verify --deep pass every page, and each file's encryption state and key id
#      match the server's INFORMATION_SCHEMA.INNODB_TABLESPACES_ENCRYPTION;
#   2. decrypt + encrypt gives every tablespace file back byte for byte;
#   3. with a key file where key id 2 is wrong, deep verify names exactly the key-2
#      tablespaces as key mismatches and passes the rest;
#   4. a flipped bit is reported with file and page by verify; with the checksum recomputed,
#      by verify --deep (a legacy page anywhere; a full_crc32 page where the format can tell);
#   5. copies re-keyed to a new key file (re-encrypted, and re-wrapped) open in a server that
#      holds only the new keys: CHECK TABLE passes and CHECKSUM TABLE equals the values before.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=testlib.sh
. "$HERE/testlib.sh"
IBDCRYPT=$1 PAGETOOL=$2
shift 2
test_begin engine

step "server: $*"
# encrypt_log=OFF: pagetool re-keys pages only; the redo log is redo.sh's
mdb_new "$T/a" encrypt_tables=ON encrypt_log=OFF "$@"
mdb_start "$T/a"
mdb_wait_encrypted "$T/a"
mdb_load "$T/a" 0.3
mdb_wait_encrypted "$T/a" 30
mdb_checksums "$T/a" > "$T/before.txt"
mdb_encryption "$T/a" > "$T/enc.tsv"
mdb_tablespaces "$T/a" > "$T/spaces.tsv"
mdb_stop "$T/a"
D=$T/a/data
keyopts=(--keyfile="$(_mdb_get "$T/a" keyfile_path)")
fk=$(_mdb_get "$T/a" filekey_path)
[[ -z "$fk" ]] || keyopts+=(--keyfile-key="FILE:$fk")
plain_keys=$T/a/keys/keys.txt
new_keys=$T/keys-new.txt
mdb_make_keys "new-keys-$$" "$(_mdb_get "$T/a" key_ids)" "$new_keys"
page=$(awk -F= '$1 == "page" {print $2}' "$T/a/instance.env")

step "1. verify and verify --deep"
"$IBDCRYPT" verify --json "$D" > "$T/v.json" || fail "verify failed (exit $?)"
"$IBDCRYPT" verify --deep --json "${keyopts[@]}" "$D" > "$T/d.json" ||
  fail "verify --deep failed (exit $?): $(python3 -m json.tool "$T/d.json" | grep -B3 -A3 '"bad"' | head -20)"
python3 - "$T/d.json" "$T/enc.tsv" <<'EOF' || fail "deep verify disagrees with the server"
import csv, json, sys
rep = json.load(open(sys.argv[1]))
server = {int(r['space']): r for r in csv.DictReader(open(sys.argv[2]), delimiter='\t')}
files = {}
for f in rep['files']:
    # the system tablespace is reported once, by ibdata1
    if 'space_id' in f and not (f['kind'] == 'system' and not f['path'].endswith('ibdata1')):
        files[f['space_id']] = f
bad = 0
for sid, row in server.items():
    scheme, key_id = int(row['scheme']), int(row['key_id'])
    f = files.get(sid)
    if f is None:
        print('space %d (%s) has no file in the report' % (sid, row['name']))
        bad = 1
        continue
    if f['encrypted'] != (scheme == 1) or (scheme == 1 and f['key_id'] != key_id):
        print('space %d: server says scheme %d key %d, file says %s' % (sid, scheme, key_id, f))
        bad = 1
    if scheme == 1 and f['pages']['encrypted'] == 0:
        print('space %d: encrypted tablespace without encrypted pages' % sid)
        bad = 1
    if f['pages']['bad'] or f['pages']['unverified'] or f['verdict'] != 'ok':
        print('space %d: %s' % (sid, f['verdict']))
        bad = 1
s = rep['summary']
print('deep verify: %d files, %d pages, %d encrypted, %d bad' % (s['files'], s['total'],
      s['encrypted'], s['bad']))
sys.exit(bad or s['bad'] or s['encrypted'] == 0)
EOF

step "2. decrypt + encrypt round trip"
mapfile -t ts < <(cd "$D" && { ls -d ibdata* undo[0-9][0-9][0-9] 2>/dev/null || true
                                 find . -name '*.ibd' | sort; })
(( ${#ts[@]} >= 15 )) || fail "only ${#ts[@]} tablespace files found in $D"
(cd "$D" && "$PAGETOOL" roundtrip "$plain_keys" "${ts[@]}") > "$T/rt.txt" ||
  fail "round trip: $(grep -v 'round-tripped$' "$T/rt.txt" | head)"
n=$(grep -c 'round-tripped$' "$T/rt.txt")
(( n >= 13 )) || fail "only $n encrypted files round-tripped"

step "3. a wrong key for id 2"
awk -F';' '$1 == 2 { print "2;" "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"; next }
           { print }' "$plain_keys" > "$T/wrong2.txt"
set +e
"$IBDCRYPT" verify --deep --json --keyfile="$T/wrong2.txt" "$D" > "$T/w.json"
rc=$?
set -e
[[ $rc == 1 ]] || fail "verify --deep with a wrong key 2 exited $rc, expected 1"
python3 - "$T/w.json" <<'EOF' || fail "wrong key 2 not named exactly"
import json, sys
rep = json.load(open(sys.argv[1]))
bad = 0
for f in rep['files']:
    want = 'key-mismatch' if f.get('encrypted') and f.get('key_id') == 2 else 'ok'
    if f['verdict'] != want:
        print('%s (key %s): %s, want %s' % (f['path'], f.get('key_id'), f['verdict'], want))
        bad = 1
sys.exit(bad)
EOF

step "4. flipped bits"
legacy=$(awk -F= '$1 == "checksum" && $2 == "crc32" {print 1}' "$T/a/instance.env")
ps=$(( ${page%k} * 1024 ))
cp --sparse=always "$D/ibc/t_k1.ibd" "$T/flip.ibd"
"$PAGETOOL" flip "$T/flip.ibd" 3 $((ps / 2))
set +e
"$IBDCRYPT" verify --json "$T/flip.ibd" > "$T/f1.json"; rc=$?
set -e
[[ $rc == 1 ]] && grep -q '"page":3,"problem":"bad-checksum"' "$T/f1.json" ||
  fail "verify did not report page 3 of a flipped file (exit $rc)"
# the same damage with the checksum recomputed: verify passes, deep verify catches it where
# the format can tell (legacy: anywhere; full_crc32: e.g. in the block with the space id)
off=$((ps / 2)); [[ -n "$legacy" ]] || off=36
cp --sparse=always "$D/ibc/t_k1.ibd" "$T/flip.ibd"
"$PAGETOOL" flip "$T/flip.ibd" 3 $off reseal
"$IBDCRYPT" verify "$T/flip.ibd" > /dev/null || fail "verify rejects a resealed page"
set +e
"$IBDCRYPT" verify --deep --json "${keyopts[@]}" "$T/flip.ibd" > "$T/f2.json"; rc=$?
set -e
[[ $rc == 1 ]] && grep -q '"page":3,' "$T/f2.json" ||
  fail "deep verify missed resealed damage at byte $off of page 3 (exit $rc)"

for mode in reencrypt rewrap; do
  step "5. re-key a copy ($mode) and start a server with only the new keys"
  mkdir -p "$T/$mode"
  cp -a --sparse=always "$D" "$T/$mode/data"
  (cd "$T/$mode/data" && "$PAGETOOL" rekey "$plain_keys" "$new_keys" "$mode" "${ts[@]}") \
    > "$T/rk.txt" || fail "rekey ($mode): $(tail -3 "$T/rk.txt")"
  (( $(grep -c 'to the new keys$' "$T/rk.txt") >= 13 )) || fail "rekey ($mode) touched too few files"
  "$IBDCRYPT" verify --deep -q --keyfile="$new_keys" "$T/$mode/data" > /dev/null ||
    fail "the $mode copy does not deep-verify with the new keys"
  server_on "$mode" "$T/$mode/data" "$new_keys"
done
step "all checks passed"
