//! `channels_*` RPC methods over the runtime's `ChannelsApi`.

use super::{best_or, runtime_error};
use jsonrpsee::{
	core::{async_trait, RpcResult},
	proc_macros::rpc,
};
use polkadot_sdk::{
	sp_api::ProvideRuntimeApi, sp_blockchain::HeaderBackend, sp_runtime::traits::Block as BlockT,
};
use std::sync::Arc;
use tributary_primitives::{api::ChannelsApi, ChannelId, Lookup};

/// `channels_*` methods for any JSON-RPC client, at the best block unless `at`
/// is given. polkadot.js reads the same data, typed, as
/// `api.call.channelsApi.*`.
#[rpc(server, namespace = "channels")]
pub trait ChannelsRpc<BlockHash, Channel> {
	/// A channel while it is open (its deposit and what was settled as
	/// decimal strings); the string "pruned" once it was closed; null for an
	/// id never given out.
	#[method(name = "channel")]
	fn channel(&self, channel_id: ChannelId, at: Option<BlockHash>) -> RpcResult<Lookup<Channel>>;
}

/// The server half of [`ChannelsRpcServer`].
pub struct Channels<C, B> {
	client: Arc<C>,
	_block: std::marker::PhantomData<B>,
}

impl<C, B> Channels<C, B> {
	/// Serves the methods from `client`'s runtime.
	pub fn new(client: Arc<C>) -> Self {
		Self { client, _block: Default::default() }
	}
}

#[async_trait]
impl<C, Block, Channel> ChannelsRpcServer<Block::Hash, Channel> for Channels<C, Block>
where
	Block: BlockT,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: ChannelsApi<Block, Channel>,
	Channel: codec::Codec + serde::Serialize + Send + Sync + 'static,
{
	fn channel(
		&self,
		channel_id: ChannelId,
		at: Option<Block::Hash>,
	) -> RpcResult<Lookup<Channel>> {
		let at = best_or(&*self.client, at);
		self.client.runtime_api().channel(at, channel_id).map_err(runtime_error)
	}
}
