//! The quorum: commitments, reveals, and the decision a strict majority
//! makes, with the rewards, slashes and refunds that follow it.

use crate::*;
use polkadot_sdk::{
	frame_support::{
		storage::with_storage_layer,
		traits::tokens::{Fortitude, Precision, Restriction},
	},
	sp_runtime::Perbill,
};
use tributary_primitives::{commitment, output_hash, CompletedJob, SlashReason, WorkerResult};

impl<T: Config> Pallet<T> {
	/// The open jobs `worker` is assigned to.
	pub fn assignments_of(worker: &T::AccountId) -> Vec<JobId> {
		Assignments::<T>::iter_key_prefix(worker).collect()
	}

	/// Records `worker`'s commitment; the last one of a round opens the
	/// reveal window.
	pub(crate) fn do_commit(
		job_id: JobId,
		mut job: JobOf<T>,
		worker: &T::AccountId,
		commitment: H256,
	) -> DispatchResult {
		let slot = Self::uncommitted_slot(&job, worker)?;
		job.workers[slot].1 = WorkerResult::Committed(commitment);
		// A job waiting for a replacement stays queued until its new worker
		// is drawn and commits too.
		if job.status == JobStatus::Committing
			&& job.active().all(|(_, result)| *result != WorkerResult::Assigned)
		{
			job.status = JobStatus::Revealing;
			let now = polkadot_sdk::frame_system::Pallet::<T>::block_number();
			Self::schedule(job_id, &mut job, now.saturating_add(T::RevealWindow::get()));
		}
		Jobs::<T>::insert(job_id, job);
		Ok(())
	}

	/// Records `worker`'s reveal once it matches its commitment; the last
	/// one of a round decides the job. Returns the weight of the settlement
	/// it ran, if any.
	pub(crate) fn do_reveal(
		job_id: JobId,
		mut job: JobOf<T>,
		worker: &T::AccountId,
		output: &BoundedVec<u8, T::MaxOutputLen>,
		attribution: Attribution,
		salt: &Salt,
	) -> Result<Weight, DispatchError> {
		ensure!(job.status == JobStatus::Revealing, Error::<T>::NotRevealing);
		let slot = Self::slot(&job, worker)?;
		let WorkerResult::Committed(committed) = job.workers[slot].1 else {
			return Err(Error::<T>::NotCommitted.into());
		};
		let output_hash = output_hash(output);
		ensure!(
			commitment(job_id, worker, &output_hash, &attribution, salt) == committed,
			Error::<T>::RevealMismatch
		);
		Self::check_attribution(job.model_id, &attribution)?;

		job.workers[slot].1 = WorkerResult::Revealed { output_hash, attribution };
		Self::deposit_event(Event::ResultRevealed {
			job_id,
			worker: worker.clone(),
			output_hash,
			output: output.clone(),
		});
		if job.active().all(|(_, result)| matches!(result, WorkerResult::Revealed { .. })) {
			Ok(Self::decide(job_id, job))
		} else {
			Jobs::<T>::insert(job_id, job);
			Ok(Weight::zero())
		}
	}

	/// The index of `worker`'s slot in `job` while it may still commit or
	/// decline: assigned, with the job committing, or queued for a
	/// replacement of another worker.
	pub(crate) fn uncommitted_slot(
		job: &JobOf<T>,
		worker: &T::AccountId,
	) -> Result<usize, Error<T>> {
		ensure!(
			matches!(job.status, JobStatus::Committing | JobStatus::Queued),
			Error::<T>::NotCommitting
		);
		let slot = Self::slot(job, worker)?;
		ensure!(job.workers[slot].1 == WorkerResult::Assigned, Error::<T>::AlreadyCommitted);
		Ok(slot)
	}

	/// The index of `worker`'s live slot in `job`.
	fn slot(job: &JobOf<T>, worker: &T::AccountId) -> Result<usize, Error<T>> {
		job.workers
			.iter()
			.position(|(assigned, result)| assigned == worker && result.counts())
			.ok_or(Error::<T>::NotAssigned)
	}

