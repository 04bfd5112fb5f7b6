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
);

/// Sets up the compute and rewards benchmarks through the real registry and
/// staking pallets.
pub struct GraphHelper;

impl pallet_rewards::BenchmarkHelper<AccountId> for GraphHelper {
	fn model(
		owner: &AccountId,
		upstream: u32,
		contributions: u32,
		prepare: fn(tributary_primitives::DatanetId),
	) -> (tributary_primitives::ModelId, Vec<tributary_primitives::ContributionId>) {
		pallet_registry::benchmark_setup::model_with_upstream::<Runtime>(
			owner,
			upstream,
			contributions,
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
			|_| {},
		)
	}

	fn worker(who: &AccountId, capacity: u32) {
		use polkadot_sdk::frame_support::traits::fungible::Mutate;
		Balances::set_balance(who, 1_000_000 * TRIB);
		WorkerStaking::register_worker(
			RuntimeOrigin::signed(who.clone()),
			crate::configs::MinWorkerStake::get() * 10,
			Default::default(),
			capacity,
			Default::default(),
		)
		.expect("registering a worker");
	}
}

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
