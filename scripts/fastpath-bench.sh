#!/usr/bin/env bash
# The fast path's figures (issue 15): answer latency against the same model
# answering in-process, throughput against the executor's pool, and the
# receipts settled per block on a dev chain. `scripts/fastpath-bench.sh
# --requests 2000 --channels 8` (the defaults). Not part of the test suite.
exec "$(dirname "$0")/node-script.sh" fastpath-bench.js "$@"
