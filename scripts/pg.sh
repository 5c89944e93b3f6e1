#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for development and tests.
#
#   scripts/pg.sh start DIR PORT   start (initdb first if needed); prints the URL
#   scripts/pg.sh stop  DIR        stop it (no error if not running / DIR missing)
#   scripts/pg.sh url   DIR PORT   print the URL only
#   scripts/pg.sh replica DIR PORT PRIMARY_PORT
#                                  a streaming replica of the cluster on
#                                  PRIMARY_PORT, made afresh with pg_basebackup
#                                  whenever it is not running; prints its URL
#   scripts/pg.sh bouncer DIR PORT PG_PORT
#                                  PgBouncer in transaction pooling mode in
#                                  front of the cluster on PG_PORT (installs
#                                  Debian's pgbouncer when missing); prints its URL
#   (stop DIR stops a replica or a PgBouncer too)
#
#   DATABASE_URL=$(scripts/pg.sh start .tmp/pg-dev 54329)
#
# Only the URL goes to stdout; everything else goes to stderr.
#
# Layout (DIR is a container, not PGDATA itself):
#   DIR/data/          PGDATA (our settings live in DIR/data/clc.conf)
#   DIR/postgres.log   server log
#   DIR/.s.PGSQL.PORT  unix socket (TCP 127.0.0.1:PORT is what callers use)
#
# PostgreSQL refuses to run as root. As root the server runs as the `postgres`
# user if it exists, otherwise as a system user `clcpg` created on demand.
# That user must be able to reach DIR, but a clone may live under a directory
# others cannot traverse (/root is 0700). Rather than loosening permissions on
# someone else's parent directories (chmod o+x /root would be a silent, global
# change), DIR then becomes a symlink to /tmp/clc-pg-<hash of DIR's absolute
# path>, a 0700 directory owned by that user. The hash keeps distinct DIRs
# apart and lets `stop` find the cluster even if DIR was deleted. When the user
# can reach DIR, the data lives in DIR itself.
set -euo pipefail

PG_DB=clc
PG_SUPERUSER=postgres
TMP_PREFIX=/tmp/clc-pg-

log() { printf 'pg.sh: %s\n' "$*" >&2; }
die() { printf 'pg.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
  cat >&2 <<'EOF'
usage: scripts/pg.sh start DIR PORT   start a throwaway cluster; prints the DATABASE_URL
       scripts/pg.sh stop  DIR        stop it (no error if not running)
       scripts/pg.sh url   DIR PORT   print the DATABASE_URL
       scripts/pg.sh replica DIR PORT PRIMARY_PORT   start a streaming replica; prints its URL
       scripts/pg.sh bouncer DIR PORT PG_PORT        start PgBouncer (transaction pooling); prints its URL
EOF
  exit 2
}

url_for() { printf 'postgres://%s@127.0.0.1:%s/%s?sslmode=disable\n' "$PG_SUPERUSER" "$1" "$PG_DB"; }

check_port() {
  if ! [[ "$1" =~ ^[1-9][0-9]{0,4}$ ]] || (( $1 > 65535 )); then
    die "invalid PORT '$1' (want 1-65535)"
  fi
}

is_root() { [[ $(id -u) -eq 0 ]]; }

# ---------------------------------------------------------------- paths

# Absolute path of DIR without resolving DIR itself if it is a symlink.
abs_path() {
  local parent
  parent=$(realpath -m -- "$(dirname -- "$1")")
  printf '%s/%s\n' "${parent%/}" "$(basename -- "$1")"
}

tmp_dir_for() {
  printf '%s%s\n' "$TMP_PREFIX" "$(printf '%s' "$1" | sha256sum | cut -c1-16)"
}

# ---------------------------------------------------------------- binaries

