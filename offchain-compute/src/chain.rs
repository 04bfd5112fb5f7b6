//! The chain client: subxt over WebSocket, typed from the runtime's metadata
//! (`metadata/tributary.scale`, checked in and compared with the runtime by a
//! test), and the few reads and writes the worker makes.

use crate::{
	executor::ModelFiles,
	journal::{AccountCall, Opening, Settlement, Step},
};
use subxt::{
	client::{ClientAtBlock, OnlineClientAtBlockImpl},
	config::{DefaultExtrinsicParamsBuilder, RpcConfigFor},
	rpcs::{methods::LegacyRpcMethods, RpcClient},
	utils::{AccountId32, H256},
	OnlineClient, PolkadotConfig,
};
use subxt_signer::sr25519::Keypair;
use tributary_primitives::{JobId, JobStatus, ModelId};

/// The Tributary runtime's types, calls, events, storage and runtime APIs.
#[subxt::subxt(
	runtime_metadata_path = "metadata/tributary.scale",
	derive_for_all_types = "Clone, PartialEq, Eq"
)]
pub mod runtime {}

use runtime::runtime_types::{
	bounded_collections::bounded_vec::BoundedVec,
	sp_arithmetic::per_things::Perbill,
	tributary_primitives::{
		compute::{JobStatus as ChainJobStatus, WorkerResult},
		lookup::Lookup,
	},
};

/// Tributary's transaction format is Polkadot's: `MultiAddress`,
/// `MultiSignature`, blake2-256, u32 block numbers.
pub type Config = PolkadotConfig;
/// The chain's state at one block.
pub type AtBlock = ClientAtBlock<Config, OnlineClientAtBlockImpl<Config>>;
/// A transaction signed and ready to send.
type Signed = subxt::transactions::SubmittableTransaction<Config, OnlineClientAtBlockImpl<Config>>;

/// Why a chain call failed. `Node` and `Refused` mean "the node is
/// unreachable, slow or refused": the caller backs off and retries.
/// `Incompatible` means retrying cannot help.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
	/// The node could not be reached or answered with an error.
	#[error("node: {0}")]
	Node(String),
	/// The node refused a transaction.
	#[error("transaction refused: {0}")]
	Refused(String),
	/// A call, storage item or runtime API this worker was built against is
	/// not the node's: the chain's runtime was upgraded past this build.
	#[error(
		"the node's runtime is not the one this worker was built for ({0}): \
		 upgrade tributary-worker"
	)]
	Incompatible(String),
}

/// A failure of the node or of talking to it, told apart from a runtime this
/// worker does not know (subxt checks every static call, storage item and
/// runtime API against the node's metadata before using it).
pub(crate) fn node(e: impl std::fmt::Display) -> ChainError {
	let message = e.to_string();
	if message.contains("not compatible with the live chain") {
		ChainError::Incompatible(message)
	} else {
		ChainError::Node(message)
	}
}

/// The chain's bounds on one settlement: receipts, and the distinct models
/// and contributions they may name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SettlementLimits {
	/// The most receipts.
	pub receipts: u32,
	/// The most distinct models.
	pub models: u32,
	/// The most distinct contributions named.
	pub contributions: u32,
}

/// A connection to one node.
#[derive(Clone)]
pub struct Chain {
	client: OnlineClient<Config>,
	rpc: LegacyRpcMethods<RpcConfigFor<Config>>,
}

/// A worker's slot in a job, as the chain holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
	/// Assigned, nothing submitted.
	Assigned,
	/// Committed to this commitment.
	Committed(H256),
	/// Revealed.
	Revealed,
	/// Not (or no longer) assigned: dropped after a missed window, declined,
	/// or never.
	Absent,
}

/// Batch `batch`'s receipts sampled and not yet opened, if it is `worker`'s
/// and any are left.
fn unopened(
	batch: u64,
	value: runtime::runtime_types::pallet_channels::Batch<AccountId32, u128, u32>,
	worker: &AccountId32,
) -> Option<Sampled> {
	let sampled = value.sampled.filter(|s| !s.0.is_empty() && value.worker == *worker)?;
	let sequences = sampled.0.iter().map(|i| value.first + u64::from(*i)).collect();
	Some(Sampled { batch, channel: value.channel, sequences })
}

/// What one block holds for a worker.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockNews {
	/// The jobs it assigned to the worker.
	pub assigned: Vec<JobId>,
	/// Whether models were registered or retired in it.
	pub models_changed: bool,
	/// The worker's settlements it sampled for audits.
	pub sampled: Vec<Sampled>,
}

