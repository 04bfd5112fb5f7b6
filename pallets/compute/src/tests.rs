use crate::{
	draw, mock::*, Assignments, Congestion, Deadlines, Error, Event, HoldReason, Jobs, OpenJobs,
	Queue,
};
use polkadot_sdk::{
	frame_support::{
		assert_noop, assert_ok,
		traits::{
			fungible::{Inspect, InspectHold},
			Hooks,
		},
		BoundedVec,
	},
	frame_system::RawOrigin,
	sp_core::H256,
	sp_runtime::{FixedU128, Perbill},
};
use tributary_primitives::{
	commitment, output_hash, Attribution, Candidate, ContributionId, FailureReason, JobId,
	JobStatus, ModelId, SlashReason, WorkerResult,
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
		.filter(|(_, result)| *result != WorkerResult::Dropped)
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
) -> polkadot_sdk::sp_runtime::DispatchResult {
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
		assert_noop!(commit_as(1), Error::<Test>::NotCommitting);
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
fn attributions_must_name_the_models_approved_contributions() {
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
		assert_noop!(check(&[(999, 10)]), Error::<Test>::AttributionNotApproved);
		assert_noop!(check(&[(elsewhere[0], 10)]), Error::<Test>::AttributionOutsideModel);
		assert_noop!(
			check(&[(contributions[0], 60), (contributions[1], 50)]),
			Error::<Test>::AttributionOverWhole
		);
		assert_ok!(Registry::withdraw_contribution(
			RawOrigin::Signed(MODEL_OWNER).into(),
			contributions[3]
		));
		assert_noop!(check(&[(contributions[3], 10)]), Error::<Test>::AttributionNotApproved);

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
fn a_split_round_escalates_to_two_more_workers() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		let job = submit(model);
		run_to(2);
		let first = workers_of(job);
		let outputs = [b"a", b"b", b"c"];
		answer_all(job, |w| {
			let index = first.iter().position(|f| *f == w).unwrap();
			answer(outputs[index], attribution(&[]), w)
		});
		let stored = Jobs::<Test>::get(job).unwrap();
		assert!(stored.escalated);
		assert_eq!(stored.status, JobStatus::Queued);
		run_to(3);
		let all = workers_of(job);
		assert_eq!(all.len(), 5);
		let added = all[3..].to_vec();
		assert!(added.iter().all(|w| !first.contains(w)));
		assert_eq!(
			events().last(),
			Some(&Event::JobEscalated { job_id: job, workers: added.clone() })
		);
		// The two new workers side with the first: three of five agree.
		for &worker in &added {
			commit(job, worker, &answer(b"a", attribution(&[]), worker));
		}
		for &worker in &added {
			assert_ok!(reveal(job, worker, &answer(b"a", attribution(&[]), worker)));
		}
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Completed);
		let mut slashed = slashes();
		slashed.sort();
		let mut minority =
			vec![(first[1], SlashReason::Minority), (first[2], SlashReason::Minority)];
		minority.sort();
		assert_eq!(slashed, minority);
	});
}

