use crate::{
	mock::*, Claimable, ContributionEarnings, Error, Event, Memberships, ModelEarnings, Payee,
	Pools, RewardShares, Shares,
};
use polkadot_sdk::{
	frame_support::{assert_noop, assert_ok, traits::fungible::Inspect, BoundedVec},
	frame_system::RawOrigin,
	sp_core::H256,
	sp_runtime::{DispatchError, Perbill, Saturating},
};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use tributary_primitives::{
	Attribution, AttributionGraph, Beneficiary, ContributionId, DatanetId, ModelId, SnapshotId,
};

/// The mock runtime's attribution pallet.
type Graph = crate::mock::Attribution;

fn pct(p: u32) -> Perbill {
	Perbill::from_percent(p)
}

fn attribution(entries: &[(ContributionId, u32)]) -> Attribution {
	BoundedVec::truncate_from(entries.iter().map(|&(c, p)| (c, pct(p))).collect())
}

fn claimable(who: AccountId) -> Balance {
	Claimable::<Test>::get(who)
}

/// The snapshot model `m` was trained on of its first training datanet.
fn snapshot_of(m: ModelId) -> SnapshotId {
	<Graph as AttributionGraph<Balance>>::training(m)[0].1
}

/// What a settlement's event credited to accounts, summed per account.
fn credited_accounts(credits: &[(Payee<AccountId>, Balance)]) -> BTreeMap<AccountId, Balance> {
	let mut accounts = BTreeMap::new();
	for (payee, amount) in credits {
		let who = match payee {
			Payee::Worker(who) => who,
			Payee::Model { owner, .. } => owner,
			Payee::Contribution { contributor, .. } => contributor,
			Payee::Pool { .. } => continue,
		};
		*accounts.entry(*who).or_default() += amount;
	}
	accounts
}

fn last_event() -> Event<Test> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::Rewards(event) => Some(event),
			_ => None,
		})
		.last()
		.expect("a rewards event")
}

/// Model 0 of owner 10, trained on datanet 0 (share 40%), which holds
/// contributions 0 (of 11) and 1 (of 12).
fn one_model() -> (u64, [ContributionId; 2]) {
	let d = datanet(10);
	let contributions = [contribute(11, d), contribute(12, d)];
	(model(10, &[(d, pct(40))], &[]), contributions)
}

#[test]
fn a_fee_is_divided_among_workers_model_data_and_treasury() {
	new_test_ext().execute_with(|| {
		let (m, [c0, c1]) = one_model();
		assert_ok!(settle(7, m, 1_000, &[1, 2, 3], &attribution(&[(c0, 50)])));
		// Workers: 30% of 1 000, 100 each.
		assert_eq!([claimable(1), claimable(2), claimable(3)], [100, 100, 100]);
		// Model: 300, of which the datanet's 40% (120) goes upstream to its pool.
		assert_eq!(claimable(10), 180);
		assert_eq!(ModelEarnings::<Test>::get(m), 180);
		// Data: 300, half named (150 to contribution 0), half to the training pool.
		assert_eq!(claimable(11), 150);
		// The pool took 120 + 150 for its two contributions: 135 each, pending.
		assert_eq!(Rewards::contribution_earnings(c0), 150 + 135);
		assert_eq!(Rewards::contribution_earnings(c1), 135);
		assert_eq!(Balances::balance(&TREASURY), ED + 100);
		// The pool's 120 upstream and 150 unnamed reach the same snapshot:
		// one credit.
		let pool = Payee::Pool { datanet: 0, snapshot: snapshot_of(m) };
		assert_eq!(
			last_event(),
			Event::JobSettled {
				job_id: 7,
				worker_share: 300,
				model_share: 180,
				upstream_share: 120,
				data_share: 300,
				treasury_share: 100,
				credits: vec![
					(Payee::Worker(1), 100),
					(Payee::Worker(2), 100),
					(Payee::Worker(3), 100),
					(Payee::Model { model: m, owner: 10 }, 180),
					(Payee::Contribution { contribution: c0, model: m, contributor: 11 }, 150),
					(pool, 270),
				],
			}
		);
	});
}

#[test]
fn a_receipt_is_divided_as_a_one_worker_job_is() {
	new_test_ext().execute_with(|| {
		let (m, [c0, _]) = one_model();
		let named = attribution(&[(c0, 50)]);
		assert_ok!(settle(7, m, 1_000, &[1], &named));
		let Event::JobSettled {
			worker_share,
			model_share,
			upstream_share,
			data_share,
			treasury_share,
			mut credits,
			..
		} = last_event()
		else {
			panic!("a job settlement")
		};
		// The receipt's worker is 2 (the mock's), the job's was 1.
		credits[0].0 = Payee::Worker(2);
		assert_ok!(settle_receipts(3, &[(9, m, 1_000, &named)]));
		assert_eq!(
			last_event(),
			Event::ReceiptsSettled {
				channel_id: 3,
				first: 9,
				last: 9,
				worker_share,
				model_share,
				upstream_share,
				data_share,
				treasury_share,
				credits,
			}
		);
		assert_eq!(claimable(2), claimable(1), "the receipt's worker earns a job worker's share");
		assert_eq!(claimable(11), 2 * 500 * 3 / 10, "the named contribution is paid twice");
	});
}

