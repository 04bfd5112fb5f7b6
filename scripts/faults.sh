#!/usr/bin/env bash
# The fault script (issue 14's figures): jobs stream through compute workers
# on the four-validator local chain while workers are killed at random, the
# workers' node restarts and a validator stops; prints jobs completed, lost
# salts, double submissions, wrongful slashes and reconnect rates.
# `scripts/faults.sh --kills 100` (the default). Not part of the test suite.
exec "$(dirname "$0")/node-script.sh" faults.js "$@"
