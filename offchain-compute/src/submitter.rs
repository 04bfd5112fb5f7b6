//! The submitter: signs the worker's transactions under nonces it journals
//! first, and repairs what the node loses.
//!
//! Every transaction gets the next nonce, and the journal records the nonce
//! and the step before the transaction leaves. The chain accepts each nonce
//! once, so a step resent under its own nonce can never land twice. A node
//! that restarts or drops transactions leaves a gap: its next index for the
//! account (`system_accountNextIndex`, which counts the pool) falls below the
//! worker's next nonce. The submitter resends the journaled step at the gap if
//! it is still wanted, or a `system.remark` filler if the job has moved on, so
//! the transactions behind the gap are not stuck. Nonces are taken from the
//! journal, which the operator's commands share, so a call an operator made
//! while the daemon runs never collides with the daemon's, and is resent
//! whole if the node loses it.

use crate::{
	chain::{AtBlock, Call, Chain, ChainError},
	journal::{lock, Journal, Step},
	metrics::Metrics,
	stop::Stop,
};
use futures::future::join_all;
use std::sync::{Arc, Mutex};
use subxt::utils::AccountId32;
use subxt_signer::sr25519::Keypair;
use tributary_primitives::JobId;

/// The nonces of one worker's account.
pub struct Submitter {
	me: AccountId32,
	next: u64,
	/// The finalized chain's nonce for the account: the journal keeps every
	/// submission from here on.
	settled: u64,
	journal: Arc<Mutex<Journal>>,
	metrics: Metrics,
}

impl Submitter {
	/// Picks up from the chain and the journal: the next nonce is past both
	/// the node's and every nonce the journal has signed with.
	pub async fn start(
		chain: &Chain,
		at: &AtBlock,
		me: &AccountId32,
		journal: &Arc<Mutex<Journal>>,
		metrics: &Metrics,
	) -> Result<Self, Stop> {
		let pool = chain.pool_nonce(me).await?;
		let included = chain.account_nonce(at, me).await?;
		let journaled = lock(journal)?.highest_nonce()?.map_or(0, |n| n + 1);
		Ok(Submitter {
			me: me.clone(),
			next: pool.max(included).max(journaled),
			settled: 0,
			journal: journal.clone(),
			metrics: metrics.clone(),
		})
	}

	/// Forgets the submissions whose nonces the finalized chain has used:
	/// a best block's may yet be retracted, and then what it held is sent
	/// again under its own nonce.
	pub async fn on_block(
		&mut self,
		chain: &Chain,
		at: &AtBlock,
		finalized: &AtBlock,
	) -> Result<(), Stop> {
		let included = chain.account_nonce(at, &self.me).await?;
		self.next = self.next.max(included);
		self.settled = chain.account_nonce(finalized, &self.me).await?;
		lock(&self.journal)?.forget_submissions_below(self.settled)?;
		Ok(())
	}

	/// The account's nonce at the finalized block of the last
	/// [`Self::on_block`]: every transaction below it is final.
	pub fn settled(&self) -> u64 {
		self.settled
	}

	/// Journals each call (with its job, if it is for one) under the next
	/// nonce the journal gives, in order, then sends them all at once: the
	/// node's pool orders them by nonce, and a block's steps never wait on
	/// one another's round trips.
	pub async fn send(
		&mut self,
		chain: &Chain,
		at: &AtBlock,
		signer: &Keypair,
		calls: Vec<(Option<JobId>, Call)>,
	) -> Result<(), Stop> {
		if calls.is_empty() {
			return Ok(());
		}
		if self.unknown_in_pool(chain, at).await? {
			// A lost journal: what is in flight may be the very step about to
			// be taken. Nothing is sent until the pool has let it go; the
			// steps are worked out again from the chain next block.
			tracing::info!(
				"transactions the journal does not know are in the node's pool; waiting"
			);
			return Ok(());
		}
		let mut signed = Vec::with_capacity(calls.len());
		for (job_id, call) in calls {
			let account = match &call {
				Call::Account(account) => Some(account),
				_ => None,
			};
			let nonce =
				lock(&self.journal)?.reserve_submission(self.next, job_id, call.step(), account)?;
			self.next = nonce + 1;
			signed.push((nonce, call));
		}
		let sent = join_all(
			signed.into_iter().map(|(nonce, call)| self.transmit(chain, at, signer, nonce, call)),
		)
		.await;
		sent.into_iter().try_for_each(|r| r.map(drop))
	}

	/// Whether the node's pool holds transactions of this account under
	/// nonces the journal never gave out. The journal forgets below the
	/// finalized nonce, which on a fast chain can be past the best block the
	/// worker is handling: nonces below it are used, not in the pool.
	async fn unknown_in_pool(&self, chain: &Chain, at: &AtBlock) -> Result<bool, Stop> {
		let included = chain.account_nonce(at, &self.me).await?.max(self.settled);
		let pool = chain.pool_nonce(&self.me).await?;
		let journal = lock(&self.journal)?;
		for nonce in included..pool {
			if journal.submission(nonce)?.is_none() {
				return Ok(true);
			}
		}
		Ok(false)
	}

	/// Resends, under their own nonces, the journaled steps the node no
	/// longer holds; `wanted` says whether a job's journaled step is still
	/// wanted (and gives its call), otherwise a filler takes the nonce.
	pub async fn repair(
		&mut self,
		chain: &Chain,
		at: &AtBlock,
		signer: &Keypair,
		wanted: impl Fn(JobId, Step) -> Option<Call>,
	) -> Result<(), Stop> {
		let mut gap = chain.pool_nonce(&self.me).await?;
		// Another process (an operator's command) may have taken nonces.
		let journaled = lock(&self.journal)?.highest_nonce()?.map_or(0, |n| n + 1);
		self.next = self.next.max(journaled);
		while gap < self.next {
			let submission = lock(&self.journal)?.submission(gap)?;
			let call = submission.and_then(|s| match s.call {
				Some(account) => Some(Call::Account(account)),
				None => s.job_id.and_then(|job_id| wanted(job_id, s.step)),
			});
			let call = match call {
				Some(call) => call,
				None => {
					lock(&self.journal)?.record_submission(gap, None, Step::Filler)?;
					Call::Filler
				}
			};
			tracing::info!(nonce = gap, step = ?call.step(), "resending under its nonce");
			self.metrics.resubmissions.inc();
			if !self.transmit(chain, at, signer, gap, call).await? {
				break;
			}
			gap += 1;
		}
		Ok(())
	}

	async fn transmit(
		&self,
		chain: &Chain,
		at: &AtBlock,
		signer: &Keypair,
		nonce: u64,
		call: Call,
	) -> Result<bool, Stop> {
		let step = call.step();
		let job_id = match &call {
			Call::Commit { job_id, .. }
			| Call::Reveal { job_id, .. }
			| Call::Decline { job_id } => Some(*job_id),
			Call::Account(_) | Call::Filler => None,
		};
		match chain.submit(at, signer, nonce, call).await {
			Ok(hash) => {
				self.metrics.submissions.with_label_values(&[step.as_str()]).inc();
				tracing::info!(?job_id, nonce, step = ?step, tx = ?hash, "sent");
				Ok(true)
			}
			// Refused (a stale nonce, a full pool): the journal keeps the
			// step, and the next block's repair decides again.
			Err(ChainError::Refused(e)) => {
				self.metrics.failures.with_label_values(&["refused"]).inc();
				tracing::warn!(?job_id, nonce, step = ?step, error = %e, "the node refused a transaction");
				Ok(false)
			}
			Err(e) => Err(Stop::Node(e)),
		}
	}
}
