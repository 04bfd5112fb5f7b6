#!/usr/bin/env bash
# The fast path's figures (issue 15): answer latency against the same model
# answering in-process, throughput against the executor's pool, and the
# receipts settled per block on a dev chain. `scripts/fastpath-bench.sh
# --requests 2000 --channels 8` (the defaults). Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
scripts/setup.sh
cargo build "${CARGO_PROFILE_ARGS[@]}"
cd tests
exec node fastpath-bench.js "$@"
