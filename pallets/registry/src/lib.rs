//! # Registry Pallet
//!
//! ## Overview
//!
//! The registry is where Tributary's provenance begins. People gather data in
//! **datanets**, each piece a **contribution** recorded by its content hash
//! with a refundable storage deposit; models are registered with the datanets
//! they were trained on and the models they were built from; agents are
//! registered with the models they call. What a model owes upstream is kept
//! by `pallet-attribution`, which the registry feeds at registration.
//!
//! ### Terminology
//!
//! - **Datanet:** a community dataset with an owner and a policy. An `Open`
//!   datanet approves every contribution at once; a `Curated` one waits for its
//!   owner's review.
//! - **Contribution:** a content hash, size and metadata in one datanet. Only
//!   approved contributions count toward the datanet and earn.
//! - **Deposit:** `ContributionDepositBase + DepositPerByte × metadata bytes`,
//!   held from the contributor while the record counts; returned when the
//!   contribution is rejected or withdrawn. A datanet, model or agent holds
//!   `RecordDepositBase + DepositPerByte × its encoded bytes` (a model's and
//!   an agent's edges in the attribution graph included) from its owner for
//!   as long as its record exists.
//! - **Training snapshot:** registering a model with a datanet asks the
//!   reward pools ([`tributary_primitives::ContributionHooks::snapshot`]) for
//!   a numbered snapshot of the datanet's approved contributions; the model's
//!   training edges name it, and its payments reach only its members.
//! - **Version:** a new model that names its predecessor as a parent; only the
//!   predecessor's owner may publish one.
//! - **Retired:** a model that takes no new jobs; its record and edges stay.
//!
//! ## Interface
//!
//! Calls: `create_datanet`, `contribute`, `review_contribution`,
//! `withdraw_contribution`, `register_model`, `publish_version`,
//! `retire_model`, `register_agent`.
//!
//! Other pallets read models and contributions through
//! [`tributary_primitives::ModelProvider`] and
//! [`tributary_primitives::ContributionProvider`].

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
pub mod benchmark_setup;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

pub use types::*;
pub use weights::WeightInfo;

use polkadot_sdk::{
	frame_support::{
		pallet_prelude::*,
		storage::StorageValue as StorageValueTrait,
		traits::{
			fungible::{Inspect, Mutate, MutateHold},
			tokens::Precision,
		},
	},
	frame_system::pallet_prelude::*,
	sp_core::H256,
	sp_runtime::{traits::Saturating, Perbill},
};
use tributary_primitives::{
	AgentId, AttributionGraph, ContributionHooks, ContributionId, ContributionProvider,
	ContributionRecord, ContributionStatus, DatanetId, Lookup, ModelId, ModelProvider,
};

/// A balance of the registry's currency.
pub type BalanceOf<T> = <<T as Config>::Currency as Inspect<
	<T as polkadot_sdk::frame_system::Config>::AccountId,
>>::Balance;
/// Free-form metadata, bounded by `MaxMetadataLen`.
pub type MetadataOf<T> = BoundedVec<u8, <T as Config>::MaxMetadataLen>;
/// A model's training datanets with their direct shares.
pub type TrainingOf<T> = BoundedVec<(DatanetId, Perbill), <T as Config>::MaxTrainingDatanets>;
/// A model's parents with their direct shares.
pub type ParentsOf<T> = BoundedVec<(ModelId, Perbill), <T as Config>::MaxParents>;
/// A datanet as stored.
pub type DatanetOf<T> = Datanet<
	<T as polkadot_sdk::frame_system::Config>::AccountId,
	BalanceOf<T>,
	<T as Config>::MaxMetadataLen,
>;
/// A contribution as stored.
pub type ContributionOf<T> = Contribution<
	<T as polkadot_sdk::frame_system::Config>::AccountId,
	BalanceOf<T>,
	<T as Config>::MaxMetadataLen,
>;
/// A model as stored.
pub type ModelOf<T> = Model<
	<T as polkadot_sdk::frame_system::Config>::AccountId,
	BalanceOf<T>,
	<T as Config>::MaxMetadataLen,
	<T as Config>::MaxUriLen,
>;
/// An agent as stored.
pub type AgentOf<T> = Agent<
	<T as polkadot_sdk::frame_system::Config>::AccountId,
	BalanceOf<T>,
	<T as Config>::MaxMetadataLen,
