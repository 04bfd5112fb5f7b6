//! Benchmarks of the compute calls and the per-block hook, at their bounds.

use super::*;
use alloc::vec;
use polkadot_sdk::{
	frame_benchmarking::v2::*,
	frame_support::traits::Hooks,
	frame_system::{Pallet as System, RawOrigin},
	sp_crypto_hashing::blake2_256,
	sp_runtime::{traits::Bounded, Perbill},
};
use tributary_primitives::{
	commitment, output_hash, ContributionId, WorkerResult, MAX_ATTRIBUTION_ENTRIES,
};

fn requester<T: Config>() -> T::AccountId {
	let who: T::AccountId = account("requester", 0, 0);
	T::Currency::set_balance(&who, BalanceOf::<T>::max_value() / 4u32.into());
	who
}

fn input<T: Config>(len: u32) -> BoundedVec<u8, T::MaxInputLen> {
	BoundedVec::truncate_from(vec![b'q'; len as usize])
}

/// `count` workers serving `model`, each able to take every job one block
/// draws for. The first `MaxRedundancy` share one determinism class and the
/// rest alternate between it and another, so that the draw sorts classes
/// and either class can seat a job.
fn workers<T: Config>(count: u32, model: ModelId) -> Vec<T::AccountId> {
	let seated = u32::from(T::MaxRedundancy::get());
	(0..count)
		.map(|i| {
			let who: T::AccountId = account("worker", i, 0);
			let engine: &[u8] = if i < seated || i % 2 == 0 { b"engine a" } else { b"engine b" };
			T::BenchmarkHelper::worker(&who, T::MaxAssignmentsPerBlock::get(), model, engine);
			who
		})
		.collect()
}

fn submit<T: Config>(requester: &T::AccountId, model: ModelId, redundancy: u8) -> JobId {
	let id = NextJobId::<T>::get();
	Pallet::<T>::submit_job(
		RawOrigin::Signed(requester.clone()).into(),
		model,
		input::<T>(T::MaxInputLen::get()),
		BalanceOf::<T>::max_value(),
		Some(redundancy),
	)
	.expect("submitting a job");
	id
}

/// Leaves room for one more open job: the queue's and the count's worst case.
fn fill_queue<T: Config>() {
	let others = T::MaxQueuedJobs::get().saturating_sub(1);
	let fake = (0..others).map(|i| JobId::MAX - u64::from(i)).collect::<Vec<_>>();
	Queue::<T>::put(BoundedVec::truncate_from(fake));
	OpenJobs::<T>::put(others);
}

/// Fills the deadlines of every block a job could be filed under from `at`
/// but the last, so filing probes them all.
fn fill_deadlines<T: Config>(at: BlockNumberFor<T>) {
	let probes = T::MaxQueuedJobs::get() / T::MaxDeadlinesPerBlock::get() + 1;
	let mut block = at;
	for probe in 0..probes {
		let room = if probe + 1 == probes { 1 } else { 0 };
		let fake = (0..T::MaxDeadlinesPerBlock::get() - room)
			.map(|i| JobId::MAX - u64::from(probe * 1_000 + i))
			.collect::<Vec<_>>();
		Deadlines::<T>::insert(block, BoundedVec::truncate_from(fake));
		block = block.saturating_add(1u32.into());
	}
}

fn attribution(contributions: &[ContributionId]) -> Attribution {
	let weight = Perbill::from_rational(1, MAX_ATTRIBUTION_ENTRIES);
	BoundedVec::truncate_from(contributions.iter().map(|&c| (c, weight)).collect())
}

/// Files the job under its deadline among `MaxDeadlinesPerBlock - 1`
/// others, so that taking it out scans a full bucket.
fn crowd_deadline<T: Config>(job: JobId) {
	let deadline = Jobs::<T>::get(job).and_then(|job| job.deadline).expect("a scheduled job");
	let mut filed =
		(1..T::MaxDeadlinesPerBlock::get()).map(|i| JobId::MAX - u64::from(i)).collect::<Vec<_>>();
	filed.push(job);
	Deadlines::<T>::insert(deadline, BoundedVec::truncate_from(filed));
}

/// A job of the most redundancy with its workers drawn.
fn assigned_job<T: Config>(contributions: u32) -> (JobId, Vec<T::AccountId>, Vec<ContributionId>) {
	let owner: T::AccountId = account("owner", 0, 0);
	let (model, contributions) = T::BenchmarkHelper::model(&owner, contributions);
	workers::<T>(u32::from(T::MaxRedundancy::get()), model);
	let job = submit::<T>(&requester::<T>(), model, T::MaxRedundancy::get());
	T::BenchmarkHelper::randomness();
	Pallet::<T>::assign_queued(System::<T>::block_number());
	let workers = Jobs::<T>::get(job).expect("submitted").workers.into_iter().map(|(w, _)| w);
	(job, workers.collect(), contributions)
}

