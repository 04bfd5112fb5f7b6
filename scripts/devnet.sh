#!/usr/bin/env bash
# Four validators (Alice, Bob, Charlie, Dave: BABE with 6 s slots, GRANDPA
# finality) and two compute workers (Eve and Ferdie, staking 200 TRIB each)
# on this machine, all on loopback. Ctrl-C stops everything.
#
#   scripts/devnet.sh            # RPC on 9944 (Alice) … 9947 (Dave)
#   BASE=/tmp/devnet scripts/devnet.sh   # keep the chain between runs
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

scripts/setup.sh
cargo build "${CARGO_PROFILE_ARGS[@]}"
WORKER="$CARGO_TARGET_DIR/release/tributary-worker"
BASE="${BASE:-$(mktemp -d -t tributary-devnet-XXXXXX)}"
mkdir -p "$BASE"

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
BOOT=/ip4/127.0.0.1/tcp/30333/p2p/12D3KooWEyoppNCUx8Yx66oV9fJnriXwCcXwDDUA2kj6vnc6iDEp
i=0
for name in alice bob charlie dave; do
	i=$((i + 1))
	args=(--chain local "--$name" --validator --base-path "$BASE/$name"
		--port $((30332 + i)) --rpc-port $((9943 + i)) --prometheus-port $((9614 + i))
		--node-key "$(printf '%064x' "$i")" --no-mdns)
	[[ $name != alice ]] && args+=(--bootnodes "$BOOT")
	"$TRIBUTARY_NODE" "${args[@]}" >"$BASE/$name.log" 2>&1 &
	pids+=($!)
done
echo "four validators starting (logs in $BASE/*.log)…"
for _ in $(seq 1 120); do
	curl -fsS -H 'content-type: application/json' \
		-d '{"jsonrpc":"2.0","id":1,"method":"system_health","params":[]}' \
		http://127.0.0.1:9944 >/dev/null 2>&1 && break
	sleep 0.5
done

port=9700
for name in Eve Ferdie; do
	"$WORKER" run --node ws://127.0.0.1:9944 --dev-key "$name" --register 200 --capacity 4 \
		--journal "$BASE/$name.sqlite" --content-dir "$BASE/content" --prometheus-port "$port" \
		>"$BASE/worker-$name.log" 2>&1 &
	pids+=($!)
	port=$((port + 1))
done

cat <<MSG

  Tributary devnet: validators Alice, Bob, Charlie, Dave (RPC 9944–9947),
  compute workers Eve and Ferdie (metrics on 9700, 9701), data in $BASE.
  Put model files into $BASE/content (tributary-worker put/train --content-dir).

  polkadot.js Apps: https://polkadot.js.org/apps/?rpc=ws%3A%2F%2F127.0.0.1%3A9944#/explorer

  Ctrl-C stops the network.
MSG
wait
