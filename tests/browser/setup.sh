#!/usr/bin/env bash
# Installs what the console's real-browser test (tests/browser/main.rs) drives: headless Chromium
# and chromedriver, from Debian packages, when either is missing. Nothing is started here: the test
# starts chromedriver itself, on a free loopback port, and stops it when it ends.
#
#   tests/browser/setup.sh        # install if missing; print where they are
#
# Non-interactive; `apt-get update` only when something is missing. A dpkg left half-configured
# by an earlier interrupted install is finished first (apt refuses to run until it is). Exit status
# is non-zero (and test.sh stops) when they cannot be installed.
set -euo pipefail

log() { echo "browser-setup: $*" >&2; }

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        log "chromium or chromedriver is missing and this is not root: install chromium and chromium-driver first"
        exit 1
    fi
    start=$(date +%s)
    log "installing chromium and chromium-driver"
    export DEBIAN_FRONTEND=noninteractive
    dpkg --configure -a >/dev/null 2>&1 || true
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null
    log "installed in $(($(date +%s) - start))s"
fi
log "$(chromium --version 2>/dev/null || echo chromium) at $(command -v chromium); chromedriver at $(command -v chromedriver)"