/// A settlement of the worker's, sampled for audits: each sampled receipt
/// must be opened within the challenge window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sampled {
	/// The settlement's batch.
	pub batch: u64,
	/// Its channel.
	pub channel: u64,
	/// The sampled receipts' sequence numbers (those not yet opened, when
	/// read from storage).
	pub sequences: Vec<u64>,
}

/// A registered model as the worker needs to see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredModel {
	/// Its files.
	pub files: ModelFiles,
	/// The base URL its files are served under (see [`crate::fetch`]).
	pub uri: String,
	/// What one answer costs, in units.
	pub price: u128,
}

type ChainModel = runtime::runtime_types::pallet_registry::types::Model<AccountId32, u128>;

impl RegisteredModel {
	fn new(model_id: ModelId, model: &ChainModel) -> Self {
		RegisteredModel {
			files: ModelFiles {
				model_id,
				artifact: model.artifact_hash.0.into(),
				index: model.attribution_index_hash.0.into(),
			},
			uri: String::from_utf8_lossy(&model.uri.0).into_owned(),
			price: model.price_per_inference,
		}
	}
}

/// A payment channel as the worker needs to see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelView {
	/// Who pays and signs the vouchers.
	pub requester: AccountId32,
	/// Who answers.
	pub worker: AccountId32,
	/// Everything put in, in units.
	pub deposit: u128,
	/// What was settled, in units.
	pub settled: u128,
	/// The last receipt settled.
	pub sequence: u64,
	/// The receipt chain's head there.
	pub receipts: H256,
	/// From this block the requester may close it.
	pub expiry: u32,
}

impl ChannelView {
	/// Where the receipt chain stands as far as the chain settled it.
	pub fn settled_tip(&self) -> crate::ledger::Tip {
		crate::ledger::Tip { sequence: self.sequence, head: self.receipts, total: self.settled }
	}
}

/// A worker's record on chain, as the worker and its operator see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerView {
	/// Active stake, in units.
	pub stake: u128,
	/// Stake unbonding, in units.
	pub unbonding: u128,
	/// The engine it registered.
	pub engine: String,
	/// Its determinism class.
	pub class: H256,
	/// The models it declared, ascending.
	pub models: Vec<ModelId>,
	/// Jobs it runs at once.
	pub capacity: u32,
	/// Jobs it is assigned to now.
	pub open_jobs: u32,
	/// Its reputation.
	pub reputation: u32,
	/// Deregistered and leaving.
	pub leaving: bool,
}

/// A job as the worker needs to see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobView {
	/// Its model.
	pub model_id: ModelId,
	/// Its input.
	pub input: Vec<u8>,
	/// Where it stands.
	pub status: JobStatus,
	/// This worker's slot.
	pub slot: Slot,
	/// The block at which its current window closes.
	pub deadline: Option<u32>,
}

impl JobView {
	/// Whether the job waits for this worker's commitment: assigned and
	/// not committed, while the job takes commitments (or waits, queued,
	/// for another worker's replacement).
	pub fn awaits_commitment(&self) -> bool {
		self.slot == Slot::Assigned
			&& matches!(self.status, JobStatus::Committing | JobStatus::Queued)
	}
}

impl Chain {
	/// Connects to the node at `url` (`ws://…`).
	pub async fn connect(url: &str) -> Result<Self, ChainError> {
		let rpc = RpcClient::from_insecure_url(url).await.map_err(node)?;
		let client = OnlineClient::<Config>::from_rpc_client(rpc.clone()).await.map_err(node)?;
		Ok(Chain { client, rpc: LegacyRpcMethods::new(rpc) })
	}

	/// Connects to the first of `urls` that answers, trying them in order;
	/// the error is the last one's.
	pub async fn connect_any(urls: &[String]) -> Result<Self, ChainError> {
		let mut last = ChainError::Node("no node to connect to".into());
		for url in urls {
			match Chain::connect(url).await {
				Ok(chain) => return Ok(chain),
				Err(e) => last = e,
			}
		}
		Err(last)
	}

	/// The client, for streams of blocks and custom reads.
	pub fn client(&self) -> &OnlineClient<Config> {
		&self.client
	}

	/// The chain at the newest finalized block.
	pub async fn at_finalized(&self) -> Result<AtBlock, ChainError> {
		let hash = self.rpc.chain_get_finalized_head().await.map_err(node)?;
		self.client.at_block(hash).await.map_err(node)
	}

	/// The chain at the best block now.
	pub async fn at_best(&self) -> Result<AtBlock, ChainError> {
		let hash = self
			.rpc
			.chain_get_block_hash(None)
			.await
			.map_err(node)?
			.ok_or_else(|| node("the node has no best block"))?;
		self.client.at_block(hash).await.map_err(node)
	}

