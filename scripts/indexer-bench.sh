#!/usr/bin/env bash
# The indexer's figures (issue 17): catching up over a history of jobs
# (blocks per second), lag behind finality while the load runs, and the
# query API's latency at that size. `scripts/indexer-bench.sh --blocks 10000`
# (the default). Not part of the test suite.
exec "$(dirname "$0")/node-script.sh" indexer-bench.js "$@"