>;

#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
	use super::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency deposits are held in.
		type Currency: Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The runtime's hold reasons, of which the contribution deposit is one.
		type RuntimeHoldReason: From<HoldReason>;
		/// The attribution graph that models and agents are recorded in.
		type Attribution: AttributionGraph<BalanceOf<Self>>;
		/// Told when a contribution starts or stops counting (the reward pools).
		type ContributionHooks: ContributionHooks<Self::AccountId>;
		/// The fixed part of a contribution's deposit.
		#[pallet::constant]
		type ContributionDepositBase: Get<BalanceOf<Self>>;
		/// The fixed part of the deposit of a datanet, model or agent.
		#[pallet::constant]
		type RecordDepositBase: Get<BalanceOf<Self>>;
		/// The deposit per byte of a contribution's metadata, and of a
		/// datanet's, model's or agent's record.
		#[pallet::constant]
		type DepositPerByte: Get<BalanceOf<Self>>;
		/// The longest metadata of a datanet, contribution, model or agent.
		#[pallet::constant]
		type MaxMetadataLen: Get<u32>;
		/// The longest model URI.
		#[pallet::constant]
		type MaxUriLen: Get<u32>;
		/// The most training datanets a model may name (the attribution graph's bound).
		#[pallet::constant]
		type MaxTrainingDatanets: Get<u32>;
		/// The most parents a model may name (the attribution graph's bound).
		#[pallet::constant]
		type MaxParents: Get<u32>;
		/// The most models an agent may call (the attribution graph's bound).
		#[pallet::constant]
		type MaxAgentModels: Get<u32>;
		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// Why the registry holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The storage deposit of a contribution.
		ContributionDeposit,
		/// The storage deposit of a datanet, model or agent, held from its
		/// owner while the record exists.
		RecordDeposit,
	}

	/// The id the next datanet gets.
	#[pallet::storage]
	pub type NextDatanetId<T> = StorageValue<_, DatanetId, ValueQuery>;

	/// Every datanet by id.
	#[pallet::storage]
	pub type Datanets<T: Config> = StorageMap<_, Blake2_128Concat, DatanetId, DatanetOf<T>>;

	/// The id the next contribution gets.
	#[pallet::storage]
	pub type NextContributionId<T> = StorageValue<_, ContributionId, ValueQuery>;

	/// Every pending or approved contribution by id; a rejected or withdrawn
	/// one's record goes with its deposit.
	#[pallet::storage]
	pub type Contributions<T: Config> =
		StorageMap<_, Blake2_128Concat, ContributionId, ContributionOf<T>>;

	/// The pending or approved contribution of each content hash in each
	/// datanet, so that the same content cannot count twice.
	#[pallet::storage]
	pub type ContentIndex<T> =
		StorageDoubleMap<_, Blake2_128Concat, DatanetId, Identity, H256, ContributionId>;

	/// The id the next model gets.
	#[pallet::storage]
	pub type NextModelId<T> = StorageValue<_, ModelId, ValueQuery>;

	/// Every model by id, retired ones included.
	#[pallet::storage]
	pub type Models<T: Config> = StorageMap<_, Blake2_128Concat, ModelId, ModelOf<T>>;

	/// The id the next agent gets.
	#[pallet::storage]
	pub type NextAgentId<T> = StorageValue<_, AgentId, ValueQuery>;

	/// Every agent by id; the models it calls are in `pallet-attribution`.
	#[pallet::storage]
	pub type Agents<T: Config> = StorageMap<_, Blake2_128Concat, AgentId, AgentOf<T>>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A datanet was created.
		DatanetCreated {
			/// The new datanet.
			datanet_id: DatanetId,
			/// Its owner, the caller.
			owner: T::AccountId,
		},
		/// A contribution was recorded and its deposit held.
		ContributionSubmitted {
			/// The new contribution.
			contribution_id: ContributionId,
			/// The datanet it was offered to.
			datanet_id: DatanetId,
			/// Who offered it.
			contributor: T::AccountId,
			/// The deposit held from the contributor.
			deposit: BalanceOf<T>,
		},
		/// A contribution was approved and counts in its datanet.
		ContributionApproved {
			/// The contribution.
			contribution_id: ContributionId,
			/// Its datanet.
			datanet_id: DatanetId,
		},
		/// A contribution was rejected and its deposit returned.
		ContributionRejected {
			/// The contribution.
			contribution_id: ContributionId,
			/// Its datanet.
			datanet_id: DatanetId,
		},
		/// A contribution was withdrawn and its deposit returned.
		ContributionWithdrawn {
			/// The contribution.
			contribution_id: ContributionId,
			/// The deposit returned to the contributor.
			refund: BalanceOf<T>,
		},
		/// A model was registered.
		ModelRegistered {
			/// The new model.
			model_id: ModelId,
			/// Its owner, the caller.
			owner: T::AccountId,
		},
		/// A model was published as a new version of another.
		ModelVersionPublished {
			/// The new version.
			model_id: ModelId,
			/// The model it succeeds.
			previous: ModelId,
		},
		/// A model was retired: it takes no new jobs.
		ModelRetired {
			/// The model.
			model_id: ModelId,
		},
		/// An agent was registered.
		AgentRegistered {
			/// The new agent.
			agent_id: AgentId,
			/// Its owner, the caller.
			owner: T::AccountId,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No datanet has this id.
		UnknownDatanet,
		/// No contribution has this id.
		UnknownContribution,
		/// No model has this id.
		UnknownModel,
		/// Only the datanet's owner may review its contributions.
		NotDatanetOwner,
		/// Only the contributor may withdraw a contribution.
		NotContributor,
		/// Only the model's owner may do this.
		NotModelOwner,
		/// This content is already a pending or approved contribution of this datanet.
		DuplicateContent,
		/// A contribution must have a non-zero size.
		EmptyContent,
		/// Only a pending contribution can be reviewed (one rejected or
		/// withdrawn is gone).
		NotPending,
		/// The contribution was already rejected or withdrawn: its record is gone.
		NotWithdrawable,
		/// The caller's free balance cannot cover the storage deposit of the
		/// contribution, datanet, model or agent.
		/// (Other causes, such as frozen funds, come as the token error itself.)
		InsufficientDeposit,
		/// The model is already retired.
		AlreadyRetired,
		/// A new version must name the model it succeeds among its parents.
		VersionMustNamePredecessor,
		/// The id space of this kind of record is exhausted.
		IdsExhausted,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Creates a datanet owned by the caller.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::create_datanet(metadata.len() as u32))]
		pub fn create_datanet(
			origin: OriginFor<T>,
			metadata: MetadataOf<T>,
			policy: DatanetPolicy,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			let datanet_id = Self::next_id::<NextDatanetId<T>>()?;
			let mut datanet = Datanet {
				owner: owner.clone(),
				policy,
				metadata,
				approved: 0,
				deposit: 0u32.into(),
			};
			datanet.deposit = Self::hold_record(&owner, datanet.encoded_size())?;
			Datanets::<T>::insert(datanet_id, datanet);
			Self::deposit_event(Event::DatanetCreated { datanet_id, owner });
			Ok(())
		}

		/// Contributes content (by its blake2-256 hash) to a datanet, holding
		/// the storage deposit. On an open datanet it is approved at once.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::contribute(metadata.len() as u32))]
		pub fn contribute(
			origin: OriginFor<T>,
			datanet_id: DatanetId,
			content_hash: H256,
			size_bytes: u64,
			metadata: MetadataOf<T>,
		) -> DispatchResult {
			let contributor = ensure_signed(origin)?;
			let datanet = Datanets::<T>::get(datanet_id).ok_or(Error::<T>::UnknownDatanet)?;
			ensure!(size_bytes > 0, Error::<T>::EmptyContent);
			ensure!(
				!ContentIndex::<T>::contains_key(datanet_id, content_hash),
				Error::<T>::DuplicateContent
			);
			let deposit = Self::deposit_for(metadata.len());
			let contribution_id = Self::next_id::<NextContributionId<T>>()?;
			T::Currency::hold(&HoldReason::ContributionDeposit.into(), &contributor, deposit)
				.map_err(|error| {
					tributary_primitives::funds_error(error, Error::<T>::InsufficientDeposit)
				})?;

			ContentIndex::<T>::insert(datanet_id, content_hash, contribution_id);
			Contributions::<T>::insert(
				contribution_id,
				Contribution {
					datanet: datanet_id,
					contributor: contributor.clone(),
					content_hash,
					size_bytes,
					metadata,
					status: ContributionStatus::Pending,
					deposit,
				},
			);
			Self::deposit_event(Event::ContributionSubmitted {
				contribution_id,
				datanet_id,
				contributor,
				deposit,
			});
			if datanet.policy == DatanetPolicy::Open {
				Self::approve(contribution_id, datanet_id)?;
			}
			Ok(())
		}

		/// Approves or rejects a pending contribution; the datanet's owner only.
		/// A rejected contribution's deposit goes back to its contributor.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::review_contribution())]
		pub fn review_contribution(
			origin: OriginFor<T>,
			contribution_id: ContributionId,
			approve: bool,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let contribution = Self::stored(contribution_id, Error::<T>::NotPending)?;
			let datanet =
				Datanets::<T>::get(contribution.datanet).ok_or(Error::<T>::UnknownDatanet)?;
			ensure!(datanet.owner == who, Error::<T>::NotDatanetOwner);
			ensure!(contribution.status == ContributionStatus::Pending, Error::<T>::NotPending);
			if approve {
				Self::approve(contribution_id, contribution.datanet)
			} else {
				let datanet_id = contribution.datanet;
				Self::release(contribution_id, contribution)?;
				Self::deposit_event(Event::ContributionRejected { contribution_id, datanet_id });
				Ok(())
			}
		}

		/// Withdraws the caller's contribution: its deposit comes back and it
		/// earns nothing from then on; what it earned stays.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::withdraw_contribution())]
		pub fn withdraw_contribution(
			origin: OriginFor<T>,
			contribution_id: ContributionId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let contribution = Self::stored(contribution_id, Error::<T>::NotWithdrawable)?;
			ensure!(contribution.contributor == who, Error::<T>::NotContributor);
			let refund = Self::release(contribution_id, contribution)?;
			Self::deposit_event(Event::ContributionWithdrawn { contribution_id, refund });
			Ok(())
		}

		/// Registers a model with its artifact, attribution index, training
		/// datanets and parent models (each with its share of what the model
		/// earns) and its price per inference.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::register_model(training.len() as u32, parents.len() as u32))]
		pub fn register_model(
			origin: OriginFor<T>,
			artifact_hash: H256,
			attribution_index_hash: H256,
			uri: BoundedVec<u8, T::MaxUriLen>,
			metadata: MetadataOf<T>,
			training: TrainingOf<T>,
			parents: ParentsOf<T>,
			price_per_inference: BalanceOf<T>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			let model = Self::active_model(
				owner,
				artifact_hash,
				attribution_index_hash,
				uri,
				metadata,
				price_per_inference,
				None,
			);
			Self::do_register_model(model, &training, &parents)?;
			Ok(())
		}

		/// Publishes a new version of the caller's model `previous`: a new model
		/// that must name `previous` among its parents.
		#[pallet::call_index(5)]
		#[pallet::weight(
			// Registration plus the read of the predecessor.
			T::WeightInfo::register_model(training.len() as u32, parents.len() as u32)
				.saturating_add(T::DbWeight::get().reads(1))
		)]
		pub fn publish_version(
			origin: OriginFor<T>,
			previous: ModelId,
			artifact_hash: H256,
			attribution_index_hash: H256,
			uri: BoundedVec<u8, T::MaxUriLen>,
			metadata: MetadataOf<T>,
			training: TrainingOf<T>,
			parents: ParentsOf<T>,
			price_per_inference: BalanceOf<T>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			let predecessor = Models::<T>::get(previous).ok_or(Error::<T>::UnknownModel)?;
			ensure!(predecessor.owner == owner, Error::<T>::NotModelOwner);
			ensure!(
				parents.iter().any(|(p, _)| *p == previous),
				Error::<T>::VersionMustNamePredecessor
			);
			let model = Self::active_model(
				owner,
				artifact_hash,
				attribution_index_hash,
				uri,
				metadata,
				price_per_inference,
				Some(previous),
			);
			let model_id = Self::do_register_model(model, &training, &parents)?;
			Self::deposit_event(Event::ModelVersionPublished { model_id, previous });
			Ok(())
		}

		/// Retires the caller's model: it takes no new jobs; its record and
		/// its place in the attribution graph stay.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::retire_model())]
		pub fn retire_model(origin: OriginFor<T>, model_id: ModelId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Models::<T>::try_mutate(model_id, |model| {
				let model = model.as_mut().ok_or(Error::<T>::UnknownModel)?;
				ensure!(model.owner == who, Error::<T>::NotModelOwner);
				ensure!(model.status == ModelStatus::Active, Error::<T>::AlreadyRetired);
				model.status = ModelStatus::Retired;
				Ok::<_, DispatchError>(())
			})?;
			Self::deposit_event(Event::ModelRetired { model_id });
			Ok(())
		}

		/// Registers an agent that calls the given models.
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::register_agent(models.len() as u32))]
		pub fn register_agent(
			origin: OriginFor<T>,
			models: BoundedVec<ModelId, T::MaxAgentModels>,
			metadata: MetadataOf<T>,
		) -> DispatchResult {
			let owner = ensure_signed(origin)?;
			let agent_id = Self::next_id::<NextAgentId<T>>()?;
			T::Attribution::record_agent(agent_id, &models)?;
			let mut agent = Agent { owner: owner.clone(), metadata, deposit: 0u32.into() };
			agent.deposit = Self::hold_record(
				&owner,
				agent.encoded_size().saturating_add(models.encoded_size()),
			)?;
			Agents::<T>::insert(agent_id, agent);
			Self::deposit_event(Event::AgentRegistered { agent_id, owner });
			Ok(())
		}
	}
}

