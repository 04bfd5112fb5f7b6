//! The RPC methods the node adds to Substrate's standard set.

pub mod attribution;
pub mod channels;
pub mod compute;
pub mod rewards;

use attribution::AttributionRpcServer;
use channels::ChannelsRpcServer;
use compute::ComputeRpcServer;
use jsonrpsee::{types::ErrorObjectOwned, RpcModule};
use polkadot_sdk::{
	pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer},
	sc_transaction_pool_api::TransactionPool,
	sp_api::ProvideRuntimeApi,
	sp_block_builder::BlockBuilder,
	sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata},
	sp_runtime::traits::Block as BlockT,
	substrate_frame_rpc_system::{System, SystemApiServer},
};
use rewards::RewardsRpcServer;
use std::sync::Arc;
use tributary_runtime::{
	opaque::Block, AccountId, Balance, ComputeJob, ComputeWorker, Nonce, PaymentChannel,
};

/// What the RPC methods need from the node.
pub struct FullDeps<C, P> {
	/// The client, to call runtime APIs.
	pub client: Arc<C>,
	/// The transaction pool, for nonces that count pending transactions.
	pub pool: Arc<P>,
}

/// Builds the RPC module: `system_accountNextIndex`, `system_dryRun`,
/// `payment_queryInfo`/`payment_queryFeeDetails`, `attribution_*`, `channels_*`,
/// `compute_*` and `rewards_*` over the runtime's APIs.
pub fn create_full<C, P>(
	deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
	C: ProvideRuntimeApi<Block>
		+ HeaderBackend<Block>
		+ HeaderMetadata<Block, Error = BlockChainError>
		+ Send
		+ Sync
		+ 'static,
	C::Api: polkadot_sdk::substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>
		+ polkadot_sdk::pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>
		+ BlockBuilder<Block>
		+ tributary_primitives::api::AttributionApi<Block, AccountId, Balance>
		+ tributary_primitives::api::ComputeApi<Block, AccountId, Balance, ComputeJob, ComputeWorker>
		+ tributary_primitives::api::RewardsApi<Block, AccountId, Balance>
		+ tributary_primitives::api::ChannelsApi<Block, PaymentChannel>,
	P: TransactionPool + 'static,
{
	let mut module = RpcModule::new(());
	let FullDeps { client, pool } = deps;
	module.merge(System::new(client.clone(), pool).into_rpc())?;
	module.merge(TransactionPayment::new(client.clone()).into_rpc())?;
	module.merge(attribution::Attribution::new(client.clone()).into_rpc())?;
	module.merge(channels::Channels::new(client.clone()).into_rpc())?;
	module.merge(compute::Compute::new(client.clone()).into_rpc())?;
	module.merge(rewards::Rewards::new(client).into_rpc())?;
	Ok(module)
}

/// The block a query reads: `at`, or the best block.
fn best_or<B: BlockT, C: HeaderBackend<B>>(client: &C, at: Option<B::Hash>) -> B::Hash {
	at.unwrap_or_else(|| client.info().best_hash)
}

/// The error a failed runtime API call answers with.
fn runtime_error(e: impl std::fmt::Display) -> ErrorObjectOwned {
	ErrorObjectOwned::owned(1, format!("runtime API call failed: {e}"), None::<()>)
}