BINDIR=""
find_bindir() {
  local i p
  i=$(command -v initdb 2>/dev/null || true)
  p=$(command -v pg_ctl 2>/dev/null || true)
  if [[ -n "$i" && -n "$p" ]]; then
    # Use the real directory so initdb, pg_ctl and postgres are one version.
    BINDIR=$(dirname -- "$(readlink -f -- "$p")")
    [[ -x "$BINDIR/initdb" && -x "$BINDIR/postgres" ]] || BINDIR=$(dirname -- "$(readlink -f -- "$i")")
    [[ -x "$BINDIR/initdb" && -x "$BINDIR/pg_ctl" ]] && return 0
    BINDIR=""
  fi
  local d
  # shellcheck disable=SC2012 # version directory names are plain numbers
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" ]]; then
    BINDIR=$d
    return 0
  fi
  return 1
}

# apt_install PACKAGE WHY: install a Debian package when we are root and
# have apt-get; fails otherwise.
apt_install() {
  is_root && command -v apt-get >/dev/null 2>&1 || return 1
  log "$2; installing the Debian '$1' package"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >&2
}

ensure_binaries() {
  find_bindir && return 0
  # Debian's package also creates and starts a 'main' cluster on 5432; we don't use it.
  if apt_install postgresql "PostgreSQL server binaries not found"; then
    find_bindir && return 0
  fi
  die "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in /usr/lib/postgresql/*/bin; install PostgreSQL (e.g. apt-get install postgresql)"
}

psql_bin() {
  if [[ -x "$BINDIR/psql" ]]; then printf '%s\n' "$BINDIR/psql"
  elif command -v psql >/dev/null 2>&1; then command -v psql
  else die "psql not found (install postgresql-client)"
  fi
}

# ---------------------------------------------------------------- users

RUN_USER=""   # empty: run as ourselves (not root)

pick_user() {
  # $1: data dir (may not exist). Keep the owner of an existing cluster.
  is_root || return 0
  if [[ -d "$1" ]]; then
    local owner
    owner=$(stat -c %U -- "$1")
    if [[ "$owner" != root && "$owner" != UNKNOWN ]]; then RUN_USER=$owner; return 0; fi
  fi
  if id -u postgres >/dev/null 2>&1; then
    RUN_USER=postgres
  else
    if ! id -u clcpg >/dev/null 2>&1; then
      log "creating system user clcpg to run PostgreSQL (it refuses to run as root)"
      useradd --system --no-create-home --shell /usr/sbin/nologin clcpg >&2 \
        || id -u clcpg >/dev/null 2>&1 || die "could not create user clcpg"
    fi
    RUN_USER=clcpg
  fi
}

# Run a command as RUN_USER, from / so an unreadable cwd (e.g. under /root)
# does not trouble the PostgreSQL tools.
as_pg() {
  if [[ -z "$RUN_USER" ]]; then
    "$@"
  elif command -v runuser >/dev/null 2>&1; then
    (cd / && runuser -u "$RUN_USER" -- "$@")
  elif command -v setpriv >/dev/null 2>&1; then
    (cd / && setpriv --reuid="$RUN_USER" --regid="$(id -g "$RUN_USER")" --init-groups -- "$@")
  else
    die "need runuser or setpriv to drop root privileges"
  fi
}

# ---------------------------------------------------------------- process checks

