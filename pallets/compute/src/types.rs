//! The records the compute pallet keeps.

use codec::{Decode, Encode, MaxEncodedLen};
use polkadot_sdk::{frame_support::BoundedVec, sp_core::Get};
use scale_info::TypeInfo;
use tributary_primitives::{Attribution, JobStatus, ModelId, WorkerResult};

/// An inference job, from submission until it completes, fails or is
/// cancelled; it stays afterwards as the record of what happened.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, MaxEncodedLen, TypeInfo)]
#[scale_info(skip_type_params(MaxInput, MaxWorkers))]
#[cfg_attr(feature = "std", derive(serde::Serialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
#[cfg_attr(
	feature = "std",
	serde(bound(
		serialize = "AccountId: serde::Serialize, Balance: core::fmt::Display, BlockNumber: serde::Serialize"
	))
)]
pub struct Job<AccountId, Balance, BlockNumber, MaxInput: Get<u32>, MaxWorkers: Get<u32>> {
	/// Who asked for it and paid the fee.
	pub requester: AccountId,
	/// The model to run.
	pub model_id: ModelId,
	/// The input to run it on.
	pub input: BoundedVec<u8, MaxInput>,
	/// The fee held from the requester.
	#[cfg_attr(feature = "std", serde(with = "tributary_primitives::decimal"))]
	pub fee: Balance,
	/// The storage deposit held from the requester until the record is pruned.
	#[cfg_attr(feature = "std", serde(with = "tributary_primitives::decimal"))]
	pub deposit: Balance,
	/// How many workers run it; a strict majority of them must agree.
	pub redundancy: u8,
	/// Where it stands.
	pub status: JobStatus,
	/// Every worker assigned to it so far, with what it submitted.
	pub workers: BoundedVec<(AccountId, WorkerResult), MaxWorkers>,
	/// The determinism class all its workers belong to, fixed by its first
	/// draw: results are compared byte for byte, so every replacement comes
	/// from the same class.
	pub class: Option<polkadot_sdk::sp_core::H256>,
	/// A worker never drawn for it: the worker whose fast-path receipt it
	/// audits.
	pub excluded: Option<AccountId>,
	/// The block at which the current staffing, commit or reveal window
	/// closes.
	pub deadline: Option<BlockNumber>,
	/// The output hash and attribution the majority agreed on.
	pub outcome: Option<(polkadot_sdk::sp_core::H256, Attribution)>,
	/// The block it finished in (completed, failed or cancelled); it is
	/// pruned `JobRetention` blocks later.
	pub finished_at: Option<BlockNumber>,
}

impl<AccountId, Balance, BlockNumber, MaxInput: Get<u32>, MaxWorkers: Get<u32>>
	Job<AccountId, Balance, BlockNumber, MaxInput, MaxWorkers>
{
	/// The workers still counting for this job: all but the dropped and the
	/// declined.
	pub fn active(&self) -> impl Iterator<Item = &(AccountId, WorkerResult)> {
		self.workers.iter().filter(|(_, result)| result.counts())
	}

	/// How many more workers the job needs.
	pub fn needed(&self) -> usize {
		usize::from(self.redundancy).saturating_sub(self.active().count())
	}

	/// How many agreeing results complete it: a strict majority.
	pub fn majority(&self) -> usize {
		usize::from(self.redundancy) / 2 + 1
	}

	/// Whether it is open and no worker has committed to it, so that its
	/// requester may still take it back.
	pub fn is_cancellable(&self) -> bool {
		matches!(self.status, JobStatus::Queued | JobStatus::Committing)
			&& self.active().all(|(_, result)| *result == WorkerResult::Assigned)
	}
}
