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
//!   moves by up to an eighth, up while the depth is over `TargetQueuedJobs`
//!   and down while it is under, between 1 and `MaxCongestion` (as EIP-1559
//!   moves its base fee).
//! - **Redundancy:** how many workers run a job (default
//!   `DefaultRedundancy`); a strict majority of them must agree.
//! - **Commitment:** [`tributary_primitives::commitment`] of the job, worker,
//!   output hash, attribution and a secret salt, submitted within
//!   `CommitWindow` blocks so that no worker can copy another's answer; the
//!   reveal within `RevealWindow` blocks must match it.
//! - **Escalation:** a round without a majority asks two more workers once;
//!   a second round without one fails the job and refunds the fee.
//! - **Seed:** the randomness that draws workers: the parent hash and every
//!   revealed salt are mixed into it, so no block author alone can steer it.
//!
//! ## Interface
//!
//! Calls: `submit_job`, `cancel_job`, `commit_result`, `reveal_result`.
//! Each block, `on_initialize` closes the windows that end then (at most
//! `MaxDeadlinesPerBlock`) and draws workers for at most
//! `MaxAssignmentsPerBlock` queued jobs. Completed jobs go to the runtime's
//! [`tributary_primitives::JobSettlement`].

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
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
			tokens::{Fortitude, Precision, Restriction},
			DefensiveResult,
		},
	},
	frame_system::pallet_prelude::*,
	sp_core::H256,
	sp_crypto_hashing::blake2_256,
	sp_runtime::{traits::Saturating, FixedPointNumber, FixedU128, Perbill},
};
use tributary_primitives::{
	commitment, output_hash, Attribution, AttributionGraph, Candidate, CompletedJob,
	ContributionProvider, FailureReason, JobId, JobSettlement, JobStatus, ModelId, ModelProvider,
	QueueInfo, Salt, SlashReason, WorkerResult, WorkerStaking,
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
	/// staking ten times the minimum so that a few slashes leave it eligible.
	fn worker(who: &AccountId, capacity: u32);
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
		/// `MaxRedundancy + 2`.
		#[pallet::constant]
		type MaxJobWorkers: Get<u32>;
		/// How many blocks assigned workers have to commit.
		#[pallet::constant]
		type CommitWindow: Get<BlockNumberFor<Self>>;
		/// How many blocks committed workers have to reveal.
		#[pallet::constant]
		type RevealWindow: Get<BlockNumberFor<Self>>;
		/// The most queued jobs drawn for in one block.
		#[pallet::constant]
		type MaxAssignmentsPerBlock: Get<u32>;
		/// The most windows that close in one block.
		#[pallet::constant]
		type MaxDeadlinesPerBlock: Get<u32>;
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
	}

	/// A congestion multiplier of 1: no congestion.
	#[pallet::type_value]
	pub fn NoCongestion() -> FixedU128 {
		FixedU128::one()
	}

	/// The id the next job gets.
	#[pallet::storage]
	pub type NextJobId<T> = StorageValue<_, JobId, ValueQuery>;

	/// Every job by id, finished ones included.
	#[pallet::storage]
	pub type Jobs<T: Config> = StorageMap<_, Blake2_128Concat, JobId, JobOf<T>>;

	/// The jobs waiting for workers, in the order they are served: jobs
	/// already under way (replacements, escalations) first, then new ones.
	#[pallet::storage]
	pub type Queue<T: Config> = StorageValue<_, BoundedVec<JobId, T::MaxQueuedJobs>, ValueQuery>;

	/// How many jobs are open: queued, committing or revealing.
	#[pallet::storage]
	pub type OpenJobs<T> = StorageValue<_, u32, ValueQuery>;

	/// The jobs whose commit or reveal window closes at each block.
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

	/// The seed workers are drawn with.
	#[pallet::storage]
	pub type Seed<T> = StorageValue<_, H256, ValueQuery>;

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
		/// A round ended without a majority: two more workers were drawn.
		JobEscalated {
			/// The job.
			job_id: JobId,
			/// The workers drawn for the escalation.
			workers: Vec<T::AccountId>,
		},
		/// The job failed; its fee was refunded.
		JobFailed {
			/// The job.
			job_id: JobId,
			/// Why.
			reason: FailureReason,
		},
		/// The requester cancelled the job before assignment; its fee was refunded.
		JobCancelled {
			/// The job.
			job_id: JobId,
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
		/// The requester cannot cover the fee.
		InsufficientBalance,
		/// Only the requester may cancel a job.
		NotRequester,
		/// Only a job no worker was drawn for can be cancelled.
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
		/// An attribution names a contribution that is not approved.
		AttributionNotApproved,
		/// An attribution names a contribution outside the model's datanets.
		AttributionOutsideModel,
		/// An attribution's weights add up to more than 100%.
		AttributionOverWhole,
		/// The id space of jobs is exhausted.
		IdsExhausted,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let parent = polkadot_sdk::frame_system::Pallet::<T>::parent_hash();
			Self::mix_seed(parent.as_ref());
			Self::update_congestion();
			let expired = Self::close_windows(now);
			let (assigned, drawn_from) = Self::assign_queued(now);
			T::WeightInfo::on_initialize(expired, assigned, drawn_from).saturating_add(
				T::Settlement::settle_weight(T::MaxJobWorkers::get())
					.saturating_mul(expired.into()),
			)
		}

		fn integrity_test() {
			assert!(T::DefaultRedundancy::get() >= 1, "DefaultRedundancy must be at least 1");
			assert!(
				T::DefaultRedundancy::get() <= T::MaxRedundancy::get(),
				"DefaultRedundancy must not exceed MaxRedundancy"
			);
			assert!(
				T::MaxJobWorkers::get() >= u32::from(T::MaxRedundancy::get()) + 2,
				"MaxJobWorkers must leave room for an escalation"
			);
			assert!(T::TargetQueuedJobs::get() >= 1, "TargetQueuedJobs must be at least 1");
			assert!(T::MaxDeadlinesPerBlock::get() >= 1, "MaxDeadlinesPerBlock must be at least 1");
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
			let fee = Self::quote(model_id, redundancy)?;
			let open = OpenJobs::<T>::get();
			ensure!(open < T::MaxQueuedJobs::get(), Error::<T>::QueueFull);
			ensure!(fee <= max_fee, Error::<T>::FeeBelowPrice);
			T::Currency::hold(&HoldReason::JobFee.into(), &requester, fee)
				.map_err(|_| Error::<T>::InsufficientBalance)?;

			let job_id = NextJobId::<T>::get();
			NextJobId::<T>::put(job_id.checked_add(1).ok_or(Error::<T>::IdsExhausted)?);
			// Every queued job is open and open jobs are fewer than the bound.
			Queue::<T>::mutate(|queue| queue.try_push(job_id).defensive_ok());
			OpenJobs::<T>::put(open.saturating_add(1));
			Jobs::<T>::insert(
				job_id,
				Job {
					requester: requester.clone(),
					model_id,
					input,
					fee,
					redundancy,
					escalated: false,
					status: JobStatus::Queued,
					workers: BoundedVec::new(),
					deadline: None,
					outcome: None,
				},
			);
			Self::deposit_event(Event::JobSubmitted { job_id, requester, fee });
			Ok(())
		}

		/// Cancels the caller's job before any worker is drawn for it and
		/// refunds its fee.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::cancel_job())]
		pub fn cancel_job(origin: OriginFor<T>, job_id: JobId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut job = Jobs::<T>::get(job_id).ok_or(Error::<T>::UnknownJob)?;
			ensure!(job.requester == who, Error::<T>::NotRequester);
			ensure!(
				job.status == JobStatus::Queued && job.workers.is_empty(),
				Error::<T>::NotCancellable
			);
			Queue::<T>::mutate(|queue| queue.retain(|queued| *queued != job_id));
			Self::refund(&job);
			job.status = JobStatus::Cancelled;
			Self::close(job_id, job);
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
			let mut job = Jobs::<T>::get(job_id).ok_or(Error::<T>::UnknownJob)?;
			ensure!(job.status == JobStatus::Committing, Error::<T>::NotCommitting);
			let slot = Self::slot(&job, &worker)?;
			ensure!(job.workers[slot].1 == WorkerResult::Assigned, Error::<T>::AlreadyCommitted);
			job.workers[slot].1 = WorkerResult::Committed(commitment);
			Self::deposit_event(Event::ResultCommitted { job_id, worker });
			if job.active().all(|(_, result)| *result != WorkerResult::Assigned) {
				job.status = JobStatus::Revealing;
				let now = polkadot_sdk::frame_system::Pallet::<T>::block_number();
				Self::schedule(job_id, &mut job, now.saturating_add(T::RevealWindow::get()));
			}
			Jobs::<T>::insert(job_id, job);
			Ok(())
		}

		/// Reveals the result the caller committed to. The last reveal of a
		/// round decides the job.
		#[pallet::call_index(3)]
		#[pallet::weight(
			T::WeightInfo::reveal_result(output.len() as u32, attribution.len() as u32)
				.saturating_add(T::Settlement::settle_weight(T::MaxJobWorkers::get()))
		)]
		pub fn reveal_result(
			origin: OriginFor<T>,
			job_id: JobId,
			output: BoundedVec<u8, T::MaxOutputLen>,
			attribution: Attribution,
			salt: Salt,
		) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			let mut job = Jobs::<T>::get(job_id).ok_or(Error::<T>::UnknownJob)?;
			ensure!(job.status == JobStatus::Revealing, Error::<T>::NotRevealing);
			let slot = Self::slot(&job, &worker)?;
			let WorkerResult::Committed(committed) = job.workers[slot].1 else {
				return Err(Error::<T>::NotCommitted.into());
			};
			let output_hash = output_hash(&output);
			ensure!(
				commitment(job_id, &worker, &output_hash, &attribution, &salt) == committed,
				Error::<T>::RevealMismatch
			);
			Self::check_attribution(job.model_id, &attribution)?;

			job.workers[slot].1 = WorkerResult::Revealed { output_hash, attribution };
			Self::mix_seed(&salt);
			Self::deposit_event(Event::ResultRevealed { job_id, worker, output_hash, output });
			if job.active().all(|(_, result)| matches!(result, WorkerResult::Revealed { .. })) {
				Self::decide(job_id, job);
			} else {
				Jobs::<T>::insert(job_id, job);
			}
			Ok(())
		}
	}
}

