# shellcheck shell=bash
# mdb.sh: throwaway MariaDB 10.11 instances for ibdcrypt's real-server tests.
#
#   . tests/server/mdb.sh
#   T=$(mdb_tmproot)                          # /tmp/ibc.XXXXXX, short enough for sockets
#   trap 'mdb_cleanup; rm -rf "$T"' EXIT      # no server may outlive the test
#   mdb_new "$T/a" innodb_page_size=4k file_key_management_encryption_algorithm=AES_CTR
#   mdb_start "$T/a"; mdb_wait_encrypted "$T/a"; mdb_load "$T/a"
#   mdb_checksums "$T/a" > before.txt; mdb_stop "$T/a"
#
# Every function returns non-zero (never exits) on failure, after printing what went wrong
# and, where a server is involved, the tail of its error log to stderr. The library is safe
# under `set -euo pipefail`. It follows docs/formats/mariadb.md §15: --defaults-file first
# for every program, private socket/pid/log directories, nothing from /etc/mysql, never the
# distro datadir.
#
# Instance layout (DIR = absolute path; DIR/run/mysqld.sock must be <= 107 bytes):
#   DIR/my.cnf           option file (regenerated from DIR/instance.env)
#   DIR/instance.env     the variant, one key=value a line (see mdb_new)
#   DIR/data/            datadir
#   DIR/keys/            keys.txt (plain) | keys.enc + keys.pass (encrypted key file)
#   DIR/run/             socket, server pid file, server.pid (our copy, kept after exit)
#   DIR/log/             error.log, mariadbd.stderr, install.log
#
# Functions (details above each one):
#   mdb_available                       MariaDB 10.11 installed?  (tests exit 77 if not)
#   mdb_tmproot                         new short /tmp/ibc.XXXXXX
#   mdb_new DIR [opt=val ...]           create + bootstrap a stopped instance of a variant
#   mdb_start DIR [mysqld args]         start, wait until it answers (bounded)
#   mdb_stop DIR | mdb_kill9 DIR        clean shutdown (waits for exit) | SIGKILL
#   mdb_running DIR, mdb_pid DIR        state
#   mdb_cleanup                         SIGKILL every server this shell started (for traps)
#   mdb_sql DIR SQL|-                   batch, no headers, tab-separated
#   mdb_wait_encrypted DIR [secs]       wait for the key-rotation threads to settle
#   mdb_load DIR [scale]                deterministic data set in database ibc
#   mdb_workload DIR N|Ns               deterministic, crash-consistent write workload
#   mdb_workload_match ORACLE DIR       is DIR a legal workload state? (after crash/restore)
#   mdb_checksums DIR                   "db.table checksum", sorted; fails on NULL
#   mdb_check DIR                       CHECK TABLE everything; fails unless all OK
#   mdb_encryption DIR                  INNODB_TABLESPACES_ENCRYPTION as TSV
#   mdb_tablespaces DIR                 INNODB_SYS_TABLESPACES (+ row format) as TSV
#   mdb_file_info DATADIR               page 0 of every data file, from disk, as TSV
#   mdb_clone DIR NEWDIR [opts]         stopped copy (other keys / datadir allowed)
#   mdb_backup DIR TARGET [--stream]    mariadb-backup --backup (xbstream kept as TARGET.xb)
#   mdb_prepare TARGET                  mariadb-backup --prepare with TARGET/backup-my.cnf
#   mdb_make_keys SEED IDS OUT, mdb_key_hex SEED ID, mdb_make_password SEED OUT,
#   mdb_encrypt_keyfile IN OUT PASSFILE [SALTSEED]      key files
#
# Environment knobs: MDB_START_TIMEOUT (s, default 120), MDB_STOP_TIMEOUT (120),
# MDB_ENC_TIMEOUT (120), MDB_SQL_TIMEOUT (per client call, 900), MDB_BACKUP_TIMEOUT (600),
# MDB_INSTALL_TIMEOUT (300), MDB_DB (database of mdb_load/mdb_workload, default ibc),
# MDB_TAIL (error-log lines shown on failure, 25), MDB_QUIET=1 (no progress notes),
# MDB_BIN_DIR (where mariadbd & co. live, default: PATH and /usr/sbin).

MDB_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export MDB_LIB_DIR   # for callers that want to locate sibling scripts
: "${MDB_DB:=ibc}"
: "${MDB_TAIL:=25}"
# Instances started from this shell (and its subshells) are listed here, so mdb_cleanup can
# find every server even when mdb_start ran inside $(...). Deliberately not exported: a child
# script that sources mdb.sh gets its own registry, so its cleanup never kills ours.
if [[ -z "${MDB_REGISTRY:-}" ]]; then
  MDB_REGISTRY="${TMPDIR:-/tmp}/ibc-registry.$$"
fi

_mdb_note() { [[ "${MDB_QUIET:-0}" == 1 ]] || printf 'mdb: %s\n' "$*" >&2; }
_mdb_err() { printf 'mdb: ERROR: %s\n' "$*" >&2; }

# _mdb_bin NAME: absolute path of a MariaDB program.
_mdb_bin() {
  local p
  if [[ -n "${MDB_BIN_DIR:-}" && -x "$MDB_BIN_DIR/$1" ]]; then
    printf '%s\n' "$MDB_BIN_DIR/$1"; return 0
  fi
  p=$(PATH="$PATH:/usr/sbin:/sbin" command -v "$1" 2>/dev/null) || {
    _mdb_err "program $1 not found"; return 1; }
  printf '%s\n' "$p"
}

# mdb_available: true when a MariaDB 10.11 server and its tools are installed.
mdb_available() {
  local b v
  for b in mariadbd mariadb-install-db mariadb mariadb-admin; do
    _mdb_bin "$b" >/dev/null 2>&1 || return 1
  done
  v=$("$(_mdb_bin mariadbd)" --version 2>/dev/null) || return 1
  [[ "$v" == *" 10.11."* ]]
}

# mdb_tmproot: create and print a fresh short directory /tmp/ibc.XXXXXX for instances.
mdb_tmproot() { mktemp -d /tmp/ibc.XXXXXX; }

_mdb_tail() {  # _mdb_tail DIR: last lines of the error log (and of mariadbd's stderr)
  local d=$1
  if [[ -s "$d/log/error.log" ]]; then
    printf -- '--- last %s lines of %s ---\n' "$MDB_TAIL" "$d/log/error.log" >&2
    tail -n "$MDB_TAIL" "$d/log/error.log" >&2
  fi
  if [[ -s "$d/log/mariadbd.stderr" ]]; then
    printf -- '--- last 5 lines of %s ---\n' "$d/log/mariadbd.stderr" >&2
    tail -n 5 "$d/log/mariadbd.stderr" >&2
  fi
  printf -- '---\n' >&2
}

_mdb_fail() {  # _mdb_fail DIR MESSAGE...: report a failure with the error log tail; returns 1
  local d=$1; shift
  _mdb_err "$* [instance $d]"
  _mdb_tail "$d"
  return 1
}

_mdb_get() {  # _mdb_get DIR KEY: value from DIR/instance.env (empty if absent)
  local line
  [[ -f "$1/instance.env" ]] || return 0
  while IFS= read -r line; do
    if [[ "$line" == "$2="* ]]; then printf '%s\n' "${line#*=}"; return 0; fi
  done < "$1/instance.env"
  return 0
}

_mdb_set() {  # _mdb_set DIR KEY VALUE: replace or append in DIR/instance.env
  local f="$1/instance.env" tmp line found=0
  tmp="$f.tmp.$$"
  : > "$tmp"
  if [[ -f "$f" ]]; then
    while IFS= read -r line; do
      if [[ "$line" == "$2="* ]]; then
        printf '%s=%s\n' "$2" "$3" >> "$tmp"; found=1
      else
        printf '%s\n' "$line" >> "$tmp"
      fi
    done < "$f"
  fi
  [[ $found == 1 ]] || printf '%s=%s\n' "$2" "$3" >> "$tmp"
  mv -f "$tmp" "$f"
}