impl<T: Config> Pallet<T> {
	/// Takes the next id from the counter `Counter`, failing when exhausted.
	fn next_id<Counter: StorageValueTrait<u64, Query = u64>>() -> Result<u64, Error<T>> {
		let id = Counter::get();
		Counter::put(id.checked_add(1).ok_or(Error::<T>::IdsExhausted)?);
		Ok(id)
	}

	/// The deposit for a contribution with `metadata_len` bytes of metadata.
	pub fn deposit_for(metadata_len: usize) -> BalanceOf<T> {
		let bytes: BalanceOf<T> = (metadata_len as u32).into();
		T::ContributionDepositBase::get()
			.saturating_add(T::DepositPerByte::get().saturating_mul(bytes))
	}

	/// Holds from `owner` the deposit of a datanet, model or agent whose
	/// record (edges included) takes `bytes`; returns it.
	fn hold_record(owner: &T::AccountId, bytes: usize) -> Result<BalanceOf<T>, DispatchError> {
		let bytes: BalanceOf<T> = (bytes as u32).into();
		let deposit = T::RecordDepositBase::get()
			.saturating_add(T::DepositPerByte::get().saturating_mul(bytes));
		T::Currency::hold(&HoldReason::RecordDeposit.into(), owner, deposit).map_err(|error| {
			tributary_primitives::funds_error(error, Error::<T>::InsufficientDeposit)
		})?;
		Ok(deposit)
	}