impl<T: Config> Pallet<T> {
	/// What a job for `model` with `redundancy` workers costs now.
	pub fn quote(model: ModelId, redundancy: u8) -> Result<BalanceOf<T>, Error<T>> {
		ensure!((1..=T::MaxRedundancy::get()).contains(&redundancy), Error::<T>::BadRedundancy);
		let model_price = T::Models::active_price(model).ok_or_else(|| {
			if T::Models::exists(model) {
				Error::<T>::ModelRetired
			} else {
				Error::<T>::UnknownModel
			}
		})?;
		let compute = T::ComputeFee::get().saturating_mul(u32::from(redundancy).into());
		Ok(model_price.saturating_add(Congestion::<T>::get().saturating_mul_int(compute)))
	}

	/// The queue's depth and bound and the congestion, for clients.
	pub fn queue_info() -> QueueInfo<BalanceOf<T>> {
		let congestion = Congestion::<T>::get();
		QueueInfo {
			depth: OpenJobs::<T>::get(),
			capacity: T::MaxQueuedJobs::get(),
			congestion_per_billion: congestion
				.saturating_mul_int(u128::from(Perbill::one().deconstruct())),
			compute_fee: congestion.saturating_mul_int(T::ComputeFee::get()),
		}
	}

	/// The open jobs `worker` is assigned to.
	pub fn assignments_of(worker: &T::AccountId) -> Vec<JobId> {
		Assignments::<T>::iter_key_prefix(worker).collect()
	}

