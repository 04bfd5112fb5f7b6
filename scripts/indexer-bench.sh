#!/usr/bin/env bash
# The indexer's figures (issue 17): catching up over a history of jobs
# (blocks per second), lag behind finality while the load runs, and the
# query API's latency at that size. `scripts/indexer-bench.sh --blocks 10000`
# (the default). Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh
cargo build "${CARGO_PROFILE_ARGS[@]}"
cd tests
exec node indexer-bench.js "$@"
