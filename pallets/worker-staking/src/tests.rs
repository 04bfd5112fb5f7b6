use crate::{
	mock::*, Error, Event, HoldReason, Workers, DECLINE_PENALTY, INITIAL_REPUTATION, MAX_REPUTATION,
};
use polkadot_sdk::{
	frame_support::{
		assert_noop, assert_ok,
		traits::fungible::{Inspect, InspectHold},
		BoundedVec,
	},
	frame_system::RawOrigin,
};
use tributary_primitives::{determinism_class, SlashReason, WorkerStaking as _};

fn register(who: AccountId, stake: Balance, capacity: u32) {
	assert_ok!(WorkerStaking::register_worker(
		RawOrigin::Signed(who).into(),
		stake,
		BoundedVec::truncate_from(b"http://127.0.0.1:9000".to_vec()),
		capacity,
		BoundedVec::truncate_from(b"libtorch-2.13 cpu".to_vec()),
	));
}

fn held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::WorkerStake.into(), &who)
}

fn origin(who: AccountId) -> RuntimeOrigin {
	RawOrigin::Signed(who).into()
}

fn last_event() -> RuntimeEvent {
	System::events().pop().expect("an event").event
}

#[test]
fn registration_holds_the_stake_and_records_the_worker() {
	new_test_ext().execute_with(|| {
		register(1, 2_000, 3);
		assert_eq!(held(1), 2_000);
		assert_eq!(Balances::balance(&1), 8_000);
		let record = Workers::<Test>::get(1).unwrap();
		assert_eq!((record.stake, record.capacity, record.open_jobs), (2_000, 3, 0));
		assert_eq!(record.reputation, INITIAL_REPUTATION);
		assert!(!record.leaving);
		assert_eq!(
			last_event(),
			Event::WorkerRegistered { worker: 1, stake: 2_000, capacity: 3 }.into()
		);
	});
}

#[test]
fn registration_refuses_bad_input() {
	new_test_ext().execute_with(|| {
		register(1, 2_000, 3);
		let attempt = |who, stake, capacity| {
			WorkerStaking::register_worker(
				origin(who),
				stake,
				BoundedVec::new(),
				capacity,
				BoundedVec::new(),
			)
		};
		assert_noop!(attempt(1, 2_000, 3), Error::<Test>::AlreadyRegistered);
		assert_noop!(attempt(2, 999, 3), Error::<Test>::StakeBelowMinimum);
		assert_noop!(attempt(2, 2_000, 0), Error::<Test>::InvalidCapacity);
		assert_noop!(attempt(2, 2_000, 9), Error::<Test>::InvalidCapacity);
		assert_noop!(attempt(2, 20_000, 3), Error::<Test>::InsufficientBalance);
		register(2, 1_000, 1);
		register(3, 1_000, 1);
		register(4, 1_000, 1);
		assert_noop!(attempt(5, 1_000, 1), Error::<Test>::TooManyWorkers);
	});
}

#[test]
fn bond_extra_adds_to_the_stake() {
	new_test_ext().execute_with(|| {
		register(1, 1_000, 1);
		assert_ok!(WorkerStaking::bond_extra(origin(1), 500));
		assert_eq!(Workers::<Test>::get(1).unwrap().stake, 1_500);
		assert_eq!(held(1), 1_500);
		assert_noop!(WorkerStaking::bond_extra(origin(1), 0), Error::<Test>::ZeroAmount);
		assert_noop!(
			WorkerStaking::bond_extra(origin(1), 9_000),
			Error::<Test>::InsufficientBalance
		);
		assert_noop!(WorkerStaking::bond_extra(origin(2), 500), Error::<Test>::NotWorker);
	});
}

