use crate::{
	mock::*, Claimable, ContributionEarnings, Debts, Error, Event, ModelEarnings, Pools,
	RewardShares, Shares,
};
use polkadot_sdk::{
	frame_support::{assert_noop, assert_ok, traits::fungible::Inspect, BoundedVec},
	frame_system::RawOrigin,
	sp_runtime::{DispatchError, Perbill},
};
use proptest::prelude::*;
use tributary_primitives::{Attribution, ContributionId};

fn pct(p: u32) -> Perbill {
	Perbill::from_percent(p)
}

fn attribution(entries: &[(ContributionId, u32)]) -> Attribution {
	BoundedVec::truncate_from(entries.iter().map(|&(c, p)| (c, pct(p))).collect())
}

fn claimable(who: AccountId) -> Balance {
	Claimable::<Test>::get(who)
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
		assert_eq!(Pools::<Test>::get(0).carry, 0);
		assert_eq!(Balances::balance(&TREASURY), ED + 100);
		assert_eq!(
			last_event(),
			Event::JobSettled {
				job_id: 7,
				worker_share: 300,
				model_share: 180,
				upstream_share: 120,
				data_share: 300,
				treasury_share: 100,
			}
		);
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
fn a_contribution_approved_later_earns_only_from_then_on() {
	new_test_ext().execute_with(|| {
		let (m, [c0, _]) = one_model();
		assert_ok!(settle(1, m, 1_000, &[1], &attribution(&[])));
		let late = contribute(13, 0);
		assert_eq!(Rewards::contribution_earnings(late), 0);
		assert_eq!(Debts::<Test>::get(late), Some(Pools::<Test>::get(0).accumulator));
		// 120 + 300 = 420 to three members: 140 each.
		assert_ok!(settle(2, m, 1_000, &[1], &attribution(&[])));
		assert_eq!(Rewards::contribution_earnings(late), 140);
		assert_eq!(Rewards::contribution_earnings(c0), 210 + 140);
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
		assert_eq!(ContributionEarnings::<Test>::get(c0), 210);
		assert_eq!(Pools::<Test>::get(0).members, 1);
		assert_ok!(settle(2, m, 1_000, &[1], &attribution(&[])));
		assert_eq!(Rewards::contribution_earnings(c0), 210);
		assert_eq!(Rewards::contribution_earnings(c1), 210 + 420);
	});
}

#[test]
fn an_indivisible_remainder_waits_in_the_pool() {
	new_test_ext().execute_with(|| {
		let d = datanet(10);
		let contributions = [contribute(11, d), contribute(12, d), contribute(13, d)];
		let m = model(10, &[(d, pct(100))], &[]);
		// 30% of 10 is 3 upstream, 30% is 3 of data: 6 for three members.
		assert_ok!(settle(1, m, 10, &[1], &attribution(&[])));
		assert_eq!(Pools::<Test>::get(d).carry, 0);
		assert_ok!(settle(2, m, 7, &[1], &attribution(&[])));
		// 2 upstream, 2 of data: 4, one each and 1 carried.
		assert_eq!(Pools::<Test>::get(d).carry, 1);
		assert!(contributions.iter().all(|&c| Rewards::contribution_earnings(c) == 3));
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
		assert_eq!(last_event(), Event::RewardsClaimed { who: 11, amount: 285 });
		assert_eq!(Rewards::contribution_earnings(c0), 285);
		assert_noop!(
			Rewards::claim_contributions(
				RawOrigin::Signed(11).into(),
				BoundedVec::truncate_from(vec![c1])
			),
			Error::<Test>::NotContributor
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
/// pools, carried in pools, and what the treasury took.
fn accounted() -> Balance {
	let claimable: Balance = Claimable::<Test>::iter_values().sum();
	let pending: Balance = Debts::<Test>::iter()
		.map(|(c, debt)| {
			let datanet = pallet_registry::Contributions::<Test>::get(c).unwrap().datanet;
			Pools::<Test>::get(datanet).accumulator - debt
		})
		.sum();
	let carried: Balance = Pools::<Test>::iter_values().map(|pool| pool.carry).sum();
	claimable + pending + carried + Balances::balance(&TREASURY) - ED
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
}

fn step() -> impl Strategy<Value = Step> {
	prop_oneof![
		4 => (0..4usize, 1..1_000_000_000u64, 1..6u64, prop::collection::vec((0..12usize, 1..40u32), 0..4))
			.prop_map(|(model, fee, workers, named)| Step::Settle { model, fee, workers, named }),
		2 => (0..3usize, 11..20u64).prop_map(|(datanet, who)| Step::Contribute { datanet, who }),
		1 => (0..12usize).prop_map(|contribution| Step::Withdraw { contribution }),
		1 => (1..20u64).prop_map(|who| Step::Claim { who }),
	]
}

/// A graph: three datanets and four models, each trained on some datanets
/// and built on some earlier models, shares from `shares`.
fn graph(shares: &[u32]) -> Vec<u64> {
	let datanets: Vec<_> = (0..3).map(|_| datanet(10)).collect();
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

	/// Over random graphs, attributions and job streams, settlement and claims
	/// never change the issuance, account for every unit of every fee, and
	/// never settle a job twice.
	#[test]
	fn settlement_conserves_every_unit(
		shares in prop::collection::vec(0..16u32, 12),
		initial in prop::collection::vec((0..3usize, 11..20u64), 0..6),
		steps in prop::collection::vec(step(), 1..30),
	) {
		new_test_ext().execute_with(|| {
			let models = graph(&shares);
			let mut contributions: Vec<ContributionId> =
				initial.iter().map(|&(d, who)| contribute(who, d as u64)).collect();
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
						contributions.push(contribute(who, datanet as u64));
					},
					Step::Withdraw { contribution } => {
						if let Some(&c) = contributions.get(contribution) {
							let contributor =
								pallet_registry::Contributions::<Test>::get(c).unwrap().contributor;
							let _ = Registry::withdraw_contribution(RawOrigin::Signed(contributor).into(), c);
						}
					},
					Step::Claim { who } => {
						let amount = claimable(who);
						if Rewards::claim(RawOrigin::Signed(who).into()).is_ok() {
							claimed += amount;
						}
					},
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
