#!/usr/bin/env bash
# The whole test suite, cheapest layer first; stops at the first failure.
#   1. setup (installs what is missing), a throwaway ClickHouse server
#   2. native Rust tests (core + collector; the collector's limits against
#      its real binary on loopback; the fuzz targets at proptest's default
#      case count: `npm run fuzz` runs them long), then the collector's
#      tests again on ClickHouse
#   3. browser tests of the wasm shell (wasm-bindgen-test in headless Chromium)
#   4. the server helper (sessionmark/server) and the dashboard's modules under node:test
#   5. build the tracker bundles (size ceiling enforced), the dashboard, the demo's app
#   6. build the collector (release) for the end-to-end tests
#   7. the package as a user gets it: npm pack, install, tsc --strict, Vite, Chromium
#   8. end-to-end tests: real Chromium (playwright-core) + the real collector,
#      on SQLite, then on ClickHouse
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

header() { printf '\n==== %s ====\n' "$*"; }

header "setup"
bash scripts/setup.sh

# The collector's flood test opens a few thousand sockets: raise the soft
# open-files limit to the hard one (the collector raises its own too).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# One throwaway ClickHouse server for the whole run (the ClickHouse store's
# suite, the collector's HTTP tests and the end-to-end tests on ClickHouse),
# each test in a fresh database of its own. A server given in
# SESSIONMARK_TEST_CLICKHOUSE is used as it is.
if [[ -z "${SESSIONMARK_TEST_CLICKHOUSE:-}" ]]; then
  header "clickhouse: node scripts/clickhouse.mjs serve"
  # A coprocess: its standard input is a pipe from this script, so the
  # server stops when this script ends, however it ends.
  coproc CLICKHOUSE { exec node scripts/clickhouse.mjs serve; }
  trap 'kill "$CLICKHOUSE_PID" 2>/dev/null || true' EXIT
  # On a signal too: bash runs no EXIT trap when a signal ends it, and the
  # commands below inherit the coprocess's pipe, so its end alone may come late.
  trap 'exit 130' INT TERM HUP
  if ! read -r -t 60 -u "${CLICKHOUSE[0]}" ready_line || [[ "$ready_line" != "clickhouse listening on http://"* ]]; then
    echo "clickhouse did not start (${ready_line:-no output})" >&2
    exit 1
  fi
  export SESSIONMARK_TEST_CLICKHOUSE="${ready_line##* }"
  echo "$ready_line"
fi

header "native tests: cargo test --workspace"
cargo test --workspace

header "collector tests on ClickHouse: SESSIONMARK_TEST_STORE=clickhouse cargo test -p sessionmark-collector"
# The same HTTP tests with the ClickHouse store behind the router (the store
# suite and the multi-collector proofs ran on it above already).
SESSIONMARK_TEST_STORE=clickhouse cargo test -p sessionmark-collector

if [[ -f tests/web.rs ]]; then
  header "browser tests: wasm-bindgen-test in headless Chromium"
  # No -q: wasm-bindgen-test-runner rejects --quiet. No default features:
  # the test harness brings std's allocator and panic handler.
  CHROMEDRIVER=/usr/bin/chromedriver \
    cargo test --target wasm32-unknown-unknown -p sessionmark --no-default-features --test web
else
  header "browser tests: skipped (tests/web.rs not present yet)"
fi

header "server helper: node --test tests/server/"
node --test tests/server/

header "dashboard modules: node --test tests/dashboard/"
node --test tests/dashboard/

header "build: node scripts/build.mjs"
node scripts/build.mjs

header "build: node scripts/build-dashboard.mjs, node scripts/build-spa.mjs"
node scripts/build-dashboard.mjs
node scripts/build-spa.mjs

header "collector: cargo build --release -p sessionmark-collector"
cargo build --release -p sessionmark-collector

header "package: npm pack, install into a fresh folder, tsc --strict, vite build, in Chromium"
node --test tests/package/

header "end-to-end tests: node --test tests/e2e/"
# --test-force-exit (Node >= 20.14): a test file that leaks a handle ends
# anyway when its tests are done, and the harness's exit hook kills the
# collector and Chromium it started.
force_exit=()
if node --help 2>/dev/null | grep -q -- '--test-force-exit'; then force_exit=(--test-force-exit); fi
node --test "${force_exit[@]}" tests/e2e/

header "end-to-end tests on ClickHouse: SESSIONMARK_TEST_STORE=clickhouse node --test tests/e2e/"
SESSIONMARK_TEST_STORE=clickhouse node --test "${force_exit[@]}" tests/e2e/
