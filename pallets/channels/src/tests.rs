use crate::{
	audit::{is_sampled, sample_chance},
	mock::*,
	Audited, Audits, Batches, Channel, Error, Event, HoldReason, ReceiptOf,
};
use polkadot_sdk::{frame_support::traits::Hooks, sp_crypto_hashing::blake2_256};
use polkadot_sdk::{
	frame_support::{
		assert_noop, assert_ok,
		traits::fungible::{Inspect, InspectHold},
		BoundedVec,
	},
	frame_system::RawOrigin,
	sp_core::H256,
	sp_runtime::{testing::TestSignature, Perbill},
};
use tributary_primitives::{chain_receipt, Attribution, ChannelId, Lookup, ModelId, Voucher};
use tributary_primitives::{JobOutcomes, ReceiptSettlement};

fn last_event() -> Event<Test> {
	System::events()
		.into_iter()
		.filter_map(|record| match record.event {
			RuntimeEvent::Channels(event) => Some(event),
			_ => None,
		})
		.last()
		.expect("a channels event")
}

fn held(who: AccountId) -> Balance {
	Balances::balance_on_hold(&HoldReason::ChannelDeposit.into(), &who)
}

/// Opens a channel from [`REQUESTER`] to [`WORKER`] with `deposit`,
/// expiring at block 100.
fn open(deposit: Balance) -> ChannelId {
	let id = crate::NextChannelId::<Test>::get();
	assert_ok!(Channels::open_channel(RawOrigin::Signed(REQUESTER).into(), WORKER, deposit, 100));
	id
}

fn receipt(channel: ChannelId, sequence: u64, model: ModelId, price: Balance) -> ReceiptOf<Test> {
	ReceiptOf::<Test> {
		channel,
		sequence,
		model,
		artifact: H256::repeat_byte(1),
		input_hash: H256::repeat_byte(sequence as u8),
		output_hash: H256::repeat_byte(0xaa),
		attribution: Attribution::truncate_from(vec![(0, Perbill::from_percent(50))]),
		class: worker_class(),
		price,
		worker: WORKER,
	}
}

/// The voucher for `receipts` after a settled `total` and `head`.
fn voucher_after(
	channel: ChannelId,
	settled: Balance,
	head: H256,
	receipts: &[ReceiptOf<Test>],
) -> Voucher<Balance> {
	Voucher {
		channel,
		sequence: receipts.last().map_or(0, |r| r.sequence),
		total: settled + receipts.iter().map(|r| r.price).sum::<Balance>(),
		receipts: receipts.iter().fold(head, |head, r| chain_receipt(&head, &r.hash())),
	}
}

fn signed(voucher: &Voucher<Balance>) -> TestSignature {
	sign(REQUESTER, &voucher.signing_payload())
}

fn settle(
	channel: ChannelId,
	voucher: &Voucher<Balance>,
	signature: TestSignature,
	receipts: Vec<ReceiptOf<Test>>,
) -> polkadot_sdk::sp_runtime::DispatchResult {
	Channels::settle(
		RawOrigin::Signed(WORKER).into(),
		channel,
		voucher.clone(),
		signature,
		BoundedVec::truncate_from(receipts),
	)
}

#[test]
fn opening_a_channel_holds_its_deposit() {
	new_test_ext().execute_with(|| {
		let id = open(500);
		assert_eq!(held(REQUESTER), 500);
		assert_eq!(
			crate::Channels::<Test>::get(id),
			Some(Channel {
				requester: REQUESTER,
				worker: WORKER,
				deposit: 500,
				settled: 0,
				sequence: 0,
				receipts: H256::zero(),
				expiry: 100,
			})
		);
		assert_eq!(
			last_event(),
			Event::ChannelOpened {
				channel_id: id,
				requester: REQUESTER,
				worker: WORKER,
				deposit: 500,
				expiry: 100
			}
		);
		assert_eq!(open(100), id + 1, "ids count up");
	});
}

