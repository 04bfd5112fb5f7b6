#!/usr/bin/env bash
# The main job: set up, build, and run Tributary at work on this machine: a dev
# node and three compute workers on loopback, two datanets filled by four
# contributors and one of real text, two classifiers and a language model
# trained with libtorch and registered with their lineage, a stream of
# questions answered with Proof of Attribution, and who earned what. `--keep` leaves the network running for polkadot.js.
exec "$(dirname "$0")/node-script.sh" demo.js "$@"
