//! The records the worker-staking pallet keeps.

use codec::{Decode, Encode, MaxEncodedLen};
use polkadot_sdk::{frame_support::BoundedVec, sp_core::Get};
use scale_info::TypeInfo;

/// The highest reputation a worker can reach.
pub const MAX_REPUTATION: u32 = 1_000;
/// The reputation a new worker starts with.
pub const INITIAL_REPUTATION: u32 = 500;

/// Part of a worker's stake on its way out: still held, still slashable,
/// withdrawable from block `unlock_at`.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, MaxEncodedLen, TypeInfo)]
#[cfg_attr(feature = "std", derive(serde::Serialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
#[cfg_attr(
	feature = "std",
	serde(bound(serialize = "Balance: core::fmt::Display, BlockNumber: serde::Serialize"))
)]
pub struct UnbondingChunk<Balance, BlockNumber> {
	/// How much.
	#[cfg_attr(feature = "std", serde(with = "tributary_primitives::decimal"))]
	pub amount: Balance,
	/// The first block at which `withdraw_unbonded` releases it.
	pub unlock_at: BlockNumber,
}

/// A registered compute worker.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, MaxEncodedLen, TypeInfo)]
#[scale_info(skip_type_params(MaxEndpoint, MaxEngine, MaxChunks, MaxModels))]
#[cfg_attr(feature = "std", derive(serde::Serialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
#[cfg_attr(
	feature = "std",
	serde(bound(serialize = "Balance: core::fmt::Display, BlockNumber: serde::Serialize"))
)]
pub struct Worker<
	Balance,
	BlockNumber,
	MaxEndpoint: Get<u32>,
	MaxEngine: Get<u32>,
	MaxChunks: Get<u32>,
	MaxModels: Get<u32>,
> {
	/// The active stake: held, and what the worker's draw weight grows with.
	#[cfg_attr(feature = "std", serde(with = "tributary_primitives::decimal"))]
	pub stake: Balance,
	/// Stake that is unbonding: held and slashable until it unlocks.
	pub unbonding: BoundedVec<UnbondingChunk<Balance, BlockNumber>, MaxChunks>,
	/// Where requesters reach the worker off chain (e.g. its RPC URL).
	pub endpoint: BoundedVec<u8, MaxEndpoint>,
	/// What it runs on, as the worker derives it: libtorch version and
	/// build, device kind, the instruction-set level of its kernels.
	pub engine: BoundedVec<u8, MaxEngine>,
	/// Its determinism class, [`tributary_primitives::determinism_class`] of
	/// `engine`: it is drawn only with workers of the same class.
	pub class: polkadot_sdk::sp_core::H256,
	/// The models it serves, in ascending order; it is drawn only for these.
	pub models: BoundedVec<tributary_primitives::ModelId, MaxModels>,
	/// How many jobs it runs at once.
	pub capacity: u32,
	/// How many jobs it is assigned to now.
	pub open_jobs: u32,
	/// 0 to [`MAX_REPUTATION`]; rises with accepted results, falls with slashes.
	pub reputation: u32,
	/// Deregistered: draws no jobs; the record goes when its stake is withdrawn.
	pub leaving: bool,
}