#[test]
fn a_settlement_credits_each_beneficiary_once_for_all_its_receipts() {
	new_test_ext().execute_with(|| {
		let (m, [c0, c1]) = one_model();
		let (a, b) = (attribution(&[(c0, 50), (c1, 20)]), attribution(&[(c0, 30)]));
		let receipts: Vec<_> =
			(1..=40u64).map(|n| (n, m, 1_001, if n % 2 == 0 { &a } else { &b })).collect();
		assert_ok!(settle_receipts(5, &receipts));
		let Event::ReceiptsSettled {
			channel_id,
			first,
			last,
			worker_share,
			model_share,
			upstream_share,
			data_share,
			treasury_share,
			credits,
		} = last_event()
		else {
			panic!("one settlement event")
		};
		assert_eq!((channel_id, first, last), (5, 1, 40));
		let rewards_events = System::events()
			.iter()
			.filter(|r| matches!(r.event, RuntimeEvent::Rewards(Event::ReceiptsSettled { .. })))
			.count();
		assert_eq!(rewards_events, 1, "one event for the settlement, not one per receipt");
		assert_eq!(
			worker_share + model_share + upstream_share + data_share + treasury_share,
			40 * 1_001,
			"every part of every price is accounted for"
		);
		// Worker 30% of 1 001 is 300 per receipt; data 30% is 300 per
		// receipt, named c0 50% or 30% of it, c1 20%.
		assert_eq!(claimable(2), 40 * 300);
		assert_eq!(ContributionEarnings::<Test>::get(c0), 20 * 150 + 20 * 90);
		assert_eq!(ContributionEarnings::<Test>::get(c1), 20 * 60);
		// The model's share (30%, 300 a receipt) is gathered and divided
		// once: 40% of 12 000 to the datanet, not 40 × floor(40% of 300).
		assert_eq!(ModelEarnings::<Test>::get(m), 12_000 - 4_800);
		assert_eq!(upstream_share, 4_800);
		// The event names each beneficiary once, with what it was credited.
		let credited = |payee: &Payee<AccountId>| {
			credits
				.iter()
				.filter(|(p, _)| p == payee)
				.map(|(_, amount)| *amount)
				.collect::<Vec<_>>()
		};
		assert_eq!(credited(&Payee::Worker(2)), [40 * 300]);
		assert_eq!(
			credited(&Payee::Contribution { contribution: c0, model: m, contributor: 11 }),
			[20 * 150 + 20 * 90]
		);
		assert_eq!(credited(&Payee::Model { model: m, owner: 10 }), [12_000 - 4_800]);
		let total: Balance = credits.iter().map(|(_, amount)| amount).sum();
		assert_eq!(total + treasury_share, 40 * 1_001);
	});
}

#[test]
fn many_receipts_settle_as_one_receipt_settlements_do_up_to_rounding() {
	// The same receipts settled one per settlement and all in one: the
	// worker and the contributions get at least as much in one (their
	// parts round down once, not once per receipt), the treasury's rounding
	// takes no more, and the model's owner, which keeps what its upstream
	// map leaves, gives up only what its upstream gained.
	let run = |together: bool| {
		new_test_ext().execute_with(|| {
			let (m, [c0, c1]) = one_model();
			let a = attribution(&[(c0, 33), (c1, 33)]);
			let all: Vec<_> = (1..=25u64).map(|n| (n, m, 997 + n as Balance, &a)).collect();
			if together {
				assert_ok!(settle_receipts(1, &all));
			} else {
				for one in &all {
					assert_ok!(settle_receipts(1, core::slice::from_ref(one)));
				}
			}
			let owner_and_upstream = claimable(10)
				+ Rewards::contribution_earnings(c0)
				+ Rewards::contribution_earnings(c1);
			(
				[
					claimable(2),
					Rewards::contribution_earnings(c0),
					Rewards::contribution_earnings(c1),
				],
				owner_and_upstream,
				Balances::balance(&TREASURY),
			)
		})
	};
	let (apart, owner_apart, treasury_apart) = run(false);
	let (together, owner_together, treasury_together) = run(true);
	for (one, each) in together.iter().zip(&apart) {
		assert!(one >= each, "{one} < {each}: aggregation never pays these less");
	}
	assert!(owner_together >= owner_apart);
	assert!(treasury_together <= treasury_apart);
	assert!(together != apart || treasury_together < treasury_apart, "rounding differs somewhere");
}

#[test]
fn an_empty_settlement_divides_nothing() {
	new_test_ext().execute_with(|| {
		assert_ok!(settle_receipts(1, &[]));
		assert!(System::events().is_empty());
	});
}

