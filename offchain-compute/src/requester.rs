//! The requester's side of the fast path: `tributary-worker ask`, and a
//! library for programs that ask workers directly.
//!
//! A [`Requester`] finds the workers that serve a model on chain, opens a
//! payment channel to each (or picks up the ones its book already holds),
//! spreads requests over them, and backs off with jitter when a worker is
//! busy. Before it signs the next voucher it checks every receipt: the
//! worker's signature, the channel, the sequence number, the model, the
//! hashes of its own input and of the output, the price the chain
//! registered, and the receipt chain's head. Answers it lost on their way
//! back (a receipt comes ahead of its book, or the window is full) it
//! fetches again and books if it signed their requests. Its [`Book`]
//! (SQLite) keeps each channel's tip, the voucher signed for it and every
//! receipt, written before the answer is handed back but not synced to
//! disk: a requester that restarts signs on from where it was, and holds
//! the receipts it may want to challenge. What a crash of the machine takes
//! from the book's tail is recovered: from the chain, what the worker
//! settled; from the worker, the answers since. The worker's journal is the
//! one synced before each answer leaves, so one sync, not two, is on an
//! answer's way.

use crate::{
	chain::Chain,
	fastpath::{
		signed_by, AnswersAuth, InferAnswer, InferRequest, RequestAuth, SignedVoucher,
		WorkerReceipt,
	},
	journal::{recoverable, JournalError},
	ledger::Tip,
	rpc::FastPathApiClient,
};
use anyhow::{anyhow, bail, Context};
use backon::BackoffBuilder;
use jsonrpsee::{
	core::client::Error as ClientError,
	ws_client::{WsClient, WsClientBuilder},
};
use polkadot_sdk::{
	sp_core::{sr25519, Bytes, H256},
	sp_crypto_hashing::blake2_256,
	sp_runtime::MultiSignature,
};
use rusqlite::{params, Connection, TransactionBehavior};
use std::{path::Path, time::Duration};
use subxt::{
	ext::codec::{Decode, Encode},
	utils::AccountId32,
};
use subxt_signer::sr25519::Keypair;
use tributary_primitives::{
	channels::{chain_receipt, ChannelId, Voucher},
	ModelId,
};

impl crate::cli::RequesterArgs {
	/// Connects to the first of the nodes that answers; the requester's key.
	pub async fn connect(&self) -> anyhow::Result<(Chain, Keypair)> {
		let signer = crate::keys::WorkerKey::load(&self.key)?.signer;
		let nodes = crate::cli::node_urls(Some(&self.node));
		let chain = Chain::connect_any(&nodes)
			.await
			.with_context(|| format!("connecting to {}", self.node))?;
		Ok((chain, signer))
	}
}

/// How often a busy worker is asked again before the next one is tried.
const BUSY_RETRIES: usize = 6;

/// The most a busy worker's retry hint is waited.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(2);

/// A requester's record of its channels: tips, vouchers and receipts.
pub struct Book {
	db: Connection,
}

/// A channel as the book holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookedChannel {
	/// The channel.
	pub channel: ChannelId,
	/// The worker it pays.
	pub worker: AccountId32,
	/// Where the worker answers.
	pub endpoint: String,
	/// Where its receipt chain stands.
	pub tip: Tip,
	/// The requester's signature over the voucher for the tip.
	pub signature: Option<Vec<u8>>,
}

