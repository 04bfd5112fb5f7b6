use crate::{
	mock::*,
	staffing::{draw, Wanted},
	Assignments, Congestion, Deadlines, Error, Event, HoldReason, Jobs, OpenJobs, Queue,
};
use polkadot_sdk::{
	frame_support::{
		assert_noop, assert_ok,
		traits::{
			fungible::{Inspect, InspectHold, Mutate},
			Hooks,
		},
		BoundedVec,
	},
	frame_system::RawOrigin,
	sp_core::H256,
	sp_runtime::{DispatchError, FixedU128, Perbill, TokenError},
	sp_weights::Weight,
};
use tributary_primitives::{
	commitment, output_hash, Attribution, Candidate, ContributionId, FailureReason, JobId,
	JobStatus, Lookup, ModelId, SlashReason, WorkerResult,
};

/// Runs blocks up to and including `n`, each with the pallet's hook.
fn run_to(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Compute::on_initialize(next);
	}
}

/// Five workers, a datanet with four contributions, a model trained on it.
fn setup() -> (ModelId, Vec<ContributionId>) {
	workers(1, 5);
	let (datanet, contributions) = Helper::datanet(4);
	(Helper::model_on(datanet), contributions)
}

fn submit(model: ModelId) -> JobId {
	let id = crate::NextJobId::<Test>::get();
	assert_ok!(Compute::submit_job(
		RawOrigin::Signed(REQUESTER).into(),
		model,
		BoundedVec::truncate_from(b"what is a datanet?".to_vec()),
		1_000,
		None,
	));
	id
}

fn workers_of(job: JobId) -> Vec<AccountId> {
	Jobs::<Test>::get(job)
		.unwrap()
		.workers
		.iter()
		.filter(|(_, result)| result.counts())
		.map(|(worker, _)| *worker)
		.collect()
}

fn attribution(entries: &[(ContributionId, u32)]) -> Attribution {
	BoundedVec::truncate_from(
		entries.iter().map(|&(id, percent)| (id, Perbill::from_percent(percent))).collect(),
	)
}

/// A worker's result: output, attribution and salt.
struct Answer {
	output: Vec<u8>,
	attribution: Attribution,
	salt: [u8; 32],
}

fn answer(output: &[u8], attribution: Attribution, worker: AccountId) -> Answer {
	Answer { output: output.to_vec(), attribution, salt: [worker as u8; 32] }
}

fn commit(job: JobId, worker: AccountId, answer: &Answer) {
	assert_ok!(Compute::commit_result(
		RawOrigin::Signed(worker).into(),
		job,
		commitment(job, &worker, &output_hash(&answer.output), &answer.attribution, &answer.salt),
	));
}

fn reveal(
	job: JobId,
	worker: AccountId,
	answer: &Answer,
) -> polkadot_sdk::frame_support::dispatch::DispatchResultWithPostInfo {
	Compute::reveal_result(
		RawOrigin::Signed(worker).into(),
		job,
		BoundedVec::truncate_from(answer.output.clone()),
		answer.attribution.clone(),
		answer.salt,
	)
}

/// Every worker of `job` that has yet to commit commits and reveals the
/// answer `answers` gives it.
fn answer_all(job: JobId, answers: impl Fn(AccountId) -> Answer) {
	let workers: Vec<_> = Jobs::<Test>::get(job)
		.unwrap()
		.workers
		.iter()
		.filter(|(_, result)| *result == WorkerResult::Assigned)
		.map(|(worker, _)| *worker)
		.collect();
	for &worker in &workers {
		commit(job, worker, &answers(worker));
	}
	for &worker in &workers {
		assert_ok!(reveal(job, worker, &answers(worker)));
	}
}

fn events() -> Vec<Event<Test>> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::Compute(event) => Some(event),
			_ => None,
		})
		.collect()
}

fn slashes() -> Vec<(AccountId, SlashReason)> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::WorkerStaking(pallet_worker_staking::Event::Slashed {
				worker,
				reason,
				..
			}) => Some((worker, reason)),
			_ => None,
		})
		.collect()
}

fn fee_held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::JobFee.into(), &who)
}

fn deposit_held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::JobDeposit.into(), &who)
}

/// The deposit of a job submitted with [`submit`].
fn deposit() -> Balance {
	Compute::deposit_for(b"what is a datanet?".len())
}

fn open_jobs_of(worker: AccountId) -> u32 {
	pallet_worker_staking::Workers::<Test>::get(worker).unwrap().open_jobs
}

#[test]
fn submission_holds_the_price_and_queues_the_job() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		let job = submit(model);
		// The model's 100 plus 10 for each of the 3 default workers.
		assert_eq!(fee_held(REQUESTER), 130);
		assert_eq!(Queue::<Test>::get().into_inner(), vec![job]);
		assert_eq!(OpenJobs::<Test>::get(), 1);
		let stored = Jobs::<Test>::get(job).unwrap();
		assert_eq!((stored.status, stored.redundancy, stored.fee), (JobStatus::Queued, 3, 130));
		assert_eq!(
			events().last(),
			Some(&Event::JobSubmitted { job_id: job, requester: REQUESTER, fee: 130 })
		);
	});
}

#[test]
fn submission_refuses_what_it_cannot_run() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		let attempt = |who, model, max_fee, redundancy| {
			Compute::submit_job(
				RawOrigin::Signed(who).into(),
				model,
				BoundedVec::new(),
				max_fee,
				redundancy,
			)
		};
		assert_noop!(attempt(REQUESTER, 77, 1_000, None), Error::<Test>::UnknownModel);
		assert_noop!(attempt(REQUESTER, model, 1_000, Some(0)), Error::<Test>::BadRedundancy);
		assert_noop!(attempt(REQUESTER, model, 1_000, Some(6)), Error::<Test>::BadRedundancy);
		assert_noop!(attempt(REQUESTER, model, 129, None), Error::<Test>::FeeBelowPrice);
		assert_noop!(attempt(999, model, 1_000, None), Error::<Test>::InsufficientBalance);
		for _ in 0..8 {
			submit(model);
		}
		assert_noop!(attempt(REQUESTER, model, 1_000, None), Error::<Test>::QueueFull);

		assert_ok!(Registry::retire_model(RawOrigin::Signed(MODEL_OWNER).into(), model));
		assert_noop!(attempt(REQUESTER, model, 1_000, None), Error::<Test>::ModelRetired);
	});
}

#[test]
fn jobs_get_distinct_workers_within_their_capacity() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		// Five workers with two slots each: ten slots, and four jobs want twelve.
		let jobs: Vec<_> = (0..4).map(|_| submit(model)).collect();
		run_to(2);
		for &job in &jobs[..3] {
			let mut workers = workers_of(job);
			assert_eq!(workers.len(), 3);
			workers.sort();
			workers.dedup();
			assert_eq!(workers.len(), 3, "workers of a job are distinct");
			assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Committing);
		}
		assert!(WORKERS.take(5).all(|worker| open_jobs_of(worker) <= 2));
		assert_eq!(Queue::<Test>::get().into_inner(), vec![jobs[3]]);
		assert_eq!(Jobs::<Test>::get(jobs[3]).unwrap().status, JobStatus::Queued);

		answer_all(jobs[0], |w| answer(b"yes", attribution(&[]), w));
		run_to(3);
		assert_eq!(workers_of(jobs[3]).len(), 3);
		assert!(Queue::<Test>::get().is_empty());
	});
}