	/// The index of `worker`'s live slot in `job`.
	fn slot(job: &JobOf<T>, worker: &T::AccountId) -> Result<usize, Error<T>> {
		job.workers
			.iter()
			.position(|(assigned, result)| assigned == worker && *result != WorkerResult::Dropped)
			.ok_or(Error::<T>::NotAssigned)
	}

	fn mix_seed(entropy: &[u8]) {
		Seed::<T>::mutate(|seed| {
			*seed = H256((seed.as_bytes(), entropy).using_encoded(blake2_256))
		});
	}

	/// Moves the congestion multiplier by up to an eighth toward the target
	/// depth: `m × (1 ± |depth − target| / (8 × target))`, within bounds.
	fn update_congestion() {
		let depth = OpenJobs::<T>::get();
		let target = T::TargetQueuedJobs::get().max(1);
		let step = FixedU128::saturating_from_rational(
			depth.abs_diff(target),
			u64::from(target).saturating_mul(8),
		);
		Congestion::<T>::mutate(|m| {
			let factor = if depth > target {
				FixedU128::one().saturating_add(step)
			} else {
				FixedU128::one().saturating_sub(step)
			};
			*m = m.saturating_mul(factor).clamp(FixedU128::one(), T::MaxCongestion::get());
		});
	}

