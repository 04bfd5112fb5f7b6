#!/usr/bin/env bash
# The whole test suite from a fresh machine: set-up, build, Rust tests, then
# the end-to-end tests that start real nodes and drive them with polkadot.js.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

scripts/setup.sh

echo "== Formatting (rustfmt.toml) =="
cargo fmt --all -- --check

scripts/build.sh

echo "== Python exporter tests (python/) =="
(cd python && "$TRIBUTARY_PYTHON" -m unittest -v 2>&1)

echo "== Rust tests =="
cargo test "${CARGO_PROFILE_ARGS[@]}"

echo "== End-to-end tests (polkadot.js against real nodes) =="
(cd tests && npm test)
