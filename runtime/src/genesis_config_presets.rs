//! The genesis states the node's chain specs are built from.
//!
//! - `development`: Alice alone authors and finalizes; every well-known dev
//!   account is funded; Alice is sudo.
//! - `local_testnet`: Alice, Bob, Charlie and Dave author with BABE and
//!   finalize with GRANDPA, so finality (more than two thirds of votes) holds
//!   with any one of them down.

use crate::{
	configs::TreasuryAccount, AccountId, BalancesConfig, RuntimeGenesisConfig, SudoConfig,
	EXISTENTIAL_DEPOSIT, TRIB,
};
use alloc::{vec, vec::Vec};
use polkadot_sdk::{
	frame_support::build_struct_json_patch,
	sp_consensus_babe::AuthorityId as BabeId,
	sp_consensus_grandpa::AuthorityId as GrandpaId,
	sp_genesis_builder::{self, PresetId},
	sp_keyring::{Ed25519Keyring, Sr25519Keyring},
};
use serde_json::Value;

/// What each well-known development account holds at genesis.
pub const DEV_ENDOWMENT: u128 = 1_000_000 * TRIB;

/// What the audit pot holds at genesis: a thousand audits at the least
/// job price.
pub const AUDIT_POT_ENDOWMENT: u128 = 1_000 * TRIB;

/// A genesis with the given authorities, funded accounts and sudo key.
fn genesis(
	authorities: Vec<(BabeId, GrandpaId)>,
	endowed: Vec<AccountId>,
	root: AccountId,
) -> Value {
	build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			// The treasury and the rewards account exist from genesis, so that
			// they can take amounts smaller than the existential deposit; the
			// audit pot starts with what pays for the first audits.
			balances: endowed
				.into_iter()
				.map(|account| (account, DEV_ENDOWMENT))
				.chain([
					(TreasuryAccount::get(), EXISTENTIAL_DEPOSIT),
					(pallet_rewards::Pallet::<crate::Runtime>::account_id(), EXISTENTIAL_DEPOSIT),
					(pallet_channels::Pallet::<crate::Runtime>::audit_pot(), AUDIT_POT_ENDOWMENT),
				])
				.collect(),
		},
		babe: polkadot_sdk::pallet_babe::GenesisConfig {
			authorities: authorities.iter().map(|(babe, _)| (babe.clone(), 1)).collect(),
			epoch_config: crate::BABE_GENESIS_EPOCH_CONFIG,
		},
		grandpa: polkadot_sdk::pallet_grandpa::GenesisConfig {
			authorities: authorities.into_iter().map(|(_, grandpa)| (grandpa, 1)).collect(),
		},
		sudo: SudoConfig { key: Some(root) },
	})
}

/// The session keys of a well-known development validator.
fn dev_authority(sr: Sr25519Keyring, ed: Ed25519Keyring) -> (BabeId, GrandpaId) {
	(sr.public().into(), ed.public().into())
}

fn dev_accounts() -> Vec<AccountId> {
	Sr25519Keyring::well_known().map(|k| k.to_account_id()).collect()
}

/// The `development` preset: one validator, Alice.
pub fn development_config_genesis() -> Value {
	genesis(
		vec![dev_authority(Sr25519Keyring::Alice, Ed25519Keyring::Alice)],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// The `local_testnet` preset: four validators, Alice, Bob, Charlie and Dave.
pub fn local_testnet_genesis() -> Value {
	genesis(
		vec![
			dev_authority(Sr25519Keyring::Alice, Ed25519Keyring::Alice),
			dev_authority(Sr25519Keyring::Bob, Ed25519Keyring::Bob),
			dev_authority(Sr25519Keyring::Charlie, Ed25519Keyring::Charlie),
			dev_authority(Sr25519Keyring::Dave, Ed25519Keyring::Dave),
		],
		dev_accounts(),
		Sr25519Keyring::Alice.to_account_id(),
	)
}

/// The JSON patch of the preset named `id`, if there is one.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET => development_config_genesis(),
		sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => local_testnet_genesis(),
		_ => return None,
	};
	Some(
		serde_json::to_string(&patch)
			.expect("serialization to json is expected to work. qed.")
			.into_bytes(),
	)
}

/// The names of the presets this runtime offers.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
	]
}
