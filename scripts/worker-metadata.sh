#!/usr/bin/env bash
# Rewrites offchain-compute/metadata/tributary.scale, the runtime metadata the
# compute worker's chain client is generated from, from the runtime itself.
# Run it after changing the runtime; a runtime test fails until you do.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
TRIBUTARY_WRITE_METADATA=1 cargo test "${CARGO_PROFILE_ARGS[@]}" -p tributary-runtime \
	the_workers_metadata_is_the_runtimes -- --nocapture 2>&1 | grep -E '^wrote|panicked|error' || true
test -s offchain-compute/metadata/tributary.scale