	fn approve(contribution_id: ContributionId, datanet_id: DatanetId) -> DispatchResult {
		Contributions::<T>::try_mutate(contribution_id, |c| {
			let c = c.as_mut().ok_or(Error::<T>::UnknownContribution)?;
			c.status = ContributionStatus::Approved;
			Ok::<_, DispatchError>(())
		})?;
		Datanets::<T>::try_mutate(datanet_id, |d| {
			let d = d.as_mut().ok_or(Error::<T>::UnknownDatanet)?;
			d.approved = d.approved.saturating_add(1);
			Ok::<_, DispatchError>(())
		})?;
		T::ContributionHooks::on_approved(contribution_id, datanet_id);
		Self::deposit_event(Event::ContributionApproved { contribution_id, datanet_id });
		Ok(())
	}

	/// Contribution `id`'s record; `removed` when it was withdrawn or
	/// rejected, `UnknownContribution` when no contribution had the id.
	fn stored(id: ContributionId, removed: Error<T>) -> Result<ContributionOf<T>, Error<T>> {
		Contributions::<T>::get(id).ok_or_else(|| {
			if id < NextContributionId::<T>::get() {
				removed
			} else {
				Error::<T>::UnknownContribution
			}
		})
	}

	/// Ends a pending or approved contribution: returns its deposit, frees
	/// its content hash, takes it out of its datanet's count if it was
	/// approved, and removes its record (its events tell its history).
	/// Returns the amount released.
	fn release(
		contribution_id: ContributionId,
		contribution: ContributionOf<T>,
	) -> Result<BalanceOf<T>, DispatchError> {
		let refund = T::Currency::release(
			&HoldReason::ContributionDeposit.into(),
			&contribution.contributor,
			contribution.deposit,
			Precision::BestEffort,
		)?;
		if contribution.status == ContributionStatus::Approved {
			Datanets::<T>::mutate(contribution.datanet, |d| {
				if let Some(d) = d {
					d.approved = d.approved.saturating_sub(1);
				}
			});
			T::ContributionHooks::on_withdrawn(
				contribution_id,
				contribution.datanet,
				&contribution.contributor,
			);
		}
		ContentIndex::<T>::remove(contribution.datanet, contribution.content_hash);
		Contributions::<T>::remove(contribution_id);
		Ok(refund)
	}