# True if PID is a running (not zombie) postgres process. Zombies matter: in
# containers whose PID 1 does not reap, a killed or stopped postmaster stays
# <defunct>, kill(pid, 0) still succeeds, and pg_ctl status / the postmaster's
# own lock-file check would take it for a live server.
pg_alive() {
  local pid=$1 stat comm
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  # read builtins, no forks: orphans_of calls this for every process.
  { read -r comm < "/proc/$pid/comm" && read -r stat < "/proc/$pid/stat"; } 2>/dev/null || return 1
  [[ "$comm" == postgres ]] || return 1
  stat=${stat##*) }                       # after "pid (comm) "
  [[ "${stat%% *}" != [ZX] ]]
}

# PID of the live postmaster of this cluster, or nothing. pg_ctl status alone
# trusts any PID in postmaster.pid that kill(pid, 0) accepts, which after a
# kill -9 may be a zombie or, after PID reuse, an unrelated process.
live_postmaster() {
  local data=$1 pid cwd
  [[ -f "$data/postmaster.pid" ]] || return 0
  pid=$(head -n 1 -- "$data/postmaster.pid" 2>/dev/null || true)
  pg_alive "$pid" || return 0
  cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
  if [[ -n "$cwd" && "$cwd" != "$(readlink -f -- "$data")" ]]; then return 0; fi
  printf '%s\n' "$pid"
}

# Backends left behind by a killed postmaster keep the shared memory in use and
# make the next start fail. They are recognisable by their cwd (= PGDATA).
orphans_of() {
  local data p
  data=$(readlink -f -- "$1")
  for p in /proc/[0-9]*; do
    pg_alive "${p#/proc/}" || continue
    [[ "$(readlink "$p/cwd" 2>/dev/null || true)" == "$data" ]] || continue
    printf '%s\n' "${p#/proc/}"
  done
}

# Called when the cluster is not running: remove what a killed server left.
clear_stale() {
  local data=$1 sockdir=$2 pids i f
  pids=$(orphans_of "$data")
  if [[ -n "$pids" ]]; then
    # They exit by themselves shortly after noticing the postmaster is gone.
    for i in $(seq 1 20); do
      pids=$(orphans_of "$data"); [[ -z "$pids" ]] && break; sleep 0.1
    done
    if [[ -n "$pids" ]]; then
      log "killing leftover backends of a dead postmaster: $(echo "$pids" | tr '\n' ' ')"
      # shellcheck disable=SC2086 # one PID per word
      kill -9 $pids 2>/dev/null || true
      sleep 0.5
    fi
  fi
  if [[ -f "$data/postmaster.pid" ]]; then
    log "removing stale postmaster.pid (server not running)"
    rm -f -- "$data/postmaster.pid"
  fi
  # Socket lock files carry the postmaster PID too and are checked the same way.
  for f in "$sockdir"/.s.PGSQL.*.lock; do
    [[ -f "$f" ]] || continue
    if ! pg_alive "$(head -n 1 -- "$f" 2>/dev/null || true)"; then
      rm -f -- "$f" "${f%.lock}"
    fi
  done
}

port_busy() {
  # A successful TCP connect means something is listening there.
  timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

port_owner() {
  command -v ss >/dev/null 2>&1 || return 0
  ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1, pid \2/p' | head -n 1
}

# ---------------------------------------------------------------- directory setup

REAL=""   # resolved container directory

# Sets REAL for an existing setup; returns 1 if there is none.
resolve_existing() {
  local abs=$1 t
  if [[ -L "$abs" ]]; then
    REAL=$(readlink -f -- "$abs" 2>/dev/null || readlink -m -- "$abs")
    return 0
  elif [[ -d "$abs" ]]; then
    REAL=$abs
    return 0
  fi
  t=$(tmp_dir_for "$abs")
  if [[ -d "$t" && ! -L "$t" ]]; then REAL=$t; return 0; fi
  return 1
}

# Create a user-owned /tmp directory safely (/tmp is world-writable).
make_tmp_dir() {
  local t=$1
  if [[ -e "$t" || -L "$t" ]]; then
    [[ -d "$t" && ! -L "$t" ]] || die "$t exists and is not a directory"
    local want=${RUN_USER:-$(id -un)}
    [[ "$(stat -c %U -- "$t")" == "$want" ]] || die "$t exists but is not owned by $want; remove it"
  else
    mkdir -m 700 -- "$t"
    if [[ -n "$RUN_USER" ]]; then chown "$RUN_USER": -- "$t"; fi
  fi
  chmod 700 -- "$t"
}

user_can_use() { as_pg test -d "$1" -a -w "$1" -a -x "$1" 2>/dev/null; }

setup_dir() {
  local abs=$1 parent t
  parent=$(dirname -- "$abs")
  mkdir -p -- "$parent"

  # An empty plain directory counts as absent (lets us choose its location).
  if [[ -d "$abs" && ! -L "$abs" ]] && [[ -z "$(ls -A -- "$abs")" ]]; then
    rmdir -- "$abs"
  fi

  if [[ -L "$abs" ]]; then
    REAL=$(readlink -m -- "$abs")
    if [[ "$REAL" == "$TMP_PREFIX"* ]]; then
      make_tmp_dir "$REAL"   # /tmp may have been cleaned since
    else
      mkdir -p -- "$REAL"
      if [[ -n "$RUN_USER" ]]; then chown "$RUN_USER": -- "$REAL"; fi
    fi
  elif [[ -d "$abs" ]]; then
    REAL=$abs
    if [[ -n "$RUN_USER" ]]; then chown "$RUN_USER": -- "$REAL"; chmod 700 -- "$REAL"; fi
  elif [[ -e "$abs" ]]; then
    die "$abs exists and is not a directory"
  elif t=$(tmp_dir_for "$abs") && [[ -d "$t" && ! -L "$t" ]]; then
    # DIR was deleted but its /tmp cluster survived: link it back.
    make_tmp_dir "$t"
    ln -s -- "$t" "$abs"
    REAL=$t
  elif [[ -z "$RUN_USER" ]] || as_pg test -x "$parent" 2>/dev/null; then
    mkdir -m 700 -- "$abs"
    if [[ -n "$RUN_USER" ]]; then chown "$RUN_USER": -- "$abs"; fi
    REAL=$abs
  else
    log "$RUN_USER cannot reach $parent; keeping the cluster in $t (symlinked from $abs)"
    make_tmp_dir "$t"
    ln -s -- "$t" "$abs"
    REAL=$t
  fi

  user_can_use "$REAL" || die "user ${RUN_USER:-$(id -un)} cannot use $REAL (check permissions of it and its parents, or remove $abs)"
}

# ---------------------------------------------------------------- commands

write_conf() {
  local data=$1 port=$2 sockdir=$3 esc
  esc=${sockdir//\'/\'\'}
  as_pg tee "$data/clc.conf" >/dev/null <<EOF
# Written by scripts/pg.sh on every start; throwaway cluster, durability off.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$esc'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
shared_buffers = 256MB
EOF
  if ! grep -q "^include_if_exists = 'clc.conf'" "$data/postgresql.conf"; then
    printf "\ninclude_if_exists = 'clc.conf'\n" | as_pg tee -a "$data/postgresql.conf" >/dev/null
  fi
}

# initdb is chatty: its output goes to DIR/initdb.log and is shown on failure.
run_initdb() {
  local data=$1 locale=$2 ilog
  ilog=$(dirname -- "$data")/initdb.log
  if as_pg "$BINDIR/initdb" -D "$data" -A trust -U "$PG_SUPERUSER" --no-sync -E UTF8 \
       --locale="$locale" 2>&1 | as_pg tee "$ilog" >/dev/null && [[ -f "$data/PG_VERSION" ]]; then
    return 0
  fi
  cat -- "$ilog" >&2 2>/dev/null || true
  return 1
}

do_initdb() {
  local data=$1 locale=C
  if locale -a 2>/dev/null | grep -qix 'c\.utf-\?8'; then locale=C.UTF-8; fi
  log "initdb $data (locale $locale)"
  run_initdb "$data" "$locale" && return 0
  if [[ "$locale" != C ]]; then
    log "initdb with C.UTF-8 failed; retrying with --locale=C"
    as_pg rm -rf -- "$data"
    run_initdb "$data" C && return 0
  fi
  die "initdb failed"
}

ensure_db() {
  local port=$1 psql exists
  psql=$(psql_bin)
  export PGCONNECT_TIMEOUT=10 PGSSLMODE=disable
  unset PGPASSWORD PGSERVICE PGSERVICEFILE PGOPTIONS || true
  exists=$("$psql" -X -q -h 127.0.0.1 -p "$port" -U "$PG_SUPERUSER" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'") || die "cannot connect to PostgreSQL at 127.0.0.1:$port"
  if [[ "$exists" != 1 ]]; then
    log "creating database $PG_DB"
    "$psql" -X -q -h 127.0.0.1 -p "$port" -U "$PG_SUPERUSER" -d postgres -v ON_ERROR_STOP=1 \
      -c "CREATE DATABASE $PG_DB" >&2 || die "could not create database $PG_DB"
  fi
}

# Sets ABS and REAL (and RUN_USER) for DIR, ready to use, holding a lock
# that serialises concurrent starts (flock on the parent directory itself;
# fd 9, which servers must not inherit).
prepare_dir() {
  ABS=$(abs_path "$1")
  mkdir -p -- "$(dirname -- "$ABS")"
  if command -v flock >/dev/null 2>&1; then
    exec 9<"$(dirname -- "$ABS")"
    flock 9
  fi
  if resolve_existing "$ABS"; then pick_user "$REAL/data"; else pick_user ""; fi
  setup_dir "$ABS"
}

require_free_port() {
  if port_busy "$1"; then
    local who; who=$(port_owner "$1")
    die "port $1 on 127.0.0.1 is already in use by another process${who:+ ($who)}; pick another PORT"
  fi
}

cmd_start() {
  local dir=$1 port=$2 abs data pid running_port sockdir
  check_port "$port"
  ensure_binaries
  prepare_dir "$dir"
  abs=$ABS
  data=$REAL/data

  pid=$(live_postmaster "$data")
  if [[ -n "$pid" ]]; then
    running_port=$(sed -n 4p "$data/postmaster.pid")
    [[ "$running_port" == "$port" ]] \
      || die "cluster in $abs is already running on port $running_port, not $port; run: scripts/pg.sh stop $dir"
    log "already running (pid $pid, port $port)"
  else
    clear_stale "$data" "$REAL"
    require_free_port "$port"
    if [[ ! -f "$data/PG_VERSION" ]]; then
      # A half-made data dir from an interrupted initdb is useless: redo it.
      if [[ -e "$data" ]]; then as_pg rm -rf -- "$data"; fi
      do_initdb "$data"
    fi

    # Unix socket path must fit in sun_path (107 bytes incl. "/.s.PGSQL.PORT").
    sockdir=$REAL
    if (( ${#sockdir} > 90 )); then
      log "path too long for a unix socket; TCP only"
      sockdir=""
    fi
    write_conf "$data" "$port" "$sockdir"

    log "starting PostgreSQL on 127.0.0.1:$port (log: $REAL/postgres.log)"
    # 9<&-: the server must not inherit (and so hold forever) the flock fd.
    if ! as_pg "$BINDIR/pg_ctl" -D "$data" -l "$REAL/postgres.log" -w -t 60 start >&2 9<&-; then
      log "pg_ctl start failed; last lines of $REAL/postgres.log:"
      tail -n 20 -- "$REAL/postgres.log" >&2 2>/dev/null || true
      die "could not start PostgreSQL in $abs on port $port"
    fi
  fi

  ensure_db "$port"
  drop_idle_slots "$port"
  url_for "$port"
}

# A replication slot no standby streams from (the slot of a replica that was
# stopped, or now follows another cluster) keeps the cluster's WAL for ever.
# A replica started later makes its own afresh.
drop_idle_slots() {
  PGCONNECT_TIMEOUT=10 PGSSLMODE=disable "$(psql_bin)" -X -q -h 127.0.0.1 -p "$1" -U "$PG_SUPERUSER" \
    -d postgres -v ON_ERROR_STOP=1 -tAc \
    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active" >/dev/null \
    || log "could not drop the idle replication slots on 127.0.0.1:$1"
}

cmd_stop() {
  local dir=$1 abs data
  abs=$(abs_path "$dir")
  if ! resolve_existing "$abs"; then log "nothing to stop in $abs"; return 0; fi
  if [[ -f "$REAL/pgbouncer.ini" ]]; then stop_bouncer; return 0; fi
  data=$REAL/data
  [[ -d "$data" ]] || { log "no cluster in $abs"; return 0; }
  if [[ -z "$(live_postmaster "$data")" ]]; then log "not running ($abs)"; return 0; fi
  ensure_binaries
  pick_user "$data"
  log "stopping PostgreSQL in $abs"
  as_pg "$BINDIR/pg_ctl" -D "$data" -m fast -w -t 60 stop >&2
}

# ---------------------------------------------------------------- replica

# A hot standby streaming from the cluster on PRIMARY_PORT. It is made afresh
# by pg_basebackup on every start rather than restarted: a standby stopped
# while the primary recycled the WAL it needed would never catch up, and a
# throwaway cluster copies in a second or two.
cmd_replica() {
  local dir=$1 port=$2 primary=$3 abs data pid sockdir slot psql try
  check_port "$port"; check_port "$primary"
  ensure_binaries
  prepare_dir "$dir"
  abs=$ABS
  data=$REAL/data

  pid=$(live_postmaster "$data")
  if [[ -n "$pid" ]]; then
    [[ "$(sed -n 4p "$data/postmaster.pid")" == "$port" ]] \
      || die "replica in $abs is running on another port; run: scripts/pg.sh stop $dir"
    log "replica already running (pid $pid, port $port)"
    url_for "$port"
    return 0
  fi
  clear_stale "$data" "$REAL"
  require_free_port "$port"
  if [[ -e "$data" ]]; then as_pg rm -rf -- "$data"; fi
  # A replication slot keeps the primary from recycling WAL the standby has
  # not received yet: without one, a standby that falls behind (tests write
  # a database's every page into the WAL with each CREATE DATABASE) asks
  # for a segment the primary removed and never catches up. The slot of an
  # earlier copy is dropped first; its walsender may take a moment to go.
  slot=clc_replica_$port
  psql=$(psql_bin)
  for try in 1 2 3 4 5 6 7 8 9 10; do
    if PGCONNECT_TIMEOUT=10 PGSSLMODE=disable "$psql" -X -q -h 127.0.0.1 -p "$primary" -U "$PG_SUPERUSER" \
         -d postgres -v ON_ERROR_STOP=1 -tAc \
         "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = '$slot'" >/dev/null 2>&1; then
      break
    fi
    (( try < 10 )) || die "could not drop the replication slot $slot on 127.0.0.1:$primary"
    sleep 0.5
  done
  log "copying the cluster on port $primary into $abs with pg_basebackup (slot $slot)"
  # -R writes standby.signal and primary_conninfo (and, with -S, the slot):
  # the copy starts as a standby that streams from the primary.
  if ! as_pg "$BINDIR/pg_basebackup" -h 127.0.0.1 -p "$primary" -U "$PG_SUPERUSER" -D "$data" \
       -X stream -R -C -S "$slot" -c fast --no-sync >&2 9<&-; then
    die "pg_basebackup from 127.0.0.1:$primary failed (is the primary running?)"
  fi
  sockdir=$REAL
  if (( ${#sockdir} > 90 )); then sockdir=""; fi
  write_conf "$data" "$port" "$sockdir"
  log "starting the replica on 127.0.0.1:$port (log: $REAL/postgres.log)"
  if ! as_pg "$BINDIR/pg_ctl" -D "$data" -l "$REAL/postgres.log" -w -t 60 start >&2 9<&-; then
    tail -n 20 -- "$REAL/postgres.log" >&2 2>/dev/null || true
    die "could not start the replica in $abs on port $port"
  fi
  url_for "$port"
}

# ---------------------------------------------------------------- pgbouncer

BOUNCER=""
find_bouncer() {
  BOUNCER=$(command -v pgbouncer 2>/dev/null || true)
  if [[ -z "$BOUNCER" && -x /usr/sbin/pgbouncer ]]; then BOUNCER=/usr/sbin/pgbouncer; fi
  [[ -n "$BOUNCER" ]]
}

ensure_bouncer() {
  find_bouncer && return 0
  if apt_install pgbouncer "pgbouncer not found"; then
    find_bouncer && return 0
  fi
  die "pgbouncer not found; install it (e.g. apt-get install pgbouncer)"
}

# PID of the running PgBouncer of REAL, or nothing.
bouncer_pid() {
  local pid stat
  [[ -f "$REAL/pgbouncer.pid" ]] || return 0
  pid=$(head -n 1 -- "$REAL/pgbouncer.pid" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == pgbouncer ]] || return 0
  stat=$(cat "/proc/$pid/stat" 2>/dev/null || true)
  stat=${stat##*) }
  [[ "${stat%% *}" != [ZX] ]] || return 0
  printf '%s\n' "$pid"
}

# Transaction pooling, as a deployment in front of many portal processes
# would run it. Every database is passed through (the tests make one per
# test), with trust, as the throwaway cluster itself.
cmd_bouncer() {
  local dir=$1 port=$2 pgport=$3 pid
  check_port "$port"; check_port "$pgport"
  ensure_bouncer
  prepare_dir "$dir"
  pid=$(bouncer_pid)
  if [[ -n "$pid" ]]; then
    grep -qx "listen_port = $port" "$REAL/pgbouncer.ini" \
      || die "pgbouncer in $ABS is running on another port; run: scripts/pg.sh stop $dir"
    log "pgbouncer already running (pid $pid, port $port)"
    url_for "$port"
    return 0
  fi
  require_free_port "$port"
  printf '"%s" ""\n' "$PG_SUPERUSER" | as_pg tee "$REAL/userlist.txt" >/dev/null
  as_pg tee "$REAL/pgbouncer.ini" >/dev/null <<EOF
; Written by scripts/pg.sh on every start.
[databases]
* = host=127.0.0.1 port=$pgport

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $REAL/userlist.txt
admin_users = $PG_SUPERUSER
pool_mode = transaction
default_pool_size = 10
max_client_conn = 400
logfile = $REAL/pgbouncer.log
pidfile = $REAL/pgbouncer.pid
EOF
  as_pg rm -f -- "$REAL/pgbouncer.pid"
  log "starting pgbouncer on 127.0.0.1:$port in front of port $pgport (log: $REAL/pgbouncer.log)"
  # PgBouncer refuses to run as root, as PostgreSQL does.
  if ! as_pg "$BOUNCER" -d -q "$REAL/pgbouncer.ini" >&2 9<&-; then
    tail -n 20 -- "$REAL/pgbouncer.log" >&2 2>/dev/null || true
    die "pgbouncer did not start"
  fi
  local i
  for i in $(seq 1 50); do
    if port_busy "$port"; then url_for "$port"; return 0; fi
    sleep 0.1
  done
  tail -n 20 -- "$REAL/pgbouncer.log" >&2 2>/dev/null || true
  die "pgbouncer is not listening on port $port"
}

stop_bouncer() {
  local pid i
  pid=$(bouncer_pid)
  if [[ -z "$pid" ]]; then log "pgbouncer not running ($REAL)"; return 0; fi
  log "stopping pgbouncer in $REAL"
  kill -INT "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    [[ -z "$(bouncer_pid)" ]] && return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

[[ $# -ge 1 ]] || usage
case "$1" in
  start) [[ $# -eq 3 ]] || usage; cmd_start "$2" "$3" ;;
  stop)  [[ $# -eq 2 ]] || usage; cmd_stop "$2" ;;
  url)   [[ $# -eq 3 ]] || usage; check_port "$3"; url_for "$3" ;;
  replica) [[ $# -eq 4 ]] || usage; cmd_replica "$2" "$3" "$4" ;;
  bouncer) [[ $# -eq 4 ]] || usage; cmd_bouncer "$2" "$3" "$4" ;;
  -h|--help|help) usage ;;
  *) usage ;;
esac
