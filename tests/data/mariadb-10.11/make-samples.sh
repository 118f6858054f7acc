#!/usr/bin/env bash
# Cut the unit-test samples in this directory from datadirs written by a real MariaDB
# 10.11.19 server (Debian 12 package), made with tests/server/make_fixtures.sh.
#
#   PAGETOOL=build/tests/pagetool tests/data/mariadb-10.11/make-samples.sh FIXTURES_DIR
#
# Each sample is the first pages of one tablespace file, byte for byte as the server wrote it
# (a tablespace cut short is still a sequence of real pages; page 0 keeps its FSP header and
# crypt data), except the size that page 0 records (FSP_SIZE), set to the pages kept, with
# page 0's checksum to match (PAGETOOL: build/tests/pagetool; ibdcrypt reports a file shorter
# than its FSP_SIZE as truncated), plus the lab key files (throwaway keys, generated for these fixtures) and the
# variant settings. The pages cover: index pages (COMPACT/DYNAMIC and REDUNDANT), BLOB pages,
# PAGE_COMPRESSED pages, ROW_FORMAT=COMPRESSED pages, in both page formats and both ciphers.
#
#   PAGETOOL=build/tests/pagetool tests/data/mariadb-10.11/make-samples.sh --algos VARIANT DIR
#
# cuts the *-algos samples instead: the first 8 pages of the one table per page_compressed
# algorithm (lz4, lzo, lzma, bzip2, snappy) that tests/server/compression.sh builds, from DIR,
# the root of such a run kept with MDB_KEEP=1 (cbc-fc32-16k-algos: page=16k
# checksum=full_crc32 algo=AES_CBC; ctr-crc32-16k-algos: page=16k checksum=crc32 algo=AES_CTR).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pagetool=${PAGETOOL:?set PAGETOOL to build/tests/pagetool}
cut_file() { # cut_file SRC DST NPAGES PAGESIZE
  dd if="$1" of="$2" bs="$4" count="$3" status=none
  "$pagetool" fsp-size "$2"
}
if [[ ${1:-} == --algos ]]; then
  v=${2:?usage: $0 --algos VARIANT DIR} run=${3:?usage: $0 --algos VARIANT DIR}
  d=$here/$v
  rm -rf "$d" && mkdir -p "$d"
  cp "$run/a/keys/keys.txt" "$run/keys-new.txt" "$d/"
  { echo "variant=$v"; sed -n 's/^server=/server=/p' "$here/cbc-fc32-16k/variant.txt"
    grep -E '^(page|checksum|algo)=' "$run/a/instance.env"; } > "$d/variant.txt"
  for a in lz4 lzo lzma bzip2 snappy; do
    cut_file "$run/a/data/c/t_$a.ibd" "$d/t_$a.ibd" 8 16384
  done
  exit 0
fi
src=${1:?usage: $0 FIXTURES_DIR}
for v in cbc-fc32-16k ctr-fc32-16k cbc-crc32-16k ctr-crc32-16k cbc-fc32-4k ctr-fc32-64k; do
  d=$here/$v
  rm -rf "$d" && mkdir -p "$d"
  cp "$src/$v/keys/keys.txt" "$src/$v/keys/keys-new.txt" "$d/"
  grep -E '^(variant|server|page|checksum|algo)=' "$src/$v/variant.txt" > "$d/variant.txt"
  ps=$(sed -n 's/^page=\([0-9]*\)k$/\1/p' "$d/variant.txt"); ps=$((ps * 1024))
  n=$(( ps >= 65536 ? 4 : ps >= 16384 ? 8 : 24 ))
  for t in t_redundant t_blob t_pc t_k1 t_zip; do
    f=$src/$v/data/ibc/$t.ibd
    [[ -f $f ]] || continue
    # ROW_FORMAT=COMPRESSED uses half-size pages (KEY_BLOCK_SIZE = page / 2)
    p=$ps; [[ $t == t_zip ]] && p=$((ps / 2))
    cut_file "$f" "$d/$t.ibd" "$n" "$p"
  done
done
