#!/usr/bin/env bash
# How many fast-path receipts one 6-second block settles on a dev chain, with
# full settlements at a typical attribution (issue 15's figure).
# `scripts/settle-capacity.sh --settlements 16` (the default). Not part of the
# test suite.
exec "$(dirname "$0")/node-script.sh" settle-capacity.js "$@"
