#!/usr/bin/env bash
# Runs every test of offboard-host on a fresh machine: installs what the tests need, builds,
# runs the unit and integration tests, and a quick smoke run of the benchmark.
# The on-premises AD tests (tests/ad.rs) run against a real Samba AD DC: tests/samba/setup.sh
# installs it from Debian packages if missing (as root), provisions a test domain and starts it on
# loopback; it is stopped when this script exits. The PostgreSQL journal tests run against a
# throwaway PostgreSQL cluster (tests/postgres/setup.sh: installed from Debian packages if missing,
# initdb into a temporary directory, a unix socket only), stopped and removed on exit too. The
# console's browser test (tests/browser) drives headless Chromium through chromedriver, both
# installed from Debian packages if missing (tests/browser/setup.sh); the test starts and stops
# chromedriver itself, on loopback.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v cargo >/dev/null; then
    echo "cargo is required (https://rustup.rs)" >&2
    exit 1
fi

# The gates first: an unformatted or lint-failing change fails before anything is built twice.
cargo fmt --check
cargo clippy --locked --all-targets -- -D warnings

tests/samba/setup.sh
export PG_DIR="${PG_DIR:-/tmp/offboard-host-pg}"
trap 'tests/samba/stop.sh || true; tests/postgres/stop.sh' EXIT
tests/postgres/setup.sh
OFFBOARD_TEST_PG_URL="$(cat "$PG_DIR/url")"
# Required here: a PostgreSQL test that cannot reach the database fails instead of skipping.
export OFFBOARD_TEST_PG_URL OFFBOARD_TEST_PG_REQUIRED=1
tests/browser/setup.sh
# Required here too: without a browser the browser test fails instead of skipping.
export OFFBOARD_TEST_BROWSER_REQUIRED=1

cargo build --locked --all-targets
cargo test --locked --lib --bins --tests
# The benchmark's own sanity checks (batched beats one-at-a-time; a second run writes nothing),
# built in the test profile to spare CI a release build; `cargo bench` gives the real figures.
BENCH_QUICK=1 cargo test --locked --bench offboarding
