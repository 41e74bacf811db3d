#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for the PostgreSQL journal tests (src/journal/postgres).
#
#   tests/postgres/setup.sh       # install if missing, initdb into PG_DIR, start, create the database
#   tests/postgres/stop.sh        # stop it and remove PG_DIR
#
# PG_DIR (default /tmp/offboard-host-pg) holds the cluster, its unix socket (no TCP listener at
# all: nothing outside this machine, or in another network namespace, can reach it), the log, and
# the connection facts the tests read:
#   $PG_DIR/url  the URL, one line: postgres://offboard@localhost/offboard_test?host=$PG_DIR/run&port=5433
#   $PG_DIR/env  shell-sourceable: OFFBOARD_TEST_PG_URL='…'
# The tests take OFFBOARD_TEST_PG_URL from the environment, else read $PG_DIR/url (so a developer
# can run setup.sh once and then `cargo test`).
#
# PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` account the
# Debian packages create, and initdb/pg_ctl run under `runuser -u postgres`. Authentication is
# `trust` on the socket only; the socket directory is the cluster's own (mode 0700 for other users).
#
# Idempotent: a cluster already running from PG_DIR is reused. Exit status is non-zero (and the
# tests that require PostgreSQL fail) when it cannot start.
set -euo pipefail

PG_DIR="${PG_DIR:-/tmp/offboard-host-pg}"
PG_PORT="${PG_PORT:-5433}"
DB=offboard_test
DB_USER=offboard
start_ns=$(date +%s%N)

log() { echo "pg-setup: $*" >&2; }
elapsed() { local ms=$((($(date +%s%N) - start_ns) / 1000000)); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }

# 1. Packages (Debian). Non-interactive; `apt-get update` only when something is missing.
bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
if [ -z "$(bindir)" ] || [ ! -x "$(bindir)/initdb" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        log "PostgreSQL is not installed and this is not root: install the postgresql package first"
        exit 1
    fi
    log "installing postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    # The server package only: no cluster is created for it (we make our own), and the Debian
    # service, if one starts, listens on 5432, not on our port or socket.
    apt-get install -y -q --no-install-recommends postgresql >/dev/null
    log "installed in $(elapsed)s"
fi
BIN="$(bindir)"

# Who runs the server: never root.
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi

URL="postgres://$DB_USER@localhost/$DB?host=$PG_DIR/run&port=$PG_PORT"
write_facts() {
    echo "$URL" >"$PG_DIR/url"
    echo "OFFBOARD_TEST_PG_URL='$URL'" >"$PG_DIR/env"
    chmod 644 "$PG_DIR/url" "$PG_DIR/env"
}
ready() { "$BIN/pg_isready" -q -h "$PG_DIR/run" -p "$PG_PORT" -U "$DB_USER" -d "$DB" 2>/dev/null; }

if [ -d "$PG_DIR/data" ] && ready; then
    write_facts
    log "reusing the cluster running from $PG_DIR; URL in $PG_DIR/url"
    exit 0
fi

# 2. A fresh cluster (a stale directory from a killed run is thrown away: it is a test cluster).
if [ -d "$PG_DIR/data" ]; then
    as_pg "$BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true
fi
rm -rf "$PG_DIR"
mkdir -p "$PG_DIR/run" "$PG_DIR/log"
[ "$(id -u)" -eq 0 ] && chown -R postgres: "$PG_DIR"
as_pg "$BIN/initdb" -D "$PG_DIR/data" -U "$DB_USER" --auth=trust --encoding=UTF8 --locale=C.UTF-8 --no-sync \
    >"$PG_DIR/log/initdb.log" 2>&1 || {
    tail -20 "$PG_DIR/log/initdb.log" >&2
    exit 1
}

# 3. Start: no TCP (listen_addresses empty), the socket in our directory, and no durability
# work: a throwaway cluster, so a power cut losing it is fine. fsync=off (no flush of the WAL or
# data files), synchronous_commit=off (a commit returns before its WAL record is written out),
# full_page_writes=off (no full page images after a checkpoint). Durability across a crash of
# the server is not what the tests check; what they check (a commit is visible to every other
# connection once it returns, row locks, conditional updates) does not depend on any of them.
as_pg "$BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log/postgres.log" -w -t 60 \
    -o "-c listen_addresses='' -c unix_socket_directories='$PG_DIR/run' -p $PG_PORT -c max_connections=200 \
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || {
    log "postgres did not start:"
    tail -30 "$PG_DIR/log/postgres.log" >&2
    exit 1
}
as_pg "$BIN/createdb" -h "$PG_DIR/run" -p "$PG_PORT" -U "$DB_USER" "$DB"
write_facts
log "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') up on $PG_DIR/run (port $PG_PORT), database $DB, in $(elapsed)s; URL in $PG_DIR/url"
