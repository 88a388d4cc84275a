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

header "collector: cargo build --release -p sessionmark-collector"
cargo build --release -p sessionmark-collector

export PORT="${PORT:-8080}"
export SESSIONMARK_WWW="${SESSIONMARK_WWW:-$PWD/www}"
export SESSIONMARK_DIST="${SESSIONMARK_DIST:-$PWD/dist}"
header "collector: http://127.0.0.1:$PORT/ (Ctrl-C to stop)"
exec "${CARGO_TARGET_DIR:-target}/release/sessionmark-collector"
