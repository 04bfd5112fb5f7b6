//! The fast path: answers now, settlement later.
//!
//! A requester that opened a payment channel to this worker asks it
//! directly (over [`crate::rpc`]) and gets the answer, its Proof of
//! Attribution and a receipt the worker signs, in the time the model takes.
//! Each request carries the requester's latest cumulative voucher. Before
//! the model runs, the worker checks:
//!
//! - the model is one it serves and the input fits a job's (an audit reruns
//!   the receipt as a job);
//! - the channel is open on chain to this worker and not expired;
//! - the request is signed by the channel's requester ([`RequestAuth`]) with
//!   a nonce above every one it sent before: no one else can spend its
//!   window or break its receipt chain with answers it never asked for, and
//!   a copy of an old request is refused;
//! - the voucher (if any) is signed by the channel's requester and matches
//!   the receipt chain at its sequence exactly, and is not behind one it
//!   already holds;
//! - at most `window` answers are given and not yet covered by a voucher:
//!   the most a requester can take without paying, and also the most
//!   requests a channel has in flight;
//! - the receipts' total with this one stays within the deposit.
//!
//! Requests run in the executor's request lane, which yields to the chain's
//! jobs and refuses at once when full ([`RequestError::Busy`], with a retry
//! hint). Each receipt is written to the [`Ledger`] before its answer leaves,
//! the receipts of answers given at once in one write ([`ReceiptWriter`]),
//! with its request's nonce and signature, input and output: an answer lost
//! on its way back is handed to the requester again ([`FastPath::answers`]).
//!
//! The chain is read once per block ([`FastPath::on_block`]): the worker's
//! class, the models it serves and their prices, the channels it knows. While
//! the node is away, answers go on within the deposits last read; only a
//! channel never seen before has to wait for the node. Settlement
//! ([`FastPath::settlements`]) builds from the ledger alone, so it catches
//! up when the node returns.

use crate::{
	chain::{AtBlock, Chain, ChannelView, RegisteredModel, Sampled, SettlementLimits},
	executor::{Executor, ModelFiles},
	journal::{JournalError, Opening, Settlement},
	ledger::{Ledger, ReceiptRecord, ReceiptWriter, StoredVoucher, Tip},
	metrics::Metrics,
	stop::Stop,
};
use polkadot_sdk::{
	sp_core::{Bytes, H256},
	sp_crypto_hashing::blake2_256,
	sp_runtime::{traits::Verify, MultiSignature},
};
use serde::{Deserialize, Serialize};
use std::{
	collections::{BTreeSet, HashMap},
	sync::{
		atomic::{AtomicU64, Ordering},
		Arc, Mutex, MutexGuard, RwLock,
	},
	time::Instant,
};
use subxt::ext::codec::{Decode, Encode};
use subxt::utils::AccountId32;
use subxt_signer::sr25519::Keypair;
use tributary_primitives::{
	channels::{chain_receipt, ChannelId, Receipt, Voucher},
	ModelId,
};

/// A receipt as this worker signs it: accounts are 32 bytes, balances u128.
pub type WorkerReceipt = Receipt<[u8; 32], u128>;

/// How many answers a channel may have given and not covered by a voucher,
/// by default.
pub const DEFAULT_WINDOW: u64 = 4;

/// How many blocks a settlement may take to land before it is built again.
const RESEND_BLOCKS: u32 = 10;

/// How many blocks a channel with nothing in flight and nothing vouched to
/// settle stays in memory after its last request: the worker reads every
/// channel it holds each block, so channels opened and left (by anyone, to
/// any worker) must not add to that work for long. A request brings it back.
const IDLE_BLOCKS: u32 = 100;

/// How many settlements of one channel go out in one block at most: each
/// carries up to the chain's `MaxReceipts`, and they land in nonce order.
const SETTLEMENTS_PER_BLOCK: usize = 4;

/// What a requester's request signature covers, beside [`RequestAuth`].
pub const REQUEST_CONTEXT: &[u8] = b"tributary/request/v1";

/// What a requester signs for each request: its channel, a nonce above
/// every one it sent on the channel before, the model and the input's
/// blake2-256. The requester signs SCALE((`REQUEST_CONTEXT`, this)): its
/// fields in order, u64s little-endian, then the 32-byte hash.
#[derive(Clone, Debug, PartialEq, Eq, Encode)]
#[codec(crate = subxt::ext::codec)]
pub struct RequestAuth {
	/// The channel.
	pub channel: ChannelId,
	/// Strictly increasing per channel (a clock in microseconds serves).
	pub nonce: u64,
	/// The model asked.
	pub model: ModelId,
	/// blake2-256 of the input.
	pub input_hash: H256,
}

impl RequestAuth {
	/// The bytes the requester signs.
	pub fn signing_payload(&self) -> Vec<u8> {
		(REQUEST_CONTEXT, self).encode()
	}
}

/// What a requester's signature over [`AnswersAuth`] covers beside it.
pub const ANSWERS_CONTEXT: &[u8] = b"tributary/answers/v1";

/// What a requester signs to have the answers after receipt `after` handed
/// back (`tributary_answers`): those whose answer it lost. The nonce is one
/// of its request nonces (a copy is refused). Signed as
/// SCALE((`ANSWERS_CONTEXT`, this)), u64s little-endian.
#[derive(Clone, Debug, PartialEq, Eq, Encode)]
#[codec(crate = subxt::ext::codec)]
pub struct AnswersAuth {
	/// The channel.
	pub channel: ChannelId,
	/// The last receipt the requester holds.
	pub after: u64,
	/// Above every nonce the requester sent on the channel before.
	pub nonce: u64,
}

impl AnswersAuth {
	/// The bytes the requester signs.
	pub fn signing_payload(&self) -> Vec<u8> {
		(ANSWERS_CONTEXT, self).encode()
	}
}

/// The most answers one `tributary_answers` hands back.
pub const MOST_ANSWERS: u32 = 64;

/// An answer handed back to its requester, with what proves the requester
/// asked for it: its request's nonce and signature.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandedBack {
	/// The input asked.
	pub input: String,
	/// The request's nonce.
	pub nonce: u64,
	/// The requester's signature over the request ([`RequestAuth`]).
	pub request: Bytes,
	/// The answer, as `tributary_infer` gave it.
	#[serde(flatten)]
	pub answer: InferAnswer,
}

/// A request to infer.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InferRequest {
	/// The channel that pays for it.
	pub channel: ChannelId,
	/// The model to run.
	pub model: ModelId,
	/// The input text.
	pub input: String,
	/// Above every nonce the requester sent on the channel before.
	pub nonce: u64,
	/// The requester's signature over the request's [`RequestAuth`], as a
	/// SCALE-encoded `MultiSignature`.
	pub signature: Bytes,
	/// The requester's latest voucher on the channel; none before the first
	/// receipt.
	#[serde(default)]
	pub voucher: Option<SignedVoucher>,
}

