#!/usr/bin/env bash
# Builds every crate and test of the workspace in release: the node, its WASM
# runtime and the test binaries, in one feature set so nothing builds twice.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo test "${CARGO_PROFILE_ARGS[@]}" --no-run
cargo build "${CARGO_PROFILE_ARGS[@]}"