impl Book {
	/// Opens (or creates) the book at `path`; a write survives the
	/// process's crash, not always the machine's (see the module's docs).
	pub fn open(path: &Path) -> Result<Self, JournalError> {
		let db = recoverable(path)?;
		db.execute_batch(
			"CREATE TABLE IF NOT EXISTS channels (
				channel INTEGER PRIMARY KEY,
				worker BLOB NOT NULL,
				endpoint TEXT NOT NULL,
				sequence INTEGER NOT NULL,
				head BLOB NOT NULL,
				total TEXT NOT NULL,
				signature BLOB
			);
			CREATE TABLE IF NOT EXISTS receipts (
				channel INTEGER NOT NULL,
				sequence INTEGER NOT NULL,
				receipt BLOB NOT NULL,
				signature BLOB NOT NULL,
				input TEXT NOT NULL,
				output TEXT NOT NULL,
				PRIMARY KEY (channel, sequence)
			);",
		)?;
		Ok(Book { db })
	}

	/// Records a channel just opened.
	pub fn add(
		&self,
		channel: ChannelId,
		worker: &AccountId32,
		endpoint: &str,
	) -> Result<(), JournalError> {
		self.db.execute(
			"INSERT OR IGNORE INTO channels (channel, worker, endpoint, sequence, head, total)
			 VALUES (?1, ?2, ?3, 0, ?4, '0')",
			params![channel as i64, worker.0.as_slice(), endpoint, H256::zero().as_bytes()],
		)?;
		Ok(())
	}

	/// Every channel in the book.
	pub fn channels(&self) -> Result<Vec<BookedChannel>, JournalError> {
		let mut stmt = self.db.prepare(
			"SELECT channel, worker, endpoint, sequence, head, total, signature FROM channels
			 ORDER BY channel",
		)?;
		let rows = stmt.query_map([], |r| {
			Ok((
				r.get::<_, i64>(0)?,
				r.get::<_, Vec<u8>>(1)?,
				r.get::<_, String>(2)?,
				r.get::<_, i64>(3)?,
				r.get::<_, Vec<u8>>(4)?,
				r.get::<_, String>(5)?,
				r.get::<_, Option<Vec<u8>>>(6)?,
			))
		})?;
		rows.map(|row| {
			let (channel, worker, endpoint, sequence, head, total, signature) = row?;
			let corrupt = |what: &str| JournalError::Corrupt(format!("the book's {what}"));
			Ok(BookedChannel {
				channel: channel as u64,
				worker: AccountId32(worker.try_into().map_err(|_| corrupt("worker"))?),
				endpoint,
				tip: Tip {
					sequence: sequence as u64,
					head: H256(head.try_into().map_err(|_| corrupt("head"))?),
					total: total.parse().map_err(|_| corrupt("total"))?,
				},
				signature,
			})
		})
		.collect()
	}

	/// Takes a checked receipt: the new tip, the voucher signed for it and
	/// the receipt, in one transaction.
	fn take(
		&mut self,
		channel: ChannelId,
		tip: Tip,
		voucher_signature: &[u8],
		answer: &InferAnswer,
		input: &str,
	) -> Result<(), JournalError> {
		let tx = self.db.transaction_with_behavior(TransactionBehavior::Immediate)?;
		let moved = tx.execute(
			"UPDATE channels SET sequence = ?2, head = ?3, total = ?4, signature = ?5
			 WHERE channel = ?1 AND sequence = ?6",
			params![
				channel as i64,
				tip.sequence as i64,
				tip.head.as_bytes(),
				tip.total.to_string(),
				voucher_signature,
				tip.sequence as i64 - 1
			],
		)?;
		if moved != 1 {
			return Err(JournalError::Corrupt(format!(
				"receipt {} of channel {channel} does not follow the book's tip",
				tip.sequence
			)));
		}
		tx.execute(
			"INSERT INTO receipts (channel, sequence, receipt, signature, input, output)
			 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
			params![
				channel as i64,
				tip.sequence as i64,
				answer.receipt.0,
				answer.signature.0,
				input,
				answer.output
			],
		)?;
		tx.commit()?;
		Ok(())
	}

	/// Moves a channel's tip up to `tip`, which the chain settled: for a
	/// book that lost its last receipts. No voucher is held for it (the
	/// worker holds one, the one it settled).
	fn adopt(&self, channel: ChannelId, tip: Tip) -> Result<(), JournalError> {
		self.db.execute(
			"UPDATE channels SET sequence = ?2, head = ?3, total = ?4, signature = NULL
			 WHERE channel = ?1 AND sequence < ?2",
			params![
				channel as i64,
				tip.sequence as i64,
				tip.head.as_bytes(),
				tip.total.to_string()
			],
		)?;
		Ok(())
	}

	/// Drops a channel the chain no longer holds.
	fn forget(&self, channel: ChannelId) -> Result<(), JournalError> {
		self.db.execute("DELETE FROM channels WHERE channel = ?1", params![channel as i64])?;
		Ok(())
	}
}

