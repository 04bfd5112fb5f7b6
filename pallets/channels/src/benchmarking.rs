//! Benchmarks of the channels calls and hook. A settlement is measured with
//! receipts of the least shape the division has (no attribution, all of one
//! model, whose upstream map the helper puts at its bound); what attribution
//! entries, more models and distinct contributions add is the rewards
//! pallet's benchmark (`ReceiptSettlement::division_weight`).

use super::*;
use alloc::vec::Vec;
use polkadot_sdk::{
	frame_benchmarking::v2::*,
	frame_support::traits::Hooks,
	frame_system::RawOrigin,
	sp_crypto_hashing::blake2_256,
	sp_runtime::{traits::One, Perbill},
};
use tributary_primitives::{Attribution, ContributionId, ModelId, MAX_ATTRIBUTION_ENTRIES};

/// A channel from the helper's requester to a fresh worker, with a deposit
/// for a million answers at the least deposit each.
struct Open<T: Config> {
	id: ChannelId,
	requester: T::AccountId,
	worker: T::AccountId,
}

fn open<T: Config>() -> Open<T> {
	let worker: T::AccountId = account("worker", 0, 0);
	T::BenchmarkHelper::worker(&worker);
	let requester = T::BenchmarkHelper::requester();
	let deposit = T::MinDeposit::get().saturating_mul(1_000_000u32.into());
	T::Currency::set_balance(&requester, deposit.saturating_mul(4u32.into()));
	let expiry = polkadot_sdk::frame_system::Pallet::<T>::block_number()
		.saturating_add(T::MaxLifetime::get());
	let id = NextChannelId::<T>::get();
	Pallet::<T>::open_channel(
		RawOrigin::Signed(requester.clone()).into(),
		worker.clone(),
		deposit,
		expiry,
	)
	.expect("opening a channel in a benchmark");
	Open { id, requester, worker }
}

/// A receipt of `worker` on `channel` for `input`, by `model` attributing
/// to `contributions`, a like share each.
fn receipt<T: Config>(
	channel: ChannelId,
	worker: &T::AccountId,
	sequence: u64,
	price: BalanceOf<T>,
	input: &[u8],
	(model, contributions): (ModelId, &[ContributionId]),
) -> ReceiptOf<T> {
	let class = T::Workers::class(worker).expect("a registered worker");
	let share = Perbill::from_rational(1u32, MAX_ATTRIBUTION_ENTRIES);
	Receipt {
		channel,
		sequence,
		model,
		artifact: H256::repeat_byte(1),
		input_hash: H256(blake2_256(input)),
		output_hash: H256::repeat_byte(3),
		attribution: Attribution::truncate_from(
			contributions.iter().map(|&c| (c, share)).collect(),
		),
		class,
		price,
		worker: worker.clone(),
	}
}

/// Writes batch `id` of a fresh worker to storage, settled at `settled_at`
/// with `receipts` receipts priced over the worker's slash (so that every
/// one is sampled), the first `unopened` of them sampled and unopened.
fn batch<T: Config>(id: BatchId, settled_at: BlockNumberFor<T>, receipts: u32, unopened: u32) {
	let worker: T::AccountId = account("worker", id as u32, 1);
	T::BenchmarkHelper::worker(&worker);
	let requester = T::BenchmarkHelper::requester();
	let price = T::Workers::slash_amount(&worker).saturating_add(One::one());
	let hashes = (0..receipts).map(|i| (H256::repeat_byte(i as u8), price)).collect::<Vec<_>>();
	let batch = Batch {
		channel: id,
		first: 1,
		worker,
		requester,
		settled_at,
		receipts: BoundedVec::truncate_from(hashes),
		sampled: (unopened > 0).then(|| BoundedVec::truncate_from((0..unopened).collect())),
	};
	Batches::<T>::insert(id, batch);
	SettledIn::<T>::try_append(settled_at, id).expect("room for the benchmark's batches");
}

