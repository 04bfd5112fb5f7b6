//! Deadlines: every open job is filed under the block at which its current
//! window (staffing, commit or reveal) closes, so that each block touches
//! only what expires then, and every job ends within a bound.

use crate::*;

impl<T: Config> Pallet<T> {
	/// The most blocks any job stays open, from its submission to its end
	/// (completed, failed and refunded, or cancelled), whatever its workers
	/// do.
	///
	/// A job is staffed at most `MaxJobWorkers` times, since every staffing
	/// adds at least one worker to its record and a job that would need more
	/// fails instead. Each staffing waits at most `StaffingWindow` blocks and
	/// is followed by a commit window; the last commit opens one reveal
	/// window. A deadline slips by at most `MaxQueuedJobs /
	/// MaxDeadlinesPerBlock` blocks when the blocks it asks for are full.
	pub fn max_job_lifetime() -> BlockNumberFor<T> {
		let slip: BlockNumberFor<T> =
			(T::MaxQueuedJobs::get() / T::MaxDeadlinesPerBlock::get()).into();
		let round = T::StaffingWindow::get()
			.saturating_add(T::CommitWindow::get())
			.saturating_add(slip)
			.saturating_add(slip);
		round
			.saturating_mul(T::MaxJobWorkers::get().into())
			.saturating_add(T::RevealWindow::get())
			.saturating_add(slip)
	}

	/// Files `job_id` under the first block from `at` whose deadlines have
	/// room, after taking it out from under its previous deadline.
	///
	/// Only open jobs have deadlines, one each, so at most `MaxQueuedJobs`
	/// are filed: probing `MaxQueuedJobs / MaxDeadlinesPerBlock + 1` blocks
	/// always finds room.
	pub(crate) fn schedule(job_id: JobId, job: &mut JobOf<T>, at: BlockNumberFor<T>) {
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

	/// Takes `job_id` out from under its deadline.
	pub(crate) fn unschedule(job_id: JobId, job: &mut JobOf<T>) {
		if let Some(deadline) = job.deadline.take() {
			Deadlines::<T>::mutate(deadline, |jobs| jobs.retain(|filed| *filed != job_id));
		}
	}

	/// Closes the windows that end at `now`: a job still unstaffed fails, a
	/// job with silent workers is re-staffed (or fails when it has no room
	/// left for more workers), a job in its reveal window is decided. Returns
	/// how many jobs it handled and the weight of the settlements it ran.
	pub(crate) fn close_windows(now: BlockNumberFor<T>) -> (u32, Weight) {
		let expiring = Deadlines::<T>::take(now);
		let mut unstaffed = Vec::new();
		let mut settled = Weight::zero();
		for &job_id in &expiring {
			let Some(mut job) = Jobs::<T>::get(job_id) else { continue };
			job.deadline = None;
			match job.status {
				JobStatus::Queued => {
					unstaffed.push(job_id);
					Self::fail(job_id, job, FailureReason::Unstaffed);
				}
				JobStatus::Committing => {
					Self::drop_workers(
						job_id,
						&mut job,
						tributary_primitives::SlashReason::CommitTimeout,
						|result| *result == tributary_primitives::WorkerResult::Assigned,
					);
					if job.workers.len().saturating_add(job.needed())
						> T::MaxJobWorkers::get() as usize
					{
						Self::fail(job_id, job, FailureReason::TooManyTimeouts);
					} else {
						Self::enqueue(job_id, &mut job, true);
						Jobs::<T>::insert(job_id, job);
					}
				}
				JobStatus::Revealing => settled = settled.saturating_add(Self::decide(job_id, job)),
				_ => Jobs::<T>::insert(job_id, job),
			}
		}
		if !unstaffed.is_empty() {
			Queue::<T>::mutate(|queue| queue.retain(|queued| !unstaffed.contains(queued)));
		}
		(expiring.len() as u32, settled)
	}
}
