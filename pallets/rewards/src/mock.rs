//! A runtime with the registry, the attribution graph and rewards, which the
//! registry tells about approvals and withdrawals.

use crate as pallet_rewards;
use polkadot_sdk::{
	frame_support::{
		derive_impl, parameter_types,
		traits::{fungible::Mutate, tokens::Preservation, ConstU64},
		BoundedVec, PalletId,
	},
	frame_system::{self, RawOrigin},
	pallet_balances,
	sp_core::H256,
	sp_io::TestExternalities,
	sp_runtime::{BuildStorage, DispatchResult, Perbill},
};
use tributary_primitives::{
	CompletedJob, ContributionId, DatanetId, JobId, JobSettlement, ModelId,
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
	#[runtime::pallet_index(4)]
	pub type Rewards = pallet_rewards;
}

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountData = pallet_balances::AccountData<Balance>;
}

/// Accounts need 10 to exist, so that dust can be below it.
pub const ED: Balance = 10;

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
	type ExistentialDeposit = ConstU64<ED>;
}

parameter_types! {
	pub const Bound: u32 = 16;
	pub const MaxUpstream: u32 = 64;
	pub const Deposit: Balance = 1;
	pub const MaxMetadataLen: u32 = 16;
	pub const RewardsPalletId: PalletId = PalletId(*b"py/rewrd");
	pub const Treasury: AccountId = TREASURY;
	pub const MaxClaimBatch: u32 = 4;
	pub const MaxSnapshots: u32 = 1_000;
}

impl pallet_attribution::Config for Test {
	type MaxParents = Bound;
	type MaxTrainingDatanets = Bound;
	type MaxUpstream = MaxUpstream;
	type MaxAgentModels = Bound;
}

impl pallet_registry::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Attribution = Attribution;
	type ContributionHooks = Rewards;
	type ContributionDepositBase = Deposit;
	type RecordDepositBase = Deposit;
	type DepositPerByte = Deposit;
	type MaxMetadataLen = MaxMetadataLen;
	type MaxUriLen = MaxMetadataLen;
	type MaxTrainingDatanets = Bound;
	type MaxParents = Bound;
	type MaxAgentModels = Bound;
	type WeightInfo = ();
}

impl pallet_rewards::Config for Test {
	type Currency = Balances;
	type Models = Registry;
	type Contributions = Registry;
	type Attribution = Attribution;
	type PalletId = RewardsPalletId;
	type Treasury = Treasury;
	type MaxClaimBatch = MaxClaimBatch;
	type MaxSnapshots = MaxSnapshots;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = Helper;
	type WeightInfo = ();
}

/// Builds benchmark graphs through the real registry.
#[cfg(feature = "runtime-benchmarks")]
pub struct Helper;

#[cfg(feature = "runtime-benchmarks")]
impl pallet_rewards::BenchmarkHelper<AccountId> for Helper {
	fn model(
		owner: &AccountId,
		upstream: u32,
		contributions: u32,
		contributors: u32,
		prepare: fn(DatanetId),
	) -> (ModelId, Vec<ContributionId>) {
		pallet_registry::benchmark_setup::model_with_upstream::<Test>(
			owner,
			upstream,
			contributions,
			contributors,
			prepare,
		)
	}
}

pub const TREASURY: AccountId = 100;
pub const REQUESTER: AccountId = 50;
/// Accounts 1 to 20 are funded; 1 to 9 act as workers, 10 to 20 as owners
/// and contributors.
pub const FUNDED: core::ops::RangeInclusive<AccountId> = 1..=20;

/// A datanet owned by `owner`, open.
pub fn datanet(owner: AccountId) -> DatanetId {
	let id = pallet_registry::NextDatanetId::<Test>::get();
	Registry::create_datanet(
		RawOrigin::Signed(owner).into(),
		BoundedVec::new(),
		pallet_registry::DatanetPolicy::Open,
	)
	.expect("creating a datanet");
	id
}

/// `who` contributes to `datanet` (open, so approved at once).
pub fn contribute(who: AccountId, datanet: DatanetId) -> ContributionId {
	let id = pallet_registry::NextContributionId::<Test>::get();
	let mut hash = [0u8; 32];
	hash[..8].copy_from_slice(&id.to_le_bytes());
	Registry::contribute(RawOrigin::Signed(who).into(), datanet, H256(hash), 1, BoundedVec::new())
		.expect("contributing");
	id
}

/// A model of `owner` with the given training datanets and parents.
pub fn model(
	owner: AccountId,
	training: &[(DatanetId, Perbill)],
	parents: &[(ModelId, Perbill)],
) -> ModelId {
	let id = pallet_registry::NextModelId::<Test>::get();
	Registry::register_model(
		RawOrigin::Signed(owner).into(),
		H256::zero(),
		H256::zero(),
		BoundedVec::new(),
		BoundedVec::new(),
		BoundedVec::truncate_from(training.to_vec()),
		BoundedVec::truncate_from(parents.to_vec()),
		1,
	)
	.expect("registering a model");
	id
}

/// Settles job `job_id` as the compute pallet would: the requester's fee is
/// paid into the pallet's account, then settlement divides it.
pub fn settle(
	job_id: JobId,
	model_id: ModelId,
	fee: Balance,
	workers: &[AccountId],
	attribution: &tributary_primitives::Attribution,
) -> DispatchResult {
	Balances::transfer(&REQUESTER, &Rewards::account_id(), fee, Preservation::Preserve)?;
	<Rewards as JobSettlement<_, _>>::settle(CompletedJob {
		job_id,
		model_id,
		fee,
		workers,
		attribution,
	})
	.map(drop)
}

/// Funded accounts hold 1 000 000 each and the requester far more; the
/// treasury and the pallet's account hold the existential deposit.
pub fn new_test_ext() -> TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: FUNDED
			.map(|who| (who, 1_000_000))
			.chain([(REQUESTER, 1 << 50), (TREASURY, ED), (Rewards::account_id(), ED)])
			.collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Settles receipts `(sequence, model, price, attribution)` of channel
/// `channel`, all by worker 2, as the channels pallet would: their prices
/// paid into the pallet's account first.
pub fn settle_receipts(
	channel: tributary_primitives::ChannelId,
	receipts: &[(u64, ModelId, Balance, &tributary_primitives::Attribution)],
) -> DispatchResult {
	let total = receipts.iter().map(|(_, _, price, _)| price).sum();
	if total > 0 {
		Balances::transfer(&REQUESTER, &Rewards::account_id(), total, Preservation::Preserve)?;
	}
	let receipts: Vec<_> = receipts
		.iter()
		.map(|&(sequence, model, price, attribution)| tributary_primitives::SettledReceipt {
			sequence,
			model,
			price,
			worker: &2,
			attribution,
		})
		.collect();
	<Rewards as tributary_primitives::ReceiptSettlement<_, _>>::settle(channel, &receipts)
}
