#!/usr/bin/env bash
# Runs the pallets' frame-benchmarking benchmarks against the runtime's WASM
# and writes each pallet's weights.rs. Run it in a session after changing a
# pallet's calls; CI does not (its build has no `runtime-benchmarks`).
#
#   scripts/bench.sh                 # every Tributary pallet
#   scripts/bench.sh pallet_registry # one pallet
#   STEPS=50 REPEAT=20 scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

# A target directory of its own: `runtime-benchmarks` changes the features of
# most of the node's and runtime's dependencies, and the WASM it builds must
# not replace the one CI's node embeds. The node built here carries
# `benchmark pallet` (frame-benchmarking-cli): the bencher, without a second
# copy of Substrate's client in another tool.
BENCH_TARGET="${TRIBUTARY_BENCH_TARGET:-$HOME/.cache/tributary/bench-target}"
# frame-benchmarking-cli's own storage-benchmark runtime cannot be built as a
# WASM from outside its workspace, and `benchmark pallet --runtime` needs no
# embedded runtime: the node is built without WASM, the runtime's WASM then
# on its own.
SKIP_WASM_BUILD=1 CARGO_TARGET_DIR="$BENCH_TARGET" \
	cargo build --release --locked -p tributary-node --features runtime-benchmarks
CARGO_TARGET_DIR="$BENCH_TARGET" \
	cargo build --release --locked -p tributary-runtime --features runtime-benchmarks
BENCHER="$BENCH_TARGET/release/tributary-node"
WASM="$BENCH_TARGET/release/wbuild/tributary-runtime/tributary_runtime.compact.compressed.wasm"

declare -A DIRS=(
	[pallet_registry]=pallets/registry
	[pallet_worker_staking]=pallets/worker-staking
	[pallet_compute]=pallets/compute
	[pallet_rewards]=pallets/rewards
	[pallet_channels]=pallets/channels
)
PALLETS=("$@")
((${#PALLETS[@]})) || PALLETS=("${!DIRS[@]}")
for pallet in "${PALLETS[@]}"; do
	dir="${DIRS[$pallet]:?unknown pallet $pallet}"
	echo "== benchmarking $pallet =="
	"$BENCHER" benchmark pallet \
		--runtime "$WASM" \
		--pallet "$pallet" \
		--extrinsic '*' \
		--steps "${STEPS:-50}" \
		--repeat "${REPEAT:-20}" \
		--template scripts/weight-template.hbs \
		--output "$dir/src/weights.rs"
	# The template's output, in the project's style (CI checks it).
	rustfmt --edition 2021 "$dir/src/weights.rs"
done