#[test]
fn unbonded_stake_stays_held_until_the_period_ends() {
	new_test_ext().execute_with(|| {
		register(1, 3_000, 1);
		assert_ok!(WorkerStaking::unbond(origin(1), 1_000));
		assert_eq!(
			last_event(),
			Event::Unbonding { worker: 1, amount: 1_000, unlock_at: 11 }.into()
		);
		let record = Workers::<Test>::get(1).unwrap();
		assert_eq!(record.stake, 2_000);
		assert_eq!(held(1), 3_000);

		System::set_block_number(10);
		assert_noop!(WorkerStaking::withdraw_unbonded(origin(1)), Error::<Test>::NothingToWithdraw);
		System::set_block_number(11);
		assert_ok!(WorkerStaking::withdraw_unbonded(origin(1)));
		assert_eq!(held(1), 2_000);
		assert_eq!(Balances::balance(&1), 8_000);
		assert!(Workers::<Test>::get(1).unwrap().unbonding.is_empty());
	});
}

#[test]
fn unbond_refuses_what_it_cannot_do() {
	new_test_ext().execute_with(|| {
		register(1, 3_000, 1);
		assert_noop!(WorkerStaking::unbond(origin(1), 0), Error::<Test>::ZeroAmount);
		assert_noop!(WorkerStaking::unbond(origin(1), 3_001), Error::<Test>::UnbondExceedsStake);
		// 2 500 of 3 000 would leave 500 active: under the minimum, above zero.
		assert_noop!(WorkerStaking::unbond(origin(1), 2_500), Error::<Test>::StakeBelowMinimum);
		assert_ok!(WorkerStaking::unbond(origin(1), 500));
		assert_ok!(WorkerStaking::unbond(origin(1), 500));
		assert_noop!(WorkerStaking::unbond(origin(1), 500), Error::<Test>::TooManyUnbondingChunks);
		assert_noop!(WorkerStaking::unbond(origin(2), 500), Error::<Test>::NotWorker);
	});
}

#[test]
fn a_worker_with_no_active_stake_is_not_drawn() {
	new_test_ext().execute_with(|| {
		register(1, 1_000, 1);
		register(2, 1_000, 1);
		assert_ok!(WorkerStaking::unbond(origin(1), 1_000));
		let drawn: Vec<_> = WorkerStaking::candidates().into_iter().map(|c| c.worker).collect();
		assert_eq!(drawn, vec![2]);
	});
}

#[test]
fn capacity_bounds_the_jobs_a_worker_takes() {
	new_test_ext().execute_with(|| {
		register(1, 1_000, 2);
		assert_ok!(WorkerStaking::occupy(&1));
		assert_eq!(WorkerStaking::candidates()[0].free, 1);
		assert_ok!(WorkerStaking::occupy(&1));
		assert!(WorkerStaking::candidates().is_empty());
		assert_noop!(WorkerStaking::occupy(&1), Error::<Test>::NoFreeCapacity);
		WorkerStaking::release(&1);
		assert_eq!(WorkerStaking::candidates()[0].free, 1);

		assert_ok!(WorkerStaking::set_capacity(origin(1), 5));
		assert_eq!(last_event(), Event::CapacitySet { worker: 1, capacity: 5 }.into());
		assert_noop!(WorkerStaking::set_capacity(origin(1), 0), Error::<Test>::InvalidCapacity);
		assert_noop!(WorkerStaking::set_capacity(origin(1), 9), Error::<Test>::InvalidCapacity);
	});
}

#[test]
fn draw_weight_grows_with_stake_and_reputation() {
	new_test_ext().execute_with(|| {
		register(1, 1_000, 1);
		register(2, 2_000, 1);
		let weight =
			|who| WorkerStaking::candidates().into_iter().find(|c| c.worker == who).unwrap().weight;
		assert_eq!(weight(2), 2 * weight(1));
		WorkerStaking::reward(&1);
		assert!(weight(1) > 1_000 * u128::from(INITIAL_REPUTATION + 100));
		for _ in 0..100 {
			WorkerStaking::reward(&1);
		}
		assert_eq!(Workers::<Test>::get(1).unwrap().reputation, MAX_REPUTATION);
	});
}