/// A voucher and its signature as a client sends them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedVoucher {
	/// The sequence number of the last receipt it covers.
	pub sequence: u64,
	/// What the requester owes for every receipt up to it, in units, as a
	/// decimal string.
	pub total: String,
	/// The receipt chain's head there.
	pub receipts: H256,
	/// The requester's signature over the voucher's signing payload, as a
	/// SCALE-encoded `MultiSignature`.
	pub signature: Bytes,
}

/// An answer with its receipt.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InferAnswer {
	/// The model's output.
	pub output: String,
	/// Its Proof of Attribution: contribution ids and parts per billion.
	pub attribution: Vec<(u64, u32)>,
	/// The receipt, SCALE-encoded as in `tributary_primitives::channels`.
	pub receipt: Bytes,
	/// The worker's signature over the receipt's signing payload, as a
	/// SCALE-encoded `MultiSignature`.
	pub signature: Bytes,
	/// The receipt chain's head with this receipt.
	pub head: H256,
	/// What the channel's receipts cost so far, as a decimal string.
	pub total: String,
}

/// What the worker knows of a channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelStatus {
	/// The channel.
	pub channel: ChannelId,
	/// Its requester.
	pub requester: AccountId32,
	/// Its deposit, as a decimal string.
	pub deposit: String,
	/// The last receipt signed.
	pub sequence: u64,
	/// The receipt chain's head there.
	pub head: H256,
	/// What the receipts cost so far, as a decimal string.
	pub total: String,
	/// The last receipt a voucher covers.
	pub vouched: u64,
	/// The last receipt the chain has settled.
	pub settled: u64,
	/// The block from which the requester may close it.
	pub expiry: u32,
}

/// What the worker offers on the fast path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Info {
	/// The worker's account.
	pub worker: AccountId32,
	/// Its determinism class.
	pub class: Option<H256>,
	/// The models it answers for, with their prices.
	pub models: Vec<Offer>,
	/// How many answers a channel may have without a voucher.
	pub window: u64,
	/// The longest input, in bytes.
	pub max_input: u32,
}

/// A model and its price per answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Offer {
	/// The model.
	pub model: ModelId,
	/// Its price per answer, in units, as a decimal string.
	pub price: String,
	/// blake2-256 of its artifact.
	pub artifact: H256,
	/// Whether the worker holds it loaded, so that an answer loads nothing
	/// (requesters prefer such workers: an adapter's cold load is a small
	/// cost, a model's a larger one). Absent from older workers' answers.
	#[serde(default)]
	pub warm: bool,
}

/// Why a request was refused. Nothing is signed or owed for a refused one.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
	/// The worker does not serve the model.
	#[error("model {0} is not served by this worker")]
	UnknownModel(ModelId),
	/// The input is longer than a job's may be.
	#[error("the input is {0} bytes, over the {1}-byte limit")]
	InputTooLarge(usize, u32),
	/// No such channel is open on chain.
	#[error("channel {0} is not open on chain")]
	UnknownChannel(ChannelId),
	/// The channel pays another worker.
	#[error("channel {0} pays another worker")]
	NotThisWorker(ChannelId),
	/// The channel is past its expiry: the requester may close it any time.
	#[error("channel {0} expired at block {1}")]
	Expired(ChannelId, u32),
	/// The voucher is not signed by the channel's requester.
	#[error("the voucher is not signed by the channel's requester")]
	BadSignature,
	/// The request is not signed by the channel's requester: only it may
	/// ask on its channel.
	#[error("the request is not signed by channel {0}'s requester")]
	UnsignedRequest(ChannelId),
	/// The request's nonce is not above the last one admitted: a copy of
	/// an old request, or one sent out of order.
	#[error("request nonce {0} is not above {1}, the last one this channel's requester sent")]
	StaleRequest(u64, u64),
	/// The voucher is behind one the worker already holds.
	#[error("the voucher covers receipt {0}, behind receipt {1} already vouched for")]
	StaleVoucher(u64, u64),
	/// The voucher's total or head is not the receipt chain's at its
	/// sequence, or its sequence is past the last receipt.
	#[error("the voucher does not match the receipts signed: {0}")]
	VoucherMismatch(String),
	/// The answer would take the receipts past the deposit.
	#[error("{needed} units would exceed the channel's deposit of {deposit}: top it up")]
	OverDeposit {
		/// What the receipts would cost with this one.
		needed: u128,
		/// The deposit.
		deposit: u128,
	},
	/// Too many answers are not covered by a voucher yet.
	#[error(
		"{0} answers are given or under way without a voucher: send one for the receipts held"
	)]
	WindowFull(u64),
	/// The worker's request lane is full.
	#[error("the worker is busy: retry in {retry_after_ms} ms")]
	Busy {
		/// When a retry is likely to be admitted.
		retry_after_ms: u64,
	},
	/// The model failed on this input; nothing is owed.
	#[error("the model failed: {0}")]
	ModelFailed(String),
	/// The channel is not known here and the node cannot be reached.
	#[error("the node cannot be reached to look channel {0} up")]
	ChainAway(ChannelId),
	/// The worker has not read its registration from the chain yet.
	#[error("the worker is not registered, or has not read the chain yet")]
	NotReady,
	/// The ledger failed.
	#[error(transparent)]
	Journal(#[from] JournalError),
}

impl RequestError {
	/// Its JSON-RPC error code.
	pub fn code(&self) -> i32 {
		match self {
			RequestError::UnknownModel(_) => 1001,
			RequestError::InputTooLarge(..) => 1002,
			RequestError::UnknownChannel(_) => 1003,
			RequestError::NotThisWorker(_) => 1004,
			RequestError::Expired(..) => 1005,
			RequestError::BadSignature => 1006,
			RequestError::StaleVoucher(..) => 1007,
			RequestError::VoucherMismatch(_) => 1008,
			RequestError::OverDeposit { .. } => 1009,
			RequestError::WindowFull(_) => 1010,
			RequestError::Busy { .. } => 1011,
			RequestError::ModelFailed(_) => 1012,
			RequestError::ChainAway(_) => 1013,
			RequestError::NotReady => 1014,
			RequestError::Journal(_) => 1015,
			RequestError::UnsignedRequest(_) => 1016,
			RequestError::StaleRequest(..) => 1017,
		}
	}

	/// Its name in the metrics.
	fn outcome(&self) -> &'static str {
		match self {
			RequestError::Busy { .. } => "busy",
			RequestError::ModelFailed(_) => "failed",
			RequestError::Journal(_) => "journal",
			_ => "refused",
		}
	}
}

/// The fast path's state, shared by the RPC server and the daemon.
#[derive(Clone)]
pub struct FastPath {
	inner: Arc<Inner>,
}

