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

TOOLS="${TRIBUTARY_TOOLS:-$HOME/.cache/tributary/tools}"
BENCHER="$TOOLS/bin/frame-omni-bencher"
if [[ ! -x "$BENCHER" ]]; then
	echo "installing frame-omni-bencher (same polkadot-sdk release as the runtime) into $TOOLS"
	cargo install --locked --root "$TOOLS" --target-dir "$HOME/.cache/tributary/bench-target" frame-omni-bencher@0.28.0
fi

# A target directory of its own: `runtime-benchmarks` changes the features of
# most of the runtime's dependencies, and the WASM it builds must not replace
# the one the node embeds.
BENCH_TARGET="$HOME/.cache/tributary/bench-runtime"
CARGO_TARGET_DIR="$BENCH_TARGET" cargo build --release --locked -p tributary-runtime --features runtime-benchmarks
WASM="$BENCH_TARGET/release/wbuild/tributary-runtime/tributary_runtime.compact.compressed.wasm"

declare -A DIRS=(
	[pallet_registry]=pallets/registry
	[pallet_worker_staking]=pallets/worker-staking
	[pallet_compute]=pallets/compute
	[pallet_rewards]=pallets/rewards
)
PALLETS=("$@")
((${#PALLETS[@]})) || PALLETS=("${!DIRS[@]}")
for pallet in "${PALLETS[@]}"; do
	dir="${DIRS[$pallet]:?unknown pallet $pallet}"
	echo "== benchmarking $pallet =="
	"$BENCHER" v1 benchmark pallet \
		--runtime "$WASM" \
		--pallet "$pallet" \
		--extrinsic '*' \
		--steps "${STEPS:-50}" \
		--repeat "${REPEAT:-20}" \
		--template scripts/weight-template.hbs \
		--output "$dir/src/weights.rs"
done
