#!/usr/bin/env bash
# The main job: set up, build, and run a development chain, then say where to
# point polkadot.js. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

RPC_PORT="${RPC_PORT:-9944}"
scripts/setup.sh
cargo build "${CARGO_PROFILE_ARGS[@]}" -p tributary-node

BASE="$(mktemp -d -t tributary-demo-XXXXXX)"
trap 'kill "$NODE_PID" 2>/dev/null || true; wait "$NODE_PID" 2>/dev/null || true; rm -rf "$BASE"' EXIT
"$TRIBUTARY_NODE" --dev --base-path "$BASE" --rpc-port "$RPC_PORT" >"$BASE/node.log" 2>&1 &
NODE_PID=$!

echo "starting a Tributary dev node (log: $BASE/node.log)…"
for _ in $(seq 1 120); do
	if curl -fsS -H 'content-type: application/json' \
		-d '{"jsonrpc":"2.0","id":1,"method":"chain_getHeader","params":[]}' \
		"http://127.0.0.1:$RPC_PORT" >/dev/null 2>&1; then
		break
	fi
	kill -0 "$NODE_PID" 2>/dev/null || { echo "the node exited:"; tail -20 "$BASE/node.log"; exit 1; }
	sleep 0.5
done

cat <<MSG

  Tributary dev chain running: one validator (Alice), a block every second,
  each final at once; dev accounts Alice…Ferdie hold 1,000,000 TRIB each.

  RPC (WebSocket and HTTP):  ws://127.0.0.1:$RPC_PORT
  polkadot.js Apps:          https://polkadot.js.org/apps/?rpc=ws%3A%2F%2F127.0.0.1%3A$RPC_PORT#/explorer
  Prometheus metrics:        http://127.0.0.1:9615/metrics

  Ctrl-C stops the node.
MSG
while kill -0 "$NODE_PID" 2>/dev/null; do
	head=$(curl -fsS -H 'content-type: application/json' \
		-d '{"jsonrpc":"2.0","id":1,"method":"chain_getFinalizedHead","params":[]}' \
		"http://127.0.0.1:$RPC_PORT" | sed -E 's/.*"result":"([^"]+)".*/\1/') || true
	num=$(curl -fsS -H 'content-type: application/json' \
		-d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"chain_getHeader\",\"params\":[\"$head\"]}" \
		"http://127.0.0.1:$RPC_PORT" | sed -E 's/.*"number":"(0x[0-9a-f]+)".*/\1/') || true
	[[ -n "${num:-}" ]] && printf '\r  finalized block #%d   ' "$((num))"
	sleep 2
done