#[test]
fn a_fee_that_cannot_be_settled_is_refunded() {
	new_test_ext().execute_with(|| {
		let (model, contributions) = setup();
		let free = Balances::balance(&REQUESTER);
		let job = submit(model);
		run_to(2);
		let error = DispatchError::Token(TokenError::BelowMinimum);
		SETTLEMENT_FAILS.with(|fails| *fails.borrow_mut() = Some(error));
		let agreed = attribution(&[(contributions[0], 60)]);
		answer_all(job, |w| answer(b"yes", agreed.clone(), w));

		// The result stands; nothing of the fee reached settlement.
		let stored = Jobs::<Test>::get(job).unwrap();
		assert_eq!(stored.status, JobStatus::Completed);
		assert!(events().contains(&Event::SettlementFailed { job_id: job, error }));
		assert!(SETTLED.with(|settled| settled.borrow().is_empty()));
		assert_eq!(Balances::balance(&SETTLEMENT), 1);
		assert_eq!(fee_held(REQUESTER), 0);
		assert_eq!(Balances::balance(&REQUESTER), free - deposit());
		assert_eq!(deposit_held(REQUESTER), deposit());
	});
}

#[test]
fn a_unanimous_result_completes_the_job_and_goes_to_settlement() {
	new_test_ext().execute_with(|| {
		let (model, contributions) = setup();
		let job = submit(model);
		run_to(2);
		let workers = workers_of(job);
		assert_eq!(assignments_of_all(&workers), vec![job; 3]);
		let agreed = attribution(&[(contributions[0], 60), (contributions[2], 30)]);
		answer_all(job, |w| answer(b"a datanet is...", agreed.clone(), w));

		let stored = Jobs::<Test>::get(job).unwrap();
		assert_eq!(stored.status, JobStatus::Completed);
		assert_eq!(stored.outcome, Some((output_hash(b"a datanet is..."), agreed.clone())));
		assert_eq!(
			events().last(),
			Some(&Event::JobCompleted {
				job_id: job,
				output_hash: output_hash(b"a datanet is..."),
				attribution: agreed.clone(),
			})
		);
		SETTLED.with(|settled| {
			let mut majority = workers.clone();
			majority.sort();
			let (id, settled_model, fee, mut paid, settled_attribution) =
				settled.borrow()[0].clone();
			paid.sort();
			assert_eq!(
				(id, settled_model, fee, paid, settled_attribution),
				(job, model, 130, majority, agreed)
			);
		});
		assert_eq!(Balances::balance(&SETTLEMENT), 131);
		assert_eq!(fee_held(REQUESTER), 0);
		assert_eq!(OpenJobs::<Test>::get(), 0);
		assert!(assignments_of_all(&workers).is_empty());
		for worker in workers {
			let record = pallet_worker_staking::Workers::<Test>::get(worker).unwrap();
			assert_eq!(record.open_jobs, 0);
			assert!(record.reputation > pallet_worker_staking::INITIAL_REPUTATION);
		}
		assert!(slashes().is_empty());
	});
}

fn assignments_of_all(workers: &[AccountId]) -> Vec<JobId> {
	workers.iter().flat_map(|worker| Compute::assignments_of(worker)).collect()
}

#[test]
fn the_minority_is_slashed() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		let job = submit(model);
		run_to(2);
		let workers = workers_of(job);
		let dissenter = workers[1];
		answer_all(job, |w| {
			answer(if w == dissenter { b"no" } else { b"yes" }, attribution(&[]), w)
		});
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
		assert_eq!(slashes(), vec![(dissenter, SlashReason::Minority)]);
		assert_eq!(pallet_worker_staking::Workers::<Test>::get(dissenter).unwrap().stake, 1_800);
		SETTLED.with(|settled| assert_eq!(settled.borrow()[0].3.len(), 2));
	});
}

#[test]
fn commits_are_refused_out_of_turn() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		let job = submit(model);
		let commit_as =
			|who| Compute::commit_result(RawOrigin::Signed(who).into(), job, H256::zero());
		assert_noop!(
			Compute::commit_result(RawOrigin::Signed(1).into(), 42, H256::zero()),
			Error::<Test>::UnknownJob
		);
		// Nobody is drawn for a new job yet.
		assert_noop!(commit_as(1), Error::<Test>::NotAssigned);
		run_to(2);
		let workers = workers_of(job);
		let outsider = WORKERS.clone().find(|w| !workers.contains(w)).unwrap();
		assert_noop!(commit_as(outsider), Error::<Test>::NotAssigned);
		assert_ok!(commit_as(workers[0]));
		assert_noop!(commit_as(workers[0]), Error::<Test>::AlreadyCommitted);
	});
}

#[test]
fn reveals_are_refused_unless_they_match_a_commitment() {
	new_test_ext().execute_with(|| {
		let (model, contributions) = setup();
		let job = submit(model);
		run_to(2);
		let workers = workers_of(job);
		let good = |w| answer(b"yes", attribution(&[(contributions[0], 100)]), w);
		commit(job, workers[0], &good(workers[0]));
		assert_noop!(reveal(job, workers[0], &good(workers[0])), Error::<Test>::NotRevealing);
		commit(job, workers[1], &good(workers[1]));
		commit(job, workers[2], &good(workers[2]));

		let mut wrong_salt = good(workers[0]);
		wrong_salt.salt = [0xee; 32];
		assert_noop!(reveal(job, workers[0], &wrong_salt), Error::<Test>::RevealMismatch);
		let mut other_output = good(workers[0]);
		other_output.output = b"no".to_vec();
		assert_noop!(reveal(job, workers[0], &other_output), Error::<Test>::RevealMismatch);
		// Another worker's answer, salt included, does not open this worker's commitment.
		assert_noop!(reveal(job, workers[0], &good(workers[1])), Error::<Test>::RevealMismatch);
		let outsider = WORKERS.clone().find(|w| !workers.contains(w)).unwrap();
		assert_noop!(reveal(job, outsider, &good(outsider)), Error::<Test>::NotAssigned);

		assert_ok!(reveal(job, workers[0], &good(workers[0])));
		assert_noop!(reveal(job, workers[0], &good(workers[0])), Error::<Test>::NotCommitted);
	});
}

#[test]
fn attributions_must_name_the_models_training_contributions() {
	new_test_ext().execute_with(|| {
		let (model, contributions) = setup();
		let (_, elsewhere) = Helper::datanet(1);
		let check = |entries: &[(ContributionId, u32)]| {
			Compute::check_attribution(model, &attribution(entries))
		};
		assert_ok!(check(&[]));
		assert_ok!(check(&[(contributions[0], 50), (contributions[1], 50)]));
		assert_noop!(check(&[(contributions[0], 0)]), Error::<Test>::ZeroAttributionWeight);
		assert_noop!(
			check(&[(contributions[0], 10), (contributions[0], 10)]),
			Error::<Test>::DuplicateAttribution
		);
		assert_noop!(check(&[(999, 10)]), Error::<Test>::UnknownContribution);
		assert_noop!(check(&[(elsewhere[0], 10)]), Error::<Test>::AttributionOutsideModel);
		assert_noop!(
			check(&[(contributions[0], 60), (contributions[1], 50)]),
			Error::<Test>::AttributionOverWhole
		);
		assert_ok!(Registry::withdraw_contribution(
			RawOrigin::Signed(MODEL_OWNER).into(),
			contributions[3]
		));
		// What the model was trained on stays a valid answer after a withdrawal.
		assert_ok!(check(&[(contributions[3], 10)]));

		// The same refusal through the call, for a worker that committed to it.
		let job = submit(model);
		run_to(2);
		let workers = workers_of(job);
		let bad = |w| answer(b"yes", attribution(&[(elsewhere[0], 10)]), w);
		for &worker in &workers {
			commit(job, worker, &bad(worker));
		}
		assert_noop!(
			reveal(job, workers[0], &bad(workers[0])),
			Error::<Test>::AttributionOutsideModel
		);
	});
}