_mdb_abs() {  # absolute path without requiring existence
  local p=$1
  [[ "$p" == /* ]] || p="$PWD/$p"
  # collapse // and /./ (no symlink resolution: the path is used as typed)
  while [[ "$p" == *//* ]]; do p=${p//\/\//\/}; done
  while [[ "$p" == */./* ]]; do p=${p//\/.\//\/}; done
  p=${p%/.}; p=${p%/}
  printf '%s\n' "${p:-/}"
}

_mdb_check_dir() {  # instance sanity check
  [[ -f "$1/my.cnf" && -f "$1/instance.env" ]] || {
    _mdb_err "$1 is not an mdb instance (no my.cnf/instance.env)"; return 1; }
}

_mdb_page_bytes() {  # 4k|16k|64k|4096... -> bytes
  case "${1,,}" in
    4k|4096) echo 4096 ;; 8k|8192) echo 8192 ;; 16k|16384) echo 16384 ;;
    32k|32768) echo 32768 ;; 64k|65536) echo 65536 ;;
    *) return 1 ;;
  esac
}

# --- keys ----------------------------------------------------------------------------------

# mdb_key_hex SEED ID: the deterministic 256-bit key for key id ID = SHA-256("SEED:ID").
mdb_key_hex() {
  printf '%s:%s' "$1" "$2" | sha256sum | cut -c1-64
}

# mdb_make_keys SEED IDS OUT: write a plain file_key_management key file with one 256-bit
# key per id in IDS (comma separated, e.g. 1,2,100), derived from SEED.
mdb_make_keys() {
  local seed=$1 ids=$2 out=$3 id
  [[ ",$ids," == *,1,* ]] || { _mdb_err "key ids '$ids' lack the mandatory id 1"; return 1; }
  {
    printf '# ibdcrypt test keys, seed "%s" (key = SHA-256("seed:id"))\n' "$seed"
    for id in ${ids//,/ }; do
      [[ "$id" =~ ^[0-9]+$ && "$id" -ge 1 ]] || { _mdb_err "bad key id '$id'"; return 1; }
      printf '%s;%s\n' "$id" "$(mdb_key_hex "$seed" "$id")"
    done
  } > "$out"
}

# mdb_encrypt_keyfile IN OUT PASSFILE [SALTSEED]: encrypt a key file the way
# file_key_management reads it (openssl enc -aes-256-cbc -md sha1, salted, no -pbkdf2).
# With SALTSEED the salt is SHA-256("SALTSEED:salt")[0..8), so the output is reproducible.
mdb_encrypt_keyfile() {
  local in=$1 out=$2 pass=$3 salt="" errf rc=0
  errf=$(mktemp "${TMPDIR:-/tmp}/ibc-openssl.XXXXXX")
  if [[ -n "${4:-}" ]]; then
    salt=$(printf '%s:salt' "$4" | sha256sum | cut -c1-16)
    openssl enc -aes-256-cbc -md sha1 -S "$salt" -pass "file:$pass" -in "$in" \
      -out "$out.body" 2> "$errf" || rc=$?
    if (( rc == 0 )); then
      # OpenSSL 3 omits the "Salted__" header when -S is given (1.1 wrote it); add it.
      if [[ "$(head -c 8 "$out.body")" == "Salted__" ]]; then
        mv -f "$out.body" "$out"
      else
        # shellcheck disable=SC2059  # the format is the salt as \xHH escapes
        { printf 'Salted__'; printf "$(printf '%s' "$salt" | sed 's/../\\x&/g')"
          cat "$out.body"; } > "$out"
        rm -f "$out.body"
      fi
    fi
  else
    openssl enc -aes-256-cbc -md sha1 -pass "file:$pass" -in "$in" -out "$out" 2> "$errf" \
      || rc=$?
  fi
  if (( rc != 0 )); then
    _mdb_err "openssl enc failed for $in: $(grep -v -i 'deprecated\|better' "$errf")"
    rm -f "$errf" "$out.body"; return 1
  fi
  rm -f "$errf"
  [[ "$(head -c 8 "$out")" == "Salted__" ]] || { _mdb_err "$out is not a salted file"; return 1; }
  # round trip: the file must decrypt back to the input
  openssl enc -d -aes-256-cbc -md sha1 -pass "file:$pass" -in "$out" 2>/dev/null \
    | cmp -s - "$in" || { _mdb_err "$out does not decrypt back to $in"; return 1; }
}

# mdb_make_password SEED OUT: a deterministic key-file password (32 hex chars).
mdb_make_password() {
  printf '%s:password' "$1" | sha256sum | cut -c1-32 > "$2"
}

# --- configuration -------------------------------------------------------------------------

# _mdb_write_cnf DIR: (re)generate DIR/my.cnf from DIR/instance.env.
_mdb_write_cnf() {
  local d=$1 v keyfile extra line
  {
    echo "# generated by tests/server/mdb.sh from instance.env; edit that, not this"
    echo "[mysqld]"
    echo "datadir = $d/data"
    echo "socket = $d/run/mysqld.sock"
    echo "pid-file = $d/run/mysqld.pid"
    echo "log-error = $d/log/error.log"
    # its own temporary directory: servers of concurrent tests (and other users of /tmp) never
    # meet in one (a bootstrap once lost a temporary table while another test ran beside it)
    echo "tmpdir = $d/tmp"
    echo "skip-networking"
    echo "innodb_page_size = $(_mdb_get "$d" page)"
    echo "innodb_checksum_algorithm = $(_mdb_get "$d" checksum)"
    echo "innodb_buffer_pool_size = $(_mdb_get "$d" buffer_pool)"
    echo "innodb_log_file_size = $(_mdb_get "$d" log_file_size)"
    echo "innodb_read_only_compressed = OFF"
    echo "innodb_buffer_pool_dump_at_shutdown = OFF"
    echo "innodb_buffer_pool_load_at_startup = OFF"
    echo "plugin_dir = $(_mdb_get "$d" plugin_dir)"
    keyfile=$(_mdb_get "$d" keyfile)
    if [[ "$keyfile" != none ]]; then
      echo "plugin_load_add = file_key_management"
      echo "file_key_management_filename = $(_mdb_get "$d" keyfile_path)"
      v=$(_mdb_get "$d" filekey_path)
      [[ -z "$v" ]] || echo "file_key_management_filekey = FILE:$v"
      echo "file_key_management_encryption_algorithm = $(_mdb_get "$d" algo)"
    fi
    echo "innodb_encrypt_tables = $(_mdb_get "$d" encrypt_tables)"
    echo "innodb_encrypt_log = $(_mdb_get "$d" encrypt_log)"
    echo "innodb_encryption_threads = $(_mdb_get "$d" threads)"
    extra=$(_mdb_get "$d" extra)
    if [[ -n "$extra" ]]; then
      # extra holds name=value pairs separated by '|'
      local IFS='|'
      for line in $extra; do echo "$line"; done
    fi
    echo "[client]"
    echo "socket = $d/run/mysqld.sock"
    echo "user = root"
    echo "[mariadb-backup]"
    echo "socket = $d/run/mysqld.sock"
    echo "user = root"
  } > "$d/my.cnf"
}

# mdb_new DIR [option=value ...]: create and bootstrap a stopped instance in DIR (which must
# not exist or be empty). Options (full server names or the short alias):
#   innodb_page_size|page                      4k | 8k | 16k | 32k | 64k          (16k)
#   innodb_checksum_algorithm|checksum         full_crc32 | crc32 | strict_*      (full_crc32)
#   file_key_management_encryption_algorithm|algo   AES_CBC | AES_CTR             (AES_CBC)
#   innodb_encrypt_tables|encrypt_tables       OFF | ON | FORCE                   (ON)
#   innodb_encrypt_log|encrypt_log             ON | OFF                           (ON)
#   keyfile        plain | enc (openssl-encrypted keys.enc + FILE: password) | none (no
#                  key plugin at all; forces encrypt_tables=OFF, encrypt_log=OFF)  (plain)
#   key_ids|keys   comma list, must contain 1                                  (1,2,100)
#   seed           key/password seed; keys are SHA-256("seed:id")              (ibdcrypt)
#   innodb_log_file_size|log_file_size                                            (16M)
#   innodb_buffer_pool_size|buffer_pool                                           (64M)
#   innodb_encryption_threads|threads          (2 if encrypt_tables != OFF, else 0)
#   mysqld:NAME=VALUE   any further [mysqld] line, verbatim (repeatable)
mdb_new() {
  local d v opt name val t0
  [[ $# -ge 1 ]] || { _mdb_err "usage: mdb_new DIR [option=value ...]"; return 1; }
  d=$(_mdb_abs "$1"); shift
  if [[ -e "$d" && -n "$(ls -A "$d" 2>/dev/null)" ]]; then
    _mdb_err "mdb_new: $d exists and is not empty"; return 1
  fi
  local sock="$d/run/mysqld.sock"
  if (( ${#sock} > 107 )); then
    _mdb_err "mdb_new: socket path $sock is ${#sock} bytes (max 107); use a shorter DIR"
    return 1
  fi
  case "$d" in /var/lib/mysql|/var/lib/mysql/*|/etc/*|/usr/*|/) 
    _mdb_err "mdb_new: refusing to use $d"; return 1 ;;
  esac
  local page=16k checksum=full_crc32 algo=AES_CBC enc_tables=ON enc_log=ON keyfile=plain
  local ids=1,2,100 seed=ibdcrypt logsize=16M bp=64M threads="" extra=""
  for opt in "$@"; do
    [[ "$opt" == *=* ]] || { _mdb_err "mdb_new: option '$opt' is not name=value"; return 1; }
    name=${opt%%=*}; val=${opt#*=}
    case "$name" in
      innodb_page_size|page) page=${val,,} ;;
      innodb_checksum_algorithm|checksum) checksum=${val,,} ;;
      file_key_management_encryption_algorithm|algo) algo=${val^^} ;;
      innodb_encrypt_tables|encrypt_tables) enc_tables=${val^^} ;;
      innodb_encrypt_log|encrypt_log) enc_log=${val^^} ;;
      keyfile) keyfile=${val,,} ;;
      key_ids|keys) ids=$val ;;
      seed) seed=$val ;;
      innodb_log_file_size|log_file_size) logsize=$val ;;
      innodb_buffer_pool_size|buffer_pool) bp=$val ;;
      innodb_encryption_threads|threads) threads=$val ;;
      mysqld:*) extra="${extra:+$extra|}${opt#mysqld:}" ;;
      *) _mdb_err "mdb_new: unknown option '$name' (use mysqld:$name=... for raw lines)"
         return 1 ;;
    esac
  done
  _mdb_page_bytes "$page" >/dev/null || { _mdb_err "mdb_new: bad page size '$page'"; return 1; }
  case "$checksum" in full_crc32|strict_full_crc32|crc32|strict_crc32) ;;
    *) _mdb_err "mdb_new: bad checksum algorithm '$checksum'"; return 1 ;; esac
  case "$algo" in AES_CBC|AES_CTR) ;; *) _mdb_err "mdb_new: bad algorithm '$algo'"; return 1 ;; esac
  case "$enc_tables" in OFF|ON|FORCE) ;; *) _mdb_err "mdb_new: bad encrypt_tables"; return 1 ;; esac
  case "$enc_log" in ON|OFF) ;; *) _mdb_err "mdb_new: bad encrypt_log"; return 1 ;; esac
  case "$keyfile" in
    plain|enc) ;;
    none)
      if [[ "$enc_tables" != OFF || "$enc_log" != OFF ]]; then
        _mdb_note "keyfile=none: forcing innodb_encrypt_tables=OFF innodb_encrypt_log=OFF"
      fi
      enc_tables=OFF; enc_log=OFF ;;
    *) _mdb_err "mdb_new: keyfile must be plain, enc or none"; return 1 ;;
  esac
  if [[ -z "$threads" ]]; then
    if [[ "$enc_tables" == OFF ]]; then threads=0; else threads=2; fi
  fi

  mkdir -p "$d/keys" "$d/run" "$d/log" "$d/tmp" || { _mdb_err "mdb_new: cannot create $d"; return 1; }
  : > "$d/instance.env"
  _mdb_set "$d" page "$page"
  _mdb_set "$d" checksum "$checksum"
  _mdb_set "$d" algo "$algo"
  _mdb_set "$d" encrypt_tables "$enc_tables"
  _mdb_set "$d" encrypt_log "$enc_log"
  _mdb_set "$d" keyfile "$keyfile"
  _mdb_set "$d" key_ids "$ids"
  _mdb_set "$d" seed "$seed"
  _mdb_set "$d" log_file_size "$logsize"
  _mdb_set "$d" buffer_pool "$bp"
  _mdb_set "$d" threads "$threads"
  _mdb_set "$d" plugin_dir "${MDB_PLUGIN_DIR:-/usr/lib/mysql/plugin}"
  _mdb_set "$d" extra "$extra"
  case "$keyfile" in
    plain)
      mdb_make_keys "$seed" "$ids" "$d/keys/keys.txt" || return 1
      _mdb_set "$d" keyfile_path "$d/keys/keys.txt"
      _mdb_set "$d" filekey_path "" ;;
    enc)
      mdb_make_keys "$seed" "$ids" "$d/keys/keys.txt" || return 1
      mdb_make_password "$seed" "$d/keys/keys.pass"
      mdb_encrypt_keyfile "$d/keys/keys.txt" "$d/keys/keys.enc" "$d/keys/keys.pass" "$seed" \
        || return 1
      _mdb_set "$d" keyfile_path "$d/keys/keys.enc"
      _mdb_set "$d" filekey_path "$d/keys/keys.pass" ;;
    none)
      _mdb_set "$d" keyfile_path ""
      _mdb_set "$d" filekey_path "" ;;
  esac
  chmod 700 "$d/keys"
  _mdb_write_cnf "$d"

  t0=$SECONDS
  local inst
  inst=$(_mdb_bin mariadb-install-db) || return 1
  if ! timeout "${MDB_INSTALL_TIMEOUT:-300}" "$inst" --defaults-file="$d/my.cnf" --user=root --skip-test-db \
        > "$d/log/install.log" 2>&1 < /dev/null; then
    _mdb_err "mdb_new: mariadb-install-db failed for $d; last lines of $d/log/install.log:"
    tail -n "$MDB_TAIL" "$d/log/install.log" >&2
    _mdb_tail "$d"
    return 1
  fi
  # (the log and the system tablespace may have directories of their own:
  # mysqld:innodb_log_group_home_dir=DIR, mysqld:innodb_data_home_dir=DIR, and the system
  # tablespace's files names of their own: mysqld:innodb_data_file_path=NAME:SIZE;...)
  local logdir="$d/data" datahome="$d/data" sys1
  [[ "|$extra|" =~ \|innodb_log_group_home_dir=([^|]*)\| ]] && logdir=${BASH_REMATCH[1]}
  [[ "|$extra|" =~ \|innodb_data_home_dir=([^|]*)\| ]] && datahome=${BASH_REMATCH[1]:-$d/data}
  sys1=$datahome/ibdata1
  if [[ "|$extra|" =~ \|innodb_data_file_path=([^|:]*): ]]; then
    sys1=${BASH_REMATCH[1]}
    [[ $sys1 == /* ]] || sys1=$datahome/$sys1
  fi
  [[ -f "$sys1" && -f "$logdir/ib_logfile0" ]] || {
    _mdb_fail "$d" "mdb_new: bootstrap left no $sys1 or ib_logfile0"; return 1; }
  _mdb_note "created $d (page=$page checksum=$checksum algo=$algo tables=$enc_tables" \
            "log=$enc_log keyfile=$keyfile) in $((SECONDS - t0))s"
}

# --- process control -----------------------------------------------------------------------

_mdb_alive() {  # _mdb_alive PID: process exists and is not a zombie
  local st
  [[ -n "${1:-}" && -r "/proc/$1/stat" ]] || return 1
  st=$(cut -d' ' -f3 < "/proc/$1/stat" 2>/dev/null) || return 1
  [[ "$st" != Z && "$st" != X ]]
}

_mdb_is_ours() {  # _mdb_is_ours PID DIR: PID is a mariadbd run with DIR/my.cnf
  local cmd
  _mdb_alive "$1" || return 1
  cmd=$(tr '\0' ' ' < "/proc/$1/cmdline" 2>/dev/null) || return 1
  [[ "$cmd" == *mariadbd* && "$cmd" == *"--defaults-file=$2/my.cnf"* ]]
}

# mdb_pid DIR: print the pid of DIR's running server (fails if it is not running).
mdb_pid() {
  local d pid
  d=$(_mdb_abs "$1")
  pid=$(cat "$d/run/server.pid" 2>/dev/null) || pid=""
  if [[ -n "$pid" ]] && _mdb_is_ours "$pid" "$d"; then echo "$pid"; return 0; fi
  pid=$(cat "$d/run/mysqld.pid" 2>/dev/null) || pid=""
  if [[ -n "$pid" ]] && _mdb_is_ours "$pid" "$d"; then echo "$pid"; return 0; fi
  return 1
}

# mdb_running DIR: true when DIR's server process is alive.
mdb_running() { mdb_pid "$1" >/dev/null 2>&1; }

_mdb_admin() {
  local d=$1; shift
  "$(_mdb_bin mariadb-admin)" --defaults-file="$d/my.cnf" --connect-timeout=5 "$@"
}

_mdb_registry_add() {
  local d=$1
  [[ -f "$MDB_REGISTRY" ]] && grep -qxF -- "$d" "$MDB_REGISTRY" && return 0
  printf '%s\n' "$d" >> "$MDB_REGISTRY"
}

# mdb_start DIR [mysqld args...]: start DIR's server in the background and wait until it
# answers (bounded by MDB_START_TIMEOUT). Extra args go after --defaults-file and --user,
# e.g. --innodb-force-recovery=1. Fails at once when the process exits during startup.
mdb_start() {
  local d launcher pid deadline t0 bin
  d=$(_mdb_abs "$1"); shift
  _mdb_check_dir "$d" || return 1
  if mdb_running "$d"; then _mdb_err "mdb_start: $d is already running"; return 1; fi
  bin=$(_mdb_bin mariadbd) || return 1
  mkdir -p "$d/run" "$d/log" "$d/tmp"
  rm -f "$d/run/server.pid"
  _mdb_registry_add "$d"
  printf '=== mdb_start %s %s\n' "$(date '+%F %T')" "$*" >> "$d/log/mariadbd.stderr"
  t0=$SECONDS
  # setsid: own session, so terminal signals and the caller's process group don't reach it.
  # -w keeps the launcher alive as long as the server when setsid has to fork. All three
  # standard streams are redirected so no caller pipe stays open.
  ( cd / && exec setsid -w "$bin" --defaults-file="$d/my.cnf" --user=root "$@" \
      >> "$d/log/mariadbd.stderr" 2>&1 < /dev/null ) &
  launcher=$!
  disown "$launcher" 2>/dev/null || true   # no "Killed" job notices from this shell
  deadline=$((SECONDS + ${MDB_START_TIMEOUT:-120}))
  while :; do
    if _mdb_admin "$d" ping >/dev/null 2>&1; then break; fi
    if ! _mdb_alive "$launcher"; then
      _mdb_fail "$d" "mdb_start: mariadbd exited during startup"; return 1
    fi
    if (( SECONDS >= deadline )); then
      pid=$(cat "$d/run/mysqld.pid" 2>/dev/null) || pid=""
      [[ -n "$pid" ]] && _mdb_is_ours "$pid" "$d" && kill -9 "$pid" 2>/dev/null
      kill -9 "$launcher" 2>/dev/null || true
      _mdb_fail "$d" "mdb_start: server did not answer within ${MDB_START_TIMEOUT:-120}s" \
        "(killed)"; return 1
    fi
    sleep 0.1
  done
  pid=$(cat "$d/run/mysqld.pid" 2>/dev/null) || pid=""
  if [[ -z "$pid" ]] || ! _mdb_is_ours "$pid" "$d"; then
    _mdb_fail "$d" "mdb_start: server answers but pid file $d/run/mysqld.pid is not its pid"
    return 1
  fi
  echo "$pid" > "$d/run/server.pid"
  _mdb_note "started $d (pid $pid) in $((SECONDS - t0))s"
}

_mdb_wait_exit() {  # _mdb_wait_exit PID SECONDS: true if PID is gone in time
  local pid=$1 deadline=$((SECONDS + $2))
  while _mdb_alive "$pid"; do
    (( SECONDS < deadline )) || return 1
    sleep 0.1
  done
  return 0
}

# mdb_stop DIR: clean shutdown (mariadb-admin shutdown, then wait for the process to exit,
# bounded by MDB_STOP_TIMEOUT; SIGTERM, then SIGKILL as fallbacks, which count as failure).
# Succeeds quietly if the server is not running. Verifies "Shutdown complete" in the log.
mdb_stop() {
  local d pid t0 lim
  d=$(_mdb_abs "$1")
  _mdb_check_dir "$d" || return 1
  pid=$(mdb_pid "$d") || { _mdb_note "mdb_stop: $d is not running"; return 0; }
  t0=$SECONDS; lim=${MDB_STOP_TIMEOUT:-120}
  if ! timeout "$lim" "$(_mdb_bin mariadb-admin)" --defaults-file="$d/my.cnf" shutdown \
       >> "$d/log/mariadbd.stderr" 2>&1; then
    _mdb_err "mdb_stop: mariadb-admin shutdown failed; sending SIGTERM to $pid"
    kill -TERM "$pid" 2>/dev/null || true
  fi
  if ! _mdb_wait_exit "$pid" "$lim"; then
    _mdb_err "mdb_stop: pid $pid still alive after ${lim}s; SIGTERM"
    kill -TERM "$pid" 2>/dev/null || true
    if ! _mdb_wait_exit "$pid" 30; then
      kill -KILL "$pid" 2>/dev/null || true
      _mdb_wait_exit "$pid" 10 || true
      _mdb_fail "$d" "mdb_stop: had to SIGKILL pid $pid"; return 1
    fi
    _mdb_fail "$d" "mdb_stop: server needed SIGTERM"; return 1
  fi
  rm -f "$d/run/server.pid"
  if ! tail -n 3 "$d/log/error.log" 2>/dev/null | grep -q 'Shutdown complete'; then
    _mdb_fail "$d" "mdb_stop: server exited without 'Shutdown complete'"; return 1
  fi
  _mdb_note "stopped $d in $((SECONDS - t0))s"
}

# mdb_kill9 DIR: SIGKILL the server (crash simulation) and wait until it is gone.
mdb_kill9() {
  local d pid
  d=$(_mdb_abs "$1")
  pid=$(mdb_pid "$d") || { _mdb_err "mdb_kill9: $d is not running"; return 1; }
  kill -KILL "$pid" || { _mdb_err "mdb_kill9: kill $pid failed"; return 1; }
  _mdb_wait_exit "$pid" 30 || { _mdb_err "mdb_kill9: pid $pid survived SIGKILL"; return 1; }
  rm -f "$d/run/server.pid"
  _mdb_note "killed $d (pid $pid)"
}

# mdb_cleanup: SIGKILL every server started (via mdb_start) from this shell or its
# subshells that is still running; meant for `trap ... EXIT`. Never fails.
mdb_cleanup() {
  local d pid
  [[ -f "$MDB_REGISTRY" ]] || return 0
  while IFS= read -r d; do
    [[ -n "$d" ]] || continue
    if pid=$(mdb_pid "$d" 2>/dev/null); then
      kill -KILL "$pid" 2>/dev/null || true
      _mdb_wait_exit "$pid" 30 || _mdb_err "mdb_cleanup: pid $pid ($d) survived SIGKILL"
      _mdb_note "cleanup: killed server of $d"
    fi
  done < "$MDB_REGISTRY"
  rm -f "$MDB_REGISTRY"
  return 0
}

# --- SQL -----------------------------------------------------------------------------------

# mdb_sql DIR SQL...: run SQL (the arguments joined by spaces; "-" = read stdin) in batch
# mode without column names; prints the result rows tab-separated.
mdb_sql() {
  local d rc out errf
  d=$(_mdb_abs "$1"); shift
  _mdb_check_dir "$d" || return 1
  errf=$(mktemp "${TMPDIR:-/tmp}/ibc-sqlerr.XXXXXX")
  rc=0
  if [[ "${1:-}" == - ]]; then
    timeout "${MDB_SQL_TIMEOUT:-900}" "$(_mdb_bin mariadb)" --defaults-file="$d/my.cnf" \
      --batch --skip-column-names \
      2> "$errf" || rc=$?
  else
    timeout "${MDB_SQL_TIMEOUT:-900}" "$(_mdb_bin mariadb)" --defaults-file="$d/my.cnf" \
      --batch --skip-column-names -e "$*" \
      2> "$errf" || rc=$?
  fi
  if (( rc != 0 )); then
    out=$(cat "$errf"); rm -f "$errf"
    if [[ "${1:-}" == - ]]; then
      _mdb_err "mdb_sql: client failed (rc $rc) on SQL from stdin: $out"
    else
      local s="$*"
      _mdb_err "mdb_sql: client failed (rc $rc): $out; SQL: ${s:0:300}"
    fi
    mdb_running "$d" || _mdb_fail "$d" "mdb_sql: the server is not running" || true
    return "$rc"
  fi
  cat "$errf" >&2; rm -f "$errf"
  return 0
}

# mdb_sql_h DIR SQL...: like mdb_sql, with a header row (column names).
mdb_sql_h() {
  local d
  d=$(_mdb_abs "$1"); shift
  _mdb_check_dir "$d" || return 1
  timeout "${MDB_SQL_TIMEOUT:-900}" "$(_mdb_bin mariadb)" --defaults-file="$d/my.cnf" \
    --batch -e "$*" || {
    _mdb_err "mdb_sql_h failed on $d: $*"; return 1; }
}

# mdb_wait_encrypted DIR [TIMEOUT]: wait until the key-rotation threads are done, i.e. in
# INFORMATION_SCHEMA.INNODB_TABLESPACES_ENCRYPTION no space is ROTATING_OR_FLUSHING, and
#  - innodb_encrypt_tables ON/FORCE: every tablespace (INNODB_SYS_TABLESPACES, temporary
#    excluded) not created ENCRYPTED=NO is listed there with ENCRYPTION_SCHEME=1 and
#    MIN_KEY_VERSION>=1 (so ibdata1 and mysql.* are encrypted). A space without crypt_data
#    is not listed at all, so it counts as pending too;
#  - OFF: every listed space not created ENCRYPTED=YES has ENCRYPTION_SCHEME=0.
# Fails on timeout (MDB_ENC_TIMEOUT, 120 s) printing the pending spaces, and at once when
# something is pending but innodb_encryption_threads=0 (nothing would ever change).
mdb_wait_encrypted() {
  local d lim deadline mode threads pending q t0
  d=$(_mdb_abs "$1"); lim=${2:-${MDB_ENC_TIMEOUT:-120}}
  _mdb_check_dir "$d" || return 1
  mode=$(mdb_sql "$d" "SELECT @@innodb_encrypt_tables") || return 1
  threads=$(mdb_sql "$d" "SELECT @@innodb_encryption_threads") || return 1
  # Explicit ENCRYPTED=YES/NO, from the table options (space name = db/table).
  # CREATE_OPTIONS shows them as `ENCRYPTED`='NO'; strip the quotes before matching.
  local expl="SELECT CONCAT(TABLE_SCHEMA,'/',TABLE_NAME) FROM information_schema.TABLES
              WHERE ENGINE='InnoDB' AND
              REPLACE(REPLACE(LOWER(CREATE_OPTIONS),CHAR(96),''),CHAR(39),'') LIKE"
  local cols="SELECT e.SPACE, e.NAME, e.ENCRYPTION_SCHEME, e.MIN_KEY_VERSION,
              e.ROTATING_OR_FLUSHING FROM information_schema.INNODB_TABLESPACES_ENCRYPTION e"
  if [[ "$mode" == OFF ]]; then
    q="$cols WHERE e.ROTATING_OR_FLUSHING=1 OR (e.ENCRYPTION_SCHEME<>0
         AND e.NAME NOT IN ($expl '%encrypted=yes%'))"
  else
    q="$cols WHERE e.ROTATING_OR_FLUSHING=1 OR ((e.ENCRYPTION_SCHEME=0 OR e.MIN_KEY_VERSION=0)
         AND e.NAME NOT IN ($expl '%encrypted=no%'))
       UNION ALL
       SELECT t.SPACE, t.NAME, 'no crypt_data', '-', '-'
         FROM information_schema.INNODB_SYS_TABLESPACES t
        WHERE t.NAME <> 'innodb_temporary'
          AND t.SPACE NOT IN (SELECT SPACE FROM information_schema.INNODB_TABLESPACES_ENCRYPTION)
          AND t.NAME NOT IN ($expl '%encrypted=no%')"
  fi
  q="SELECT * FROM ($q) p ORDER BY 1"
  t0=$SECONDS; deadline=$((SECONDS + lim))
  while :; do
    pending=$(mdb_sql "$d" "$q") || return 1
    [[ -n "$pending" ]] || break
    if (( SECONDS >= deadline )) || [[ "$threads" == 0 ]]; then
      _mdb_err "mdb_wait_encrypted: spaces pending after $((SECONDS - t0))s" \
               "(space name scheme min_key_version rotating):"
      printf '%s\n' "$pending" | head -n 20 >&2
      _mdb_fail "$d" "mdb_wait_encrypted: gave up (innodb_encrypt_tables=$mode," \
        "innodb_encryption_threads=$threads)"
      return 1
    fi
    sleep 0.2
  done
  _mdb_note "encryption state settled on $d in $((SECONDS - t0))s (innodb_encrypt_tables=$mode)"
}

# mdb_encryption DIR: INFORMATION_SCHEMA.INNODB_TABLESPACES_ENCRYPTION as TSV with a header:
# space name scheme keyserver_requests min_key_version current_key_version key_id rotating.
mdb_encryption() {
  local d
  d=$(_mdb_abs "$1")
  printf 'space\tname\tscheme\tkeyserver_requests\tmin_key_version\tcurrent_key_version\tkey_id\trotating\n'
  mdb_sql "$d" "SELECT SPACE, NAME, ENCRYPTION_SCHEME, KEYSERVER_REQUESTS, MIN_KEY_VERSION,
    CURRENT_KEY_VERSION, CURRENT_KEY_ID, ROTATING_OR_FLUSHING
    FROM information_schema.INNODB_TABLESPACES_ENCRYPTION ORDER BY SPACE"
}

# mdb_tablespaces DIR: INFORMATION_SCHEMA.INNODB_SYS_TABLESPACES as TSV with a header (the
# temporary tablespace left out): space name flags flags_hex row_format page_size
# filename file_size allocated_size. row_format is the table's, from INNODB_SYS_TABLES
# ('-' for the system tablespace); page_size is the physical one (the zip size for
# ROW_FORMAT=COMPRESSED). NOTE: FLAG is the in-memory value; for PAGE_COMPRESSED
# tables it includes the compression level in bits 28..31 (0x60000035 on disk 0x35).
mdb_tablespaces() {
  local d
  d=$(_mdb_abs "$1")
  printf 'space\tname\tflags\tflags_hex\trow_format\tpage_size\tfilename\tfile_size\tallocated_size\n'
  mdb_sql "$d" "SELECT s.SPACE, s.NAME, s.FLAG, CONCAT('0x', HEX(s.FLAG)),
    IF(s.SPACE = 0, '-', IFNULL((SELECT MIN(t.ROW_FORMAT) FROM information_schema.INNODB_SYS_TABLES t
                                  WHERE t.SPACE = s.SPACE), '-')),
    s.PAGE_SIZE, s.FILENAME, s.FILE_SIZE, s.ALLOCATED_SIZE
    FROM information_schema.INNODB_SYS_TABLESPACES s WHERE s.NAME <> 'innodb_temporary'
    ORDER BY s.SPACE"
}

_mdb_hex() {  # _mdb_hex FILE OFFSET LEN: bytes as one lowercase hex string (coreutils od)
  od -An -v -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'
}

_mdb_datafiles() {  # relative paths of ibdata*, undo*, */*.ibd in DATADIR, sorted
  local f
  for f in "$1"/ibdata* "$1"/undo[0-9]* "$1"/*/*.ibd; do
    [[ -f "$f" ]] && printf '%s\n' "${f#"$1"/}"
  done | LC_ALL=C sort
  return 0
}

# mdb_file_info DATADIR: read page 0 of ibdata1, undo* and every */*.ibd of a STOPPED
# datadir (running servers may not have flushed page 0) and print TSV with a header:
#   file size space_id flags_hex format page_size physical_size crypt_offset
#   crypt_type crypt_iv crypt_min_key_version crypt_key_id crypt_mode
# format = full_crc32 | legacy; crypt_* = '-' when page 0 holds no crypt_data. Offsets as in
# docs/formats/mariadb.md §1.4 and §3.1.
mdb_file_info() {
  local dd f h sid fl fmt ss lps pps zss ext xdes off cd
  dd=$(_mdb_abs "$1")
  printf 'file\tsize\tspace_id\tflags_hex\tformat\tpage_size\tphysical_size\tcrypt_offset'
  printf '\tcrypt_type\tcrypt_iv\tcrypt_min_key_version\tcrypt_key_id\tcrypt_mode\n'
  while IFS= read -r f; do
    h=$(_mdb_hex "$dd/$f" 0 64) || return 1
    (( ${#h} == 128 )) || { printf '%s\t%s\t-\n' "$f" "$(stat -c %s "$dd/$f")"; continue; }
    sid=$((16#${h:76:8})); fl=$((16#${h:108:8}))
    if (( fl & 16 )); then
      fmt=full_crc32; ss=$((fl & 15)); lps=$((512 << ss)); pps=$lps
    else
      fmt=legacy; ss=$(((fl >> 6) & 15)); zss=$(((fl >> 1) & 15))
      if (( ss )); then lps=$((512 << ss)); else lps=16384; fi
      if (( zss )); then pps=$((512 << zss)); else pps=$lps; fi
    fi
    case $lps in 4096) ext=256 ;; 8192) ext=128 ;; *) ext=64 ;; esac
    xdes=$((24 + (2 * ext + 7) / 8))
    off=$((38 + 150 + xdes * (pps / ext)))
    cd=$(_mdb_hex "$dd/$f" "$off" 33)
    printf '%s\t%s\t%s\t0x%x\t%s\t%s\t%s\t%s' "$f" "$(stat -c %s "$dd/$f")" "$sid" "$fl" \
      "$fmt" "$lps" "$pps" "$off"
    if [[ "${cd:0:12}" == 730e0c524574 && "${cd:14:2}" == 10 ]]; then
      printf '\t%d\t%s\t%d\t%d\t%d\n' "$((16#${cd:12:2}))" "${cd:16:32}" \
        "$((16#${cd:48:8}))" "$((16#${cd:56:8}))" "$((16#${cd:64:2}))"
    else
      printf '\t-\t-\t-\t-\t-\n'
    fi
  done < <(_mdb_datafiles "$dd")
}

# base tables (system-versioned ones too) of all non-system schemas, db.table, sorted
_mdb_user_tables() {
  mdb_sql "$1" "SELECT CONCAT('\`',TABLE_SCHEMA,'\`.\`',TABLE_NAME,'\`') FROM information_schema.TABLES
    WHERE TABLE_TYPE IN ('BASE TABLE','SYSTEM VERSIONED') AND TABLE_SCHEMA NOT IN
    ('mysql','information_schema','performance_schema','sys')
    ORDER BY TABLE_SCHEMA, TABLE_NAME"
}

# mdb_checksums DIR: "db.table checksum" for every user table (all schemas but mysql,
# information_schema, performance_schema, sys), sorted. Fails (after printing everything)
# if a checksum is NULL, i.e. a table could not be read.
mdb_checksums() {
  local d tables out bad
  d=$(_mdb_abs "$1")
  tables=$(_mdb_user_tables "$d") || return 1
  [[ -n "$tables" ]] || return 0
  out=$(mdb_sql "$d" "CHECKSUM TABLE $(printf '%s\n' "$tables" | paste -sd, -) EXTENDED") \
    || return 1
  out=$(printf '%s\n' "$out" | awk -F'\t' '{print $1 " " $2}' | LC_ALL=C sort)
  printf '%s\n' "$out"
  bad=$(printf '%s\n' "$out" | awk '$2=="NULL"{print $1}')
  if [[ -n "$bad" ]]; then
    _mdb_err "mdb_checksums: NULL checksum (unreadable table) for: ${bad//$'\n'/ }"
    return 1
  fi
}

# mdb_check DIR: CHECK TABLE on every base table (system-versioned ones too) of every schema
# (mysql.* included; not information_schema/performance_schema). Prints the non-OK rows;
# fails unless every table reports status OK and no error rows appear.
mdb_check() {
  local d tables out bad
  d=$(_mdb_abs "$1")
  tables=$(mdb_sql "$d" "SELECT CONCAT('\`',TABLE_SCHEMA,'\`.\`',TABLE_NAME,'\`')
    FROM information_schema.TABLES WHERE TABLE_TYPE IN ('BASE TABLE','SYSTEM VERSIONED')
    AND TABLE_SCHEMA NOT IN ('information_schema','performance_schema')
    ORDER BY TABLE_SCHEMA, TABLE_NAME") || return 1
  out=$(mdb_sql "$d" "CHECK TABLE $(printf '%s\n' "$tables" | paste -sd, -)") || return 1
  # rows: Table Op Msg_type Msg_text
  bad=$(printf '%s\n' "$out" | awk -F'\t' '
      $3=="error" || ($3=="status" && $4!="OK") {print}
      $3=="status" {seen[$1]=1}
      {all[$1]=1}
      END {for (t in all) if (!(t in seen)) print t "\tcheck\terror\tno status row"}')
  if [[ -n "$bad" ]]; then
    printf '%s\n' "$bad" >&2
    _mdb_err "mdb_check: CHECK TABLE found problems on $d"
    return 1
  fi
  _mdb_note "CHECK TABLE OK for $(printf '%s\n' "$tables" | wc -l) tables on $d"
}

# --- clone, backup ---------------------------------------------------------------------------

# mdb_clone DIR NEWDIR [keyfile=PATH] [filekey=PATH] [datadir_from=PATH] [algo=...]
#           [mysqld:NAME=VALUE ...]
# Create a stopped instance NEWDIR whose datadir is a copy of DIR/data, or of
# datadir_from=PATH (e.g. a prepared backup); holes are kept, nothing else made sparse
# (cp --sparse=auto). The variant comes from DIR's instance.env. Keys are copied from DIR
# unless keyfile=PATH (plain or "Salted__" encrypted; an encrypted one needs filekey=PATH,
# default: DIR's password file) gives other keys. DIR must not be running (copy of a live
# datadir) unless datadir_from is given.
mdb_clone() {
  local d n opt name val src="" kf="" fk="" algo="" extra
  d=$(_mdb_abs "$1"); n=$(_mdb_abs "$2"); shift 2
  _mdb_check_dir "$d" || return 1
  if [[ -e "$n" && -n "$(ls -A "$n" 2>/dev/null)" ]]; then
    _mdb_err "mdb_clone: $n exists and is not empty"; return 1
  fi
  local sock="$n/run/mysqld.sock"
  (( ${#sock} <= 107 )) || { _mdb_err "mdb_clone: socket path $sock too long"; return 1; }
  extra=$(_mdb_get "$d" extra)
  for opt in "$@"; do
    name=${opt%%=*}; val=${opt#*=}
    case "$name" in
      keyfile) kf=$(_mdb_abs "$val") ;;
      filekey) fk=$(_mdb_abs "$val") ;;
      datadir_from) src=$(_mdb_abs "$val") ;;
      algo|file_key_management_encryption_algorithm) algo=${val^^} ;;
      mysqld:*) extra="${extra:+$extra|}${opt#mysqld:}" ;;
      *) _mdb_err "mdb_clone: unknown option '$opt'"; return 1 ;;
    esac
  done
  if [[ -z "$src" ]]; then
    src="$d/data"
    if mdb_running "$d"; then _mdb_err "mdb_clone: $d is running; stop it first"; return 1; fi
  fi
  [[ -d "$src" ]] || { _mdb_err "mdb_clone: no datadir $src"; return 1; }
  mkdir -p "$n/keys" "$n/run" "$n/log" "$n/tmp" || return 1
  chmod 700 "$n/keys"
  cp "$d/instance.env" "$n/instance.env"
  _mdb_set "$n" extra "$extra"
  _mdb_set "$n" cloned_from "$d"
  [[ -z "$algo" ]] || _mdb_set "$n" algo "$algo"
  # keys
  local old_kf old_fk
  old_kf=$(_mdb_get "$d" keyfile_path); old_fk=$(_mdb_get "$d" filekey_path)
  [[ -n "$kf" ]] || kf=$old_kf
  if [[ -n "$kf" ]]; then
    [[ -f "$kf" ]] || { _mdb_err "mdb_clone: key file $kf not found"; return 1; }
    if [[ "$(head -c 8 "$kf")" == "Salted__" ]]; then
      [[ -n "$fk" ]] || fk=$old_fk
      [[ -n "$fk" && -f "$fk" ]] || {
        _mdb_err "mdb_clone: encrypted key file $kf needs filekey=PASSWORD_FILE"; return 1; }
      cp "$kf" "$n/keys/keys.enc"; cp "$fk" "$n/keys/keys.pass"
      _mdb_set "$n" keyfile enc
      _mdb_set "$n" keyfile_path "$n/keys/keys.enc"
      _mdb_set "$n" filekey_path "$n/keys/keys.pass"
    else
      cp "$kf" "$n/keys/keys.txt"
      _mdb_set "$n" keyfile plain
      _mdb_set "$n" keyfile_path "$n/keys/keys.txt"
      _mdb_set "$n" filekey_path ""
    fi
    # keep the plain copy of DIR's keys (if any) for reference
    if [[ "$kf" == "$old_kf" && -f "$d/keys/keys.txt" && ! -f "$n/keys/keys.txt" ]]; then
      cp "$d/keys/keys.txt" "$n/keys/keys.txt"
    fi
  fi
  _mdb_write_cnf "$n"
  cp -a --sparse=auto "$src" "$n/data" || { _mdb_err "mdb_clone: copying $src failed"; return 1; }
  _mdb_note "cloned $d -> $n (datadir from $src)"
}

# mdb_backup DIR TARGET [--stream] [mariadb-backup args...]: back up the RUNNING instance
# DIR into TARGET (must not exist). With --stream the backup goes through
# --stream=xbstream into TARGET.xb (kept) and is extracted with mbstream into TARGET.
# The log is TARGET.backup.log.
mdb_backup() {
  local d t stream=0 log bk rc
  d=$(_mdb_abs "$1"); t=$(_mdb_abs "$2"); shift 2
  if [[ "${1:-}" == --stream ]]; then stream=1; shift; fi
  _mdb_check_dir "$d" || return 1
  mdb_running "$d" || { _mdb_err "mdb_backup: $d is not running"; return 1; }
  [[ ! -e "$t" ]] || { _mdb_err "mdb_backup: $t already exists"; return 1; }
  bk=$(_mdb_bin mariadb-backup) || return 1
  log="$t.backup.log"
  if (( stream )); then
    mkdir -p "$t.tmp"
    rc=0
    timeout "${MDB_BACKUP_TIMEOUT:-600}" "$bk" --defaults-file="$d/my.cnf" --backup \
      --stream=xbstream --target-dir="$t.tmp" \
      "$@" > "$t.xb" 2> "$log" < /dev/null || rc=$?
    rm -rf "$t.tmp"
    if (( rc == 0 )); then
      mkdir -p "$t"
      timeout "${MDB_BACKUP_TIMEOUT:-600}" "$(_mdb_bin mbstream)" -x -C "$t" < "$t.xb" \
        >> "$log" 2>&1 || rc=$?
      (( rc == 0 )) || _mdb_err "mdb_backup: mbstream -x failed"
    fi
  else
    rc=0
    timeout "${MDB_BACKUP_TIMEOUT:-600}" "$bk" --defaults-file="$d/my.cnf" --backup \
      --target-dir="$t" "$@" \
      > "$log" 2>&1 < /dev/null || rc=$?
  fi
  if (( rc != 0 )) || ! tail -n 3 "$log" | grep -q 'completed OK'; then
    _mdb_err "mdb_backup: mariadb-backup failed (rc $rc); last lines of $log:"
    tail -n "$MDB_TAIL" "$log" >&2
    return 1
  fi
  _mdb_note "backup of $d in $t$( (( stream )) && printf ' (stream %s)' "$t.xb")"
}

# mdb_prepare TARGET [mariadb-backup args...]: mariadb-backup --prepare with the backup's
# own backup-my.cnf (which names the key plugin, its key file path and plugin_dir).
# The log is TARGET.prepare.log.
mdb_prepare() {
  local t log rc
  t=$(_mdb_abs "$1"); shift
  [[ -f "$t/backup-my.cnf" ]] || { _mdb_err "mdb_prepare: $t has no backup-my.cnf"; return 1; }
  log="$t.prepare.log"
  rc=0
  timeout "${MDB_BACKUP_TIMEOUT:-600}" "$(_mdb_bin mariadb-backup)" \
    --defaults-file="$t/backup-my.cnf" --prepare \
    --target-dir="$t" "$@" > "$log" 2>&1 < /dev/null || rc=$?
  if (( rc != 0 )) || ! tail -n 3 "$log" | grep -q 'completed OK'; then
    _mdb_err "mdb_prepare: failed (rc $rc); last lines of $log:"
    tail -n "$MDB_TAIL" "$log" >&2
    return 1
  fi
  _mdb_note "prepared $t"
}

# --- deterministic data ----------------------------------------------------------------------

# _mdb_clause DIR KIND: table options for KIND in {yes1,yes2,yes100,no,default} given the
# instance's key plugin and innodb_encrypt_tables (keyfile=none: no clause at all; FORCE:
# no ENCRYPTED=NO).
_mdb_clause() {
  local kf et
  kf=$(_mdb_get "$1" keyfile); et=$(_mdb_get "$1" encrypt_tables)
  if [[ "$kf" == none ]]; then return 0; fi
  case "$2" in
    yes1) echo "ENCRYPTED=YES ENCRYPTION_KEY_ID=1" ;;
    yes2) echo "ENCRYPTED=YES ENCRYPTION_KEY_ID=2" ;;
    yes100) echo "ENCRYPTED=YES ENCRYPTION_KEY_ID=100" ;;
    no) [[ "$et" == FORCE ]] || echo "ENCRYPTED=NO" ;;
    default) ;;
  esac
}

