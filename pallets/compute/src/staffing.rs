//! Staffing: drawing workers for queued jobs, from the workers that serve
//! their model and from one determinism class, and re-staffing a job whose
//! worker declined it.

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
			let wanted = Wanted { model: job.model_id, class: job.class, needed: job.needed() };
			let taken = |worker: &T::AccountId| {
				job.excluded.as_ref() == Some(worker)
					|| job.workers.iter().any(|(seated, _)| seated == worker)
			};
			let Some((drawn, class)) = draw(&candidates, &wanted, taken, (seed, job_id)) else {
				waiting.push(job_id);
				continue;
			};
			job.class = Some(class);
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

	/// Releases `worker` from `job_id` before it commits, without a slash,
	/// and has the job re-staffed from the same class (or fails it when it
	/// has no room left for another worker). `JobDeclined` comes before
	/// what follows from it.
	pub(crate) fn do_decline(
		job_id: JobId,
		mut job: JobOf<T>,
		worker: &T::AccountId,
	) -> DispatchResult {
		let slot = Self::uncommitted_slot(&job, worker)?;
		job.workers[slot].1 = WorkerResult::Declined;
		Self::free(job_id, worker);
		T::Staking::declined(worker);
		Self::deposit_event(Event::JobDeclined { job_id, worker: worker.clone() });
		if job.workers.len().saturating_add(job.needed()) > T::MaxJobWorkers::get() as usize {
			// A job waiting for a replacement is in the queue: it leaves it.
			if job.status == JobStatus::Queued {
				Queue::<T>::mutate(|queue| queue.retain(|queued| *queued != job_id));
			}
			Self::fail(job_id, job, FailureReason::TooManyTimeouts);
		} else {
			if job.status == JobStatus::Committing {
				Self::enqueue(job_id, &mut job, true);
			}
			Jobs::<T>::insert(job_id, job);
		}
		Ok(())
	}
}

/// Whom a job needs.
pub(crate) struct Wanted {
	/// The model the workers must serve.
	pub model: ModelId,
	/// The class they must belong to, once the job has one.
	pub class: Option<H256>,
	/// How many more workers it needs.
	pub needed: usize,
}

/// Draws `wanted.needed` distinct candidates that serve the job's model, have
/// free capacity, are not `taken` and all belong to one determinism
/// class (the job's, once it has one), each with probability proportional to
/// its weight, from the randomness `seed`. A job without a class yet takes
/// the class of its first drawn worker, drawn among the classes that can
/// seat the whole job, so that a class's chance follows its members'
/// weight. Returns their indices and the class, or `None` if too few can be
/// drawn.
pub(crate) fn draw<AccountId>(
	candidates: &[Candidate<AccountId>],
	wanted: &Wanted,
	taken: impl Fn(&AccountId) -> bool,
	seed: impl Encode,
) -> Option<(Vec<usize>, H256)> {
	let needed = wanted.needed;
	let mut pool: Vec<usize> = (0..candidates.len())
		.filter(|&i| {
			let candidate = &candidates[i];
			candidate.free > 0
				&& candidate.weight > 0
				&& candidate.serves(wanted.model)
				&& wanted.class.is_none_or(|class| candidate.class == class)
				&& !taken(&candidate.worker)
		})
		.collect();
	if wanted.class.is_none() {
		// Sorted by class (stable, so deterministic), each class is one run:
		// keep the runs that can seat the whole job, in O(w log w).
		pool.sort_by_key(|&i| candidates[i].class);
		let mut seated = Vec::with_capacity(pool.len());
		for run in pool.chunk_by(|&a, &b| candidates[a].class == candidates[b].class) {
			if run.len() >= needed {
				seated.extend_from_slice(run);
			}
		}
		pool = seated;
	}
	if pool.len() < needed {
		return None;
	}
	let mut drawn = Vec::with_capacity(needed);
	let mut class = wanted.class;
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
		let index = pool.swap_remove(position);
		if class.is_none() {
			let first = candidates[index].class;
			pool.retain(|&i| candidates[i].class == first);
			class = Some(first);
		}
		drawn.push(index);
	}
	Some((drawn, class?))
}
