//! # Attribution Pallet
//!
//! ## Overview
//!
//! Every model on Tributary is registered with the datanets it was trained on
//! and the parent models it was built from, each with the share of the model's
//! earnings it is owed. This pallet keeps those edges (datanet → model,
//! model → model, model → agent) and, once per model at registration, folds
//! them into the model's **flattened upstream map**: every ancestor model and
//! every datanet anywhere upstream, with its share of what the model earns.
//! Paying a model then costs one bounded pass over that map, however deep the
//! graph behind it.
//!
//! ### Terminology
//!
//! - **Direct shares:** the shares a model names for its training datanets and
//!   parents. Together they are at most 100%; the rest is the model's own.
//! - **Flattened share:** what a beneficiary receives of each unit the model
//!   earns. A parent `p` named with share `s` receives `s × own(p)` for itself,
//!   and each of `p`'s own upstream beneficiaries receives `s ×` its share in
//!   `p`. Shares multiply down every path and add up across paths.
//! - **Split:** a payment divided along the flattened map, rounding each
//!   beneficiary down; the model keeps the remainder, so no unit is created or
//!   lost.
//!
//! The graph is acyclic by construction: a parent must be recorded before its
//! child, and a model is recorded once.
//!
//! ## Interface
//!
//! No extrinsics: `pallet-registry` records models and agents through
//! [`AttributionGraph`] (`record_model`, `record_agent`);
//! `pallet-rewards` splits earnings with [`AttributionGraph::split`]. The
//! `AttributionApi` runtime API reads [`Upstream`].

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

mod flatten;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;

use alloc::vec::Vec;
use polkadot_sdk::{
	frame_support::{ensure, pallet_prelude::*},
	sp_runtime::{traits::AtLeast32BitUnsigned, Perbill},
};
use tributary_primitives::{AgentId, AttributionGraph, Beneficiary, ModelId, Split, TrainingEdge};

#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
	use super::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The most parent models one model may name.
		#[pallet::constant]
		type MaxParents: Get<u32>;
		/// The most training datanets one model may name.
		#[pallet::constant]
		type MaxTrainingDatanets: Get<u32>;
		/// The most entries in a flattened upstream map; it bounds the cost of
		/// every split.
		#[pallet::constant]
		type MaxUpstream: Get<u32>;
		/// The most models one agent may call.
		#[pallet::constant]
		type MaxAgentModels: Get<u32>;
	}

	/// The training datanets of each model, with the snapshots it was
	/// trained on and their direct shares.
	#[pallet::storage]
	pub type TrainingEdges<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		ModelId,
		BoundedVec<TrainingEdge, T::MaxTrainingDatanets>,
		ValueQuery,
	>;

	/// The parent models of each model, with their direct shares.
	#[pallet::storage]
	pub type ParentEdges<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		ModelId,
		BoundedVec<(ModelId, Perbill), T::MaxParents>,
		ValueQuery,
	>;

	/// Each recorded model's flattened upstream map, sorted by beneficiary.
	/// A model is in the graph exactly when it has an entry here.
	#[pallet::storage]
	pub type Upstream<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		ModelId,
		BoundedVec<(Beneficiary, Perbill), T::MaxUpstream>,
		OptionQuery,
	>;

	/// The models each agent calls.
	#[pallet::storage]
	pub type AgentModels<T: Config> = StorageMap<
		_,
		Blake2_128Concat,
		AgentId,
		BoundedVec<ModelId, T::MaxAgentModels>,
		OptionQuery,
	>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A model's edges were recorded and its upstream map flattened.
		ModelRecorded {
			/// The model.
			model_id: ModelId,
			/// How many beneficiaries its flattened map holds.
			upstream_entries: u32,
		},
		/// An agent's edges to the models it calls were recorded.
		AgentRecorded {
			/// The agent.
			agent_id: AgentId,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The direct shares of a model's datanets and parents add up to more than 100%.
		SharesExceedWhole,
		/// A datanet or parent was named with a share of zero.
		ZeroShare,
		/// The same datanet was named twice.
		DuplicateDatanet,
		/// The same parent model was named twice.
		DuplicateParent,
		/// A parent model is not in the graph.
		UnknownParent,
		/// A model named for an agent is not in the graph.
		UnknownModel,
		/// More parent models than `MaxParents`.
		TooManyParents,
		/// More training datanets than `MaxTrainingDatanets`.
		TooManyDatanets,
		/// The flattened upstream map would hold more than `MaxUpstream` entries.
		TooManyUpstream,
		/// An agent names more models than `MaxAgentModels`, or none.
		BadAgentModels,
		/// The same model was named twice for one agent.
		DuplicateAgentModel,
		/// This model or agent is already in the graph.
		AlreadyRecorded,
	}
}

impl<T: Config, Balance: AtLeast32BitUnsigned + Copy> AttributionGraph<Balance> for Pallet<T> {
	type MaxUpstream = T::MaxUpstream;

	fn record_model(
		model: ModelId,
		training: &[TrainingEdge],
		parents: &[(ModelId, Perbill)],
	) -> DispatchResult {
		ensure!(!Upstream::<T>::contains_key(model), Error::<T>::AlreadyRecorded);
		let training_edges: BoundedVec<_, T::MaxTrainingDatanets> =
			training.to_vec().try_into().map_err(|_| Error::<T>::TooManyDatanets)?;
		let parent_edges: BoundedVec<_, T::MaxParents> =
			parents.to_vec().try_into().map_err(|_| Error::<T>::TooManyParents)?;
		let upstream = flatten::flatten::<T>(training, parents)?;
		let upstream_entries = upstream.len() as u32;

		TrainingEdges::<T>::insert(model, training_edges);
		ParentEdges::<T>::insert(model, parent_edges);
		Upstream::<T>::insert(model, upstream);
		Self::deposit_event(Event::ModelRecorded { model_id: model, upstream_entries });
		Ok(())
	}

	fn record_agent(agent: AgentId, models: &[ModelId]) -> DispatchResult {
		ensure!(!AgentModels::<T>::contains_key(agent), Error::<T>::AlreadyRecorded);
		ensure!(!models.is_empty(), Error::<T>::BadAgentModels);
		let bounded: BoundedVec<ModelId, T::MaxAgentModels> =
			models.to_vec().try_into().map_err(|_| Error::<T>::BadAgentModels)?;
		for (i, model) in models.iter().enumerate() {
			ensure!(Upstream::<T>::contains_key(model), Error::<T>::UnknownModel);
			ensure!(!models[..i].contains(model), Error::<T>::DuplicateAgentModel);
		}
		AgentModels::<T>::insert(agent, bounded);
		Self::deposit_event(Event::AgentRecorded { agent_id: agent });
		Ok(())
	}

	fn training(model: ModelId) -> Vec<TrainingEdge> {
		TrainingEdges::<T>::get(model).into_inner()
	}

	fn upstream(model: ModelId) -> BoundedVec<(Beneficiary, Perbill), T::MaxUpstream> {
		Upstream::<T>::get(model).unwrap_or_default()
	}

	fn split(model: ModelId, amount: Balance) -> Split<Balance, T::MaxUpstream> {
		let upstream = <Self as AttributionGraph<Balance>>::upstream(model);
		flatten::split::<T, Balance>(&upstream, amount)
	}
}
