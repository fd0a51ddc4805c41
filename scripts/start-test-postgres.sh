#!/usr/bin/env bash
# Start a throw-away PostgreSQL cluster for the test suite.
#
#   eval "$(scripts/start-test-postgres.sh)"       # (re)create + start, export URL
#   scripts/start-test-postgres.sh stop            # stop it again
#
# Uses the Debian/PGDG binaries under /usr/lib/postgresql/<ver>/bin. The cluster
# is recreated from scratch on every start (any old cluster in the same data
# directory is stopped and removed first). Only the export line goes to stdout;
# diagnostics go to stderr and the server log to "$PGDIR.log".
#
# Settings (environment):
#   INSPECTORATE_PG_DIR   data directory            (default /tmp/inspectorate-pg)
#   INSPECTORATE_PG_PORT  preferred port            (default 55432; next free port
#                                                    is used if it is taken)
#   PG_BINDIR             PostgreSQL bin directory  (default: newest under /usr/lib/postgresql)
set -euo pipefail

PGDIR=${INSPECTORATE_PG_DIR:-/tmp/inspectorate-pg}
PORT=${INSPECTORATE_PG_PORT:-55432}
LOG="$PGDIR.log"
ACTION=${1:-start}

die() { echo "start-test-postgres: $*" >&2; exit 1; }

if [[ -z ${PG_BINDIR:-} ]]; then
    PG_BINDIR=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
fi
[[ -n $PG_BINDIR && -x $PG_BINDIR/initdb ]] \
    || die "no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)"

# As root, the cluster runs as the 'postgres' user; otherwise as the caller.
if [[ $EUID -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' user"
    as_pg() { (cd / && runuser -u postgres -- "$@"); }
else
    as_pg() { (cd / && "$@"); }
fi

stop_cluster() {
    if [[ -f $PGDIR/postmaster.pid ]]; then
        as_pg "$PG_BINDIR/pg_ctl" -D "$PGDIR" -m fast -w stop >/dev/null 2>&1 \
            || as_pg "$PG_BINDIR/pg_ctl" -D "$PGDIR" -m immediate -w stop >/dev/null 2>&1 \
            || true
    fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

case $ACTION in
    stop)
        stop_cluster
        exit 0
        ;;
    start) ;;
    *) die "usage: $0 [start|stop]" ;;
esac

# Fresh cluster every time: stop and remove any previous one.
stop_cluster
rm -rf "$PGDIR" "$LOG"
mkdir -p "$PGDIR"
: >"$LOG"
if [[ $EUID -eq 0 ]]; then
    chown postgres: "$PGDIR" "$LOG"
fi
chmod 700 "$PGDIR"

for _ in $(seq 1 50); do
    port_in_use "$PORT" || break
    echo "start-test-postgres: port $PORT is taken, trying $((PORT + 1))" >&2
    PORT=$((PORT + 1))
done
port_in_use "$PORT" && die "no free port found"

as_pg "$PG_BINDIR/initdb" -D "$PGDIR" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null \
    || die "initdb failed"

# Unix socket lives inside the (0700) data dir, so 'trust' there is only
# reachable by the cluster owner. TCP is 127.0.0.1 only, password auth.
# A port can also be taken by the local end of an outgoing connection (the ephemeral range covers
# these ports), which the check above cannot see: then the bind fails and the next port is tried.
started=
for _ in 1 2 3 4 5; do
    if as_pg "$PG_BINDIR/pg_ctl" -D "$PGDIR" -l "$LOG" -w -t 60 start -o "\
 -p $PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PGDIR\
 -c fsync=off -c synchronous_commit=off -c full_page_writes=off\
 -c max_connections=200" >/dev/null; then
        started=1
        break
    fi
    grep -q "Address already in use" "$LOG" || break
    echo "start-test-postgres: port $PORT could not be bound, trying $((PORT + 1))" >&2
    PORT=$((PORT + 1))
    : >"$LOG"
done
[[ -n $started ]] || { tail -n 20 "$LOG" >&2; die "pg_ctl start failed (log: $LOG)"; }

as_pg "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$PGDIR" -p "$PORT" -U postgres -d postgres >/dev/null <<'SQL' \
    || die "creating role/database failed"
CREATE ROLE inspectorate LOGIN CREATEDB PASSWORD 'inspectorate';
CREATE DATABASE inspectorate_test OWNER inspectorate;
SQL

echo "export INSPECTORATE_TEST_POSTGRES_URL=postgresql+psycopg://inspectorate:inspectorate@127.0.0.1:$PORT/inspectorate_test"