#[test]
fn a_worker_that_does_not_commit_is_slashed_and_replaced() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		let job = submit(model);
		run_to(2);
		let first = workers_of(job);
		let late = first[2];
		for &worker in &first[..2] {
			commit(job, worker, &answer(b"yes", attribution(&[]), worker));
		}
		// The commit window of 5 blocks closes at block 7.
		run_to(6);
		assert!(slashes().is_empty());
		run_to(7);
		assert_eq!(slashes(), vec![(late, SlashReason::CommitTimeout)]);
		assert_eq!(open_jobs_of(late), 0);
		// Requeued at once and drawn again in the same block.
		let now = workers_of(job);
		assert_eq!(now.len(), 3);
		assert!(!now.contains(&late));
		let replacement = now[2];
		assert_eq!(
			events().last(),
			Some(&Event::JobAssigned { job_id: job, workers: vec![replacement] })
		);
		commit(job, replacement, &answer(b"yes", attribution(&[]), replacement));
		for &worker in &now {
			assert_ok!(reveal(job, worker, &answer(b"yes", attribution(&[]), worker)));
		}
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
	});
}

#[test]
fn a_silent_revealer_is_slashed_and_the_majority_still_completes() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		let job = submit(model);
		run_to(2);
		let workers = workers_of(job);
		for &worker in &workers {
			commit(job, worker, &answer(b"yes", attribution(&[]), worker));
		}
		for &worker in &workers[..2] {
			assert_ok!(reveal(job, worker, &answer(b"yes", attribution(&[]), worker)));
		}
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Revealing);
		run_to(7);
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
		assert_eq!(slashes(), vec![(workers[2], SlashReason::NoReveal)]);
		assert_eq!(open_jobs_of(workers[2]), 0);
	});
}

#[test]
fn a_split_round_fails_and_refunds_and_slashes_only_the_silent() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		let job = submit(model);
		let balance = Balances::balance(&REQUESTER);
		run_to(2);
		let workers = workers_of(job);
		let said = |w: AccountId| answer(&[w as u8], attribution(&[]), w);
		for &worker in &workers {
			commit(job, worker, &said(worker));
		}
		// Two reveal different answers; the third stays silent.
		for &worker in &workers[..2] {
			assert_ok!(reveal(job, worker, &said(worker)));
		}
		run_to(7);
		let stored = Jobs::<Test>::get(job).unwrap();
		assert_eq!(stored.status, JobStatus::Failed);
		assert_eq!(
			events().last(),
			Some(&Event::JobFailed { job_id: job, reason: FailureReason::NoQuorum })
		);
		// Nothing says which revealed answer was honest: only the silent pays.
		assert_eq!(slashes(), vec![(workers[2], SlashReason::NoReveal)]);
		assert_eq!(fee_held(REQUESTER), 0);
		assert_eq!(Balances::balance(&REQUESTER), balance + 130);
		assert!(WORKERS.take(5).all(|worker| open_jobs_of(worker) == 0));
		assert_eq!(OpenJobs::<Test>::get(), 0);
		assert!(SETTLED.with(|settled| settled.borrow().is_empty()));
	});
}

#[test]
fn a_copied_answer_cannot_decide_a_job() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		workers(6, 8);
		let job = submit(model);
		run_to(2);
		let first = workers_of(job);
		// The vote splits three ways in the open.
		answer_all(job, |w| answer(&[w as u8], attribution(&[]), w));
		// Nobody is drawn after the reveals to break the tie with a copy of
		// one of them: the job is over.
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Failed);
		run_to(20);
		assert_eq!(workers_of(job), first);
		let draws = events()
			.iter()
			.filter(|event| matches!(event, Event::JobAssigned { job_id, .. } if *job_id == job))
			.count();
		assert_eq!(draws, 1);
		let late = (1..=8).find(|w| !first.contains(w)).unwrap();
		assert_noop!(
			Compute::commit_result(RawOrigin::Signed(late).into(), job, H256::zero()),
			Error::<Test>::NotCommitting
		);
	});
}

#[test]
fn a_job_whose_workers_keep_timing_out_fails() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		workers(6, 8);
		let job = submit(model);
		run_to(2);
		// Nobody commits: three drops, three replacements, three drops, and
		// nine workers would not fit in eight seats.
		run_to(7);
		assert_eq!(Jobs::<Test>::get(job).unwrap().workers.len(), 6);
		run_to(12);
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Failed);
		assert_eq!(
			events().last(),
			Some(&Event::JobFailed { job_id: job, reason: FailureReason::TooManyTimeouts })
		);
		assert_eq!(slashes().len(), 6);
		assert_eq!(fee_held(REQUESTER), 0);
	});
}

#[test]
fn a_finished_job_is_pruned_after_its_retention_and_its_deposit_returned() {
	new_test_ext().execute_with(|| {
		let (datanet, _) = Helper::datanet(1);
		let model = Helper::model_on(datanet);
		let balance = Balances::balance(&REQUESTER);
		let job = submit(model);
		assert_eq!(Jobs::<Test>::get(job).unwrap().deposit, deposit());
		assert_ok!(Compute::cancel_job(RawOrigin::Signed(REQUESTER).into(), job));
		assert_eq!(Jobs::<Test>::get(job).unwrap().finished_at, Some(1));
		run_to(JobRetention::get());
		assert!(matches!(Compute::lookup(job), Lookup::Found(_)));
		run_to(1 + JobRetention::get());
		assert!(matches!(Compute::lookup(job), Lookup::Pruned));
		assert!(matches!(Compute::lookup(job + 1), Lookup::Unknown));
		assert!(events().contains(&Event::JobPruned { job_id: job, deposit: deposit() }));
		assert_eq!(PRUNED.with(|pruned| pruned.borrow().clone()), vec![job]);
		assert_eq!(Balances::balance(&REQUESTER), balance);
	});
}

#[test]
fn a_requester_who_cannot_cover_the_deposit_submits_nothing() {
	new_test_ext().execute_with(|| {
		let (datanet, _) = Helper::datanet(1);
		let model = Helper::model_on(datanet);
		let poor = 77;
		// The fee of 130 and the existential deposit, not the record's deposit.
		Balances::set_balance(&poor, 130 + Balances::minimum_balance());
		assert_noop!(
			Compute::submit_job(
				RawOrigin::Signed(poor).into(),
				model,
				BoundedVec::truncate_from(b"what is a datanet?".to_vec()),
				1_000,
				None,
			),
			Error::<Test>::InsufficientBalance
		);
	});
}

#[test]
fn storage_stays_bounded_over_a_long_stream_of_jobs() {
	new_test_ext().execute_with(|| {
		let (datanet, _) = Helper::datanet(1);
		let model = Helper::model_on(datanet);
		// Two jobs a block submitted and cancelled, for twenty retention
		// windows: a record costs no more than a transaction's fee and a
		// refundable deposit, so this is the cheapest way to fill storage.
		let per_block = 2;
		let blocks = 20 * JobRetention::get();
		let mut most = 0;
		for block in 1..=blocks {
			run_to(block);
			for _ in 0..per_block {
				let job = submit(model);
				assert_ok!(Compute::cancel_job(RawOrigin::Signed(REQUESTER).into(), job));
			}
			let stored = Jobs::<Test>::iter_keys().count() as u64;
			most = most.max(stored);
			// Those of the last retention window, and of the current block.
			assert!(stored <= per_block * (JobRetention::get() + 1), "{stored} records at {block}");
			assert_eq!(deposit_held(REQUESTER), stored as Balance * deposit());
		}
		println!(
			"{} jobs over {blocks} blocks: at most {most} records stored at once",
			per_block * blocks
		);
		assert_eq!(crate::PruneCursor::<Test>::get(), per_block * (blocks - JobRetention::get()));
	});
}

