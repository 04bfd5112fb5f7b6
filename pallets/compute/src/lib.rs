//! # Compute Pallet
//!
//! ## Overview
//!
//! Requesters pay for inference here; staked workers run it off chain; the
//! chain accepts a result only when a strict majority of independently drawn
//! workers agree on it. A job's fee is held at submission, the job waits in a
//! bounded queue, each block draws workers for queued jobs, the workers commit
//! to their results and then reveal them, and the majority's result completes
//! the job and goes to settlement. Workers that stay silent or disagree with
//! the majority are slashed.
//!
//! ### Terminology
//!
//! - **Queue depth:** the open jobs (queued, committing or revealing); at most
//!   `MaxQueuedJobs`. It drives the price.
//! - **Price:** the model's price per inference plus `ComputeFee` per worker
//!   asked, times the **congestion** multiplier. Each block the multiplier
//!   moves by at most an eighth, `m × (1 ± min(|depth − target|, target) /
//!   (8 × target))`: up while the depth is over `TargetQueuedJobs`, down
//!   while it is under, between 1 and `MaxCongestion` (as EIP-1559 moves its
//!   base fee).
//! - **Redundancy:** how many workers run a job (default
//!   `DefaultRedundancy`); a strict majority of them must agree.
//! - **Staffing:** a queued job waits at most `StaffingWindow` blocks for
//!   enough free, eligible workers: workers that declared they serve its
//!   model, all of one **determinism class** (results are compared byte for
//!   byte, and floating-point results agree only on the same engine). A
//!   job's first draw fixes its class; replacements come from it. Then it
//!   fails and is refunded. A job that cannot be staffed now goes to the
//!   back of the queue, so it never holds up the jobs behind it.
//! - **Decline:** a drawn worker that cannot run the job declines it before
//!   committing: no slash, a small reputation cost, and the job is
//!   re-staffed like one whose worker timed out. Its other workers may
//!   commit meanwhile.
//! - **Commitment:** [`tributary_primitives::commitment`] of the job, worker,
//!   output hash, attribution and a secret salt, submitted within
//!   `CommitWindow` blocks so that no worker can copy another's answer; the
//!   reveal within `RevealWindow` blocks must match it. A worker that does not
//!   commit in time is slashed and replaced; no result is revealed before
//!   every worker that counts has committed, so **no vote that counts is
//!   committed after any reveal of its job**.
//! - **Quorum:** when the reveal window closes (or the last worker reveals),
//!   a strict majority of the redundancy must agree on `(output hash,
//!   attribution)`. Without one the job fails and is refunded: only the silent
//!   are slashed, since nothing says which side was honest.
//! - **Lifetime:** every job ends (completed, failed and refunded, or
//!   cancelled) within [`Pallet::max_job_lifetime`] blocks of its
//!   submission, whatever its workers do.
//! - **Draw randomness:** `Randomness`, the VRF output of the block that
//!   makes the draw (BABE's, in the runtime). A job admitted in one block is
//!   drawn in a later one, so neither the requester nor any block author
//!   knows the draw when the job is submitted, and no author can change it
//!   by changing what its block contains. A block without VRF output draws
//!   nothing; its jobs wait for the next.
//!
//! ## Interface
//!
//! Calls: `submit_job`, `cancel_job`, `commit_result`, `reveal_result`,
//! `decline_job`.
//! Each block, `on_initialize` closes the windows that end then (at most
//! `MaxDeadlinesPerBlock`) and draws workers for at most
//! `MaxAssignmentsPerBlock` queued jobs. Completed jobs go to the runtime's
//! [`tributary_primitives::JobSettlement`].
//!
//! The pallet is split by domain: [`queue`] (submission, price, cancelling),
//! [`staffing`] (the draw), [`deadlines`] (windows and the lifetime bound)
//! and [`quorum`] (commitments, reveals and the decision).

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
pub mod deadlines;
#[cfg(test)]
mod mock;
pub mod pruning;
pub mod queue;
pub mod quorum;
pub mod staffing;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

pub use types::*;
pub use weights::WeightInfo;

