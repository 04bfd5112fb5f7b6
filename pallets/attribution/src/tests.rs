use crate::{mock::*, AgentModels, Error, Event, ParentEdges, TrainingEdges, Upstream};
use polkadot_sdk::{
	frame_support::{assert_noop, assert_ok},
	sp_runtime::Perbill,
};
use proptest::prelude::*;
use std::collections::BTreeMap;
use tributary_primitives::{AttributionGraph, Beneficiary, DatanetId, ModelId, SnapshotId};

type Graph = Attribution;

/// Records `model`, trained on snapshot [`SNAPSHOT`] of each of its datanets.
fn record(
	model: ModelId,
	training: &[(DatanetId, Perbill)],
	parents: &[(ModelId, Perbill)],
) -> polkadot_sdk::sp_runtime::DispatchResult {
	let training: Vec<_> = training.iter().map(|&(d, share)| (d, SNAPSHOT, share)).collect();
	<Graph as AttributionGraph<u128>>::record_model(model, &training, parents)
}

const SNAPSHOT: SnapshotId = 1;

/// Datanet `d` at [`SNAPSHOT`].
fn datanet(d: DatanetId) -> Beneficiary {
	Beneficiary::Datanet(d, SNAPSHOT)
}

fn pct(p: u32) -> Perbill {
	Perbill::from_percent(p)
}

fn upstream(model: ModelId) -> Vec<(Beneficiary, Perbill)> {
	<Graph as AttributionGraph<u128>>::upstream(model).into_inner()
}

#[test]
fn base_model_owes_its_training_datanets_their_direct_shares() {
	new_test_ext().execute_with(|| {
		assert_ok!(record(1, &[(10, pct(20)), (11, pct(10))], &[]));
		assert_eq!(upstream(1), vec![(datanet(10), pct(20)), (datanet(11), pct(10))]);
		assert_eq!(
			TrainingEdges::<Test>::get(1).into_inner(),
			vec![(10, SNAPSHOT, pct(20)), (11, SNAPSHOT, pct(10))]
		);
		System::assert_last_event(Event::ModelRecorded { model_id: 1, upstream_entries: 2 }.into());
	});
}

#[test]
fn child_inherits_the_parents_upstream_scaled_by_the_parents_share() {
	new_test_ext().execute_with(|| {
		// Model 1 passes 30% upstream (20% to datanet 10, 10% to datanet 11) and keeps 70%.
		assert_ok!(record(1, &[(10, pct(20)), (11, pct(10))], &[]));
		// Model 2 names model 1 with 50% and datanet 12 with 10%.
		assert_ok!(record(2, &[(12, pct(10))], &[(1, pct(50))]));
		assert_eq!(
			upstream(2),
			vec![
				(Beneficiary::Model(1), pct(35)), // 50% × 70%
				(datanet(10), pct(10)),           // 50% × 20%
				(datanet(11), pct(5)),            // 50% × 10%
				(datanet(12), pct(10)),
			]
		);
		assert_eq!(ParentEdges::<Test>::get(2).into_inner(), vec![(1, pct(50))]);
	});
}

#[test]
fn one_datanet_at_two_snapshots_is_owed_twice() {
	new_test_ext().execute_with(|| {
		// Model 1 was trained on snapshot 1 of datanet 10, model 2 on snapshot 2.
		let graph = <Graph as AttributionGraph<u128>>::record_model;
		assert_ok!(graph(1, &[(10, 1, pct(40))], &[]));
		assert_ok!(graph(2, &[(10, 2, pct(20))], &[(1, pct(50))]));
		// Each snapshot is paid apart: the contributions that joined between
		// them earn from model 2 only.
		assert_eq!(
			upstream(2),
			vec![
				(Beneficiary::Model(1), pct(30)),
				(Beneficiary::Datanet(10, 1), pct(20)),
				(Beneficiary::Datanet(10, 2), pct(20)),
			]
		);
	});
}

