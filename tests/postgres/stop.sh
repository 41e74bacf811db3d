#!/usr/bin/env bash
# Stops the test cluster started by setup.sh and removes PG_DIR (it is throwaway).
set -euo pipefail
PG_DIR="${PG_DIR:-/tmp/offboard-host-pg}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
if [ -d "$PG_DIR/data" ] && [ -n "$BIN" ]; then
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    else
        "$BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    echo "pg-stop: stopped the cluster in $PG_DIR" >&2
else
    echo "pg-stop: no cluster in $PG_DIR" >&2
fi
rm -rf "$PG_DIR"