#[test]
fn cancel_refunds_a_job_until_its_first_commitment() {
	new_test_ext().execute_with(|| {
		let (datanet, _) = Helper::datanet(1);
		let model = Helper::model_on(datanet);
		let balance = Balances::balance(&REQUESTER);
		let job = submit(model);
		let cancel = |who, job| Compute::cancel_job(RawOrigin::Signed(who).into(), job);
		assert_noop!(cancel(REQUESTER, 99), Error::<Test>::UnknownJob);
		assert_noop!(cancel(MODEL_OWNER, job), Error::<Test>::NotRequester);
		assert_ok!(cancel(REQUESTER, job));
		// The fee comes back; the record's deposit stays until it is pruned.
		assert_eq!(Balances::balance(&REQUESTER), balance - deposit());
		assert_eq!(deposit_held(REQUESTER), deposit());
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Cancelled);
		assert!(Queue::<Test>::get().is_empty());
		assert_eq!(OpenJobs::<Test>::get(), 0);
		assert!(Deadlines::<Test>::iter().all(|(_, jobs)| !jobs.contains(&job)));
		assert_noop!(cancel(REQUESTER, job), Error::<Test>::NotCancellable);

		// Drawn but not committed to: the workers are freed unslashed.
		workers(1, 4);
		let assigned = submit(model);
		run_to(2);
		let drawn = workers_of(assigned);
		assert_ok!(cancel(REQUESTER, assigned));
		assert_eq!(Balances::balance(&REQUESTER), balance - 2 * deposit());
		assert!(drawn.iter().all(|&w| open_jobs_of(w) == 0));
		assert!(drawn.iter().all(|&w| Compute::assignments_of(&w).is_empty()));
		assert!(slashes().is_empty());
		run_to(20);
		assert!(slashes().is_empty(), "a cancelled job's deadline never fires");

		// One commitment and the job is the workers' to finish.
		let committed = submit(model);
		run_to(21);
		let worker = workers_of(committed)[0];
		commit(committed, worker, &answer(b"yes", attribution(&[]), worker));
		assert_noop!(cancel(REQUESTER, committed), Error::<Test>::NotCancellable);
	});
}

/// Runs to `deadline`: `job` waits queued until the block before, then fails
/// as unstaffed.
fn fails_unstaffed_at(job: JobId, deadline: u64) {
	run_to(deadline - 1);
	assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Queued);
	run_to(deadline);
	assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Failed);
	assert_eq!(
		events().last(),
		Some(&Event::JobFailed { job_id: job, reason: FailureReason::Unstaffed })
	);
}

#[test]
fn an_unstaffable_job_never_holds_up_the_jobs_behind_it() {
	new_test_ext().execute_with(|| {
		let (datanet, _) = Helper::datanet(1);
		let model = Helper::model_on(datanet);
		workers(1, 4);
		let balance = Balances::balance(&REQUESTER);
		// Five workers wanted, four exist.
		let big = crate::NextJobId::<Test>::get();
		assert_ok!(Compute::submit_job(
			RawOrigin::Signed(REQUESTER).into(),
			model,
			BoundedVec::new(),
			1_000,
			Some(5),
		));
		let small = submit(model);
		run_to(2);
		assert_eq!(Jobs::<Test>::get(big).unwrap().status, JobStatus::Queued);
		assert_eq!(Jobs::<Test>::get(small).unwrap().status, JobStatus::Committing);
		answer_all(small, |w| answer(b"yes", attribution(&[]), w));
		assert_eq!(Jobs::<Test>::get(small).unwrap().status, JobStatus::Completed);
		// Submitted at block 1 with a staffing window of 20 blocks.
		fails_unstaffed_at(big, 21);
		assert!(Queue::<Test>::get().is_empty());
		assert_eq!(OpenJobs::<Test>::get(), 0);
		assert_eq!(fee_held(REQUESTER), 0);
		assert_eq!(Balances::balance(&REQUESTER) + deposit_held(REQUESTER), balance - 130);
	});
}

#[test]
fn a_job_whose_workers_all_timed_out_fails_when_nobody_is_left_to_staff_it() {
	new_test_ext().execute_with(|| {
		let (datanet, _) = Helper::datanet(1);
		let model = Helper::model_on(datanet);
		workers(1, 3);
		let job = submit(model);
		run_to(2);
		// Nobody commits; the three are dropped at block 7 and there is
		// nobody else to draw.
		run_to(7);
		let stored = Jobs::<Test>::get(job).unwrap();
		assert_eq!(stored.status, JobStatus::Queued);
		assert_eq!(slashes().len(), 3);
		// A job queued behind it gets the same three at once and completes.
		let behind = submit(model);
		run_to(8);
		assert_eq!(Queue::<Test>::get().into_inner(), vec![job]);
		answer_all(behind, |w| answer(b"yes", attribution(&[]), w));
		assert_eq!(Jobs::<Test>::get(behind).unwrap().status, JobStatus::Completed);
		// Requeued at block 7 with a staffing window of 20 blocks.
		fails_unstaffed_at(job, 27);
		assert_eq!(fee_held(REQUESTER), 0);
		assert!(System::block_number() - 1 <= Compute::max_job_lifetime());
	});
}

#[test]
fn a_withdrawn_contribution_does_not_fail_honest_reveals() {
	new_test_ext().execute_with(|| {
		let (model, contributions) = setup();
		let c0 = contributions[0];
		let job = submit(model);
		run_to(2);
		let workers = workers_of(job);
		let honest = |w| answer(b"yes", attribution(&[(c0, 60)]), w);
		for &worker in &workers {
			commit(job, worker, &honest(worker));
		}
		assert_ok!(Registry::withdraw_contribution(RawOrigin::Signed(MODEL_OWNER).into(), c0));
		for &worker in &workers {
			assert_ok!(reveal(job, worker, &honest(worker)));
		}
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
		assert!(slashes().is_empty());
		// And every later job naming it completes too.
		let next = submit(model);
		run_to(3);
		answer_all(next, honest);
		assert_eq!(Jobs::<Test>::get(next).unwrap().status, JobStatus::Completed);
		assert!(slashes().is_empty());
	});
}

#[test]
fn unbonding_does_not_escape_the_slash_of_an_open_job() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		let job = submit(model);
		run_to(2);
		let workers = workers_of(job);
		let leaver = workers[0];
		for &worker in &workers {
			commit(job, worker, &answer(b"yes", attribution(&[]), worker));
		}
		assert_ok!(WorkerStaking::unbond(RawOrigin::Signed(leaver).into(), 2_000));
		// The unbonding period of 10 blocks passes while the job is open.
		System::set_block_number(20);
		assert_noop!(
			WorkerStaking::withdraw_unbonded(RawOrigin::Signed(leaver).into()),
			pallet_worker_staking::Error::<Test>::HasOpenJobs
		);
		for &worker in &workers[1..] {
			assert_ok!(reveal(job, worker, &answer(b"yes", attribution(&[]), worker)));
		}
		let deadline = Jobs::<Test>::get(job).unwrap().deadline.unwrap();
		System::set_block_number(deadline - 1);
		run_to(deadline);
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
		assert_eq!(slashes(), vec![(leaver, SlashReason::NoReveal)]);
		let record = pallet_worker_staking::Workers::<Test>::get(leaver).unwrap();
		assert_eq!(pallet_worker_staking::Pallet::<Test>::total_held(&record), 1_800);
		// With the job over, the rest of the unbonded stake comes out.
		System::set_block_number(20);
		assert_ok!(WorkerStaking::withdraw_unbonded(RawOrigin::Signed(leaver).into()));
	});
}

