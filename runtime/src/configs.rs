//! How the runtime configures each pallet.

use crate::{
	AccountId, Attribution, Babe, Balance, Balances, Block, BlockNumber, Channels, Compute, Hash,
	Nonce, PalletInfo, Registry, Rewards, Runtime, RuntimeCall, RuntimeEvent, RuntimeFreezeReason,
	RuntimeHoldReason, RuntimeOrigin, RuntimeTask, System, WorkerStaking, EXISTENTIAL_DEPOSIT,
	MILLI_TRIB, SLOT_DURATION, SS58_PREFIX, TRIB, VERSION,
};
use polkadot_sdk::{
	frame_support::{
		derive_impl,
		dispatch::DispatchClass,
		parameter_types,
		traits::{ConstU128, ConstU32, ConstU64, ConstU8, VariantCountOf},
		weights::{
			constants::{ParityDbWeight, WEIGHT_REF_TIME_PER_SECOND},
			IdentityFee, Weight,
		},
		PalletId,
	},
	frame_system::{
		self,
		limits::{BlockLength, BlockWeights},
	},
	pallet_babe, pallet_balances, pallet_grandpa, pallet_sudo, pallet_timestamp,
	pallet_transaction_payment::{self, ConstFeeMultiplier, FungibleAdapter, Multiplier},
	sp_core::Void,
	sp_runtime::{
		traits::{AccountIdConversion, One},
		FixedU128, Perbill,
	},
	sp_version::RuntimeVersion,
};

/// Share of a block that ordinary (non-operational) extrinsics may fill.
const NORMAL_DISPATCH_RATIO: Perbill = Perbill::from_percent(75);

parameter_types! {
	pub const BlockHashCount: BlockNumber = 2400;
	pub const Version: RuntimeVersion = VERSION;
	/// Two seconds of compute in each six-second block.
	pub RuntimeBlockWeights: BlockWeights = BlockWeights::with_sensible_defaults(
		Weight::from_parts(2u64 * WEIGHT_REF_TIME_PER_SECOND, u64::MAX),
		NORMAL_DISPATCH_RATIO,
	);
	/// 5 MiB blocks, of which ordinary extrinsics may fill `NORMAL_DISPATCH_RATIO`.
	pub RuntimeBlockLength: BlockLength = BlockLength::builder()
		.max_length(5 * 1024 * 1024)
		.modify_max_length_for_class(DispatchClass::Normal, |max| *max = NORMAL_DISPATCH_RATIO * *max)
		.build();
	pub const SS58Prefix: u16 = SS58_PREFIX;
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type BlockWeights = RuntimeBlockWeights;
	type BlockLength = RuntimeBlockLength;
	type AccountId = AccountId;
	type Nonce = Nonce;
	type Hash = Hash;
	type BlockHashCount = BlockHashCount;
	// The node stores state in ParityDB, so storage costs are ParityDB's.
	type DbWeight = ParityDbWeight;
	type Version = Version;
	type AccountData = pallet_balances::AccountData<Balance>;
	type SS58Prefix = SS58Prefix;
	type MaxConsumers = ConstU32<16>;
}

impl pallet_babe::Config for Runtime {
	type EpochDuration = ConstU64<{ crate::EPOCH_DURATION_IN_SLOTS }>;
	type ExpectedBlockTime = ConstU64<{ crate::MILLISECS_PER_BLOCK }>;
	// No session pallet: the genesis authorities author in every epoch.
	type EpochChangeTrigger = pallet_babe::SameAuthoritiesForever;
	type DisabledValidators = ();
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<32>;
	type MaxNominators = ConstU32<0>;
	// No session pallet: equivocations are not reported on chain yet.
	type KeyOwnerProof = Void;
	type EquivocationReportSystem = ();
}

impl pallet_grandpa::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type WeightInfo = ();
	type MaxAuthorities = ConstU32<32>;
	type MaxNominators = ConstU32<0>;
	type MaxSetIdSessionEntries = ConstU64<0>;
	// No session pallet: equivocations are not reported on chain yet.
	type KeyOwnerProof = Void;
	type EquivocationReportSystem = ();
}

impl pallet_timestamp::Config for Runtime {
	type Moment = u64;
	type OnTimestampSet = Babe;
	type MinimumPeriod = ConstU64<{ SLOT_DURATION / 2 }>;
	type WeightInfo = ();
}

impl pallet_balances::Config for Runtime {
	type MaxLocks = ConstU32<50>;
	type MaxReserves = ();
	type ReserveIdentifier = [u8; 8];
	type Balance = Balance;
	type RuntimeEvent = RuntimeEvent;
	type DustRemoval = ();
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type WeightInfo = pallet_balances::weights::SubstrateWeight<Runtime>;
	type FreezeIdentifier = RuntimeFreezeReason;
	type MaxFreezes = VariantCountOf<RuntimeFreezeReason>;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
	type DoneSlashHandler = ();
}

parameter_types! {
	pub FeeMultiplier: Multiplier = Multiplier::one();
}