#[test]
fn a_channel_opens_only_to_a_worker_with_a_sound_deposit_and_expiry() {
	new_test_ext().execute_with(|| {
		let open = |from, to, deposit, expiry| {
			Channels::open_channel(RawOrigin::Signed(from).into(), to, deposit, expiry)
		};
		assert_noop!(open(WORKER, WORKER, 500, 100), Error::<Test>::OwnChannel);
		assert_noop!(open(REQUESTER, STRANGER, 500, 100), Error::<Test>::NotAWorker);
		assert_noop!(open(REQUESTER, WORKER, 99, 100), Error::<Test>::DepositTooLow);
		assert_noop!(open(REQUESTER, WORKER, 500, 1), Error::<Test>::BadExpiry);
		assert_noop!(open(REQUESTER, WORKER, 500, 1 + 1_001), Error::<Test>::BadExpiry);
		assert_noop!(open(REQUESTER, WORKER, 100_000, 100), Error::<Test>::InsufficientBalance);
		assert_ok!(open(REQUESTER, WORKER, 500, 1 + 1_000));
	});
}

#[test]
fn a_settlement_pays_the_receipts_the_requester_signed_for() {
	new_test_ext().execute_with(|| {
		let model = Helper::model();
		let id = open(500);
		let first = vec![receipt(id, 1, model, 10), receipt(id, 2, model, 20)];
		let voucher = voucher_after(id, 0, H256::zero(), &first);
		assert_ok!(settle(id, &voucher, signed(&voucher), first));
		assert_eq!(
			last_event(),
			Event::ReceiptsSettled {
				channel_id: id,
				count: 2,
				amount: 30,
				batch_id: 0,
				audit_share: 3
			}
		);
		// The audit share went to the pot; the rest was in the settlement
		// account before it divided it.
		assert_eq!(Balances::balance(&audit_pot()), 1_003);
		assert_eq!(
			SETTLED.with(|s| s.borrow().clone()),
			vec![(id, 1, model, 9, WORKER, 28), (id, 2, model, 18, WORKER, 28)]
		);
		let batch = crate::Batches::<Test>::get(0).expect("the settlement's batch");
		assert_eq!((batch.channel, batch.first, batch.settled_at, batch.sampled), (id, 1, 1, None));
		assert_eq!(
			batch.receipts.into_inner(),
			vec![(receipt(id, 1, model, 10).hash(), 10), (receipt(id, 2, model, 20).hash(), 20)]
		);
		assert_eq!(held(REQUESTER), 470);
		assert_eq!(Balances::balance(&REQUESTER), 100_000 - 500);
		let channel = crate::Channels::<Test>::get(id).unwrap();
		assert_eq!(
			(channel.settled, channel.sequence, channel.receipts),
			(30, 2, voucher.receipts)
		);

		// The next settlement goes on from there.
		let next = vec![receipt(id, 3, model, 5)];
		let voucher = voucher_after(id, 30, channel.receipts, &next);
		assert_ok!(settle(id, &voucher, signed(&voucher), next));
		assert_eq!(held(REQUESTER), 465);
		assert_eq!(crate::Channels::<Test>::get(id).unwrap().sequence, 3);
	});
}