#[test]
fn deregister_needs_no_open_jobs_and_unbonds_everything() {
	new_test_ext().execute_with(|| {
		register(1, 2_000, 2);
		assert_ok!(WorkerStaking::occupy(&1));
		assert_noop!(WorkerStaking::deregister(origin(1)), Error::<Test>::HasOpenJobs);
		WorkerStaking::release(&1);
		assert_ok!(WorkerStaking::deregister(origin(1)));
		let record = Workers::<Test>::get(1).unwrap();
		assert!(record.leaving);
		assert_eq!(record.stake, 0);
		assert_eq!(held(1), 2_000);
		assert!(WorkerStaking::candidates().is_empty());
		assert_noop!(WorkerStaking::bond_extra(origin(1), 10), Error::<Test>::Leaving);
		assert_noop!(WorkerStaking::set_capacity(origin(1), 1), Error::<Test>::Leaving);
		assert_noop!(WorkerStaking::deregister(origin(1)), Error::<Test>::Leaving);

		System::set_block_number(11);
		assert_ok!(WorkerStaking::withdraw_unbonded(origin(1)));
		assert_eq!(last_event(), Event::WorkerRemoved { worker: 1 }.into());
		assert!(!Workers::<Test>::contains_key(1));
		assert_eq!(Balances::balance(&1), 10_000);
		// The slot it held is free again.
		assert_eq!(Workers::<Test>::count(), 0);
	});
}

#[test]
fn slash_takes_the_fraction_of_everything_held_to_the_treasury() {
	new_test_ext().execute_with(|| {
		register(1, 3_000, 1);
		assert_ok!(WorkerStaking::unbond(origin(1), 1_000));
		let issuance = Balances::total_issuance();
		WorkerStaking::slash(&1, SlashReason::Minority);
		// 10% of 3 000 held, taken from the 2 000 active first.
		assert_eq!(held(1), 2_700);
		assert_eq!(Balances::balance(&TREASURY), 301);
		assert_eq!(Balances::total_issuance(), issuance);
		let record = Workers::<Test>::get(1).unwrap();
		assert_eq!(record.stake, 1_700);
		assert_eq!(record.unbonding[0].amount, 1_000);
		assert_eq!(record.reputation, INITIAL_REPUTATION - 100);
		assert_eq!(
			last_event(),
			Event::Slashed { worker: 1, amount: 300, reason: SlashReason::Minority }.into()
		);
	});
}

#[test]
fn unbonding_stake_still_answers_for_slashes() {
	new_test_ext().execute_with(|| {
		register(1, 2_000, 1);
		assert_ok!(WorkerStaking::deregister(origin(1)));
		WorkerStaking::slash(&1, SlashReason::NoReveal);
		let record = Workers::<Test>::get(1).unwrap();
		assert_eq!(record.unbonding[0].amount, 1_800);
		assert_eq!(held(1), 1_800);
		System::set_block_number(11);
		assert_ok!(WorkerStaking::withdraw_unbonded(origin(1)));
		assert_eq!(Balances::balance(&1), 9_800);
	});
}

#[test]
fn a_slash_below_the_minimum_stops_the_draw() {
	new_test_ext().execute_with(|| {
		register(1, 1_000, 1);
		WorkerStaking::slash(&1, SlashReason::CommitTimeout);
		assert_eq!(Workers::<Test>::get(1).unwrap().stake, 900);
		assert!(WorkerStaking::candidates().is_empty());
		assert_ok!(WorkerStaking::bond_extra(origin(1), 100));
		assert_eq!(WorkerStaking::candidates().len(), 1);
	});
}

fn serve(who: AccountId, models: &[u64]) -> polkadot_sdk::sp_runtime::DispatchResult {
	WorkerStaking::serve_models(origin(who), BoundedVec::truncate_from(models.to_vec()))
}

#[test]
fn a_worker_is_a_candidate_only_with_its_class_and_the_models_it_serves() {
	new_test_ext().execute_with(|| {
		register(1, 2_000, 3);
		let record = Workers::<Test>::get(1).unwrap();
		assert_eq!(record.class, determinism_class(b"libtorch-2.13 cpu"));
		assert!(record.models.is_empty(), "a new worker serves nothing until it says so");
		let candidate = WorkerStaking::candidates().pop().unwrap();
		assert!(!candidate.serves(0));

		assert_ok!(serve(1, &[7, 2, 5]));
		assert_eq!(last_event(), Event::ModelsServed { worker: 1, models: vec![2, 5, 7] }.into());
		let candidate = WorkerStaking::candidates().pop().unwrap();
		assert_eq!(candidate.models, vec![2, 5, 7]);
		assert_eq!(candidate.class, determinism_class(b"libtorch-2.13 cpu"));
		assert!(candidate.serves(5) && !candidate.serves(3));

		// A new list replaces the old one.
		assert_ok!(serve(1, &[3]));
		assert_eq!(WorkerStaking::candidates().pop().unwrap().models, vec![3]);
	});
}