	/// Checks a revealed attribution: distinct, approved contributions of the
	/// model's training datanets with non-zero weights adding up to at most
	/// 100%.
	fn check_attribution(model: ModelId, attribution: &Attribution) -> DispatchResult {
		let training = T::Attribution::training(model);
		let mut total: u64 = 0;
		for (i, (contribution, weight)) in attribution.iter().enumerate() {
			ensure!(!weight.is_zero(), Error::<T>::ZeroAttributionWeight);
			ensure!(
				!attribution[..i].iter().any(|(seen, _)| seen == contribution),
				Error::<T>::DuplicateAttribution
			);
			let (_, datanet) = T::Contributions::approved(*contribution)
				.ok_or(Error::<T>::AttributionNotApproved)?;
			ensure!(
				training.iter().any(|(trained_on, _)| *trained_on == datanet),
				Error::<T>::AttributionOutsideModel
			);
			total = total.saturating_add(u64::from(weight.deconstruct()));
		}
		ensure!(total <= u64::from(Perbill::one().deconstruct()), Error::<T>::AttributionOverWhole);
		Ok(())
	}

	/// Files `job_id` under the first block from `at` whose deadlines have
	/// room, after taking it out from under its previous deadline.
	///
	/// Only open jobs have deadlines, one each, so at most `MaxQueuedJobs`
	/// are filed: probing `MaxQueuedJobs / MaxDeadlinesPerBlock + 1` blocks
	/// always finds room.
	fn schedule(job_id: JobId, job: &mut JobOf<T>, at: BlockNumberFor<T>) {
		Self::unschedule(job_id, job);
		let probes = T::MaxQueuedJobs::get() / T::MaxDeadlinesPerBlock::get() + 1;
		let mut block = at;
		for _ in 0..probes {
			if Deadlines::<T>::try_append(block, job_id).is_ok() {
				job.deadline = Some(block);
				return;
			}
			block = block.saturating_add(1u32.into());
		}
		polkadot_sdk::frame_support::defensive!("no room under any probed deadline");
	}

	fn unschedule(job_id: JobId, job: &mut JobOf<T>) {
		if let Some(deadline) = job.deadline.take() {
			Deadlines::<T>::mutate(deadline, |jobs| jobs.retain(|filed| *filed != job_id));
		}
	}

	/// Closes the windows that end at `now`; returns how many jobs it handled.
	fn close_windows(now: BlockNumberFor<T>) -> u32 {
		let expiring = Deadlines::<T>::take(now);
		for &job_id in &expiring {
			let Some(mut job) = Jobs::<T>::get(job_id) else { continue };
			job.deadline = None;
			match job.status {
				JobStatus::Committing => {
					Self::drop_workers(job_id, &mut job, SlashReason::CommitTimeout, |result| {
						*result == WorkerResult::Assigned
					});
					Self::requeue(job_id, job);
				}
				JobStatus::Revealing => Self::decide(job_id, job),
				_ => Jobs::<T>::insert(job_id, job),
			}
		}
		expiring.len() as u32
	}

	/// Slashes, frees and drops every live worker of `job` whose result
	/// matches `missed`.
	fn drop_workers(
		job_id: JobId,
		job: &mut JobOf<T>,
		reason: SlashReason,
		missed: impl Fn(&WorkerResult) -> bool,
	) {
		for (worker, result) in job.workers.iter_mut() {
			if missed(result) {
				T::Staking::slash(worker, reason);
				Self::free(job_id, worker);
				*result = WorkerResult::Dropped;
			}
		}
	}