#[test]
fn a_settlement_is_refused_unless_everything_checks_out() {
	new_test_ext().execute_with(|| {
		let model = Helper::model();
		let id = open(500);
		let good = vec![receipt(id, 1, model, 10), receipt(id, 2, model, 20)];
		let voucher = voucher_after(id, 0, H256::zero(), &good);
		let with = |edit: &dyn Fn(&mut ReceiptOf<Test>)| {
			let mut receipts = good.clone();
			edit(&mut receipts[1]);
			receipts
		};

		// Only the worker settles.
		assert_noop!(
			Channels::settle(
				RawOrigin::Signed(REQUESTER).into(),
				id,
				voucher.clone(),
				signed(&voucher),
				BoundedVec::truncate_from(good.clone()),
			),
			Error::<Test>::NotWorker
		);
		assert_noop!(
			settle(id + 1, &voucher, signed(&voucher), good.clone()),
			Error::<Test>::UnknownChannel
		);
		let elsewhere = Voucher { channel: id + 1, ..voucher.clone() };
		assert_noop!(
			settle(id, &elsewhere, signed(&elsewhere), good.clone()),
			Error::<Test>::WrongChannel
		);
		assert_noop!(settle(id, &voucher, signed(&voucher), vec![]), Error::<Test>::NoReceipts);
		// Signed by someone else, or over another voucher.
		assert_noop!(
			settle(id, &voucher, sign(STRANGER, &voucher.signing_payload()), good.clone()),
			Error::<Test>::BadSignature
		);
		let more = Voucher { total: 31, ..voucher.clone() };
		assert_noop!(
			settle(id, &more, signed(&voucher), good.clone()),
			Error::<Test>::BadSignature
		);
		// Receipts out of order, or a voucher that covers more or fewer.
		assert_noop!(
			settle(id, &voucher, signed(&voucher), with(&|r| r.sequence = 3)),
			Error::<Test>::BadSequence
		);
		let short = Voucher { sequence: 3, ..voucher.clone() };
		assert_noop!(settle(id, &short, signed(&short), good.clone()), Error::<Test>::BadSequence);
		assert_noop!(
			settle(id, &voucher, signed(&voucher), with(&|r| r.worker = OTHER_WORKER)),
			Error::<Test>::ForeignReceipt
		);
		assert_noop!(
			settle(id, &voucher, signed(&voucher), with(&|r| r.channel = id + 1)),
			Error::<Test>::ForeignReceipt
		);
		assert_noop!(
			settle(id, &voucher, signed(&voucher), with(&|r| r.class = H256::repeat_byte(9))),
			Error::<Test>::WrongClass
		);
		assert_noop!(
			settle(id, &voucher, signed(&voucher), with(&|r| r.model = model + 1)),
			Error::<Test>::UnknownModel
		);
		// A receipt the requester never saw: another output, another price.
		assert_noop!(
			settle(id, &voucher, signed(&voucher), with(&|r| r.output_hash = H256::zero())),
			Error::<Test>::ReceiptsMismatch
		);
		let raised = with(&|r| r.price = 25);
		assert_noop!(
			settle(id, &voucher, signed(&voucher), raised.clone()),
			Error::<Test>::ReceiptsMismatch
		);
		// A voucher whose total is not what the receipts cost.
		let greedy = Voucher { total: 40, ..voucher.clone() };
		assert_noop!(
			settle(id, &greedy, signed(&greedy), good.clone()),
			Error::<Test>::PriceMismatch
		);
		// More than the deposit.
		let costly = vec![receipt(id, 1, model, 450), receipt(id, 2, model, 60)];
		let over = voucher_after(id, 0, H256::zero(), &costly);
		assert_noop!(settle(id, &over, signed(&over), costly), Error::<Test>::OverDeposit);

		assert_ok!(settle(id, &voucher, signed(&voucher), good.clone()));
		// Once settled, the same receipts are not paid again.
		assert_noop!(settle(id, &voucher, signed(&voucher), good), Error::<Test>::BadSequence);
	});
}

#[test]
fn a_receipt_in_another_class_than_its_worker_is_refused() {
	new_test_ext().execute_with(|| {
		let model = Helper::model();
		assert_ok!(Channels::open_channel(
			RawOrigin::Signed(REQUESTER).into(),
			OTHER_WORKER,
			500,
			100
		));
		let mut cpu = receipt(0, 1, model, 10);
		cpu.worker = OTHER_WORKER;
		let voucher = voucher_after(0, 0, H256::zero(), &[cpu.clone()]);
		assert_noop!(
			Channels::settle(
				RawOrigin::Signed(OTHER_WORKER).into(),
				0,
				voucher.clone(),
				signed(&voucher),
				BoundedVec::truncate_from(vec![cpu]),
			),
			Error::<Test>::WrongClass
		);
	});
}

#[test]
fn a_failed_division_leaves_the_deposit_and_the_channel_as_they_were() {
	new_test_ext().execute_with(|| {
		let model = Helper::model();
		let id = open(500);
		let receipts = vec![receipt(id, 1, model, 10)];
		let voucher = voucher_after(id, 0, H256::zero(), &receipts);
		SETTLEMENT_FAILS.with(|fails| {
			*fails.borrow_mut() = Some(polkadot_sdk::sp_runtime::DispatchError::Other("broken"))
		});
		assert!(settle(id, &voucher, signed(&voucher), receipts).is_err());
		assert_eq!(held(REQUESTER), 500);
		assert_eq!(Balances::balance(&SETTLEMENT), 1);
		assert_eq!(crate::Channels::<Test>::get(id).unwrap().sequence, 0);
	});
}

