#!/usr/bin/env bash
# Regenerates the checked-in chain specs from the runtime's genesis presets.
# `cargo test -p tributary-node` fails when they no longer match.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
cargo build "${CARGO_PROFILE_ARGS[@]}" -p tributary-node
for chain in local testnet; do
	"$TRIBUTARY_NODE" build-spec --chain "$chain" --disable-default-bootnode > "chain-specs/$chain.json"
	echo "wrote chain-specs/$chain.json"
done