struct Inner {
	signer: Keypair,
	me: AccountId32,
	ledger: Arc<Mutex<Ledger>>,
	writer: ReceiptWriter,
	executor: Arc<Executor>,
	window: u64,
	metrics: Metrics,
	/// The connection the daemon follows, for looking up new channels.
	chain: RwLock<Option<Chain>>,
	state: Mutex<State>,
	/// Microseconds a request has taken lately, for the retry hint.
	service_us: AtomicU64,
}

/// What the chain last said, and the channels' state.
#[derive(Default)]
struct State {
	class: Option<H256>,
	models: HashMap<ModelId, RegisteredModel>,
	best: u32,
	max_input: u32,
	limits: SettlementLimits,
	channels: HashMap<ChannelId, Open>,
	/// Settlements sent and not landed: the last sequence and the block.
	settling: HashMap<ChannelId, (u64, u32)>,
	/// The channels that left memory idle and have not expired, as last
	/// read (the view and the finalized settled tip): taken up as they were
	/// when a request comes while the node is away. Never read per block.
	dormant: HashMap<ChannelId, (ChannelView, Tip)>,
}

/// How many of `receipts` (SCALE), from the first, one settlement takes
/// within the chain's bounds on the distinct models and contributions they
/// name (all of them before the bounds are known).
fn fitting(receipts: &[Vec<u8>], limits: SettlementLimits) -> usize {
	if limits.models == 0 {
		return receipts.len();
	}
	let mut models = BTreeSet::new();
	let mut contributions = BTreeSet::new();
	for (n, bytes) in receipts.iter().enumerate() {
		// The ledger holds only receipts this worker encoded; one that does
		// not decode is left for the chain to refuse.
		let Ok(receipt) = WorkerReceipt::decode(&mut &bytes[..]) else { continue };
		models.insert(receipt.model);
		contributions.extend(receipt.attribution.iter().map(|&(contribution, _)| contribution));
		if models.len() > limits.models as usize
			|| contributions.len() > limits.contributions as usize
		{
			return n;
		}
	}
	receipts.len()
}

impl State {
	/// Lets the channels idle at the best block leave memory (see
	/// [`IDLE_BLOCKS`]); the ledger keeps their tips, and their nonces so
	/// that no request signed before can be replayed when they come back.
	/// Returns the channels that left.
	fn forget_idle(&mut self, ledger: &Ledger) -> Result<Vec<ChannelId>, JournalError> {
		let best = self.best;
		let mut idle: Vec<ChannelId> =
			self.channels.iter().filter(|(_, open)| open.idle(best)).map(|(id, _)| *id).collect();
		idle.sort_unstable();
		for channel in &idle {
			if let Some(open) = self.channels.remove(channel) {
				ledger.record_nonce(*channel, open.nonce)?;
				self.dormant.insert(*channel, (open.view, open.finalized));
			}
			self.settling.remove(channel);
		}
		// An expired channel takes no request: nothing to take up.
		self.dormant.retain(|_, (view, _)| view.expiry > best);
		Ok(idle)
	}

	/// The window in force: never wider than a settlement, so that the
	/// vouchers kept are never further apart than one settlement carries.
	fn window(&self, wanted: u64) -> u64 {
		match self.limits.receipts {
			0 => wanted,
			most => wanted.min(u64::from(most)),
		}
	}
}

/// A channel this worker answers on.
struct Open {
	view: ChannelView,
	/// The tip the finalized chain settled. The ledger forgets the receipts
	/// up to it, and the block the worker handles may be older than the
	/// finalized one, so a voucher there is checked against this.
	finalized: Tip,
	tip: Tip,
	vouched: u64,
	/// Requests admitted and not answered.
	in_flight: u64,
	/// What those would cost.
	reserved: u128,
	/// The block from which it has had answers vouched and unsettled.
	pending_since: Option<u32>,
	/// The highest request nonce admitted.
	nonce: u64,
	/// The block of its last request, or of when the worker took it up.
	active: u32,
}

impl Open {
	/// Checks that the channel's requester signed `payload` and that its
	/// `nonce` is above every one admitted; admitting it is the caller's.
	fn check_request(
		&self,
		channel: ChannelId,
		payload: &[u8],
		signature: &Bytes,
		nonce: u64,
	) -> Result<(), RequestError> {
		if !signed_by(signature, payload, &self.view.requester) {
			return Err(RequestError::UnsignedRequest(channel));
		}
		if nonce <= self.nonce {
			return Err(RequestError::StaleRequest(nonce, self.nonce));
		}
		Ok(())
	}

	/// Whether it can leave memory at block `best`: idle since
	/// [`IDLE_BLOCKS`], nothing in flight, every voucher settled.
	fn idle(&self, best: u32) -> bool {
		self.in_flight == 0
			&& self.vouched <= self.settled()
			&& best >= self.active.saturating_add(IDLE_BLOCKS)
	}

	/// The last receipt settled, by the block handled or the finalized one,
	/// whichever is further: the ledger holds only the receipts after it.
	fn settled(&self) -> u64 {
		self.view.sequence.max(self.finalized.sequence)
	}

	fn status(&self, channel: ChannelId) -> ChannelStatus {
		ChannelStatus {
			channel,
			requester: self.view.requester.clone(),
			deposit: self.view.deposit.to_string(),
			sequence: self.tip.sequence,
			head: self.tip.head,
			total: self.tip.total.to_string(),
			vouched: self.vouched,
			settled: self.settled(),
			expiry: self.view.expiry,
		}
	}
}

impl FastPath {
	/// The fast path of the worker signing with `signer`, answering on
	/// `executor`, keeping receipts in `ledger`.
	pub fn new(
		signer: Keypair,
		ledger: Ledger,
		executor: Arc<Executor>,
		window: u64,
		metrics: Metrics,
	) -> Self {
		let me = signer.public_key().to_account_id();
		let ledger = Arc::new(Mutex::new(ledger));
		FastPath {
			inner: Arc::new(Inner {
				signer,
				me,
				writer: ReceiptWriter::start(ledger.clone()),
				ledger,
				executor,
				window: window.max(1),
				metrics,
				chain: RwLock::new(None),
				state: Mutex::new(State::default()),
				service_us: AtomicU64::new(1_000),
			}),
		}
	}

	/// What the worker offers.
	pub fn info(&self) -> Result<Info, RequestError> {
		let state = self.state()?;
		let warm = self.inner.executor.warm();
		let mut models: Vec<Offer> = state
			.models
			.values()
			.map(|m| Offer {
				model: m.files.model_id,
				price: m.price.to_string(),
				artifact: H256(m.files.artifact.0),
				warm: warm.contains(&m.files.model_id),
			})
			.collect();
		models.sort_by_key(|m| m.model);
		Ok(Info {
			worker: self.inner.me.clone(),
			class: state.class,
			models,
			window: state.window(self.inner.window),
			max_input: state.max_input,
		})
	}

