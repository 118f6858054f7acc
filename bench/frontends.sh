#!/usr/bin/env bash
# Front-end throughput against the peers on a real encrypted datadir, page cache warm, ratios
# from the same run (issue 5, "Performance"):
#
#   bench/frontends.sh IBDCRYPT INSTANCE [REPS]
#
# INSTANCE is a stopped tests/server/mdb.sh instance (INSTANCE/data, INSTANCE/keys/keys.txt,
# INSTANCE/my.cnf), e.g. one made by `mdb_new DIR ...; mdb_start; mdb_load DIR 70; mdb_stop`
# (about 1 GB of tablespaces). REPS (default 5) interleaved repetitions; medians reported, and
# each ratio's spread over the repetitions.
#
#   backup:  ibdcrypt backup --stream=xbstream > /dev/null with deep verification (keys given)
#            vs mariadb-backup --backup --stream=xbstream --innodb-flush-method=fsync >
#            /dev/null on a running server of the same datadir; both with 2 threads
#   prepare: ibdcrypt prepare --mode=reencrypt and --mode=rewrap of a copy of a backup of the
#            datadir (its files and the manifest that prepare updates) vs cp -r of the datadir
#            to the same file system (and cp -r followed by sync, since prepare makes every
#            byte durable before it returns)
#   memory:  peak RSS of each ibdcrypt run (GNU time)
#
# Needs a stopped instance: it starts and stops the server around the mariadb-backup runs.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../tests/server/mdb.sh
. "$HERE/../tests/server/mdb.sh"
IBDCRYPT=$(readlink -f "$1")
I=$(readlink -f "$2")
REPS=${3:-5}
D=$I/data
K=$I/keys/keys.txt
W=$(dirname "$I")/frontends-bench.$$
mkdir -p "$W"
trap 'mdb_cleanup; rm -rf "$W"' EXIT
export MDB_QUIET=1
mdb_make_keys "bench-new" "$(_mdb_get "$I" key_ids)" "$W/keys-new.txt"
NEWK=$W/keys-new.txt