/// A job record with the largest input, no fee, deposit or deadline, written
/// straight to storage by the benchmarks that need many jobs in a state.
fn job_record<T: Config>(
	requester: &T::AccountId,
	model: ModelId,
	redundancy: u8,
	status: JobStatus,
	workers: Vec<(T::AccountId, WorkerResult)>,
) -> JobOf<T> {
	Job {
		requester: requester.clone(),
		model_id: model,
		input: input::<T>(T::MaxInputLen::get()),
		fee: Zero::zero(),
		deposit: Zero::zero(),
		redundancy,
		status,
		workers: BoundedVec::truncate_from(workers),
		class: None,
		excluded: None,
		deadline: None,
		outcome: None,
		finished_at: None,
	}
}

fn salt<T: Config>(worker: &T::AccountId) -> Salt {
	worker.using_encoded(blake2_256)
}

fn commit_as<T: Config>(
	job: JobId,
	worker: &T::AccountId,
	output: &[u8],
	attribution: &Attribution,
) {
	let hash = commitment(job, worker, &output_hash(output), attribution, &salt::<T>(worker));
	Pallet::<T>::commit_result(RawOrigin::Signed(worker.clone()).into(), job, hash)
		.expect("committing");
}

fn reveal_as<T: Config>(
	job: JobId,
	worker: &T::AccountId,
	output: &[u8],
	attribution: &Attribution,
) {
	Pallet::<T>::reveal_result(
		RawOrigin::Signed(worker.clone()).into(),
		job,
		BoundedVec::truncate_from(output.to_vec()),
		attribution.clone(),
		salt::<T>(worker),
	)
	.expect("revealing");
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn submit_job(i: Linear<0, { T::MaxInputLen::get() }>) {
		let owner: T::AccountId = account("owner", 0, 0);
		let (model, _) = T::BenchmarkHelper::model(&owner, 0);
		let who = requester::<T>();
		fill_queue::<T>();
		#[extrinsic_call]
		_(
			RawOrigin::Signed(who),
			model,
			input::<T>(i),
			BalanceOf::<T>::max_value(),
			Some(T::MaxRedundancy::get()),
		);
		assert_eq!(OpenJobs::<T>::get(), T::MaxQueuedJobs::get());
	}

	/// The costlier of the two cases a job can be cancelled in: drawn, its
	/// workers freed and its deadline taken out of a full bucket, with a full
	/// queue scanned.
	#[benchmark]
	fn cancel_job() {
		let (job, workers, _) = assigned_job::<T>(0);
		assert_eq!(workers.len(), usize::from(T::MaxRedundancy::get()));
		fill_queue::<T>();
		crowd_deadline::<T>(job);
		#[extrinsic_call]
		_(RawOrigin::Signed(requester::<T>()), job);
		assert_eq!(Jobs::<T>::get(job).expect("submitted").status, JobStatus::Cancelled);
	}

	#[benchmark]
	fn commit_result() {
		let (job, workers, _) = assigned_job::<T>(0);
		let empty = Attribution::default();
		let (last, others) = workers.split_last().expect("workers were drawn");
		for worker in others {
			commit_as::<T>(job, worker, b"answer", &empty);
		}
		crowd_deadline::<T>(job);
		let now = System::<T>::block_number().saturating_add(1u32.into());
		System::<T>::set_block_number(now);
		fill_deadlines::<T>(now.saturating_add(T::RevealWindow::get()));
		let hash = commitment(job, last, &output_hash(b"answer"), &empty, &salt::<T>(last));
		#[extrinsic_call]
		_(RawOrigin::Signed(last.clone()), job, hash);
		assert_eq!(Jobs::<T>::get(job).expect("submitted").status, JobStatus::Revealing);
	}

	/// The last reveal of a round, which completes the job and slashes a
	/// dissenting worker.
	#[benchmark]
	fn reveal_result(
		o: Linear<0, { T::MaxOutputLen::get() }>,
		n: Linear<0, MAX_ATTRIBUTION_ENTRIES>,
	) {
		let (job, workers, contributions) = assigned_job::<T>(n);
		let agreed = attribution(&contributions);
		let output = vec![b'a'; o as usize];
		let (dissenter, rest) = workers.split_first().expect("workers were drawn");
		let (last, agreeing) = rest.split_last().expect("at least three workers");
		commit_as::<T>(job, dissenter, b"other", &agreed);
		for worker in rest {
			commit_as::<T>(job, worker, &output, &agreed);
		}
		reveal_as::<T>(job, dissenter, b"other", &agreed);
		for worker in agreeing {
			reveal_as::<T>(job, worker, &output, &agreed);
		}
		crowd_deadline::<T>(job);
		#[extrinsic_call]
		_(
			RawOrigin::Signed(last.clone()),
			job,
			BoundedVec::truncate_from(output.clone()),
			agreed.clone(),
			salt::<T>(last),
		);
		assert_eq!(Jobs::<T>::get(job).expect("submitted").status, JobStatus::Completed);
	}

	/// A decline that sends its job back to the front of a full queue,
	/// filed under the last deadline it probes, out of a full bucket.
	#[benchmark]
	fn decline_job_requeued() {
		let (job, workers, _) = assigned_job::<T>(0);
		fill_queue::<T>();
		crowd_deadline::<T>(job);
		fill_deadlines::<T>(System::<T>::block_number().saturating_add(T::StaffingWindow::get()));
		#[extrinsic_call]
		decline_job(RawOrigin::Signed(workers[0].clone()), job);
		let record = Jobs::<T>::get(job).expect("submitted");
		assert_eq!(record.status, JobStatus::Queued);
		assert_eq!(Queue::<T>::get().first(), Some(&job));
	}

	/// A decline that leaves its job no room for a replacement: the job
	/// fails, its other workers are freed and its fee refunded.
	#[benchmark]
	fn decline_job_failed() {
		let (job, workers, _) = assigned_job::<T>(0);
		Jobs::<T>::mutate(job, |record| {
			let record = record.as_mut().expect("submitted");
			let mut i = 0;
			while record.workers.try_push((account("gone", i, 0), WorkerResult::Dropped)).is_ok() {
				i += 1;
			}
		});
		crowd_deadline::<T>(job);
		#[extrinsic_call]
		decline_job(RawOrigin::Signed(workers[0].clone()), job);
		assert_eq!(Jobs::<T>::get(job).expect("submitted").status, JobStatus::Failed);
	}

	/// `d` reveal windows closing on completed rounds, `a` queued jobs of the
	/// most redundancy drawn for from `w` workers, `p` finished jobs pruned.
	#[benchmark]
	fn on_initialize(
		d: Linear<0, { T::MaxDeadlinesPerBlock::get() }>,
		a: Linear<0, { T::MaxAssignmentsPerBlock::get() }>,
		w: Linear<
			{ u32::from(T::MaxRedundancy::get()) },
			{ <T::Staking as WorkerStaking<T::AccountId>>::MaxWorkers::get() },
		>,
		p: Linear<0, { T::MaxPrunesPerBlock::get() }>,
	) {
		let owner: T::AccountId = account("owner", 0, 0);
		let (model, contributions) = T::BenchmarkHelper::model(&owner, MAX_ATTRIBUTION_ENTRIES);
		let workers = workers::<T>(w, model);
		let who = requester::<T>();
		System::<T>::set_block_number(T::JobRetention::get());
		let now = System::<T>::block_number().saturating_add(1u32.into());
		let redundancy = T::MaxRedundancy::get();

		// `p` jobs that finished a retention window ago, the largest records,
		// ahead of the open jobs below, whose first record stops the pruning.
		let first = NextJobId::<T>::get();
		PruneCursor::<T>::put(first);
		let deposit = Pallet::<T>::deposit_for(T::MaxInputLen::get() as usize);
		for job_id in first..first + u64::from(p) {
			T::Currency::hold(&HoldReason::JobDeposit.into(), &who, deposit)
				.expect("a funded requester");
			let mut job =
				job_record::<T>(&who, model, redundancy, JobStatus::Cancelled, Vec::new());
			job.deposit = deposit;
			job.finished_at = Some(Zero::zero());
			Jobs::<T>::insert(job_id, job);
		}
		NextJobId::<T>::put(first + u64::from(p));

		let agreed = attribution(&contributions);
		let fee = Pallet::<T>::quote(model, redundancy).expect("an active model");
		for round in 0..d {
			let job_id = NextJobId::<T>::get();
			NextJobId::<T>::put(job_id + 1);
			T::Currency::hold(&HoldReason::JobFee.into(), &who, fee).expect("a funded requester");
			// A different worker dissents in each round, so that no worker's
			// stake is slashed below the minimum and the draw still has `w`.
			let dissenter = round as usize % usize::from(redundancy);
			let results = workers.iter().take(redundancy.into()).enumerate().map(|(i, worker)| {
				let output_hash = H256::repeat_byte(if i == dissenter { 0 } else { 1 });
				(
					worker.clone(),
					WorkerResult::Revealed { output_hash, attribution: agreed.clone() },
				)
			});
			let mut job =
				job_record::<T>(&who, model, redundancy, JobStatus::Revealing, results.collect());
			job.fee = fee;
			job.deadline = Some(now);
			Jobs::<T>::insert(job_id, job);
			Deadlines::<T>::try_append(now, job_id).expect("room for the deadline");
			OpenJobs::<T>::mutate(|open| *open += 1);
		}
		let queued: Vec<_> = (0..a).map(|_| submit::<T>(&who, model, redundancy)).collect();
		T::BenchmarkHelper::randomness();

		#[block]
		{
			Pallet::<T>::on_initialize(now);
		}

		assert!(Queue::<T>::get().is_empty());
		for job in queued {
			assert_eq!(Jobs::<T>::get(job).expect("submitted").status, JobStatus::Committing);
		}
		assert_eq!(OpenJobs::<T>::get(), a);
		assert_eq!(PruneCursor::<T>::get(), first + u64::from(p));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
