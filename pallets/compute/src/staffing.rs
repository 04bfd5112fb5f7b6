//! Staffing: drawing workers for queued jobs.

use crate::*;
use polkadot_sdk::sp_crypto_hashing::blake2_256;
use tributary_primitives::{Candidate, WorkerResult};

/// What the draw asks the randomness source for.
const DRAW_SUBJECT: &[u8] = b"tributary/compute/draw";

impl<T: Config> Pallet<T> {
	/// Draws workers for the first `MaxAssignmentsPerBlock` queued jobs. A
	/// job that cannot get all the workers it needs now goes to the back of
	/// the queue, so that it never holds up the jobs behind it; its staffing
	/// deadline ends its wait. Returns how many jobs were examined and how
	/// many workers the draw could read.
	pub(crate) fn assign_queued(now: BlockNumberFor<T>) -> (u32, u32) {
		let queue = Queue::<T>::get();
		if queue.is_empty() {
			return (0, 0);
		}
		let (Some(seed), _) = T::Randomness::random(DRAW_SUBJECT) else {
			return (0, 0);
		};
		let mut candidates = T::Staking::candidates();
		let examined = queue.len().min(T::MaxAssignmentsPerBlock::get() as usize);
		let mut waiting = Vec::new();
		for &job_id in &queue[..examined] {
			let Some(mut job) = Jobs::<T>::get(job_id) else {
				polkadot_sdk::frame_support::defensive!("a queued job has no record");
				continue;
			};
			let Some(drawn) = draw(&candidates, job.needed(), &job.workers, (seed, job_id)) else {
				waiting.push(job_id);
				continue;
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
			Jobs::<T>::insert(job_id, job);
			Self::deposit_event(Event::JobAssigned { job_id, workers });
		}
		let mut rest = queue[examined..].to_vec();
		rest.extend(waiting);
		Queue::<T>::put(BoundedVec::truncate_from(rest));
		(examined as u32, <T::Staking as WorkerStaking<T::AccountId>>::MaxWorkers::get())
	}
}

/// Draws `needed` distinct candidates with free capacity that are not among
/// `taken`, each with probability proportional to its weight, from the
/// randomness `seed`. Returns their indices, or `None` if too few can be drawn.
pub(crate) fn draw<AccountId: PartialEq, R>(
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
