use crate::{mock::*, *};
use polkadot_sdk::{
	frame_support::{assert_noop, assert_ok, traits::fungible::InspectHold, BoundedVec},
	sp_core::H256,
	sp_runtime::{DispatchError, Perbill},
};
use tributary_primitives::{Beneficiary, ContributionStatus, Lookup};

fn meta(bytes: &[u8]) -> BoundedVec<u8, MaxMetadataLen> {
	bytes.to_vec().try_into().unwrap()
}

fn hash(n: u8) -> H256 {
	H256::repeat_byte(n)
}

fn pct(p: u32) -> Perbill {
	Perbill::from_percent(p)
}

fn held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::ContributionDeposit.into(), &who)
}

fn create(owner: AccountId, policy: DatanetPolicy) -> DatanetId {
	let id = NextDatanetId::<Test>::get();
	assert_ok!(Registry::create_datanet(RuntimeOrigin::signed(owner), meta(b"corpus"), policy));
	id
}

fn contribute(who: AccountId, datanet: DatanetId, content: u8) -> ContributionId {
	let id = NextContributionId::<Test>::get();
	assert_ok!(Registry::contribute(
		RuntimeOrigin::signed(who),
		datanet,
		hash(content),
		1_000,
		meta(b"row")
	));
	id
}

fn register(
	owner: AccountId,
	training: Vec<(DatanetId, Perbill)>,
	parents: Vec<(ModelId, Perbill)>,
) -> Result<ModelId, DispatchError> {
	let id = NextModelId::<Test>::get();
	Registry::register_model(
		RuntimeOrigin::signed(owner),
		hash(0xa0),
		hash(0xb0),
		b"file://model.pt".to_vec().try_into().unwrap(),
		meta(b"classifier"),
		training.try_into().unwrap(),
		parents.try_into().unwrap(),
		50,
	)
	.map(|_| id)
}

#[test]
fn create_datanet_records_owner_and_policy() {
	new_test_ext().execute_with(|| {
		let id = create(ALICE, DatanetPolicy::Curated);
		let d = Datanets::<Test>::get(id).unwrap();
		assert_eq!((d.owner, d.policy, d.approved), (ALICE, DatanetPolicy::Curated, 0));
		System::assert_last_event(Event::DatanetCreated { datanet_id: id, owner: ALICE }.into());
		assert_eq!(create(BOB, DatanetPolicy::Open), id + 1);
	});
}

#[test]
fn open_datanet_approves_contributions_at_once_and_holds_the_deposit() {
	new_test_ext().execute_with(|| {
		let d = create(ALICE, DatanetPolicy::Open);
		let c = contribute(BOB, d, 1);
		let record = Contributions::<Test>::get(c).unwrap();
		assert_eq!(record.status, ContributionStatus::Approved);
		assert_eq!(record.contributor, BOB);
		assert_eq!(record.size_bytes, 1_000);
		// 100 base + 2 per metadata byte × 3 bytes.
		assert_eq!(record.deposit, 106);
		assert_eq!(held(BOB), 106);
		assert_eq!(Datanets::<Test>::get(d).unwrap().approved, 1);
		System::assert_has_event(
			Event::ContributionSubmitted {
				contribution_id: c,
				datanet_id: d,
				contributor: BOB,
				deposit: 106,
			}
			.into(),
		);
		System::assert_last_event(
			Event::ContributionApproved { contribution_id: c, datanet_id: d }.into(),
		);
	});
}

#[test]
fn curated_contribution_waits_for_review() {
	new_test_ext().execute_with(|| {
		let d = create(ALICE, DatanetPolicy::Curated);
		let c = contribute(BOB, d, 1);
		assert_eq!(Contributions::<Test>::get(c).unwrap().status, ContributionStatus::Pending);
		assert_eq!(Datanets::<Test>::get(d).unwrap().approved, 0);
		assert_ok!(Registry::review_contribution(RuntimeOrigin::signed(ALICE), c, true));
		assert_eq!(Contributions::<Test>::get(c).unwrap().status, ContributionStatus::Approved);
		assert_eq!(Datanets::<Test>::get(d).unwrap().approved, 1);
		System::assert_last_event(
			Event::ContributionApproved { contribution_id: c, datanet_id: d }.into(),
		);
	});
}

