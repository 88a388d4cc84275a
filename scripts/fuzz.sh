#!/usr/bin/env bash
# The long fuzz run (README "Fuzzing"): every test named `fuzz_*` in the
# workspace, whatever crate or file it lives in, with FUZZ_CASES cases each
# (default 200000; `npm test` runs the same targets at proptest's default of
# 256). A target is a proptest test named `fuzz_...`: adding one anywhere in
# the workspace adds it here.
#   FUZZ_CASES=2000000 npm run fuzz
#   npm run fuzz -- batch      # only targets whose name contains "batch"
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cases="${FUZZ_CASES:-200000}"
filter="fuzz_${1:-}"
echo "fuzz: targets matching '$filter', $cases cases each"
PROPTEST_CASES="$cases" cargo test --workspace --profile fuzz -- "$filter"
