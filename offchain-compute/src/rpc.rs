//! The fast path's JSON-RPC API, over HTTP and WebSocket on one port.
//!
//! | method               | params                     | result          |
//! |----------------------|----------------------------|-----------------|
//! | `tributary_info`     | none                       | [`Info`]        |
//! | `tributary_infer`    | [`InferRequest`]           | [`InferAnswer`] |
//! | `tributary_voucher`  | channel, [`SignedVoucher`] | [`ChannelStatus`] |
//! | `tributary_channel`  | channel                    | [`ChannelStatus`] |
//! | `tributary_answers`  | channel, after, nonce, signature | [`HandedBack`]s |
//!
//! A refused request is a JSON-RPC error whose code is
//! [`RequestError::code`] and whose message says why; a busy worker's error
//! carries `{"retryAfterMs": n}` as its data. Balances are decimal strings,
//! exact beyond JavaScript's safe integers; bytes are 0x-prefixed hex.

use crate::fastpath::{
	ChannelStatus, FastPath, HandedBack, InferAnswer, InferRequest, Info, RequestError,
	SignedVoucher,
};
use jsonrpsee::{
	core::{async_trait, RpcResult},
	proc_macros::rpc,
	server::{Server, ServerHandle},
	types::ErrorObjectOwned,
};
use polkadot_sdk::sp_core::Bytes;
use tributary_primitives::channels::ChannelId;

/// The most connections served at once.
const MAX_CONNECTIONS: u32 = 1_024;

/// The largest request body: a job's input limit with room for a voucher.
const MAX_REQUEST_BYTES: u32 = 64 * 1024;

/// The fast path's methods.
#[rpc(client, server, namespace = "tributary")]
pub trait FastPathApi {
	/// What the worker offers: its account, class, models and prices, the
	/// channel window and the input limit.
	#[method(name = "info")]
	fn info(&self) -> RpcResult<Info>;

	/// Runs a model on a channel; the answer comes with its signed receipt.
	#[method(name = "infer")]
	async fn infer(&self, request: InferRequest) -> RpcResult<InferAnswer>;

	/// Hands over a voucher without a request, to pay for the last answers.
	#[method(name = "voucher")]
	async fn voucher(&self, channel: ChannelId, voucher: SignedVoucher)
		-> RpcResult<ChannelStatus>;

	/// Where a channel stands for this worker: the last receipt signed, the
	/// last vouched for, the last settled.
	#[method(name = "channel")]
	async fn channel(&self, channel: ChannelId) -> RpcResult<ChannelStatus>;

	/// The answers after receipt `after`, for the channel's requester, who
	/// signs (`AnswersAuth`) with a fresh nonce: those it lost on their way.
	#[method(name = "answers")]
	async fn answers(
		&self,
		channel: ChannelId,
		after: u64,
		nonce: u64,
		signature: Bytes,
	) -> RpcResult<Vec<HandedBack>>;
}

#[async_trait]
impl FastPathApiServer for FastPath {
	fn info(&self) -> RpcResult<Info> {
		FastPath::info(self).map_err(error)
	}

	async fn infer(&self, request: InferRequest) -> RpcResult<InferAnswer> {
		FastPath::infer(self, request).await.map_err(error)
	}

	async fn voucher(
		&self,
		channel: ChannelId,
		voucher: SignedVoucher,
	) -> RpcResult<ChannelStatus> {
		FastPath::voucher(self, channel, voucher).await.map_err(error)
	}

	async fn channel(&self, channel: ChannelId) -> RpcResult<ChannelStatus> {
		FastPath::channel(self, channel).await.map_err(error)
	}

	async fn answers(
		&self,
		channel: ChannelId,
		after: u64,
		nonce: u64,
		signature: Bytes,
	) -> RpcResult<Vec<HandedBack>> {
		FastPath::answers(self, channel, after, nonce, signature).await.map_err(error)
	}
}

fn error(e: RequestError) -> ErrorObjectOwned {
	let data = match &e {
		RequestError::Busy { retry_after_ms } => {
			Some(serde_json::json!({ "retryAfterMs": retry_after_ms }))
		}
		_ => None,
	};
	ErrorObjectOwned::owned(e.code(), e.to_string(), data)
}

/// Serves `fast_path` on `addr` until the handle is stopped; the address
/// it listens on (a port of 0 picks a free one).
pub async fn serve(
	addr: std::net::SocketAddr,
	fast_path: FastPath,
) -> anyhow::Result<(std::net::SocketAddr, ServerHandle)> {
	let server = Server::builder()
		.max_connections(MAX_CONNECTIONS)
		.max_request_body_size(MAX_REQUEST_BYTES)
		.build(addr)
		.await
		.map_err(|e| anyhow::anyhow!("the fast path's address {addr} is not free: {e}"))?;
	let local = server.local_addr()?;
	Ok((local, server.start(fast_path.into_rpc())))
}
