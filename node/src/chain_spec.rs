//! The chain specs the node knows by name, built from the runtime's presets.

use polkadot_sdk::{
	sc_chain_spec::{ChainType, GenericChainSpec, NoExtension, Properties},
	sc_service::ChainSpec,
	sp_genesis_builder::{DEV_RUNTIME_PRESET, LOCAL_TESTNET_RUNTIME_PRESET},
};
use std::path::PathBuf;
use tributary_runtime::{SS58_PREFIX, TOKEN_DECIMALS, TOKEN_SYMBOL, WASM_BINARY};

/// A Tributary chain spec: no client extensions yet.
pub type TributaryChainSpec = GenericChainSpec<NoExtension>;

/// What wallets and explorers read through `system_properties`.
fn properties() -> Properties {
	let mut p = Properties::new();
	p.insert("tokenSymbol".into(), TOKEN_SYMBOL.into());
	p.insert("tokenDecimals".into(), TOKEN_DECIMALS.into());
	p.insert("ss58Format".into(), SS58_PREFIX.into());
	p
}

fn wasm() -> Result<&'static [u8], String> {
	WASM_BINARY.ok_or_else(|| {
		"this node was built without its WASM runtime (SKIP_WASM_BUILD was set); \
		 rebuild it without SKIP_WASM_BUILD"
			.to_string()
	})
}

