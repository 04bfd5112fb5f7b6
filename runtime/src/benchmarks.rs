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
);

/// Sets up the compute benchmarks through the real registry and staking.
pub struct ComputeHelper;

impl pallet_compute::BenchmarkHelper<AccountId> for ComputeHelper {
	fn model(
		owner: &AccountId,
		contributions: u32,
	) -> (tributary_primitives::ModelId, Vec<tributary_primitives::ContributionId>) {
		use polkadot_sdk::{frame_support::traits::fungible::Mutate, sp_core::H256};
		let signed = || RuntimeOrigin::signed(owner.clone());
		Balances::set_balance(owner, 1_000_000 * TRIB);
		let datanet = pallet_registry::NextDatanetId::<Runtime>::get();
		Registry::create_datanet(signed(), Default::default(), pallet_registry::DatanetPolicy::Open)
			.expect("creating a datanet");
		let ids = (0..contributions)
			.map(|n| {
				let id = pallet_registry::NextContributionId::<Runtime>::get();
				let mut hash = [0xd0u8; 32];
				hash[..8].copy_from_slice(&datanet.to_le_bytes());
				hash[8..12].copy_from_slice(&n.to_le_bytes());
				Registry::contribute(signed(), datanet, H256(hash), 1, Default::default())
					.expect("contributing");
				id
			})
			.collect();
		let model = pallet_registry::NextModelId::<Runtime>::get();
		Registry::register_model(
			signed(),
			H256::repeat_byte(1),
			H256::repeat_byte(2),
			Default::default(),
			Default::default(),
			polkadot_sdk::frame_support::BoundedVec::truncate_from(alloc::vec![(
				datanet,
				polkadot_sdk::sp_runtime::Perbill::from_percent(30)
			)]),
			Default::default(),
			TRIB,
		)
		.expect("registering a model");
		(model, ids)
	}

	fn worker(who: &AccountId, capacity: u32) {
		use polkadot_sdk::frame_support::traits::fungible::Mutate;
		Balances::set_balance(who, 1_000_000 * TRIB);
		WorkerStaking::register_worker(
			RuntimeOrigin::signed(who.clone()),
			crate::configs::MinWorkerStake::get(),
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
