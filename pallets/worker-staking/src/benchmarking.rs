//! Benchmarks of the worker-staking calls, each at its worst case.

use super::*;
use alloc::vec;
use polkadot_sdk::{frame_benchmarking::v2::*, frame_system::RawOrigin};

fn funded<T: Config>(index: u32) -> T::AccountId {
	let who: T::AccountId = account("worker", index, 0);
	T::Currency::set_balance(&who, T::MinWorkerStake::get().saturating_mul(100u32.into()));
	who
}

fn register<T: Config>(who: &T::AccountId) {
	Pallet::<T>::register_worker(
		RawOrigin::Signed(who.clone()).into(),
		T::MinWorkerStake::get().saturating_mul(4u32.into()),
		BoundedVec::truncate_from(vec![b'e'; T::MaxEndpointLen::get() as usize]),
		1,
		BoundedVec::truncate_from(vec![b'x'; T::MaxEngineLen::get() as usize]),
	)
	.expect("registering a worker in a benchmark");
	// Every call then reads and writes a record at its largest.
	Pallet::<T>::serve_models(RawOrigin::Signed(who.clone()).into(), Pallet::<T>::most_models(0))
		.expect("serving models in a benchmark");
}

/// Fills the worker's unbonding chunks but one, all unlocking at `unlock_at`.
fn unbonding_chunks<T: Config>(who: &T::AccountId, unlock_at: BlockNumberFor<T>) {
	Workers::<T>::mutate(who, |record| {
		let record = record.as_mut().expect("a registered worker");
		for _ in 1..T::MaxUnbondingChunks::get() {
			Pallet::<T>::start_unbonding(record, 1u32.into(), unlock_at).expect("room for a chunk");
		}
	});
}

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn register_worker() {
		for i in 1..T::MaxWorkers::get() {
			register::<T>(&funded::<T>(i));
		}
		let who = funded::<T>(0);
		let stake = T::MinWorkerStake::get().saturating_mul(4u32.into());
		#[extrinsic_call]
		_(
			RawOrigin::Signed(who.clone()),
			stake,
			BoundedVec::truncate_from(vec![b'e'; T::MaxEndpointLen::get() as usize]),
			T::MaxCapacity::get(),
			BoundedVec::truncate_from(vec![b'x'; T::MaxEngineLen::get() as usize]),
		);
		assert_eq!(Workers::<T>::count(), T::MaxWorkers::get());
	}

	#[benchmark]
	fn bond_extra() {
		let who = funded::<T>(0);
		register::<T>(&who);
		unbonding_chunks::<T>(&who, 1u32.into());
		let stake = Workers::<T>::get(&who).expect("registered").stake;
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), T::MinWorkerStake::get());
		assert_eq!(
			Workers::<T>::get(&who).expect("registered").stake,
			stake.saturating_add(T::MinWorkerStake::get())
		);
	}

	#[benchmark]
	fn unbond() {
		let who = funded::<T>(0);
		register::<T>(&who);
		unbonding_chunks::<T>(&who, 1u32.into());
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), T::MinWorkerStake::get());
		assert_eq!(
			Workers::<T>::get(&who).expect("registered").unbonding.len() as u32,
			T::MaxUnbondingChunks::get()
		);
	}

	#[benchmark]
	fn withdraw_unbonded() {
		let who = funded::<T>(0);
		register::<T>(&who);
		// Every chunk unlocks and the record goes: the most work.
		unbonding_chunks::<T>(&who, Zero::zero());
		Pallet::<T>::deregister(RawOrigin::Signed(who.clone()).into()).expect("no open jobs");
		polkadot_sdk::frame_system::Pallet::<T>::set_block_number(
			Pallet::<T>::unlock_block().saturating_add(1u32.into()),
		);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(!Workers::<T>::contains_key(&who));
	}

	#[benchmark]
	fn set_capacity() {
		let who = funded::<T>(0);
		register::<T>(&who);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), T::MaxCapacity::get());
		assert_eq!(Workers::<T>::get(&who).expect("registered").capacity, T::MaxCapacity::get());
	}

	#[benchmark]
	fn deregister() {
		let who = funded::<T>(0);
		register::<T>(&who);
		unbonding_chunks::<T>(&who, 1u32.into());
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()));
		assert!(Workers::<T>::get(&who).expect("registered").leaving);
	}

	#[benchmark]
	fn serve_models(n: Linear<0, { T::MaxServedModels::get() }>) {
		let who = funded::<T>(0);
		register::<T>(&who);
		let mut models = Pallet::<T>::most_models(1_000);
		models.truncate(n as usize);
		#[extrinsic_call]
		_(RawOrigin::Signed(who.clone()), models);
		assert_eq!(Workers::<T>::get(&who).expect("registered").models.len() as u32, n);
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