/// One validator (Alice), funded dev accounts.
pub fn development() -> Result<TributaryChainSpec, String> {
	Ok(TributaryChainSpec::builder(wasm()?, None)
		.with_name("Tributary Development")
		.with_id("tributary_dev")
		.with_protocol_id("trib")
		.with_chain_type(ChainType::Development)
		.with_genesis_config_preset_name(DEV_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}

/// Four validators (Alice, Bob, Charlie, Dave) on one machine.
pub fn local_testnet() -> Result<TributaryChainSpec, String> {
	Ok(TributaryChainSpec::builder(wasm()?, None)
		.with_name("Tributary Local Testnet")
		.with_id("tributary_local")
		.with_protocol_id("trib")
		.with_chain_type(ChainType::Local)
		.with_genesis_config_preset_name(LOCAL_TESTNET_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}

/// A template for a public network: the `local_testnet` genesis under a live
/// chain's name. Operators replace the authorities and the sudo key before
/// launching; `chain-specs/testnet.json` is this spec.
pub fn testnet_template() -> Result<TributaryChainSpec, String> {
	Ok(TributaryChainSpec::builder(wasm()?, None)
		.with_name("Tributary Testnet")
		.with_id("tributary_testnet")
		.with_protocol_id("trib-test")
		.with_chain_type(ChainType::Live)
		.with_genesis_config_preset_name(LOCAL_TESTNET_RUNTIME_PRESET)
		.with_properties(properties())
		.build())
}

/// The spec named `id`: `dev`, `local`, `testnet`, or a path to a chain spec
/// JSON file.
pub fn load(id: &str) -> Result<Box<dyn ChainSpec>, String> {
	Ok(match id {
		"dev" => Box::new(development()?),
		"" | "local" => Box::new(local_testnet()?),
		"testnet" => Box::new(testnet_template()?),
		path => {
			let path = PathBuf::from(path);
			if !path.is_file() {
				return Err(format!(
					"unknown chain `{id}`: expected `dev`, `local`, `testnet` or the path of a chain spec \
					 JSON file, and no file exists at {}",
					path.display()
				));
			}
			Box::new(TributaryChainSpec::from_json_file(path.clone()).map_err(|e| {
				format!("the chain spec {} is not a valid chain spec: {e}", path.display())
			})?)
		}
	})
}

#[cfg(test)]
mod tests {
	use super::*;
	use polkadot_sdk::{
		sc_executor::{read_embedded_version, WasmExecutor},
		sc_executor_common::runtime_blob::RuntimeBlob,
		sp_io,
		sp_state_machine::BasicExternalities,
	};
	use serde_json::Value;

	/// The checked-in spec, parsed.
	fn checked_in(name: &str) -> Value {
		let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../chain-specs/");
		let text = std::fs::read_to_string(format!("{path}{name}"))
			.unwrap_or_else(|e| panic!("chain-specs/{name}: {e}; run scripts/chain-specs.sh"));
		serde_json::from_str(&text).expect("the checked-in spec is JSON")
	}

	/// The metadata a runtime's code declares, by running its `Metadata_metadata`.
	fn metadata_of(blob: RuntimeBlob) -> Vec<u8> {
		WasmExecutor::<sp_io::SubstrateHostFunctions>::builder()
			.build()
			.uncached_call(blob, &mut BasicExternalities::default(), true, "Metadata_metadata", &[])
			.expect("the runtime answers Metadata_metadata")
	}

	/// Splits the runtime code off a plain spec, returning the rest and what
	/// the code declares: its version and its metadata. The code's bytes
	/// themselves differ between checkouts (the WASM embeds source paths in
	/// panic locations), so the code is compared by everything a client sees:
	/// pallets, calls, events, errors, storage, constants and types.
	fn split_code(mut spec: Value) -> (Value, (String, u32, u32), Vec<u8>) {
		let code = spec["genesis"]["runtimeGenesis"]
			.as_object_mut()
			.and_then(|g| g.remove("code"))
			.and_then(|c| c.as_str().map(str::to_owned))
			.expect("a plain spec carries genesis.runtimeGenesis.code");
		let bytes = hex::decode(code.trim_start_matches("0x")).expect("the code is hex");
		let blob = RuntimeBlob::uncompress_if_needed(&bytes).expect("the code is a WASM blob");
		let version = read_embedded_version(&blob)
			.expect("the version section decodes")
			.expect("the runtime embeds its version");
		(
			spec,
			(version.spec_name.to_string(), version.spec_version, version.transaction_version),
			metadata_of(blob),
		)
	}

	fn assert_matches(generated: TributaryChainSpec, file: &str) {
		let generated: Value =
			serde_json::from_str(&generated.as_json(false).expect("spec serializes")).unwrap();
		let (generated, generated_version, generated_metadata) = split_code(generated);
		let (stored, stored_version, stored_metadata) = split_code(checked_in(file));
		assert_eq!(
			stored, generated,
			"chain-specs/{file} no longer matches the runtime's preset: run scripts/chain-specs.sh"
		);
		assert_eq!(
			stored_version, generated_version,
			"chain-specs/{file} carries another runtime version: run scripts/chain-specs.sh"
		);
		assert!(
			stored_metadata == generated_metadata,
			"chain-specs/{file} carries a runtime with other metadata: run scripts/chain-specs.sh"
		);
	}

	#[test]
	fn checked_in_local_spec_matches_the_runtime() {
		assert_matches(local_testnet().unwrap(), "local.json");
	}

	#[test]
	fn checked_in_testnet_template_matches_the_runtime() {
		assert_matches(testnet_template().unwrap(), "testnet.json");
	}

	#[test]
	fn dev_spec_carries_the_token_properties() {
		let props = development().unwrap().properties();
		assert_eq!(props["tokenSymbol"], "TRIB");
		assert_eq!(props["tokenDecimals"], 12);
		assert_eq!(props["ss58Format"], tributary_runtime::SS58_PREFIX);
	}

	#[test]
	fn unknown_chain_is_refused_with_its_name() {
		let err = load("no-such-chain.json").err().expect("a missing file is an error");
		assert!(err.contains("no-such-chain.json") && err.contains("`dev`, `local`"), "{err}");
	}

	#[test]
	fn malformed_spec_file_is_refused_with_its_path() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("broken.json");
		std::fs::write(&path, "{ not json").unwrap();
		let err = load(path.to_str().unwrap()).err().expect("a malformed spec is an error");
		assert!(err.contains("broken.json") && err.contains("not a valid chain spec"), "{err}");
	}
}