#[test]
fn rejection_returns_the_deposit_and_frees_the_content_hash() {
	new_test_ext().execute_with(|| {
		let d = create(ALICE, DatanetPolicy::Curated);
		let c = contribute(BOB, d, 1);
		assert_eq!(held(BOB), 106);
		assert_ok!(Registry::review_contribution(RuntimeOrigin::signed(ALICE), c, false));
		// Its record goes with its deposit; clients read that it was pruned.
		assert!(!Contributions::<Test>::contains_key(c));
		assert_eq!(Registry::lookup(c), Lookup::Pruned);
		assert_eq!(Registry::lookup(c + 1), Lookup::Unknown);
		assert_eq!(held(BOB), 0);
		assert_eq!(Balances::free_balance(BOB), 10_000);
		System::assert_last_event(
			Event::ContributionRejected { contribution_id: c, datanet_id: d }.into(),
		);
		// The same content may be offered again.
		contribute(CHARLIE, d, 1);
	});
}

#[test]
fn review_is_for_the_owner_and_pending_contributions_only() {
	new_test_ext().execute_with(|| {
		let d = create(ALICE, DatanetPolicy::Curated);
		let c = contribute(BOB, d, 1);
		assert_noop!(
			Registry::review_contribution(RuntimeOrigin::signed(BOB), c, true),
			Error::<Test>::NotDatanetOwner
		);
		assert_noop!(
			Registry::review_contribution(RuntimeOrigin::signed(ALICE), 99, true),
			Error::<Test>::UnknownContribution
		);
		assert_ok!(Registry::review_contribution(RuntimeOrigin::signed(ALICE), c, true));
		assert_noop!(
			Registry::review_contribution(RuntimeOrigin::signed(ALICE), c, false),
			Error::<Test>::NotPending
		);
	});
}

#[test]
fn contribute_refuses_bad_input_and_changes_nothing() {
	new_test_ext().execute_with(|| {
		let d = create(ALICE, DatanetPolicy::Open);
		assert_noop!(
			Registry::contribute(RuntimeOrigin::signed(BOB), 42, hash(1), 10, meta(b"")),
			Error::<Test>::UnknownDatanet
		);
		assert_noop!(
			Registry::contribute(RuntimeOrigin::signed(BOB), d, hash(1), 0, meta(b"")),
			Error::<Test>::EmptyContent
		);
		assert_noop!(
			Registry::contribute(RuntimeOrigin::signed(POOR), d, hash(1), 10, meta(b"")),
			Error::<Test>::InsufficientDeposit
		);
		contribute(BOB, d, 1);
		assert_noop!(
			Registry::contribute(RuntimeOrigin::signed(CHARLIE), d, hash(1), 10, meta(b"")),
			Error::<Test>::DuplicateContent
		);
		// The same content in another datanet is a different contribution.
		let other = create(ALICE, DatanetPolicy::Open);
		contribute(CHARLIE, other, 1);
	});
}

#[test]
fn withdrawal_returns_the_deposit_and_stops_counting() {
	new_test_ext().execute_with(|| {
		let d = create(ALICE, DatanetPolicy::Open);
		let c = contribute(BOB, d, 1);
		assert_noop!(
			Registry::withdraw_contribution(RuntimeOrigin::signed(CHARLIE), c),
			Error::<Test>::NotContributor
		);
		assert_noop!(
			Registry::withdraw_contribution(RuntimeOrigin::signed(BOB), 77),
			Error::<Test>::UnknownContribution
		);
		assert_ok!(Registry::withdraw_contribution(RuntimeOrigin::signed(BOB), c));
		assert!(!Contributions::<Test>::contains_key(c));
		assert!(<Registry as ContributionProvider<AccountId>>::removed(c));
		assert!(!<Registry as ContributionProvider<AccountId>>::removed(c + 1));
		assert_eq!(held(BOB), 0);
		assert_eq!(Balances::free_balance(BOB), 10_000);
		assert_eq!(Datanets::<Test>::get(d).unwrap().approved, 0);
		assert_eq!(<Registry as ContributionProvider<AccountId>>::approved(c), None);
		System::assert_last_event(
			Event::ContributionWithdrawn { contribution_id: c, refund: 106 }.into(),
		);
		assert_noop!(
			Registry::withdraw_contribution(RuntimeOrigin::signed(BOB), c),
			Error::<Test>::NotWithdrawable
		);
	});
}

#[test]
fn rejected_contribution_cannot_be_withdrawn() {
	new_test_ext().execute_with(|| {
		let d = create(ALICE, DatanetPolicy::Curated);
		let c = contribute(BOB, d, 1);
		assert_ok!(Registry::review_contribution(RuntimeOrigin::signed(ALICE), c, false));
		assert_noop!(
			Registry::withdraw_contribution(RuntimeOrigin::signed(BOB), c),
			Error::<Test>::NotWithdrawable
		);
	});
}