use alloc::vec::Vec;
use polkadot_sdk::{
	frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, Mutate, MutateHold},
			Randomness,
		},
	},
	frame_system::pallet_prelude::*,
	sp_core::H256,
	sp_runtime::{traits::Saturating, FixedPointNumber, FixedU128},
};
use tributary_primitives::{
	Attribution, AttributionGraph, ContributionProvider, FailureReason, JobId, JobOutcomes,
	JobSettlement, JobStatus, ModelId, ModelProvider, Salt, WorkerStaking,
};

/// A balance of the compute market's currency.
pub type BalanceOf<T> = <<T as Config>::Currency as Inspect<
	<T as polkadot_sdk::frame_system::Config>::AccountId,
>>::Balance;
/// A job as stored.
pub type JobOf<T> = Job<
	<T as polkadot_sdk::frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberFor<T>,
	<T as Config>::MaxInputLen,
	<T as Config>::MaxJobWorkers,
>;

/// Sets up what the compute benchmarks need from other pallets.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
	/// Registers an active model owned by `owner`, trained on one datanet that
	/// holds `contributions` approved contributions; returns the model and them.
	fn model(
		owner: &AccountId,
		contributions: u32,
	) -> (ModelId, Vec<tributary_primitives::ContributionId>);
	/// Registers `who`, funded, as a worker that runs `capacity` jobs at once,
	/// staking ten times the minimum so that a few slashes leave it eligible,
	/// serving `model` (and as many other models as a worker may) on the
	/// engine `engine`.
	fn worker(who: &AccountId, capacity: u32, model: ModelId, engine: &[u8]);
	/// Gives the block being benchmarked the randomness `Config::Randomness`
	/// draws with (on the runtime, the BABE pre-digest an author puts in it).
	fn randomness();
}