#[test]
fn a_job_settles_once() {
	new_test_ext().execute_with(|| {
		let (m, _) = one_model();
		assert_ok!(settle(1, m, 1_000, &[1], &attribution(&[])));
		let job = <Rewards as tributary_primitives::JobSettlement<_, _>>::settle;
		assert_noop!(
			job(tributary_primitives::CompletedJob {
				job_id: 1,
				model_id: m,
				fee: 1_000,
				workers: &[1],
				attribution: &attribution(&[]),
			}),
			Error::<Test>::AlreadySettled
		);
	});
}

#[test]
fn ancestor_owners_are_paid_their_flattened_share() {
	new_test_ext().execute_with(|| {
		let (base, _) = one_model();
		// Owner 13's child names the base model with 50%: it owes the base's
		// owner 50% × 60% = 30% and the base's datanet 50% × 40% = 20%.
		let child = model(13, &[], &[(base, pct(50))]);
		assert_ok!(settle(1, child, 1_000, &[1], &attribution(&[])));
		assert_eq!(claimable(10), 90);
		assert_eq!(ModelEarnings::<Test>::get(base), 90);
		assert_eq!(claimable(13), 150);
		let Event::JobSettled { credits, .. } = last_event() else { panic!("a settlement") };
		assert_eq!(
			credits,
			vec![
				(Payee::Worker(1), 300),
				(Payee::Model { model: base, owner: 10 }, 90),
				(Payee::Model { model: child, owner: 13 }, 150),
				(Payee::Pool { datanet: 0, snapshot: snapshot_of(base) }, 60),
			],
			"the ancestor's owner and its datanet are named as paid through the child"
		);
		// 60 upstream and, with no training datanet of its own, the unnamed
		// data share goes to the treasury: 100 + 300.
		assert_eq!(Rewards::contribution_earnings(0), 30);
		assert_eq!(Balances::balance(&TREASURY), ED + 400);
	});
}

#[test]
fn what_nobody_can_take_goes_to_the_treasury() {
	new_test_ext().execute_with(|| {
		// A datanet with no approved contribution cannot take its pool's part.
		let empty = datanet(10);
		let m = model(10, &[(empty, pct(20))], &[]);
		assert_ok!(settle(1, m, 1_000, &[1, 2, 3, 4, 5, 6, 7], &attribution(&[])));
		// 300 / 7 = 42 each, 6 left; the model's 60 upstream and the 300 of
		// data have nowhere to go; the treasury's own 100.
		assert_eq!(claimable(1), 42);
		assert_eq!(claimable(10), 240);
		assert_eq!(Balances::balance(&TREASURY), ED + 100 + 6 + 60 + 300);
		let Event::JobSettled { credits, .. } = last_event() else { panic!("a settlement") };
		assert!(
			credits.iter().all(|(payee, _)| !matches!(payee, Payee::Pool { .. })),
			"a pool that took nothing is not named: {credits:?}"
		);
	});
}

#[test]
fn a_withdrawn_contribution_named_in_an_attribution_earns_nothing_more() {
	new_test_ext().execute_with(|| {
		let (m, [c0, c1]) = one_model();
		assert_ok!(Registry::withdraw_contribution(RawOrigin::Signed(11).into(), c0));
		assert_ok!(settle(1, m, 1_000, &[1], &attribution(&[(c0, 50)])));
		assert_eq!(claimable(11), 0);
		// All 300 of data and 120 upstream go to the one contribution left.
		assert_eq!(Rewards::contribution_earnings(c1), 420);
	});
}

#[test]
fn a_contribution_approved_after_a_model_earns_nothing_from_it() {
	new_test_ext().execute_with(|| {
		let (m, [c0, c1]) = one_model();
		let late = contribute(13, 0);
		assert_eq!(Memberships::<Test>::get(late).map(|m| m.join), Some(2));
		// 120 upstream + 300 of data to model m's snapshot: c0 and c1 only.
		assert_ok!(settle(1, m, 1_000, &[1], &attribution(&[(late, 50)])));
		assert_eq!(Rewards::contribution_earnings(late), 0);
		assert_eq!(Rewards::contribution_earnings(c0), 210);
		assert_eq!(Rewards::contribution_earnings(c1), 210);
		// A model registered after it was approved pays it: 30% of 300 named,
		// and a third of 120 + 150 in the pool.
		let newer = model(14, &[(0, pct(40))], &[]);
		assert_ok!(settle(2, newer, 1_000, &[1], &attribution(&[(late, 50)])));
		assert_eq!(Rewards::contribution_earnings(late), 150 + 90);
		assert_eq!(Rewards::contribution_earnings(c0), 210 + 90);
	});
}

#[test]
fn models_share_a_snapshot_until_a_contribution_joins() {
	new_test_ext().execute_with(|| {
		let d = datanet(10);
		let first = model(10, &[(d, pct(10))], &[]);
		let second = model(10, &[(d, pct(10))], &[]);
		contribute(11, d);
		let third = model(10, &[(d, pct(10))], &[]);
		let snapshot = |m| <Graph as AttributionGraph<Balance>>::training(m)[0].1;
		assert_eq!([snapshot(first), snapshot(second), snapshot(third)], [1, 1, 2]);
		assert_eq!(Pools::<Test>::get(d).taken, 2);
	});
}

