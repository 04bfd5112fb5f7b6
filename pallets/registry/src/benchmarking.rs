//! Benchmarks of the registry's calls, at their bounds.

use super::*;
use crate::benchmark_setup::*;
use alloc::{vec, vec::Vec};
use polkadot_sdk::{frame_benchmarking::v2::*, frame_system::RawOrigin};

#[benchmarks]
mod benchmarks {
	use super::*;

	#[benchmark]
	fn create_datanet(m: Linear<0, { T::MaxMetadataLen::get() }>) {
		let owner = funded::<T>("owner", 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), metadata::<T>(m), DatanetPolicy::Curated);
		assert!(Datanets::<T>::contains_key(0));
	}

	// On an open datanet, so the approval is part of the call.
	#[benchmark]
	fn contribute(m: Linear<0, { T::MaxMetadataLen::get() }>) {
		let owner = funded::<T>("owner", 0);
		let d = datanet::<T>(&owner, DatanetPolicy::Open);
		let who = funded::<T>("contributor", 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), d, H256::repeat_byte(9), 1_000, metadata::<T>(m));
		assert_eq!(Datanets::<T>::get(d).map(|d| d.approved), Some(1));
	}

	// Rejection, the dearer outcome: it releases the deposit and frees the hash.
	#[benchmark]
	fn review_contribution() {
		let owner = funded::<T>("owner", 0);
		let d = datanet::<T>(&owner, DatanetPolicy::Curated);
		let who = funded::<T>("contributor", 0);
		let c = contribution::<T>(&who, d, 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), c, false);
		assert!(!Contributions::<T>::contains_key(c));
	}

	#[benchmark]
	fn withdraw_contribution() {
		let owner = funded::<T>("owner", 0);
		let d = datanet::<T>(&owner, DatanetPolicy::Open);
		let who = funded::<T>("contributor", 0);
		let c = contribution::<T>(&who, d, 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(who), c);
		assert!(!Contributions::<T>::contains_key(c));
	}

	// `t` training datanets and `p` parents, each parent itself trained on
	// the same `MaxTrainingDatanets` datanets, so that flattening reads and
	// merges `p` full parent maps.
	#[benchmark]
	fn register_model(
		t: Linear<0, { T::MaxTrainingDatanets::get() }>,
		p: Linear<0, { T::MaxParents::get() }>,
	) {
		let owner = funded::<T>("owner", 0);
		let shared: Vec<_> = (0..T::MaxTrainingDatanets::get())
			.map(|_| (datanet::<T>(&owner, DatanetPolicy::Open), Perbill::from_percent(1)))
			.collect();
		let parents: Vec<_> = (0..p)
			.map(|_| (model::<T>(&owner, shared.clone(), vec![]), Perbill::from_percent(2)))
			.collect();
		let training: Vec<_> = (0..t)
			.map(|_| (datanet::<T>(&owner, DatanetPolicy::Open), Perbill::from_percent(2)))
			.collect();
		let id = NextModelId::<T>::get();
		#[extrinsic_call]
		_(
			RawOrigin::Signed(owner),
			H256::repeat_byte(1),
			H256::repeat_byte(2),
			BoundedVec::truncate_from(vec![b'u'; T::MaxUriLen::get() as usize]),
			metadata::<T>(T::MaxMetadataLen::get()),
			BoundedVec::truncate_from(training),
			BoundedVec::truncate_from(parents),
			1u32.into(),
		);
		assert!(Models::<T>::contains_key(id));
	}

	#[benchmark]
	fn retire_model() {
		let owner = funded::<T>("owner", 0);
		let m = model::<T>(&owner, vec![], vec![]);
		#[extrinsic_call]
		_(RawOrigin::Signed(owner), m);
		assert_eq!(Models::<T>::get(m).map(|m| m.status), Some(ModelStatus::Retired));
	}

	#[benchmark]
	fn register_agent(a: Linear<1, { T::MaxAgentModels::get() }>) {
		let owner = funded::<T>("owner", 0);
		let models: Vec<_> = (0..a).map(|_| model::<T>(&owner, vec![], vec![])).collect();
		#[extrinsic_call]
		_(
			RawOrigin::Signed(owner),
			BoundedVec::truncate_from(models),
			metadata::<T>(T::MaxMetadataLen::get()),
		);
		assert!(Agents::<T>::contains_key(0));
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
