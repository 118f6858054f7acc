#!/usr/bin/env bash
# Every page_compressed algorithm against a real MariaDB 10.11 server, one variant per run
# (CTest label "server"; tests/CMakeLists.txt lists the variants):
#
#   compression.sh IBDCRYPT PAGETOOL [mdb_new options...]
#
# A throwaway server with the provider plugins of the five algorithms besides zlib (Debian's
# mariadb-plugin-provider-{lz4,lzo,lzma,bzip2,snappy}) and one encrypted PAGE_COMPRESSED
# table per algorithm, innodb_compression_algorithm set before each CREATE TABLE (full_crc32
# keeps the algorithm in the tablespace flags; the legacy format names it on every page,
# compressed with the setting of the moment: it is set back before each table's rows go in).
# Then, on the stopped datadir:
#   1. verify --deep passes every page, none left unchecked as unsupported; in full_crc32
#      each table's file reports its algorithm;
#   2. with a key file whose key 1 is wrong, deep verify reports a key mismatch for every
#      table, not damaged pages;
#   3. a flipped bit in a compressed page with its checksum recomputed: deep verify names the
#      page, or the server reads it as sound too (CHECK TABLE);
#   4. rekey --mode=reencrypt to new keys: a server holding only those keys (and the
#      providers) passes CHECK TABLE with the CHECKSUM TABLE values of before.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=testlib.sh
. "$HERE/testlib.sh"
IBDCRYPT=$1 PAGETOOL=$2
shift 2
test_begin compression

ALGOS=(zlib lz4 lzo lzma bzip2 snappy)
plugins=()
for a in "${ALGOS[@]:1}"; do
  if [[ ! -e "${MDB_PLUGIN_DIR:-/usr/lib/mysql/plugin}/provider_$a.so" ]]; then
    echo "compression: mariadb-plugin-provider-$a not installed (ci/setup.sh installs it); skipping"
    exit 77
  fi
  plugins+=("mysqld:plugin_load_add=provider_$a")
  # the engine decompresses with the same libraries, found at build time (engine/CMakeLists.txt)
  sample=$HERE/../data/mariadb-10.11/cbc-fc32-16k-algos
  "$IBDCRYPT" verify --deep --json --keyfile="$sample/keys.txt" "$sample/t_$a.ibd" |
    grep -q '"unverified":0' || {
    echo "compression: $IBDCRYPT was built without the $a library; skipping"
    exit 77
  }
done

step "server: $*"
mdb_new "$T/a" encrypt_tables=ON encrypt_log=OFF "${plugins[@]}" "$@"
mdb_start "$T/a"
legacy=$(awk -F= '$1 == "checksum" && $2 == "crc32" {print 1}' "$T/a/instance.env")
{
  echo "SET SESSION innodb_strict_mode=ON; CREATE DATABASE c; USE c;"
  for a in "${ALGOS[@]}"; do
    echo "SET GLOBAL innodb_compression_algorithm=$a;"
    echo "CREATE TABLE t_$a (id INT UNSIGNED NOT NULL PRIMARY KEY, a INT NOT NULL,
      c VARCHAR(255) NOT NULL, KEY ka (a)) ENGINE=InnoDB PAGE_COMPRESSED=1
      ENCRYPTED=YES ENCRYPTION_KEY_ID=1;"
    echo "INSERT INTO t_$a SELECT seq, (seq * 2654435761) % 1000003,
      CONCAT('row-', seq, '-', REPEAT(SUBSTR(MD5(seq), 1, 8), 1 + seq % 20)) FROM seq_1_to_6000;"
    # the legacy format compresses each page as it is written, with the algorithm of the
    # moment: write this table's pages now
    echo "FLUSH TABLES t_$a FOR EXPORT; UNLOCK TABLES;"
  done
} | mdb_sql "$T/a" - > /dev/null
mdb_checksums "$T/a" > "$T/before.txt"
mdb_stop "$T/a"
D=$T/a/data K=$T/a/keys/keys.txt
NEWK=$T/keys-new.txt
mdb_make_keys "compression-new-$$" "$(_mdb_get "$T/a" key_ids)" "$NEWK"

