//! A runtime with System, Balances, Attribution and the Registry.

use crate as pallet_registry;
use polkadot_sdk::{
	frame_support::{derive_impl, parameter_types},
	frame_system, pallet_balances,
	sp_io::TestExternalities,
	sp_runtime::BuildStorage,
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
	pub type Attribution = pallet_attribution;
	#[runtime::pallet_index(3)]
	pub type Registry = pallet_registry;
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

parameter_types! {
	pub const MaxParents: u32 = 16;
	pub const MaxTrainingDatanets: u32 = 16;
	pub const MaxUpstream: u32 = 64;
	pub const MaxAgentModels: u32 = 8;
	pub const ContributionDepositBase: Balance = 100;
	pub const RecordDepositBase: Balance = 40;
	pub const DepositPerByte: Balance = 2;
	pub const MaxMetadataLen: u32 = 64;
	pub const MaxUriLen: u32 = 64;
}

impl pallet_attribution::Config for Test {
	type MaxParents = MaxParents;
	type MaxTrainingDatanets = MaxTrainingDatanets;
	type MaxUpstream = MaxUpstream;
	type MaxAgentModels = MaxAgentModels;
}

impl pallet_registry::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Attribution = Attribution;
	type ContributionHooks = ();
	type ContributionDepositBase = ContributionDepositBase;
	type RecordDepositBase = RecordDepositBase;
	type DepositPerByte = DepositPerByte;
	type MaxMetadataLen = MaxMetadataLen;
	type MaxUriLen = MaxUriLen;
	type MaxTrainingDatanets = MaxTrainingDatanets;
	type MaxParents = MaxParents;
	type MaxAgentModels = MaxAgentModels;
	type WeightInfo = ();
}

pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
pub const CHARLIE: AccountId = 3;
/// An account with too little to cover a deposit.
pub const POOR: AccountId = 9;

/// Alice, Bob and Charlie hold 10 000 each; POOR holds 50.
pub fn new_test_ext() -> TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: vec![(ALICE, 10_000), (BOB, 10_000), (CHARLIE, 10_000), (POOR, 50)],
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
