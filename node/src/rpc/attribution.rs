//! `attribution_*` RPC methods over the runtime's `AttributionApi`.

use super::{best_or, runtime_error};
use jsonrpsee::{
	core::{async_trait, RpcResult},
	proc_macros::rpc,
};
use polkadot_sdk::{
	sp_api::ProvideRuntimeApi,
	sp_blockchain::HeaderBackend,
	sp_runtime::{traits::Block as BlockT, Perbill},
};
use std::sync::Arc;
use tributary_primitives::{
	api::AttributionApi, Balance, Beneficiary, ContributionId, ContributionRecord, Lookup, ModelId,
};

/// `attribution_*` methods for any JSON-RPC client, at the best block unless `at` is
/// given. polkadot.js reads the same data, typed, as `api.call.attributionApi.*`.
#[rpc(server, namespace = "attribution")]
pub trait AttributionRpc<BlockHash, AccountId> {
	/// A model's flattened upstream shares (parts per billion), or null for an
	/// unknown model.
	#[method(name = "upstreamShares")]
	fn upstream_shares(
		&self,
		model_id: ModelId,
		at: Option<BlockHash>,
	) -> RpcResult<Option<Vec<(Beneficiary, Perbill)>>>;

	/// A contribution's record while it is pending or approved; the string
	/// "pruned" once it was withdrawn or rejected; null for an id never used.
	#[method(name = "contribution")]
	fn contribution(
		&self,
		contribution_id: ContributionId,
		at: Option<BlockHash>,
	) -> RpcResult<Lookup<ContributionRecord<AccountId, Balance>>>;
}

/// The server half of [`AttributionRpcServer`].
pub struct Attribution<C, B> {
	client: Arc<C>,
	_block: std::marker::PhantomData<B>,
}

impl<C, B> Attribution<C, B> {
	/// Serves the methods from `client`'s runtime.
	pub fn new(client: Arc<C>) -> Self {
		Self { client, _block: Default::default() }
	}
}

#[async_trait]
impl<C, Block, AccountId> AttributionRpcServer<Block::Hash, AccountId> for Attribution<C, Block>
where
	Block: BlockT,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: AttributionApi<Block, AccountId, Balance>,
	AccountId: codec::Codec + serde::Serialize + Send + Sync + 'static,
{
	fn upstream_shares(
		&self,
		model_id: ModelId,
		at: Option<Block::Hash>,
	) -> RpcResult<Option<Vec<(Beneficiary, Perbill)>>> {
		let at = best_or(&*self.client, at);
		self.client.runtime_api().upstream_shares(at, model_id).map_err(runtime_error)
	}

	fn contribution(
		&self,
		contribution_id: ContributionId,
		at: Option<Block::Hash>,
	) -> RpcResult<Lookup<ContributionRecord<AccountId, Balance>>> {
		let at = best_or(&*self.client, at);
		self.client.runtime_api().contribution(at, contribution_id).map_err(runtime_error)
	}
}