#[test]
fn the_last_reveal_is_charged_for_the_settlement_it_ran() {
	use crate::weights::WeightInfo;
	new_test_ext().execute_with(|| {
		let (model, contributions) = setup();
		let job = submit(model);
		run_to(2);
		let workers = workers_of(job);
		let said = |w| answer(b"yes", attribution(&[(contributions[0], 10)]), w);
		for &worker in &workers {
			commit(job, worker, &said(worker));
		}
		// Every reveal is charged for telling `Outcomes` how the job ended
		// (the mock's weighs 5 000), since any reveal may end it.
		let reveal_weight = <() as WeightInfo>::reveal_result(3, 1) + Weight::from_parts(5_000, 0);
		let first = reveal(job, workers[0], &said(workers[0])).unwrap();
		assert_eq!(first.actual_weight, Some(reveal_weight));
		reveal(job, workers[1], &said(workers[1])).unwrap();
		let last = reveal(job, workers[2], &said(workers[2])).unwrap();
		// The mock's settlement weighs 1 000 per majority worker.
		assert_eq!(last.actual_weight, Some(reveal_weight + Weight::from_parts(3_000, 0)));
	});
}

#[test]
fn congestion_raises_the_price_while_the_queue_is_over_target() {
	new_test_ext().execute_with(|| {
		let (datanet, _) = Helper::datanet(1);
		let model = Helper::model_on(datanet);
		// No workers: every job stays queued until its staffing window ends.
		for _ in 0..8 {
			submit(model);
		}
		run_to(2);
		// Eight open jobs are three times over the target of two, yet the
		// multiplier moves by an eighth: 1 × (1 + min(6, 2) / 16).
		assert_eq!(Congestion::<Test>::get(), FixedU128::from_rational(9, 8));
		assert_eq!(Compute::quote(model, 3).ok(), Some(100 + 33));
		run_to(16);
		assert_eq!(Congestion::<Test>::get(), FixedU128::from_u32(4));
		assert_eq!(Compute::queue_info().compute_fee, 40);
		assert_eq!(Compute::queue_info().congestion_per_billion, 4_000_000_000);

		for job in 0..8 {
			assert_ok!(Compute::cancel_job(RawOrigin::Signed(REQUESTER).into(), job));
		}
		run_to(80);
		assert_eq!(Congestion::<Test>::get(), FixedU128::from_u32(1));
		assert_eq!(Compute::quote(model, 3).ok(), Some(130));
	});
}

#[test]
fn deadlines_overflow_into_the_next_block() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		workers(6, 8);
		// Two deadlines fit a block; three jobs are drawn for in block 2.
		let jobs: Vec<_> = (0..3).map(|_| submit(model)).collect();
		run_to(2);
		assert_eq!(Deadlines::<Test>::get(7).into_inner(), vec![jobs[0], jobs[1]]);
		assert_eq!(Deadlines::<Test>::get(8).into_inner(), vec![jobs[2]]);
		assert_eq!(Jobs::<Test>::get(jobs[2]).unwrap().deadline, Some(8));
		// A commit round that ends moves the job to its reveal deadline.
		for &worker in &workers_of(jobs[0]) {
			commit(jobs[0], worker, &answer(b"yes", attribution(&[]), worker));
		}
		assert_eq!(Deadlines::<Test>::get(7).into_inner(), vec![jobs[1], jobs[0]]);
		assert_eq!(Jobs::<Test>::get(jobs[0]).unwrap().deadline, Some(7));
		assert_eq!(Jobs::<Test>::get(jobs[0]).unwrap().status, JobStatus::Revealing);
	});
}

fn candidate(worker: u64, weight: u128, free: u32, class: u8) -> Candidate<u64> {
	Candidate { worker, weight, free, class: H256::repeat_byte(class), models: vec![0, 2] }
}

fn wanted(needed: usize, class: Option<u8>) -> Wanted {
	Wanted { model: 0, class: class.map(H256::repeat_byte), needed }
}

#[test]
fn the_draw_is_weighted_and_never_reuses_a_worker() {
	let candidates = vec![
		candidate(1, 1, 1, 0),
		candidate(2, 3, 1, 0),
		candidate(3, 5, 0, 0),
		candidate(4, 0, 1, 0),
	];
	let none = |_: &u64| false;
	let indices = |drawn: Option<(Vec<usize>, H256)>| drawn.map(|(indices, _)| indices);
	assert_eq!(draw(&candidates, &wanted(3, None), none, 0u32), None, "only two can be drawn");
	assert_eq!(
		indices(draw(&candidates, &wanted(1, None), |w: &u64| *w == 2, 0u32)),
		Some(vec![0])
	);
	let heavy = (0..2_000u32)
		.filter(|seed| indices(draw(&candidates, &wanted(1, None), none, seed)) == Some(vec![1]))
		.count();
	assert!((1_400..1_600).contains(&heavy), "weight 3 of 4 drew {heavy} of 2000");
	for seed in 0..100u32 {
		let mut both = indices(draw(&candidates, &wanted(2, None), none, seed)).unwrap();
		both.sort();
		assert_eq!(both, vec![0, 1]);
	}
}

#[test]
fn the_draw_takes_only_workers_that_serve_the_model() {
	let mut candidates = vec![candidate(1, 1, 1, 0), candidate(2, 1, 1, 0), candidate(3, 1, 1, 0)];
	candidates[1].models = vec![1];
	let none = |_: &u64| false;
	assert_eq!(draw(&candidates, &wanted(3, None), none, 0u32), None, "worker 2 serves model 1");
	for seed in 0..50u32 {
		let (mut drawn, _) = draw(&candidates, &wanted(2, None), none, seed).unwrap();
		drawn.sort();
		assert_eq!(drawn, vec![0, 2]);
	}
}

#[test]
fn the_draw_never_mixes_determinism_classes() {
	// Classes 0 and 1 can each seat three; class 2 only two.
	let candidates: Vec<_> =
		(0..8u64).map(|i| candidate(i, 1 + i as u128, 1, [0, 1, 2][i as usize % 3])).collect();
	let none = |_: &u64| false;
	let mut classes_seen = Vec::new();
	for seed in 0..500u32 {
		let (drawn, class) = draw(&candidates, &wanted(3, None), none, seed).unwrap();
		assert!(drawn.iter().all(|&i| candidates[i].class == class), "mixed: {drawn:?}");
		assert_ne!(class, H256::repeat_byte(2), "class 2 cannot seat three");
		if !classes_seen.contains(&class) {
			classes_seen.push(class);
		}
	}
	assert_eq!(classes_seen.len(), 2, "both classes that can seat the job are drawn");
	// A job that has a class takes replacements from it only.
	for seed in 0..50u32 {
		let (drawn, class) = draw(&candidates, &wanted(2, Some(2)), none, seed).unwrap();
		assert_eq!(class, H256::repeat_byte(2));
		assert!(drawn.iter().all(|&i| candidates[i].class == class));
	}
	assert_eq!(draw(&candidates, &wanted(3, Some(2)), none, 0u32), None);
}

