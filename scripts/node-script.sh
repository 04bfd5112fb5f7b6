#!/usr/bin/env bash
# Sets up, builds in CI's profile and runs one of tests/'s Node scripts with
# the arguments given: what the demo and the figure scripts share.
#   scripts/node-script.sh demo.js --keep
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh
cargo build "${CARGO_PROFILE_ARGS[@]}"
cd tests
exec node "$@"