/// An answer as the requester hands it on.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Answered {
	/// The worker that answered, as the chain writes addresses.
	pub worker: String,
	/// The channel it is paid through.
	pub channel: ChannelId,
	/// The receipt's sequence number there.
	pub sequence: u64,
	/// The model's output.
	pub output: String,
	/// Its attribution: contribution ids and parts per billion.
	pub attribution: Vec<(u64, u32)>,
}

/// One channel in use: its worker's client and what the book holds.
struct Open {
	booked: BookedChannel,
	client: WsClient,
	/// The worker's address as the chain writes it.
	address: String,
}

/// Asks workers for answers on one model, over payment channels.
pub struct Requester {
	signer: Keypair,
	model: ModelId,
	price: u128,
	book: Book,
	open: Vec<Open>,
	next: usize,
	/// The last request nonce used.
	nonce: u64,
}

impl Requester {
	/// Connects to up to `workers` workers that serve `model`: channels the
	/// book holds first, then new ones opened with `deposit` for `lifetime`
	/// blocks.
	pub async fn connect(
		chain: &Chain,
		signer: Keypair,
		book: Book,
		model: ModelId,
		workers: usize,
		deposit: u128,
		lifetime: u32,
	) -> anyhow::Result<Self> {
		let at = chain.at_best().await?;
		let registered =
			chain.model(&at, model).await?.with_context(|| format!("no model {model}"))?;
		let me = signer.public_key().to_account_id();
		let serving = chain.workers_serving(&at, model).await?;
		let mut open = Vec::new();
		for mut booked in book.channels()? {
			if open.len() == workers {
				break;
			}
			match chain.channel(&at, booked.channel).await? {
				Some(view) if view.requester == me && view.expiry > at.block_number() as u32 => {
					if view.sequence > booked.tip.sequence {
						// The book lost receipts the chain settled since.
						let tip = view.settled_tip();
						tracing::info!(
							channel = booked.channel,
							book = booked.tip.sequence,
							settled = view.sequence,
							"the book was behind the chain: carrying on from what was settled"
						);
						book.adopt(booked.channel, tip)?;
						booked.tip = tip;
						booked.signature = None;
					}
					if serving.iter().any(|(w, _)| *w == booked.worker) {
						if let Some(client) = client(&booked.endpoint).await {
							let address = chain.address(&at, &booked.worker)?;
							open.push(Open { booked, client, address });
						}
					}
				}
				Some(_) => {}
				None => book.forget(booked.channel)?,
			}
		}
		// New channels go to workers that hold the model loaded first (an
		// adapter warm over its base answers without a cold load), then in
		// the chain's order; a few more are asked than needed.
		let mut candidates = Vec::new();
		for (worker, endpoint) in &serving {
			if candidates.len() == workers.saturating_sub(open.len()) * CANDIDATES_PER_CHANNEL {
				break;
			}
			if open.iter().any(|o| o.booked.worker == *worker) {
				continue;
			}
			let Some(client) = client(endpoint).await else { continue };
			let warm = client.info().await.is_ok_and(|info| {
				info.models.iter().any(|offer| offer.model == model && offer.warm)
			});
			candidates.push((warm, (worker, endpoint, client)));
		}
		for (worker, endpoint, client) in warm_first(candidates) {
			if open.len() == workers {
				break;
			}
			let expiry = (at.block_number() as u32).saturating_add(lifetime);
			let channel = chain
				.open_channel(&signer, worker, deposit, expiry)
				.await
				.with_context(|| format!("opening a channel to {worker}"))?;
			book.add(channel, worker, endpoint)?;
			tracing::info!(channel, %worker, endpoint, "opened a channel");
			let booked = BookedChannel {
				channel,
				worker: worker.clone(),
				endpoint: endpoint.clone(),
				tip: Tip::default(),
				signature: None,
			};
			open.push(Open { booked, client, address: chain.address(&at, worker)? });
		}
		if open.is_empty() {
			bail!("no reachable worker serves model {model}");
		}
		Ok(Requester { signer, model, price: registered.price, book, open, next: 0, nonce: 0 })
	}