#[test]
fn a_job_without_a_majority_after_escalation_fails_and_refunds() {
	new_test_ext().execute_with(|| {
		let (model, _) = setup();
		let job = submit(model);
		let balance = Balances::balance(&REQUESTER);
		run_to(2);
		answer_all(job, |w| answer(&[w as u8], attribution(&[]), w));
		run_to(3);
		answer_all(job, |w| answer(&[w as u8], attribution(&[]), w));
		let stored = Jobs::<Test>::get(job).unwrap();
		assert_eq!(stored.status, JobStatus::Failed);
		assert_eq!(
			events().last(),
			Some(&Event::JobFailed { job_id: job, reason: FailureReason::NoQuorum })
		);
		assert_eq!(fee_held(REQUESTER), 0);
		assert_eq!(Balances::balance(&REQUESTER), balance + 130);
		assert!(WORKERS.take(5).all(|worker| open_jobs_of(worker) == 0));
		assert_eq!(OpenJobs::<Test>::get(), 0);
		assert!(SETTLED.with(|settled| settled.borrow().is_empty()));
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
fn cancel_refunds_a_job_before_assignment_only() {
	new_test_ext().execute_with(|| {
		let (datanet, _) = Helper::datanet(1);
		let model = Helper::model_on(datanet);
		let balance = Balances::balance(&REQUESTER);
		let job = submit(model);
		let cancel = |who, job| Compute::cancel_job(RawOrigin::Signed(who).into(), job);
		assert_noop!(cancel(REQUESTER, 99), Error::<Test>::UnknownJob);
		assert_noop!(cancel(MODEL_OWNER, job), Error::<Test>::NotRequester);
		assert_ok!(cancel(REQUESTER, job));
		assert_eq!(Balances::balance(&REQUESTER), balance);
		assert_eq!(Jobs::<Test>::get(job).unwrap().status, JobStatus::Cancelled);
		assert!(Queue::<Test>::get().is_empty());
		assert_eq!(OpenJobs::<Test>::get(), 0);
		assert_noop!(cancel(REQUESTER, job), Error::<Test>::NotCancellable);

		workers(1, 3);
		let assigned = submit(model);
		run_to(2);
		assert_noop!(cancel(REQUESTER, assigned), Error::<Test>::NotCancellable);
	});
}

#[test]
fn congestion_raises_the_price_while_the_queue_is_over_target() {
	new_test_ext().execute_with(|| {
		let (datanet, _) = Helper::datanet(1);
		let model = Helper::model_on(datanet);
		// No workers: every job stays queued. Eight open jobs, target four.
		for _ in 0..8 {
			submit(model);
		}
		run_to(2);
		// 1 × (1 + 4 / 32)
		assert_eq!(Congestion::<Test>::get(), FixedU128::from_rational(9, 8));
		assert_eq!(Compute::quote(model, 3).ok(), Some(100 + 33));
		run_to(40);
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

#[test]
fn the_draw_is_weighted_and_never_reuses_a_worker() {
	let candidate = |worker: u64, weight, free| Candidate { worker, weight, free };
	let candidates =
		vec![candidate(1, 1, 1), candidate(2, 3, 1), candidate(3, 5, 0), candidate(4, 0, 1)];
	let none: &[(u64, ())] = &[];
	assert_eq!(draw(&candidates, 3, none, 0u32), None, "only two can be drawn");
	assert_eq!(draw(&candidates, 1, &[(2, ())], 0u32), Some(vec![0]));
	let heavy =
		(0..2_000u32).filter(|seed| draw(&candidates, 1, none, seed) == Some(vec![1])).count();
	assert!((1_400..1_600).contains(&heavy), "weight 3 of 4 drew {heavy} of 2000");
	for seed in 0..100u32 {
		let mut both = draw(&candidates, 2, none, seed).unwrap();
		both.sort();
		assert_eq!(both, vec![0, 1]);
	}
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
	// costly to arrange; escalation only helps when the vote splits.
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

	/// What a worker does when it is drawn.
	#[derive(Clone, Copy, Debug)]
	enum Behaviour {
		Honest,
		Lies,
		Silent,
		NeverCommits,
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
	}

	fn step() -> impl Strategy<Value = Step> {
		prop_oneof![
			3 => (1..=5u8).prop_map(|redundancy| Step::Submit { redundancy }),
			1 => (0..12u64).prop_map(|job| Step::Cancel { job }),
			4 => Just(Step::Work),
			2 => (1..8u64).prop_map(|count| Step::Blocks { count }),
		]
	}

	fn behaviour() -> impl Strategy<Value = Behaviour> {
		prop_oneof![
			6 => Just(Behaviour::Honest),
			1 => Just(Behaviour::Lies),
			1 => Just(Behaviour::Silent),
			1 => Just(Behaviour::NeverCommits),
		]
	}

	/// Every worker of every open job commits or reveals, as `behaviours` say.
	fn work(behaviours: &[Behaviour]) {
		for job in 0..crate::NextJobId::<Test>::get() {
			let Some(stored) = Jobs::<Test>::get(job) else { continue };
			for (worker, result) in stored.workers.iter() {
				let acts = behaviours[(*worker - 1) as usize];
				let said = answer(
					if matches!(acts, Behaviour::Lies) { b"lie" } else { b"truth" },
					attribution(&[]),
					*worker,
				);
				match (stored.status, result, acts) {
					(_, _, Behaviour::NeverCommits) => {}
					(JobStatus::Committing, WorkerResult::Assigned, _) => {
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

	proptest! {
		#![proptest_config(ProptestConfig::with_cases(48))]

		/// Over random job streams and worker behaviours, the fees held are
		/// always the fees of the open jobs, no worker is ever past its
		/// capacity, and no job is settled twice.
		#[test]
		fn held_fees_match_open_jobs(
			behaviours in prop::collection::vec(behaviour(), 8),
			steps in prop::collection::vec(step(), 1..40),
		) {
			new_test_ext().execute_with(|| {
				let (model, _) = setup();
				workers(6, 8);
				for step in steps {
					match step {
						Step::Submit { redundancy } => {
							let _ = Compute::submit_job(
								RawOrigin::Signed(REQUESTER).into(),
								model,
								BoundedVec::new(),
								1_000,
								Some(redundancy),
							);
						},
						Step::Cancel { job } => {
							let _ = Compute::cancel_job(RawOrigin::Signed(REQUESTER).into(), job);
						},
						Step::Work => work(&behaviours),
						Step::Blocks { count } => run_to(System::block_number() + count),
					}
					let open_fees: Balance = Jobs::<Test>::iter_values()
						.filter(|job| matches!(
							job.status,
							JobStatus::Queued | JobStatus::Committing | JobStatus::Revealing
						))
						.map(|job| job.fee)
						.sum();
					prop_assert_eq!(fee_held(REQUESTER), open_fees);
					for worker in WORKERS {
						let record = pallet_worker_staking::Workers::<Test>::get(worker).unwrap();
						prop_assert!(record.open_jobs <= record.capacity);
						prop_assert_eq!(
							record.open_jobs as usize,
							Compute::assignments_of(&worker).len()
						);
					}
					let mut settled: Vec<JobId> =
						SETTLED.with(|s| s.borrow().iter().map(|(job, ..)| *job).collect());
					let count = settled.len();
					settled.sort();
					settled.dedup();
					prop_assert_eq!(settled.len(), count, "a job settled twice");
				}
				Ok(())
			})?;
		}
	}
}
