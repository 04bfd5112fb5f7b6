//! `compute_*` RPC methods over the runtime's `ComputeApi`.

use super::{best_or, runtime_error};
use jsonrpsee::{
	core::{async_trait, RpcResult},
	proc_macros::rpc,
};
use polkadot_sdk::{
	sp_api::ProvideRuntimeApi, sp_blockchain::HeaderBackend, sp_runtime::traits::Block as BlockT,
};
use std::sync::Arc;
use tributary_primitives::{api::ComputeApi, Balance, JobId, Lookup, ModelId, QueueInfo};

/// `compute_*` methods for any JSON-RPC client, at the best block unless `at` is
/// given. polkadot.js reads the same data, typed, as `api.call.computeApi.*`.
#[rpc(server, namespace = "compute")]
pub trait ComputeRpc<BlockHash, AccountId, Job, Worker> {
	/// A job, whatever its state; the string "pruned" once its record was
	/// removed after the retention window; null for an id never used.
	#[method(name = "job")]
	fn job(&self, job_id: JobId, at: Option<BlockHash>) -> RpcResult<Lookup<Job>>;

	/// What a job for `model_id` with `redundancy` workers (the default when
	/// null) costs now, as a decimal string, or null if the model takes no
	/// jobs. Every amount these methods return is a decimal string: exact
	/// beyond JavaScript's safe integers.
	#[method(name = "quote")]
	fn quote(
		&self,
		model_id: ModelId,
		redundancy: Option<u8>,
		at: Option<BlockHash>,
	) -> RpcResult<Option<String>>;

	/// The queue's depth and bound and the compute fee's congestion.
	#[method(name = "queue")]
	fn queue(&self, at: Option<BlockHash>) -> RpcResult<QueueInfo<Balance>>;

	/// A worker's record, or null if it is not registered.
	#[method(name = "worker")]
	fn worker(&self, worker: AccountId, at: Option<BlockHash>) -> RpcResult<Option<Worker>>;

	/// The open jobs a worker is assigned to.
	#[method(name = "assignments")]
	fn assignments(&self, worker: AccountId, at: Option<BlockHash>) -> RpcResult<Vec<JobId>>;
}

/// The server half of [`ComputeRpcServer`].
pub struct Compute<C, B> {
	client: Arc<C>,
	_block: std::marker::PhantomData<B>,
}

impl<C, B> Compute<C, B> {
	/// Serves the methods from `client`'s runtime.
	pub fn new(client: Arc<C>) -> Self {
		Self { client, _block: Default::default() }
	}
}

#[async_trait]
impl<C, Block, AccountId, Job, Worker> ComputeRpcServer<Block::Hash, AccountId, Job, Worker>
	for Compute<C, Block>
where
	Block: BlockT,
	C: ProvideRuntimeApi<Block> + HeaderBackend<Block> + Send + Sync + 'static,
	C::Api: ComputeApi<Block, AccountId, Balance, Job, Worker>,
	AccountId:
		codec::Codec + serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
	Job: codec::Codec + serde::Serialize + Send + Sync + 'static,
	Worker: codec::Codec + serde::Serialize + Send + Sync + 'static,
{
	fn job(&self, job_id: JobId, at: Option<Block::Hash>) -> RpcResult<Lookup<Job>> {
		let at = best_or(&*self.client, at);
		self.client.runtime_api().job(at, job_id).map_err(runtime_error)
	}

	fn quote(
		&self,
		model_id: ModelId,
		redundancy: Option<u8>,
		at: Option<Block::Hash>,
	) -> RpcResult<Option<String>> {
		let at = best_or(&*self.client, at);
		let quote = self.client.runtime_api().quote(at, model_id, redundancy);
		quote.map(|fee| fee.map(|fee| fee.to_string())).map_err(runtime_error)
	}

	fn queue(&self, at: Option<Block::Hash>) -> RpcResult<QueueInfo<Balance>> {
		let at = best_or(&*self.client, at);
		self.client.runtime_api().queue(at).map_err(runtime_error)
	}

	fn worker(&self, worker: AccountId, at: Option<Block::Hash>) -> RpcResult<Option<Worker>> {
		let at = best_or(&*self.client, at);
		self.client.runtime_api().worker(at, worker).map_err(runtime_error)
	}

	fn assignments(&self, worker: AccountId, at: Option<Block::Hash>) -> RpcResult<Vec<JobId>> {
		let at = best_or(&*self.client, at);
		self.client.runtime_api().assignments(at, worker).map_err(runtime_error)
	}
}