	/// Asks for an answer to `input`, spreading requests over the workers
	/// and backing off with jitter while they are busy.
	pub async fn ask(&mut self, input: &str) -> anyhow::Result<Answered> {
		let mut last = anyhow!("no worker to ask");
		for _ in 0..self.open.len() {
			let index = self.next % self.open.len();
			self.next = self.next.wrapping_add(1);
			match self.ask_one(index, input).await {
				Ok(answered) => return Ok(answered),
				Err(e) => {
					tracing::warn!(worker = %self.open[index].booked.worker, error = %e, "no answer; trying the next worker");
					last = e;
				}
			}
		}
		Err(last)
	}

	/// A request nonce above every one used before: the clock in
	/// microseconds, which also keeps it above those of an earlier run.
	fn next_nonce(&mut self) -> u64 {
		let now = std::time::SystemTime::now()
			.duration_since(std::time::UNIX_EPOCH)
			.map_or(0, |d| d.as_micros() as u64);
		self.nonce = now.max(self.nonce + 1);
		self.nonce
	}

	/// `payload` signed with the requester's key, as a SCALE-encoded
	/// `MultiSignature`.
	fn sign(&self, payload: &[u8]) -> Vec<u8> {
		MultiSignature::Sr25519(sr25519::Signature::from_raw(self.signer.sign(payload).0)).encode()
	}

	/// A request for `input` on the channel at `index`, signed with a fresh
	/// nonce.
	fn request(&mut self, index: usize, input: &str) -> InferRequest {
		let nonce = self.next_nonce();
		let booked = &self.open[index].booked;
		let auth = RequestAuth {
			channel: booked.channel,
			nonce,
			model: self.model,
			input_hash: H256(blake2_256(input.as_bytes())),
		};
		InferRequest {
			channel: booked.channel,
			model: self.model,
			input: input.to_owned(),
			nonce,
			signature: Bytes(self.sign(&auth.signing_payload())),
			voucher: voucher(booked),
		}
	}

	async fn ask_one(&mut self, index: usize, input: &str) -> anyhow::Result<Answered> {
		let mut caught_up = false;
		let mut delays = backon::ExponentialBuilder::new()
			.with_min_delay(Duration::from_millis(5))
			.with_max_delay(MAX_RETRY_WAIT)
			.with_jitter()
			.with_max_times(BUSY_RETRIES)
			.build();
		loop {
			let request = self.request(index, input);
			match self.open[index].client.infer(request).await {
				Ok(answer) => {
					// Receipts signed between the book's last and this one
					// are answers that never reached it: fetched first.
					let sequence =
						WorkerReceipt::decode(&mut &answer.receipt.0[..]).map_or(0, |r| r.sequence);
					while sequence > self.open[index].booked.tip.sequence + 1 {
						if self.catch_up(index, sequence).await? == 0 {
							break;
						}
					}
					return self.take(index, input, answer);
				}
				// A window full of answers this requester never got.
				Err(ClientError::Call(e)) if e.code() == 1010 && !caught_up => {
					caught_up = true;
					if self.catch_up(index, u64::MAX).await? == 0 {
						bail!("{} (code {})", e.message(), e.code());
					}
				}
				Err(ClientError::Call(e)) if e.code() == 1011 => {
					let hint = e
						.data()
						.and_then(|d| serde_json::from_str::<serde_json::Value>(d.get()).ok())
						.and_then(|d| d["retryAfterMs"].as_u64())
						.map_or(Duration::ZERO, Duration::from_millis);
					let Some(delay) = delays.next() else {
						bail!("busy after {BUSY_RETRIES} retries");
					};
					tokio::time::sleep(delay.max(hint).min(MAX_RETRY_WAIT)).await;
				}
				Err(ClientError::Call(e)) => bail!("{} (code {})", e.message(), e.code()),
				Err(e) => bail!("{e}"),
			}
		}
	}