	/// Job `job_id` as `worker` sees it, at `at`.
	pub async fn job(
		&self,
		at: &AtBlock,
		job_id: JobId,
		worker: &AccountId32,
	) -> Result<Option<JobView>, ChainError> {
		let call = runtime::runtime_apis().compute_api().job(job_id);
		let Lookup::Found(job) = at.runtime_apis().call(call).await.map_err(node)? else {
			// Unknown, or finished and pruned: nothing for the worker to do.
			return Ok(None);
		};
		let slot = job
			.workers
			.0
			.iter()
			.filter(|(who, result)| {
				who == worker && !matches!(result, WorkerResult::Dropped | WorkerResult::Declined)
			})
			.map(|(_, result)| match result {
				WorkerResult::Assigned => Slot::Assigned,
				WorkerResult::Committed(c) => Slot::Committed(*c),
				WorkerResult::Revealed { .. } => Slot::Revealed,
				WorkerResult::Dropped | WorkerResult::Declined => Slot::Absent,
			})
			.next()
			.unwrap_or(Slot::Absent);
		let status = match job.status {
			ChainJobStatus::Queued => JobStatus::Queued,
			ChainJobStatus::Committing => JobStatus::Committing,
			ChainJobStatus::Revealing => JobStatus::Revealing,
			ChainJobStatus::Completed => JobStatus::Completed,
			ChainJobStatus::Failed => JobStatus::Failed,
			ChainJobStatus::Cancelled => JobStatus::Cancelled,
		};
		Ok(Some(JobView {
			model_id: job.model_id,
			input: job.input.0,
			status,
			slot,
			deadline: job.deadline,
		}))
	}

	/// The open jobs `worker` is assigned to, at `at`.
	pub async fn assignments(
		&self,
		at: &AtBlock,
		worker: &AccountId32,
	) -> Result<Vec<JobId>, ChainError> {
		let call = runtime::runtime_apis().compute_api().assignments(worker.clone());
		at.runtime_apis().call(call).await.map_err(node)
	}

	/// What the block `at` holds for `worker`: the jobs it assigned to it
	/// (new or replacement draws), and whether models were registered or
	/// retired.
	pub async fn block_news(
		&self,
		at: &AtBlock,
		worker: &AccountId32,
	) -> Result<BlockNews, ChainError> {
		use runtime::{
			channels::events::AuditSampled,
			compute::events::JobAssigned,
			registry::events::{ModelRegistered, ModelRetired, ModelVersionPublished},
		};
		let events = at.events().fetch().await.map_err(node)?;
		let mut news = BlockNews::default();
		for event in events.find::<JobAssigned>() {
			let event = event.map_err(node)?;
			if event.workers.contains(worker) {
				news.assigned.push(event.job_id);
			}
		}
		for event in events.find::<AuditSampled>() {
			let event = event.map_err(node)?;
			if event.worker == *worker && !event.sequences.is_empty() {
				news.sampled.push(Sampled {
					batch: event.batch_id,
					channel: event.channel_id,
					sequences: event.sequences,
				});
			}
		}
		news.models_changed = events.has::<ModelRegistered>()
			|| events.has::<ModelVersionPublished>()
			|| events.has::<ModelRetired>();
		Ok(news)
	}

	/// Every model that takes jobs at `at`, with its files.
	pub async fn active_models(&self, at: &AtBlock) -> Result<Vec<RegisteredModel>, ChainError> {
		use runtime::runtime_types::pallet_registry::types::ModelStatus;
		let entry = at.storage().entry(runtime::storage().registry().models()).map_err(node)?;
		let mut all = entry.iter(()).await.map_err(node)?;
		let mut found = Vec::new();
		while let Some(item) = all.next().await {
			let item = item.map_err(node)?;
			let (model_id,) = item.key().map_err(node)?.decode().map_err(node)?;
			let model = item.value().decode().map_err(node)?;
			if model.status == ModelStatus::Active {
				found.push(RegisteredModel::new(model_id, &model));
			}
		}
		found.sort_by_key(|m| m.files.model_id);
		Ok(found)
	}

