#!/usr/bin/env bash
# How many fast-path receipts one 6-second block settles on a dev chain, with
# full settlements at a typical attribution (issue 15's figure).
# `scripts/settle-capacity.sh --settlements 16` (the default). Not part of the
# test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh
cargo build "${CARGO_PROFILE_ARGS[@]}"
cd tests
exec node settle-capacity.js "$@"