#[test]
fn only_the_requester_tops_up_and_only_before_expiry() {
	new_test_ext().execute_with(|| {
		let id = open(500);
		assert_noop!(
			Channels::top_up(RawOrigin::Signed(STRANGER).into(), id, 50),
			Error::<Test>::NotRequester
		);
		assert_noop!(
			Channels::top_up(RawOrigin::Signed(REQUESTER).into(), id, 0),
			Error::<Test>::ZeroAmount
		);
		assert_noop!(
			Channels::top_up(RawOrigin::Signed(REQUESTER).into(), id + 1, 50),
			Error::<Test>::UnknownChannel
		);
		assert_ok!(Channels::top_up(RawOrigin::Signed(REQUESTER).into(), id, 50));
		assert_eq!(held(REQUESTER), 550);
		assert_eq!(
			last_event(),
			Event::ChannelToppedUp { channel_id: id, amount: 50, deposit: 550 }
		);
		System::set_block_number(100);
		assert_noop!(
			Channels::top_up(RawOrigin::Signed(REQUESTER).into(), id, 50),
			Error::<Test>::Expired
		);
	});
}

#[test]
fn closing_gives_back_what_was_not_settled() {
	new_test_ext().execute_with(|| {
		let model = Helper::model();
		let id = open(500);
		let receipts = vec![receipt(id, 1, model, 10)];
		let voucher = voucher_after(id, 0, H256::zero(), &receipts);
		assert_ok!(settle(id, &voucher, signed(&voucher), receipts));
		let close = |who| Channels::close_channel(RawOrigin::Signed(who).into(), id);
		assert_noop!(close(REQUESTER), Error::<Test>::NotExpired);
		assert_noop!(close(STRANGER), Error::<Test>::NotRequester);
		System::set_block_number(100);
		assert_ok!(close(REQUESTER));
		assert_eq!(last_event(), Event::ChannelClosed { channel_id: id, refunded: 490 });
		assert_eq!(held(REQUESTER), 0);
		assert_eq!(Balances::balance(&REQUESTER), 100_000 - 10);
		assert!(crate::Channels::<Test>::get(id).is_none());
		assert_noop!(close(REQUESTER), Error::<Test>::UnknownChannel);
	});
}

#[test]
fn a_channel_is_found_while_open_and_pruned_once_closed() {
	new_test_ext().execute_with(|| {
		assert_eq!(Channels::lookup(0), Lookup::Unknown);
		let model = Helper::model();
		let id = open(500);
		let receipts = vec![receipt(id, 1, model, 10)];
		let voucher = voucher_after(id, 0, H256::zero(), &receipts);
		assert_ok!(settle(id, &voucher, signed(&voucher), receipts));
		let Lookup::Found(channel) = Channels::lookup(id) else {
			panic!("an open channel is found");
		};
		assert_eq!((channel.requester, channel.worker), (REQUESTER, WORKER));
		assert_eq!((channel.deposit, channel.settled, channel.sequence), (500, 10, 1));
		assert_eq!(channel.receipts, voucher.receipts);
		assert_eq!(Channels::lookup(id + 1), Lookup::Unknown);
		assert_ok!(Channels::close_channel(RawOrigin::Signed(WORKER).into(), id));
		assert_eq!(Channels::lookup(id), Lookup::Pruned);
	});
}

#[test]
fn the_worker_may_close_at_any_time() {
	new_test_ext().execute_with(|| {
		let id = open(500);
		assert_ok!(Channels::close_channel(RawOrigin::Signed(WORKER).into(), id));
		assert_eq!(held(REQUESTER), 0);
		assert_eq!(Balances::balance(&REQUESTER), 100_000);
	});
}

/// Runs `on_initialize` of each block up to `n`.
fn run_to(n: u64) {
	while System::block_number() < n {
		let next = System::block_number() + 1;
		System::set_block_number(next);
		Channels::on_initialize(next);
	}
}

/// The input of answer `sequence`.
fn input_of(sequence: u64) -> Vec<u8> {
	format!("question {sequence}").into_bytes()
}

/// Receipt `sequence` for its input ([`input_of`]).
fn answered(channel: ChannelId, sequence: u64, model: ModelId, price: Balance) -> ReceiptOf<Test> {
	ReceiptOf::<Test> {
		input_hash: H256(blake2_256(&input_of(sequence))),
		..receipt(channel, sequence, model, price)
	}
}