	/// `who`'s worker record at `at`, or `None` if it is not registered.
	pub async fn worker(
		&self,
		at: &AtBlock,
		who: &AccountId32,
	) -> Result<Option<WorkerView>, ChainError> {
		let call = runtime::runtime_apis().compute_api().worker(who.clone());
		let record = at.runtime_apis().call(call).await.map_err(node)?;
		Ok(record.map(|w| WorkerView {
			stake: w.stake,
			unbonding: w.unbonding.0.iter().map(|c| c.amount).sum(),
			engine: String::from_utf8_lossy(&w.engine.0).into_owned(),
			class: w.class,
			models: w.models.0,
			capacity: w.capacity,
			open_jobs: w.open_jobs,
			reputation: w.reputation,
			leaving: w.leaving,
		}))
	}

	/// `who`'s address as this chain writes it (its SS58 prefix).
	pub fn address(&self, at: &AtBlock, who: &AccountId32) -> Result<String, ChainError> {
		use polkadot_sdk::sp_core::crypto::{Ss58AddressFormat, Ss58Codec};
		let prefix =
			at.constants().entry(runtime::constants().system().ss58_prefix()).map_err(node)?;
		Ok(polkadot_sdk::sp_core::crypto::AccountId32::from(who.0)
			.to_ss58check_with_version(Ss58AddressFormat::custom(prefix)))
	}

	/// What `who` can claim from the rewards pallet at `at`.
	pub async fn claimable(&self, at: &AtBlock, who: &AccountId32) -> Result<u128, ChainError> {
		let call = runtime::runtime_apis().rewards_api().claimable(who.clone());
		at.runtime_apis().call(call).await.map_err(node)
	}

	/// Model `model_id`'s files and where they are served, at `at`.
	pub async fn model(
		&self,
		at: &AtBlock,
		model_id: ModelId,
	) -> Result<Option<RegisteredModel>, ChainError> {
		let entry = at.storage().entry(runtime::storage().registry().models()).map_err(node)?;
		let value = entry.try_fetch((model_id,)).await.map_err(node)?;
		let Some(value) = value else { return Ok(None) };
		let model = value.decode().map_err(node)?;
		Ok(Some(RegisteredModel::new(model_id, &model)))
	}

	/// Payment channel `channel_id` at `at`, unless it is closed or unknown.
	pub async fn channel(
		&self,
		at: &AtBlock,
		channel_id: u64,
	) -> Result<Option<ChannelView>, ChainError> {
		let entry = at.storage().entry(runtime::storage().channels().channels()).map_err(node)?;
		let Some(value) = entry.try_fetch((channel_id,)).await.map_err(node)? else {
			return Ok(None);
		};
		let c = value.decode().map_err(node)?;
		Ok(Some(ChannelView {
			requester: c.requester,
			worker: c.worker,
			deposit: c.deposit,
			settled: c.settled,
			sequence: c.sequence,
			receipts: c.receipts,
			expiry: c.expiry,
		}))
	}

	/// The longest input a job (and so a fast-path request) may have.
	pub fn max_input_len(&self, at: &AtBlock) -> Result<u32, ChainError> {
		at.constants().entry(runtime::constants().compute().max_input_len()).map_err(node)
	}

	/// What one settlement may carry.
	pub fn settlement_limits(&self, at: &AtBlock) -> Result<SettlementLimits, ChainError> {
		let channels = runtime::constants().channels();
		let constants = at.constants();
		Ok(SettlementLimits {
			receipts: constants.entry(channels.max_receipts()).map_err(node)?,
			models: constants.entry(channels.max_settled_models()).map_err(node)?,
			contributions: constants.entry(channels.max_settled_contributions()).map_err(node)?,
		})
	}

	/// How many blocks after a settlement its receipts may be audited.
	pub fn challenge_window(&self, at: &AtBlock) -> Result<u32, ChainError> {
		at.constants().entry(runtime::constants().channels().challenge_window()).map_err(node)
	}

	/// The worker's settlements with sampled receipts not yet opened, read
	/// from storage: among `batches` when given (the batches it knows were
	/// sampled), else among every batch the chain keeps (after blocks whose
	/// events were not read).
	pub async fn sampled_batches(
		&self,
		at: &AtBlock,
		worker: &AccountId32,
		batches: Option<&[u64]>,
	) -> Result<Vec<Sampled>, ChainError> {
		let entry = at.storage().entry(runtime::storage().channels().batches()).map_err(node)?;
		let mut found = Vec::new();
		let Some(batches) = batches else {
			let mut all = entry.iter(()).await.map_err(node)?;
			while let Some(item) = all.next().await {
				let item = item.map_err(node)?;
				let (batch,) = item.key().map_err(node)?.decode().map_err(node)?;
				found.extend(unopened(batch, item.value().decode().map_err(node)?, worker));
			}
			return Ok(found);
		};
		for &batch in batches {
			if let Some(value) = entry.try_fetch((batch,)).await.map_err(node)? {
				found.extend(unopened(batch, value.decode().map_err(node)?, worker));
			}
		}
		Ok(found)
	}