_mdb_has_key() {  # _mdb_has_key DIR ID
  [[ ",$(_mdb_get "$1" key_ids)," == *",$2,"* ]]
}

_mdb_zip_kbs() {  # KEY_BLOCK_SIZE (KiB) = page/2, empty if ROW_FORMAT=COMPRESSED impossible
  local b
  b=$(_mdb_page_bytes "$(_mdb_get "$1" page)") || return 0
  (( b <= 16384 )) && echo $((b / 2048))
  return 0
}

# mdb_tables_sql DIR [SCALE]: print the SQL of mdb_load (for inspection).
mdb_tables_sql() {
  local d scale n nb nz nr kbs c1 c2 c100 t
  d=$(_mdb_abs "$1"); scale=${2:-1}
  [[ "$scale" =~ ^[0-9]+([.][0-9]+)?$ ]] || { _mdb_err "bad scale '$scale'"; return 1; }
  n=$(awk -v s="$scale" 'BEGIN{v=int(4000*s); print (v<1?1:v)}')
  nb=$(awk -v s="$scale" 'BEGIN{v=int(150*s); print (v<1?1:v)}')
  nz=$(awk -v s="$scale" 'BEGIN{v=int(3000*s); print (v<1?1:v)}')
  nr=$(awk -v s="$scale" 'BEGIN{v=int(2000*s); print (v<1?1:v)}')
  kbs=$(_mdb_zip_kbs "$d")
  c1=$(_mdb_clause "$d" yes1)
  if _mdb_has_key "$d" 2; then c2=$(_mdb_clause "$d" yes2); else c2=$c1; fi
  if _mdb_has_key "$d" 100; then c100=$(_mdb_clause "$d" yes100); else c100=$c1; fi
  # SPATIAL INDEX: encrypted only in the full_crc32 format (the legacy format keeps the key
  # version where R-tree pages keep their split sequence number, FIL_RTREE_SPLIT_SEQ_NUM;
  # 10.11.19 refuses ENCRYPTED=YES there: "ENCRYPTED=YES is not supported for SPATIAL INDEX",
  # ha_innodb.cc). Legacy variants get it unencrypted, none under innodb_encrypt_tables=FORCE.
  local gis=$c100
  if [[ "$(_mdb_get "$d" checksum)" != *full_crc32 ]]; then
    gis=$(_mdb_clause "$d" no)
    [[ "$(_mdb_get "$d" encrypt_tables)" != FORCE ]] || gis=-
  fi
  local db=$MDB_DB
  # Row generator: every column is a pure function of the sequence number n, so the data
  # (and CHECKSUM TABLE) are identical for every variant.
  local cols="id INT UNSIGNED NOT NULL PRIMARY KEY, a INT NOT NULL, b BIGINT NOT NULL,
    c VARCHAR(255) NOT NULL, d DATETIME NOT NULL, e CHAR(40) NULL,
    KEY ka (a), KEY kc (c(16)), KEY kbd (b, d)"
  local gen="SELECT seq, (seq * 2654435761) % 1000003, (seq * seq * 31) % 1099511627776,
    CONCAT('row-', seq, '-', REPEAT(SUBSTR(MD5(seq), 1, 8), 1 + seq % 20)),
    TIMESTAMP'2020-01-01 00:00:00' + INTERVAL (seq * 37) SECOND,
    IF(seq % 7 = 0, NULL, SHA1(seq))"
  cat <<EOF
SET SESSION innodb_strict_mode=ON;
DROP DATABASE IF EXISTS $db;
CREATE DATABASE $db;
USE $db;
EOF
  for t in "t_k1|$c1" "t_k2|$c2" "t_k100|$c100" "t_noenc|$(_mdb_clause "$d" no)" \
           "t_default|" "t_pc|PAGE_COMPRESSED=1" "t_pc_k2|PAGE_COMPRESSED=1 $c2"; do
    echo "CREATE TABLE ${t%%|*} ($cols) ENGINE=InnoDB ${t#*|};"
    echo "INSERT INTO ${t%%|*} $gen FROM seq_1_to_$n;"
  done
  if [[ -n "$kbs" ]]; then
    echo "CREATE TABLE t_zip ($cols) ENGINE=InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=$kbs;"
    echo "INSERT INTO t_zip $gen FROM seq_1_to_$nz;"
    echo "CREATE TABLE t_zip_k100 ($cols) ENGINE=InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=$kbs $c100;"
    echo "INSERT INTO t_zip_k100 $gen FROM seq_1_to_$nz;"
  fi
  cat <<EOF
CREATE TABLE t_redundant ($cols) ENGINE=InnoDB ROW_FORMAT=REDUNDANT;
INSERT INTO t_redundant $gen FROM seq_1_to_$nr;
CREATE TABLE t_blob (id INT UNSIGNED NOT NULL PRIMARY KEY, len INT NOT NULL,
  body LONGBLOB NOT NULL, note TEXT NULL, KEY kl (len)) ENGINE=InnoDB $c100;
INSERT INTO t_blob SELECT seq, 72 * (1 + (seq * 37) % 400),
  REPEAT(CONCAT(MD5(seq), SHA1(seq)), 1 + (seq * 37) % 400),
  IF(seq % 5 = 0, NULL, REPEAT(CONCAT('note ', seq, ' '), seq % 100))
  FROM seq_1_to_$nb;
CREATE TABLE wl_log (i INT UNSIGNED NOT NULL PRIMARY KEY, note VARCHAR(64) NOT NULL)
  ENGINE=InnoDB $c2;
CREATE TABLE t_part ($cols) ENGINE=InnoDB $c1 PARTITION BY HASH(id) PARTITIONS 3;
INSERT INTO t_part $gen FROM seq_1_to_$nr;
CREATE TABLE t_fts (id INT UNSIGNED NOT NULL PRIMARY KEY, body TEXT NOT NULL,
  FULLTEXT KEY fb (body)) ENGINE=InnoDB $c2;
INSERT INTO t_fts SELECT seq, CONCAT('word', seq % 97, ' other', seq % 13, ' ', MD5(seq))
  FROM seq_1_to_$nr;
CREATE TABLE t_instant ($cols) ENGINE=InnoDB $c1;
INSERT INTO t_instant $gen FROM seq_1_to_$nr;
ALTER TABLE t_instant ADD COLUMN f INT NOT NULL DEFAULT 7 FIRST, DROP COLUMN e,
  ALGORITHM=INSTANT;
INSERT INTO t_instant (id, a, b, c, d, f) SELECT id + $nr, a, b, c, d, id % 11
  FROM t_instant WHERE id <= $nr;
CREATE TABLE t_versioned (id INT UNSIGNED NOT NULL PRIMARY KEY, v INT NOT NULL)
  ENGINE=InnoDB $c2 WITH SYSTEM VERSIONING;
SET @@timestamp = 1600000000;
INSERT INTO t_versioned SELECT seq, seq FROM seq_1_to_$nr;
SET @@timestamp = 1600000100;
UPDATE t_versioned SET v = v + 1 WHERE id % 3 = 0;
SET @@timestamp = DEFAULT;
CREATE TABLE \`t-näme.x\` (id INT UNSIGNED NOT NULL PRIMARY KEY, v INT NOT NULL)
  ENGINE=InnoDB $c100;
INSERT INTO \`t-näme.x\` SELECT seq, seq * 3 FROM seq_1_to_$nb;
EOF
  if [[ "$gis" != - ]]; then
    echo "CREATE TABLE t_gis (id INT UNSIGNED NOT NULL PRIMARY KEY, g POINT NOT NULL,"
    echo "  SPATIAL KEY sg (g)) ENGINE=InnoDB $gis;"
    echo "INSERT INTO t_gis SELECT seq, POINT(seq % 101, seq DIV 101) FROM seq_1_to_$n;"
  fi
}

# mdb_load DIR [SCALE]: (re)create database $MDB_DB (ibc) with the deterministic data set
# on the running instance DIR. SCALE (default 1, decimals allowed) multiplies row counts.
# Tables (same names and rows in every variant; clauses adapt, see _mdb_clause):
#   t_k1 / t_k2 / t_k100   ENCRYPTED=YES ENCRYPTION_KEY_ID=1 / 2 / 100    4000 rows
#   t_noenc                ENCRYPTED=NO                                   4000 rows
#   t_default              no ENCRYPTED clause                            4000 rows
#   t_pc / t_pc_k2         PAGE_COMPRESSED=1 (default / key 2)            4000 rows
#   t_zip / t_zip_k100     ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=page/2 (default / key
#                          100), only for innodb_page_size <= 16k         3000 rows
#   t_redundant            ROW_FORMAT=REDUNDANT, no clause                2000 rows
#   t_blob                 key 100, LONGBLOB 72 B..28.8 KB (off-page) + TEXT  150 rows
#   wl_log                 key 2, empty; mdb_workload logs its iterations here
#   t_part                 key 1, PARTITION BY HASH, 3 partitions (t_part#P#p0.ibd ...)  2000 rows
#   t_fts                  key 2, FULLTEXT (its FTS_* auxiliary tablespaces)  2000 rows
#   t_gis                  key 100, SPATIAL index (R-tree pages); unencrypted in the crc32
#                          format, which cannot encrypt it (absent under FORCE)  4000 rows
#   t_instant              key 1, a column added FIRST and one dropped by instant ALTER TABLE
#                          (the root page becomes FIL_PAGE_TYPE_INSTANT with zeroed
#                          infimum/supremum), then as many rows again     4000 rows
#   t_versioned            key 2, WITH SYSTEM VERSIONING, a third of the rows updated (at
#                          fixed times: CHECKSUM TABLE covers row_start/row_end)  2000 rows
#   `t-näme.x`             key 100, a name the server encodes in the file name  150 rows
# Every row table (t_k1 ... t_redundant, t_part, t_instant) has a primary key and three
# secondary indexes.
mdb_load() {
  local d t0
  d=$(_mdb_abs "$1")
  _mdb_check_dir "$d" || return 1
  t0=$SECONDS
  mdb_tables_sql "$d" "${2:-1}" | mdb_sql "$d" - || {
    _mdb_fail "$d" "mdb_load failed"; return 1; }
  _mdb_note "loaded $MDB_DB (scale ${2:-1}) into $d in $((SECONDS - t0))s"
}

# _mdb_workload_vars DIR: set (in the caller's scope) the variables the workload SQL depends
# on: wl_db, wl_zip (1 if t_zip exists), wl_c1, wl_c2, wl_c100 (table clauses), wl_n, wl_nz,
# wl_nb (row counts of the loaded t_k100, t_zip_k100, t_blob).
_mdb_workload_vars() {
  local d=$1 counts
  wl_db=$MDB_DB; wl_zip=0; wl_nz=1
  [[ -z "$(_mdb_zip_kbs "$d")" ]] || wl_zip=1
  wl_c1=$(_mdb_clause "$d" yes1); wl_c2=$wl_c1; wl_c100=$wl_c1
  if _mdb_has_key "$d" 2; then wl_c2=$(_mdb_clause "$d" yes2); fi
  if _mdb_has_key "$d" 100; then wl_c100=$(_mdb_clause "$d" yes100); fi
  # row counts of the loaded data (tables the workload never inserts into or deletes from)
  counts=$(mdb_sql "$d" "SELECT (SELECT MAX(id) FROM $MDB_DB.t_k100),
    (SELECT MAX(id) FROM $MDB_DB.t_blob)") || return 1
  read -r wl_n wl_nb <<< "$counts"
  if (( wl_zip )); then
    wl_nz=$(mdb_sql "$d" "SELECT MAX(id) FROM $MDB_DB.t_zip_k100") || return 1
  fi
  if ! [[ "$wl_n" =~ ^[0-9]+$ ]] || (( wl_n <= 8 )); then
    _mdb_err "mdb_workload: no data on $d (run mdb_load first; scale >= 0.01)"; return 1
  fi
}

# _mdb_workload_ddl I: the DDL statements of iteration I (one per line; every 5th iteration):
# CREATE TABLE w_I (key id rotating 1/2/100/default), fill it (autocommit INSERT),
# RENAME it to w_I_r, DROP w_(I-10)_r. Each statement is atomic in 10.11.
_mdb_workload_ddl() {
  local i=$1 db=$wl_db cl
  (( i % 5 == 0 )) || return 0
  case $(( (i / 5) % 4 )) in
    0) cl=$wl_c1 ;; 1) cl=$wl_c2 ;; 2) cl=$wl_c100 ;; *) cl="" ;;
  esac
  echo "CREATE TABLE $db.w_$i (id INT NOT NULL PRIMARY KEY, v VARCHAR(100)) ENGINE=InnoDB $cl;"
  echo "INSERT INTO $db.w_$i SELECT seq, CONCAT('w', $i, '-', seq) FROM $db.seq_1_to_50;"
  echo "RENAME TABLE $db.w_$i TO $db.w_${i}_r;"
  if (( i >= 15 )); then echo "DROP TABLE $db.w_$((i - 10))_r;"; fi
}

# _mdb_workload_iter I: SQL of workload iteration I, a pure function of I and the wl_*
# variables: first the DDL (if any), then ONE transaction whose last row is wl_log(I).
_mdb_workload_iter() {
  local i=$1 db=$wl_db k j base lo
  _mdb_workload_ddl "$i"
  base=$((1000000 + i * 10))
  echo "BEGIN;"
  for j in 0 1 2; do
    k=$((base + j))
    echo "INSERT INTO $db.t_k1 VALUES ($k, $((i * 7 + j)), $((i * 1000 + j)), CONCAT('wl-', $i, '-', $j, REPEAT('x', $(( (i + j) % 50 )))), TIMESTAMP'2021-01-01 00:00:00' + INTERVAL $i MINUTE, SHA1($k));"
  done
  lo=$(( (i * 13) % (wl_n - 4) + 1 ))
  echo "INSERT INTO $db.t_k2 SELECT id - $lo + $((2000000 + i * 10)), a, b, c, d, e FROM $db.t_k2 WHERE id BETWEEN $lo AND $((lo + 3));"
  echo "INSERT INTO $db.t_pc VALUES ($base, $i, $i, REPEAT(CONCAT('pc', $i), 20), TIMESTAMP'2021-06-01 00:00:00', NULL);"
  echo "UPDATE $db.t_k100 SET c = CONCAT('upd-', $i, '-', c), a = a + $i WHERE id % 97 = $((i % 97)) AND id <= $wl_n AND LENGTH(c) < 200;"
  echo "UPDATE $db.t_default SET b = b + 1, e = SHA1(CONCAT(id, '-', $i)) WHERE id BETWEEN $(( (i * 31) % wl_n + 1 )) AND $(( (i * 31) % wl_n + 20 ));"
  echo "DELETE FROM $db.t_noenc WHERE id = $(( (i * 7919) % wl_n + 1 ));"
  if (( wl_zip )); then
    echo "UPDATE $db.t_zip SET c = CONCAT(c, '+') WHERE id = $(( (i * 101) % wl_nz + 1 )) AND LENGTH(c) < 250;"
  fi
  echo "UPDATE $db.t_blob SET note = CONCAT(IFNULL(note, ''), 'w$i ') WHERE id = $(( i % wl_nb + 1 ));"
  echo "INSERT INTO $db.wl_log VALUES ($i, 'iteration $i');"
  echo "COMMIT;"
}

_mdb_workload_last() {  # last completed iteration (MAX(wl_log.i))
  mdb_sql "$1" "SELECT IFNULL(MAX(i), 0) FROM $MDB_DB.wl_log"
}

# mdb_workload DIR N | DIR Ns: deterministic write workload on a loaded instance. N = run N
# iterations; "Ns" (e.g. 10s) = run iterations for about N seconds. Iterations continue from
# the last one recorded in wl_log, so successive calls extend one deterministic sequence.
# Iteration I = (every 5th: CREATE TABLE w_I with key id rotating 1/2/100/default, INSERT,
# RENAME to w_I_r, DROP w_(I-10)_r) then one transaction: INSERT/UPDATE/DELETE on t_k1,
# t_k2, t_pc, t_k100, t_default, t_noenc, t_zip, t_blob and INSERT wl_log(I).
# Crash consistency: with K = MAX(wl_log.i), the data is exactly "iterations 1..K" plus
# possibly a prefix of iteration K+1's DDL statements (see mdb_workload_match).
# Prints the last iteration done.
mdb_workload() {
  local d spec start i end secs=0 deadline
  local wl_db wl_zip wl_c1 wl_c2 wl_c100 wl_n wl_nz wl_nb
  d=$(_mdb_abs "$1"); spec=${2:?usage: mdb_workload DIR N|Ns}
  _mdb_check_dir "$d" || return 1
  start=$(_mdb_workload_last "$d") || return 1
  if [[ "$spec" =~ ^([0-9]+)s$ ]]; then
    secs=${BASH_REMATCH[1]}; end=$((start + 100000000))
  elif [[ "$spec" =~ ^[0-9]+$ ]]; then
    end=$((start + spec))
  else
    _mdb_err "mdb_workload: bad count '$spec'"; return 1
  fi
  _mdb_workload_vars "$d" || return 1
  deadline=$((SECONDS + secs))
  {
    i=$((start + 1))
    while (( i <= end )); do
      if (( secs > 0 && SECONDS >= deadline )); then break; fi
      _mdb_workload_iter "$i"
      i=$((i + 1))
    done
  } | mdb_sql "$d" - || { _mdb_err "mdb_workload failed on $d"; return 1; }
  _mdb_workload_last "$d"
}

# mdb_workload_match ORACLE DIR: check that DIR (e.g. a crash-recovered or restored copy of
# an instance that ran mdb_workload) holds a legal state of the workload. ORACLE is a
# running instance loaded with the same mdb_load scale and at most at DIR's iteration K
# (its variant may differ: CHECKSUM TABLE does not depend on it). ORACLE is advanced to K
# and CHECKSUM TABLE compared; if they differ and iteration K+1 has DDL, a temporary clone
# of ORACLE tries each prefix of that DDL. ORACLE stays at K, usable for later calls.
# Prints K; fails with a diff if no legal state matches.
mdb_workload_match() {
  local o d k have sd so tmp line ddl=() n=0 ok=1
  local wl_db wl_zip wl_c1 wl_c2 wl_c100 wl_n wl_nz wl_nb
  o=$(_mdb_abs "$1"); d=$(_mdb_abs "$2")
  k=$(_mdb_workload_last "$d") || return 1
  have=$(_mdb_workload_last "$o") || return 1
  (( have <= k )) || { _mdb_err "mdb_workload_match: oracle at $have > $k"; return 1; }
  if (( k > have )); then mdb_workload "$o" $((k - have)) > /dev/null || return 1; fi
  sd=$(mdb_checksums "$d") || return 1
  so=$(mdb_checksums "$o") || return 1
  if [[ "$sd" == "$so" ]]; then echo "$k"; return 0; fi
  _mdb_workload_vars "$o" || return 1
  while IFS= read -r line; do ddl+=("$line"); done < <(_mdb_workload_ddl $((k + 1)))
  if (( ${#ddl[@]} > 0 )); then
    tmp="$o-m"
    rm -rf "$tmp"
    mdb_stop "$o" || return 1
    mdb_clone "$o" "$tmp" || return 1
    mdb_start "$o" || return 1
    mdb_start "$tmp" || { rm -rf "$tmp"; return 1; }
    for line in "${ddl[@]}"; do
      n=$((n + 1))
      mdb_sql "$tmp" "$line" || break
      so=$(mdb_checksums "$tmp") || break
      if [[ "$sd" == "$so" ]]; then ok=0; break; fi
    done
    mdb_stop "$tmp" || true
    rm -rf "$tmp"
    if (( ok == 0 )); then
      _mdb_note "mdb_workload_match: $d = iterations 1..$k + $n DDL statement(s) of $((k + 1))"
      echo "$k"; return 0
    fi
    so=$(mdb_checksums "$o") || return 1
  fi
  _mdb_err "mdb_workload_match: $d (iteration $k) matches no legal workload state;" \
           "diff oracle -> $d:"
  diff <(printf '%s\n' "$so") <(printf '%s\n' "$sd") >&2 || true
  return 1
}
