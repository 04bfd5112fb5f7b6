//! Benchmarks of the channels calls, each at its worst case: each receipt of
//! a settlement is for a model of its own, whose upstream map the helper puts
//! at its bound, and attributes to the most contributions an attribution
//! holds, so that the division of every receipt, touching storage no other
//! receipt touches, is inside the measured weight.

use super::*;
use alloc::vec::Vec;
use polkadot_sdk::{
	frame_benchmarking::v2::*,
	frame_system::RawOrigin,
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

	#[benchmark]
	fn settle(n: Linear<1, { T::MaxReceipts::get() }>) {
		let channel = open::<T>();
		let class = T::Workers::class(&channel.worker).expect("a registered worker");
		let share = Perbill::from_rational(1u32, MAX_ATTRIBUTION_ENTRIES);
		let price = T::MinDeposit::get();
		let receipts: Vec<ReceiptOf<T>> = (1..=u64::from(n))
			.map(|sequence| {
				let (model, contributions): (ModelId, Vec<ContributionId>) =
					T::BenchmarkHelper::model(MAX_ATTRIBUTION_ENTRIES);
				Receipt {
					channel: channel.id,
					sequence,
					model,
					artifact: H256::repeat_byte(1),
					input_hash: H256::repeat_byte(2),
					output_hash: H256::repeat_byte(3),
					attribution: Attribution::truncate_from(
						contributions.iter().map(|&c| (c, share)).collect(),
					),
					class,
					price,
					worker: channel.worker.clone(),
				}
			})
			.collect();
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

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