/// A sampled batch holding one receipt, of a fresh worker to the helper's
/// requester, for an input of `len` bytes; returns the receipt and input.
fn sampled_receipt<T: Config>(len: u32) -> (ReceiptOf<T>, BoundedVec<u8, T::MaxInputLen>) {
	let worker: T::AccountId = account("worker", 0, 0);
	T::BenchmarkHelper::worker(&worker);
	let requester = T::BenchmarkHelper::requester();
	let input = alloc::vec![7u8; len as usize];
	let (model, contributions) = T::BenchmarkHelper::model(MAX_ATTRIBUTION_ENTRIES);
	let receipt =
		receipt::<T>(0, &worker, 1, T::MinDeposit::get(), &input, (model, &contributions));
	let batch = Batch {
		channel: 0,
		first: 1,
		worker,
		requester,
		settled_at: polkadot_sdk::frame_system::Pallet::<T>::block_number(),
		receipts: BoundedVec::truncate_from(alloc::vec![(receipt.hash(), receipt.price)]),
		sampled: Some(BoundedVec::truncate_from(alloc::vec![0])),
	};
	Batches::<T>::insert(0, batch);
	let pot = Pallet::<T>::audit_pot();
	T::Currency::set_balance(&pot, T::MinDeposit::get().saturating_mul(1_000_000u32.into()));
	(receipt, BoundedVec::truncate_from(input))
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn open_channel() {
		let worker: T::AccountId = account("worker", 0, 0);
		T::BenchmarkHelper::worker(&worker);
		let requester = T::BenchmarkHelper::requester();
		let deposit = T::MinDeposit::get();
		T::Currency::set_balance(&requester, deposit.saturating_mul(4u32.into()));
		let expiry = polkadot_sdk::frame_system::Pallet::<T>::block_number()
			.saturating_add(T::MaxLifetime::get());
		#[extrinsic_call]
		_(RawOrigin::Signed(requester), worker, deposit, expiry);
		assert!(Channels::<T>::contains_key(0));
	}

	#[benchmark]
	fn top_up() {
		let channel = open::<T>();
		#[extrinsic_call]
		_(RawOrigin::Signed(channel.requester), channel.id, T::MinDeposit::get());
	}

	#[benchmark]
	fn close_channel() {
		let channel = open::<T>();
		let expiry = Channels::<T>::get(channel.id).expect("the channel").expiry;
		polkadot_sdk::frame_system::Pallet::<T>::set_block_number(expiry);
		#[extrinsic_call]
		_(RawOrigin::Signed(channel.requester), channel.id);
		assert!(!Channels::<T>::contains_key(channel.id));
	}

	/// `n` receipts without attribution, of one model.
	#[benchmark]
	fn settle(n: Linear<1, { T::MaxReceipts::get() }>) {
		let channel = open::<T>();
		let price = T::MinDeposit::get();
		let (model, _) = T::BenchmarkHelper::model(0);
		let receipts: Vec<ReceiptOf<T>> = (1..=u64::from(n))
			.map(|sequence| {
				receipt::<T>(channel.id, &channel.worker, sequence, price, &[], (model, &[]))
			})
			.collect();
		let pot = Pallet::<T>::audit_pot();
		T::Currency::set_balance(&pot, T::MinDeposit::get());
		let voucher = Voucher {
			channel: channel.id,
			sequence: u64::from(n),
			total: price.saturating_mul(n.into()),
			receipts: receipts
				.iter()
				.fold(H256::zero(), |head, receipt| chain_receipt(&head, &receipt.hash())),
		};
		let signature = T::BenchmarkHelper::sign(&channel.requester, &voucher.signing_payload());
		let receipts = BoundedVec::truncate_from(receipts);
		#[extrinsic_call]
		_(RawOrigin::Signed(channel.worker), channel.id, voucher, signature, receipts);
		let settled = Channels::<T>::get(channel.id).expect("the channel");
		assert_eq!(settled.sequence, u64::from(n));
		assert!(settled.settled >= price.saturating_mul(BalanceOf::<T>::one()));
	}

	#[benchmark]
	fn open_audit(n: Linear<0, { T::MaxInputLen::get() }>) {
		let (receipt, input) = sampled_receipt::<T>(n);
		let caller: T::AccountId = whitelisted_caller();
		#[extrinsic_call]
		_(RawOrigin::Signed(caller), 0, 1, receipt, input);
		assert!(Audited::<T>::contains_key(0, 1), "the audit job was submitted");
	}

	#[benchmark]
	fn challenge(n: Linear<0, { T::MaxInputLen::get() }>) {
		let (receipt, input) = sampled_receipt::<T>(n);
		let requester = Batches::<T>::get(0).expect("the batch").requester;
		let max_fee = T::MinDeposit::get().saturating_mul(1_000u32.into());
		#[extrinsic_call]
		_(RawOrigin::Signed(requester), 0, 1, receipt, input, max_fee);
		assert!(Audited::<T>::contains_key(0, 1), "the audit job was submitted");
	}

	/// An audit that failed, of a challenge: the slash with a refund and the
	/// bond released.
	#[benchmark]
	fn conclude_audit() {
		let (receipt, _) = sampled_receipt::<T>(0);
		let batch = Batches::<T>::get(0).expect("the batch");
		let bond = T::ChallengeBond::get();
		Pallet::<T>::hold_for(HoldReason::ChallengeBond, &batch.requester, bond)
			.expect("the requester can put up a bond");
		Pallet::<T>::start(7, &batch, 1, &receipt, Some((batch.requester.clone(), bond)));
		let wrong = (H256::repeat_byte(9), Attribution::default());
		#[block]
		{
			Pallet::<T>::finished(7, Some(&wrong));
		}
		assert!(!Audits::<T>::contains_key(7));
	}

	/// `s` settlements sampled, the first of `r` receipts and the rest of
	/// one, every receipt sampled; `c` closed, the first with `u` samples
	/// unopened and the rest with one: a slash for each closed batch.
	#[benchmark]
	fn on_initialize(
		s: Linear<1, { T::MaxSettlementsPerBlock::get() }>,
		r: Linear<1, { T::MaxReceipts::get() }>,
		c: Linear<1, { T::MaxSettlementsPerBlock::get() }>,
		u: Linear<1, { T::MaxReceipts::get() }>,
	) {
		let window = T::ChallengeWindow::get();
		let now = window.saturating_add(One::one());
		for id in 0..c {
			let unopened = if id == 0 { u } else { 1 };
			batch::<T>(id.into(), One::one(), T::MaxReceipts::get(), unopened);
		}
		for id in c..c.saturating_add(s) {
			batch::<T>(id.into(), window, if id == c { r } else { 1 }, 0);
		}
		polkadot_sdk::frame_system::Pallet::<T>::set_block_number(now);
		#[block]
		{
			Pallet::<T>::on_initialize(now);
		}
		assert_eq!(Batches::<T>::iter().count(), s as usize);
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