	/// Answers `request`: checks it, runs the model, signs and journals the
	/// receipt.
	pub async fn infer(&self, request: InferRequest) -> Result<InferAnswer, RequestError> {
		let start = Instant::now();
		let answer = self.answer(request).await;
		let outcome = match &answer {
			Ok(_) => "answered",
			Err(e) => e.outcome(),
		};
		self.inner.metrics.requests.with_label_values(&[outcome]).inc();
		if answer.is_ok() {
			let elapsed = start.elapsed();
			self.inner.metrics.request_seconds.observe(elapsed.as_secs_f64());
			let us = elapsed.as_micros().min(u64::MAX as u128) as u64;
			let lately = self.inner.service_us.load(Ordering::Relaxed);
			self.inner.service_us.store((lately * 7 + us) / 8, Ordering::Relaxed);
		}
		answer
	}

	async fn answer(&self, request: InferRequest) -> Result<InferAnswer, RequestError> {
		let InferRequest { channel, model, input, nonce, signature: asked, voucher } = request;
		let input_hash = H256(blake2_256(input.as_bytes()));
		let (files, price, class) = {
			let state = self.state()?;
			let class = state.class.ok_or(RequestError::NotReady)?;
			if input.len() > state.max_input as usize {
				return Err(RequestError::InputTooLarge(input.len(), state.max_input));
			}
			let offered = state.models.get(&model).ok_or(RequestError::UnknownModel(model))?;
			(offered.files, offered.price, class)
		};
		self.know(channel).await?;
		// The voucher this request brought: kept with its receipt.
		let newer = {
			let mut state = self.state()?;
			let (best, window) = (state.best, state.window(self.inner.window));
			let open =
				state.channels.get_mut(&channel).ok_or(RequestError::UnknownChannel(channel))?;
			if open.view.expiry <= best {
				return Err(RequestError::Expired(channel, open.view.expiry));
			}
			let auth = RequestAuth { channel, nonce, model, input_hash };
			open.check_request(channel, &auth.signing_payload(), &asked, nonce)?;
			// A refused request changes nothing: its nonce and voucher are
			// kept only once the request is admitted.
			let newer = match &voucher {
				Some(voucher) => self.verify_voucher(channel, open, voucher)?,
				None => None,
			};
			let vouched = newer.as_ref().map_or(open.vouched, |v| v.tip.sequence);
			let unvouched = open.tip.sequence.saturating_sub(vouched) + open.in_flight;
			if unvouched >= window {
				return Err(RequestError::WindowFull(unvouched));
			}
			let needed = open.tip.total.saturating_add(open.reserved).saturating_add(price);
			if needed > open.view.deposit {
				return Err(RequestError::OverDeposit { needed, deposit: open.view.deposit });
			}
			if let Some(newer) = &newer {
				note_voucher(open, newer, best);
			}
			open.nonce = nonce;
			open.in_flight += 1;
			open.reserved += price;
			open.active = best;
			newer
		};
		let ran = self.run(files, input.as_bytes().to_vec()).await;
		let (answer, record) = {
			let mut state = self.state()?;
			let best = state.best;
			let open =
				state.channels.get_mut(&channel).ok_or(RequestError::UnknownChannel(channel))?;
			open.in_flight -= 1;
			open.reserved -= price;
			open.active = best;
			let answer = match ran {
				Ok(answer) => answer,
				Err(e) => {
					if let Some(newer) = &newer {
						self.ledger()?.record_voucher(channel, newer)?;
					}
					return Err(e);
				}
			};
			let receipt = WorkerReceipt {
				channel,
				sequence: open.tip.sequence + 1,
				model,
				artifact: H256(files.artifact.0),
				input_hash,
				output_hash: tributary_primitives::output_hash(&answer.output),
				attribution: tributary_primitives::Attribution::truncate_from(
					answer.attribution.clone(),
				),
				class,
				price,
				worker: self.inner.me.0,
			};
			let tip = Tip {
				sequence: receipt.sequence,
				head: chain_receipt(&open.tip.head, &receipt.hash()),
				total: open.tip.total + price,
			};
			// The next receipt on the channel chains from this one at once;
			// the answer leaves only once this one is written.
			open.tip = tip;
			let signature = multi_signature(self.inner.signer.sign(&receipt.signing_payload()).0);
			let record = ReceiptRecord {
				channel,
				tip,
				receipt: receipt.encode(),
				signature,
				input: input.as_bytes().to_vec(),
				nonce,
				request: asked.0,
				output: answer.output.clone(),
				voucher: newer,
			};
			(answer, record)
		};
		let tip = record.tip;
		let (encoded, signature) = (record.receipt.clone(), record.signature.clone());
		self.inner.writer.write(record).await?;
		Ok(InferAnswer {
			output: String::from_utf8_lossy(&answer.output).into_owned(),
			attribution: answer.attribution.iter().map(|(c, p)| (*c, p.deconstruct())).collect(),
			receipt: Bytes(encoded),
			signature: Bytes(signature),
			head: tip.head,
			total: tip.total.to_string(),
		})
	}

	/// The answers after receipt `after` on `channel` (at most
	/// [`MOST_ANSWERS`]), for the channel's requester, who signed for them
	/// with a fresh nonce: answers whose way back was lost (a dropped
	/// connection, a requester that stopped) are fetched again, so that the
	/// requester can check and vouch for them and its receipt chain goes on.
	pub async fn answers(
		&self,
		channel: ChannelId,
		after: u64,
		nonce: u64,
		signature: Bytes,
	) -> Result<Vec<HandedBack>, RequestError> {
		self.know(channel).await?;
		{
			let mut state = self.state()?;
			let best = state.best;
			let open =
				state.channels.get_mut(&channel).ok_or(RequestError::UnknownChannel(channel))?;
			let auth = AnswersAuth { channel, after, nonce };
			open.check_request(channel, &auth.signing_payload(), &signature, nonce)?;
			open.nonce = nonce;
			open.active = best;
		}
		let held = self.ledger()?.answers_after(channel, after, MOST_ANSWERS)?;
		Ok(held
			.into_iter()
			.map(|held| {
				let attribution = WorkerReceipt::decode(&mut &held.receipt[..])
					.map(|r| r.attribution.iter().map(|(c, p)| (*c, p.deconstruct())).collect())
					.unwrap_or_default();
				HandedBack {
					input: String::from_utf8_lossy(&held.input).into_owned(),
					nonce: held.nonce,
					request: Bytes(held.request),
					answer: InferAnswer {
						output: String::from_utf8_lossy(&held.output).into_owned(),
						attribution,
						receipt: Bytes(held.receipt),
						signature: Bytes(held.signature),
						head: held.tip.head,
						total: held.tip.total.to_string(),
					},
				}
			})
			.collect())
	}

	/// Takes a voucher without a request: how the last answers get paid.
	pub async fn voucher(
		&self,
		channel: ChannelId,
		voucher: SignedVoucher,
	) -> Result<ChannelStatus, RequestError> {
		self.know(channel).await?;
		let mut state = self.state()?;
		let best = state.best;
		let open = state.channels.get_mut(&channel).ok_or(RequestError::UnknownChannel(channel))?;
		if let Some(newer) = self.verify_voucher(channel, open, &voucher)? {
			self.ledger()?.record_voucher(channel, &newer)?;
			note_voucher(open, &newer, best);
		}
		Ok(open.status(channel))
	}