	/// Checks the answer's receipt against the request, then books it and
	/// signs the voucher for it.
	fn take(&mut self, index: usize, input: &str, answer: InferAnswer) -> anyhow::Result<Answered> {
		let booked = &self.open[index].booked;
		let receipt = check_receipt(booked, self.model, self.price, input, &answer)?;
		let tip = Tip {
			sequence: receipt.sequence,
			head: chain_receipt(&booked.tip.head, &receipt.hash()),
			total: booked.tip.total + receipt.price,
		};
		let payload = Voucher {
			channel: booked.channel,
			sequence: tip.sequence,
			total: tip.total,
			receipts: tip.head,
		}
		.signing_payload();
		let signature = self.sign(&payload);
		let channel = booked.channel;
		self.book.take(channel, tip, &signature, &answer, input)?;
		let open = &mut self.open[index];
		open.booked.tip = tip;
		open.booked.signature = Some(signature);
		Ok(Answered {
			worker: open.address.clone(),
			channel,
			sequence: tip.sequence,
			output: answer.output,
			attribution: answer.attribution,
		})
	}

	/// Fetches the answers the worker gave on the channel at `index` that
	/// never reached the book (a dropped connection, a run stopped before
	/// it booked them), up to receipt `before`, checks that this requester
	/// signed each one's request and each receipt as an answer's, and
	/// books them; how many.
	async fn catch_up(&mut self, index: usize, before: u64) -> anyhow::Result<usize> {
		let nonce = self.next_nonce();
		let (channel, after) =
			(self.open[index].booked.channel, self.open[index].booked.tip.sequence);
		let signature = Bytes(self.sign(&AnswersAuth { channel, after, nonce }.signing_payload()));
		let handed =
			self.open[index].client.answers(channel, after, nonce, signature).await.map_err(
				|e| anyhow!("fetching the answers after receipt {after} of channel {channel}: {e}"),
			)?;
		let me = self.signer.public_key().to_account_id();
		let mut count = 0;
		for back in handed {
			let receipt = WorkerReceipt::decode(&mut &back.answer.receipt.0[..])
				.map_err(|_| BadReceipt::Undecodable)?;
			if receipt.sequence >= before {
				break;
			}
			let auth = RequestAuth {
				channel,
				nonce: back.nonce,
				model: receipt.model,
				input_hash: H256(blake2_256(back.input.as_bytes())),
			};
			if !signed_by(&back.request, &auth.signing_payload(), &me) {
				bail!(
					"the worker handed back receipt {} of channel {channel} for a request this \
					 requester never signed",
					receipt.sequence
				);
			}
			self.take(index, &back.input, back.answer)?;
			count += 1;
		}
		tracing::info!(channel, after, count, "booked answers that had not reached the book");
		Ok(count)
	}

	/// Hands each worker the voucher for its last answers.
	pub async fn pay(&self) -> anyhow::Result<()> {
		for open in &self.open {
			if let Some(voucher) = voucher(&open.booked) {
				open.client.voucher(open.booked.channel, voucher).await.map_err(|e| {
					anyhow!("handing over the voucher of channel {}: {e}", open.booked.channel)
				})?;
			}
		}
		Ok(())
	}
}

/// The voucher for a booked channel's tip, if it has one.
fn voucher(booked: &BookedChannel) -> Option<SignedVoucher> {
	Some(SignedVoucher {
		sequence: booked.tip.sequence,
		total: booked.tip.total.to_string(),
		receipts: booked.tip.head,
		signature: Bytes(booked.signature.clone()?),
	})
}

/// How many workers are asked for each channel to open, to find warm ones.
const CANDIDATES_PER_CHANNEL: usize = 3;

