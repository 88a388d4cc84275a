#!/usr/bin/env bash
# npm start: builds what is missing, then runs the collector and the demo
# shop side by side and prints the URLs to open (README "npm start").
# Build output goes to a log file; only errors are printed. Ctrl-C stops
# everything it started.
#
# Environment (all optional):
#   PORT                    the collector's port, default 8080 (0: a free one)
#   SHOP_PORT               the demo shop's port, default 8081 (0: a free one)
#   HOST                    default 127.0.0.1
#   SESSIONMARK_DB          default .data/sessionmark.db
#   SESSIONMARK_READ_KEY    the dashboard's read key; generated when unset
#   SESSIONMARK_SERVER_KEY  the shop backend's server key; generated when unset
#   SESSIONMARK_LOG_DIR     where the logs go, default .data/logs
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log_dir=${SESSIONMARK_LOG_DIR:-.data/logs}
mkdir -p "$log_dir"
build_log=$log_dir/build.log
: >"$build_log"

say() { printf '%s\n' "$*"; }
fail() {
  printf 'npm start: %s\n' "$*" >&2
  exit 1
}

# step WHAT CMD...: runs CMD with its output in the build log; on failure
# prints the end of the log and stops.
step() {
  local what=$1
  shift
  printf '\n==== %s\n' "$what" >>"$build_log"
  if ! "$@" >>"$build_log" 2>&1; then
    printf 'npm start: %s failed; the end of %s:\n' "$what" "$build_log" >&2
    tail -n 40 "$build_log" >&2
    exit 1
  fi
}

# stale TARGET PATH...: true when TARGET is missing or a file under PATH is newer.
stale() {
  local target=$1
  shift
  [[ ! -e $target ]] && return 0
  [[ -n $(find "$@" -type f -newer "$target" -print -quit 2>/dev/null) ]]
}

# --- build what is missing ---------------------------------------------------
say "npm start: building what is missing (log: $build_log)"
step "setup" bash scripts/setup.sh
if stale dist/sessionmark.mjs src js Cargo.toml Cargo.lock scripts/build.mjs; then
  step "the tracker (node scripts/build.mjs)" node scripts/build.mjs
fi
step "the dashboard (node scripts/build-dashboard.mjs)" node scripts/build-dashboard.mjs
# cargo knows best what is stale; when nothing is, this takes a second.
step "the collector (cargo build --release -p sessionmark-collector)" cargo build --release -p sessionmark-collector
if stale .cache/spa/index.html dist/sessionmark.mjs demo/spa scripts/build-spa.mjs; then
  step "the single-page app (node scripts/build-spa.mjs)" node scripts/build-spa.mjs
fi

# --- keys ------------------------------------------------------------------
new_key() { node -e 'process.stdout.write(require("node:crypto").randomBytes(24).toString("base64url"))'; }
export SESSIONMARK_READ_KEY=${SESSIONMARK_READ_KEY:-$(new_key)}
export SESSIONMARK_SERVER_KEY=${SESSIONMARK_SERVER_KEY:-$(new_key)}

# --- run -----------------------------------------------------------------------
# Each child leads its own process group (setsid), so stopping one stops
# whatever it started too.
pids=()
stop_all() {
  trap - INT TERM HUP EXIT
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all; exit 129' HUP
trap stop_all EXIT

# listening LOG PID WHAT: waits for "... listening on http://..." in LOG, prints the URL.
listening() {
  local i line
  for ((i = 0; i < 600; i++)); do
    if line=$(grep -m1 -oE 'listening on https?://[^ ]+' "$1" 2>/dev/null); then
      printf '%s' "${line#listening on }"
      return 0
    fi
    if ! kill -0 "$2" 2>/dev/null; then
      printf 'npm start: %s stopped; its log (%s):\n' "$3" "$1" >&2
      tail -n 20 "$1" >&2
      return 1
    fi
    sleep 0.1
  done
  printf 'npm start: %s did not start within 60 s; see %s\n' "$3" "$1" >&2
  return 1
}

collector_log=$log_dir/collector.log
PORT=${PORT:-8080} \
  SESSIONMARK_WWW=${SESSIONMARK_WWW:-$PWD/www} \
  SESSIONMARK_DIST=${SESSIONMARK_DIST:-$PWD/dist} \
  setsid "${CARGO_TARGET_DIR:-target}/release/sessionmark-collector" >"$collector_log" 2>&1 &
pids+=($!)
collector=$(listening "$collector_log" "${pids[0]}" "the collector") || exit 1

shop_log=$log_dir/shop.log
PORT=${SHOP_PORT:-8081} \
  SESSIONMARK_COLLECTOR=$collector \
  SHOP_SPA_DIR=$PWD/.cache/spa \
  setsid node demo/shop/server.mjs >"$shop_log" 2>&1 &
pids+=($!)
shop=$(listening "$shop_log" "${pids[1]}" "the demo shop") || exit 1

cat <<EOF

sessionmark is running. Open:
  shop:       $shop/
  app (SPA):  $shop/spa/
  dashboard:  $collector/dashboard.html#key=$SESSIONMARK_READ_KEY
  tracker demo pages: $collector/
Logs: $log_dir/. Ctrl-C stops everything.
EOF

# Until Ctrl-C, or until one of them stops on its own.
set +e
wait -n "${pids[@]}"
printf 'npm start: a process stopped; see the logs in %s\n' "$log_dir" >&2
exit 1