impl pallet_transaction_payment::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnChargeTransaction = FungibleAdapter<Balances, ()>;
	type OperationalFeeMultiplier = ConstU8<5>;
	type WeightToFee = IdentityFee<Balance>;
	type LengthToFee = IdentityFee<Balance>;
	type FeeMultiplierUpdate = ConstFeeMultiplier<FeeMultiplier>;
	type WeightInfo = pallet_transaction_payment::weights::SubstrateWeight<Runtime>;
}

impl pallet_sudo::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type WeightInfo = pallet_sudo::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// The attribution graph's bounds; the registry's call arguments share them.
	pub const MaxParents: u32 = 16;
	pub const MaxTrainingDatanets: u32 = 16;
	pub const MaxUpstream: u32 = 64;
	pub const MaxAgentModels: u32 = 16;
	/// A contribution holds 0.01 TRIB plus 0.00001 TRIB per metadata byte.
	pub const ContributionDepositBase: Balance = 10 * MILLI_TRIB;
	pub const DepositPerByte: Balance = MILLI_TRIB / 100;
	pub const MaxMetadataLen: u32 = 1024;
	pub const MaxUriLen: u32 = 256;
}

impl pallet_attribution::Config for Runtime {
	type MaxParents = MaxParents;
	type MaxTrainingDatanets = MaxTrainingDatanets;
	type MaxUpstream = MaxUpstream;
	type MaxAgentModels = MaxAgentModels;
}

impl pallet_registry::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Attribution = Attribution;
	type ContributionHooks = Rewards;
	type ContributionDepositBase = ContributionDepositBase;
	type RecordDepositBase = ContributionDepositBase;
	type DepositPerByte = DepositPerByte;
	type MaxMetadataLen = MaxMetadataLen;
	type MaxUriLen = MaxUriLen;
	type MaxTrainingDatanets = MaxTrainingDatanets;
	type MaxParents = MaxParents;
	type MaxAgentModels = MaxAgentModels;
	type WeightInfo = pallet_registry::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// The treasury's account: slashed stake and the treasury's part of
	/// every fee go here.
	pub TreasuryAccount: AccountId = PalletId(*b"py/trsry").into_account_truncating();
	/// A worker stakes at least 100 TRIB.
	pub const MinWorkerStake: Balance = 100 * TRIB;
	/// Unbonding stake answers for slashes for 100 blocks (10 minutes at 6 s).
	pub const UnbondingPeriod: BlockNumber = 100;
	pub const SlashFraction: Perbill = Perbill::from_percent(10);
	pub const MaxWorkers: u32 = 256;
	pub const MaxCapacity: u32 = 64;
}

// The bounds of the records clients read through the `ComputeApi` are
// `ConstU32`s, which are `Clone` as the RPC's return types must be: a worker
// declares an endpoint of up to 256 bytes, an engine of up to 128 and up to
// 64 models it serves, and has up to 8 chunks unbonding; a job takes up to 4 KiB of input and, at the
// most redundancy, has room for five replacements in 10 seats.

impl pallet_worker_staking::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinWorkerStake = MinWorkerStake;
	type UnbondingPeriod = UnbondingPeriod;
	type SlashFraction = SlashFraction;
	type Treasury = TreasuryAccount;
	type MaxWorkers = MaxWorkers;
	type MaxCapacity = MaxCapacity;
	type MaxUnbondingChunks = ConstU32<8>;
	type MaxEndpointLen = ConstU32<256>;
	type MaxEngineLen = ConstU32<128>;
	type MaxServedModels = ConstU32<64>;
	type WeightInfo = pallet_worker_staking::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// 0.01 TRIB per worker asked, before congestion.
	pub const ComputeFee: Balance = 10 * MILLI_TRIB;
	pub MaxCongestion: FixedU128 = FixedU128::from_u32(10);
	pub const MaxOutputLen: u32 = 1024;
	pub const MaxQueuedJobs: u32 = 256;
	pub const TargetQueuedJobs: u32 = 64;
	pub const DefaultRedundancy: u8 = 3;
	pub const MaxRedundancy: u8 = 5;
	/// Long enough for a full queue (256 jobs, 16 drawn a block) to drain
	/// through busy workers; a job that waits longer fails and is refunded.
	pub const StaffingWindow: BlockNumber = 150;
	pub const CommitWindow: BlockNumber = 10;
	pub const RevealWindow: BlockNumber = 10;
	pub const MaxAssignmentsPerBlock: u32 = 16;
	pub const MaxDeadlinesPerBlock: u32 = 32;
	/// A finished job's record stays a day (of 6-second blocks), for
	/// requesters and explorers to read, then goes with its deposit back.
	pub const JobRetention: BlockNumber = 14_400;
	/// Twice the most jobs that can finish in one block (a full deadline
	/// bucket), so that pruning keeps up with any stream of jobs.
	pub const MaxPrunesPerBlock: u32 = 64;
}

