#!/usr/bin/env bash
# Installs libtorch for the compute worker (`tch` 0.26 expects torch 2.13.0)
# from the PyPI `torch` wheel, the one place it comes from. Idempotent: a
# finished install is marked and left alone.
#
# On a machine without an NVIDIA GPU only the CPU libraries are kept: the
# wheel's libtorch_cpu.so still names libcudart.so.13 and libcupti.so.13,
# which come from the small nvidia-cuda-runtime and nvidia-cuda-cupti wheels
# (pinned in python/cuda-requirements.txt), and libtorch.so names
# libtorch_cuda.so, which `patchelf --remove-needed` drops. With a GPU the
# wheel's CUDA libraries and the nvidia-* wheels python/cuda-requirements.txt
# lists (torch's own pins, NCCL's aside) are kept whole.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

TORCH_VERSION=2.13.0
CUDA_REQUIREMENTS=python/cuda-requirements.txt

log() { printf '\033[1m[setup-libtorch]\033[0m %s\n' "$*"; }

if [[ -f "$LIBTORCH/.complete" ]]; then
	exit 0
fi

gpu=0
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
	gpu=1
fi

if ! command -v patchelf >/dev/null; then
	log "installing patchelf"
	SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends patchelf
fi

WORK="$(mktemp -d -t tributary-libtorch-XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
# The wheels for this machine's kind (x86_64 Linux, CPython 3.11), whatever
# manylinux level each is tagged with.
PY=(--python-version 3.11 --only-binary=:all:)
for tag in manylinux_2_28 manylinux_2_27 manylinux_2_25 manylinux_2_17 manylinux2014 manylinux_2_12 manylinux2010; do
	PY+=(--platform "${tag}_x86_64")
done

log "fetching torch==$TORCH_VERSION from PyPI (about 0.5 GB)"
pip download --quiet --no-deps "${PY[@]}" -d "$WORK/wheels" "torch==$TORCH_VERSION"
if ((gpu)); then
	log "NVIDIA GPU present: fetching torch's CUDA dependencies"
	pip download --quiet --no-deps "${PY[@]}" -d "$WORK/wheels" -r "$CUDA_REQUIREMENTS"
else
	mapfile -t cuda < <(grep -E '^nvidia-cuda-(runtime|cupti)==' "$CUDA_REQUIREMENTS")
	pip download --quiet --no-deps "${PY[@]}" -d "$WORK/wheels" "${cuda[@]}"
fi

STAGE="$WORK/libtorch"
mkdir -p "$STAGE/lib" "$STAGE/include" "$WORK/unpacked"
for wheel in "$WORK"/wheels/*.whl; do
	python3 -m zipfile -e "$wheel" "$WORK/unpacked"
done
cp -a "$WORK/unpacked/torch/include/." "$STAGE/include/"
if ((gpu)); then
	cp -a "$WORK/unpacked/torch/lib/." "$STAGE/lib/"
	find "$WORK/unpacked/nvidia" -name 'lib*.so*' -exec cp -a {} "$STAGE/lib/" \;
else
	for lib in "$WORK"/unpacked/torch/lib/*; do
		case "$(basename "$lib")" in
			*cuda*|*nvrtc*|*cudnn*|*nccl*|*cublas*|*cufft*|*curand*|*cusolver*|*cusparse*|*nvjitlink*|*nvshmem*) ;;
			*) cp -a "$lib" "$STAGE/lib/" ;;
		esac
	done
	find "$WORK/unpacked/nvidia" \( -name 'libcudart.so*' -o -name 'libcupti.so*' \) -exec cp -a {} "$STAGE/lib/" \;
	patchelf --remove-needed libtorch_cuda.so "$STAGE/lib/libtorch.so"
fi

rm -rf "$LIBTORCH"
mkdir -p "$(dirname "$LIBTORCH")"
mv "$STAGE" "$LIBTORCH"
rm -f "$LIBTORCH/lib/libtorch_python.so"
# torch-sys checks this against the version tch expects.
echo "$TORCH_VERSION" > "$LIBTORCH/build-version"
echo "torch==$TORCH_VERSION gpu=$gpu" > "$LIBTORCH/.complete"
log "libtorch $TORCH_VERSION in $LIBTORCH ($(du -sh "$LIBTORCH" | cut -f1), gpu=$gpu)"