	/// Where `channel` stands for this worker.
	pub async fn channel(&self, channel: ChannelId) -> Result<ChannelStatus, RequestError> {
		self.know(channel).await?;
		let state = self.state()?;
		let open = state.channels.get(&channel).ok_or(RequestError::UnknownChannel(channel))?;
		Ok(open.status(channel))
	}

	/// Checks a voucher against the receipts signed and the requester's
	/// key; the voucher to keep if it covers more than the one held.
	fn verify_voucher(
		&self,
		channel: ChannelId,
		open: &Open,
		signed: &SignedVoucher,
	) -> Result<Option<StoredVoucher>, RequestError> {
		if signed.sequence < open.vouched {
			return Err(RequestError::StaleVoucher(signed.sequence, open.vouched));
		}
		let total: u128 = signed
			.total
			.parse()
			.map_err(|_| RequestError::VoucherMismatch(format!("total {:?}", signed.total)))?;
		// Settled receipts leave the ledger; the chain holds the settled tip,
		// which a requester that lost the answers since still vouches for.
		let tip = match self.ledger()?.tip_at(channel, signed.sequence)? {
			Some(tip) => tip,
			None => match [open.view.settled_tip(), open.finalized]
				.into_iter()
				.find(|t| t.sequence == signed.sequence)
			{
				Some(tip) => tip,
				None => {
					return Err(RequestError::VoucherMismatch(format!(
						"no receipt {} to vouch for (the last is {})",
						signed.sequence, open.tip.sequence
					)))
				}
			},
		};
		if tip.total != total || tip.head != signed.receipts {
			return Err(RequestError::VoucherMismatch(format!(
				"at receipt {} the total is {} and the head {:?}",
				tip.sequence, tip.total, tip.head
			)));
		}
		let voucher =
			Voucher { channel, sequence: signed.sequence, total, receipts: signed.receipts };
		if !signed_by(&signed.signature, &voucher.signing_payload(), &open.view.requester) {
			return Err(RequestError::BadSignature);
		}
		Ok((signed.sequence > open.vouched)
			.then(|| StoredVoucher { tip, signature: signed.signature.0.clone() }))
	}

	/// Runs the model in the executor's request lane.
	async fn run(
		&self,
		files: ModelFiles,
		input: Vec<u8>,
	) -> Result<crate::model::Answer, RequestError> {
		let (tx, rx) = tokio::sync::oneshot::channel();
		let executor = &self.inner.executor;
		if executor.submit_request(files, input, move |reply| drop(tx.send(reply))).is_err() {
			let queued = executor.queued_in(crate::executor::Lane::Request) as u64;
			let threads = executor.threads().max(1) as u64;
			let us = self.inner.service_us.load(Ordering::Relaxed);
			let retry_after_ms = (us * (queued / threads + 1)).div_ceil(1_000).max(1);
			return Err(RequestError::Busy { retry_after_ms });
		}
		match rx.await {
			Ok(Ok(timed)) => {
				self.inner.metrics.inference_seconds.observe(timed.timings.inference.as_secs_f64());
				self.inner
					.metrics
					.attribution_seconds
					.observe(timed.timings.attribution.as_secs_f64());
				Ok(timed.answer)
			}
			Ok(Err(e)) => Err(RequestError::ModelFailed(e.to_string())),
			Err(_) => Err(RequestError::ModelFailed("the executor stopped".into())),
		}
	}

	/// Makes sure `channel` is known here, reading it from the chain if not;
	/// while the node is away, a channel that left memory idle is taken up
	/// as last read, as the channels held are.
	async fn know(&self, channel: ChannelId) -> Result<(), RequestError> {
		if self.state()?.channels.contains_key(&channel) {
			return Ok(());
		}
		let open = match self.read_channel(channel).await {
			Ok(open) => open,
			Err(RequestError::ChainAway(_)) => {
				let dormant = self.state()?.dormant.get(&channel).cloned();
				let (view, finalized) = dormant.ok_or(RequestError::ChainAway(channel))?;
				self.opened(channel, view, Some(finalized))?
			}
			Err(e) => return Err(e),
		};
		let mut state = self.state()?;
		state.dormant.remove(&channel);
		let active = state.best;
		state.channels.entry(channel).or_insert(Open { active, ..open });
		Ok(())
	}

	/// `channel` as the chain shows it, picked up where the ledger left it.
	async fn read_channel(&self, channel: ChannelId) -> Result<Open, RequestError> {
		let chain = self.inner.chain.read().ok().and_then(|c| c.clone());
		let chain = chain.ok_or(RequestError::ChainAway(channel))?;
		let away = |_| RequestError::ChainAway(channel);
		let at = chain.at_best().await.map_err(away)?;
		let view = chain.channel(&at, channel).await.map_err(away)?;
		let view = view.ok_or(RequestError::UnknownChannel(channel))?;
		if view.worker != self.inner.me {
			return Err(RequestError::NotThisWorker(channel));
		}
		let finalized = chain.at_finalized().await.map_err(away)?;
		let finalized = chain.channel(&finalized, channel).await.map_err(away)?;
		Ok(self.opened(channel, view, finalized.as_ref().map(ChannelView::settled_tip))?)
	}

	/// A channel newly seen on chain, picked up where the ledger left it;
	/// `finalized` is where the finalized chain settled it, if it shows it.
	fn opened(
		&self,
		channel: ChannelId,
		view: ChannelView,
		finalized: Option<Tip>,
	) -> Result<Open, JournalError> {
		let ledger = self.ledger()?;
		let mut tip = ledger.tip(channel)?;
		if tip.sequence < view.sequence {
			// A ledger lost or older than the chain: carry on from what the
			// chain settled, so new receipts follow on.
			tip = view.settled_tip();
			ledger.reset_tip(channel, tip)?;
		}
		let vouched = ledger.voucher_up_to(channel, u64::MAX)?.map_or(0, |v| v.tip.sequence);
		let nonce = ledger.nonce(channel)?;
		Ok(Open {
			nonce,
			vouched: vouched.max(view.sequence),
			finalized: finalized.unwrap_or_default(),
			view,
			tip,
			in_flight: 0,
			reserved: 0,
			pending_since: None,
			active: 0,
		})
	}

	/// The daemon has (re)connected to `chain`.
	pub fn connected(&self, chain: &Chain) {
		if let Ok(mut current) = self.inner.chain.write() {
			*current = Some(chain.clone());
		}
	}

	/// The models offered now, ascending.
	pub fn offered(&self) -> Vec<ModelId> {
		let mut models: Vec<ModelId> =
			self.state().map(|s| s.models.keys().copied().collect()).unwrap_or_default();
		models.sort_unstable();
		models
	}

