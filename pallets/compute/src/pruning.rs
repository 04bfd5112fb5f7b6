//! Pruning: a finished job's record goes `JobRetention` blocks after it
//! finished, with its storage deposit going back to its requester, so that
//! the jobs stored stay bounded by those of the last
//! `JobRetention + max_job_lifetime()` blocks.
//!
//! Records go in the order jobs were submitted, from `PruneCursor`. Every job
//! ends within [`Pallet::max_job_lifetime`], so a job still open at the
//! cursor holds the ones behind it back for a bounded time only; in return
//! each block reads one record it cannot prune at most.

use crate::*;
use polkadot_sdk::frame_support::traits::tokens::Precision;
use tributary_primitives::Lookup;

impl<T: Config> Pallet<T> {
	/// Prunes, from the cursor on, up to `MaxPrunesPerBlock` jobs that
	/// finished at least `JobRetention` blocks before `now`. Returns how many.
	pub(crate) fn prune(now: BlockNumberFor<T>) -> u32 {
		let next = NextJobId::<T>::get();
		let mut cursor = PruneCursor::<T>::get();
		let mut pruned = 0;
		while pruned < T::MaxPrunesPerBlock::get() && cursor < next {
			let Some(job) = Jobs::<T>::get(cursor) else {
				polkadot_sdk::frame_support::defensive!("a job past the cursor has no record");
				cursor = cursor.saturating_add(1);
				continue;
			};
			let expired = job
				.finished_at
				.is_some_and(|finished| finished.saturating_add(T::JobRetention::get()) <= now);
			if !expired {
				break;
			}
			Jobs::<T>::remove(cursor);
			let deposit = T::Currency::release(
				&HoldReason::JobDeposit.into(),
				&job.requester,
				job.deposit,
				Precision::BestEffort,
			)
			.unwrap_or_else(|error| {
				polkadot_sdk::frame_support::defensive!(
					"a job's deposit could not be released",
					error
				);
				Zero::zero()
			});
			T::Settlement::pruned(cursor);
			Self::deposit_event(Event::JobPruned { job_id: cursor, deposit });
			cursor = cursor.saturating_add(1);
			pruned += 1;
		}
		PruneCursor::<T>::put(cursor);
		pruned
	}

	/// Job `job_id` as clients find it: its record, or whether it was pruned.
	pub fn lookup(job_id: JobId) -> Lookup<JobOf<T>> {
		match Jobs::<T>::get(job_id) {
			Some(job) => Lookup::Found(job),
			None if job_id < PruneCursor::<T>::get() => Lookup::Pruned,
			None => Lookup::Unknown,
		}
	}
}
