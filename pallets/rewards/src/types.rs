//! The records the rewards pallet keeps.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_runtime::Perbill;
use scale_info::TypeInfo;

/// How each fee is divided. The parts add up to exactly 100%.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
pub struct RewardShares {
	/// To the workers whose results formed the majority, equally.
	pub worker: Perbill,
	/// To the model, divided along its flattened upstream map.
	pub model: Perbill,
	/// To the contributions the attribution names and the training datanets.
	pub data: Perbill,
	/// To the treasury.
	pub treasury: Perbill,
}

impl RewardShares {
	/// Whether the parts add up to exactly 100%.
	pub fn is_whole(&self) -> bool {
		[self.worker, self.model, self.data, self.treasury]
			.iter()
			.map(|part| u64::from(part.deconstruct()))
			.sum::<u64>()
			== u64::from(Perbill::one().deconstruct())
	}
}

/// A datanet's reward pool.
#[derive(Clone, PartialEq, Eq, Debug, Default, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct Pool<Balance> {
	/// What each approved contribution has earned since the pool began.
	pub accumulator: Balance,
	/// How many contributions of the datanet are approved.
	pub members: u32,
	/// The part of past payments too small to give every member a unit.
	pub carry: Balance,
}