	/// A new, active model record.
	fn active_model(
		owner: T::AccountId,
		artifact_hash: H256,
		attribution_index_hash: H256,
		uri: BoundedVec<u8, T::MaxUriLen>,
		metadata: MetadataOf<T>,
		price_per_inference: BalanceOf<T>,
		previous_version: Option<ModelId>,
	) -> ModelOf<T> {
		Model {
			owner,
			artifact_hash,
			attribution_index_hash,
			uri,
			metadata,
			price_per_inference,
			status: ModelStatus::Active,
			previous_version,
			deposit: 0u32.into(),
		}
	}

	/// Checks a model's datanets, takes a snapshot of each for it, stores it
	/// and records its edges in the attribution graph; the graph checks the
	/// shares and parents.
	fn do_register_model(
		model: ModelOf<T>,
		training: &[(DatanetId, Perbill)],
		parents: &[(ModelId, Perbill)],
	) -> Result<ModelId, DispatchError> {
		let mut trained_on = Vec::with_capacity(training.len());
		for &(datanet, share) in training {
			ensure!(Datanets::<T>::contains_key(datanet), Error::<T>::UnknownDatanet);
			trained_on.push((datanet, T::ContributionHooks::snapshot(datanet)?, share));
		}
		let model_id = Self::next_id::<NextModelId<T>>()?;
		T::Attribution::record_model(model_id, &trained_on, parents)?;
		let owner = model.owner.clone();
		let mut model = model;
		let bytes = model.encoded_size().saturating_add((&trained_on, parents).encoded_size());
		model.deposit = Self::hold_record(&owner, bytes)?;
		Models::<T>::insert(model_id, model);
		Self::deposit_event(Event::ModelRegistered { model_id, owner });
		Ok(model_id)
	}
}

