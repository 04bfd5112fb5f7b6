//! A runtime with the registry, the attribution graph, worker staking and
//! channels; settlement records what it is handed, and audit jobs are
//! recorded for the tests to end as they choose.

use crate as pallet_channels;
use codec::Encode;
use core::cell::RefCell;
use polkadot_sdk::frame_support::PalletId;
use polkadot_sdk::{
	frame_support::{
		derive_impl, parameter_types, traits::fungible::Inspect, weights::Weight, BoundedVec,
	},
	frame_system::{self, RawOrigin},
	pallet_balances,
	sp_core::H256,
	sp_io::TestExternalities,
	sp_runtime::{testing::TestSignature, BuildStorage, DispatchError, DispatchResult, Perbill},
};
use tributary_primitives::{
	AuditJobs, ChannelId, JobId, ModelId, ReceiptSettlement, SettledReceipt,
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
	pub type WorkerStaking = pallet_worker_staking;
	#[runtime::pallet_index(5)]
	pub type Channels = pallet_channels;
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
	pub const Bound: u32 = 16;
	pub const MaxUpstream: u32 = 64;
	pub const Deposit: Balance = 1;
	pub const MaxMetadataLen: u32 = 64;
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
	type ContributionHooks = ();
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

pub const TREASURY: AccountId = 100;
pub const SETTLEMENT: AccountId = 200;
pub const REQUESTER: AccountId = 50;
pub const MODEL_OWNER: AccountId = 60;
pub const WORKER: AccountId = 1;
/// A second worker, of another determinism class.
pub const OTHER_WORKER: AccountId = 2;
/// Registered nowhere.
pub const STRANGER: AccountId = 70;

parameter_types! {
	pub const MinWorkerStake: Balance = 1_000;
	pub const UnbondingPeriod: u64 = 10;
	pub const SlashFraction: Perbill = Perbill::from_percent(10);
	pub const Treasury: AccountId = TREASURY;
	pub const MaxWorkers: u32 = 8;
	pub const MaxCapacity: u32 = 4;
	pub const MaxUnbondingChunks: u32 = 2;
	pub const MaxEndpointLen: u32 = 32;
	pub const MaxServedModels: u32 = 16;
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
	type MaxEngineLen = MaxEndpointLen;
	type MaxServedModels = MaxServedModels;
	type WeightInfo = ();
}

/// A receipt settlement as recorded: channel, sequence, model, price,
/// worker, and what the settlement account held when it was handed over.
pub type Settled = (ChannelId, u64, ModelId, Balance, AccountId, Balance);

thread_local! {
	/// Every receipt settlement was handed.
	pub static SETTLED: RefCell<Vec<Settled>> = const { RefCell::new(Vec::new()) };
	/// When set, settlement fails with this error.
	pub static SETTLEMENT_FAILS: RefCell<Option<DispatchError>> = const { RefCell::new(None) };
}

/// Records each receipt; its price stays in [`SETTLEMENT`].
pub struct RecordSettlement;
impl ReceiptSettlement<AccountId, Balance> for RecordSettlement {
	fn account() -> AccountId {
		SETTLEMENT
	}
	fn settle(
		channel: ChannelId,
		receipts: &[SettledReceipt<'_, AccountId, Balance>],
	) -> DispatchResult {
		if let Some(error) = SETTLEMENT_FAILS.with(|fails| *fails.borrow()) {
			return Err(error);
		}
		let held = Balances::balance(&SETTLEMENT);
		SETTLED.with(|settled| {
			settled.borrow_mut().extend(receipts.iter().map(|receipt| {
				(channel, receipt.sequence, receipt.model, receipt.price, *receipt.worker, held)
			}))
		});
		Ok(())
	}
	fn division_weight(entries: u32, models: u32, contributions: u32) -> Weight {
		// As the rewards pallet's shape: something per entry, per model past
		// the first and per contribution, so tests see it followed.
		Weight::from_parts(
			u64::from(entries) * 1_000
				+ u64::from(models.saturating_sub(1)) * 100_000
				+ u64::from(contributions) * 10_000,
			0,
		)
	}
}

/// An audit job as submitted: payer, model, input, class, audited worker,
/// fee held.
pub type AuditJob = (AccountId, ModelId, Vec<u8>, H256, AccountId, Balance);

/// What an audit job costs in the mock.
pub const AUDIT_PRICE: Balance = 30;

thread_local! {
	/// Every audit job submitted, by job id (its place).
	pub static AUDIT_JOBS: RefCell<Vec<AuditJob>> = const { RefCell::new(Vec::new()) };
	/// Whether the job queue is full.
	pub static QUEUE_FULL: RefCell<bool> = const { RefCell::new(false) };
	/// The randomness of the block; `None` for a block without VRF output.
	pub static SEED: RefCell<Option<H256>> = const { RefCell::new(Some(H256::zero())) };
}

/// Records audit jobs and holds their price from the payer, as the compute
/// pallet does.
pub struct RecordAudits;
impl AuditJobs<AccountId, Balance> for RecordAudits {
	fn submit_audit(
		payer: &AccountId,
		model: ModelId,
		input: Vec<u8>,
		class: H256,
		audited: &AccountId,
		max_fee: Balance,
	) -> Result<JobId, DispatchError> {
		if max_fee < AUDIT_PRICE {
			return Err(DispatchError::Other("fee below price"));
		}
		use polkadot_sdk::frame_support::traits::fungible::Mutate;
		Balances::burn_from(
			payer,
			AUDIT_PRICE,
			polkadot_sdk::frame_support::traits::tokens::Preservation::Preserve,
			polkadot_sdk::frame_support::traits::tokens::Precision::Exact,
			polkadot_sdk::frame_support::traits::tokens::Fortitude::Polite,
		)?;
		Ok(AUDIT_JOBS.with(|jobs| {
			let mut jobs = jobs.borrow_mut();
			jobs.push((*payer, model, input, class, *audited, AUDIT_PRICE));
			jobs.len() as JobId - 1
		}))
	}
	fn queue_full() -> bool {
		QUEUE_FULL.with(|full| *full.borrow())
	}
	fn audit_price(_: ModelId) -> Result<Balance, DispatchError> {
		Ok(AUDIT_PRICE)
	}
}

/// The seed in [`SEED`], hashed with the subject and the block.
pub struct TestRandomness;
impl polkadot_sdk::frame_support::traits::Randomness<Option<H256>, u64> for TestRandomness {
	fn random(subject: &[u8]) -> (Option<H256>, u64) {
		let now = System::block_number();
		let seed = SEED.with(|seed| *seed.borrow()).map(|seed| {
			H256(polkadot_sdk::sp_crypto_hashing::blake2_256(&(subject, seed, now).encode()))
		});
		(seed, now)
	}
}

parameter_types! {
	pub const MinDeposit: Balance = 100;
	pub const MaxLifetime: u64 = 1_000;
	pub const MaxReceipts: u32 = 8;
	pub const MaxSettledModels: u32 = 2;
	pub const MaxSettledContributions: u32 = 4;
	pub const ChannelsPalletId: PalletId = PalletId(*b"py/chanl");
	pub const AuditShare: Perbill = Perbill::from_percent(10);
	/// Settable, so that a test can sample every receipt or none.
	pub static AuditRate: Perbill = Perbill::from_percent(10);
	pub const ChallengeWindow: u64 = 5;
	pub const ChallengeBond: Balance = 50;
	pub const MaxSettlementsPerBlock: u32 = 2;
	pub const MaxInputLen: u32 = 16;
}

impl pallet_channels::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Signature = TestSignature;
	type Workers = WorkerStaking;
	type Audits = RecordAudits;
	type Randomness = TestRandomness;
	type PalletId = ChannelsPalletId;
	type AuditShare = AuditShare;
	type AuditRate = AuditRate;
	type ChallengeWindow = ChallengeWindow;
	type ChallengeBond = ChallengeBond;
	type MaxSettlementsPerBlock = MaxSettlementsPerBlock;
	type MaxInputLen = MaxInputLen;
	type Models = Registry;
	type Settlement = RecordSettlement;
	type MinDeposit = MinDeposit;
	type MaxLifetime = MaxLifetime;
	type MaxReceipts = MaxReceipts;
	type MaxSettledModels = MaxSettledModels;
	type MaxSettledContributions = MaxSettledContributions;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = Helper;
	type WeightInfo = ();
}

/// `who`'s signature over `payload`, as the test runtime checks it.
pub fn sign(who: AccountId, payload: &[u8]) -> TestSignature {
	TestSignature(who, payload.to_vec())
}

/// The determinism class of [`WORKER`]'s engine.
pub fn worker_class() -> H256 {
	tributary_primitives::determinism_class(b"cpu")
}

/// Sets up models and workers through the real registry and staking pallets.
pub struct Helper;
impl Helper {
	/// A worker registered on `engine`.
	pub fn worker(who: AccountId, engine: &[u8]) {
		pallet_worker_staking::Pallet::<Test>::register_worker(
			RawOrigin::Signed(who).into(),
			2_000,
			BoundedVec::new(),
			2,
			BoundedVec::truncate_from(engine.to_vec()),
		)
		.expect("registering a worker");
	}

	/// A model of `MODEL_OWNER` priced at 10, trained on a new datanet.
	pub fn model() -> ModelId {
		let datanet = pallet_registry::NextDatanetId::<Test>::get();
		Registry::create_datanet(
			RawOrigin::Signed(MODEL_OWNER).into(),
			BoundedVec::new(),
			pallet_registry::DatanetPolicy::Open,
		)
		.expect("creating a datanet");
		let model = pallet_registry::NextModelId::<Test>::get();
		Registry::register_model(
			RawOrigin::Signed(MODEL_OWNER).into(),
			H256::repeat_byte(1),
			H256::repeat_byte(2),
			BoundedVec::new(),
			BoundedVec::new(),
			BoundedVec::truncate_from(vec![(datanet, Perbill::from_percent(30))]),
			BoundedVec::new(),
			10,
		)
		.expect("registering a model");
		model
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<AccountId, TestSignature> for Helper {
	fn worker(who: &AccountId) {
		use polkadot_sdk::frame_support::traits::fungible::Mutate;
		Balances::set_balance(who, 1_000_000);
		Helper::worker(*who, b"cpu");
	}
	fn model(contributions: u32) -> (ModelId, Vec<tributary_primitives::ContributionId>) {
		pallet_registry::benchmark_setup::model_with_upstream::<Test>(
			&MODEL_OWNER,
			1,
			contributions,
			1,
			|_| {},
		)
	}
	fn requester() -> AccountId {
		REQUESTER
	}
	fn sign(requester: &AccountId, payload: &[u8]) -> TestSignature {
		sign(*requester, payload)
	}
}

/// Accounts hold 100 000 each; the treasury and the settlement account hold
/// 1, the audit pot 1 000. [`WORKER`] is registered on the `cpu` engine and [`OTHER_WORKER`] on
/// `cuda`.
pub fn new_test_ext() -> TestExternalities {
	SETTLED.with(|settled| settled.borrow_mut().clear());
	SETTLEMENT_FAILS.with(|fails| *fails.borrow_mut() = None);
	AUDIT_JOBS.with(|jobs| jobs.borrow_mut().clear());
	QUEUE_FULL.with(|full| *full.borrow_mut() = false);
	SEED.with(|seed| *seed.borrow_mut() = Some(H256::zero()));
	AuditRate::set(Perbill::from_percent(10));
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: [WORKER, OTHER_WORKER, REQUESTER, MODEL_OWNER, STRANGER]
			.into_iter()
			.map(|who| (who, 100_000))
			.chain([(TREASURY, 1), (SETTLEMENT, 1), (audit_pot(), 1_000)])
			.collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = TestExternalities::new(storage);
	ext.execute_with(|| {
		System::set_block_number(1);
		Helper::worker(WORKER, b"cpu");
		Helper::worker(OTHER_WORKER, b"cuda");
	});
	ext
}

/// The audit pot's account.
pub fn audit_pot() -> AccountId {
	pallet_channels::Pallet::<Test>::audit_pot()
}