/// `candidates` (each first whether it is warm), the warm ones first, each
/// side in its order.
fn warm_first<T>(mut candidates: Vec<(bool, T)>) -> impl Iterator<Item = T> {
	candidates.sort_by_key(|(warm, _)| !*warm);
	candidates.into_iter().map(|(_, candidate)| candidate)
}

/// A WebSocket client for a worker's endpoint (`http://` is served on the
/// same port), or none if it cannot be reached.
async fn client(endpoint: &str) -> Option<WsClient> {
	let url = match endpoint.split_once("://") {
		Some(("http", rest)) => format!("ws://{rest}"),
		Some(("https", rest)) => format!("wss://{rest}"),
		Some(_) => endpoint.to_owned(),
		None => format!("ws://{endpoint}"),
	};
	match WsClientBuilder::default().build(&url).await {
		Ok(client) => Some(client),
		Err(e) => {
			tracing::warn!(endpoint, error = %e, "a worker's endpoint cannot be reached");
			None
		}
	}
}

/// Why a receipt is not taken.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BadReceipt {
	/// The bytes are not a receipt.
	#[error("the receipt does not decode")]
	Undecodable,
	/// The signature is not the channel's worker's.
	#[error("the receipt is not signed by the channel's worker")]
	Signature,
	/// A field is not what was asked or agreed.
	#[error("the receipt's {0} is not what was asked")]
	Mismatch(&'static str),
}