/// Opens a channel, settles `count` answers priced `price` in block 1 as
/// batch 0, and returns the channel, the model and the receipts.
fn settled(count: u64, price: Balance) -> (ChannelId, ModelId, Vec<ReceiptOf<Test>>) {
	let model = Helper::model();
	let id = open(500);
	let receipts: Vec<_> = (1..=count).map(|n| answered(id, n, model, price)).collect();
	let voucher = voucher_after(id, 0, H256::zero(), &receipts);
	assert_ok!(settle(id, &voucher, signed(&voucher), receipts.clone()));
	(id, model, receipts)
}

fn open_audit(sequence: u64, receipt: &ReceiptOf<Test>, input: Vec<u8>) -> DispatchResult {
	Channels::open_audit(
		RawOrigin::Signed(WORKER).into(),
		0,
		sequence,
		receipt.clone(),
		BoundedVec::truncate_from(input),
	)
}

fn challenge(who: AccountId, sequence: u64, receipt: &ReceiptOf<Test>) -> DispatchResult {
	Channels::challenge(
		RawOrigin::Signed(who).into(),
		0,
		sequence,
		receipt.clone(),
		BoundedVec::truncate_from(input_of(receipt.sequence)),
		AUDIT_PRICE,
	)
}

use polkadot_sdk::sp_runtime::DispatchResult;

/// What one slash of [`WORKER`] takes: 10% of its stake of 2 000.
const SLASH: Balance = 200;

fn stake(who: AccountId) -> Balance {
	pallet_worker_staking::Workers::<Test>::get(who).map_or(0, |w| w.stake)
}

#[test]
fn the_chance_of_an_audit_grows_with_the_price_against_the_slash() {
	let rate = Perbill::from_percent(1);
	assert_eq!(sample_chance(rate, 10u64, 200), Perbill::from_percent(10), "twice 10 in 200");
	assert_eq!(sample_chance(rate, 1u64, 1_000), Perbill::from_percent(1), "the rate at least");
	assert_eq!(sample_chance(rate, 100u64, 200), Perbill::one(), "capped at certainty");
	assert_eq!(sample_chance(rate, 1u64, 0), Perbill::one(), "nothing to slash: always");
	// The ticket is uniform: about the chance of places are sampled.
	let seed = H256::repeat_byte(3);
	let hits = (0..10_000).filter(|&i| is_sampled(&seed, 0, i, Perbill::from_percent(10))).count();
	assert!((800..1_200).contains(&hits), "{hits} of 10 000 at 10%");
	assert!((0..100).all(|i| !is_sampled(&seed, 0, i, Perbill::zero())));
}

#[test]
fn the_block_after_a_settlement_samples_it() {
	new_test_ext().execute_with(|| {
		AuditRate::set(Perbill::one());
		let (id, _, receipts) = settled(3, 10);
		assert_noop!(open_audit(1, &receipts[0], input_of(1)), Error::<Test>::NotSampledYet);
		run_to(2);
		assert_eq!(
			last_event(),
			Event::AuditSampled {
				batch_id: 0,
				channel_id: id,
				worker: WORKER,
				sequences: vec![1, 2, 3]
			}
		);
		assert_eq!(Batches::<Test>::get(0).unwrap().sampled.unwrap().into_inner(), vec![0, 1, 2]);
	});
}

#[test]
fn cheap_receipts_are_sampled_at_their_chance_from_the_next_blocks_randomness() {
	new_test_ext().execute_with(|| {
		AuditRate::set(Perbill::zero());
		// Chance 2 × 8 / 200 = 8% each.
		let (_, _, receipts) = settled(8, 8);
		run_to(2);
		let seed =
			<TestRandomness as polkadot_sdk::frame_support::traits::Randomness<_, _>>::random(
				crate::audit::SAMPLE_SUBJECT,
			)
			.0
			.unwrap();
		let expected: Vec<u32> = (0..8)
			.filter(|&i| is_sampled(&seed, 0, i, Perbill::from_rational(16u32, 200)))
			.collect();
		assert_eq!(Batches::<Test>::get(0).unwrap().sampled.unwrap().into_inner(), expected);
		assert_eq!(receipts.len(), 8);
	});
}

