#!/usr/bin/env bash
# Stops the test DC started by setup.sh (the provisioned domain stays in SAMBA_DIR for a fast restart).
set -euo pipefail
SAMBA_DIR="${SAMBA_DIR:-/tmp/offboard-host-samba}"
pid=$(cat "$SAMBA_DIR/samba.pid" 2>/dev/null || true)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -q samba "/proc/$pid/cmdline" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    echo "samba-stop: stopped the DC (pid $pid)" >&2
else
    echo "samba-stop: no DC running from $SAMBA_DIR" >&2
fi
rm -f "$SAMBA_DIR/samba.pid"