	/// Checks a revealed attribution against what the model was trained on:
	/// distinct contributions of the model's training datanets, whatever
	/// their status now (a withdrawal after training does not make an honest
	/// result wrong; settlement pays only what can still earn), with non-zero
	/// weights adding up to at most 100%.
	pub(crate) fn check_attribution(model: ModelId, attribution: &Attribution) -> DispatchResult {
		let training = T::Attribution::training(model);
		let mut total: u64 = 0;
		for (i, (contribution, weight)) in attribution.iter().enumerate() {
			ensure!(!weight.is_zero(), Error::<T>::ZeroAttributionWeight);
			ensure!(
				!attribution[..i].iter().any(|(seen, _)| seen == contribution),
				Error::<T>::DuplicateAttribution
			);
			match T::Contributions::datanet_of(*contribution) {
				Some(datanet) => ensure!(
					training.iter().any(|(trained_on, ..)| *trained_on == datanet),
					Error::<T>::AttributionOutsideModel
				),
				// Withdrawn since the model was trained on it: still a valid
				// part of the answer; settlement pays it nothing.
				None => ensure!(
					T::Contributions::removed(*contribution),
					Error::<T>::UnknownContribution
				),
			}
			total = total.saturating_add(u64::from(weight.deconstruct()));
		}
		ensure!(total <= u64::from(Perbill::one().deconstruct()), Error::<T>::AttributionOverWhole);
		Ok(())
	}

	/// Ends a job's reveal round: the silent are slashed, and the strict
	/// majority's result completes the job; without one the job fails and is
	/// refunded, and nobody who revealed is slashed. Returns the weight of
	/// the settlement it ran.
	pub(crate) fn decide(job_id: JobId, mut job: JobOf<T>) -> Weight {
		let mut tally: Vec<((H256, &Attribution), usize)> = Vec::new();
		for (_, result) in job.active() {
			if let WorkerResult::Revealed { output_hash, attribution } = result {
				match tally.iter_mut().find(|(key, _)| *key == (*output_hash, attribution)) {
					Some((_, votes)) => *votes += 1,
					None => tally.push(((*output_hash, attribution), 1)),
				}
			}
		}
		let majority = job.majority();
		let winner = tally
			.into_iter()
			.find(|(_, votes)| *votes >= majority)
			.map(|((output_hash, attribution), _)| (output_hash, attribution.clone()));

		Self::drop_workers(job_id, &mut job, SlashReason::NoReveal, |result| {
			matches!(result, WorkerResult::Committed(_) | WorkerResult::Assigned)
		});
		match winner {
			Some(outcome) => Self::complete(job_id, job, outcome),
			None => {
				Self::fail(job_id, job, FailureReason::NoQuorum);
				Weight::zero()
			}
		}
	}

	/// Slashes, frees and drops every live worker of `job` whose result
	/// matches `missed`.
	pub(crate) fn drop_workers(
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

	pub(crate) fn free(job_id: JobId, worker: &T::AccountId) {
		T::Staking::release(worker);
		Assignments::<T>::remove(worker, job_id);
	}

	/// Frees every worker still counting for `job`.
	pub(crate) fn free_active(job_id: JobId, job: &JobOf<T>) {
		for (worker, _) in job.active() {
			Self::free(job_id, worker);
		}
	}

	/// Pays the majority's job into settlement, rewarding the majority and
	/// slashing the minority. Returns the weight of the settlement.
	fn complete(
		job_id: JobId,
		mut job: JobOf<T>,
		(output_hash, attribution): (H256, Attribution),
	) -> Weight {
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
		// Paying the fee in and dividing it succeed or fail together.
		let settled = with_storage_layer(|| {
			T::Currency::transfer_on_hold(
				&HoldReason::JobFee.into(),
				&job.requester,
				&T::Settlement::account(),
				job.fee,
				Precision::Exact,
				Restriction::Free,
				Fortitude::Polite,
			)?;
			T::Settlement::settle(CompletedJob {
				job_id,
				model_id: job.model_id,
				fee: job.fee,
				workers: &majority,
				attribution: &attribution,
			})
		});
		let settled = settled.unwrap_or_else(|error| {
			Self::refund(&job);
			Self::deposit_event(Event::SettlementFailed { job_id, error });
			T::Settlement::settle_weight(majority.len() as u32)
		});
		job.status = JobStatus::Completed;
		job.outcome = Some((output_hash, attribution.clone()));
		Self::close(job_id, job);
		Self::deposit_event(Event::JobCompleted { job_id, output_hash, attribution });
		settled
	}

	/// Fails a job, freeing its workers and refunding its fee.
	pub(crate) fn fail(job_id: JobId, mut job: JobOf<T>, reason: FailureReason) {
		Self::free_active(job_id, &job);
		Self::refund(&job);
		job.status = JobStatus::Failed;
		Self::close(job_id, job);
		Self::deposit_event(Event::JobFailed { job_id, reason });
	}
}