#[test]
fn a_block_without_randomness_samples_every_receipt() {
	new_test_ext().execute_with(|| {
		AuditRate::set(Perbill::zero());
		SEED.with(|seed| *seed.borrow_mut() = None);
		settled(4, 1);
		run_to(2);
		assert_eq!(Batches::<Test>::get(0).unwrap().sampled.unwrap().len(), 4);
	});
}

#[test]
fn a_sampled_receipt_opens_into_an_audit_job_in_its_class_without_its_worker() {
	new_test_ext().execute_with(|| {
		AuditRate::set(Perbill::one());
		let (id, model, receipts) = settled(2, 10);
		run_to(2);
		let other = answered(id, 2, model, 10);
		assert_noop!(open_audit(1, &other, input_of(2)), Error::<Test>::WrongReceipt);
		assert_noop!(open_audit(1, &receipts[0], input_of(2)), Error::<Test>::WrongInput);
		assert_noop!(open_audit(6, &receipts[0], input_of(1)), Error::<Test>::NotInBatch);
		assert_noop!(
			Channels::open_audit(
				RawOrigin::Signed(WORKER).into(),
				9,
				1,
				receipts[0].clone(),
				BoundedVec::new()
			),
			Error::<Test>::UnknownBatch
		);
		QUEUE_FULL.with(|full| *full.borrow_mut() = true);
		assert_noop!(open_audit(1, &receipts[0], input_of(1)), Error::<Test>::AuditQueueFull);
		QUEUE_FULL.with(|full| *full.borrow_mut() = false);
		let pot = Balances::balance(&audit_pot());
		assert_ok!(open_audit(1, &receipts[0], input_of(1)));
		assert_eq!(
			AUDIT_JOBS.with(|jobs| jobs.borrow().clone()),
			vec![(audit_pot(), model, input_of(1), worker_class(), WORKER, AUDIT_PRICE)]
		);
		assert_eq!(Balances::balance(&audit_pot()), pot - AUDIT_PRICE, "the pot pays");
		assert_eq!(Audited::<Test>::get(id, 1), Some(0));
		assert_eq!(
			last_event(),
			Event::AuditStarted { channel_id: id, sequence: 1, job_id: 0, challenger: None }
		);
		assert_noop!(open_audit(1, &receipts[0], input_of(1)), Error::<Test>::AlreadyAudited);
		assert_eq!(Batches::<Test>::get(0).unwrap().sampled.unwrap().into_inner(), vec![1]);
	});
}

#[test]
fn a_receipt_the_audit_disagrees_with_slashes_its_worker_and_refunds_the_requester() {
	new_test_ext().execute_with(|| {
		AuditRate::set(Perbill::one());
		let (id, _, receipts) = settled(2, 10);
		run_to(2);
		assert_ok!(open_audit(1, &receipts[0], input_of(1)));
		assert_ok!(open_audit(2, &receipts[1], input_of(2)));
		let free = Balances::balance(&REQUESTER);

		// The first agrees with the majority: nothing happens to anyone.
		let right = (receipts[0].output_hash, receipts[0].attribution.clone());
		Channels::finished(0, Some(&right));
		assert_eq!(last_event(), Event::AuditPassed { channel_id: id, sequence: 1, job_id: 0 });
		assert_eq!((stake(WORKER), Balances::balance(&REQUESTER)), (2_000, free));

		// The second's attribution differs.
		let wrong = (receipts[1].output_hash, Attribution::default());
		Channels::finished(1, Some(&wrong));
		assert_eq!(
			last_event(),
			Event::AuditFailed {
				channel_id: id,
				sequence: 2,
				worker: WORKER,
				refunded: 10,
				job_id: Some(1)
			}
		);
		assert_eq!(stake(WORKER), 2_000 - SLASH);
		assert_eq!(Balances::balance(&REQUESTER), free + 10);
		assert!(Audits::<Test>::get(1).is_none() && Audited::<Test>::get(id, 2).is_none());
		// Jobs that are not audits are none of the pallet's business.
		Channels::finished(7, None);
		assert_eq!(stake(WORKER), 2_000 - SLASH);
	});
}

