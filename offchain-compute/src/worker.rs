//! The daemon: joins the stages. The [`follower`](crate::follower) hands it
//! each new best block; [`admission`](crate::admission) declares what it
//! serves, journals newly assigned jobs and hands them to the executor, whose
//! answers the [`recorder`](crate::recorder) journals; here each open job in
//! the journal is compared with the job on chain and its next step worked
//! out, and the [`submitter`](crate::submitter) sends the steps under
//! journaled nonces and resends what the node lost.
//!
//! The journal is written before each step leaves, so the process may die at
//! any moment: on restart it reads the journal and carries on. It is the one
//! piece of state the stages share, because the operator's commands (other
//! processes) share it too: SQLite, not a channel, is what serialises them.

use crate::{
	admission::{Admission, Running, ServePolicy},
	chain::{AtBlock, Call, Chain, ChainError, JobView, Sampled, Slot},
	content::ContentError,
	executor::Executor,
	fastpath::FastPath,
	fetch::Fetcher,
	follower::{Follower, OnBlock},
	health::Health,
	journal::{self, AccountCall, JobRecord, JobState, Journal, JournalError, Step},
	keys::WorkerKey,
	metrics::Metrics,
	recorder,
	stop::Stop,
	submitter::Submitter,
};
use futures::future::join_all;
use std::{
	collections::BTreeSet,
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};
use subxt::utils::AccountId32;
use subxt_signer::sr25519::Keypair;
use tokio::sync::mpsc;
use tributary_primitives::{JobId, JobStatus};

/// How the daemon runs.
#[derive(Clone, Debug)]
pub struct Options {
	/// The nodes' WebSocket URLs: the worker follows one, and moves to the
	/// next at once when it fails.
	pub nodes: Vec<String>,
	/// The longest the worker waits for the next block, or spends on one,
	/// before it counts the node as gone and reconnects.
	pub block_timeout: Duration,
	/// The first reconnect delay.
	pub min_backoff: Duration,
	/// The longest reconnect delay.
	pub max_backoff: Duration,
	/// Which models the worker declares it serves.
	pub serve: ServePolicy,
	/// Settle a channel's vouched receipts at least this often, in blocks.
	pub settle_every: u32,
}

/// How long finished jobs stay in the journal: twice the longest a job can
/// live on chain (`max_job_lifetime`, about an hour at 2 s blocks), so a job
/// is never pruned while the chain may still assign it.
const JOURNAL_RETENTION: Duration = Duration::from_secs(2 * 3600);

/// Every this many blocks the worker reads its sampled receipts not yet
/// opened from storage, beside the events: an opening that failed (a full
/// job queue, say) is sent again well within the challenge window. It reads
/// only its own sampled batches, whatever the number of batches on chain.
const RESCAN_SAMPLES_EVERY: u64 = 10;

impl Options {
	/// The reconnect delays: jittered, doubling from `min_backoff` up to
	/// `max_backoff`, never giving up.
	pub fn backoff(&self) -> backon::ExponentialBuilder {
		backon::ExponentialBuilder::new()
			.with_min_delay(self.min_backoff)
			.with_max_delay(self.max_backoff)
			.with_jitter()
			.without_max_times()
	}
}