	/// `who`'s account nonce in the state at `at`: the nonce of its next
	/// transaction to be included.
	pub async fn account_nonce(&self, at: &AtBlock, who: &AccountId32) -> Result<u64, ChainError> {
		at.transactions().account_nonce(who).await.map_err(node)
	}

	/// `who`'s next nonce counting the transactions waiting in the node's
	/// pool: where a gap in the worker's nonces shows.
	pub async fn pool_nonce(&self, who: &AccountId32) -> Result<u64, ChainError> {
		self.rpc.system_account_next_index(who).await.map_err(node)
	}

	/// Signs `call` with `signer` under `nonce`, offline, mortal for 64
	/// blocks from `at`.
	fn sign(
		&self,
		at: &AtBlock,
		signer: &Keypair,
		nonce: u64,
		call: Call,
	) -> Result<Signed, ChainError> {
		let params = DefaultExtrinsicParamsBuilder::<Config>::new()
			.nonce(nonce)
			.mortal_from_unchecked(64, at.block_number(), at.block_hash())
			.build();
		let txs = at.transactions();
		let tx = runtime::transactions();
		match call {
			Call::Commit { job_id, commitment } => txs
				.create_signable_offline(&tx.compute().commit_result(job_id, commitment), params)
				.and_then(|mut signable| signable.sign(signer)),
			Call::Reveal { job_id, output, attribution, salt } => txs
				.create_signable_offline(
					&tx.compute().reveal_result(
						job_id,
						BoundedVec(output),
						BoundedVec(attribution.into_iter().map(|(c, p)| (c, Perbill(p))).collect()),
						salt,
					),
					params,
				)
				.and_then(|mut signable| signable.sign(signer)),
			Call::Decline { job_id } => txs
				.create_signable_offline(&tx.compute().decline_job(job_id), params)
				.and_then(|mut signable| signable.sign(signer)),
			Call::Account(AccountCall::ServeModels(models)) => txs
				.create_signable_offline(
					&tx.worker_staking().serve_models(BoundedVec(models)),
					params,
				)
				.and_then(|mut signable| signable.sign(signer)),
			Call::Account(AccountCall::SetCapacity(capacity)) => txs
				.create_signable_offline(&tx.worker_staking().set_capacity(capacity), params)
				.and_then(|mut signable| signable.sign(signer)),
			Call::Account(AccountCall::Claim) => txs
				.create_signable_offline(&tx.rewards().claim(), params)
				.and_then(|mut signable| signable.sign(signer)),
			Call::Account(AccountCall::Deregister) => txs
				.create_signable_offline(&tx.worker_staking().deregister(), params)
				.and_then(|mut signable| signable.sign(signer)),
			Call::Account(AccountCall::Settle(settlement)) => txs
				.create_signable_offline(&settle_call(&settlement)?, params)
				.and_then(|mut signable| signable.sign(signer)),
			Call::Account(AccountCall::OpenAudit(opening)) => txs
				.create_signable_offline(&open_audit_call(&opening)?, params)
				.and_then(|mut signable| signable.sign(signer)),
			Call::Filler => txs
				.create_signable_offline(
					&tx.system().remark(b"tributary-worker: nonce filler".to_vec()),
					params,
				)
				.and_then(|mut signable| signable.sign(signer)),
		}
		.map_err(node)
	}

	/// Signs `call` under `nonce` and hands it to the node's pool, without
	/// waiting for inclusion: the node answers once it has validated it.
	pub async fn submit(
		&self,
		at: &AtBlock,
		signer: &Keypair,
		nonce: u64,
		call: Call,
	) -> Result<H256, ChainError> {
		let signed = self.sign(at, signer, nonce, call)?;
		self.rpc.author_submit_extrinsic(signed.encoded()).await.map_err(|e| match e {
			subxt::rpcs::Error::User(e) => ChainError::Refused(e.to_string()),
			other => node(other),
		})
	}

	/// Signs `call` under `nonce`, submits it and waits until it is final;
	/// its events, or why it failed (the dispatch error named).
	pub async fn submit_and_watch(
		&self,
		at: &AtBlock,
		signer: &Keypair,
		nonce: u64,
		call: Call,
	) -> Result<subxt::extrinsics::ExtrinsicEvents<Config>, ChainError> {
		let refused = |e: &dyn std::fmt::Display| ChainError::Refused(e.to_string());
		self.sign(at, signer, nonce, call)?
			.submit_and_watch()
			.await
			.map_err(|e| refused(&e))?
			.wait_for_finalized_success()
			.await
			.map_err(|e| refused(&e))
	}
}

