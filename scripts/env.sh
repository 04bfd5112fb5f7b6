# Sourced by the other scripts: the one shared target directory, so that the
# session, the scripts and CI reuse one build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/tributary/target}"
export TRIBUTARY_NODE="${TRIBUTARY_NODE:-$CARGO_TARGET_DIR/release/tributary-node}"
# Everything CI builds uses one profile and one feature set: release, defaults.
CARGO_PROFILE_ARGS=(--release --workspace --locked)