	/// Reads what the block at `at` says: the worker's class, the models it
	/// serves (`served`, with their files and prices, when they changed),
	/// the limits, and each known channel; forgets receipts the `finalized`
	/// block has settled.
	pub async fn on_block(
		&self,
		chain: &Chain,
		at: &AtBlock,
		finalized: &AtBlock,
		class: H256,
		served: Option<Vec<RegisteredModel>>,
	) -> Result<(), Stop> {
		let max_input = chain.max_input_len(at)?;
		let limits = chain.settlement_limits(at)?;
		let window = chain.challenge_window(at)?;
		let final_number = finalized.block_number() as u32;
		let mut known: Vec<ChannelId> = self.state()?.channels.keys().copied().collect();
		for (channel, _) in self.ledger()?.unsettled()? {
			if !known.contains(&channel) {
				known.push(channel);
			}
		}
		let mut views = Vec::with_capacity(known.len());
		for channel in known {
			let view = chain.channel(at, channel).await?;
			let settled = chain.channel(finalized, channel).await?.map(|v| v.settled_tip());
			views.push((channel, view, settled));
		}
		let mut state = self.state()?;
		state.class = Some(class);
		if let Some(served) = served {
			state.models = served.into_iter().map(|m| (m.files.model_id, m)).collect();
		}
		state.best = at.block_number() as u32;
		state.max_input = max_input;
		state.limits = limits;
		self.take_views(&mut state, views, final_number)?;
		let idle = state.forget_idle(&*self.ledger()?)?;
		if !idle.is_empty() {
			tracing::info!(channels = ?idle, "idle channels left memory");
		}
		self.inner.metrics.channels_held.set(state.channels.len() as u64);
		// Counted from the finalized block that first showed a receipt
		// settled, which is never before it was: kept at least the window.
		self.ledger()?.prune_audit_copies(final_number.saturating_sub(window))?;
		Ok(())
	}

	/// Takes each channel as the block being handled shows it and the tip
	/// the finalized block `final_number` settled it at, forgetting the
	/// receipts up to that tip.
	fn take_views(
		&self,
		state: &mut State,
		views: Vec<(ChannelId, Option<ChannelView>, Option<Tip>)>,
		final_number: u32,
	) -> Result<(), JournalError> {
		for (channel, view, settled) in views {
			if let Some(settled) = settled {
				self.ledger()?.forget_settled(channel, settled.sequence, final_number)?;
			}
			match view {
				Some(view) => match state.channels.get_mut(&channel) {
					Some(open) => {
						open.view = view;
						open.finalized = settled.unwrap_or_default();
					}
					None => {
						// Vouched before a restart: due for settlement.
						let open = Open {
							pending_since: Some(state.best),
							active: state.best,
							..self.opened(channel, view, settled)?
						};
						state.channels.insert(channel, open);
					}
				},
				// Closed: nothing more can be settled on it.
				None => {
					state.channels.remove(&channel);
					state.settling.remove(&channel);
					if settled.is_none() {
						self.ledger()?.forget_settled(channel, u64::MAX, final_number)?;
					}
				}
			}
		}
		Ok(())
	}

	/// The openings of the worker's receipts `sampled` for audits, from the
	/// ledger's audit copies. A receipt the ledger no longer holds cannot be
	/// opened: the chain will count it as wrong.
	pub fn openings(&self, sampled: &[Sampled]) -> Result<Vec<Opening>, Stop> {
		let ledger = self.ledger()?;
		let mut openings = Vec::new();
		for Sampled { batch, channel, sequences } in sampled {
			for &sequence in sequences {
				match ledger.audit_copy(*channel, sequence)? {
					Some((receipt, input)) => openings.push(Opening {
						batch: *batch,
						sequence,
						receipt: hex::encode(receipt),
						input: hex::encode(input),
					}),
					None => tracing::error!(
						channel,
						sequence,
						"a receipt sampled for audit is not in the ledger: it cannot be opened"
					),
				}
			}
		}
		Ok(openings)
	}

	/// The settlements to send at this block: for each channel with vouched
	/// receipts the chain has not settled, once a full batch is vouched, the
	/// oldest has waited `every` blocks, or the channel nears its expiry.
	pub fn settlements(&self, every: u32) -> Result<Vec<Settlement>, Stop> {
		let mut state = self.state()?;
		let (best, max_receipts) = (state.best, u64::from(state.limits.receipts.max(1)));
		let mut due = Vec::new();
		for (channel, open) in &state.channels {
			let settled = open.settled();
			if open.vouched <= settled {
				continue;
			}
			if let Some((up_to, at)) = state.settling.get(channel) {
				if *up_to > settled && best < at.saturating_add(RESEND_BLOCKS) {
					continue;
				}
			}
			let waited =
				open.pending_since.is_some_and(|since| best >= since.saturating_add(every));
			let expiring = open.view.expiry <= best.saturating_add(every.saturating_mul(2));
			if open.vouched - settled >= max_receipts || waited || expiring {
				due.push((*channel, settled));
			}
		}
		let mut settlements = Vec::new();
		for (channel, mut settled) in due {
			for _ in 0..SETTLEMENTS_PER_BLOCK {
				let ledger = self.ledger()?;
				let Some(mut voucher) = ledger.voucher_up_to(channel, settled + max_receipts)?
				else {
					break;
				};
				if voucher.tip.sequence <= settled {
					break;
				}
				let mut receipts = ledger.receipts(channel, settled + 1, voucher.tip.sequence)?;
				let fit = fitting(&receipts, state.limits) as u64;
				if fit < receipts.len() as u64 {
					// Cut at the last voucher within what the chain takes.
					match ledger.voucher_up_to(channel, settled + fit)? {
						Some(within) if within.tip.sequence > settled => voucher = within,
						_ => break,
					}
					receipts = ledger.receipts(channel, settled + 1, voucher.tip.sequence)?;
				}
				let tip = voucher.tip;
				settlements.push(Settlement {
					channel,
					voucher: hex::encode(
						Voucher {
							channel,
							sequence: tip.sequence,
							total: tip.total,
							receipts: tip.head,
						}
						.encode(),
					),
					signature: hex::encode(&voucher.signature),
					receipts: receipts.iter().map(hex::encode).collect(),
				});
				settled = tip.sequence;
			}
			state.settling.insert(channel, (settled, best));
			if let Some(open) = state.channels.get_mut(&channel) {
				open.pending_since = (open.vouched > settled).then_some(best);
			}
		}
		Ok(settlements)
	}

	fn state(&self) -> Result<MutexGuard<'_, State>, JournalError> {
		self.inner
			.state
			.lock()
			.map_err(|_| JournalError::Corrupt("the fast path's lock is poisoned".into()))
	}

	fn ledger(&self) -> Result<MutexGuard<'_, Ledger>, JournalError> {
		self.inner
			.ledger
			.lock()
			.map_err(|_| JournalError::Corrupt("the ledger's lock is poisoned".into()))
	}
}