/// `channels.settle` with the settlement's voucher, signature and receipts,
/// decoded from the SCALE the fast path journaled.
fn settle_call(
	settlement: &Settlement,
) -> Result<subxt::transactions::StaticPayload<runtime::channels::calls::Settle>, ChainError> {
	use runtime::runtime_types::{
		sp_runtime::MultiSignature as ChainSignature, tributary_primitives::channels,
	};
	use subxt::ext::codec::Decode;
	let corrupt =
		|what: &str| ChainError::Node(format!("a journaled settlement's {what} is corrupt"));
	let bytes = |hex_text: &str, what: &str| hex::decode(hex_text).map_err(|_| corrupt(what));
	let voucher = tributary_primitives::channels::Voucher::<u128>::decode(
		&mut &bytes(&settlement.voucher, "voucher")?[..],
	)
	.map_err(|_| corrupt("voucher"))?;
	let signature = polkadot_sdk::sp_runtime::MultiSignature::decode(
		&mut &bytes(&settlement.signature, "signature")?[..],
	)
	.map_err(|_| corrupt("signature"))?;
	let signature = match signature {
		polkadot_sdk::sp_runtime::MultiSignature::Sr25519(s) => ChainSignature::Sr25519(s.0),
		polkadot_sdk::sp_runtime::MultiSignature::Ed25519(s) => ChainSignature::Ed25519(s.0),
		polkadot_sdk::sp_runtime::MultiSignature::Ecdsa(s) => ChainSignature::Ecdsa(s.0),
		polkadot_sdk::sp_runtime::MultiSignature::Eth(s) => ChainSignature::Eth(s.0),
	};
	let receipts = settlement
		.receipts
		.iter()
		.map(|r| chain_receipt(&bytes(r, "receipt")?).ok_or_else(|| corrupt("receipt")))
		.collect::<Result<Vec<_>, ChainError>>()?;
	Ok(runtime::transactions().channels().settle(
		settlement.channel,
		channels::Voucher {
			channel: voucher.channel,
			sequence: voucher.sequence,
			total: voucher.total,
			receipts: voucher.receipts,
		},
		signature,
		BoundedVec(receipts),
	))
}

/// The chain's type of a receipt the fast path encoded, or `None` when the
/// bytes are not one.
fn chain_receipt(
	encoded: &[u8],
) -> Option<runtime::runtime_types::tributary_primitives::channels::Receipt<AccountId32, u128>> {
	use subxt::ext::codec::Decode;
	let r = crate::fastpath::WorkerReceipt::decode(&mut &encoded[..]).ok()?;
	Some(runtime::runtime_types::tributary_primitives::channels::Receipt {
		channel: r.channel,
		sequence: r.sequence,
		model: r.model,
		artifact: r.artifact,
		input_hash: r.input_hash,
		output_hash: r.output_hash,
		attribution: BoundedVec(
			r.attribution.iter().map(|(c, p)| (*c, Perbill(p.deconstruct()))).collect(),
		),
		class: r.class,
		price: r.price,
		worker: AccountId32(r.worker),
	})
}

/// `channels.open_audit` with the opening's receipt and input.
fn open_audit_call(
	opening: &Opening,
) -> Result<subxt::transactions::StaticPayload<runtime::channels::calls::OpenAudit>, ChainError> {
	let corrupt = |what: &str| ChainError::Node(format!("a journaled opening's {what} is corrupt"));
	let receipt = hex::decode(&opening.receipt)
		.ok()
		.and_then(|bytes| chain_receipt(&bytes))
		.ok_or_else(|| corrupt("receipt"))?;
	let input = hex::decode(&opening.input).map_err(|_| corrupt("input"))?;
	Ok(runtime::transactions().channels().open_audit(
		opening.batch,
		opening.sequence,
		receipt,
		BoundedVec(input),
	))
}

/// A contribution the model factory may train on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApprovedContribution {
	/// Its id.
	pub id: tributary_primitives::ContributionId,
	/// Its datanet.
	pub datanet: tributary_primitives::DatanetId,
	/// blake2-256 of its content.
	pub content_hash: tributary_primitives::Hash,
}

