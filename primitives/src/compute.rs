//! The compute market's shared vocabulary: jobs, attributions, the commitment
//! a worker submits, and the traits the compute pallet uses to reach worker
//! stakes and settlement.

use crate::{ContributionId, JobId, ModelId};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
	sp_core::{ConstU32, H256},
	sp_crypto_hashing::blake2_256,
	sp_runtime::{BoundedVec, DispatchError, DispatchResult, Perbill},
	sp_weights::Weight,
};
use scale_info::TypeInfo;

/// The most contributions one result may attribute its answer to.
pub const MAX_ATTRIBUTION_ENTRIES: u32 = 32;

/// Which contributions an answer owes to, and by how much: at most
/// [`MAX_ATTRIBUTION_ENTRIES`] entries whose weights add up to at most 100%.
pub type Attribution = BoundedVec<(ContributionId, Perbill), ConstU32<MAX_ATTRIBUTION_ENTRIES>>;

/// The secret a worker commits with and reveals later.
pub type Salt = [u8; 32];

/// The hash that stands for an inference output on chain.
pub fn output_hash(output: &[u8]) -> H256 {
	H256(blake2_256(output))
}

/// The commitment to a result: `blake2_256(SCALE(job_id, worker, output_hash,
/// attribution, salt))`. Binding the worker and the job makes a commitment
/// useless to anyone who copies it.
pub fn commitment<AccountId: Encode>(
	job_id: JobId,
	worker: &AccountId,
	output_hash: &H256,
	attribution: &Attribution,
	salt: &Salt,
) -> H256 {
	H256((job_id, worker, output_hash, attribution, salt).using_encoded(blake2_256))
}

/// Why a worker lost stake.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub enum SlashReason {
	/// It did not commit within the commit window.
	CommitTimeout,
	/// It committed but did not reveal within the reveal window.
	NoReveal,
	/// Its revealed result disagreed with the majority.
	Minority,
	/// A fast-path receipt it signed was audited and found wrong, or it did
	/// not open the receipt for its audit in time.
	AuditFailed,
}

/// A worker that can be drawn for a job now.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Candidate<AccountId> {
	/// The worker.
	pub worker: AccountId,
	/// Its draw weight: grows with its active stake and its reputation.
	pub weight: u128,
	/// How many more jobs it can take before it reaches its capacity.
	pub free: u32,
	/// Its determinism class: workers of one class compute the same bytes.
	pub class: H256,
	/// The models it serves, in ascending order.
	pub models: Vec<ModelId>,
}

impl<AccountId> Candidate<AccountId> {
	/// Whether it declared that it serves `model`.
	pub fn serves(&self, model: ModelId) -> bool {
		self.models.binary_search(&model).is_ok()
	}
}

/// The determinism class a worker's engine description names: the
/// blake2-256 of its bytes. Results are compared byte for byte, so a job is
/// only ever run by workers whose engines (device kind, libtorch build, the
/// kernels' instruction-set level) are described by the same bytes.
pub fn determinism_class(engine: &[u8]) -> H256 {
	H256(blake2_256(engine))
}

/// What the compute pallet needs from worker staking.
pub trait WorkerStaking<AccountId> {
	/// The most workers there can be; it bounds [`Self::candidates`].
	type MaxWorkers: polkadot_sdk::sp_core::Get<u32>;
	/// Every worker that can take a job now, with its draw weight; at most the
	/// staking pallet's bound on workers.
	fn candidates() -> Vec<Candidate<AccountId>>;
	/// Takes one of the worker's capacity slots for a job.
	fn occupy(worker: &AccountId) -> DispatchResult;
	/// Gives back a slot taken by [`Self::occupy`].
	fn release(worker: &AccountId);
	/// Raises the worker's reputation for a result the majority agreed with.
	fn reward(worker: &AccountId);
	/// Takes the slash fraction of the worker's stake and lowers its reputation.
	fn slash(worker: &AccountId, reason: SlashReason);
	/// The worker declined a job it could not run: a small reputation cost,
	/// no slash.
	fn declined(worker: &AccountId);
}

