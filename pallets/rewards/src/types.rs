//! The records the rewards pallet keeps.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_runtime::Perbill;
use scale_info::TypeInfo;
use tributary_primitives::SnapshotId;

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

/// A datanet's reward pool: how many training snapshots it has taken.
#[derive(Clone, PartialEq, Eq, Debug, Default, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct Pool {
	/// Snapshots taken, numbered `1..=taken`. A contribution approved now
	/// joins at `taken + 1`: it is a member of the next snapshot and every
	/// later one.
	pub taken: SnapshotId,
	/// Whether a contribution joined since the last snapshot. When none did,
	/// the next model shares the last snapshot, which has the same members.
	pub joined: bool,
}

/// One node of a pool's tree over join points (see the `pool` module).
#[derive(Clone, PartialEq, Eq, Debug, Default, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct PoolNode<Balance> {
	/// Approved contributions that joined in `(i − lowbit(i), i]`.
	pub members: u32,
	/// What was paid per member to the snapshots in `[i, i + lowbit(i))`.
	pub reward: Balance,
}

/// An approved contribution's place in its datanet's pool.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct Membership<Balance> {
	/// The first snapshot it is a member of.
	pub join: SnapshotId,
	/// What its snapshots had paid per member when it joined or last
	/// harvested; it is owed what they paid since.
	pub debt: Balance,
}