/// What the chain says of a contribution a model's index credits, for the
/// worker checking that index (see [`crate::verify`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreditedContribution {
	/// No contribution ever had this id.
	Unknown,
	/// Withdrawn or rejected: its record, content hash included, is gone,
	/// and whatever an answer credits it goes to the model's pools.
	Removed,
	/// Pending or approved.
	Found {
		/// Its datanet.
		datanet: tributary_primitives::DatanetId,
		/// blake2-256 of its content.
		content_hash: tributary_primitives::Hash,
		/// The first snapshot of its datanet it is a member of, while it is
		/// approved; `None` while pending.
		joined: Option<tributary_primitives::SnapshotId>,
	},
}

/// What `register_model` takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelRegistration {
	/// blake2-256 of the TorchScript module.
	pub artifact_hash: tributary_primitives::Hash,
	/// blake2-256 of the attribution index.
	pub index_hash: tributary_primitives::Hash,
	/// Where the files can be fetched.
	pub uri: Vec<u8>,
	/// Free-form metadata (the card, as JSON).
	pub metadata: Vec<u8>,
	/// Training datanets and their shares, in parts per billion.
	pub training: Vec<(tributary_primitives::DatanetId, u32)>,
	/// Parent models and their shares, in parts per billion.
	pub parents: Vec<(ModelId, u32)>,
	/// Price per inference, in units.
	pub price: u128,
}

impl Chain {
	/// The approved contributions of `datanets`, by id.
	pub async fn approved_contributions(
		&self,
		at: &AtBlock,
		datanets: &[tributary_primitives::DatanetId],
	) -> Result<Vec<ApprovedContribution>, ChainError> {
		use runtime::runtime_types::tributary_primitives::registry::ContributionStatus;
		let entry =
			at.storage().entry(runtime::storage().registry().contributions()).map_err(node)?;
		let mut all = entry.iter(()).await.map_err(node)?;
		let mut found = Vec::new();
		while let Some(item) = all.next().await {
			let item = item.map_err(node)?;
			let (id,) = item.key().map_err(node)?.decode().map_err(node)?;
			let c = item.value().decode().map_err(node)?;
			if c.status == ContributionStatus::Approved && datanets.contains(&c.datanet) {
				found.push(ApprovedContribution {
					id,
					datanet: c.datanet,
					content_hash: c.content_hash.0.into(),
				});
			}
		}
		found.sort_by_key(|c| c.id);
		Ok(found)
	}

	/// Contribution `id` as a model's index check needs it, at `at`.
	pub async fn credited_contribution(
		&self,
		at: &AtBlock,
		id: tributary_primitives::ContributionId,
	) -> Result<CreditedContribution, ChainError> {
		let call = runtime::runtime_apis().attribution_api().contribution(id);
		let record = match at.runtime_apis().call(call).await.map_err(node)? {
			Lookup::Unknown => return Ok(CreditedContribution::Unknown),
			Lookup::Pruned => return Ok(CreditedContribution::Removed),
			Lookup::Found(record) => record,
		};
		let entry = at.storage().entry(runtime::storage().rewards().memberships()).map_err(node)?;
		let joined = match entry.try_fetch((id,)).await.map_err(node)? {
			Some(value) => Some(value.decode().map_err(node)?.join),
			None => None,
		};
		Ok(CreditedContribution::Found {
			datanet: record.datanet_id,
			content_hash: record.content_hash.0.into(),
			joined,
		})
	}

	/// The datanets model `model_id` was trained on, each with the snapshot
	/// of its contributions the model's payments reach, at `at`.
	pub async fn training_snapshots(
		&self,
		at: &AtBlock,
		model_id: ModelId,
	) -> Result<Vec<(tributary_primitives::DatanetId, tributary_primitives::SnapshotId)>, ChainError>
	{
		let entry =
			at.storage().entry(runtime::storage().attribution().training_edges()).map_err(node)?;
		let Some(value) = entry.try_fetch((model_id,)).await.map_err(node)? else {
			return Ok(Vec::new());
		};
		Ok(value.decode().map_err(node)?.0.into_iter().map(|(d, s, _)| (d, s)).collect())
	}

	/// Registers `signer` as a worker and waits until a block includes it.
	pub async fn register_worker(
		&self,
		signer: &Keypair,
		stake: u128,
		endpoint: &str,
		capacity: u32,
		engine: &str,
	) -> Result<(), ChainError> {
		let call = runtime::transactions().worker_staking().register_worker(
			stake,
			BoundedVec(endpoint.as_bytes().to_vec()),
			capacity,
			BoundedVec(engine.as_bytes().to_vec()),
		);
		self.submit_and_wait(&call, signer).await.map(drop)
	}

