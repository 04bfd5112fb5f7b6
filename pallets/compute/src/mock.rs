//! A runtime with the registry, the attribution graph, worker staking and
//! compute; settlement records what it is handed.

use crate as pallet_compute;
use codec::Encode;
use core::cell::RefCell;
use polkadot_sdk::{
	frame_support::{derive_impl, parameter_types, BoundedVec},
	frame_system::{self, RawOrigin},
	pallet_balances,
	sp_core::H256,
	sp_io::TestExternalities,
	sp_runtime::{BuildStorage, DispatchError, FixedU128, Perbill},
	sp_weights::Weight,
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
	pub type WorkerStaking = pallet_worker_staking;
	#[runtime::pallet_index(5)]
	pub type Compute = pallet_compute;
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
/// Workers are accounts 1 to 8.
pub const WORKERS: core::ops::RangeInclusive<AccountId> = 1..=8;

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

/// A settlement as recorded: job, model, fee, majority, attribution.
pub type Settled = (JobId, ModelId, Balance, Vec<AccountId>, tributary_primitives::Attribution);

thread_local! {
	/// Every job settlement was handed: id, model, fee, majority, attribution.
	pub static SETTLED: RefCell<Vec<Settled>> =
		const { RefCell::new(Vec::new()) };
	/// When set, settlement fails with this error (as the rewards pallet's
	/// does when the treasury cannot take its part).
	/// Every job settlement was told was pruned.
	pub static PRUNED: RefCell<Vec<JobId>> = const { RefCell::new(Vec::new()) };
	pub static SETTLEMENT_FAILS: RefCell<Option<DispatchError>> = const { RefCell::new(None) };
	/// Every job's end as `Outcomes` was told it.
	pub static OUTCOMES: RefCell<Vec<(JobId, Option<(H256, tributary_primitives::Attribution)>)>> =
		const { RefCell::new(Vec::new()) };
}

/// Records how each job ended.
pub struct RecordOutcomes;
impl tributary_primitives::JobOutcomes for RecordOutcomes {
	fn finished(
		job_id: JobId,
		outcome: Option<&(H256, tributary_primitives::Attribution)>,
	) -> Weight {
		OUTCOMES.with(|outcomes| outcomes.borrow_mut().push((job_id, outcome.cloned())));
		Self::max_weight()
	}
	fn max_weight() -> Weight {
		Weight::from_parts(5_000, 0)
	}
}

/// Records each settlement; the fee stays in [`SETTLEMENT`].
pub struct RecordSettlement;
impl JobSettlement<AccountId, Balance> for RecordSettlement {
	fn account() -> AccountId {
		SETTLEMENT
	}
	fn settle(job: CompletedJob<'_, AccountId, Balance>) -> Result<Weight, DispatchError> {
		if let Some(error) = SETTLEMENT_FAILS.with(|fails| *fails.borrow()) {
			return Err(error);
		}
		SETTLED.with(|settled| {
			settled.borrow_mut().push((
				job.job_id,
				job.model_id,
				job.fee,
				job.workers.to_vec(),
				job.attribution.clone(),
			))
		});
		Ok(Weight::from_parts(1_000 * job.workers.len() as u64, 0))
	}
	fn settle_weight(workers: u32) -> Weight {
		Weight::from_parts(10_000 * u64::from(workers), 0)
	}
	fn pruned(job_id: JobId) {
		PRUNED.with(|pruned| pruned.borrow_mut().push(job_id));
	}
}

parameter_types! {
	pub const ComputeFee: Balance = 10;
	pub MaxCongestion: FixedU128 = FixedU128::from_u32(4);
	pub const MaxInputLen: u32 = 64;
	pub const MaxOutputLen: u32 = 64;
	pub const MaxQueuedJobs: u32 = 8;
	pub const TargetQueuedJobs: u32 = 2;
	pub const DefaultRedundancy: u8 = 3;
	pub const MaxRedundancy: u8 = 5;
	pub const MaxJobWorkers: u32 = 8;
	pub const StaffingWindow: u64 = 20;
	pub const CommitWindow: u64 = 5;
	pub const RevealWindow: u64 = 5;
	pub const MaxAssignmentsPerBlock: u32 = 4;
	pub const MaxDeadlinesPerBlock: u32 = 2;
	/// Settable, so that a test can keep every record it checks at the end.
	pub static JobRetention: u64 = 50;
	pub const MaxPrunesPerBlock: u32 = 3;
	pub const JobDepositBase: Balance = 2;
	pub const JobDepositPerByte: Balance = 1;
}

impl pallet_compute::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Models = Registry;
	type Contributions = Registry;
	type Attribution = Attribution;
	type Staking = WorkerStaking;
	type Settlement = RecordSettlement;
	type Outcomes = RecordOutcomes;
	type Randomness = BlockRandomness;
	type ComputeFee = ComputeFee;
	type MaxCongestion = MaxCongestion;
	type MaxInputLen = MaxInputLen;
	type MaxOutputLen = MaxOutputLen;
	type MaxQueuedJobs = MaxQueuedJobs;
	type TargetQueuedJobs = TargetQueuedJobs;
	type DefaultRedundancy = DefaultRedundancy;
	type MaxRedundancy = MaxRedundancy;
	type MaxJobWorkers = MaxJobWorkers;
	type StaffingWindow = StaffingWindow;
	type CommitWindow = CommitWindow;
	type RevealWindow = RevealWindow;
	type MaxAssignmentsPerBlock = MaxAssignmentsPerBlock;
	type MaxDeadlinesPerBlock = MaxDeadlinesPerBlock;
	type JobRetention = JobRetention;
	type MaxPrunesPerBlock = MaxPrunesPerBlock;
	type JobDepositBase = JobDepositBase;
	type JobDepositPerByte = JobDepositPerByte;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = Helper;
	type WeightInfo = ();
}