#[test]
fn shares_reached_by_two_paths_add_up() {
	new_test_ext().execute_with(|| {
		assert_ok!(record(1, &[(10, pct(40))], &[]));
		assert_ok!(record(2, &[(10, pct(20))], &[(1, pct(50))]));
		// Datanet 10: 20% directly, plus 50% × 40% through model 1.
		assert_eq!(upstream(2), vec![(Beneficiary::Model(1), pct(30)), (datanet(10), pct(40))]);
	});
}

#[test]
fn split_pays_each_beneficiary_and_leaves_the_rest_with_the_model() {
	new_test_ext().execute_with(|| {
		assert_ok!(record(1, &[(10, pct(20)), (11, pct(10))], &[]));
		assert_ok!(record(2, &[(12, pct(10))], &[(1, pct(50))]));
		let split = <Graph as AttributionGraph<u128>>::split(2, 1_000);
		assert_eq!(
			split.upstream.into_inner(),
			vec![
				(Beneficiary::Model(1), 350),
				(datanet(10), 100),
				(datanet(11), 50),
				(datanet(12), 100),
			]
		);
		assert_eq!(split.model, 400);
	});
}

#[test]
fn split_rounds_every_beneficiary_down_and_the_model_keeps_the_dust() {
	new_test_ext().execute_with(|| {
		let third = Perbill::from_rational(1u32, 3u32);
		assert_ok!(record(1, &[(10, third), (11, third)], &[]));
		let split = <Graph as AttributionGraph<u128>>::split(1, 10);
		assert_eq!(split.upstream.into_inner(), vec![(datanet(10), 3), (datanet(11), 3)]);
		assert_eq!(split.model, 4);
		// Amounts too small to owe anyone anything stay whole with the model.
		let split = <Graph as AttributionGraph<u128>>::split(1, 2);
		assert!(split.upstream.is_empty());
		assert_eq!(split.model, 2);
	});
}

#[test]
fn unknown_model_splits_nothing_upstream() {
	new_test_ext().execute_with(|| {
		let split = <Graph as AttributionGraph<u128>>::split(99, 500);
		assert!(split.upstream.is_empty());
		assert_eq!(split.model, 500);
	});
}

#[test]
fn shares_over_the_whole_are_refused() {
	new_test_ext().execute_with(|| {
		assert_ok!(record(1, &[], &[]));
		assert_noop!(
			record(2, &[(10, pct(60))], &[(1, pct(41))]),
			Error::<Test>::SharesExceedWhole
		);
		assert_noop!(
			record(2, &[(10, pct(60)), (11, pct(50))], &[]),
			Error::<Test>::SharesExceedWhole
		);
		// Exactly the whole is allowed: the owner keeps nothing.
		assert_ok!(record(2, &[(10, pct(60))], &[(1, pct(40))]));
	});
}

#[test]
fn zero_shares_are_refused() {
	new_test_ext().execute_with(|| {
		assert_ok!(record(1, &[], &[]));
		assert_noop!(record(2, &[(10, Perbill::zero())], &[]), Error::<Test>::ZeroShare);
		assert_noop!(record(2, &[], &[(1, Perbill::zero())]), Error::<Test>::ZeroShare);
	});
}

#[test]
fn duplicates_are_refused() {
	new_test_ext().execute_with(|| {
		assert_ok!(record(1, &[], &[]));
		assert_noop!(
			record(2, &[(10, pct(1)), (10, pct(2))], &[]),
			Error::<Test>::DuplicateDatanet
		);
		assert_noop!(record(2, &[], &[(1, pct(1)), (1, pct(2))]), Error::<Test>::DuplicateParent);
	});
}

#[test]
fn unknown_parent_is_refused_so_no_cycle_can_form() {
	new_test_ext().execute_with(|| {
		assert_noop!(record(1, &[], &[(2, pct(10))]), Error::<Test>::UnknownParent);
		// A model cannot name itself: it is not in the graph until recorded.
		assert_noop!(record(1, &[], &[(1, pct(10))]), Error::<Test>::UnknownParent);
	});
}

#[test]
fn a_model_is_recorded_once() {
	new_test_ext().execute_with(|| {
		assert_ok!(record(1, &[(10, pct(5))], &[]));
		assert_noop!(record(1, &[], &[]), Error::<Test>::AlreadyRecorded);
	});
}