#[test]
fn a_sample_left_unopened_fails_when_its_window_closes() {
	new_test_ext().execute_with(|| {
		AuditRate::set(Perbill::one());
		let (id, _, receipts) = settled(2, 10);
		run_to(2);
		assert_ok!(open_audit(1, &receipts[0], input_of(1)));
		let free = Balances::balance(&REQUESTER);
		run_to(5);
		assert!(Batches::<Test>::get(0).is_some(), "open until the window closes");
		run_to(6);
		assert!(Batches::<Test>::get(0).is_none());
		assert_eq!(
			last_event(),
			Event::AuditFailed {
				channel_id: id,
				sequence: 2,
				worker: WORKER,
				refunded: 10,
				job_id: None
			}
		);
		assert_eq!((stake(WORKER), Balances::balance(&REQUESTER)), (2_000 - SLASH, free + 10));
		// The opened one still ends with its job.
		assert!(Audits::<Test>::get(0).is_some());
	});
}

#[test]
fn a_settlement_of_too_many_models_or_contributions_is_refused_whole() {
	new_test_ext().execute_with(|| {
		let models = [Helper::model(), Helper::model(), Helper::model()];
		let id = open(500);
		let of_three: Vec<_> =
			(1..=3).map(|n| receipt(id, n, models[n as usize - 1], 10)).collect();
		let voucher = voucher_after(id, 0, H256::zero(), &of_three);
		assert_noop!(
			settle(id, &voucher, signed(&voucher), of_three),
			Error::<Test>::TooManyModels
		);
		let naming_five: Vec<_> = (1..=5)
			.map(|n| {
				let mut r = receipt(id, n, models[0], 10);
				r.attribution = Attribution::truncate_from(vec![(n, Perbill::from_percent(10))]);
				r
			})
			.collect();
		let voucher = voucher_after(id, 0, H256::zero(), &naming_five);
		assert_noop!(
			settle(id, &voucher, signed(&voucher), naming_five.clone()),
			Error::<Test>::TooManyContributions
		);
		// The first four fit.
		let four = naming_five[..4].to_vec();
		let voucher = voucher_after(id, 0, H256::zero(), &four);
		assert_ok!(settle(id, &voucher, signed(&voucher), four));
	});
}

#[test]
fn the_unopened_samples_of_a_batch_are_slashed_together_as_one_after_another() {
	new_test_ext().execute_with(|| {
		AuditRate::set(Perbill::one());
		settled(3, 150);
		let free = Balances::balance(&REQUESTER);
		System::reset_events();
		run_to(6);
		assert!(Batches::<Test>::get(0).is_none());
		// 200, then 180, then 162: 542 taken, of which the three prices (450)
		// are refunded, each in full, in order.
		assert_eq!(stake(WORKER), 2_000 - 542);
		assert_eq!(Balances::balance(&REQUESTER), free + 450);
		let failed: Vec<_> = System::events()
			.into_iter()
			.filter_map(|record| match record.event {
				RuntimeEvent::Channels(Event::AuditFailed { sequence, refunded, .. }) => {
					Some((sequence, refunded))
				}
				_ => None,
			})
			.collect();
		assert_eq!(failed, vec![(1, 150), (2, 150), (3, 150)]);
		let slashes = System::events()
			.into_iter()
			.filter(|record| {
				matches!(
					record.event,
					RuntimeEvent::WorkerStaking(pallet_worker_staking::Event::Slashed { .. })
				)
			})
			.count();
		assert_eq!(slashes, 1, "one slash for the batch");
	});
}

#[test]
fn a_settlement_weighs_what_its_attribution_models_and_contributions_cost() {
	new_test_ext().execute_with(|| {
		let model = Helper::model();
		let other = Helper::model();
		let bare = |n, model| {
			let mut r = receipt(0, n, model, 10);
			r.attribution = Attribution::default();
			r
		};
		let plain: Vec<_> = (1..=4).map(|n| bare(n, model)).collect();
		let base = <() as crate::WeightInfo>::settle(4);
		assert_eq!(Channels::settle_weight(&plain), base, "the benchmark's own shape");
		// Four receipts naming contribution 0 at 50%: four entries, one
		// contribution.
		let named: Vec<_> = (1..=4).map(|n| receipt(0, n, model, 10)).collect();
		assert_eq!(
			Channels::settle_weight(&named),
			base + RecordSettlement::division_weight(4, 1, 1)
		);
		let mut mixed = named.clone();
		mixed[3].model = other;
		mixed[3].attribution =
			Attribution::truncate_from(vec![(5, Perbill::from_percent(10)), (0, Perbill::one())]);
		assert_eq!(
			Channels::settle_weight(&mixed),
			base + RecordSettlement::division_weight(5, 2, 2)
		);
	});
}

