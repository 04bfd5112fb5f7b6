//! The records the rewards pallet keeps.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_runtime::Perbill;
use scale_info::TypeInfo;
use tributary_primitives::{ContributionId, DatanetId, ModelId, SnapshotId};

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

/// Who a part of a fee was credited to, as a settlement's event names them:
/// enough to answer "where did this fee go" without reading state.
#[derive(
	Clone,
	PartialEq,
	Eq,
	PartialOrd,
	Ord,
	Debug,
	Encode,
	Decode,
	DecodeWithMemTracking,
	MaxEncodedLen,
	TypeInfo,
)]
pub enum Payee<AccountId> {
	/// A worker whose result formed the majority (the one worker of a
	/// fast-path receipt).
	Worker(AccountId),
	/// A model's owner: the model that answered, for what it kept of its
	/// share, or an ancestor, for its part of the share sent upstream.
	Model {
		/// The model the owner earned through.
		model: ModelId,
		/// Its owner, credited.
		owner: AccountId,
	},
	/// A contribution named in the attribution of an answer of `model`.
	Contribution {
		/// The contribution.
		contribution: ContributionId,
		/// The model whose answer named it.
		model: ModelId,
		/// Its contributor, credited.
		contributor: AccountId,
	},
	/// A datanet's pool at a training snapshot: the snapshot's members that
	/// are still approved share it when they harvest (`claim_contributions`,
	/// or withdrawing).
	Pool {
		/// The datanet.
		datanet: DatanetId,
		/// The snapshot paid.
		snapshot: SnapshotId,
	},
}