#[test]
fn register_model_records_it_and_its_flattened_upstream() {
	new_test_ext().execute_with(|| {
		let d = create(ALICE, DatanetPolicy::Open);
		let base = register(BOB, vec![(d, pct(30))], vec![]).unwrap();
		System::assert_last_event(Event::ModelRegistered { model_id: base, owner: BOB }.into());
		let child = register(CHARLIE, vec![], vec![(base, pct(50))]).unwrap();
		let m = Models::<Test>::get(child).unwrap();
		assert_eq!((m.owner, m.price_per_inference, m.status), (CHARLIE, 50, ModelStatus::Active));
		assert_eq!(
			pallet_attribution::Upstream::<Test>::get(child).unwrap().into_inner(),
			vec![(Beneficiary::Model(base), pct(35)), (Beneficiary::Datanet(d, 1), pct(15))]
		);
		assert_eq!(<Registry as ModelProvider<AccountId, Balance>>::active_price(child), Some(50));
		assert_eq!(<Registry as ModelProvider<AccountId, Balance>>::owner(child), Some(CHARLIE));
	});
}

#[test]
fn register_model_refusals_change_nothing() {
	new_test_ext().execute_with(|| {
		let d = create(ALICE, DatanetPolicy::Open);
		let base = register(BOB, vec![(d, pct(30))], vec![]).unwrap();
		let attempt = |training, parents| {
			Registry::register_model(
				RuntimeOrigin::signed(CHARLIE),
				hash(1),
				hash(2),
				Default::default(),
				Default::default(),
				BoundedVec::truncate_from(training),
				BoundedVec::truncate_from(parents),
				1,
			)
		};
		assert_noop!(attempt(vec![(99, pct(10))], vec![]), Error::<Test>::UnknownDatanet);
		assert_noop!(
			attempt(vec![], vec![(99, pct(10))]),
			pallet_attribution::Error::<Test>::UnknownParent
		);
		assert_noop!(
			attempt(vec![(d, pct(60))], vec![(base, pct(41))]),
			pallet_attribution::Error::<Test>::SharesExceedWhole
		);
		assert_noop!(
			attempt(vec![(d, Perbill::zero())], vec![]),
			pallet_attribution::Error::<Test>::ZeroShare
		);
		assert_noop!(
			attempt(vec![(d, pct(1)), (d, pct(1))], vec![]),
			pallet_attribution::Error::<Test>::DuplicateDatanet
		);
		assert_noop!(
			attempt(vec![], vec![(base, pct(1)), (base, pct(1))]),
			pallet_attribution::Error::<Test>::DuplicateParent
		);
	});
}

#[test]
fn publish_version_names_its_predecessor_and_only_its_owner_may() {
	new_test_ext().execute_with(|| {
		let d = create(ALICE, DatanetPolicy::Open);
		let v1 = register(BOB, vec![(d, pct(20))], vec![]).unwrap();
		let publish = |who, parents: Vec<(ModelId, Perbill)>| {
			Registry::publish_version(
				RuntimeOrigin::signed(who),
				v1,
				hash(3),
				hash(4),
				Default::default(),
				Default::default(),
				Default::default(),
				parents.try_into().unwrap(),
				60,
			)
		};
		assert_noop!(publish(CHARLIE, vec![(v1, pct(10))]), Error::<Test>::NotModelOwner);
		assert_noop!(publish(BOB, vec![]), Error::<Test>::VersionMustNamePredecessor);
		assert_noop!(
			Registry::publish_version(
				RuntimeOrigin::signed(BOB),
				42,
				hash(3),
				hash(4),
				Default::default(),
				Default::default(),
				Default::default(),
				Default::default(),
				60
			),
			Error::<Test>::UnknownModel
		);
		let v2 = NextModelId::<Test>::get();
		assert_ok!(publish(BOB, vec![(v1, pct(10))]));
		assert_eq!(Models::<Test>::get(v2).unwrap().previous_version, Some(v1));
		System::assert_last_event(
			Event::ModelVersionPublished { model_id: v2, previous: v1 }.into(),
		);
	});
}