#[test]
fn a_worker_finds_its_open_jobs_after_a_restart() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		let job = submit(model);
		run_to(2);
		let worker = workers_of(job)[0];
		assert_eq!(Compute::assignments_of(&worker), vec![job]);
		assert!(Assignments::<Test>::contains_key(worker, job));
		answer_all(job, |w| answer(b"yes", attribution(&[]), w));
		assert!(Compute::assignments_of(&worker).is_empty());
	});
}

#[test]
fn two_colluding_liars_out_of_three_win_their_round() {
	// Redundancy buys safety only while honest workers are the majority: two
	// of three agreeing on a lie complete the job, and the honest one is
	// slashed as the minority. Stake-weighted random draws make such a pair
	// costly to arrange, and the VRF draw keeps anyone from choosing it.
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		let job = submit(model);
		run_to(2);
		let workers = workers_of(job);
		let honest = workers[0];
		answer_all(job, |w| {
			answer(if w == honest { b"truth" } else { b"lie" }, attribution(&[]), w)
		});
		let stored = Jobs::<Test>::get(job).unwrap();
		assert_eq!(stored.status, JobStatus::Completed);
		assert_eq!(stored.outcome.unwrap().0, output_hash(b"lie"));
		assert_eq!(slashes(), vec![(honest, SlashReason::Minority)]);
	});
}

#[test]
fn a_worker_cannot_copy_a_reveal_it_has_seen() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		let job = submit(model);
		run_to(2);
		let workers = workers_of(job);
		let (honest, copier) = (workers[0], workers[1]);
		let truth = answer(b"truth", attribution(&[]), honest);
		commit(job, honest, &truth);
		// The copier must commit before any reveal: it commits to a guess.
		commit(job, copier, &answer(b"guess", attribution(&[]), copier));
		commit(job, workers[2], &answer(b"truth", attribution(&[]), workers[2]));
		assert_ok!(reveal(job, honest, &truth));
		// Having seen the truth, it cannot open its commitment to it, with its
		// own salt or with the honest worker's.
		let copied = answer(b"truth", attribution(&[]), copier);
		assert_noop!(reveal(job, copier, &copied), Error::<Test>::RevealMismatch);
		assert_noop!(reveal(job, copier, &truth), Error::<Test>::RevealMismatch);
		// Nor commit again now that the reveals have begun.
		assert_noop!(
			Compute::commit_result(RawOrigin::Signed(copier).into(), job, H256::zero()),
			Error::<Test>::NotCommitting
		);
	});
}

mod job_streams {
	use super::*;
	use proptest::prelude::*;
	use std::collections::BTreeMap;

	/// What a worker does when it is drawn.
	#[derive(Clone, Copy, Debug)]
	enum Behaviour {
		Honest,
		Lies,
		/// Commits, then never reveals.
		Silent,
		NeverCommits,
		/// Declines every job it is drawn for.
		Declines,
	}

	#[derive(Clone, Debug)]
	enum Step {
		Submit {
			redundancy: u8,
		},
		Cancel {
			job: u64,
		},
		/// Every worker with work in a job acts on it as its behaviour says.
		Work,
		Blocks {
			count: u64,
		},
		Deregister {
			worker: AccountId,
		},
		UnbondAll {
			worker: AccountId,
		},
		Withdraw {
			contribution: usize,
		},
	}

	fn step() -> impl Strategy<Value = Step> {
		prop_oneof![
			4 => (1..=5u8).prop_map(|redundancy| Step::Submit { redundancy }),
			1 => (0..16u64).prop_map(|job| Step::Cancel { job }),
			5 => Just(Step::Work),
			3 => (1..12u64).prop_map(|count| Step::Blocks { count }),
			1 => WORKERS.prop_map(|worker| Step::Deregister { worker }),
			1 => WORKERS.prop_map(|worker| Step::UnbondAll { worker }),
			1 => (0..4usize).prop_map(|contribution| Step::Withdraw { contribution }),
		]
	}

	fn behaviour() -> impl Strategy<Value = Behaviour> {
		prop_oneof![
			6 => Just(Behaviour::Honest),
			1 => Just(Behaviour::Lies),
			1 => Just(Behaviour::Silent),
			1 => Just(Behaviour::NeverCommits),
			1 => Just(Behaviour::Declines),
		]
	}

	fn is_open(status: JobStatus) -> bool {
		matches!(status, JobStatus::Queued | JobStatus::Committing | JobStatus::Revealing)
	}

	/// Every worker of every open job commits or reveals, as `behaviours` say;
	/// honest answers name contributions the model was trained on.
	fn work(behaviours: &[Behaviour], contributions: &[ContributionId]) {
		for job in 0..crate::NextJobId::<Test>::get() {
			let Some(seats) = Jobs::<Test>::get(job).map(|stored| stored.workers.len()) else {
				continue;
			};
			for seat in 0..seats {
				// Read afresh: a decline before this seat may have changed the job.
				let stored = Jobs::<Test>::get(job).unwrap();
				let (worker, result) = &stored.workers[seat];
				let acts = behaviours[(*worker - 1) as usize];
				let said = match acts {
					Behaviour::Lies => answer(b"lie", attribution(&[]), *worker),
					_ => answer(
						b"truth",
						attribution(&[(contributions[0], 40), (contributions[1], 20)]),
						*worker,
					),
				};
				match (stored.status, result, acts) {
					(_, _, Behaviour::NeverCommits) => {}
					(
						JobStatus::Committing | JobStatus::Queued,
						WorkerResult::Assigned,
						Behaviour::Declines,
					) => {
						assert_ok!(decline(job, *worker));
					}
					(JobStatus::Committing | JobStatus::Queued, WorkerResult::Assigned, _) => {
						commit(job, *worker, &said)
					}
					(JobStatus::Revealing, WorkerResult::Committed(_), Behaviour::Silent) => {}
					(JobStatus::Revealing, WorkerResult::Committed(_), _) => {
						assert_ok!(reveal(job, *worker, &said));
					}
					_ => {}
				}
			}
		}
	}

	/// The books and bounds that hold after every step.
	fn check(
		submitted: &BTreeMap<JobId, u64>,
		revealed: &mut BTreeMap<JobId, ()>,
		seen_events: &mut usize,
	) -> Result<(), TestCaseError> {
		let now = System::block_number();
		let lifetime = Compute::max_job_lifetime();
		let mut open = 0u32;
		let mut open_fees: Balance = 0;
		for (job, at) in submitted {
			let stored = Jobs::<Test>::get(job).unwrap();
			if is_open(stored.status) {
				open += 1;
				open_fees += stored.fee;
				prop_assert!(now - at <= lifetime, "job {} open for {} blocks", job, now - at);
				prop_assert!(stored.deadline.is_some(), "open job {} has no deadline", job);
			}
			prop_assert_eq!(
				stored.status == JobStatus::Queued,
				Queue::<Test>::get().contains(job),
				"job {} queued iff in the queue",
				job
			);
		}
		prop_assert_eq!(OpenJobs::<Test>::get(), open);
		prop_assert_eq!(fee_held(REQUESTER), open_fees);
		// No job mixes determinism classes.
		for job in submitted.keys() {
			let stored = Jobs::<Test>::get(job).unwrap();
			for (worker, _) in stored.workers.iter() {
				let class = pallet_worker_staking::Workers::<Test>::get(worker).map(|w| w.class);
				prop_assert_eq!(class, stored.class, "job {} mixes classes", job);
			}
		}
		for worker in WORKERS {
			let Some(record) = pallet_worker_staking::Workers::<Test>::get(worker) else {
				continue;
			};
			prop_assert!(record.open_jobs <= record.capacity);
			prop_assert_eq!(record.open_jobs as usize, Compute::assignments_of(&worker).len());
		}
		// No vote that counts is cast after a reveal of its job.
		let events = events();
		for event in &events[*seen_events..] {
			match event {
				Event::ResultRevealed { job_id, .. } => {
					revealed.insert(*job_id, ());
				}
				Event::JobAssigned { job_id, .. } | Event::ResultCommitted { job_id, .. } => {
					prop_assert!(!revealed.contains_key(job_id), "a vote after a reveal");
				}
				_ => {}
			}
		}
		*seen_events = events.len();
		Ok(())
	}

