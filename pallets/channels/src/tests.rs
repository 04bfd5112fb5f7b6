use crate::{mock::*, Channel, Error, Event, HoldReason, ReceiptOf};
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
use tributary_primitives::{chain_receipt, Attribution, ChannelId, ModelId, Voucher};

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
		assert_eq!(last_event(), Event::ReceiptsSettled { channel_id: id, count: 2, amount: 30 });
		// The prices were in the settlement account before it divided them.
		assert_eq!(
			SETTLED.with(|s| s.borrow().clone()),
			vec![(id, 1, model, 10, WORKER, 31), (id, 2, model, 20, WORKER, 31)]
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
fn the_worker_may_close_at_any_time() {
	new_test_ext().execute_with(|| {
		let id = open(500);
		assert_ok!(Channels::close_channel(RawOrigin::Signed(WORKER).into(), id));
		assert_eq!(held(REQUESTER), 0);
		assert_eq!(Balances::balance(&REQUESTER), 100_000);
	});
}
