//! The runtime's side of `frame-benchmarking`: which pallets have benchmarks,
//! and how the benchmark CLI lists and runs them.

use crate::*;
use alloc::{string::String, vec::Vec};
use polkadot_sdk::{
	frame_benchmarking::{BenchmarkBatch, BenchmarkConfig, BenchmarkList},
	frame_support::traits::{
		StorageInfo, StorageInfoTrait, TrackedStorageKey, WhitelistedStorageKeys,
	},
};

polkadot_sdk::frame_benchmarking::define_benchmarks!(
	[pallet_registry, Registry]
	[pallet_worker_staking, WorkerStaking]
	[pallet_compute, Compute]
	[pallet_rewards, Rewards]
	[pallet_channels, Channels]
);

/// Sets up the compute and rewards benchmarks through the real registry and
/// staking pallets.
pub struct GraphHelper;

impl pallet_rewards::BenchmarkHelper<AccountId> for GraphHelper {
	fn model(
		owner: &AccountId,
		upstream: u32,
		contributions: u32,
		contributors: u32,
		prepare: fn(tributary_primitives::DatanetId),
	) -> (tributary_primitives::ModelId, Vec<tributary_primitives::ContributionId>) {
		pallet_registry::benchmark_setup::model_with_upstream::<Runtime>(
			owner,
			upstream,
			contributions,
			contributors,
			prepare,
		)
	}
}

impl pallet_compute::BenchmarkHelper<AccountId> for GraphHelper {
	fn model(
		owner: &AccountId,
		contributions: u32,
	) -> (tributary_primitives::ModelId, Vec<tributary_primitives::ContributionId>) {
		pallet_registry::benchmark_setup::model_with_upstream::<Runtime>(
			owner,
			1,
			contributions,
			1,
			|_| {},
		)
	}

	fn worker(who: &AccountId, capacity: u32, model: tributary_primitives::ModelId, engine: &[u8]) {
		use polkadot_sdk::frame_support::traits::fungible::Mutate;
		Balances::set_balance(who, 1_000_000 * TRIB);
		WorkerStaking::register_worker(
			RuntimeOrigin::signed(who.clone()),
			crate::configs::MinWorkerStake::get() * 10,
			Default::default(),
			capacity,
			polkadot_sdk::sp_runtime::BoundedVec::truncate_from(engine.to_vec()),
		)
		.expect("registering a worker");
		WorkerStaking::serve_models(
			RuntimeOrigin::signed(who.clone()),
			WorkerStaking::most_models(model),
		)
		.expect("serving models");
	}

	/// Puts a BABE pre-digest with a VRF output into the block, as its author
	/// would. Any valid Ristretto point serves as the authority's key and as
	/// the VRF pre-output: the draw hashes the output and does not check the
	/// proof (block import did).
	fn randomness() {
		use codec::Decode;
		use polkadot_sdk::{
			pallet_babe,
			sp_consensus_babe::{
				digests::{PreDigest, SecondaryVRFPreDigest},
				AuthorityId,
			},
			sp_core::sr25519::vrf::VrfSignature,
			sp_runtime::WeakBoundedVec,
		};
		// The compressed Ristretto base point.
		const POINT: [u8; 32] = [
			0xe2, 0xf2, 0xae, 0x0a, 0x6a, 0xbc, 0x4e, 0x71, 0xa8, 0x84, 0xa9, 0x61, 0xc5, 0x00,
			0x51, 0x5f, 0x58, 0xe3, 0x0b, 0x6a, 0xa5, 0x82, 0xdd, 0x8d, 0xb6, 0xa6, 0x59, 0x45,
			0xe0, 0x8d, 0x2d, 0x76,
		];
		let authority = AuthorityId::decode(&mut &POINT[..]).expect("32 bytes");
		let signature = [&POINT[..], &[0u8; 64][..]].concat();
		let vrf_signature = VrfSignature::decode(&mut &signature[..]).expect("a valid point");
		pallet_babe::Authorities::<Runtime>::put(WeakBoundedVec::force_from(
			alloc::vec![(authority, 1)],
			None,
		));
		pallet_babe::Initialized::<Runtime>::put(Some(PreDigest::SecondaryVRF(
			SecondaryVRFPreDigest { authority_index: 0, slot: Babe::current_slot(), vrf_signature },
		)));
	}
}

impl pallet_channels::BenchmarkHelper<AccountId, tributary_primitives::Signature> for GraphHelper {
	fn worker(who: &AccountId) {
		use polkadot_sdk::frame_support::traits::fungible::Mutate;
		Balances::set_balance(who, 1_000_000 * TRIB);
		WorkerStaking::register_worker(
			RuntimeOrigin::signed(who.clone()),
			crate::configs::MinWorkerStake::get(),
			Default::default(),
			1,
			polkadot_sdk::sp_runtime::BoundedVec::truncate_from(b"cpu".to_vec()),
		)
		.expect("registering a worker");
	}

	fn model(
		contributions: u32,
	) -> (tributary_primitives::ModelId, Vec<tributary_primitives::ContributionId>) {
		let owner: AccountId = polkadot_sdk::frame_benchmarking::account("owner", 0, 0);
		// Every datanet's pool at its costliest: `settle`'s benchmark then
		// holds the whole division of its one model, which the rewards
		// pallet's `division_weight` leaves out.
		pallet_registry::benchmark_setup::model_with_upstream::<Runtime>(
			&owner,
			crate::configs::MaxUpstream::get(),
			contributions,
			1,
			pallet_rewards::benchmarking::costliest_pool::<Runtime>,
		)
	}

	/// An account of a fresh sr25519 key in the benchmark's keystore.
	fn requester() -> AccountId {
		use polkadot_sdk::frame_support::traits::fungible::Mutate;
		let public = polkadot_sdk::sp_io::crypto::sr25519_generate(BENCHMARK_KEY, None);
		let requester = AccountId::from(public.0);
		Balances::set_balance(&requester, 1_000_000 * TRIB);
		requester
	}

	fn sign(requester: &AccountId, payload: &[u8]) -> tributary_primitives::Signature {
		let public = polkadot_sdk::sp_core::sr25519::Public::from_raw(*requester.as_ref());
		polkadot_sdk::sp_io::crypto::sr25519_sign(BENCHMARK_KEY, &public, payload)
			.expect("the key was generated in the keystore")
			.into()
	}
}

/// The key type of the keys the benchmarks sign with.
const BENCHMARK_KEY: polkadot_sdk::sp_core::crypto::KeyTypeId =
	polkadot_sdk::sp_core::crypto::KeyTypeId(*b"bnch");

/// The benchmarks this runtime offers, and the storage they touch.
pub fn metadata(extra: bool) -> (Vec<BenchmarkList>, Vec<StorageInfo>) {
	let mut list = Vec::<BenchmarkList>::new();
	list_benchmarks!(list, extra);
	(list, AllPalletsWithSystem::storage_info())
}

/// Runs the benchmarks `config` selects.
pub fn dispatch(config: BenchmarkConfig) -> Result<Vec<BenchmarkBatch>, String> {
	let whitelist: Vec<TrackedStorageKey> = AllPalletsWithSystem::whitelisted_storage_keys();
	let mut batches = Vec::<BenchmarkBatch>::new();
	let params = (&config, &whitelist);
	add_benchmarks!(params, batches);
	Ok(batches)
}