/// Checks `answer`'s receipt for `input` on model `model` at `price`
/// against the booked channel; the receipt, if it is the next one.
pub fn check_receipt(
	booked: &BookedChannel,
	model: ModelId,
	price: u128,
	input: &str,
	answer: &InferAnswer,
) -> Result<WorkerReceipt, BadReceipt> {
	let receipt =
		WorkerReceipt::decode(&mut &answer.receipt.0[..]).map_err(|_| BadReceipt::Undecodable)?;
	if !signed_by(&answer.signature, &receipt.signing_payload(), &booked.worker) {
		return Err(BadReceipt::Signature);
	}
	let checks = [
		(receipt.channel == booked.channel, "channel"),
		(receipt.sequence == booked.tip.sequence + 1, "sequence number"),
		(receipt.worker == booked.worker.0, "worker"),
		(receipt.model == model, "model"),
		(receipt.price == price, "price"),
		(receipt.input_hash == H256(blake2_256(input.as_bytes())), "input hash"),
		(
			receipt.output_hash == tributary_primitives::output_hash(answer.output.as_bytes()),
			"output hash",
		),
		(
			answer.attribution
				== receipt
					.attribution
					.iter()
					.map(|(c, p)| (*c, p.deconstruct()))
					.collect::<Vec<_>>(),
			"attribution",
		),
		(answer.head == chain_receipt(&booked.tip.head, &receipt.hash()), "receipt chain head"),
	];
	match checks.iter().find(|(ok, _)| !ok) {
		Some((_, what)) => Err(BadReceipt::Mismatch(what)),
		None => Ok(receipt),
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use polkadot_sdk::sp_runtime::Perbill;
	use tributary_primitives::Attribution;

	/// Bob's answer to `input` on channel 5, the first on it, signed by `signer`.
	fn answer(signer: &Keypair, input: &str, price: u128) -> (BookedChannel, InferAnswer) {
		let bob = subxt_signer::sr25519::dev::bob().public_key().to_account_id();
		let output = r#"{"label":"weather","confidence":0.9}"#;
		let receipt = WorkerReceipt {
			channel: 5,
			sequence: 1,
			model: 2,
			artifact: H256::repeat_byte(1),
			input_hash: H256(blake2_256(input.as_bytes())),
			output_hash: tributary_primitives::output_hash(output.as_bytes()),
			attribution: Attribution::truncate_from(vec![(4, Perbill::from_percent(60))]),
			class: H256::repeat_byte(3),
			price,
			worker: bob.0,
		};
		let signature = MultiSignature::Sr25519(sr25519::Signature::from_raw(
			signer.sign(&receipt.signing_payload()).0,
		));
		let booked = BookedChannel {
			channel: 5,
			worker: bob,
			endpoint: "ws://127.0.0.1:1".into(),
			tip: Tip::default(),
			signature: None,
		};
		let answer = InferAnswer {
			output: output.into(),
			attribution: vec![(4, Perbill::from_percent(60).deconstruct())],
			receipt: Bytes(receipt.encode()),
			signature: Bytes(signature.encode()),
			head: chain_receipt(&H256::zero(), &receipt.hash()),
			total: price.to_string(),
		};
		(booked, answer)
	}

	#[test]
	fn warm_workers_come_first_each_side_in_the_chains_order() {
		let candidates = vec![(false, 'a'), (true, 'b'), (false, 'c'), (true, 'd')];
		assert_eq!(warm_first(candidates).collect::<String>(), "bdac");
	}

	#[test]
	fn a_receipt_is_taken_only_when_it_states_what_was_asked_signed_by_the_worker() {
		let bob = subxt_signer::sr25519::dev::bob();
		let (booked, good) = answer(&bob, "rain tonight", 10);
		assert_eq!(check_receipt(&booked, 2, 10, "rain tonight", &good).map(|r| r.sequence), Ok(1));

		let (_, forged) = answer(&subxt_signer::sr25519::dev::eve(), "rain tonight", 10);
		assert_eq!(
			check_receipt(&booked, 2, 10, "rain tonight", &forged),
			Err(BadReceipt::Signature)
		);
		let check = |model, price, input: &str, answer: &InferAnswer| {
			check_receipt(&booked, model, price, input, answer).unwrap_err()
		};
		assert_eq!(check(2, 10, "snow tonight", &good), BadReceipt::Mismatch("input hash"));
		assert_eq!(check(3, 10, "rain tonight", &good), BadReceipt::Mismatch("model"));
		assert_eq!(check(2, 9, "rain tonight", &good), BadReceipt::Mismatch("price"));
		let other_output = InferAnswer { output: "{}".into(), ..good.clone() };
		assert_eq!(
			check(2, 10, "rain tonight", &other_output),
			BadReceipt::Mismatch("output hash")
		);
		let other_head = InferAnswer { head: H256::zero(), ..good.clone() };
		assert_eq!(
			check(2, 10, "rain tonight", &other_head),
			BadReceipt::Mismatch("receipt chain head")
		);
		let truncated =
			InferAnswer { receipt: Bytes(good.receipt.0[..10].to_vec()), ..good.clone() };
		assert_eq!(check(2, 10, "rain tonight", &truncated), BadReceipt::Undecodable);
		let later = BookedChannel { tip: Tip { sequence: 1, ..Tip::default() }, ..booked.clone() };
		assert_eq!(
			check_receipt(&later, 2, 10, "rain tonight", &good),
			Err(BadReceipt::Mismatch("sequence number"))
		);
	}

	#[test]
	fn the_book_keeps_each_tip_with_its_voucher_and_receipt_across_reopening() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("book.sqlite");
		let (booked, good) = answer(&subxt_signer::sr25519::dev::bob(), "rain tonight", 10);
		let mut book = Book::open(&path).unwrap();
		book.add(5, &booked.worker, &booked.endpoint).unwrap();
		let tip = Tip { sequence: 1, head: good.head, total: 10 };
		book.take(5, tip, b"signature", &good, "rain tonight").unwrap();
		assert!(
			book.take(5, tip, b"again", &good, "rain tonight").is_err(),
			"one receipt per sequence"
		);
		drop(book);
		let book = Book::open(&path).unwrap();
		let channels = book.channels().unwrap();
		assert_eq!(channels.len(), 1);
		assert_eq!(channels[0].tip, tip);
		assert_eq!(channels[0].signature.as_deref(), Some(&b"signature"[..]));
		assert_eq!(voucher(&channels[0]).map(|v| v.sequence), Some(1));
	}
}