#[test]
fn an_audit_the_pot_cannot_pay_for_is_waived_without_a_slash() {
	new_test_ext().execute_with(|| {
		AuditRate::set(Perbill::one());
		let (id, _, receipts) = settled(1, 10);
		use polkadot_sdk::frame_support::traits::fungible::Mutate;
		Balances::set_balance(&audit_pot(), AUDIT_PRICE);
		run_to(2);
		assert_ok!(open_audit(1, &receipts[0], input_of(1)));
		assert_eq!(last_event(), Event::AuditWaived { channel_id: id, sequence: 1 });
		assert!(AUDIT_JOBS.with(|jobs| jobs.borrow().is_empty()));
		run_to(6);
		assert_eq!(stake(WORKER), 2_000);
	});
}

#[test]
fn a_requester_challenges_a_receipt_with_a_bond() {
	new_test_ext().execute_with(|| {
		AuditRate::set(Perbill::zero());
		let (id, _, receipts) = settled(2, 1);
		assert_noop!(challenge(STRANGER, 1, &receipts[0]), Error::<Test>::NotRequester);
		let free = Balances::balance(&REQUESTER);
		assert_ok!(challenge(REQUESTER, 1, &receipts[0]));
		let bond = |who| Balances::balance_on_hold(&HoldReason::ChallengeBond.into(), &who);
		assert_eq!(bond(REQUESTER), 50);
		assert_eq!(Balances::balance(&REQUESTER), free - 50 - AUDIT_PRICE, "bond and job fee");
		assert_eq!(
			last_event(),
			Event::AuditStarted {
				channel_id: id,
				sequence: 1,
				job_id: 0,
				challenger: Some(REQUESTER)
			}
		);
		assert_noop!(challenge(REQUESTER, 1, &receipts[0]), Error::<Test>::AlreadyAudited);

		// Wrong: the bond back, the price refunded, the worker slashed.
		Channels::finished(0, Some(&(H256::repeat_byte(7), receipts[0].attribution.clone())));
		assert_eq!((bond(REQUESTER), stake(WORKER)), (0, 2_000 - SLASH));
		assert_eq!(Balances::balance(&REQUESTER), free - AUDIT_PRICE + 1);

		// Right: the bond goes to the worker.
		assert_ok!(challenge(REQUESTER, 2, &receipts[1]));
		let worker = Balances::balance(&WORKER);
		Channels::finished(1, Some(&(receipts[1].output_hash, receipts[1].attribution.clone())));
		assert_eq!((bond(REQUESTER), Balances::balance(&WORKER)), (0, worker + 50));

		// No majority: the bond back, nothing decided.
		assert_ok!(challenge(REQUESTER, 2, &receipts[1]));
		let free = Balances::balance(&REQUESTER);
		Channels::finished(2, None);
		assert_eq!(
			last_event(),
			Event::AuditInconclusive { channel_id: id, sequence: 2, job_id: 2 }
		);
		assert_eq!(Balances::balance(&REQUESTER), free + 50);

		// After the window the batch is gone.
		run_to(6);
		assert_noop!(challenge(REQUESTER, 1, &receipts[0]), Error::<Test>::UnknownBatch);
	});
}

#[test]
fn a_block_takes_a_bounded_number_of_settlements() {
	new_test_ext().execute_with(|| {
		let model = Helper::model();
		for n in 0..3 {
			let id = open(500);
			let receipts = vec![receipt(id, 1, model, 10)];
			let voucher = voucher_after(id, 0, H256::zero(), &receipts);
			let result = settle(id, &voucher, signed(&voucher), receipts);
			if n < 2 {
				assert_ok!(result);
			} else {
				assert_noop!(result, Error::<Test>::TooManySettlements);
			}
		}
	});
}
