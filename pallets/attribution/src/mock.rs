//! A runtime with just System and Attribution, for the pallet's tests.

use crate as pallet_attribution;
use polkadot_sdk::{
	frame_support::{derive_impl, parameter_types},
	frame_system,
	sp_io::TestExternalities,
	sp_runtime::BuildStorage,
};

type Block = frame_system::mocking::MockBlock<Test>;

#[polkadot_sdk::frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(RuntimeCall, RuntimeEvent, RuntimeError, RuntimeOrigin, RuntimeTask)]
	pub struct Test;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Attribution = pallet_attribution;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
}

parameter_types! {
	pub const MaxParents: u32 = 16;
	pub const MaxTrainingDatanets: u32 = 16;
	pub const MaxUpstream: u32 = 64;
	pub const MaxAgentModels: u32 = 8;
}

impl pallet_attribution::Config for Test {
	type MaxParents = MaxParents;
	type MaxTrainingDatanets = MaxTrainingDatanets;
	type MaxUpstream = MaxUpstream;
	type MaxAgentModels = MaxAgentModels;
}

/// Fresh state at block 1 (so events are recorded).
pub fn new_test_ext() -> TestExternalities {
	let storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	let mut ext = TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