/// A completed job, as handed to settlement.
pub struct CompletedJob<'a, AccountId, Balance> {
	/// The job.
	pub job_id: JobId,
	/// The model that answered.
	pub model_id: ModelId,
	/// The fee, already paid into [`JobSettlement::account`].
	pub fee: Balance,
	/// The workers whose results formed the majority.
	pub workers: &'a [AccountId],
	/// The attribution the majority agreed on.
	pub attribution: &'a Attribution,
}

/// Divides the fee of a completed job among those who earned it.
pub trait JobSettlement<AccountId, Balance> {
	/// The account a completed job's fee is paid into before [`Self::settle`].
	fn account() -> AccountId;
	/// Settles a completed job whose fee is in [`Self::account`]; returns the
	/// weight the settlement used, at most [`Self::settle_weight`] of its
	/// workers.
	fn settle(job: CompletedJob<'_, AccountId, Balance>) -> Result<Weight, DispatchError>;
	/// The weight of settling one job with `workers` majority workers and an
	/// attribution and upstream map at their bounds.
	fn settle_weight(workers: u32) -> Weight;
	/// Job `job_id`'s record was pruned: what settlement kept to settle it
	/// once may go too.
	fn pruned(job_id: JobId);
}

/// Audit jobs: the channels pallet reruns fast-path receipts as ordinary
/// compute jobs, in the receipt's class and never on the worker audited.
pub trait AuditJobs<AccountId, Balance> {
	/// Submits a job for `model` on `input`, paid by `payer` (at most
	/// `max_fee`), drawn only from workers of `class` and never `audited`;
	/// returns its id. Its outcome comes back through [`JobOutcomes`].
	fn submit_audit(
		payer: &AccountId,
		model: ModelId,
		input: Vec<u8>,
		class: H256,
		audited: &AccountId,
		max_fee: Balance,
	) -> Result<JobId, DispatchError>;
	/// Whether the job queue is full now: a job submitted now is refused,
	/// one submitted later may not be.
	fn queue_full() -> bool;
	/// What such a job costs now: the compute fee of its workers, not the
	/// model's price, which the receipt it reruns paid already.
	fn audit_price(model: ModelId) -> Result<Balance, DispatchError>;
}

/// Told when a job ends, so that whoever submitted it for a purpose of its
/// own (an audit) can act on the outcome.
pub trait JobOutcomes {
	/// Job `job_id` ended: completed with the majority's output hash and
	/// attribution, or (`None`) failed or cancelled. Returns the weight used,
	/// at most [`Self::max_weight`].
	fn finished(job_id: JobId, outcome: Option<&(H256, Attribution)>) -> Weight;
	/// The most [`Self::finished`] uses.
	fn max_weight() -> Weight;
}

impl JobOutcomes for () {
	fn finished(_: JobId, _: Option<&(H256, Attribution)>) -> Weight {
		Weight::zero()
	}
	fn max_weight() -> Weight {
		Weight::zero()
	}
}

/// Where a job stands.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub enum JobStatus {
	/// Waiting for workers: new, or replacing one that did not commit.
	Queued,
	/// Its workers are committing.
	Committing,
	/// Its workers are revealing.
	Revealing,
	/// A majority agreed; the fee went to settlement.
	Completed,
	/// It ended without a result; the fee was refunded.
	Failed,
	/// Cancelled by its requester before any commitment; the fee was refunded.
	Cancelled,
}

/// Why a job failed.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub enum FailureReason {
	/// No strict majority of the revealed results agreed.
	NoQuorum,
	/// So many workers timed out or declined that the job ran out of room
	/// for replacements.
	TooManyTimeouts,
	/// Not enough eligible workers were free to staff it within the staffing
	/// window.
	Unstaffed,
}

