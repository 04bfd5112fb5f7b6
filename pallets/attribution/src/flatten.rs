//! Folding a model's direct edges into its flattened upstream map, and
//! splitting a payment along that map.

use crate::{Config, Error, Upstream};
use alloc::collections::BTreeMap;
use polkadot_sdk::{
	frame_support::{ensure, BoundedVec},
	sp_runtime::{traits::AtLeast32BitUnsigned, DispatchError, Perbill, Saturating},
};
use tributary_primitives::{Beneficiary, ModelId, Split, TrainingEdge};

/// The flattened upstream map of a model with these direct edges, sorted by
/// beneficiary, without zero shares.
///
/// Every product rounds down, so the flattened shares never add up to more
/// than the direct shares: a split can never pay out more than it splits.
pub(crate) fn flatten<T: Config>(
	training: &[TrainingEdge],
	parents: &[(ModelId, Perbill)],
) -> Result<BoundedVec<(Beneficiary, Perbill), T::MaxUpstream>, DispatchError> {
	let mut total = Perbill::zero();
	let mut add_direct = |share: Perbill| -> Result<(), DispatchError> {
		ensure!(!share.is_zero(), Error::<T>::ZeroShare);
		let parts = (total.deconstruct() as u64) + (share.deconstruct() as u64);
		ensure!(parts <= Perbill::one().deconstruct() as u64, Error::<T>::SharesExceedWhole);
		total = Perbill::from_parts(parts as u32);
		Ok(())
	};

	let mut shares: BTreeMap<Beneficiary, Perbill> = BTreeMap::new();
	for (i, (datanet, snapshot, share)) in training.iter().enumerate() {
		ensure!(!training[..i].iter().any(|(d, ..)| d == datanet), Error::<T>::DuplicateDatanet);
		add_direct(*share)?;
		credit(&mut shares, Beneficiary::Datanet(*datanet, *snapshot), *share);
	}
	for (i, (parent, share)) in parents.iter().enumerate() {
		ensure!(!parents[..i].iter().any(|(p, _)| p == parent), Error::<T>::DuplicateParent);
		add_direct(*share)?;
		let parent_upstream = Upstream::<T>::get(parent).ok_or(Error::<T>::UnknownParent)?;
		let passed_up =
			parent_upstream.iter().fold(Perbill::zero(), |a, (_, s)| a.saturating_add(*s));
		let parent_keeps = Perbill::one().saturating_sub(passed_up);
		credit(&mut shares, Beneficiary::Model(*parent), *share * parent_keeps);
		for (beneficiary, inherited) in parent_upstream.iter() {
			credit(&mut shares, *beneficiary, *share * *inherited);
		}
	}

	let flattened: alloc::vec::Vec<_> = shares.into_iter().filter(|(_, s)| !s.is_zero()).collect();
	flattened.try_into().map_err(|_| Error::<T>::TooManyUpstream.into())
}

fn credit(shares: &mut BTreeMap<Beneficiary, Perbill>, who: Beneficiary, share: Perbill) {
	let entry = shares.entry(who).or_insert_with(Perbill::zero);
	*entry = entry.saturating_add(share);
}

/// Divides `amount` along `upstream`: each beneficiary gets its share rounded
/// down; the model keeps the rest. Zero amounts are left out.
pub(crate) fn split<T: Config, Balance: AtLeast32BitUnsigned + Copy>(
	upstream: &BoundedVec<(Beneficiary, Perbill), T::MaxUpstream>,
	amount: Balance,
) -> Split<Balance, T::MaxUpstream> {
	let mut model = amount;
	let mut paid = alloc::vec::Vec::with_capacity(upstream.len());
	for (beneficiary, share) in upstream {
		let owed = share.mul_floor(amount);
		if owed.is_zero() {
			continue;
		}
		// The flattened shares add up to at most 100%, so `model` covers every `owed`.
		model = model.saturating_sub(owed);
		paid.push((*beneficiary, owed));
	}
	// At most one entry per entry of `upstream`, which is within the same bound.
	Split { upstream: BoundedVec::truncate_from(paid), model }
}
