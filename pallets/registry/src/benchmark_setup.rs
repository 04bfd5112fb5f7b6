//! Sets up datanets, contributions and models for benchmarks, this pallet's
//! and those of the pallets that read the registry.

use super::*;
use alloc::{vec, vec::Vec};
use polkadot_sdk::{
	frame_benchmarking::v2::account, frame_system::RawOrigin, sp_runtime::traits::Bounded,
};

/// An account named `name`/`index` with a quarter of the largest balance.
pub fn funded<T: Config>(name: &'static str, index: u32) -> T::AccountId {
	let who: T::AccountId = account(name, index, 0);
	T::Currency::set_balance(&who, endowment::<T>());
	who
}

/// What each account of a benchmark starts with: more than any deposit, and
/// little enough that the thousands of accounts of the largest settlements
/// fit in the total issuance (minting past it fails, silently, in
/// `set_balance`).
pub fn endowment<T: Config>() -> BalanceOf<T> {
	BalanceOf::<T>::max_value() / (1u32 << 16).into()
}

/// Metadata of `len` bytes.
pub fn metadata<T: Config>(len: u32) -> MetadataOf<T> {
	BoundedVec::truncate_from(vec![7u8; len as usize])
}

/// A new datanet of `owner` with `policy`.
pub fn datanet<T: Config>(owner: &T::AccountId, policy: DatanetPolicy) -> DatanetId {
	let id = NextDatanetId::<T>::get();
	Pallet::<T>::create_datanet(RawOrigin::Signed(owner.clone()).into(), metadata::<T>(0), policy)
		.expect("creating a datanet in a benchmark");
	id
}

/// A distinct content hash for each `n`.
pub fn content_hash(n: u32) -> H256 {
	let mut bytes = [0xc0u8; 32];
	bytes[..4].copy_from_slice(&n.to_le_bytes());
	H256(bytes)
}

/// A contribution of `who` to `datanet` with the longest metadata; `n`
/// makes its content distinct.
pub fn contribution<T: Config>(who: &T::AccountId, datanet: DatanetId, n: u32) -> ContributionId {
	let id = NextContributionId::<T>::get();
	Pallet::<T>::contribute(
		RawOrigin::Signed(who.clone()).into(),
		datanet,
		content_hash(n),
		1_000,
		metadata::<T>(T::MaxMetadataLen::get()),
	)
	.expect("contributing in a benchmark");
	id
}

/// A model of `owner` with the longest URI and metadata.
pub fn model<T: Config>(
	owner: &T::AccountId,
	training: Vec<(DatanetId, Perbill)>,
	parents: Vec<(ModelId, Perbill)>,
) -> ModelId {
	let id = NextModelId::<T>::get();
	Pallet::<T>::register_model(
		RawOrigin::Signed(owner.clone()).into(),
		H256::repeat_byte(1),
		H256::repeat_byte(2),
		BoundedVec::truncate_from(vec![b'u'; T::MaxUriLen::get() as usize]),
		metadata::<T>(T::MaxMetadataLen::get()),
		BoundedVec::truncate_from(training),
		BoundedVec::truncate_from(parents),
		1u32.into(),
	)
	.expect("registering a model in a benchmark");
	id
}

/// A model whose flattened upstream map holds `upstream` entries (at most
/// `MaxTrainingDatanets + 3 × MaxParents`), trained first on a datanet with
/// `contributions` approved contributions, made in turn by `contributors`
/// accounts (at least one); returns the model and those. `prepare` runs on each datanet as soon as it is created (a pallet that
/// keeps state per datanet puts it at its costliest there).
pub fn model_with_upstream<T: Config>(
	owner: &T::AccountId,
	upstream: u32,
	contributions: u32,
	contributors: u32,
	prepare: fn(DatanetId),
) -> (ModelId, Vec<ContributionId>) {
	let contributors: Vec<_> =
		(0..contributors.max(1)).map(|n| funded::<T>("contributor", n)).collect();
	// The owner holds the deposits of its datanets and models.
	T::Currency::set_balance(owner, endowment::<T>());
	let datanet = |owner| {
		let id = datanet::<T>(owner, DatanetPolicy::Open);
		prepare(id);
		id
	};
	let first = datanet(owner);
	let ids = (0..contributions)
		.map(|n| contribution::<T>(&contributors[n as usize % contributors.len()], first, n))
		.collect();
	let share = Perbill::from_percent(1);
	let direct = upstream.clamp(1, T::MaxTrainingDatanets::get());
	let mut training = vec![(first, share)];
	training.extend((1..direct).map(|_| (datanet(owner), share)));
	// Each parent adds itself and up to two datanets of its own.
	let mut left = upstream.saturating_sub(direct);
	let mut parents = Vec::new();
	while left > 0 && (parents.len() as u32) < T::MaxParents::get() {
		let own = left.saturating_sub(1).min(2);
		let own_training = (0..own).map(|_| (datanet(owner), share)).collect();
		parents.push((model::<T>(owner, own_training, vec![]), share));
		left -= 1 + own;
	}
	(model::<T>(owner, training, parents), ids)
}