/// Why the daemon stopped.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
	/// The journal failed: the worker cannot go on safely.
	#[error(transparent)]
	Journal(#[from] JournalError),
	/// The content directory cannot be read or written.
	#[error(transparent)]
	Content(#[from] ContentError),
	/// The node's runtime is newer than this worker: it must be upgraded.
	#[error(transparent)]
	Incompatible(ChainError),
}

/// The daemon.
pub struct Worker {
	follower: Follower,
	steps: Steps,
	health: Health,
}

/// What acts on each block: the jobs' steps and the declarations.
struct Steps {
	signer: Keypair,
	me: AccountId32,
	journal: Arc<Mutex<Journal>>,
	admission: Admission,
	executor: Arc<Executor>,
	metrics: Metrics,
	/// The nonces, picked up afresh on each connection.
	submitter: Option<Submitter>,
	/// The fast path, when the worker serves one.
	fast_path: Option<FastPath>,
	settle_every: u32,
	/// Whether a block registered or retired a model since the fast path's
	/// offers were read.
	models_changed: bool,
	/// The batches of this worker's that were sampled and may still hold
	/// receipts to open; `None` until every batch the chain keeps was read
	/// (on each connection, and after skipped blocks).
	sampled: Option<BTreeSet<u64>>,
}

impl Worker {
	/// A worker signing with `key`, journaling to `journal`, running jobs
	/// on `executor`, settling what `fast_path` (if any) answered. Answers
	/// are recorded by a task this spawns.
	pub fn new(
		options: Options,
		key: WorkerKey,
		journal: Journal,
		executor: Arc<Executor>,
		fetcher: Fetcher,
		metrics: Metrics,
		fast_path: Option<FastPath>,
	) -> Self {
		let WorkerKey { signer, salts } = key;
		let me = signer.public_key().to_account_id();
		let journal = Arc::new(Mutex::new(journal));
		let running = Running::default();
		let (answers, rx) = mpsc::channel(recorder::ANSWERS_WAITING);
		tokio::spawn(recorder::run(rx, journal.clone(), running.clone(), metrics.clone(), salts));
		let health = Health::new(executor.clone(), options.block_timeout);
		let admission = Admission::new(
			options.serve.clone(),
			me.clone(),
			journal.clone(),
			executor.clone(),
			fetcher,
			metrics.clone(),
			running,
			answers,
		);
		Worker {
			follower: Follower::new(&options, health.clone(), metrics.clone()),
			steps: Steps {
				signer,
				me,
				journal,
				admission,
				executor,
				metrics,
				submitter: None,
				fast_path,
				settle_every: options.settle_every,
				models_changed: true,
				sampled: None,
			},
			health,
		}
	}

	/// What the `/health` endpoint reports for this worker.
	pub fn health(&self) -> Health {
		self.health.clone()
	}

	/// Stops taking work and waits, up to `timeout`, until every job handed
	/// to the executor has its answer journaled; how many were still
	/// running. The journal carries their commits and reveals to the next
	/// start.
	pub async fn drain(&self, timeout: Duration) -> usize {
		self.health.draining();
		let deadline = Instant::now() + timeout;
		while self.steps.admission.running() > 0 && Instant::now() < deadline {
			tokio::time::sleep(Duration::from_millis(20)).await;
		}
		self.steps.admission.running()
	}

	/// Runs until the journal fails or the node's runtime is one this worker
	/// predates; node failures only make it reconnect.
	pub async fn run(&mut self) -> Result<(), WorkerError> {
		self.follower.run(&mut self.steps).await
	}
}

impl OnBlock for Steps {
	async fn connected(&mut self, chain: &Chain, at: &AtBlock) -> Result<(), Stop> {
		self.submitter =
			Some(Submitter::start(chain, at, &self.me, &self.journal, &self.metrics).await?);
		if let Some(fast_path) = &self.fast_path {
			fast_path.connected(chain);
			self.models_changed = true;
		}
		self.sampled = None;
		let assigned = chain.assignments(at, &self.me).await?;
		self.admission.admit(chain, at, &assigned).await?;
		tracing::info!(account = %self.me, open = assigned.len(), "following the chain");
		Ok(())
	}

	async fn block(
		&mut self,
		chain: &Chain,
		at: &AtBlock,
		skipped: bool,
	) -> Result<Option<u64>, Stop> {
		// The events of skipped blocks are not read: then the ComputeApi
		// says what this worker is assigned to.
		let news = chain.block_news(at, &self.me).await?;
		let new = if skipped { chain.assignments(at, &self.me).await? } else { news.assigned };
		self.admission.admit(chain, at, &new).await?;
		if skipped || news.models_changed {
			self.admission.models_changed()?;
			self.models_changed = true;
		}
		let finalized = chain.at_finalized().await?;
		let mut submitter = self.submitter.take().ok_or_else(|| {
			Stop::Node(ChainError::Node("a block before the connection was set up".into()))
		})?;
		let sampled = self.sampled_at(chain, at, skipped, news.sampled).await?;
		let stepped = self.act(chain, at, &finalized, &sampled, &mut submitter).await;
		self.submitter = Some(submitter);
		stepped
	}
}

impl Steps {
	/// The worker's sampled receipts to open at `at`: those the block's
	/// events name (`news`), or, every `RESCAN_SAMPLES_EVERY` blocks, all it
	/// has left unopened, read from storage, so an opening that failed is
	/// sent again. Only the batches it knows of are read, unless it may have
	/// missed some.
	async fn sampled_at(
		&mut self,
		chain: &Chain,
		at: &AtBlock,
		skipped: bool,
		news: Vec<Sampled>,
	) -> Result<Vec<Sampled>, Stop> {
		if skipped {
			self.sampled = None;
		}
		if let Some(known) = &mut self.sampled {
			known.extend(news.iter().map(|s| s.batch));
			if at.block_number() % RESCAN_SAMPLES_EVERY != 0 {
				return Ok(news);
			}
		}
		let known: Option<Vec<u64>> = self.sampled.as_ref().map(|k| k.iter().copied().collect());
		let found = chain.sampled_batches(at, &self.me, known.as_deref()).await?;
		self.sampled = Some(found.iter().map(|s| s.batch).collect());
		Ok(found)
	}

	/// Works out and sends this block's steps and declarations; returns the
	/// nearest deadline this worker has to meet.
	async fn act(
		&mut self,
		chain: &Chain,
		at: &AtBlock,
		finalized: &AtBlock,
		sampled: &[Sampled],
		submitter: &mut Submitter,
	) -> Result<Option<u64>, Stop> {
		submitter.on_block(chain, at, finalized).await?;
		let open = self.journal()?.open_jobs()?;
		let views = join_all(open.iter().map(|job| chain.job(at, job.job_id, &self.me)))
			.await
			.into_iter()
			.collect::<Result<Vec<_>, _>>()?;
		// What ends a job is read on the finalized chain, for every job the
		// best block says has ended, at once.
		let same_block = finalized.block_hash() == at.block_hash();
		let settled = join_all(open.iter().zip(&views).map(|(job, view)| async {
			match view {
				Some(view) if terminal(view).is_some() => {
					if same_block {
						Ok(Some(Some(view.clone())))
					} else {
						chain.job(finalized, job.job_id, &self.me).await.map(Some)
					}
				}
				_ => Ok(None),
			}
		}))
		.await;
		let mut calls = Vec::new();
		if let Some(record) = chain.worker(at, &self.me).await? {
			let declared = self.admission.declarations(chain, at, &record).await?;
			calls.extend(declared.into_iter().map(|call| (None, call)));
			if let Some(fast_path) = &self.fast_path {
				let offers = if self.models_changed || fast_path.offered() != record.models {
					let models = join_all(record.models.iter().map(|m| chain.model(at, *m))).await;
					let models = models.into_iter().collect::<Result<Vec<_>, _>>()?;
					Some(models.into_iter().flatten().collect())
				} else {
					None
				};
				self.models_changed = false;
				fast_path.on_block(chain, at, finalized, record.class, offers).await?;
				for settlement in fast_path.settlements(self.settle_every)? {
					self.metrics.receipts_sent.inc_by(settlement.receipts.len() as u64);
					tracing::info!(
						channel = settlement.channel,
						receipts = settlement.receipts.len(),
						"settling fast-path receipts"
					);
					calls.push((None, Call::Account(AccountCall::Settle(settlement))));
				}
				for opening in fast_path.openings(sampled)? {
					tracing::info!(
						batch = opening.batch,
						sequence = opening.sequence,
						"opening a receipt sampled for audit"
					);
					calls.push((None, Call::Account(AccountCall::OpenAudit(opening))));
				}
			}
		}
		let mut owed_by = None;
		for ((job, view), settled) in open.into_iter().zip(views).zip(settled) {
			let job_id = job.job_id;
			if let Some(deadline) = view.as_ref().and_then(owed) {
				owed_by = Some(owed_by.map_or(deadline, |by: u64| by.min(deadline)));
			}
			let step = self.step(chain, at, finalized, submitter.settled(), job, view, settled?);
			if let Some(call) = step.await? {
				calls.push((Some(job_id), call));
			}
		}
		submitter.send(chain, at, &self.signer, calls).await?;
		submitter.repair(chain, at, &self.signer, |job_id, step| self.wanted(job_id, step)).await?;
		self.journal()?.prune_finished(JOURNAL_RETENTION)?;
		self.metrics.queue_depth.set(self.executor.queued() as u64);
		self.metrics.observe_adapter_loads(self.executor.adapter_loads());
		Ok(owed_by)
	}

	/// Takes the next step of one journaled job, given the chain's view:
	/// journal bookkeeping and inference here, the transaction to send (if
	/// any) returned.
	/// `settled` is the job as the finalized chain holds it, given when the
	/// best block says it ended for this worker; `final_nonce` is this
	/// worker's account nonce at `finalized`.
	async fn step(
		&self,
		chain: &Chain,
		at: &AtBlock,
		finalized: &AtBlock,
		final_nonce: u64,
		job: JobRecord,
		view: Option<JobView>,
		settled: Option<Option<JobView>>,
	) -> Result<Option<Call>, Stop> {
		// Jobs are never removed on chain: a block without this one is older
		// than its submission (a stream may start before it), so wait.
		let Some(view) = view else { return Ok(None) };
		if let Some(settled) = settled {
			// A best block can be retracted; what is final decides whether
			// the worker is done with a job. Until then it waits.
			return match settled.as_ref().and_then(terminal) {
				Some((state, why)) => self.finish(job.job_id, state, why),
				None => Ok(None),
			};
		}
		let mut state = job.state;
		if let (JobState::Computed | JobState::CommitSent, Slot::Committed(on_chain)) =
			(state, view.slot)
		{
			// After a lost journal the answer is computed again, and its salt
			// derived again: it reveals only if it is what was committed.
			if self.commitment(&job) != Some(on_chain) {
				tracing::error!(job_id = job.job_id, "the answer is not the one committed");
				return self.finish(job.job_id, JobState::Abandoned, "committed to another answer");
			}
			self.journal()?.set_state(job.job_id, JobState::Committed)?;
			state = JobState::Committed;
		}
		let commit_lost = state == JobState::CommitSent
			&& view.slot == Slot::Assigned
			&& self.commit_lost(chain, at, finalized, final_nonce, &job).await?;
		Ok(match (state, view.slot, view.status) {
			// Committed and not journaled: the journal was lost; compute again.
			(JobState::Admitted, Slot::Assigned | Slot::Committed(_), _) => {
				if !self.admission.execute(chain, at, &job).await? {
					return self.finish(
						job.job_id,
						JobState::Abandoned,
						"its model is not registered",
					);
				}
				None
			}
			(JobState::Computed, Slot::Assigned, JobStatus::Committing | JobStatus::Queued) => {
				self.commit_call(&job)
			}
			(JobState::CommitSent, Slot::Assigned, JobStatus::Committing | JobStatus::Queued)
				if commit_lost =>
			{
				tracing::info!(
					job_id = job.job_id,
					"the commitment did not land: sending it again"
				);
				self.commit_call(&job)
			}
			(JobState::Failed, Slot::Assigned, JobStatus::Committing | JobStatus::Queued) => {
				Some(Call::Decline { job_id: job.job_id })
			}
			(JobState::Committed, Slot::Committed(_), JobStatus::Revealing) => {
				self.reveal_call(&job)
			}
			_ => None,
		})
	}

	/// Whether the step journaled for `job_id` is still the one to take, for
	/// the submitter deciding between resending it and a filler.
	/// A step whose nonce went unused is still wanted while its job is
	/// open: on a chain with forks the block that held it may have been
	/// retracted, and whatever came after it in the journal (a reveal after
	/// a commit) depends on it.
	fn wanted(&self, job_id: JobId, step: Step) -> Option<Call> {
		let job = self.journal().ok()?.job(job_id).ok()??;
		if matches!(job.state, JobState::Done | JobState::Abandoned) {
			return None;
		}
		match step {
			Step::Commit => self.commit_call(&job),
			Step::Reveal => self.reveal_call(&job),
			Step::Decline => Some(Call::Decline { job_id }),
			_ => None,
		}
	}

	/// Whether the commitment sent for `job` did not take: the finalized
	/// chain used its nonce (a filler took it, or the commitment failed on
	/// a branch where the worker was not assigned) and still waits for it.
	/// Both are read at the same finalized block, whichever node it comes
	/// from, so neither a best block lagging finality nor a node lagging
	/// the one the worker followed before can make a commitment that may
	/// still land look lost. While the block handled (`at`) lags finality
	/// the question waits for a later block: a worker behind a fast chain
	/// would otherwise read every such job once more per block.
	async fn commit_lost(
		&self,
		chain: &Chain,
		at: &AtBlock,
		finalized: &AtBlock,
		final_nonce: u64,
		job: &JobRecord,
	) -> Result<bool, Stop> {
		let Some(nonce) = job.commit_nonce else { return Ok(false) };
		if finalized.block_number() > at.block_number() || final_nonce <= nonce {
			return Ok(false);
		}
		let view = chain.job(finalized, job.job_id, &self.me).await?;
		Ok(view.is_some_and(|view| view.awaits_commitment()))
	}

	fn commit_call(&self, job: &JobRecord) -> Option<Call> {
		Some(Call::Commit { job_id: job.job_id, commitment: self.commitment(job)? })
	}

	/// This worker's commitment to the answer journaled for `job`.
	fn commitment(&self, job: &JobRecord) -> Option<subxt::utils::H256> {
		let result = job.result.as_ref()?;
		let attribution = tributary_primitives::Attribution::truncate_from(
			result
				.attribution
				.iter()
				.map(|(c, p)| (*c, polkadot_sdk::sp_runtime::Perbill::from_parts(*p)))
				.collect(),
		);
		let commitment = tributary_primitives::commitment(
			job.job_id,
			&self.me.0,
			&tributary_primitives::output_hash(&result.output),
			&attribution,
			&result.salt,
		);
		Some(commitment.0.into())
	}

	fn reveal_call(&self, job: &JobRecord) -> Option<Call> {
		let result = job.result.as_ref()?;
		Some(Call::Reveal {
			job_id: job.job_id,
			output: result.output.clone(),
			attribution: result.attribution.clone(),
			salt: result.salt,
		})
	}

	fn finish(&self, job_id: JobId, state: JobState, why: &str) -> Result<Option<Call>, Stop> {
		self.journal()?.set_state(job_id, state)?;
		let outcome = if state == JobState::Done { "revealed" } else { "abandoned" };
		self.metrics.jobs.with_label_values(&[outcome]).inc();
		tracing::info!(job_id, outcome, why, "job finished");
		Ok(None)
	}

	fn journal(&self) -> Result<std::sync::MutexGuard<'_, Journal>, Stop> {
		Ok(journal::lock(&self.journal)?)
	}
}

/// How a job ended for this worker in `view`, if it did.
fn terminal(view: &JobView) -> Option<(JobState, &'static str)> {
	let ended =
		matches!(view.status, JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled);
	match view.slot {
		Slot::Revealed => Some((JobState::Done, "revealed")),
		Slot::Absent => Some((JobState::Abandoned, "no longer assigned")),
		_ if ended => Some((JobState::Abandoned, "the job ended first")),
		_ => None,
	}
}

/// The deadline of the window in which this worker still has to act on a
/// job: its commit while it is assigned, its reveal while it has committed.
fn owed(view: &JobView) -> Option<u64> {
	let acts = matches!(
		(view.status, &view.slot),
		(JobStatus::Committing, Slot::Assigned)
			| (JobStatus::Committing | JobStatus::Revealing, Slot::Committed(_))
	);
	acts.then_some(view.deadline).flatten().map(u64::from)
}