/// Counts a newer voucher in: from here the receipts it covers can settle
/// (once it is in the ledger).
fn note_voucher(open: &mut Open, voucher: &StoredVoucher, best: u32) {
	open.vouched = voucher.tip.sequence;
	open.pending_since.get_or_insert(best);
}

/// Whether `signature` (a SCALE-encoded `MultiSignature`) signs `payload`
/// for `account`.
pub(crate) fn signed_by(signature: &Bytes, payload: &[u8], account: &AccountId32) -> bool {
	let account = polkadot_sdk::sp_runtime::AccountId32::from(account.0);
	MultiSignature::decode(&mut &signature.0[..])
		.is_ok_and(|signature| signature.verify(payload, &account))
}

/// An sr25519 signature as a SCALE-encoded `MultiSignature`.
fn multi_signature(signature: [u8; 64]) -> Vec<u8> {
	MultiSignature::Sr25519(polkadot_sdk::sp_core::sr25519::Signature::from_raw(signature)).encode()
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::content::ContentStore;

	fn tip(sequence: u64) -> Tip {
		Tip { sequence, head: H256::repeat_byte(sequence as u8), total: u128::from(sequence) }
	}

	/// A fast path with channel 9 known, its ledger holding `receipts`
	/// receipts and vouchers at `vouchers`, the chain having settled none.
	fn fast_path(dir: &std::path::Path, receipts: u64, vouchers: &[u64]) -> FastPath {
		let mut ledger = Ledger::open(&dir.join("journal.sqlite")).unwrap();
		for n in 1..=receipts {
			let record = ReceiptRecord {
				channel: 9,
				tip: tip(n),
				receipt: n.to_le_bytes().to_vec(),
				signature: b"signature".to_vec(),
				input: b"input".to_vec(),
				nonce: n,
				request: b"request".to_vec(),
				output: b"output".to_vec(),
				voucher: None,
			};
			ledger.record_receipts(&[record]).unwrap();
		}
		for n in vouchers {
			ledger.record_voucher(9, &StoredVoucher { tip: tip(*n), signature: vec![1] }).unwrap();
		}
		let store = ContentStore::open(dir.join("content")).unwrap();
		let executor = Arc::new(Executor::start(1, 1, tch::Device::Cpu, store));
		let registry = polkadot_sdk::substrate_prometheus_endpoint::Registry::new();
		let metrics = Metrics::register(&registry).unwrap();
		let signer = subxt_signer::sr25519::dev::bob();
		let fast_path = FastPath::new(signer, ledger, executor, DEFAULT_WINDOW, metrics);
		{
			let mut state = fast_path.state().unwrap();
			state.best = 100;
			state.limits.receipts = 16;
			let view = ChannelView {
				requester: subxt_signer::sr25519::dev::charlie().public_key().to_account_id(),
				worker: fast_path.inner.me.clone(),
				deposit: 1_000,
				settled: 0,
				sequence: 0,
				receipts: H256::zero(),
				expiry: 10_000,
			};
			let open = Open {
				view,
				finalized: Tip::default(),
				tip: tip(receipts),
				vouched: vouchers.iter().copied().max().unwrap_or(0),
				in_flight: 0,
				reserved: 0,
				pending_since: Some(100),
				nonce: receipts,
				active: 100,
			};
			state.channels.insert(9, open);
		}
		fast_path
	}

	fn sequences(settlement: &Settlement) -> Vec<u64> {
		settlement
			.receipts
			.iter()
			.map(|r| u64::from_le_bytes(hex::decode(r).unwrap().try_into().unwrap()))
			.collect()
	}

	#[test]
	fn settlement_goes_in_batches_each_ending_at_a_voucher_and_is_not_sent_twice() {
		let dir = tempfile::tempdir().unwrap();
		let fast_path = fast_path(dir.path(), 40, &[10, 20, 35, 40]);
		let sent = fast_path.settlements(10).unwrap();
		let batches: Vec<Vec<u64>> = sent.iter().map(sequences).collect();
		assert_eq!(
			batches,
			vec![
				(1..=10).collect::<Vec<_>>(),
				(11..=20).collect(),
				(21..=35).collect(),
				(36..=40).collect(),
			]
		);
		let voucher = Voucher::<u128>::decode(&mut &hex::decode(&sent[2].voucher).unwrap()[..]);
		assert_eq!(voucher.unwrap().sequence, 35, "each batch carries the voucher it ends at");
		assert!(fast_path.settlements(10).unwrap().is_empty(), "in flight: not sent again");

		// Landed up to 20 only: from 21 on, once the resend time has passed.
		{
			let mut state = fast_path.state().unwrap();
			state.channels.get_mut(&9).unwrap().view.sequence = 20;
			state.best += RESEND_BLOCKS;
		}
		let again: Vec<Vec<u64>> =
			fast_path.settlements(10).unwrap().iter().map(sequences).collect();
		assert_eq!(again, vec![(21..=35).collect::<Vec<_>>(), (36..=40).collect()]);
	}

	#[test]
	fn the_window_is_never_wider_than_a_settlement() {
		let dir = tempfile::tempdir().unwrap();
		let fast_path = fast_path(dir.path(), 0, &[]);
		let state = fast_path.state().unwrap();
		assert_eq!(state.window(4), 4);
		assert_eq!(state.window(64), 16, "vouchers 64 apart could never be settled");
	}

	#[tokio::test]
	async fn a_voucher_for_the_settled_tip_is_taken_after_its_receipts_leave_the_ledger() {
		let dir = tempfile::tempdir().unwrap();
		let fast_path = fast_path(dir.path(), 6, &[5]);
		// The chain settled receipts 1..=5 and the ledger forgot them;
		// receipt 6's answer never reached the requester, whose voucher
		// stays at 5.
		fast_path.ledger().unwrap().forget_settled(9, 5, 100).unwrap();
		{
			let mut state = fast_path.state().unwrap();
			let open = state.channels.get_mut(&9).unwrap();
			open.view =
				ChannelView { sequence: 5, receipts: tip(5).head, settled: 5, ..open.view.clone() };
		}
		takes_charlies_voucher_at_5_and_no_other_total(&fast_path).await;
	}

	/// Charlie's voucher at receipt 5 (5 owed) is taken, a wrong total
	/// refused; receipt 6 stays unvouched.
	async fn takes_charlies_voucher_at_5_and_no_other_total(fast_path: &FastPath) {
		let status = fast_path.voucher(9, charlies_voucher(5, 5)).await.unwrap();
		assert_eq!((status.vouched, status.sequence), (5, 6));
		assert!(
			matches!(
				fast_path.voucher(9, charlies_voucher(5, 4)).await,
				Err(RequestError::VoucherMismatch(_))
			),
			"checked against the settled tip"
		);
	}

	#[tokio::test]
	async fn a_voucher_for_the_finalized_settled_tip_is_taken_while_the_block_handled_is_older() {
		let dir = tempfile::tempdir().unwrap();
		let fast_path = fast_path(dir.path(), 6, &[5]);
		// On a fast chain the finalized block can be past the one the worker
		// handles: that one shows nothing settled, the finalized one 1..=5,
		// and the ledger forgets them.
		{
			let mut state = fast_path.state().unwrap();
			let older = state.channels[&9].view.clone();
			fast_path.take_views(&mut state, vec![(9, Some(older), Some(tip(5)))], 100).unwrap();
		}
		assert_eq!(fast_path.ledger().unwrap().tip_at(9, 5).unwrap(), None, "forgotten");
		takes_charlies_voucher_at_5_and_no_other_total(&fast_path).await;
	}

	#[test]
	fn settlement_starts_after_what_the_finalized_block_settled_while_the_block_handled_is_older() {
		let dir = tempfile::tempdir().unwrap();
		let fast_path = fast_path(dir.path(), 8, &[5, 8]);
		let mut state = fast_path.state().unwrap();
		let older = state.channels[&9].view.clone();
		fast_path.take_views(&mut state, vec![(9, Some(older), Some(tip(5)))], 100).unwrap();
		state.best = 110;
		drop(state);
		let sent: Vec<Vec<u64>> =
			fast_path.settlements(10).unwrap().iter().map(sequences).collect();
		assert_eq!(
			sent,
			vec![(6..=8).collect::<Vec<_>>()],
			"receipts 1..=5 are settled and forgotten"
		);
	}

	#[test]
	fn an_idle_channel_leaves_memory_keeping_its_tip_and_nonce_and_comes_back_where_it_was() {
		let dir = tempfile::tempdir().unwrap();
		let fast_path = fast_path(dir.path(), 5, &[]);
		let ledger = fast_path.ledger().unwrap();
		let mut state = fast_path.state().unwrap();
		// Answers handed back took a nonce and wrote no receipt.
		state.channels.get_mut(&9).unwrap().nonce = 77;
		state.best = 100 + IDLE_BLOCKS - 1;
		assert!(state.forget_idle(&ledger).unwrap().is_empty(), "idle one block short");
		state.best += 1;
		assert_eq!(state.forget_idle(&ledger).unwrap(), vec![9]);
		assert!(!state.channels.contains_key(&9));
		let view = ChannelView {
			requester: subxt_signer::sr25519::dev::charlie().public_key().to_account_id(),
			worker: fast_path.inner.me.clone(),
			deposit: 1_000,
			settled: 0,
			sequence: 0,
			receipts: H256::zero(),
			expiry: 10_000,
		};
		drop((state, ledger));
		let back = fast_path.opened(9, view, None).unwrap();
		assert_eq!((back.tip, back.nonce), (tip(5), 77), "after a restart, from the ledger");
	}

	#[tokio::test]
	async fn with_the_node_away_a_channel_that_left_memory_is_taken_up_as_last_read_until_it_expires(
	) {
		let dir = tempfile::tempdir().unwrap();
		// No node: reading a channel from the chain fails as when it is away.
		let fast_path = fast_path(dir.path(), 5, &[]);
		let leave = |best: u32| {
			let mut state = fast_path.state().unwrap();
			state.best = best;
			state.forget_idle(&fast_path.ledger().unwrap()).unwrap()
		};
		assert_eq!(leave(100 + IDLE_BLOCKS), vec![9]);
		let status = fast_path.channel(9).await.unwrap();
		assert_eq!((status.sequence, status.deposit.as_str()), (5, "1000"));
		assert!(fast_path.state().unwrap().channels.contains_key(&9), "held again");
		// Left again at its expiry (10,000): not taken up.
		assert_eq!(leave(10_000), vec![9]);
		assert!(matches!(fast_path.channel(9).await, Err(RequestError::ChainAway(9))));
	}

	#[test]
	fn a_channel_with_a_voucher_to_settle_or_a_request_in_flight_stays() {
		let dir = tempfile::tempdir().unwrap();
		let vouched = fast_path(dir.path(), 5, &[5]);
		let mut state = vouched.state().unwrap();
		state.best = 100_000;
		state.forget_idle(&vouched.ledger().unwrap()).unwrap();
		assert!(state.channels.contains_key(&9), "vouched and not settled");

		let dir = tempfile::tempdir().unwrap();
		let busy = fast_path(dir.path(), 5, &[]);
		let mut state = busy.state().unwrap();
		state.best = 100_000;
		state.channels.get_mut(&9).unwrap().in_flight = 1;
		state.forget_idle(&busy.ledger().unwrap()).unwrap();
		assert!(state.channels.contains_key(&9), "answering");
	}

	/// Charlie's voucher for receipt `sequence` of channel 9 with `total` owed.
	fn charlies_voucher(sequence: u64, total: u128) -> SignedVoucher {
		let charlie = subxt_signer::sr25519::dev::charlie();
		let head = tip(sequence).head;
		let voucher = Voucher { channel: 9, sequence, total, receipts: head };
		SignedVoucher {
			sequence,
			total: total.to_string(),
			receipts: head,
			signature: Bytes(multi_signature(charlie.sign(&voucher.signing_payload()).0)),
		}
	}

	#[test]
	fn a_voucher_short_of_a_full_batch_waits_until_it_is_due() {
		let dir = tempfile::tempdir().unwrap();
		let fast_path = fast_path(dir.path(), 5, &[5]);
		assert!(fast_path.settlements(10).unwrap().is_empty(), "5 receipts, vouched 0 blocks ago");
		fast_path.state().unwrap().best = 110;
		assert_eq!(fast_path.settlements(10).unwrap().len(), 1, "due after 10 blocks");
	}

	#[test]
	fn a_settlement_stops_before_the_chains_bounds_on_models_and_contributions() {
		let receipt = |model, contributions: &[u64]| {
			WorkerReceipt {
				channel: 9,
				sequence: 1,
				model,
				artifact: H256::zero(),
				input_hash: H256::zero(),
				output_hash: H256::zero(),
				attribution: tributary_primitives::Attribution::truncate_from(
					contributions
						.iter()
						.map(|&c| (c, polkadot_sdk::sp_runtime::Perbill::from_percent(10)))
						.collect(),
				),
				class: H256::zero(),
				price: 1,
				worker: [0; 32],
			}
			.encode()
		};
		let limits = SettlementLimits { receipts: 16, models: 2, contributions: 3 };
		let three_models =
			[receipt(1, &[1, 2]), receipt(2, &[2]), receipt(1, &[3]), receipt(3, &[])];
		assert_eq!(fitting(&three_models, limits), 3, "the third model waits");
		let four_named = [receipt(1, &[1, 2]), receipt(1, &[3]), receipt(1, &[4])];
		assert_eq!(fitting(&four_named, limits), 2, "the fourth contribution waits");
		assert_eq!(fitting(&four_named, SettlementLimits::default()), 3, "bounds not known yet");
	}
}