#[test]
fn serving_refuses_bad_lists_and_changes_nothing() {
	new_test_ext().execute_with(|| {
		assert_noop!(serve(1, &[1]), Error::<Test>::NotWorker);
		register(1, 2_000, 3);
		assert_ok!(serve(1, &[1, 2]));
		assert_noop!(serve(1, &[4, 2, 4]), Error::<Test>::DuplicateModel);
		assert_eq!(Workers::<Test>::get(1).unwrap().models.into_inner(), vec![1, 2]);
		assert_ok!(WorkerStaking::deregister(origin(1)));
		assert_noop!(serve(1, &[3]), Error::<Test>::Leaving);
	});
}

#[test]
fn declining_costs_a_little_reputation_and_no_stake() {
	new_test_ext().execute_with(|| {
		register(1, 2_000, 3);
		WorkerStaking::declined(&1);
		let record = Workers::<Test>::get(1).unwrap();
		assert_eq!(record.reputation, INITIAL_REPUTATION - DECLINE_PENALTY);
		assert_eq!((record.stake, held(1)), (2_000, 2_000));
		assert!(!System::events()
			.iter()
			.any(|r| matches!(r.event, RuntimeEvent::WorkerStaking(Event::Slashed { .. }))));
	});
}

#[test]
fn an_audit_slash_refunds_up_to_what_it_takes_and_the_rest_goes_to_the_treasury() {
	use tributary_primitives::AuditSlashing;
	new_test_ext().execute_with(|| {
		register(1, 3_000, 1);
		assert_eq!(WorkerStaking::slash_amount(&1), 300);
		assert_eq!(WorkerStaking::slash_amount(&9), 0, "not a worker");
		let requester = Balances::balance(&2);
		assert_eq!(WorkerStaking::slash_refunding(&1, &2, 120, 1), 120);
		assert_eq!((Balances::balance(&2), Balances::balance(&TREASURY)), (requester + 120, 181));
		assert_eq!(held(1), 2_700);
		assert_eq!(Workers::<Test>::get(1).unwrap().reputation, INITIAL_REPUTATION - 200);
		assert_eq!(
			last_event(),
			Event::Slashed { worker: 1, amount: 300, reason: SlashReason::AuditFailed }.into()
		);
		// A refund over the slash gets the slash, and no more.
		assert_eq!(WorkerStaking::slash_refunding(&1, &2, 10_000, 1), 270);
		assert_eq!(held(1), 2_430);
	});
}

#[test]
fn slashes_taken_together_take_what_they_would_one_after_another() {
	use tributary_primitives::AuditSlashing;
	new_test_ext().execute_with(|| {
		register(1, 3_000, 1);
		register(3, 3_000, 1);
		for _ in 0..3 {
			WorkerStaking::slash_refunding(&1, &2, 0, 1);
		}
		let requester = Balances::balance(&2);
		// 300, then 270, then 243: 813 in all, of which 500 is refunded.
		assert_eq!(WorkerStaking::slash_refunding(&3, &2, 500, 3), 500);
		assert_eq!(held(3), held(1));
		assert_eq!(held(3), 3_000 - 813);
		assert_eq!(Balances::balance(&2), requester + 500);
		assert_eq!(
			Workers::<Test>::get(3).unwrap().reputation,
			Workers::<Test>::get(1).unwrap().reputation
		);
		assert_eq!(
			last_event(),
			Event::Slashed { worker: 3, amount: 813, reason: SlashReason::AuditFailed }.into(),
			"one event for the slashes together"
		);
	});
}
