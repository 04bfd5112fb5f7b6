//! The operator's commands (`claim`, `set-capacity`, `serve-models`,
//! `deregister`, `status`), run beside the daemon or without it.
//!
//! They sign for the daemon's account, so they take their nonces from the
//! daemon's journal (see [`crate::journal`]): nothing they send collides
//! with the daemon's transactions, and a call the node loses is sent again
//! by a running daemon. Settings the daemon keeps up (the models served, the
//! capacity) are written to the journal too, so a running daemon keeps to
//! the operator's latest word instead of undoing it.

use crate::{
	chain::{Call, Chain, WorkerView},
	journal::{AccountCall, JobState, Journal},
};
use anyhow::Context;
use std::path::Path;
use subxt::utils::AccountId32;
use subxt_signer::sr25519::Keypair;

/// A connection to the chain and the daemon's journal, signing as the worker.
pub struct Operator {
	chain: Chain,
	journal: Journal,
	signer: Keypair,
	me: AccountId32,
}

/// What `status` shows.
#[derive(Debug)]
pub struct Status {
	/// The worker's account, as the chain writes it.
	pub account: String,
	/// Its record on chain, if registered.
	pub worker: Option<WorkerView>,
	/// What it can claim, in units.
	pub claimable: u128,
	/// Its journaled jobs, by state.
	pub jobs: Vec<(JobState, u64)>,
	/// The highest nonce journaled.
	pub highest_nonce: Option<u64>,
	/// The models the operator set with `serve-models`, if any.
	pub served: Option<Vec<tributary_primitives::ModelId>>,
	/// The capacity the operator declared last, if any.
	pub capacity: Option<u32>,
}

impl Operator {
	/// Connects to the first of `nodes` that answers and opens `journal`.
	pub async fn open(nodes: &[String], journal: &Path, signer: Keypair) -> anyhow::Result<Self> {
		let chain = Chain::connect_any(nodes)
			.await
			.with_context(|| format!("connecting to {}", nodes.join(", ")))?;
		let journal = Journal::open(journal)
			.with_context(|| format!("opening the journal {}", journal.display()))?;
		let me = signer.public_key().to_account_id();
		Ok(Operator { chain, journal, signer, me })
	}

	/// The journal, for settings.
	pub fn journal(&self) -> &Journal {
		&self.journal
	}

	/// Sends `call` under the next nonce the journal gives and waits until
	/// it is final; the events it emitted, as `Pallet.Event`.
	pub async fn send(&mut self, call: AccountCall) -> anyhow::Result<Vec<String>> {
		let at = self.chain.at_best().await?;
		let floor = self
			.chain
			.pool_nonce(&self.me)
			.await?
			.max(self.chain.account_nonce(&at, &self.me).await?);
		let nonce = self.journal.reserve_submission(floor, None, call.step(), Some(&call))?;
		let events = self
			.chain
			.submit_and_watch(&at, &self.signer, nonce, Call::Account(call))
			.await
			.with_context(|| {
				format!(
					"the transaction under nonce {nonce} did not succeed (the journal keeps it: \
					 a running daemon sends it again if the node lost it)"
				)
			})?;
		let mut names = Vec::new();
		for event in events.iter() {
			let event = event.context("decoding an event")?;
			names.push(format!("{}.{}", event.pallet_name(), event.event_name()));
		}
		Ok(names)
	}

	/// The worker's standing on chain and in its journal.
	pub async fn status(&self) -> anyhow::Result<Status> {
		let at = self.chain.at_best().await?;
		Ok(Status {
			account: self.chain.address(&at, &self.me)?,
			worker: self.chain.worker(&at, &self.me).await?,
			claimable: self.chain.claimable(&at, &self.me).await?,
			jobs: self.journal.job_counts()?,
			highest_nonce: self.journal.highest_nonce()?,
			served: self.journal.served_models()?,
			capacity: self.journal.capacity()?,
		})
	}
}
