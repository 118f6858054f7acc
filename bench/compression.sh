#!/usr/bin/env bash
# What deep verification costs per page_compressed algorithm: one thread, real pages.
#
#   bench/compression.sh IBDCRYPT [ROWS] [REPS]
#
# A throwaway MariaDB 10.11 with the provider plugins (ci/setup.sh installs them) gets one
# encrypted table per algorithm (zlib, lz4, lzo, lzma, bzip2, snappy) and one not compressed,
# ROWS rows each (default 1000000, about 150 MB of pages per table) of the rows of
# tests/server/compression.sh; then `verify --deep --threads=1` of each table file, REPS times
# (default 5), interleaved. Prints GB/s of pages (the page size times the encrypted pages,
# over the report's own seconds: no process start-up), best of REPS, and the ratio to the
# uncompressed table. The decoders are the libraries the server itself decompresses with.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/server/mdb.sh
. "$HERE/../tests/server/mdb.sh"
IBDCRYPT=$(readlink -f "$1")
ROWS=${2:-1000000} REPS=${3:-5}
ALGOS=(none zlib lz4 lzo lzma bzip2 snappy)
export MDB_QUIET=1
T=$(mdb_tmproot)
trap 'mdb_cleanup; rm -rf "$T"' EXIT
plugins=()
for a in "${ALGOS[@]:2}"; do plugins+=("mysqld:plugin_load_add=provider_$a"); done
mdb_new "$T/a" encrypt_tables=ON encrypt_log=OFF buffer_pool=512M "${plugins[@]}" > /dev/null
mdb_start "$T/a" > /dev/null
{
  echo "SET SESSION innodb_strict_mode=ON; CREATE DATABASE c; USE c;"
  for a in "${ALGOS[@]}"; do
    pc=""
    if [[ $a != none ]]; then
      echo "SET GLOBAL innodb_compression_algorithm=$a;"
      pc="PAGE_COMPRESSED=1"
    fi
    echo "CREATE TABLE t_$a (id INT UNSIGNED NOT NULL PRIMARY KEY, a INT NOT NULL,
      c VARCHAR(255) NOT NULL, KEY ka (a)) ENGINE=InnoDB $pc ENCRYPTED=YES ENCRYPTION_KEY_ID=1;"
    echo "INSERT INTO t_$a SELECT seq, (seq * 2654435761) % 1000003,
      CONCAT('row-', seq, '-', REPEAT(SUBSTR(MD5(seq), 1, 8), 1 + seq % 20))
      FROM seq_1_to_$ROWS;"
  done
} | mdb_sql "$T/a" - > /dev/null
mdb_stop "$T/a" > /dev/null
K=$T/a/keys/keys.txt
declare -A best pages
for r in $(seq "$REPS"); do
  for a in "${ALGOS[@]}"; do
    read -r s n ps unv < <("$IBDCRYPT" --threads=1 verify --deep --json --keyfile="$K" \
      "$T/a/data/c/t_$a.ibd" | python3 -c 'import json, sys
r = json.load(sys.stdin); s = r["summary"]; f = r["files"][0]
print(s["seconds"], s["encrypted"], f["page_size"], f["pages"]["unverified"])')
    (( unv == 0 )) || { echo "t_$a: $unv pages not checked (a build without its library?)" >&2; exit 1; }
    pages[$a]=$((n * ps))
    best[$a]=$(awk -v a="${best[$a]:-1e9}" -v b="$s" 'BEGIN {print (b < a ? b : a)}')
  done
done
printf '%-8s %12s %10s %9s\n' algorithm "MB of pages" "GB/s" "vs none"
base=$(awk -v b="${pages[none]}" -v s="${best[none]}" 'BEGIN {print b / s}')
for a in "${ALGOS[@]}"; do
  awk -v a="$a" -v b="${pages[$a]}" -v s="${best[$a]}" -v base="$base" \
    'BEGIN {printf "%-8s %12.0f %10.2f %8.2fx\n", a, b / 1e6, b / s / 1e9, b / s / base}'
done
