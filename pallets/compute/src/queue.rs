//! The job queue: submission, the price and its congestion multiplier, and
//! cancelling.

use crate::*;
use polkadot_sdk::{
	frame_support::traits::{fungible::MutateHold, tokens::Precision, DefensiveResult},
	sp_runtime::Perbill,
};
use tributary_primitives::QueueInfo;

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
		Ok(model_price.saturating_add(Self::compute_quote(redundancy)))
	}

	/// The compute part of a price: `ComputeFee` per worker at the current
	/// congestion. An audit's job pays only this: the receipt it reruns paid
	/// the model already.
	fn compute_quote(redundancy: u8) -> BalanceOf<T> {
		let compute = T::ComputeFee::get().saturating_mul(u32::from(redundancy).into());
		Congestion::<T>::get().saturating_mul_int(compute)
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

	/// Holds the price of a new job from `requester` and queues the job with
	/// a staffing deadline; returns its id and fee. An audit's job comes
	/// with its class and the worker it audits, who is never drawn.
	pub(crate) fn do_submit(
		requester: &T::AccountId,
		model_id: ModelId,
		input: BoundedVec<u8, T::MaxInputLen>,
		max_fee: BalanceOf<T>,
		redundancy: u8,
		audit: Option<(H256, T::AccountId)>,
	) -> Result<(JobId, BalanceOf<T>), DispatchError> {
		let quoted = Self::quote(model_id, redundancy)?;
		let fee = if audit.is_some() { Self::compute_quote(redundancy) } else { quoted };
		let open = OpenJobs::<T>::get();
		ensure!(open < T::MaxQueuedJobs::get(), Error::<T>::QueueFull);
		ensure!(fee <= max_fee, Error::<T>::FeeBelowPrice);
		let job_id = NextJobId::<T>::get();
		let next = job_id.checked_add(1).ok_or(Error::<T>::IdsExhausted)?;
		let deposit = Self::deposit_for(input.len());
		for (reason, amount) in [(HoldReason::JobFee, fee), (HoldReason::JobDeposit, deposit)] {
			T::Currency::hold(&reason.into(), requester, amount).map_err(|error| {
				tributary_primitives::funds_error(error, Error::<T>::InsufficientBalance)
			})?;
		}
		NextJobId::<T>::put(next);
		OpenJobs::<T>::put(open.saturating_add(1));
		let (class, excluded) = audit.unzip();
		let mut job = Job {
			requester: requester.clone(),
			model_id,
			input,
			fee,
			deposit,
			redundancy,
			status: JobStatus::Queued,
			workers: BoundedVec::new(),
			class,
			excluded,
			deadline: None,
			outcome: None,
			finished_at: None,
		};
		Self::enqueue(job_id, &mut job, false);
		Jobs::<T>::insert(job_id, job);
		Ok((job_id, fee))
	}

	/// Holds the price of an audit's job from `payer` (its compute part
	/// only): its input checked against the bound, its class fixed, `audited`
	/// never drawn; redundancy is the default.
	fn submit_audit_job(
		payer: &T::AccountId,
		model: ModelId,
		input: Vec<u8>,
		class: H256,
		audited: &T::AccountId,
		max_fee: BalanceOf<T>,
	) -> Result<JobId, DispatchError> {
		let input = BoundedVec::try_from(input).map_err(|_| Error::<T>::InputTooLong)?;
		let redundancy = T::DefaultRedundancy::get();
		let audit = Some((class, audited.clone()));
		let (job_id, fee) = Self::do_submit(payer, model, input, max_fee, redundancy, audit)?;
		Self::deposit_event(Event::JobSubmitted { job_id, requester: payer.clone(), fee });
		Ok(job_id)
	}

	/// Puts `job` in the queue, at the front if it is already under way,
	/// with the deadline by which it must be staffed.
	pub(crate) fn enqueue(job_id: JobId, job: &mut JobOf<T>, front: bool) {
		job.status = JobStatus::Queued;
		// Every queued job is open and open jobs are fewer than the bound.
		Queue::<T>::mutate(|queue| {
			let queued = if front { queue.try_insert(0, job_id) } else { queue.try_push(job_id) };
			queued.defensive_ok()
		});
		let now = polkadot_sdk::frame_system::Pallet::<T>::block_number();
		Self::schedule(job_id, job, now.saturating_add(T::StaffingWindow::get()));
	}

	/// Takes back a job nobody has committed to: its workers are freed
	/// without a slash and its fee refunded.
	pub(crate) fn do_cancel(job_id: JobId, mut job: JobOf<T>) {
		Queue::<T>::mutate(|queue| queue.retain(|queued| *queued != job_id));
		Self::free_active(job_id, &job);
		Self::refund(&job);
		job.status = JobStatus::Cancelled;
		Self::close(job_id, job);
	}

	/// Gives a finished job's fee back to its requester.
	pub(crate) fn refund(job: &JobOf<T>) {
		let refunded = T::Currency::release(
			&HoldReason::JobFee.into(),
			&job.requester,
			job.fee,
			Precision::BestEffort,
		);
		if let Err(error) = refunded {
			polkadot_sdk::frame_support::defensive!(
				"a job's held fee could not be released",
				error
			);
		}
	}

	/// The storage deposit of a job with `input_len` bytes of input.
	pub fn deposit_for(input_len: usize) -> BalanceOf<T> {
		let bytes: BalanceOf<T> = (input_len as u32).into();
		T::JobDepositBase::get().saturating_add(T::JobDepositPerByte::get().saturating_mul(bytes))
	}

	/// Stores a finished job, takes it out of the open count and tells
	/// `Outcomes` how it ended.
	pub(crate) fn close(job_id: JobId, mut job: JobOf<T>) {
		Self::unschedule(job_id, &mut job);
		job.finished_at = Some(polkadot_sdk::frame_system::Pallet::<T>::block_number());
		OpenJobs::<T>::mutate(|open| *open = open.saturating_sub(1));
		let outcome = job.outcome.clone();
		Jobs::<T>::insert(job_id, job);
		T::Outcomes::finished(job_id, outcome.as_ref());
	}

	/// Moves the congestion multiplier by at most an eighth toward the target
	/// depth: `m × (1 ± min(|depth − target|, target) / (8 × target))`,
	/// within bounds.
	pub(crate) fn update_congestion() {
		let depth = OpenJobs::<T>::get();
		let target = T::TargetQueuedJobs::get().max(1);
		let step = FixedU128::saturating_from_rational(
			depth.abs_diff(target).min(target),
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
}

impl<T: Config> tributary_primitives::AuditJobs<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn submit_audit(
		payer: &T::AccountId,
		model: ModelId,
		input: Vec<u8>,
		class: H256,
		audited: &T::AccountId,
		max_fee: BalanceOf<T>,
	) -> Result<JobId, DispatchError> {
		Self::submit_audit_job(payer, model, input, class, audited, max_fee)
	}

	fn queue_full() -> bool {
		OpenJobs::<T>::get() >= T::MaxQueuedJobs::get()
	}

	fn audit_price(model: ModelId) -> Result<BalanceOf<T>, DispatchError> {
		let redundancy = T::DefaultRedundancy::get();
		Self::quote(model, redundancy)?;
		Ok(Self::compute_quote(redundancy))
	}
}