#[test]
fn a_datanet_takes_at_most_max_snapshots() {
	new_test_ext().execute_with(|| {
		let d = datanet(10);
		Pools::<Test>::insert(d, crate::Pool { taken: MaxSnapshots::get() - 1, joined: true });
		model(10, &[(d, pct(10))], &[]);
		contribute(11, d);
		let registered = pallet_registry::NextModelId::<Test>::get();
		assert_noop!(
			Registry::register_model(
				RawOrigin::Signed(10).into(),
				H256::zero(),
				H256::zero(),
				BoundedVec::new(),
				BoundedVec::new(),
				BoundedVec::truncate_from(vec![(d, pct(10))]),
				BoundedVec::new(),
				1,
			),
			Error::<Test>::SnapshotsExhausted
		);
		assert_eq!(pallet_registry::NextModelId::<Test>::get(), registered);
	});
}

/// The dilution attack on an open datanet: after model `m` was trained on
/// ten honest contributions, an attacker adds ninety junk ones (0.9 TRIB of
/// refundable deposits on the live chain). Returns what the honest
/// contributions and the attacker's earn from one job of `m`.
fn dilution_attack() -> (Balance, Balance) {
	let d = datanet(10);
	let honest: Vec<_> = (0..10).map(|_| contribute(11, d)).collect();
	let m = model(10, &[(d, pct(40))], &[]);
	let junk: Vec<_> = (0..90).map(|_| contribute(12, d)).collect();
	assert_ok!(settle(1, m, 1_000_000, &[1], &attribution(&[])));
	let earned =
		|ids: &[ContributionId]| ids.iter().map(|&c| Rewards::contribution_earnings(c)).sum();
	(earned(&honest), earned(&junk))
}

#[test]
fn junk_contributions_added_after_a_model_take_nothing_from_it() {
	new_test_ext().execute_with(|| {
		let (honest, attacker) = dilution_attack();
		println!("dilution attack, one job of 1 000 000: honest {honest}, attacker {attacker}");
		assert_eq!(attacker, 0);
		// 40% of the model's 300 000 upstream, and the data share's 300 000.
		assert_eq!(honest, 120_000 + 300_000);
	});
}

#[test]
fn joining_before_a_payment_and_leaving_after_earns_nothing() {
	new_test_ext().execute_with(|| {
		let (m, [c0, c1]) = one_model();
		let drive_by = contribute(13, 0);
		assert_ok!(settle(1, m, 1_000, &[1], &attribution(&[])));
		assert_ok!(Registry::withdraw_contribution(RawOrigin::Signed(13).into(), drive_by));
		assert_eq!(claimable(13), 0);
		assert_eq!(Rewards::contribution_earnings(drive_by), 0);
		assert_eq!(Rewards::contribution_earnings(c0) + Rewards::contribution_earnings(c1), 420);
	});
}

#[test]
fn a_withdrawn_contribution_keeps_what_it_earned() {
	new_test_ext().execute_with(|| {
		let (m, [c0, c1]) = one_model();
		assert_ok!(settle(1, m, 1_000, &[1], &attribution(&[])));
		assert_ok!(Registry::withdraw_contribution(RawOrigin::Signed(11).into(), c0));
		// Its 210 were harvested into its contributor's claimable.
		assert_eq!(claimable(11), 210);
		assert!(System::events().iter().any(|r| r.event
			== RuntimeEvent::Rewards(Event::PoolRewardsHarvested {
				contribution_id: c0,
				contributor: 11,
				amount: 210
			})));
		assert_eq!(ContributionEarnings::<Test>::get(c0), 210);
		assert_eq!(Memberships::<Test>::get(c0), None);
		assert_ok!(settle(2, m, 1_000, &[1], &attribution(&[])));
		assert_eq!(Rewards::contribution_earnings(c0), 210);
		assert_eq!(Rewards::contribution_earnings(c1), 210 + 420);
	});
}

#[test]
fn an_indivisible_remainder_goes_to_the_treasury() {
	new_test_ext().execute_with(|| {
		let d = datanet(10);
		let contributions = [contribute(11, d), contribute(12, d), contribute(13, d)];
		let m = model(10, &[(d, pct(100))], &[]);
		// 30% of 10 is 3 upstream and 3 of data: one each to the three members.
		assert_ok!(settle(1, m, 10, &[1], &attribution(&[])));
		assert!(contributions.iter().all(|&c| Rewards::contribution_earnings(c) == 2));
		let treasury = Balances::balance(&TREASURY);
		// 30% of 7 rounds down to 2 for each part: 2 to the worker, 2 and 2
		// to three members divide to nothing, so the treasury takes 5.
		assert_ok!(settle(2, m, 7, &[1], &attribution(&[])));
		assert!(contributions.iter().all(|&c| Rewards::contribution_earnings(c) == 2));
		assert_eq!(Balances::balance(&TREASURY), treasury + 5);
	});
}

