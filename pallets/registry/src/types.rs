//! The records the registry keeps.

use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{frame_support::BoundedVec, sp_core::H256};
use scale_info::TypeInfo;
use tributary_primitives::{ContributionStatus, DatanetId, ModelId};

/// Who decides which contributions a datanet accepts.
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
pub enum DatanetPolicy {
	/// Every contribution is approved on submission.
	Open,
	/// Contributions wait for the datanet owner's review.
	Curated,
}

/// A datanet: a community dataset that models train on.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, MaxEncodedLen, TypeInfo)]
#[scale_info(skip_type_params(MaxMetadata))]
pub struct Datanet<AccountId, Balance, MaxMetadata: polkadot_sdk::sp_core::Get<u32>> {
	/// Who created it and reviews its contributions when it is curated.
	pub owner: AccountId,
	/// Open or curated.
	pub policy: DatanetPolicy,
	/// Free-form description (name, licence, schema), bounded.
	pub metadata: BoundedVec<u8, MaxMetadata>,
	/// How many of its contributions are approved now.
	pub approved: u32,
	/// The storage deposit held from the owner while the record exists.
	pub deposit: Balance,
}

/// One piece of data contributed to a datanet.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, MaxEncodedLen, TypeInfo)]
#[scale_info(skip_type_params(MaxMetadata))]
pub struct Contribution<AccountId, Balance, MaxMetadata: polkadot_sdk::sp_core::Get<u32>> {
	/// The datanet it belongs to.
	pub datanet: DatanetId,
	/// Who contributed it and is paid for it.
	pub contributor: AccountId,
	/// blake2-256 of the content; the content itself lives off chain.
	pub content_hash: H256,
	/// The content's size.
	pub size_bytes: u64,
	/// Free-form description, bounded.
	pub metadata: BoundedVec<u8, MaxMetadata>,
	/// Where it stands.
	pub status: ContributionStatus,
	/// The storage deposit held from the contributor while the record counts.
	pub deposit: Balance,
}

/// Whether a model takes new jobs.
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
pub enum ModelStatus {
	/// It takes jobs.
	Active,
	/// Its owner retired it: no new jobs; its history and edges stay.
	Retired,
}

/// A registered model.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, MaxEncodedLen, TypeInfo)]
#[scale_info(skip_type_params(MaxMetadata, MaxUri))]
pub struct Model<
	AccountId,
	Balance,
	MaxMetadata: polkadot_sdk::sp_core::Get<u32>,
	MaxUri: polkadot_sdk::sp_core::Get<u32>,
> {
	/// Who registered it and is paid its share.
	pub owner: AccountId,
	/// blake2-256 of the TorchScript artifact workers run.
	pub artifact_hash: H256,
	/// blake2-256 of its attribution index.
	pub attribution_index_hash: H256,
	/// Where workers fetch the artifact and index.
	pub uri: BoundedVec<u8, MaxUri>,
	/// Free-form description, bounded.
	pub metadata: BoundedVec<u8, MaxMetadata>,
	/// What one inference costs, before the compute fee.
	pub price_per_inference: Balance,
	/// Active or retired.
	pub status: ModelStatus,
	/// The model this one is a new version of, if any.
	pub previous_version: Option<ModelId>,
	/// The storage deposit held from the owner while the record exists (its
	/// edges in the attribution graph included).
	pub deposit: Balance,
}

/// A registered agent.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, MaxEncodedLen, TypeInfo)]
#[scale_info(skip_type_params(MaxMetadata))]
pub struct Agent<AccountId, Balance, MaxMetadata: polkadot_sdk::sp_core::Get<u32>> {
	/// Who registered it.
	pub owner: AccountId,
	/// Free-form description, bounded.
	pub metadata: BoundedVec<u8, MaxMetadata>,
	/// The storage deposit held from the owner while the record exists (its
	/// edges in the attribution graph included).
	pub deposit: Balance,
}
