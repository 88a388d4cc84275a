#!/usr/bin/env bash
# Builds everything and runs the collector, which serves the demo site (www/)
# at / and the tracker bundles (dist/) at /dist/.  PORT defaults to 8080.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

header() { printf '\n==== %s ====\n' "$*"; }

header "setup"
bash scripts/setup.sh

header "build: node scripts/build.mjs"
node scripts/build.mjs

header "build: node scripts/build-dashboard.mjs"
node scripts/build-dashboard.mjs

header "collector: cargo build --release -p sessionmark-collector"
cargo build --release -p sessionmark-collector

export PORT="${PORT:-8080}"
export SESSIONMARK_WWW="${SESSIONMARK_WWW:-$PWD/www}"
export SESSIONMARK_DIST="${SESSIONMARK_DIST:-$PWD/dist}"
# The read and server keys (README "Limits and access"): fresh random ones
# for this run unless given; exported, so a backend started from here
# sends the server key too.
new_key() { node -e "process.stdout.write(require('node:crypto').randomBytes(24).toString('base64url'))"; }
export SESSIONMARK_READ_KEY="${SESSIONMARK_READ_KEY:-$(new_key)}"
export SESSIONMARK_SERVER_KEY="${SESSIONMARK_SERVER_KEY:-$(new_key)}"
header "collector: http://127.0.0.1:$PORT/ (Ctrl-C to stop)"
echo "dashboard: http://127.0.0.1:$PORT/dashboard.html#key=$SESSIONMARK_READ_KEY"
echo "server key (Authorization: Bearer ... on POST /v1/server-events): $SESSIONMARK_SERVER_KEY"
exec "${CARGO_TARGET_DIR:-target}/release/sessionmark-collector"
