//! What the registry offers other pallets: models and contributions.

use crate::{ContributionId, DatanetId, ModelId, SnapshotId};
use polkadot_sdk::sp_runtime::DispatchError;

/// Read access to registered models.
pub trait ModelProvider<AccountId, Balance> {
	/// The owner of `model`, if it is registered.
	fn owner(model: ModelId) -> Option<AccountId>;
	/// The price per inference of `model`, if it is registered and not retired.
	fn active_price(model: ModelId) -> Option<Balance>;
	/// Whether `model` is registered, retired or not (for parents and history).
	fn exists(model: ModelId) -> bool;
}

/// Read access to datanets and their contributions.
pub trait ContributionProvider<AccountId> {
	/// Whether `datanet` exists.
	fn datanet_exists(datanet: DatanetId) -> bool;
	/// The contributor and datanet of `contribution` while it is approved.
	fn approved(contribution: ContributionId) -> Option<(AccountId, DatanetId)>;
	/// The datanet of `contribution` while its record exists (pending or
	/// approved).
	fn datanet_of(contribution: ContributionId) -> Option<DatanetId>;
	/// Whether `contribution` existed and was withdrawn or rejected since: its
	/// record is gone. A result may still name it, since a model trained on it
	/// does not change when it is withdrawn; it earns nothing.
	fn removed(contribution: ContributionId) -> bool;
}

/// Told when a contribution starts or stops counting in its datanet, so
/// that its datanet's reward pool can let it earn from then on, or stop; and
/// asked for a training snapshot when a model is registered with a datanet.
pub trait ContributionHooks<AccountId> {
	/// A snapshot of `datanet`'s approved contributions, for a model being
	/// registered with it: the model's payments reach only its members. Fails
	/// when the datanet can take no more snapshots.
	fn snapshot(datanet: DatanetId) -> Result<SnapshotId, DispatchError>;
	/// `contribution` of `datanet` was approved.
	fn on_approved(contribution: ContributionId, datanet: DatanetId);
	/// `contribution` of `datanet`, approved until now, was withdrawn by `contributor`.
	fn on_withdrawn(contribution: ContributionId, datanet: DatanetId, contributor: &AccountId);
}

/// No pools: every model is trained on snapshot 1.
impl<AccountId> ContributionHooks<AccountId> for () {
	fn snapshot(_: DatanetId) -> Result<SnapshotId, DispatchError> {
		Ok(1)
	}
	fn on_approved(_: ContributionId, _: DatanetId) {}
	fn on_withdrawn(_: ContributionId, _: DatanetId, _: &AccountId) {}
}

/// Where a contribution stands.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	codec::Encode,
	codec::Decode,
	codec::DecodeWithMemTracking,
	codec::MaxEncodedLen,
	scale_info::TypeInfo,
	serde::Serialize,
	serde::Deserialize,
)]
#[serde(rename_all = "camelCase")]
pub enum ContributionStatus {
	/// Waiting for the curated datanet's owner.
	Pending,
	/// Counted in its datanet and eligible to earn.
	Approved,
}

/// A contribution as clients read it through the `AttributionApi`.
#[derive(
	Clone,
	PartialEq,
	Eq,
	Debug,
	codec::Encode,
	codec::Decode,
	scale_info::TypeInfo,
	serde::Serialize,
	serde::Deserialize,
)]
#[serde(
	rename_all = "camelCase",
	bound(
		serialize = "AccountId: serde::Serialize, Balance: core::fmt::Display",
		deserialize = "AccountId: serde::Deserialize<'de>, Balance: core::str::FromStr, \
		               Balance::Err: core::fmt::Display"
	)
)]
pub struct ContributionRecord<AccountId, Balance> {
	/// The datanet it belongs to.
	pub datanet_id: DatanetId,
	/// Who contributed it.
	pub contributor: AccountId,
	/// blake2-256 of the content.
	pub content_hash: crate::Hash,
	/// The content's size in bytes.
	pub size_bytes: u64,
	/// Where it stands.
	pub status: ContributionStatus,
	/// The storage deposit held while it counts.
	#[serde(with = "crate::decimal")]
	pub deposit: Balance,
}