	/// Registers a model and waits until a block includes it; its new id.
	pub async fn register_model(
		&self,
		signer: &Keypair,
		model: ModelRegistration,
	) -> Result<ModelId, ChainError> {
		let call = runtime::transactions().registry().register_model(
			model.artifact_hash.0.into(),
			model.index_hash.0.into(),
			BoundedVec(model.uri),
			BoundedVec(model.metadata),
			BoundedVec(model.training.into_iter().map(|(d, p)| (d, Perbill(p))).collect()),
			BoundedVec(model.parents.into_iter().map(|(m, p)| (m, Perbill(p))).collect()),
			model.price,
		);
		let events = self.submit_and_wait(&call, signer).await?;
		events
			.find_first::<runtime::registry::events::ModelRegistered>()
			.ok_or_else(|| node("no ModelRegistered event"))?
			.map(|e| e.model_id)
			.map_err(node)
	}

	/// Opens a payment channel from `signer` to `worker` and waits until a
	/// block includes it; its id.
	pub async fn open_channel(
		&self,
		signer: &Keypair,
		worker: &AccountId32,
		deposit: u128,
		expiry: u32,
	) -> Result<u64, ChainError> {
		let call = runtime::transactions().channels().open_channel(worker.clone(), deposit, expiry);
		let events = self.submit_and_wait(&call, signer).await?;
		events
			.find_first::<runtime::channels::events::ChannelOpened>()
			.ok_or_else(|| node("no ChannelOpened event"))?
			.map(|e| e.channel_id)
			.map_err(node)
	}

	/// The registered workers that declare `model` and name an endpoint,
	/// with it; leaving ones left out.
	pub async fn workers_serving(
		&self,
		at: &AtBlock,
		model: ModelId,
	) -> Result<Vec<(AccountId32, String)>, ChainError> {
		let entry =
			at.storage().entry(runtime::storage().worker_staking().workers()).map_err(node)?;
		let mut all = entry.iter(()).await.map_err(node)?;
		let mut found = Vec::new();
		while let Some(item) = all.next().await {
			let item = item.map_err(node)?;
			let (who,) = item.key().map_err(node)?.decode().map_err(node)?;
			let w = item.value().decode().map_err(node)?;
			if !w.leaving && w.models.0.contains(&model) && !w.endpoint.0.is_empty() {
				found.push((who, String::from_utf8_lossy(&w.endpoint.0).into_owned()));
			}
		}
		Ok(found)
	}

	async fn submit_and_wait<C: subxt::transactions::Payload>(
		&self,
		call: &C,
		signer: &Keypair,
	) -> Result<subxt::extrinsics::ExtrinsicEvents<Config>, ChainError> {
		let at = self.at_best().await?;
		at.transactions()
			.sign_and_submit_then_watch_default(call, signer)
			.await
			.map_err(|e| ChainError::Refused(e.to_string()))?
			.wait_for_finalized_success()
			.await
			.map_err(|e| ChainError::Refused(e.to_string()))
	}
}

/// A call the worker signs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
	/// `compute.commit_result(job_id, commitment)`.
	Commit {
		/// The job.
		job_id: JobId,
		/// The commitment.
		commitment: H256,
	},
	/// `compute.reveal_result(job_id, output, attribution, salt)`.
	Reveal {
		/// The job.
		job_id: JobId,
		/// The output bytes.
		output: Vec<u8>,
		/// The attribution: contribution ids and parts per billion.
		attribution: Vec<(u64, u32)>,
		/// The salt.
		salt: [u8; 32],
	},
	/// `compute.decline_job(job_id)`: this worker cannot run the job.
	Decline {
		/// The job.
		job_id: JobId,
	},
	/// A call for the worker's account, not for a job.
	Account(AccountCall),
	/// `system.remark`, to use up a nonce whose step is no longer wanted.
	Filler,
}

impl Call {
	/// The journal's name for what it does.
	pub fn step(&self) -> Step {
		match self {
			Call::Commit { .. } => Step::Commit,
			Call::Reveal { .. } => Step::Reveal,
			Call::Decline { .. } => Step::Decline,
			Call::Account(call) => call.step(),
			Call::Filler => Step::Filler,
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_runtime_this_worker_predates_is_told_apart_from_a_node_failure() {
		for incompatible in [
			subxt::error::StorageError::IncompatibleCodegen.to_string(),
			subxt::error::RuntimeApiError::IncompatibleCodegen.to_string(),
			subxt::error::ExtrinsicError::IncompatibleCodegen.to_string(),
		] {
			assert!(matches!(node(&incompatible), ChainError::Incompatible(_)), "{incompatible}");
		}
		assert!(matches!(node("connection reset by peer"), ChainError::Node(_)));
	}
}