step "1. verify --deep"
expect 0 "$IBDCRYPT" verify --deep --json --keyfile="$K" "$D/c"
cp "$T/out" "$T/d.json"
python3 - "$T/d.json" "$legacy" "${ALGOS[@]}" <<'EOF' || fail "deep verify of the compressed tables"
import json, sys
rep, legacy, algos = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3:]
files = {f['path'].rsplit('/', 1)[-1]: f for f in rep['files']}
for a in algos:
    f = files['t_%s.ibd' % a]
    assert f['verdict'] == 'ok' and f['page_compressed'], (a, f)
    p = f['pages']
    assert p['unverified'] == 0 and p['bad'] == 0 and p['encrypted'] >= 10, (a, p)
    assert legacy or f.get('compression') == a, (a, f.get('compression'))
print('compression: %s: every page deep-verified' % ', '.join(algos))
EOF

step "2. a wrong key 1: key mismatches, not damage"
awk -F';' -v OFS=';' '$1 == "1" {c = substr($2, 1, 1); $2 = (c == "0" ? "1" : "0") substr($2, 2)}
  {print}' "$K" > "$T/keys-wrong.txt"
cmp -s "$K" "$T/keys-wrong.txt" && fail "the wrong key file equals the right one"
expect 1 "$IBDCRYPT" verify --deep --json --keyfile="$T/keys-wrong.txt" "$D/c"
python3 - "$T/out" "${ALGOS[@]}" <<'EOF' || fail "a wrong key was not called a key mismatch"
import json, sys
rep, algos = json.load(open(sys.argv[1])), sys.argv[2:]
files = {f['path'].rsplit('/', 1)[-1]: f for f in rep['files']}
for a in algos:
    f = files['t_%s.ibd' % a]
    assert f['verdict'] == 'key-mismatch', (a, f['verdict'], f['bad_pages'][:3])
    # and page by page: every page fails, nearly all as a key mismatch (a wrong key's random
    # bytes pass a zlib header check 1 time in 500 and LZ4's or LZO's zero padding about 1 in
    # 128; such a page is then called damaged)
    assert f['pages']['bad'] == f['pages']['encrypted'], (a, f['pages'])
    km = sum(b['problem'] == 'key-mismatch' for b in f['bad_pages'])
    assert km >= 0.9 * len(f['bad_pages']), (a, km, len(f['bad_pages']))
EOF

step "3. a flipped bit in a compressed page, resealed"
# page 3 is the clustered index root, compressed and encrypted; byte 100 lies in its stream.
# Not every flip there is damage the format can tell: LZ4, LZO, snappy and LZMA as the server
# writes it carry no check of their own (a flip in literal bytes decompresses to another
# sound-looking page), and some bits of a bzip2 or deflate stream change nothing it decodes
# to. So the server is the judge: where deep verify passes the page, CHECK TABLE on a copy with
# those files must pass too.
cp -a --sparse=always "$D" "$T/flipped"
missed=()
for a in "${ALGOS[@]}"; do
  "$PAGETOOL" flip "$T/flipped/c/t_$a.ibd" 3 100 reseal
  expect 0 "$IBDCRYPT" verify "$T/flipped/c/t_$a.ibd"
  set +e
  "$IBDCRYPT" verify --deep --json --keyfile="$K" "$T/flipped/c/t_$a.ibd" > "$T/out"; rc=$?
  set -e
  if [[ $rc == 0 ]]; then
    missed+=("$a")
  else
    [[ $rc == 1 ]] && grep -q '"page":3,' "$T/out" || fail "$a: deep verify exited $rc without page 3"
  fi
done
echo "compression: damage in page 3 found for $(( ${#ALGOS[@]} - ${#missed[@]} )) of ${#ALGOS[@]} algorithms${missed:+; passed for ${missed[*]}}"
if (( ${#missed[@]} )); then
  mdb_clone "$T/a" "$T/fsrv" datadir_from="$T/flipped"
  mdb_start "$T/fsrv"
  for a in "${missed[@]}"; do
    out=$(mdb_sql "$T/fsrv" "CHECK TABLE c.t_$a EXTENDED" | awk -F'\t' '$3 != "status" || $4 != "OK"')
    [[ -z $out ]] || fail "$a: the server finds the damage deep verify passed: $out"
  done
  mdb_stop "$T/fsrv"
  echo "compression: the server reads the pages deep verify passed, as deep verify does"
fi

step "4. rekey --mode=reencrypt, then a server with only the new keys"
cp -a --sparse=always "$D" "$T/rk"
expect 0 "$IBDCRYPT" rekey --datadir="$T/rk" --keyfile="$K" --to-keyfile="$NEWK" --mode=reencrypt
expect 0 "$IBDCRYPT" verify --deep --keyfile="$NEWK" "$T/rk/c"
server_on rekeyed "$T/rk" "$NEWK"
step "all checks passed"