warm() { find "$1" -type f -print0 | xargs -0 cat > /dev/null; }
# Before each of the two backups: the previous repetition's copies were just removed (freeing
# and discarding 2 GB goes on in the kernel for a while), and mariadb-backup's run came after
# a server start; the same pause before both, then the same warming
settle() { sync; sleep 2; }
# timed OUT CMD...: run CMD, append "seconds max_rss_kib" to OUT
# (seconds to the microsecond: GNU time's own %e has 10 ms steps, as long as a whole rewrap)
timed() {
  local out=$1 t0 t1
  shift
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M" -o "$W/time" "$@"
  t1=$(date +%s.%N)
  echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.6f", b - a}') $(cat "$W/time")" >> "$out"
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
col() { awk -v c="$1" '{print $c}' "$2"; }

bytes=$(find "$D" -type f ! -name ibtmp1 -printf '%s\n' | awk '{s+=$1} END {print s}')
# prepare works on a backup: the datadir's files and the manifest it updates
"$IBDCRYPT" -q --threads=2 backup --datadir="$D" --keyfile="$K" --target-dir="$W/bk"
echo "datadir: $D, $((bytes / 1048576)) MiB; $(nproc) cores; $REPS repetitions"

for r in $(seq "$REPS"); do
  # ours on the stopped datadir
  settle
  warm "$D"
  timed "$W/ours.t" "$IBDCRYPT" -q --threads=2 backup --datadir="$D" --keyfile="$K" \
    --stream=xbstream > /dev/null
  # mariadb-backup on a running server of the same datadir
  mdb_start "$I" > /dev/null
  rm -rf "$W/mb"
  settle
  warm "$D"
  timed "$W/mb.t" mariadb-backup --defaults-file="$I/my.cnf" --backup --stream=xbstream \
    --parallel=2 --innodb-flush-method=fsync --target-dir="$W/mb" > /dev/null 2> "$W/mb.log" ||
    { tail "$W/mb.log" >&2; exit 1; }
  mdb_stop "$I" > /dev/null
  # cp -r, cp -r + sync, prepare reencrypt and rewrap (a copy made outside the timing)
  warm "$D"
  sync
  timed "$W/cp.t" cp -r "$D" "$W/cp"
  rm -rf "$W/cp"
  sync
  timed "$W/cpsync.t" bash -c "cp -r '$D' '$W/cp' && sync"
  rm -rf "$W/cp"
  cp -r "$W/bk" "$W/pr"
  cp "$K" "$W/keys-cur.txt"
  sync
  timed "$W/reenc.t" "$IBDCRYPT" -q --threads=2 prepare --target-dir="$W/pr" \
    --keyfile="$W/keys-cur.txt" --to-keyfile="$NEWK" --mode=reencrypt
  timed "$W/rewrap.t" "$IBDCRYPT" -q --threads=2 prepare --target-dir="$W/pr" \
    --keyfile="$NEWK" --to-keyfile="$W/keys-cur.txt" --mode=rewrap
  rm -rf "$W/pr"
done

m() { col 1 "$W/$1.t" | median | awk '{printf "%.3f", $1}'; }
rss() { col 2 "$W/$1.t" | sort -n | tail -1; }
ours=$(m ours) mb=$(m mb) cp=$(m cp) cpsync=$(m cpsync) reenc=$(m reenc) rewrap=$(m rewrap)
mbps() { awk -v b="$bytes" -v s="$1" 'BEGIN {printf "%.0f", b / 1048576 / s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b / a}'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f%%", 100 * a / b}'; }
printf '\n%-58s %8s %9s %9s\n' "run (median of $REPS)" "seconds" "MiB/s" "peak RSS"
printf '%-58s %8s %9s %8sM\n' "ibdcrypt backup --stream=xbstream (deep) > /dev/null" "$ours" "$(mbps "$ours")" "$(( $(rss ours) / 1024 ))"
printf '%-58s %8s %9s %8sM\n' "mariadb-backup --backup --stream=xbstream > /dev/null" "$mb" "$(mbps "$mb")" "$(( $(rss mb) / 1024 ))"
printf '%-58s %8s %9s\n' "cp -r" "$cp" "$(mbps "$cp")"
printf '%-58s %8s %9s\n' "cp -r && sync" "$cpsync" "$(mbps "$cpsync")"
printf '%-58s %8s %9s %8sM\n' "ibdcrypt prepare --mode=reencrypt" "$reenc" "$(mbps "$reenc")" "$(( $(rss reenc) / 1024 ))"
printf '%-58s %8s %9s %8sM\n' "ibdcrypt prepare --mode=rewrap" "$rewrap" "$(mbps "$rewrap")" "$(( $(rss rewrap) / 1024 ))"
# the same ratios per repetition (each from runs next to each other): their spread shows how
# much the file system's state moved the peer between repetitions
spread() { # A B SCALE: min / median / max over the repetitions of SCALE * A_r / B_r
  paste -d' ' <(col 1 "$W/$1.t") <(col 1 "$W/$2.t") |
    awk -v k="$3" '{print k * $2 / $1}' | sort -g |
    awk '{v[NR]=$1} END {m=(NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2;
                         printf "%.2f / %.2f / %.2f", v[1], m, v[NR]}'
}
echo
printf '%-54s %s\n' "ratio" "of the medians   per repetition (min / median / max)"
printf '%-54s %8sx        %s\n' "backup stream, ibdcrypt / mariadb-backup throughput" \
  "$(ratio "$ours" "$mb")" "$(spread ours mb 1)"
printf '%-54s %8sx        %s\n' "prepare reencrypt / cp -r throughput" \
  "$(ratio "$reenc" "$cp")" "$(spread reenc cp 1)"
printf '%-54s %8sx        %s\n' "prepare reencrypt / (cp -r && sync) throughput" \
  "$(ratio "$reenc" "$cpsync")" "$(spread reenc cpsync 1)"
printf '%-54s %9s        %s\n' "prepare rewrap time / cp -r time (%)" \
  "$(pct "$rewrap" "$cp")" "$(spread cp rewrap 100)"