	fn free(job_id: JobId, worker: &T::AccountId) {
		T::Staking::release(worker);
		Assignments::<T>::remove(worker, job_id);
	}

	/// Puts a job under way back at the front of the queue for more workers.
	fn requeue(job_id: JobId, mut job: JobOf<T>) {
		job.status = JobStatus::Queued;
		Self::unschedule(job_id, &mut job);
		// Every queued job is open and open jobs are fewer than the bound.
		Queue::<T>::mutate(|queue| queue.try_insert(0, job_id).defensive_ok());
		Jobs::<T>::insert(job_id, job);
	}

	/// Ends a round: the strict majority's result completes the job; without
	/// one, the job escalates once and then fails.
	fn decide(job_id: JobId, mut job: JobOf<T>) {
		let mut tally: Vec<((H256, &Attribution), usize)> = Vec::new();
		for (_, result) in job.active() {
			if let WorkerResult::Revealed { output_hash, attribution } = result {
				match tally.iter_mut().find(|(key, _)| *key == (*output_hash, attribution)) {
					Some((_, votes)) => *votes += 1,
					None => tally.push(((*output_hash, attribution), 1)),
				}
			}
		}
		let majority = job.wanted() / 2 + 1;
		let winner = tally
			.into_iter()
			.find(|(_, votes)| *votes >= majority)
			.map(|((output_hash, attribution), _)| (output_hash, attribution.clone()));

		Self::drop_workers(job_id, &mut job, SlashReason::NoReveal, |result| {
			matches!(result, WorkerResult::Committed(_) | WorkerResult::Assigned)
		});
		match winner {
			Some(outcome) => Self::complete(job_id, job, outcome),
			None if !job.escalated => {
				job.escalated = true;
				Self::requeue(job_id, job);
			}
			None => Self::fail(job_id, job, FailureReason::NoQuorum),
		}
	}

	/// Pays the majority's job into settlement, rewarding the majority and
	/// slashing the minority.
	fn complete(job_id: JobId, mut job: JobOf<T>, (output_hash, attribution): (H256, Attribution)) {
		let mut majority = Vec::new();
		for (worker, result) in job.workers.iter() {
			let WorkerResult::Revealed { output_hash: revealed, attribution: attributed } = result
			else {
				continue;
			};
			if *revealed == output_hash && *attributed == attribution {
				T::Staking::reward(worker);
				majority.push(worker.clone());
			} else {
				T::Staking::slash(worker, SlashReason::Minority);
			}
			Self::free(job_id, worker);
		}
		let paid = T::Currency::transfer_on_hold(
			&HoldReason::JobFee.into(),
			&job.requester,
			&T::Settlement::account(),
			job.fee,
			Precision::Exact,
			Restriction::Free,
			Fortitude::Polite,
		);
		if let Err(error) = paid {
			log::error!(target: "runtime::compute", "job {job_id}: fee not paid: {error:?}");
			Self::refund(&job);
		} else if let Err(error) = T::Settlement::settle(CompletedJob {
			job_id,
			model_id: job.model_id,
			fee: job.fee,
			workers: &majority,
			attribution: &attribution,
		}) {
			log::error!(target: "runtime::compute", "job {job_id}: settlement failed: {error:?}");
		}
		job.status = JobStatus::Completed;
		job.outcome = Some((output_hash, attribution.clone()));
		Self::close(job_id, job);
		Self::deposit_event(Event::JobCompleted { job_id, output_hash, attribution });
	}

	/// Fails a job, freeing its workers and refunding its fee.
	fn fail(job_id: JobId, mut job: JobOf<T>, reason: FailureReason) {
		for (worker, result) in job.workers.iter() {
			if *result != WorkerResult::Dropped {
				Self::free(job_id, worker);
			}
		}
		Self::refund(&job);
		job.status = JobStatus::Failed;
		Self::close(job_id, job);
		Self::deposit_event(Event::JobFailed { job_id, reason });
	}

	fn refund(job: &JobOf<T>) {
		let refunded = T::Currency::release(
			&HoldReason::JobFee.into(),
			&job.requester,
			job.fee,
			Precision::BestEffort,
		);
		if let Err(error) = refunded {
			log::error!(target: "runtime::compute", "fee not refunded: {error:?}");
		}
	}