#[test]
fn every_part_rounds_down() {
	new_test_ext().execute_with(|| {
		let d = datanet(10);
		let named: Vec<_> = (0..5).map(|_| contribute(11, d)).collect();
		let m = model(10, &[(d, pct(10))], &[]);
		let all_data =
			RewardShares { worker: pct(0), model: pct(0), data: pct(100), treasury: pct(0) };
		assert_ok!(Rewards::set_shares(RawOrigin::Root.into(), all_data));
		let treasury = Balances::balance(&TREASURY);
		// Five entries at 17% of 10: 1.7 each rounds down to 1 (rounding to
		// nearest credited 2 each, 10 by name and 11 in all).
		let entries: Vec<_> = named.iter().map(|&c| (c, 17)).collect();
		assert_ok!(settle(1, m, 10, &[], &attribution(&entries)));
		assert_eq!(claimable(11), 5);
		// The other 5 go to the five members of the pool, one each.
		assert!(named.iter().all(|&c| Rewards::contribution_earnings(c) == 2));
		assert_eq!(Balances::balance(&TREASURY), treasury);
	});
}

#[test]
fn a_settlement_that_fails_leaves_nothing_behind() {
	new_test_ext().execute_with(|| {
		let (m, [c0, _]) = one_model();
		// The treasury's account is gone and the 3 it is owed of a fee of 20
		// cannot bring it back, so the transfer to it fails after every credit.
		assert_ok!(Balances::transfer_all(RawOrigin::Signed(TREASURY).into(), 1, false));
		assert_eq!(
			settle(1, m, 20, &[1], &attribution(&[(c0, 50)])),
			Err(polkadot_sdk::sp_runtime::TokenError::BelowMinimum.into())
		);
		assert_eq!(Claimable::<Test>::iter().count(), 0);
		assert_eq!(Rewards::contribution_earnings(c0), 0);
		assert_eq!(ModelEarnings::<Test>::get(m), 0);
		assert!(!crate::Settled::<Test>::contains_key(1));
		// The fee stays in the rewards account, for the caller to give back.
		assert_eq!(Balances::balance(&Rewards::account_id()), ED + 20);
	});
}

#[test]
fn claims_pay_what_was_earned() {
	new_test_ext().execute_with(|| {
		let (m, [c0, c1]) = one_model();
		assert_ok!(settle(1, m, 1_000, &[1], &attribution(&[(c0, 50)])));
		let before = Balances::balance(&1);
		let issuance = Balances::total_issuance();
		assert_ok!(Rewards::claim(RawOrigin::Signed(1).into()));
		assert_eq!(Balances::balance(&1), before + 300);
		assert_eq!(claimable(1), 0);
		assert_eq!(last_event(), Event::RewardsClaimed { who: 1, amount: 300 });
		assert_eq!(Balances::total_issuance(), issuance);
		assert_noop!(Rewards::claim(RawOrigin::Signed(1).into()), Error::<Test>::NothingToClaim);

		// Contribution 0 earned 150 by name and 135 in its pool.
		assert_ok!(Rewards::claim_contributions(
			RawOrigin::Signed(11).into(),
			BoundedVec::truncate_from(vec![c0])
		));
		let rewards: Vec<_> = System::events()
			.into_iter()
			.rev()
			.filter(|r| matches!(r.event, RuntimeEvent::Rewards(_)))
			.take(2)
			.map(|r| r.event)
			.collect();
		assert_eq!(
			rewards,
			[
				RuntimeEvent::Rewards(Event::RewardsClaimed { who: 11, amount: 285 }),
				RuntimeEvent::Rewards(Event::PoolRewardsHarvested {
					contribution_id: c0,
					contributor: 11,
					amount: 135
				}),
			],
			"the harvest is announced, then the claim"
		);
		assert_eq!(Rewards::contribution_earnings(c0), 285);
		assert_noop!(
			Rewards::claim_contributions(
				RawOrigin::Signed(11).into(),
				BoundedVec::truncate_from(vec![c1])
			),
			Error::<Test>::NotContributor
		);
		assert_ok!(Registry::withdraw_contribution(RawOrigin::Signed(12).into(), c1));
		assert_noop!(
			Rewards::claim_contributions(
				RawOrigin::Signed(12).into(),
				BoundedVec::truncate_from(vec![c1])
			),
			Error::<Test>::NotEarning
		);
	});
}

#[test]
fn dust_below_the_existential_deposit_stays_claimable() {
	new_test_ext().execute_with(|| {
		let (m, _) = one_model();
		// Worker 99 does not exist yet; 30% of 20 is 6, below the 10 it would need.
		assert_ok!(settle(1, m, 20, &[99], &attribution(&[])));
		assert_eq!(claimable(99), 6);
		assert_noop!(
			Rewards::claim(RawOrigin::Signed(99).into()),
			Error::<Test>::BelowExistentialDeposit
		);
		assert_ok!(settle(2, m, 20, &[99], &attribution(&[])));
		assert_ok!(Rewards::claim(RawOrigin::Signed(99).into()));
		assert_eq!(Balances::balance(&99), 12);
	});
}