impl pallet_compute::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Models = Registry;
	type Contributions = Registry;
	type Attribution = Attribution;
	type Staking = WorkerStaking;
	type Settlement = Rewards;
	type Outcomes = Channels;
	type Randomness = crate::randomness::BlockVrf;
	type ComputeFee = ComputeFee;
	type MaxCongestion = MaxCongestion;
	type MaxInputLen = ConstU32<4096>;
	type MaxOutputLen = MaxOutputLen;
	type MaxQueuedJobs = MaxQueuedJobs;
	type TargetQueuedJobs = TargetQueuedJobs;
	type DefaultRedundancy = DefaultRedundancy;
	type MaxRedundancy = MaxRedundancy;
	type MaxJobWorkers = ConstU32<10>;
	type StaffingWindow = StaffingWindow;
	type CommitWindow = CommitWindow;
	type RevealWindow = RevealWindow;
	type MaxAssignmentsPerBlock = MaxAssignmentsPerBlock;
	type MaxDeadlinesPerBlock = MaxDeadlinesPerBlock;
	type JobRetention = JobRetention;
	type MaxPrunesPerBlock = MaxPrunesPerBlock;
	// A job record pays for its bytes as a contribution does.
	type JobDepositBase = ContributionDepositBase;
	type JobDepositPerByte = DepositPerByte;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = crate::benchmarks::GraphHelper;
	type WeightInfo = pallet_compute::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// The rewards pallet's account holds every fee until it is claimed.
	pub const RewardsPalletId: PalletId = PalletId(*b"py/rewrd");
	pub const MaxClaimBatch: u32 = 64;
	/// 2^16 − 1 training snapshots per datanet: paying one touches at most
	/// 16 tree nodes.
	pub const MaxSnapshots: u32 = u16::MAX as u32;
}

impl pallet_rewards::Config for Runtime {
	type Currency = Balances;
	type Models = Registry;
	type Contributions = Registry;
	type Attribution = Attribution;
	type PalletId = RewardsPalletId;
	type Treasury = TreasuryAccount;
	type MaxClaimBatch = MaxClaimBatch;
	type MaxSnapshots = MaxSnapshots;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = crate::benchmarks::GraphHelper;
	type WeightInfo = pallet_rewards::weights::SubstrateWeight<Runtime>;
}

parameter_types! {
	/// A channel opens with at least 1 TRIB.
	pub const MinChannelDeposit: Balance = TRIB;
	/// A channel runs for at most 30 days (6 s blocks) before its requester
	/// may close it.
	pub const MaxChannelLifetime: BlockNumber = 30 * 24 * 600;
	/// One settlement carries at most 1 024 receipts (about 200 KB at a
	/// typical attribution): a worker settles a stream of answers in a few
	/// extrinsics a block.
	pub const MaxSettledReceipts: u32 = 1_024;
	/// Of at most 8 models: each costs its upstream map's division once.
	pub const MaxSettledModels: u32 = 8;
	/// Naming at most 1 024 contributions: each is credited once.
	pub const MaxSettledContributions: u32 = 1_024;
	/// The audit pot's account is derived from it.
	pub const ChannelsPalletId: PalletId = PalletId(*b"py/chanl");
	/// 5% of every settled price pays for audits.
	pub const AuditShare: Perbill = Perbill::from_percent(5);
	/// At least 1% of settled receipts are audited; dearer ones more often
	/// (see the pallet's docs: at least twice the price over the slash).
	pub const AuditRate: Perbill = Perbill::from_percent(1);
	/// Ten minutes to open a sample or challenge a receipt.
	pub const ChallengeWindow: BlockNumber = 100;
	/// A challenge puts up 1 TRIB.
	pub const ChallengeBond: Balance = TRIB;
	/// 16 settlements of 1 024 receipts a block: 16 384 receipts, over the
	/// fast path's goal of 10 000, while the hook that samples and closes
	/// them stays bounded.
	pub const MaxSettlementsPerBlock: u32 = 16;
}

impl pallet_channels::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Signature = tributary_primitives::Signature;
	type Workers = WorkerStaking;
	type Audits = Compute;
	type Randomness = crate::randomness::BlockVrf;
	type PalletId = ChannelsPalletId;
	type AuditShare = AuditShare;
	type AuditRate = AuditRate;
	type ChallengeWindow = ChallengeWindow;
	type ChallengeBond = ChallengeBond;
	type MaxSettlementsPerBlock = MaxSettlementsPerBlock;
	type MaxInputLen = ConstU32<4096>;
	type Models = Registry;
	type Settlement = Rewards;
	type MinDeposit = MinChannelDeposit;
	type MaxLifetime = MaxChannelLifetime;
	type MaxReceipts = MaxSettledReceipts;
	type MaxSettledModels = MaxSettledModels;
	type MaxSettledContributions = MaxSettledContributions;
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = crate::benchmarks::GraphHelper;
	type WeightInfo = pallet_channels::weights::SubstrateWeight<Runtime>;
}
