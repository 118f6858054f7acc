#!/usr/bin/env bash
# Make the real redo logs in tests/data/redo/ with throwaway MariaDB 10.11 servers
# (tests/server/mdb.sh, branch server-harness). Needs mariadbd, python3, zstd.
#
#   MDB_SH=/path/to/tests/server/mdb.sh tests/data/redo/make-logs.sh
#
# Each log comes from a fresh instance with innodb_log_file_size=4M (the server's minimum;
# 1M is adjusted to 4M), keys SHA-256("ibdcrypt:<id>") (keys.txt) and, for re-key tests,
# SHA-256("ibdcrypt-new:<id>") (keys-new.txt). The workload (mdb_load, mdb_workload) first
# advances the LSN until the log's write position is 100..400 KiB before the end of the ring,
# then the server is restarted cleanly (checkpoint = end of log), a few more iterations run
# and the server is killed with -9, so that the pending redo (checkpoint .. end) wraps round
# the end of the file: one mini-transaction straddles it whenever the wrap is mid-mtr.
# A copy of the killed datadir is recovered by the server; its "Starting crash recovery from
# checkpoint LSN=" and "End of log at LSN=" lines go into NAME.txt, for the tests to compare.
#
# To keep the repository small, the ring bytes outside [checkpoint, end + 16 KiB) (old mtrs
# that recovery never reads) are zeroed; the server recovers the zeroed log to the same end
# LSN (checked here), as formats/mariadb.md §10.4.8 notes. The files are compressed with zstd.
# Rebuilding gives other bytes (random crypt_msg, timing) but logs of the same kind.
#
# Variants: cbc-killed (AES_CBC), ctr-killed (AES_CTR), plain-killed (innodb_encrypt_log=OFF),
# cbc-clean (AES_CBC, clean shutdown: only the FILE_CHECKPOINT mtr is pending).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${MDB_SH:=$here/../../server/mdb.sh}"
# shellcheck source=/dev/null
. "$MDB_SH"
mdb_available || { echo "no MariaDB 10.11 server here" >&2; exit 1; }
export MDB_QUIET=1
T=$(mdb_tmproot)
trap 'mdb_cleanup; rm -rf "$T"' EXIT
CAP=$((4 * 1024 * 1024 - 12288))

lsn() { mdb_sql "$1" "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS
                      WHERE VARIABLE_NAME='INNODB_LSN_CURRENT'"; }
to_end() { echo $(( CAP - ($1 - 12288) % CAP )); } # bytes from LSN $1 to the end of the ring

# zero_dead LOG CHECKPOINT END: zero the ring outside [CHECKPOINT, END + 16 KiB)
zero_dead() {
  python3 - "$@" <<'EOF'
import sys
path, cp, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = bytearray(open(path, 'rb').read())
first = int.from_bytes(data[8:16], 'big')
cap = len(data) - 12288
keep = set()
for lsn in range(cp, min(end + 16384, cp + cap)):
    keep.add(12288 + (lsn - first) % cap)
for off in range(12288, len(data)):
    if off not in keep:
        data[off] = 0
open(path, 'wb').write(bytes(data))
EOF
}

# recover DIR LOG: start a clone of DIR's datadir with LOG as ib_logfile0, print the
# checkpoint and end-of-log lines of its recovery, stop it.
recover() {
  local c="$T/rec.$RANDOM"
  mdb_clone "$1" "$c"
  cp "$2" "$c/data/ib_logfile0"
  mdb_start "$c"
  mdb_stop "$c"
  grep -oE 'Starting crash recovery from checkpoint LSN=[0-9]+|End of log at LSN=[0-9]+' \
    "$c/log/error.log" | head -2
  rm -rf "$c"
}

make_log() { # make_log NAME algo=... encrypt_log=... crash|clean
  local name=$1 algo=$2 enc=$3 how=$4 d="$T/$1" n l0 l tries=0
  rm -rf "$d"
  mdb_new "$d" "$algo" "$enc" log_file_size=4M
  cp "$d/keys/keys.txt" "$here/keys.txt"
  mdb_make_keys ibdcrypt-new 1,2,100 "$here/keys-new.txt"
  mdb_start "$d"
  mdb_load "$d" 0.02
  while :; do # advance to 100..400 KiB before the end of the ring
    n=$(to_end "$(lsn "$d")")
    (( n >= 100 * 1024 && n <= 400 * 1024 )) && break
    mdb_workload "$d" 2 > /dev/null
    (( ++tries < 5000 )) || { echo "cannot position the log" >&2; exit 1; }
  done
  mdb_stop "$d"
  mdb_start "$d"
  l0=$(lsn "$d")
  if [[ $how == crash ]]; then
    while :; do # past the end of the ring by at least 32 KiB
      mdb_workload "$d" 2 > /dev/null
      l=$(lsn "$d")
      (( l - l0 > $(to_end "$l0") + 32768 )) && break
    done
    mdb_kill9 "$d"
  else
    mdb_workload "$d" 2 > /dev/null
    mdb_stop "$d"
  fi
  cp "$d/data/ib_logfile0" "$T/$name.log"
  local lines cp end
  lines=$(recover "$d" "$T/$name.log")
  if [[ $how == crash ]]; then
    cp=$(sed -n 's/.*checkpoint LSN=//p' <<< "$lines")
    end=$(sed -n 's/.*End of log at LSN=//p' <<< "$lines")
    [[ -n $cp && -n $end ]] || { echo "$name: no recovery lines: $lines" >&2; exit 1; }
  else # clean: checkpoint = end of log, and only the FILE_CHECKPOINT mtr after it
    cp=$(python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
print(max(int.from_bytes(d[o:o + 8], "big") for o in (4096, 8192)))' "$T/$name.log")
    end=$((cp + 64))
  fi
  zero_dead "$T/$name.log" "$cp" "$end"
  [[ "$(recover "$d" "$T/$name.log")" == "$lines" ]] || {
    echo "$name: the zeroed log recovers differently" >&2; exit 1; }
  zstd -q -19 -f "$T/$name.log" -o "$here/$name.ib_logfile0.zst"
  {
    echo "# $name: $(mariadbd --version | head -1)"
    echo "variant=$name $algo $enc $how innodb_log_file_size=4M"
    echo "size=$(stat -c %s "$T/$name.log")"
    if [[ $how == crash ]]; then
      echo "server_checkpoint_lsn=$cp"
      echo "server_end_lsn=$end"
      echo "# server recovery: $(tr '\n' ';' <<< "$lines")"
    fi
  } > "$here/$name.txt"
  echo "made $name: $(stat -c %s "$here/$name.ib_logfile0.zst") bytes compressed"
}

make_log cbc-killed algo=AES_CBC encrypt_log=ON crash
make_log ctr-killed algo=AES_CTR encrypt_log=ON crash
make_log plain-killed algo=AES_CBC encrypt_log=OFF crash
make_log cbc-clean algo=AES_CBC encrypt_log=ON clean
