//! Builds the runtime to WASM with `substrate-wasm-builder` (skipped with `SKIP_WASM_BUILD`).

fn main() {
	#[cfg(feature = "std")]
	substrate_wasm_builder::WasmBuilder::build_using_defaults();
}
