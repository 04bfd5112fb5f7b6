//! `rewards_*` RPC methods over the runtime's `RewardsApi`.

use super::{best_or, runtime_error};
use jsonrpsee::{
	core::{async_trait, RpcResult},
	proc_macros::rpc,
};
use polkadot_sdk::{
	sp_api::ProvideRuntimeApi, sp_blockchain::HeaderBackend, sp_runtime::traits::Block as BlockT,
};
use std::sync::Arc;
use tributary_primitives::{api::RewardsApi, ContributionId, ModelId};

/// `rewards_*` methods for any JSON-RPC client, at the best block unless `at` is
/// given. Balances are decimal strings, exact beyond JavaScript's safe
/// integers. polkadot.js reads the same data, typed, as `api.call.rewardsApi.*`.
#[rpc(client, server, namespace = "rewards")]
pub trait RewardsRpc<BlockHash, AccountId> {
	/// What an account may claim now.
	#[method(name = "claimable")]
	fn claimable(&self, who: AccountId, at: Option<BlockHash>) -> RpcResult<String>;

	/// What a contribution has earned in all.
	#[method(name = "contributionEarnings")]
	fn contribution_earnings(
		&self,
		contribution_id: ContributionId,
		at: Option<BlockHash>,
	) -> RpcResult<String>;

	/// What a model's owner has earned through it.
	#[method(name = "modelEarnings")]
	fn model_earnings(&self, model_id: ModelId, at: Option<BlockHash>) -> RpcResult<String>;
}

/// The server half of [`RewardsRpcServer`].
pub struct Rewards<C, B> {
	client: Arc<C>,
	_block: std::marker::PhantomData<B>,
}

impl<C, B> Rewards<C, B> {
	/// Serves the methods from `client`'s runtime.
	pub fn new(client: Arc<C>) -> Self {
		Self { client, _block: Default::default() }
	}
}

#[async_trait]
impl<C, Block, AccountId> RewardsRpcServer<Block::Hash, AccountId> for Rewards<C, Block>
where
	Block: BlockT,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: RewardsApi<Block, AccountId, u128>,
	AccountId: codec::Codec + serde::de::DeserializeOwned + Send + Sync + 'static,
{
	fn claimable(&self, who: AccountId, at: Option<Block::Hash>) -> RpcResult<String> {
		let at = best_or(&*self.client, at);
		self.client.runtime_api().claimable(at, who).map(|b| b.to_string()).map_err(runtime_error)
	}

	fn contribution_earnings(
		&self,
		contribution_id: ContributionId,
		at: Option<Block::Hash>,
	) -> RpcResult<String> {
		let at = best_or(&*self.client, at);
		let api = self.client.runtime_api();
		api.contribution_earnings(at, contribution_id).map(|b| b.to_string()).map_err(runtime_error)
	}

	fn model_earnings(&self, model_id: ModelId, at: Option<Block::Hash>) -> RpcResult<String> {
		let at = best_or(&*self.client, at);
		let api = self.client.runtime_api();
		api.model_earnings(at, model_id).map(|b| b.to_string()).map_err(runtime_error)
	}
}