	/// Stores a finished job and takes it out of the open count.
	fn close(job_id: JobId, mut job: JobOf<T>) {
		Self::unschedule(job_id, &mut job);
		OpenJobs::<T>::mutate(|open| *open = open.saturating_sub(1));
		Jobs::<T>::insert(job_id, job);
	}

	/// Draws workers for queued jobs, first come first served, stopping at
	/// the first job that cannot get all the workers it needs. Returns how
	/// many jobs were handled and how many workers the draw could read.
	fn assign_queued(now: BlockNumberFor<T>) -> (u32, u32) {
		let queue = Queue::<T>::get();
		if queue.is_empty() {
			return (0, 0);
		}
		let mut candidates = T::Staking::candidates();
		let seed = Seed::<T>::get();
		let limit = T::MaxAssignmentsPerBlock::get() as usize;
		let mut handled = 0;
		for &job_id in queue.iter().take(limit) {
			let Some(mut job) = Jobs::<T>::get(job_id) else {
				handled += 1;
				continue;
			};
			let needed = job.needed();
			if job.workers.len().saturating_add(needed) > T::MaxJobWorkers::get() as usize {
				Self::fail(job_id, job, FailureReason::TooManyTimeouts);
				handled += 1;
				continue;
			}
			let Some(drawn) = draw(&candidates, needed, &job.workers, (seed, job_id)) else {
				break;
			};
			let mut workers = Vec::with_capacity(drawn.len());
			for index in drawn {
				let candidate = &mut candidates[index];
				candidate.free = candidate.free.saturating_sub(1);
				if T::Staking::occupy(&candidate.worker).is_err()
					|| job
						.workers
						.try_push((candidate.worker.clone(), WorkerResult::Assigned))
						.is_err()
				{
					polkadot_sdk::frame_support::defensive!("a drawn worker could not be assigned");
					continue;
				}
				Assignments::<T>::insert(&candidate.worker, job_id, ());
				workers.push(candidate.worker.clone());
			}
			job.status = JobStatus::Committing;
			Self::schedule(job_id, &mut job, now.saturating_add(T::CommitWindow::get()));
			let event = if job.escalated {
				Event::JobEscalated { job_id, workers }
			} else {
				Event::JobAssigned { job_id, workers }
			};
			Jobs::<T>::insert(job_id, job);
			Self::deposit_event(event);
			handled += 1;
		}
		Queue::<T>::put(BoundedVec::truncate_from(queue[handled..].to_vec()));
		(handled as u32, <T::Staking as WorkerStaking<T::AccountId>>::MaxWorkers::get())
	}
}

/// Draws `needed` distinct candidates with free capacity that are not among
/// `taken`, each with probability proportional to its weight, from the
/// randomness `seed`. Returns their indices, or `None` if too few can be drawn.
fn draw<AccountId: PartialEq, R>(
	candidates: &[Candidate<AccountId>],
	needed: usize,
	taken: &[(AccountId, R)],
	seed: impl Encode,
) -> Option<Vec<usize>> {
	let mut pool: Vec<usize> = (0..candidates.len())
		.filter(|&i| {
			let candidate = &candidates[i];
			candidate.free > 0
				&& candidate.weight > 0
				&& !taken.iter().any(|(worker, _)| *worker == candidate.worker)
		})
		.collect();
	if pool.len() < needed {
		return None;
	}
	let mut drawn = Vec::with_capacity(needed);
	for round in 0..needed as u32 {
		let total = pool.iter().fold(0u128, |sum, &i| sum.saturating_add(candidates[i].weight));
		let random = (&seed, round).using_encoded(blake2_256);
		let mut ticket = u128::from_le_bytes(random[..16].try_into().ok()?) % total.max(1);
		let position = pool
			.iter()
			.position(|&i| {
				let weight = candidates[i].weight;
				if ticket < weight {
					true
				} else {
					ticket -= weight;
					false
				}
			})
			.unwrap_or(pool.len() - 1);
		drawn.push(pool.swap_remove(position));
	}
	Some(drawn)
}