	/// Runs one block; when its draw saw the whole queue, every job left in
	/// it could not have been staffed: the queue never stalls behind a job.
	fn block_without_stalls() -> Result<(), TestCaseError> {
		let next = System::block_number() + 1;
		// The draw sees the queue as it was, plus the jobs requeued by the
		// commit windows that close now.
		let seen = Queue::<Test>::get().len() + Deadlines::<Test>::get(next).len();
		run_to(next);
		if seen > MaxAssignmentsPerBlock::get() as usize {
			return Ok(());
		}
		let queue = Queue::<Test>::get();
		let candidates =
			<WorkerStaking as tributary_primitives::WorkerStaking<AccountId>>::candidates();
		for job in queue.iter() {
			let stored = Jobs::<Test>::get(job).unwrap();
			let wanted =
				Wanted { model: stored.model_id, class: stored.class, needed: stored.needed() };
			prop_assert_eq!(
				draw(
					&candidates,
					&wanted,
					|w: &u64| stored.workers.iter().any(|(seated, _)| seated == w),
					0u32
				),
				None,
				"job {} could have been staffed",
				job
			);
		}
		Ok(())
	}

	proptest! {
		#![proptest_config(ProptestConfig::with_cases(1_000))]

		/// Over random streams of jobs (random redundancy), worker
		/// behaviours (honest, lying, silent, never committing, declining),
		/// workers of two determinism classes, workers
		/// leaving and unbonding, and contributions withdrawn mid-job:
		/// every job ends within the documented bound, the queue never
		/// stalls, every held fee is paid out or refunded exactly, and no
		/// vote that counts is committed after a reveal.
		#[test]
		fn every_job_ends_within_its_bound_and_every_fee_is_accounted_for(
			behaviours in prop::collection::vec(behaviour(), 8),
			steps in prop::collection::vec(step(), 1..60),
		) {
			new_test_ext().execute_with(|| {
				// Every record stays until the end is checked.
				JobRetention::set(1_000_000);
				let (model, contributions) = setup();
				workers_of_class(6, 8, b"another engine");
				let start = Balances::balance(&REQUESTER);
				let settlement_start = Balances::balance(&SETTLEMENT);
				let mut submitted = BTreeMap::new();
				let mut revealed = BTreeMap::new();
				let mut seen = 0;
				let advance = |count: u64| -> Result<(), TestCaseError> {
					for _ in 0..count {
						block_without_stalls()?;
					}
					Ok(())
				};
				for step in steps {
					match step {
						Step::Submit { redundancy } => {
							let id = crate::NextJobId::<Test>::get();
							if Compute::submit_job(
								RawOrigin::Signed(REQUESTER).into(),
								model,
								BoundedVec::new(),
								1_000,
								Some(redundancy),
							).is_ok() {
								submitted.insert(id, System::block_number());
							}
						},
						Step::Cancel { job } => {
							let _ = Compute::cancel_job(RawOrigin::Signed(REQUESTER).into(), job);
						},
						Step::Work => work(&behaviours, &contributions),
						Step::Blocks { count } => advance(count)?,
						Step::Deregister { worker } => {
							let _ = WorkerStaking::deregister(RawOrigin::Signed(worker).into());
						},
						Step::UnbondAll { worker } => {
							if let Some(record) = pallet_worker_staking::Workers::<Test>::get(worker) {
								let _ = WorkerStaking::unbond(
									RawOrigin::Signed(worker).into(),
									record.stake,
								);
							}
						},
						Step::Withdraw { contribution } => {
							let _ = Registry::withdraw_contribution(
								RawOrigin::Signed(MODEL_OWNER).into(),
								contributions[contribution],
							);
						},
					}
					check(&submitted, &mut revealed, &mut seen)?;
				}
				// Whatever the workers do from here on, every job ends in time.
				let lifetime = Compute::max_job_lifetime();
				for _ in 0..=lifetime {
					if OpenJobs::<Test>::get() == 0 {
						break;
					}
					work(&behaviours, &contributions);
					advance(1)?;
					check(&submitted, &mut revealed, &mut seen)?;
				}
				prop_assert_eq!(OpenJobs::<Test>::get(), 0);
				// Paid out exactly or refunded exactly.
				let paid: Balance = submitted
					.keys()
					.map(|job| Jobs::<Test>::get(job).unwrap())
					.filter(|job| job.status == JobStatus::Completed)
					.map(|job| job.fee)
					.sum();
				prop_assert_eq!(fee_held(REQUESTER), 0);
				prop_assert_eq!(Balances::balance(&REQUESTER) + deposit_held(REQUESTER), start - paid);
				prop_assert_eq!(Balances::balance(&SETTLEMENT), settlement_start + paid);
				let mut settled: Vec<JobId> =
					SETTLED.with(|s| s.borrow().iter().map(|(job, ..)| *job).collect());
				let count = settled.len();
				settled.sort();
				settled.dedup();
				prop_assert_eq!(settled.len(), count, "a job settled twice");
				Ok(())
			})?;
		}
	}
}

fn decline(job: JobId, worker: AccountId) -> polkadot_sdk::sp_runtime::DispatchResult {
	Compute::decline_job(RawOrigin::Signed(worker).into(), job)
}

fn reputation_of(worker: AccountId) -> u32 {
	pallet_worker_staking::Workers::<Test>::get(worker).unwrap().reputation
}

#[test]
fn a_worker_that_declines_is_replaced_without_a_slash() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		let job = submit(model);
		run_to(2);
		let first = workers_of(job);
		let (declining, staying) = (first[0], first[1]);
		let reputation = reputation_of(declining);
		assert_ok!(decline(job, declining));
		assert_eq!(events().last(), Some(&Event::JobDeclined { job_id: job, worker: declining }));
		assert_eq!(reputation_of(declining), reputation - pallet_worker_staking::DECLINE_PENALTY);
		assert_eq!(open_jobs_of(declining), 0);
		assert!(Assignments::<Test>::get(declining, job).is_none());
		let record = Jobs::<Test>::get(job).unwrap();
		assert_eq!(record.status, JobStatus::Queued);
		assert_eq!(Queue::<Test>::get().first(), Some(&job));
		// The others may commit while the replacement is drawn.
		commit(job, staying, &answer(b"yes", attribution(&[]), staying));
		run_to(3);
		let now = workers_of(job);
		assert_eq!(now.len(), 3);
		assert!(!now.contains(&declining), "a worker that declined is not drawn again");
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Committing);
		answer_all(job, |worker| answer(b"yes", attribution(&[]), worker));
		for &worker in &now {
			if worker == staying {
				assert_ok!(reveal(job, worker, &answer(b"yes", attribution(&[]), worker)));
			}
		}
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
		assert!(slashes().is_empty(), "nobody is slashed: {:?}", slashes());
		assert_eq!(
			Balances::balance_on_hold(
				&pallet_worker_staking::HoldReason::WorkerStake.into(),
				&declining
			),
			2_000
		);
	});
}