#[test]
fn retired_model_takes_no_jobs_but_keeps_its_record() {
	new_test_ext().execute_with(|| {
		let m = register(BOB, vec![], vec![]).unwrap();
		assert_noop!(
			Registry::retire_model(RuntimeOrigin::signed(ALICE), m),
			Error::<Test>::NotModelOwner
		);
		assert_noop!(
			Registry::retire_model(RuntimeOrigin::signed(BOB), 9),
			Error::<Test>::UnknownModel
		);
		assert_ok!(Registry::retire_model(RuntimeOrigin::signed(BOB), m));
		System::assert_last_event(Event::ModelRetired { model_id: m }.into());
		assert_eq!(Models::<Test>::get(m).unwrap().status, ModelStatus::Retired);
		assert_eq!(<Registry as ModelProvider<AccountId, Balance>>::active_price(m), None);
		assert!(<Registry as ModelProvider<AccountId, Balance>>::exists(m));
		assert_noop!(
			Registry::retire_model(RuntimeOrigin::signed(BOB), m),
			Error::<Test>::AlreadyRetired
		);
		// A retired model can still be the parent of a new one.
		register(CHARLIE, vec![], vec![(m, pct(10))]).unwrap();
	});
}

#[test]
fn register_agent_records_its_models_in_the_graph() {
	new_test_ext().execute_with(|| {
		let m1 = register(BOB, vec![], vec![]).unwrap();
		let m2 = register(BOB, vec![], vec![]).unwrap();
		assert_noop!(
			Registry::register_agent(
				RuntimeOrigin::signed(ALICE),
				vec![m1, 42].try_into().unwrap(),
				meta(b"")
			),
			pallet_attribution::Error::<Test>::UnknownModel
		);
		assert_noop!(
			Registry::register_agent(RuntimeOrigin::signed(ALICE), Default::default(), meta(b"")),
			pallet_attribution::Error::<Test>::BadAgentModels
		);
		let a = NextAgentId::<Test>::get();
		assert_ok!(Registry::register_agent(
			RuntimeOrigin::signed(ALICE),
			vec![m1, m2].try_into().unwrap(),
			meta(b"bot")
		));
		assert_eq!(Agents::<Test>::get(a).unwrap().owner, ALICE);
		assert_eq!(
			pallet_attribution::AgentModels::<Test>::get(a).unwrap().into_inner(),
			vec![m1, m2]
		);
		System::assert_last_event(Event::AgentRegistered { agent_id: a, owner: ALICE }.into());
	});
}

#[test]
fn unsigned_origins_are_refused() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Registry::create_datanet(RuntimeOrigin::none(), meta(b""), DatanetPolicy::Open),
			DispatchError::BadOrigin
		);
	});
}

fn record_held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::RecordDeposit.into(), &who)
}

/// The deposit of a record (edges included) of `bytes` bytes.
fn record_deposit(bytes: usize) -> Balance {
	RecordDepositBase::get() + DepositPerByte::get() * bytes as Balance
}

#[test]
fn datanets_models_and_agents_hold_a_deposit_sized_by_their_bytes() {
	new_test_ext().execute_with(|| {
		let d = create(ALICE, DatanetPolicy::Open);
		let datanet = Datanets::<Test>::get(d).unwrap();
		let datanet_deposit = record_deposit(datanet.encoded_size());
		assert_eq!(datanet.deposit, datanet_deposit);
		assert_eq!(record_held(ALICE), datanet_deposit);

		let m = register(BOB, vec![(d, pct(10))], vec![]).unwrap();
		let model = Models::<Test>::get(m).unwrap();
		// The record and its edges: one training datanet at snapshot 1.
		let edges = (vec![(d, 1u32, pct(10))], Vec::<(ModelId, Perbill)>::new()).encoded_size();
		assert_eq!(model.deposit, record_deposit(model.encoded_size() + edges));
		assert_eq!(record_held(BOB), model.deposit);

		assert_ok!(Registry::register_agent(
			RuntimeOrigin::signed(CHARLIE),
			vec![m].try_into().unwrap(),
			meta(b"agent")
		));
		let agent = Agents::<Test>::get(0).unwrap();
		assert_eq!(agent.deposit, record_deposit(agent.encoded_size() + vec![m].encoded_size()));
		assert_eq!(record_held(CHARLIE), agent.deposit);
	});
}

#[test]
fn a_record_its_owner_cannot_cover_is_not_stored() {
	new_test_ext().execute_with(|| {
		assert_noop!(
			Registry::create_datanet(
				RuntimeOrigin::signed(POOR),
				meta(b"corpus"),
				DatanetPolicy::Open
			),
			Error::<Test>::InsufficientDeposit
		);
		let d = create(ALICE, DatanetPolicy::Open);
		assert_noop!(
			register(POOR, vec![(d, pct(10))], vec![]),
			Error::<Test>::InsufficientDeposit
		);
		assert_eq!(NextModelId::<Test>::get(), 0);
	});
}