/// One worker's part in a job.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub enum WorkerResult {
	/// Assigned; nothing submitted yet.
	Assigned,
	/// Committed to a result.
	Committed(H256),
	/// Revealed its output hash and attribution.
	Revealed {
		/// blake2-256 of the output.
		output_hash: H256,
		/// The attribution it revealed.
		attribution: Attribution,
	},
	/// Missed its window and was slashed; it no longer counts for this job.
	Dropped,
	/// Declined the job before committing (it could not run it): released
	/// without a slash; it no longer counts for this job.
	Declined,
}

impl WorkerResult {
	/// Whether the worker still counts for its job: neither dropped nor
	/// declined.
	pub fn counts(&self) -> bool {
		!matches!(self, WorkerResult::Dropped | WorkerResult::Declined)
	}
}

/// The compute market's state, as clients read it through the `ComputeApi`.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
	feature = "std",
	serde(
		rename_all = "camelCase",
		bound(
			serialize = "Balance: core::fmt::Display",
			deserialize = "Balance: core::str::FromStr, Balance::Err: core::fmt::Display"
		)
	)
)]
pub struct QueueInfo<Balance> {
	/// Open jobs: queued, committing or revealing.
	pub depth: u32,
	/// The most open jobs the chain accepts.
	pub capacity: u32,
	/// The congestion multiplier on the compute fee, in billionths (1e9 = ×1).
	#[cfg_attr(feature = "std", serde(with = "crate::decimal"))]
	pub congestion_per_billion: u128,
	/// The compute fee per execution at the current congestion.
	#[cfg_attr(feature = "std", serde(with = "crate::decimal"))]
	pub compute_fee: Balance,
}

#[cfg(test)]
mod tests {
	use super::*;

	/// The bytes a worker in any language must hash: the job id (u64 LE), the
	/// worker's 32-byte account, the output hash, the attribution (compact
	/// length, then each entry's u64 LE id and u32 LE parts per billion) and
	/// the salt.
	#[test]
	fn the_commitment_is_blake2_of_the_documented_bytes() {
		let worker = [7u8; 32];
		let output = output_hash(b"positive");
		let attribution: Attribution = BoundedVec::truncate_from(vec![
			(3, Perbill::from_percent(70)),
			(9, Perbill::from_percent(20)),
		]);
		let salt = [0xabu8; 32];

		let mut bytes = Vec::new();
		bytes.extend_from_slice(&42u64.to_le_bytes());
		bytes.extend_from_slice(&worker);
		bytes.extend_from_slice(output.as_bytes());
		bytes.push(2 << 2);
		for (id, parts) in [(3u64, 700_000_000u32), (9, 200_000_000)] {
			bytes.extend_from_slice(&id.to_le_bytes());
			bytes.extend_from_slice(&parts.to_le_bytes());
		}
		bytes.extend_from_slice(&salt);

		assert_eq!(commitment(42, &worker, &output, &attribution, &salt), H256(blake2_256(&bytes)));
	}

	#[test]
	fn every_field_changes_the_commitment() {
		let attribution: Attribution = BoundedVec::truncate_from(vec![(1, Perbill::one())]);
		let base = commitment(1, &[1u8; 32], &output_hash(b"a"), &attribution, &[1; 32]);
		assert_ne!(base, commitment(2, &[1u8; 32], &output_hash(b"a"), &attribution, &[1; 32]));
		assert_ne!(base, commitment(1, &[2u8; 32], &output_hash(b"a"), &attribution, &[1; 32]));
		assert_ne!(base, commitment(1, &[1u8; 32], &output_hash(b"b"), &attribution, &[1; 32]));
		assert_ne!(
			base,
			commitment(1, &[1u8; 32], &output_hash(b"a"), &Attribution::default(), &[1; 32])
		);
		assert_ne!(base, commitment(1, &[1u8; 32], &output_hash(b"a"), &attribution, &[2; 32]));
	}
}