#[test]
fn only_root_sets_shares_and_they_must_be_whole() {
	new_test_ext().execute_with(|| {
		let shares =
			RewardShares { worker: pct(40), model: pct(20), data: pct(35), treasury: pct(5) };
		assert_noop!(
			Rewards::set_shares(RawOrigin::Signed(1).into(), shares),
			DispatchError::BadOrigin
		);
		assert_noop!(
			Rewards::set_shares(
				RawOrigin::Root.into(),
				RewardShares { treasury: pct(6), ..shares }
			),
			Error::<Test>::InvalidShares
		);
		assert_noop!(
			Rewards::set_shares(
				RawOrigin::Root.into(),
				RewardShares { treasury: pct(4), ..shares }
			),
			Error::<Test>::InvalidShares
		);
		assert_ok!(Rewards::set_shares(RawOrigin::Root.into(), shares));
		assert_eq!(Shares::<Test>::get(), shares);
		assert_eq!(last_event(), Event::SharesSet { shares });

		let (m, _) = one_model();
		assert_ok!(settle(1, m, 1_000, &[1], &attribution(&[])));
		assert_eq!(claimable(1), 400);
	});
}

/// Everything settlement owes, wherever it is now: claimable, pending in
/// pools, and what the treasury took.
fn accounted() -> Balance {
	let claimable: Balance = Claimable::<Test>::iter_values().sum();
	let pending: Balance = Memberships::<Test>::iter_keys()
		.map(|c| {
			let datanet = pallet_registry::Contributions::<Test>::get(c).unwrap().datanet;
			Rewards::pending(c, datanet)
		})
		.sum();
	claimable + pending + Balances::balance(&TREASURY) - ED
}

/// What each contribution should earn, computed the plain way: a model's
/// training set in a datanet is the contributions approved when it was
/// registered, and a payment to it is divided among those still approved.
#[derive(Default)]
struct Reference {
	/// Approved contributions: their datanets.
	approved: BTreeMap<ContributionId, DatanetId>,
	/// Each snapshot's training set, recorded when a model first took it.
	sets: BTreeMap<(DatanetId, SnapshotId), BTreeSet<ContributionId>>,
	earned: BTreeMap<ContributionId, Balance>,
}

impl Reference {
	fn approve(&mut self, contribution: ContributionId, datanet: DatanetId) {
		self.approved.insert(contribution, datanet);
	}

	fn withdraw(&mut self, contribution: ContributionId) {
		self.approved.remove(&contribution);
	}

	/// Records the training sets of model `m` just registered.
	fn registered(&mut self, m: ModelId) {
		for (d, snapshot, _) in <Graph as AttributionGraph<Balance>>::training(m) {
			let now: BTreeSet<_> =
				self.approved.iter().filter(|(_, &cd)| cd == d).map(|(&c, _)| c).collect();
			let set = self.sets.entry((d, snapshot)).or_insert_with(|| now.clone());
			// A shared snapshot has the same members still approved.
			assert_eq!(set.iter().filter(|c| self.approved.contains_key(c)).count(), now.len());
		}
	}

	fn live(&self, d: DatanetId, snapshot: SnapshotId) -> Vec<ContributionId> {
		self.sets[&(d, snapshot)]
			.iter()
			.copied()
			.filter(|c| self.approved.contains_key(c))
			.collect()
	}

	fn pay(&mut self, d: DatanetId, snapshot: SnapshotId, amount: Balance) {
		let live = self.live(d, snapshot);
		if live.is_empty() {
			return;
		}
		for c in &live {
			*self.earned.entry(*c).or_default() += amount / live.len() as Balance;
		}
	}

	fn settle(&mut self, m: ModelId, fee: Balance, named: &[(ContributionId, u32)]) {
		let shares = Shares::<Test>::get();
		let split = <Graph as AttributionGraph<Balance>>::split(m, shares.model.mul_floor(fee));
		for (beneficiary, amount) in split.upstream {
			if let Beneficiary::Datanet(d, snapshot) = beneficiary {
				self.pay(d, snapshot, amount);
			}
		}
		let pot = shares.data.mul_floor(fee);
		let training = <Graph as AttributionGraph<Balance>>::training(m);
		let mut paid = 0;
		for &(c, percent) in named {
			let trained_on = self.approved.get(&c).is_some_and(|&cd| {
				training.iter().any(|&(d, s, _)| d == cd && self.sets[&(d, s)].contains(&c))
			});
			if trained_on {
				let amount = pct(percent).mul_floor(pot).min(pot - paid);
				*self.earned.entry(c).or_default() += amount;
				paid += amount;
			}
		}
		let unnamed = pot - paid;
		let whole: u128 = training.iter().map(|(_, _, share)| share.deconstruct() as u128).sum();
		for (d, snapshot, share) in training {
			let amount = (unnamed as u128 * share.deconstruct() as u128 / whole) as Balance;
			self.pay(d, snapshot, amount);
		}
	}
}

