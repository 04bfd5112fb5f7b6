#!/usr/bin/env bash
# Prints what the benchmarked weights (the pallets' weights.rs, written by
# scripts/bench.sh) allow in one block: the compute hook at its bounds, each
# compute call, settling one job, and how many jobs and settlements fit.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo test "${CARGO_PROFILE_ARGS[@]}" -p tributary-runtime block_budget -- --nocapture 2>&1 |
	grep -vE '^(running|test |$)|test result|Finished|Running|Compiling'
