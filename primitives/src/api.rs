//! The runtime APIs clients and the node's RPC read Tributary through.

use crate::{
	Beneficiary, ChannelId, ContributionId, ContributionRecord, JobId, Lookup, ModelId, QueueInfo,
};
use alloc::vec::Vec;
use codec::Codec;
use polkadot_sdk::sp_runtime::Perbill;

polkadot_sdk::sp_api::decl_runtime_apis! {
	/// The attribution graph and the contributions it pays.
	pub trait AttributionApi<AccountId: Codec, Balance: Codec> {
		/// The flattened upstream shares of `model`: every ancestor model and
		/// datanet with its share of what the model earns. `None` for an
		/// unknown model.
		fn upstream_shares(model: ModelId) -> Option<Vec<(Beneficiary, Perbill)>>;

		/// The record of contribution `id` while it is pending or approved;
		/// `Pruned` once it was withdrawn or rejected, `Unknown` for an id
		/// never used.
		fn contribution(id: ContributionId) -> Lookup<ContributionRecord<AccountId, Balance>>;
	}
}

polkadot_sdk::sp_api::decl_runtime_apis! {
	/// The compute market: jobs, prices and workers.
	///
	/// `Job` and `Worker` are the records the compute and worker-staking
	/// pallets store, so clients decode exactly what is on chain.
	pub trait ComputeApi<AccountId: Codec, Balance: Codec, Job: Codec, Worker: Codec> {
		/// Job `job_id`, whatever its state; `Pruned` once its record was
		/// removed after the retention window, `Unknown` for an id never used.
		fn job(job_id: JobId) -> Lookup<Job>;

		/// What a job for `model` with `redundancy` workers (the default when
		/// `None`) costs now; `None` for an unknown or retired model or a
		/// redundancy out of bounds.
		fn quote(model: ModelId, redundancy: Option<u8>) -> Option<Balance>;

		/// The queue's depth and bound and the compute fee's congestion.
		fn queue() -> QueueInfo<Balance>;

		/// The record of worker `who`, if registered.
		fn worker(who: AccountId) -> Option<Worker>;

		/// The open jobs `who` is assigned to: what a worker reads after a
		/// restart to find its work.
		fn assignments(who: AccountId) -> Vec<JobId>;
	}
}

polkadot_sdk::sp_api::decl_runtime_apis! {
	/// What settlement has paid and what is left to claim.
	pub trait RewardsApi<AccountId: Codec, Balance: Codec> {
		/// What `who` may claim now with `claim()`; pool rewards of its
		/// contributions are added when it harvests them.
		fn claimable(who: AccountId) -> Balance;

		/// What contribution `id` has earned in all: by name in attributions
		/// and from its datanet's pool, claimed or not.
		fn contribution_earnings(id: ContributionId) -> Balance;

		/// What model `id`'s owner has earned through it, as the model that
		/// answered and as an ancestor of models that answered.
		fn model_earnings(id: ModelId) -> Balance;
	}
}

polkadot_sdk::sp_api::decl_runtime_apis! {
	/// The fast path's payment channels.
	///
	/// `Channel` is the record the channels pallet stores, so clients decode
	/// exactly what is on chain.
	pub trait ChannelsApi<Channel: Codec> {
		/// Channel `channel_id` while it is open: its requester and worker,
		/// its deposit, what was settled and the receipt chain's head at the
		/// last receipt settled, its expiry. `Pruned` once it was closed,
		/// `Unknown` for an id never given out.
		fn channel(channel_id: ChannelId) -> Lookup<Channel>;
	}
}