#[derive(Clone, Debug)]
enum Step {
	/// Settle a job of model `model % models` with `fee`, `workers` workers
	/// and an attribution naming contributions (index, percent).
	Settle {
		model: usize,
		fee: Balance,
		workers: u64,
		named: Vec<(usize, u32)>,
	},
	Contribute {
		datanet: usize,
		who: AccountId,
	},
	Withdraw {
		contribution: usize,
	},
	Claim {
		who: AccountId,
	},
	/// Register a model trained on datanets (index, percent) with a parent.
	Register {
		training: Vec<(usize, u32)>,
		parent: Option<(usize, u32)>,
	},
}

fn step() -> impl Strategy<Value = Step> {
	prop_oneof![
		4 => (0..8usize, 1..1_000_000_000u64, 1..6u64, prop::collection::vec((0..24usize, 1..40u32), 0..4))
			.prop_map(|(model, fee, workers, named)| Step::Settle { model, fee, workers, named }),
		3 => (0..3usize, 11..20u64).prop_map(|(datanet, who)| Step::Contribute { datanet, who }),
		1 => (0..24usize).prop_map(|contribution| Step::Withdraw { contribution }),
		1 => (1..20u64).prop_map(|who| Step::Claim { who }),
		1 => (prop::collection::btree_map(0..3usize, 1..30u32, 0..3), prop::option::of((0..8usize, 1..12u32)))
			.prop_map(|(training, parent)| Step::Register { training: training.into_iter().collect(), parent }),
	]
}

/// Four models, each trained on some of `datanets` and built on some
/// earlier models, shares from `shares`.
fn graph(shares: &[u32], datanets: &[DatanetId]) -> Vec<u64> {
	let mut models = Vec::new();
	for (i, chunk) in shares.chunks(3).take(4).enumerate() {
		let training: Vec<_> = datanets
			.iter()
			.zip(chunk)
			.filter(|(_, &s)| s > 0)
			.map(|(&d, &s)| (d, pct(s)))
			.collect();
		let parents: Vec<_> = models.iter().take(i).map(|&m| (m, pct(chunk[0] % 20 + 1))).collect();
		models.push(model(10 + i as u64, &training, &parents));
	}
	models
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(64))]

	/// Over random graphs, contributions, withdrawals, registrations and job
	/// streams: each contribution earns exactly what the plain reference
	/// computation says; settlement and claims never change the issuance,
	/// account for every unit of every fee, and never settle a job twice.
	#[test]
	fn every_contribution_earns_what_the_reference_says(
		shares in prop::collection::vec(0..16u32, 12),
		initial in prop::collection::vec((0..3usize, 11..20u64), 0..6),
		steps in prop::collection::vec(step(), 1..40),
	) {
		new_test_ext().execute_with(|| {
			let mut reference = Reference::default();
			let datanets: Vec<_> = (0..3).map(|_| datanet(10)).collect();
			let mut contributions: Vec<ContributionId> = Vec::new();
			for &(d, who) in &initial {
				let c = contribute(who, d as u64);
				reference.approve(c, d as u64);
				contributions.push(c);
			}
			let mut models = graph(&shares, &datanets);
			for &m in &models {
				reference.registered(m);
			}
			let issuance = Balances::total_issuance();
			let mut settled: Balance = 0;
			let mut claimed: Balance = 0;
			for (job, step) in steps.into_iter().enumerate() {
				match step {
					Step::Settle { model, fee, workers, named } => {
						let named: Vec<_> = named
							.into_iter()
							.filter_map(|(i, p)| contributions.get(i).map(|&c| (c, p)))
							.collect();
						let mut unique = named.clone();
						unique.sort();
						unique.dedup_by_key(|(c, _)| *c);
						let workers: Vec<_> = (1..=workers).collect();
						let m = models[model % models.len()];
						prop_assert_eq!(settle(job as u64, m, fee, &workers, &attribution(&unique)), Ok(()));
						reference.settle(m, fee, &unique);
						settled += fee;
						let again = <Rewards as tributary_primitives::JobSettlement<_, _>>::settle(
							tributary_primitives::CompletedJob {
								job_id: job as u64,
								model_id: m,
								fee,
								workers: &workers,
								attribution: &attribution(&unique),
							},
						);
						prop_assert_eq!(again, Err(Error::<Test>::AlreadySettled.into()));
					},
					Step::Contribute { datanet, who } => {
						let c = contribute(who, datanet as u64);
						reference.approve(c, datanet as u64);
						contributions.push(c);
					},
					Step::Withdraw { contribution } => {
						// A contribution withdrawn already has no record left.
						let stored = contributions
							.get(contribution)
							.and_then(|&c| pallet_registry::Contributions::<Test>::get(c).map(|r| (c, r)));
						if let Some((c, record)) = stored {
							let origin = RawOrigin::Signed(record.contributor).into();
							prop_assert_eq!(Registry::withdraw_contribution(origin, c), Ok(()));
							reference.withdraw(c);
						}
					},
					Step::Claim { who } => {
						let amount = claimable(who);
						if Rewards::claim(RawOrigin::Signed(who).into()).is_ok() {
							claimed += amount;
						}
					},
					Step::Register { training, parent } => {
						let training: Vec<_> =
							training.into_iter().map(|(d, p)| (d as u64, pct(p))).collect();
						let parents: Vec<_> =
							parent.map(|(i, p)| (models[i % models.len()], pct(p))).into_iter().collect();
						let m = model(15, &training, &parents);
						reference.registered(m);
						models.push(m);
					},
				}
				for &c in &contributions {
					prop_assert_eq!(
						Rewards::contribution_earnings(c),
						reference.earned.get(&c).copied().unwrap_or_default(),
						"contribution {}", c
					);
				}
				prop_assert_eq!(Balances::total_issuance(), issuance);
				prop_assert_eq!(accounted() + claimed, settled);
				let held = Balances::balance(&Rewards::account_id()) - ED;
				prop_assert_eq!(held, accounted() - (Balances::balance(&TREASURY) - ED));
			}
			Ok(())
		})?;
	}
}