/// Randomness that differs from block to block, as a VRF output does.
pub struct BlockRandomness;
impl polkadot_sdk::frame_support::traits::Randomness<Option<H256>, u64> for BlockRandomness {
	fn random(subject: &[u8]) -> (Option<H256>, u64) {
		let now = System::block_number();
		let hash = polkadot_sdk::sp_crypto_hashing::blake2_256(&(subject, now).encode());
		(Some(H256(hash)), now)
	}
}

/// Sets up models and workers through the real registry and staking pallets.
pub struct Helper;
impl Helper {
	/// A datanet of `MODEL_OWNER` with `contributions` approved contributions.
	pub fn datanet(contributions: u32) -> (DatanetId, Vec<ContributionId>) {
		let datanet = pallet_registry::NextDatanetId::<Test>::get();
		Registry::create_datanet(
			RawOrigin::Signed(MODEL_OWNER).into(),
			BoundedVec::new(),
			pallet_registry::DatanetPolicy::Open,
		)
		.expect("creating a datanet");
		let ids = (0..contributions)
			.map(|n| {
				let id = pallet_registry::NextContributionId::<Test>::get();
				let mut hash = [datanet as u8; 32];
				hash[..4].copy_from_slice(&n.to_le_bytes());
				Registry::contribute(
					RawOrigin::Signed(MODEL_OWNER).into(),
					datanet,
					H256(hash),
					100,
					BoundedVec::new(),
				)
				.expect("contributing");
				id
			})
			.collect();
		(datanet, ids)
	}

	/// A model of `MODEL_OWNER` priced at 100, trained on `datanet`.
	pub fn model_on(datanet: DatanetId) -> ModelId {
		let model = pallet_registry::NextModelId::<Test>::get();
		Registry::register_model(
			RawOrigin::Signed(MODEL_OWNER).into(),
			H256::repeat_byte(1),
			H256::repeat_byte(2),
			BoundedVec::new(),
			BoundedVec::new(),
			BoundedVec::truncate_from(vec![(datanet, Perbill::from_percent(30))]),
			BoundedVec::new(),
			100,
		)
		.expect("registering a model");
		model
	}
}

#[cfg(feature = "runtime-benchmarks")]
impl crate::BenchmarkHelper<AccountId> for Helper {
	fn model(owner: &AccountId, contributions: u32) -> (ModelId, Vec<ContributionId>) {
		pallet_registry::benchmark_setup::model_with_upstream::<Test>(
			owner,
			1,
			contributions,
			1,
			|_| {},
		)
	}
	fn worker(who: &AccountId, capacity: u32, model: ModelId, engine: &[u8]) {
		use polkadot_sdk::frame_support::traits::fungible::Mutate;
		Balances::set_balance(who, 1_000_000);
		WorkerStaking::register_worker(
			RawOrigin::Signed(*who).into(),
			MinWorkerStake::get() * 10,
			BoundedVec::new(),
			capacity,
			BoundedVec::truncate_from(engine.to_vec()),
		)
		.expect("registering a worker");
		WorkerStaking::serve_models(
			RawOrigin::Signed(*who).into(),
			WorkerStaking::most_models(model),
		)
		.expect("serving models");
	}
	/// [`BlockRandomness`] has an output in every block.
	fn randomness() {}
}

/// Registers workers `first` to `last` with 2 000 staked and capacity 2, all
/// of one determinism class, serving models 0 to 15.
pub fn workers(first: AccountId, last: AccountId) {
	workers_of_class(first, last, b"");
}

/// Registers workers `first` to `last` with 2 000 staked and capacity 2, on
/// the engine `engine`, serving models 0 to 15.
pub fn workers_of_class(first: AccountId, last: AccountId, engine: &[u8]) {
	for who in first..=last {
		WorkerStaking::register_worker(
			RawOrigin::Signed(who).into(),
			2_000,
			BoundedVec::new(),
			2,
			BoundedVec::truncate_from(engine.to_vec()),
		)
		.expect("registering a worker");
		WorkerStaking::serve_models(
			RawOrigin::Signed(who).into(),
			BoundedVec::truncate_from((0..MaxServedModels::get().into()).collect()),
		)
		.expect("serving models");
	}
}

/// Workers, the requester and the model owner hold 100 000 each; the
/// treasury and the settlement account hold 1.
pub fn new_test_ext() -> TestExternalities {
	SETTLED.with(|settled| settled.borrow_mut().clear());
	OUTCOMES.with(|outcomes| outcomes.borrow_mut().clear());
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: WORKERS
			.chain([REQUESTER, MODEL_OWNER])
			.map(|who| (who, 100_000))
			.chain([(TREASURY, 1), (SETTLEMENT, 1)])
			.collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = TestExternalities::new(storage);
	ext.execute_with(|| System::set_block_number(1));
	ext
}
