#!/usr/bin/env bash
# Installs Python's PyTorch for the model exporter (python/): a virtual
# environment holding the PyPI torch wheel the worker's libtorch comes from,
# its CUDA libraries (it does not import without them, GPU or not) and the
# packages python/requirements.txt pins. Idempotent: an environment built
# from the same requirements is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

TORCH_VERSION=2.13.0
log() { printf '\033[1m[setup-python]\033[0m %s\n' "$*"; }

stamp="torch==$TORCH_VERSION $(cat python/requirements.txt python/cuda-requirements.txt | sha256sum | cut -c1-16)"
if [[ -f "$TRIBUTARY_PYTHON_ENV/.complete" ]] && [[ "$(cat "$TRIBUTARY_PYTHON_ENV/.complete")" == "$stamp" ]]; then
	exit 0
fi
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
	log "installing python3-venv"
	SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv
fi

log "building $TRIBUTARY_PYTHON_ENV (torch==$TORCH_VERSION and its CUDA libraries, about 4 GB)"
rm -rf "$TRIBUTARY_PYTHON_ENV"
python3 -m venv "$TRIBUTARY_PYTHON_ENV"
pip=("$TRIBUTARY_PYTHON_ENV/bin/pip" install --quiet --disable-pip-version-check)
# torch's own metadata pins NCCL at a release the registry lacks: its
# dependencies come from the requirements instead (see cuda-requirements.txt).
"${pip[@]}" --no-deps "torch==$TORCH_VERSION"
"${pip[@]}" --no-deps -r python/requirements.txt
"$TRIBUTARY_PYTHON_ENV/bin/python" -c 'import torch, safetensors.torch; assert torch.__version__.startswith("'"$TORCH_VERSION"'")'
echo "$stamp" > "$TRIBUTARY_PYTHON_ENV/.complete"
log "Python's torch $TORCH_VERSION in $TRIBUTARY_PYTHON_ENV ($(du -sh "$TRIBUTARY_PYTHON_ENV" | cut -f1))"