#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
	use super::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency fees are held and paid in.
		type Currency: Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The runtime's hold reasons, of which a job's fee is one.
		type RuntimeHoldReason: From<HoldReason>;
		/// The registered models and their prices.
		type Models: ModelProvider<Self::AccountId, BalanceOf<Self>>;
		/// The contributions an attribution may name.
		type Contributions: ContributionProvider<Self::AccountId>;
		/// The attribution graph: which datanets each model was trained on.
		type Attribution: AttributionGraph<BalanceOf<Self>>;
		/// The staked workers jobs are drawn from.
		type Staking: WorkerStaking<Self::AccountId>;
		/// Where completed jobs' fees go to be divided.
		type Settlement: JobSettlement<Self::AccountId, BalanceOf<Self>>;
		/// Told how every job ended (audits act on their jobs' outcomes).
		type Outcomes: JobOutcomes;
		/// The randomness workers are drawn with, read in `on_initialize`:
		/// the VRF output of the block being executed, or `None` in a block
		/// without one.
		type Randomness: Randomness<Option<H256>, BlockNumberFor<Self>>;
		/// The compute fee per worker asked, at a congestion of 1.
		#[pallet::constant]
		type ComputeFee: Get<BalanceOf<Self>>;
		/// The highest the congestion multiplier goes.
		#[pallet::constant]
		type MaxCongestion: Get<FixedU128>;
		/// The longest job input.
		#[pallet::constant]
		type MaxInputLen: Get<u32>;
		/// The longest revealed output.
		#[pallet::constant]
		type MaxOutputLen: Get<u32>;
		/// The most open jobs at once; submissions beyond it are refused.
		#[pallet::constant]
		type MaxQueuedJobs: Get<u32>;
		/// The queue depth at which congestion holds steady.
		#[pallet::constant]
		type TargetQueuedJobs: Get<u32>;
		/// The redundancy of a job that names none.
		#[pallet::constant]
		type DefaultRedundancy: Get<u8>;
		/// The highest redundancy a job may ask for.
		#[pallet::constant]
		type MaxRedundancy: Get<u8>;
		/// The most workers one job may see, replacements included; at least
		/// `MaxRedundancy`. It bounds how many times a job is re-staffed.
		#[pallet::constant]
		type MaxJobWorkers: Get<u32>;
		/// How many blocks a queued job waits for workers before it fails and
		/// its fee is refunded; at least 1.
		#[pallet::constant]
		type StaffingWindow: Get<BlockNumberFor<Self>>;
		/// How many blocks assigned workers have to commit; at least 1.
		#[pallet::constant]
		type CommitWindow: Get<BlockNumberFor<Self>>;
		/// How many blocks committed workers have to reveal; at least 1.
		#[pallet::constant]
		type RevealWindow: Get<BlockNumberFor<Self>>;
		/// The most queued jobs drawn for in one block.
		#[pallet::constant]
		type MaxAssignmentsPerBlock: Get<u32>;
		/// The most windows that close in one block.
		#[pallet::constant]
		type MaxDeadlinesPerBlock: Get<u32>;
		/// How many blocks a finished job's record stays before it is pruned.
		#[pallet::constant]
		type JobRetention: Get<BlockNumberFor<Self>>;
		/// The most job records one block prunes.
		#[pallet::constant]
		type MaxPrunesPerBlock: Get<u32>;
		/// The fixed part of a job's storage deposit.
		#[pallet::constant]
		type JobDepositBase: Get<BalanceOf<Self>>;
		/// The storage deposit per byte of a job's input.
		#[pallet::constant]
		type JobDepositPerByte: Get<BalanceOf<Self>>;
		/// Sets up models and workers for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
		/// Weights of this pallet's calls and hook, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The fee of an open job, held from its requester.
		JobFee,
		/// The storage deposit of a job's record, held from its requester
		/// until the record is pruned.
		JobDeposit,
	}

	/// A congestion multiplier of 1: no congestion.
	#[pallet::type_value]
	pub fn NoCongestion() -> FixedU128 {
		FixedU128::one()
	}

	/// The id the next job gets.
	#[pallet::storage]
	pub type NextJobId<T> = StorageValue<_, JobId, ValueQuery>;

	/// The lowest job id whose record was not pruned yet: pruning goes
	/// through the jobs in the order they were submitted.
	#[pallet::storage]
	pub type PruneCursor<T> = StorageValue<_, JobId, ValueQuery>;

	/// Every job by id, finished ones included until they are pruned
	/// `JobRetention` blocks after they finished.
	#[pallet::storage]
	pub type Jobs<T: Config> = StorageMap<_, Blake2_128Concat, JobId, JobOf<T>>;

	/// The jobs waiting for workers, in the order they are served: jobs
	/// already under way (replacements) first, then new ones; a job that
	/// could not be staffed goes to the back.
	#[pallet::storage]
	pub type Queue<T: Config> = StorageValue<_, BoundedVec<JobId, T::MaxQueuedJobs>, ValueQuery>;

	/// How many jobs are open: queued, committing or revealing.
	#[pallet::storage]
	pub type OpenJobs<T> = StorageValue<_, u32, ValueQuery>;

	/// The jobs whose staffing, commit or reveal window closes at each block.
	#[pallet::storage]
	pub type Deadlines<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<JobId, T::MaxDeadlinesPerBlock>,
		ValueQuery,
	>;

	/// The open jobs each worker is assigned to.
	#[pallet::storage]
	pub type Assignments<T: Config> =
		StorageDoubleMap<_, Blake2_128Concat, T::AccountId, Twox64Concat, JobId, ()>;

	/// The congestion multiplier on the compute fee.
	#[pallet::storage]
	pub type Congestion<T> = StorageValue<_, FixedU128, ValueQuery, NoCongestion>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A job was accepted and its fee held.
		JobSubmitted {
			/// The new job.
			job_id: JobId,
			/// Who submitted it.
			requester: T::AccountId,
			/// The fee held.
			fee: BalanceOf<T>,
		},
		/// Workers were drawn for a job: its first ones, or replacements.
		JobAssigned {
			/// The job.
			job_id: JobId,
			/// The workers drawn now.
			workers: Vec<T::AccountId>,
		},
		/// A worker committed to its result.
		ResultCommitted {
			/// The job.
			job_id: JobId,
			/// The worker.
			worker: T::AccountId,
		},
		/// A worker revealed its result.
		ResultRevealed {
			/// The job.
			job_id: JobId,
			/// The worker.
			worker: T::AccountId,
			/// blake2-256 of the output.
			output_hash: H256,
			/// The output.
			output: BoundedVec<u8, T::MaxOutputLen>,
		},
		/// A strict majority agreed; the fee went to settlement.
		JobCompleted {
			/// The job.
			job_id: JobId,
			/// The agreed output's hash.
			output_hash: H256,
			/// The agreed attribution.
			attribution: Attribution,
		},
		/// The majority's result stands, but its fee could not be settled:
		/// nothing of it was paid out and it was refunded to the requester.
		SettlementFailed {
			/// The job.
			job_id: JobId,
			/// Why settlement failed.
			error: DispatchError,
		},
		/// A finished job's record was removed after the retention window and
		/// its storage deposit returned to the requester.
		JobPruned {
			/// The job.
			job_id: JobId,
			/// The deposit returned.
			deposit: BalanceOf<T>,
		},
		/// The job failed; its fee was refunded.
		JobFailed {
			/// The job.
			job_id: JobId,
			/// Why.
			reason: FailureReason,
		},
		/// The requester cancelled the job before any commitment; its fee was
		/// refunded.
		JobCancelled {
			/// The job.
			job_id: JobId,
		},
		/// A drawn worker declined the job before committing; it was released
		/// without a slash and the job is re-staffed (or failed, when it has
		/// no room left for another worker).
		JobDeclined {
			/// The job.
			job_id: JobId,
			/// The worker that declined.
			worker: T::AccountId,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No job has this id.
		UnknownJob,
		/// No model has this id.
		UnknownModel,
		/// The model is retired and takes no new jobs.
		ModelRetired,
		/// Redundancy must be between 1 and `MaxRedundancy`.
		BadRedundancy,
		/// `MaxQueuedJobs` jobs are open already; try again later.
		QueueFull,
		/// `max_fee` is under the current price.
		FeeBelowPrice,
		/// The requester's free balance cannot cover the fee. (Other causes,
		/// such as frozen funds, come as the token error itself.)
		InsufficientBalance,
		/// Only the requester may cancel a job.
		NotRequester,
		/// Only an open job that no worker has committed to can be cancelled.
		NotCancellable,
		/// The job is not taking commitments.
		NotCommitting,
		/// The job is not taking reveals.
		NotRevealing,
		/// The caller is not one of the job's workers.
		NotAssigned,
		/// The caller has committed already.
		AlreadyCommitted,
		/// The caller has no commitment to reveal (none, or revealed already).
		NotCommitted,
		/// The reveal does not match the caller's commitment.
		RevealMismatch,
		/// An attribution entry has a weight of zero.
		ZeroAttributionWeight,
		/// An attribution names the same contribution twice.
		DuplicateAttribution,
		/// An attribution names a contribution that does not exist.
		UnknownContribution,
		/// An attribution names a contribution outside the model's datanets.
		AttributionOutsideModel,
		/// An attribution's weights add up to more than 100%.
		AttributionOverWhole,
		/// The input is longer than `MaxInputLen`.
		InputTooLong,
		/// The id space of jobs is exhausted.
		IdsExhausted,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::update_congestion();
			let (expired, settled) = Self::close_windows(now);
			let (assigned, drawn_from) = Self::assign_queued(now);
			let pruned = Self::prune(now);
			T::WeightInfo::on_initialize(expired, assigned, drawn_from, pruned)
				.saturating_add(settled)
				.saturating_add(T::Outcomes::max_weight().saturating_mul(expired.into()))
		}

		fn integrity_test() {
			assert!(T::DefaultRedundancy::get() >= 1, "DefaultRedundancy must be at least 1");
			assert!(
				T::DefaultRedundancy::get() <= T::MaxRedundancy::get(),
				"DefaultRedundancy must not exceed MaxRedundancy"
			);
			assert!(
				T::MaxJobWorkers::get() >= u32::from(T::MaxRedundancy::get()),
				"MaxJobWorkers must seat a job of the most redundancy"
			);
			assert!(T::TargetQueuedJobs::get() >= 1, "TargetQueuedJobs must be at least 1");
			assert!(T::MaxDeadlinesPerBlock::get() >= 1, "MaxDeadlinesPerBlock must be at least 1");
			assert!(
				T::MaxAssignmentsPerBlock::get() >= 1,
				"MaxAssignmentsPerBlock must be at least 1"
			);
			// A window of zero blocks files its deadline under the block that
			// is running, whose deadlines were already taken: it never fires.
			let one: BlockNumberFor<T> = 1u32.into();
			assert!(T::StaffingWindow::get() >= one, "StaffingWindow must be at least 1");
			assert!(T::CommitWindow::get() >= one, "CommitWindow must be at least 1");
			assert!(T::RevealWindow::get() >= one, "RevealWindow must be at least 1");
			assert!(
				T::MaxCongestion::get() >= FixedU128::one(),
				"MaxCongestion must be at least 1"
			);
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Submits a job: runs `model_id` on `input` with `redundancy` workers
		/// (the default when `None`), holding the current price, which must
		/// not exceed `max_fee`.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::submit_job(input.len() as u32))]
		pub fn submit_job(
			origin: OriginFor<T>,
			model_id: ModelId,
			input: BoundedVec<u8, T::MaxInputLen>,
			max_fee: BalanceOf<T>,
			redundancy: Option<u8>,
		) -> DispatchResult {
			let requester = ensure_signed(origin)?;
			let redundancy = redundancy.unwrap_or_else(T::DefaultRedundancy::get);
			let (job_id, fee) =
				Self::do_submit(&requester, model_id, input, max_fee, redundancy, None)?;
			Self::deposit_event(Event::JobSubmitted { job_id, requester, fee });
			Ok(())
		}

		/// Cancels the caller's job while no worker has committed to it:
		/// frees its workers (none is slashed) and refunds its fee.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::cancel_job().saturating_add(T::Outcomes::max_weight()))]
		pub fn cancel_job(origin: OriginFor<T>, job_id: JobId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let job = Jobs::<T>::get(job_id).ok_or(Error::<T>::UnknownJob)?;
			ensure!(job.requester == who, Error::<T>::NotRequester);
			ensure!(job.is_cancellable(), Error::<T>::NotCancellable);
			Self::do_cancel(job_id, job);
			Self::deposit_event(Event::JobCancelled { job_id });
			Ok(())
		}

		/// Commits the caller's result for a job it is assigned to:
		/// `commitment` is [`tributary_primitives::commitment`] of the result.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::commit_result())]
		pub fn commit_result(
			origin: OriginFor<T>,
			job_id: JobId,
			commitment: H256,
		) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			let job = Jobs::<T>::get(job_id).ok_or(Error::<T>::UnknownJob)?;
			Self::do_commit(job_id, job, &worker, commitment)?;
			Self::deposit_event(Event::ResultCommitted { job_id, worker });
			Ok(())
		}

		/// Reveals the result the caller committed to. The last reveal of a
		/// round decides the job; the call is charged for the settlement it
		/// actually ran.
		#[pallet::call_index(3)]
		#[pallet::weight(
			T::WeightInfo::reveal_result(output.len() as u32, attribution.len() as u32)
				.saturating_add(T::Settlement::settle_weight(T::MaxJobWorkers::get()))
				.saturating_add(T::Outcomes::max_weight())
		)]
		pub fn reveal_result(
			origin: OriginFor<T>,
			job_id: JobId,
			output: BoundedVec<u8, T::MaxOutputLen>,
			attribution: Attribution,
			salt: Salt,
		) -> DispatchResultWithPostInfo {
			let worker = ensure_signed(origin)?;
			let job = Jobs::<T>::get(job_id).ok_or(Error::<T>::UnknownJob)?;
			let revealed =
				T::WeightInfo::reveal_result(output.len() as u32, attribution.len() as u32)
					.saturating_add(T::Outcomes::max_weight());
			let settled = Self::do_reveal(job_id, job, &worker, &output, attribution, &salt)?;
			Ok(Some(revealed.saturating_add(settled)).into())
		}

		/// Declines a job the caller was drawn for and cannot run (its model
		/// will not load, its files are gone), before committing to it: the
		/// worker is released without a slash, at a small reputation cost,
		/// and the job is re-staffed from the same determinism class, or
		/// fails and is refunded when it has no room left for another worker.
		#[pallet::call_index(4)]
		#[pallet::weight(
			T::WeightInfo::decline_job_requeued()
				.max(T::WeightInfo::decline_job_failed().saturating_add(T::Outcomes::max_weight()))
		)]
		pub fn decline_job(origin: OriginFor<T>, job_id: JobId) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			let job = Jobs::<T>::get(job_id).ok_or(Error::<T>::UnknownJob)?;
			Self::do_decline(job_id, job, &worker)
		}
	}
}