#[test]
fn edge_counts_are_bounded() {
	new_test_ext().execute_with(|| {
		let datanets: Vec<_> = (0..17).map(|d| (d, Perbill::from_parts(1))).collect();
		assert_noop!(record(1, &datanets, &[]), Error::<Test>::TooManyDatanets);
		for m in 0..17 {
			assert_ok!(record(m, &[], &[]));
		}
		let parents: Vec<_> = (0..17).map(|m| (m, Perbill::from_parts(1))).collect();
		assert_noop!(record(100, &[], &parents), Error::<Test>::TooManyParents);
		assert_ok!(record(100, &[], &parents[..16]));
	});
}

#[test]
fn flattened_map_is_bounded() {
	new_test_ext().execute_with(|| {
		// Five parents with 16 distinct datanets each: 5 + 80 entries > 64.
		for m in 0..5u64 {
			let datanets: Vec<_> = (0..16).map(|d| (m * 100 + d, pct(1))).collect();
			assert_ok!(record(m, &datanets, &[]));
		}
		let parents: Vec<_> = (0..5).map(|m| (m, pct(10))).collect();
		assert_noop!(record(10, &[], &parents), Error::<Test>::TooManyUpstream);
		// Three parents: 3 + 48 entries fit.
		assert_ok!(record(10, &[], &parents[..3]));
		assert_eq!(Upstream::<Test>::get(10).unwrap().len(), 51);
	});
}

#[test]
fn agents_name_recorded_models() {
	new_test_ext().execute_with(|| {
		assert_ok!(record(1, &[], &[]));
		assert_ok!(record(2, &[], &[]));
		assert_noop!(
			<Graph as AttributionGraph<u128>>::record_agent(7, &[]),
			Error::<Test>::BadAgentModels
		);
		assert_noop!(
			<Graph as AttributionGraph<u128>>::record_agent(7, &[1, 3]),
			Error::<Test>::UnknownModel
		);
		assert_noop!(
			<Graph as AttributionGraph<u128>>::record_agent(7, &[1, 1]),
			Error::<Test>::DuplicateAgentModel
		);
		let too_many: Vec<_> = (0..9).collect();
		assert_noop!(
			<Graph as AttributionGraph<u128>>::record_agent(7, &too_many),
			Error::<Test>::BadAgentModels
		);
		assert_ok!(<Graph as AttributionGraph<u128>>::record_agent(7, &[2, 1]));
		assert_eq!(AgentModels::<Test>::get(7).unwrap().into_inner(), vec![2, 1]);
		assert_noop!(
			<Graph as AttributionGraph<u128>>::record_agent(7, &[1]),
			Error::<Test>::AlreadyRecorded
		);
		System::assert_last_event(Event::AgentRecorded { agent_id: 7 }.into());
	});
}

/// A random acyclic graph: model `i` may name any models below `i` as parents.
#[derive(Debug, Clone)]
struct ModelSpec {
	training: Vec<(DatanetId, u32)>,
	parents: Vec<(usize, u32)>,
}

fn graph_strategy() -> impl Strategy<Value = Vec<ModelSpec>> {
	prop::collection::vec(
		(
			prop::collection::btree_map(0u64..20, 1u32..=1_000, 0..4),
			prop::collection::btree_map(0usize..64, 1u32..=1_000, 0..4),
		),
		1..12,
	)
	.prop_map(|models| {
		models
			.into_iter()
			.enumerate()
			.map(|(i, (training, parents))| {
				let parents: Vec<_> = if i == 0 {
					vec![]
				} else {
					parents
						.into_iter()
						.map(|(p, w)| (p % i, w))
						.collect::<BTreeMap<_, _>>()
						.into_iter()
						.collect()
				};
				ModelSpec { training: training.into_iter().collect(), parents }
			})
			.collect()
	})
}