#[test]
fn declines_are_refused_out_of_turn_and_change_nothing() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		assert_noop!(decline(0, 1), Error::<Test>::UnknownJob);
		let job = submit(model);
		run_to(2);
		let drawn = workers_of(job);
		let outsider = (1..=5).find(|w| !drawn.contains(w)).unwrap();
		assert_noop!(decline(job, outsider), Error::<Test>::NotAssigned);
		commit(job, drawn[0], &answer(b"yes", attribution(&[]), drawn[0]));
		assert_noop!(decline(job, drawn[0]), Error::<Test>::AlreadyCommitted);
		for &worker in &drawn[1..] {
			commit(job, worker, &answer(b"yes", attribution(&[]), worker));
		}
		assert_noop!(decline(job, drawn[1]), Error::<Test>::NotCommitting);
	});
}

#[test]
fn a_job_whose_workers_keep_declining_fails_and_is_refunded() {
	new_test_ext().execute_with(|| {
		let (datanet, _) = Helper::datanet(1);
		let model = Helper::model_on(datanet);
		workers(1, 8);
		let balance = Balances::balance(&REQUESTER);
		let job = submit(model);
		let mut block = 1;
		// Eight seats: three drawn, then one replacement per decline.
		for _ in 0..5 {
			block += 1;
			run_to(block);
			let drawn = workers_of(job);
			assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Committing);
			assert_ok!(decline(job, drawn[0]));
		}
		block += 1;
		run_to(block);
		assert_eq!(Jobs::<Test>::get(job).unwrap().workers.len(), 8, "every seat taken");
		let drawn = workers_of(job);
		assert_ok!(decline(job, drawn[0]));
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Failed);
		assert_eq!(
			events().last(),
			Some(&Event::JobFailed { job_id: job, reason: FailureReason::TooManyTimeouts })
		);
		assert_eq!(Balances::balance(&REQUESTER), balance - deposit());
		assert!(slashes().is_empty());
		assert!(WORKERS.clone().all(|w| open_jobs_of(w) == 0));
	});
}

#[test]
fn a_worker_is_drawn_only_for_the_models_it_serves() {
	new_test_ext().execute_with(|| {
		let (datanet, _) = Helper::datanet(1);
		let (first, second) = (Helper::model_on(datanet), Helper::model_on(datanet));
		workers(1, 6);
		for worker in 1..=6 {
			let serves = if worker <= 3 { first } else { second };
			assert_ok!(pallet_worker_staking::Pallet::<Test>::serve_models(
				RawOrigin::Signed(worker).into(),
				BoundedVec::truncate_from(vec![serves]),
			));
		}
		let jobs: Vec<_> =
			(0..4).map(|i| submit(if i % 2 == 0 { first } else { second })).collect();
		run_to(2);
		for (i, &job) in jobs.iter().enumerate() {
			let mut drawn = workers_of(job);
			drawn.sort();
			assert_eq!(drawn, if i % 2 == 0 { vec![1, 2, 3] } else { vec![4, 5, 6] });
		}
		// Nobody serves a third model: its job waits, and fails unstaffed.
		let third = Helper::model_on(datanet);
		let submitted_at = System::block_number();
		let job = submit(third);
		run_to(submitted_at + 1);
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Queued);
		fails_unstaffed_at(job, submitted_at + StaffingWindow::get());
	});
}

#[test]
fn workers_of_two_classes_never_share_a_job() {
	new_test_ext().execute_with(|| {
		let (datanet, _) = Helper::datanet(1);
		let model = Helper::model_on(datanet);
		workers_of_class(1, 4, b"libtorch-2.13.0/cpu/avx2");
		workers_of_class(5, 8, b"libtorch-2.13.0/cuda/sm_90");
		let class_of = |w: AccountId| pallet_worker_staking::Workers::<Test>::get(w).unwrap().class;
		let mut classes = Vec::new();
		let mut block = 1;
		for round in 0..40u64 {
			let job = submit(model);
			block += 1;
			run_to(block);
			let record = Jobs::<Test>::get(job).unwrap();
			let class = record.class.expect("a drawn job has a class");
			assert!(record.workers.iter().all(|(w, _)| class_of(*w) == class));
			if !classes.contains(&class) {
				classes.push(class);
			}
			// Every other job loses a worker that declines: its replacement
			// comes from the same class.
			if round % 2 == 0 {
				assert_ok!(decline(job, workers_of(job)[0]));
				block += 1;
				run_to(block);
				let record = Jobs::<Test>::get(job).unwrap();
				assert_eq!(record.status, JobStatus::Committing);
				assert_eq!(record.class, Some(class));
				assert!(record.workers.iter().all(|(w, _)| class_of(*w) == class));
			}
			answer_all(job, |worker| answer(b"yes", attribution(&[]), worker));
			assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
		}
		assert_eq!(classes.len(), 2, "both classes were drawn");
		assert!(slashes().is_empty());
	});
}

#[test]
fn an_audit_job_runs_in_its_class_without_the_audited_worker_and_reports_its_outcome() {
	use tributary_primitives::AuditJobs;
	new_test_ext().execute_with(|| {
		// Workers 1–4 on `cpu`, 5–8 on `cuda`: the audit names `cuda` and
		// audits worker 5.
		workers(1, 4);
		workers_of_class(5, 8, b"cuda");
		let (datanet, contributions) = Helper::datanet(2);
		let model = Helper::model_on(datanet);
		let class = tributary_primitives::determinism_class(b"cuda");
		let submit = |input: Vec<u8>, max_fee| {
			<Compute as AuditJobs<_, _>>::submit_audit(&REQUESTER, model, input, class, &5, max_fee)
		};
		assert_noop!(submit(vec![0; 65], 1_000), Error::<Test>::InputTooLong);
		let price = <Compute as AuditJobs<_, _>>::audit_price(model).unwrap();
		assert_eq!(price, 3 * ComputeFee::get(), "the compute of three workers, not the model");
		assert_noop!(submit(b"q".to_vec(), price - 1), Error::<Test>::FeeBelowPrice);
		let job = submit(b"q".to_vec(), price).unwrap();
		let record = Jobs::<Test>::get(job).unwrap();
		assert_eq!((record.class, record.excluded, record.fee), (Some(class), Some(5), price));
		for _ in 0..20 {
			run_to(System::block_number() + 1);
			if Jobs::<Test>::get(job).unwrap().status != JobStatus::Queued {
				break;
			}
		}
		let mut drawn = workers_of(job);
		drawn.sort();
		assert_eq!(drawn, vec![6, 7, 8], "its class, never the audited worker");
		let agreed = attribution(&[(contributions[0], 60)]);
		answer_all(job, |worker| answer(b"cloudy", agreed.clone(), worker));
		assert_eq!(
			OUTCOMES.with(|o| o.borrow().clone()),
			vec![(job, Some((output_hash(b"cloudy"), agreed)))]
		);
	});
}

#[test]
fn a_job_that_fails_reports_no_outcome() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		let job = submit(model);
		assert_ok!(Compute::cancel_job(RawOrigin::Signed(REQUESTER).into(), job));
		assert_eq!(OUTCOMES.with(|o| o.borrow().clone()), vec![(job, None)]);
	});
}
