#!/usr/bin/env bash
# Installs what building and testing sessionmark needs, and only what is missing:
#   - the wasm32-unknown-unknown Rust target (rustup)
#   - wasm-bindgen-cli at exactly the wasm-bindgen version pinned in Cargo.lock
#     (the CLI and the library must match or the generated glue is rejected)
#   - Chromium and chromedriver from Debian (e2e and wasm-bindgen-test browser runs)
#   - clickhouse-server and clickhouse-client from Debian (the ClickHouse store's
#     tests start a throwaway server: scripts/clickhouse.mjs)
#   - the npm devDependencies (esbuild, binaryen's wasm-opt, playwright-core,
#     typescript and vite for the package test)
# Idempotent: when everything is present it prints one line and exits quickly.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

installed=0
say() { printf 'setup: %s\n' "$*"; }

# --- Rust target -------------------------------------------------------------
if ! command -v cargo >/dev/null 2>&1; then
  say "cargo not found: install Rust (https://rustup.rs) and re-run" >&2
  exit 1
fi
if ! rustup target list --installed 2>/dev/null | grep -qx 'wasm32-unknown-unknown'; then
  say "installing Rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
  installed=1
fi

# --- wasm-bindgen-cli, same version as the library in Cargo.lock ------------
want_wb=$(awk '
  /^\[\[package\]\]/ { inpkg = 1; name = ""; next }
  inpkg && /^name = / { gsub(/"/, "", $3); name = $3; next }
  inpkg && /^version = / && name == "wasm-bindgen" { gsub(/"/, "", $3); print $3; exit }
' Cargo.lock)
if [[ -z "$want_wb" ]]; then
  say "could not find wasm-bindgen in Cargo.lock" >&2
  exit 1
fi
have_wb=""
if command -v wasm-bindgen >/dev/null 2>&1; then
  have_wb=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')
fi
if [[ "$have_wb" != "$want_wb" ]]; then
  say "installing wasm-bindgen-cli $want_wb (found: ${have_wb:-none}; takes a few minutes)"
  # No --locked: the CLI's own lockfile pins crates that no longer build on
  # current Rust; a fresh resolve is what works.
  cargo install wasm-bindgen-cli --version "$want_wb" --force
  installed=1
fi

# --- Debian packages ----------------------------------------------------------
# apt_install PKG...: as root, or through sudo; one `apt-get update` per run.
apt_updated=0
apt_install() {
  local run=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      run=(sudo)
    else
      say "need Debian packages: $* (run as root: apt-get update && apt-get install -y $*)" >&2
      exit 1
    fi
  fi
  say "installing $* (apt-get)"
  if [[ $apt_updated -eq 0 ]]; then
    "${run[@]}" apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive "${run[@]}" apt-get install -y -qq "$@"
  installed=1
}

# --- Chromium + chromedriver -------------------------------------------------
if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
  apt_install chromium chromium-driver
fi

# --- ClickHouse ----------------------------------------------------------------
# Debian's package (18.16.1); the tests run it from a temporary folder on free
# ports and never use the system service.
if ! command -v clickhouse-server >/dev/null 2>&1 || ! command -v clickhouse-client >/dev/null 2>&1 \
   || [[ ! -f /etc/clickhouse-server/config.xml ]]; then
  apt_install clickhouse-server clickhouse-client
fi

# --- npm devDependencies -----------------------------------------------------
if ! command -v npm >/dev/null 2>&1; then
  say "npm not found: install Node.js 18+ and re-run" >&2
  exit 1
fi
# node_modules/.package-lock.json is rewritten by every npm install/ci, so its
# mtime says when node_modules was last brought in line with the lockfile.
npm_stamp=node_modules/.package-lock.json
if [[ ! -f "$npm_stamp" ]] || { [[ -f package-lock.json ]] && [[ package-lock.json -nt "$npm_stamp" ]]; } \
   || [[ package.json -nt "$npm_stamp" ]]; then
  if [[ -f package-lock.json ]] && [[ ! package.json -nt package-lock.json ]]; then
    say "installing npm packages (npm ci)"
    npm ci --no-audit --no-fund
  else
    say "installing npm packages (npm install)"
    npm install --no-audit --no-fund
  fi
  installed=1
fi

if [[ $installed -eq 0 ]]; then
  say "nothing to install (wasm32 target, wasm-bindgen $want_wb, chromium, clickhouse, npm packages present)"
fi
