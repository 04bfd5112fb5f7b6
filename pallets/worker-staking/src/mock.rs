//! A runtime with System, Balances and WorkerStaking.

use crate as pallet_worker_staking;
use polkadot_sdk::{
	frame_support::{derive_impl, parameter_types},
	frame_system, pallet_balances,
	sp_io::TestExternalities,
	sp_runtime::{BuildStorage, Perbill},
};

type Block = frame_system::mocking::MockBlock<Test>;
pub type AccountId = u64;
pub type Balance = u64;

#[polkadot_sdk::frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeTask,
		RuntimeHoldReason,
		RuntimeFreezeReason
	)]
	pub struct Test;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(2)]
	pub type WorkerStaking = pallet_worker_staking;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

pub const TREASURY: AccountId = 100;

parameter_types! {
	pub const MinWorkerStake: Balance = 1_000;
	pub const UnbondingPeriod: u64 = 10;
	pub const SlashFraction: Perbill = Perbill::from_percent(10);
	pub const Treasury: AccountId = TREASURY;
	pub const MaxWorkers: u32 = 4;
	pub const MaxCapacity: u32 = 8;
	pub const MaxUnbondingChunks: u32 = 2;
	pub const MaxEndpointLen: u32 = 32;
	pub const MaxEngineLen: u32 = 32;
	pub const MaxServedModels: u32 = 4;
}

impl pallet_worker_staking::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinWorkerStake = MinWorkerStake;
	type UnbondingPeriod = UnbondingPeriod;
	type SlashFraction = SlashFraction;
	type Treasury = Treasury;
	type MaxWorkers = MaxWorkers;
	type MaxCapacity = MaxCapacity;
	type MaxUnbondingChunks = MaxUnbondingChunks;
	type MaxEndpointLen = MaxEndpointLen;
	type MaxEngineLen = MaxEngineLen;
	type MaxServedModels = MaxServedModels;
	type WeightInfo = ();
}

/// Accounts 1 to 6 hold 10 000 each; the treasury holds 1.
pub fn new_test_ext() -> TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: (1..=6).map(|who| (who, 10_000)).chain([(TREASURY, 1)]).collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
