# Sourced by the other scripts: the one shared target directory, so that the
# session, the scripts and CI reuse one build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tributary/target}"
export TRIBUTARY_NODE="${TRIBUTARY_NODE:-$CARGO_TARGET_DIR/release/tributary-node}"
# Everything CI builds uses one profile and one feature set: release, defaults.
CARGO_PROFILE_ARGS=(--release --workspace --locked)
# libtorch for the compute worker, installed by scripts/setup-libtorch.sh from
# the PyPI torch wheel; tch builds against it and the worker loads it.
export LIBTORCH="${LIBTORCH:-$HOME/.cache/tributary/libtorch-2.13.0}"
export LD_LIBRARY_PATH="$LIBTORCH/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Python with PyTorch for the model exporter (python/), installed by
# scripts/setup-python.sh.
export TRIBUTARY_PYTHON_ENV="${TRIBUTARY_PYTHON_ENV:-$HOME/.cache/tributary/python-torch-2.13.0}"
export TRIBUTARY_PYTHON="${TRIBUTARY_PYTHON:-$TRIBUTARY_PYTHON_ENV/bin/python}"