impl<T: Config> Pallet<T> {
	/// Contribution `id` as clients find it: its record, or whether it was
	/// pruned (withdrawn or rejected).
	pub fn lookup(id: ContributionId) -> Lookup<ContributionRecord<T::AccountId, BalanceOf<T>>> {
		match Contributions::<T>::get(id) {
			Some(c) => Lookup::Found(ContributionRecord {
				datanet_id: c.datanet,
				contributor: c.contributor,
				content_hash: c.content_hash,
				size_bytes: c.size_bytes,
				status: c.status,
				deposit: c.deposit,
			}),
			None if id < NextContributionId::<T>::get() => Lookup::Pruned,
			None => Lookup::Unknown,
		}
	}
}

impl<T: Config> ModelProvider<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn owner(model: ModelId) -> Option<T::AccountId> {
		Models::<T>::get(model).map(|m| m.owner)
	}

	fn active_price(model: ModelId) -> Option<BalanceOf<T>> {
		Models::<T>::get(model)
			.filter(|m| m.status == ModelStatus::Active)
			.map(|m| m.price_per_inference)
	}

	fn exists(model: ModelId) -> bool {
		Models::<T>::contains_key(model)
	}
}

impl<T: Config> ContributionProvider<T::AccountId> for Pallet<T> {
	fn datanet_exists(datanet: DatanetId) -> bool {
		Datanets::<T>::contains_key(datanet)
	}

	fn approved(contribution: ContributionId) -> Option<(T::AccountId, DatanetId)> {
		Contributions::<T>::get(contribution)
			.filter(|c| c.status == ContributionStatus::Approved)
			.map(|c| (c.contributor, c.datanet))
	}

	fn datanet_of(contribution: ContributionId) -> Option<DatanetId> {
		Contributions::<T>::get(contribution).map(|c| c.datanet)
	}

	fn removed(contribution: ContributionId) -> bool {
		contribution < NextContributionId::<T>::get()
			&& !Contributions::<T>::contains_key(contribution)
	}
}
