//! The attribution graph as other pallets see it: who is upstream of a model,
//! and how a payment to the model splits among them.

use crate::{AgentId, DatanetId, ModelId, SnapshotId};
use alloc::vec::Vec;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::sp_runtime::{BoundedVec, DispatchResult, Perbill};
use scale_info::TypeInfo;

/// Someone upstream of a model who is owed part of what it earns.
#[derive(
	Clone,
	Copy,
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
	serde::Serialize,
	serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum Beneficiary {
	/// An ancestor model: its owner is paid.
	Model(ModelId),
	/// A training datanet at the snapshot the model was trained on: its pool
	/// pays the contributions of that snapshot that are still approved.
	Datanet(DatanetId, SnapshotId),
}

/// A training datanet of a model: the datanet, the snapshot of its
/// contributions the model was trained on, and the datanet's direct share.
pub type TrainingEdge = (DatanetId, SnapshotId, Perbill);

/// A payment to a model divided along its flattened upstream map.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Split<Balance, Bound: polkadot_sdk::sp_core::Get<u32>> {
	/// What each upstream beneficiary is owed.
	pub upstream: BoundedVec<(Beneficiary, Balance), Bound>,
	/// What stays with the model itself: the amount less everything upstream,
	/// so that `model + Σ upstream` is exactly the amount split.
	pub model: Balance,
}

/// The attribution graph: records a model's edges and splits its earnings.
pub trait AttributionGraph<Balance> {
	/// The bound on a model's flattened upstream map.
	type MaxUpstream: polkadot_sdk::sp_core::Get<u32>;

	/// Records a new model's training datanets (each at the snapshot it was
	/// trained on) and parent models with their shares and computes its
	/// flattened upstream map. Fails, changing nothing, when the shares are
	/// invalid or the map would exceed its bound.
	fn record_model(
		model: ModelId,
		training: &[TrainingEdge],
		parents: &[(ModelId, Perbill)],
	) -> DispatchResult;

	/// Records the models `agent` calls; each must already be recorded.
	fn record_agent(agent: AgentId, models: &[ModelId]) -> DispatchResult;

	/// The model's training datanets with their snapshots and direct shares
	/// (at most the graph's bound), empty for an unknown model.
	fn training(model: ModelId) -> Vec<TrainingEdge>;

	/// The model's flattened upstream shares, empty for an unknown model.
	fn upstream(model: ModelId) -> BoundedVec<(Beneficiary, Perbill), Self::MaxUpstream>;

	/// Divides `amount` earned by `model` along its flattened map, rounding
	/// down for every beneficiary and leaving the remainder with the model.
	fn split(model: ModelId, amount: Balance) -> Split<Balance, Self::MaxUpstream>;
}