/// Scales raw weights so all direct shares of a model add up to at most 100%.
fn shares(weights: &[u32], total_permille: u32) -> Vec<Perbill> {
	let sum: u64 = weights.iter().map(|w| *w as u64).sum::<u64>().max(1);
	weights
		.iter()
		.map(|w| {
			Perbill::from_parts(((*w as u64 * total_permille as u64 * 1_000_000) / sum) as u32)
				.max(Perbill::from_parts(1))
		})
		.collect()
}

/// The exact flattened shares, in floating point, by walking every path.
fn exact(
	models: &[(Vec<(DatanetId, f64)>, Vec<(usize, f64)>)],
	m: usize,
	out: &mut BTreeMap<Beneficiary, f64>,
	weight: f64,
) {
	let (training, parents) = &models[m];
	for (d, s) in training {
		*out.entry(datanet(*d)).or_default() += weight * s;
	}
	for (p, s) in parents {
		let (pt, pp) = &models[*p];
		let passed: f64 = pt.iter().map(|x| x.1).sum::<f64>() + pp.iter().map(|x| x.1).sum::<f64>();
		*out.entry(Beneficiary::Model(*p as ModelId)).or_default() += weight * s * (1.0 - passed);
		exact(models, *p, out, weight * s);
	}
}

proptest! {
	#![proptest_config(ProptestConfig::with_cases(200))]

	#[test]
	fn flattening_matches_the_exact_shares_and_splits_conserve_every_unit(
		graph in graph_strategy(),
		total_permille in 1u32..=1_000,
		amounts in prop::collection::vec(0u128..=u128::MAX / 2, 1..8),
	) {
		new_test_ext().execute_with(|| {
			let mut exact_models = Vec::new();
			for (i, spec) in graph.iter().enumerate() {
				let weights: Vec<u32> = spec.training.iter().map(|x| x.1).chain(spec.parents.iter().map(|x| x.1)).collect();
				let s = shares(&weights, total_permille);
				let training: Vec<_> = spec.training.iter().zip(&s).map(|((d, _), s)| (*d, *s)).collect();
				let parents: Vec<_> = spec.parents.iter().zip(&s[spec.training.len()..]).map(|((p, _), s)| (*p as ModelId, *s)).collect();
				match record(i as ModelId, &training, &parents) {
					Ok(()) => {},
					// A deep random graph may outgrow the bound; that is a clean refusal.
					Err(e) => {
						prop_assert_eq!(e, Error::<Test>::TooManyUpstream.into());
						return Ok(());
					},
				}
				exact_models.push((
					training.iter().map(|(d, s)| (*d, s.deconstruct() as f64 / 1e9)).collect::<Vec<_>>(),
					parents.iter().map(|(p, s)| (*p as usize, s.deconstruct() as f64 / 1e9)).collect::<Vec<_>>(),
				));

				let flat = upstream(i as ModelId);
				let mut want = BTreeMap::new();
				exact(&exact_models, i, &mut want, 1.0);
				let direct: u64 = s.iter().map(|x| x.deconstruct() as u64).sum();
				let flat_total: u64 = flat.iter().map(|(_, x)| x.deconstruct() as u64).sum();
				prop_assert!(flat_total <= direct, "flattened {} > direct {}", flat_total, direct);
				for (b, share) in &flat {
					let w = want.get(b).copied().unwrap_or(0.0);
					prop_assert!((share.deconstruct() as f64 / 1e9 - w).abs() < 1e-6, "{:?}: {:?} vs {}", b, share, w);
				}
				for (b, w) in &want {
					if *w > 1e-6 {
						prop_assert!(flat.iter().any(|(x, _)| x == b), "{:?} missing", b);
					}
				}
				for amount in &amounts {
					let split = <Graph as AttributionGraph<u128>>::split(i as ModelId, *amount);
					let paid: u128 = split.upstream.iter().map(|(_, a)| *a).sum();
					prop_assert_eq!(paid + split.model, *amount);
					for (b, a) in split.upstream.iter() {
						let share = flat.iter().find(|(x, _)| x == b).map(|x| x.1).unwrap();
						prop_assert_eq!(*a, share.mul_floor(*amount));
					}
				}
			}
			Ok(())
		})?;
	}
}
