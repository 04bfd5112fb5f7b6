#!/usr/bin/env bash
# Installs what a fresh machine needs to build, run and test Tributary.
# Idempotent: every step checks before it acts, so running it again is cheap.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

APT_PACKAGES=(protobuf-compiler clang libclang-dev pkg-config libssl-dev make fortunes postgresql chromium)
missing=()
for p in "${APT_PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	log "installing Debian packages: ${missing[*]}"
	SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! rustup target list --installed | grep -qx wasm32v1-none; then
	log "adding Rust target wasm32v1-none"
	rustup target add wasm32v1-none
fi
for component in rust-src rustfmt; do
	if ! rustup component list --installed | grep -q "^$component"; then
		log "adding Rust component $component"
		rustup component add "$component"
	fi
done

if ! command -v node >/dev/null; then
	log "installing Node.js"
	SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm
fi
if [[ ! -d tests/node_modules ]] || [[ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]]; then
	log "installing the client tests' Node.js packages (npm ci)"
	(cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi

# libtorch for the compute worker lands with the worker (offchain-compute/);
# scripts/setup-libtorch.sh is called from here once it exists.
if [[ -x scripts/setup-libtorch.sh ]]; then
	scripts/setup-libtorch.sh
fi
scripts/setup-python.sh
log "ready"