/// A model whose flattened map holds 64 entries: 16 training datanets and
/// 16 parents with two datanets each; 32 contributions in its first datanet.
fn widest_model() -> (ModelId, Vec<ContributionId>) {
	let training: Vec<_> = (0..16).map(|_| (datanet(10), Perbill::from_parts(1_000_000))).collect();
	let contributions = (0..32).map(|i| contribute(11 + i % 8, training[0].0)).collect();
	let parents: Vec<_> = (0..16)
		.map(|_| {
			let own = [(datanet(10), pct(3)), (datanet(10), pct(2))];
			for &(d, _) in &own {
				contribute(19, d);
			}
			(model(12, &own, &[]), Perbill::from_parts(20_000_000))
		})
		.collect();
	let m = model(13, &training, &parents);
	assert_eq!(<Graph as AttributionGraph<Balance>>::upstream(m).len(), 64);
	(m, contributions)
}

fn shares_from(parts: [u32; 3]) -> RewardShares {
	let [worker, model, data] = parts.map(|p| Perbill::from_parts(p));
	let treasury = Perbill::one().saturating_sub(worker).saturating_sub(model).saturating_sub(data);
	RewardShares { worker, model, data, treasury }
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(256))]

	/// With tiny and large fees, up to 32 named entries, 64 upstream entries
	/// and any shares (a 0% treasury share included), what is credited plus
	/// what the treasury takes is the fee, exactly.
	#[test]
	fn credited_and_remainder_add_up_to_the_fee(
		fee in prop_oneof![0..100u64, 0..1_000_000_000_000u64],
		parts in prop_oneof![
			(0..=1_000_000_000u32, 0..=1_000_000_000u32).prop_map(|(a, b)| {
				let (a, b) = (a.min(b), a.max(b));
				[a, b - a, 1_000_000_000 - b]
			}),
			(0..=1_000_000_000u32, 0..=1_000_000_000u32, 0..=1_000_000_000u32)
				.prop_filter("within 100%", |(a, b, c)| (*a as u64 + *b as u64 + *c as u64) <= 1_000_000_000)
				.prop_map(|(a, b, c)| [a, b, c]),
		],
		named in prop::collection::vec((0..32usize, 0..=1_000_000_000u32 / 32), 0..=32),
		workers in 0..16u64,
	) {
		new_test_ext().execute_with(|| {
			let (m, contributions) = widest_model();
			let shares = shares_from(parts);
			prop_assert!(shares.is_whole());
			assert_ok!(Rewards::set_shares(RawOrigin::Root.into(), shares));
			let mut entries: Vec<_> = named.into_iter().map(|(i, w)| (contributions[i], Perbill::from_parts(w))).collect();
			entries.sort();
			entries.dedup_by_key(|(c, _)| *c);
			let before = accounted();
			let claimable_before: BTreeMap<_, _> = Claimable::<Test>::iter().collect();
			let workers: Vec<_> = (1..=workers).collect();
			let treasury = Balances::balance(&TREASURY);
			prop_assert_eq!(
				settle(1, m, fee, &workers, &BoundedVec::truncate_from(entries)),
				Ok(())
			);
			prop_assert_eq!(accounted() - before, fee);
			let Event::JobSettled { worker_share, model_share, upstream_share, data_share, treasury_share, credits, .. } =
				last_event() else { panic!("a settlement event") };
			prop_assert_eq!(worker_share + model_share + upstream_share + data_share + treasury_share, fee);
			// The event's credits are the fee less the treasury's part, and
			// each account's are what it can now claim more.
			prop_assert_eq!(credits.iter().map(|(_, amount)| amount).sum::<Balance>() + treasury_share, fee);
			for (who, amount) in credited_accounts(&credits) {
				prop_assert_eq!(claimable(who), amount + claimable_before.get(&who).copied().unwrap_or_default());
			}
			prop_assert_eq!(Balances::balance(&TREASURY) - treasury, treasury_share);
			prop_assert!(treasury_share >= shares.treasury.mul_floor(fee));
			Ok(())
		})?;
	}
}
