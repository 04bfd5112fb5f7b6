//! The daemon: follows the chain's best blocks, runs the jobs assigned to
//! this worker, and commits and reveals their results.
//!
//! Each block the worker (1) admits the jobs newly assigned to it (from the
//! block's `JobAssigned` events, and after every (re)connect
//! from the `ComputeApi`'s `assignments`), (2) compares every open job in its
//! journal with the job on chain and takes the next step, and (3) lets the
//! [`Submitter`](crate::submitter::Submitter) resend what the node lost. The
//! journal is written before each step leaves, so the process may die at any
//! moment: on restart it reads the journal and carries on.
//!
//! When the node is unreachable or too slow, the worker drops the connection
//! and tries again after a jittered, exponentially growing delay (capped), so a
//! fleet of workers never storms a recovering node; the executor keeps running
//! what it admitted meanwhile, and its results wait in the journal. While it
//! owes a commit or reveal, no delay outlasts half the time left in that
//! window (estimated from the block times it saw), nor goes below one block
//! time: a worker that must act probes about once a block, and is back within
//! a block of its node.

use crate::{
	chain::{AtBlock, Call, Chain, ChainError, JobView, RegisteredModel, Slot, WorkerView},
	content::ContentError,
	executor::{ExecError, Executor, Reply},
	fetch::{FetchError, Fetched, Fetcher},
	health::Health,
	journal::{AccountCall, JobRecord, JobResult, JobState, Journal, JournalError, Step},
	keys::{SaltKey, WorkerKey},
	metrics::Metrics,
	stop::Stop,
	submitter::Submitter,
};
use backon::BackoffBuilder;
use futures::{future::join_all, FutureExt};
use std::{
	collections::HashSet,
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};
use subxt::utils::AccountId32;
use subxt_signer::sr25519::Keypair;
use tokio::sync::mpsc;
use tributary_primitives::{JobId, JobStatus, ModelId};

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
}

/// Which models a worker declares on chain that it serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServePolicy {
	/// These, whatever the content directory holds.
	Listed(Vec<ModelId>),
	/// Every active model whose artifact and index are in the content
	/// directory, fetched there from the model's URI if they are not:
	/// re-examined whenever a block registers or retires a model.
	Available,
}

/// The most models the runtime lets a worker declare
/// (`pallet_worker_staking::Config::MaxServedModels`).
pub const MAX_SERVED_MODELS: usize = 64;

/// How many blocks a declaration (of models, of capacity) may take to land
/// before it is sent again.
const RESEND_BLOCKS: u64 = 10;

/// How many blocks pass before the models to serve are worked out again
/// without news of a model: time for a failed fetch to be tried again.
const SERVE_REVIEW_BLOCKS: u64 = 30;

/// How many models' files are fetched ahead of jobs at once.
const PREFETCHES: usize = 2;

/// How long finished jobs stay in the journal: twice the longest a job can
/// live on chain (`max_job_lifetime`, about an hour at 2 s blocks), so a job
/// is never pruned while the chain may still assign it.
const JOURNAL_RETENTION: Duration = Duration::from_secs(2 * 3600);

/// What the worker wants to declare about itself and what it last asked for.
#[derive(Debug, Default)]
struct Serving {
	/// How the models to serve were chosen last.
	policy: Option<ServePolicy>,
	/// The models to declare, and the block they were worked out at; `None`
	/// until worked out (again).
	wanted: Option<(Vec<ModelId>, u64)>,
	/// The last declaration of models sent.
	sent: Sent<Vec<ModelId>>,
	/// The last declaration of capacity sent.
	capacity_sent: Sent<u32>,
	/// Models whose files are being fetched ahead of their jobs.
	prefetching: HashSet<ModelId>,
}

/// A declaration sent, and the block it was sent at.
#[derive(Debug)]
struct Sent<T>(Option<(T, u64)>);

impl<T> Default for Sent<T> {
	fn default() -> Self {
		Sent(None)
	}
}

impl<T: Clone + PartialEq> Sent<T> {
	/// Whether `wanted` is to be sent at block `now`: not sent yet, or sent
	/// [`RESEND_BLOCKS`] ago without landing. Records it if so.
	fn due(&mut self, wanted: &T, now: u64) -> bool {
		if let Some((sent, at)) = &self.0 {
			if sent == wanted && now < at.saturating_add(RESEND_BLOCKS) {
				return false;
			}
		}
		self.0 = Some((wanted.clone(), now));
		true
	}
}

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

/// The daemon's state.
pub struct Worker {
	options: Options,
	signer: Keypair,
	me: AccountId32,
	journal: Arc<Mutex<Journal>>,
	executor: Arc<Executor>,
	metrics: Metrics,
	/// Jobs handed to the executor whose answer has not come back.
	running: Arc<Mutex<HashSet<JobId>>>,
	answers: mpsc::UnboundedSender<(JobId, Reply)>,
	/// The chain's pace and this worker's nearest deadline.
	pace: Mutex<Pace>,
	/// Model files, fetched from their URIs into the content directory.
	fetcher: Fetcher,
	/// The models it serves.
	serving: Arc<Mutex<Serving>>,
	/// Bounds the fetches made ahead of jobs.
	prefetches: Arc<tokio::sync::Semaphore>,
	/// What `/health` reports.
	health: Health,
}

/// The reconnect delays since the worker last handled a block.
struct Reconnect {
	backoff: backon::ExponentialBackoff,
	/// Connections lost or refused since then.
	failed: usize,
}

/// What the worker knows of the chain's pace, so that its reconnect delays
/// never outlast a window it still has to meet.
#[derive(Debug, Default)]
struct Pace {
	/// The newest best block handled, and when.
	last: Option<(u64, Instant)>,
	/// The time between best blocks, smoothed.
	block_time: Option<Duration>,
	/// The earliest block at which a window this worker still has to act in
	/// closes.
	owed_by: Option<u64>,
}

impl Pace {
	/// Notes best block `number`, handled now; `measure` is false for the
	/// first block after a (re)connect, whose gap includes the outage.
	fn on_block(&mut self, number: u64, measure: bool) {
		let now = Instant::now();
		if let (true, Some((previous, at))) = (measure, self.last) {
			if number > previous {
				let blocks = u32::try_from(number - previous).unwrap_or(u32::MAX);
				let sample = now.duration_since(at) / blocks;
				self.block_time = Some(match self.block_time {
					Some(smoothed) => (smoothed * 3 + sample) / 4,
					None => sample,
				});
			}
		}
		self.last = Some((number, now));
	}

	/// The longest reconnect delay allowed now: `max` while nothing is owed;
	/// otherwise half the time estimated to be left before the nearest
	/// deadline, but at least one block time.
	fn cap(&self, max: Duration) -> Duration {
		let (Some(by), Some((seen, at)), Some(block)) = (self.owed_by, self.last, self.block_time)
		else {
			return max;
		};
		let blocks = u32::try_from(by.saturating_sub(seen)).unwrap_or(u32::MAX);
		let left = block.saturating_mul(blocks).saturating_sub(at.elapsed());
		(left / 2).max(block).min(max)
	}
}

impl Worker {
	/// A worker signing with `signer`, journaling to `journal`, running jobs
	/// on `executor`. Answers are recorded by a task this spawns.
	pub fn new(
		options: Options,
		key: WorkerKey,
		journal: Journal,
		executor: Executor,
		fetcher: Fetcher,
		metrics: Metrics,
	) -> Self {
		let WorkerKey { signer, salts } = key;
		let me = signer.public_key().to_account_id();
		let journal = Arc::new(Mutex::new(journal));
		let running = Arc::new(Mutex::new(HashSet::new()));
		let (answers, rx) = mpsc::unbounded_channel();
		tokio::spawn(record_answers(rx, journal.clone(), running.clone(), metrics.clone(), salts));
		let executor = Arc::new(executor);
		let health = Health::new(executor.clone(), options.block_timeout);
		Worker {
			options,
			signer,
			me,
			journal,
			executor,
			metrics,
			running,
			answers,
			pace: Mutex::new(Pace::default()),
			fetcher,
			serving: Default::default(),
			prefetches: Arc::new(tokio::sync::Semaphore::new(PREFETCHES)),
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
		let running = || self.running.lock().map_or(0, |r| r.len());
		let deadline = Instant::now() + timeout;
		while running() > 0 && Instant::now() < deadline {
			tokio::time::sleep(Duration::from_millis(20)).await;
		}
		running()
	}

	/// Runs until the journal fails; node failures only make it reconnect:
	/// to the next node at once, and after a delay once every node has
	/// failed since the last block.
	pub async fn run(&self) -> Result<(), WorkerError> {
		let mut reconnect = Reconnect { backoff: self.backoff(), failed: 0 };
		let mut attempt = 0usize;
		loop {
			let node = &self.options.nodes[attempt % self.options.nodes.len().max(1)];
			attempt = attempt.wrapping_add(1);
			self.metrics.connection_attempts.inc();
			tracing::info!(%node, "connecting");
			let connected = tokio::time::timeout(self.options.block_timeout, Chain::connect(node))
				.await
				.unwrap_or_else(|_| Err(ChainError::Node("connecting timed out".into())));
			match connected {
				Ok(chain) => {
					self.health.connected(node);
					match self.follow(&chain, &mut reconnect).await {
						Ok(()) => tracing::warn!("the node's block stream ended"),
						Err(Stop::Node(e @ ChainError::Incompatible(_))) => {
							return Err(WorkerError::Incompatible(e))
						}
						Err(Stop::Node(e)) => {
							self.metrics.failures.with_label_values(&["node"]).inc();
							tracing::warn!(error = %e, "lost the node")
						}
						Err(Stop::Journal(e)) => return Err(e.into()),
						Err(Stop::Content(e)) => return Err(e.into()),
					}
				}
				Err(e) => {
					self.metrics.failures.with_label_values(&["node"]).inc();
					tracing::warn!(error = %e, "cannot reach the node")
				}
			}
			reconnect.failed += 1;
			if reconnect.failed % self.options.nodes.len().max(1) != 0 {
				continue;
			}
			let cap = self.pace.lock().map(|pace| pace.cap(self.options.max_backoff));
			let delay = reconnect
				.backoff
				.next()
				.unwrap_or(self.options.max_backoff)
				.min(cap.unwrap_or(self.options.max_backoff));
			tracing::info!(delay_ms = delay.as_millis() as u64, "backing off before reconnecting");
			tokio::time::sleep(delay).await;
		}
	}

	fn backoff(&self) -> backon::ExponentialBackoff {
		self.options.backoff().build()
	}

	/// Follows best blocks until the node fails.
	async fn follow(&self, chain: &Chain, reconnect: &mut Reconnect) -> Result<(), Stop> {
		let at = chain.at_best().await?;
		let mut newest = at.block_number();
		let mut submitter =
			Submitter::start(chain, &at, &self.me, &self.journal, &self.metrics).await?;
		// After a (re)connect the events of missed blocks are gone: ask the
		// chain what this worker is assigned to.
		let assigned = chain.assignments(&at, &self.me).await?;
		self.admit(chain, &at, &assigned).await?;
		tracing::info!(account = %self.me, open = assigned.len(), "following the chain");
		let mut blocks = chain.client().stream_best_blocks().await.map_err(node)?;
		let mut measure = false;
		loop {
			// A node that stops producing blocks or answering is as good as
			// gone: reconnect rather than wait on it forever.
			let next = tokio::time::timeout(self.options.block_timeout, blocks.next())
				.await
				.map_err(|_| Stop::Node(ChainError::Node("no new block in time".into())))?;
			let Some(block) = next else { break };
			let mut block = block.map_err(node)?;
			// When blocks come faster than the worker handles them, it jumps
			// to the newest: acting on stale state would miss windows.
			let mut skipped = false;
			while let Some(Some(newer)) = blocks.next().now_or_never() {
				block = newer.map_err(node)?;
				skipped = true;
			}
			// A new subscription replays recent blocks first: the worker only
			// moves forward from the state it started from.
			if block.number() <= newest {
				continue;
			}
			skipped |= block.number() > newest + 1;
			newest = block.number();
			if let Ok(mut pace) = self.pace.lock() {
				pace.on_block(newest, measure);
			}
			self.health.block(newest);
			measure = true;
			tracing::debug!(number = newest, hash = ?block.hash(), skipped, "best block");
			let work = async {
				let at = block.at().await.map_err(node)?;
				self.on_block(chain, &at, &mut submitter, skipped).await
			};
			tokio::time::timeout(self.options.block_timeout, work)
				.await
				.map_err(|_| Stop::Node(ChainError::Node("block work timed out".into())))??;
			*reconnect = Reconnect { backoff: self.backoff(), failed: 0 };
		}
		Ok(())
	}

	async fn on_block(
		&self,
		chain: &Chain,
		at: &AtBlock,
		submitter: &mut Submitter,
		skipped: bool,
	) -> Result<(), Stop> {
		// The events of skipped blocks are not read: then the ComputeApi
		// says what this worker is assigned to.
		let news = chain.block_news(at, &self.me).await?;
		let new = if skipped { chain.assignments(at, &self.me).await? } else { news.assigned };
		self.admit(chain, at, &new).await?;
		if skipped || news.models_changed {
			self.serving_lock()?.wanted = None;
		}
		let finalized = chain.at_finalized().await?;
		submitter.on_block(chain, at, &finalized).await?;
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
						chain.job(&finalized, job.job_id, &self.me).await.map(Some)
					}
				}
				_ => Ok(None),
			}
		}))
		.await;
		let mut calls = Vec::new();
		if let Some(record) = chain.worker(at, &self.me).await? {
			// The executor admits what the chain may assign to this worker.
			self.executor.set_capacity(record.capacity as usize);
			if let Some(call) = self.serve_call(chain, at, &record).await? {
				calls.push((None, call));
			}
			if let Some(call) = self.capacity_call(at, &record)? {
				calls.push((None, call));
			}
		}
		let mut owed_by = None;
		for ((job, view), settled) in open.into_iter().zip(views).zip(settled) {
			let job_id = job.job_id;
			if let Some(deadline) = view.as_ref().and_then(owed) {
				owed_by = Some(owed_by.map_or(deadline, |by: u64| by.min(deadline)));
			}
			if let Some(call) = self.step(chain, at, job, view, settled?).await? {
				calls.push((Some(job_id), call));
			}
		}
		if let Ok(mut pace) = self.pace.lock() {
			pace.owed_by = owed_by;
		}
		submitter.send(chain, at, &self.signer, calls).await?;
		submitter.repair(chain, at, &self.signer, |job_id, step| self.wanted(job_id, step)).await?;
		self.journal()?.prune_finished(JOURNAL_RETENTION)?;
		self.metrics.queue_depth.set(self.executor.queued() as u64);
		Ok(())
	}

	/// The capacity to declare, if the operator's (`run --capacity`,
	/// `set-capacity`) differs from the chain's and none is on its way.
	fn capacity_call(&self, at: &AtBlock, record: &WorkerView) -> Result<Option<Call>, Stop> {
		let Some(wanted) = self.journal()?.capacity()? else { return Ok(None) };
		if record.capacity == wanted
			|| !self.serving_lock()?.capacity_sent.due(&wanted, at.block_number())
		{
			return Ok(None);
		}
		tracing::info!(capacity = wanted, "declaring the capacity");
		Ok(Some(Call::Account(AccountCall::SetCapacity(wanted))))
	}

	/// The declaration of served models to send, if the chain's differs from
	/// what this worker wants and none is on its way.
	async fn serve_call(
		&self,
		chain: &Chain,
		at: &AtBlock,
		record: &WorkerView,
	) -> Result<Option<Call>, Stop> {
		let now = at.block_number();
		// The operator's `serve-models` overrides the command line.
		let policy = match self.journal()?.served_models()? {
			Some(models) => ServePolicy::Listed(models),
			None => self.options.serve.clone(),
		};
		let known = {
			let mut serving = self.serving_lock()?;
			if serving.policy.as_ref() != Some(&policy) {
				serving.policy = Some(policy.clone());
				serving.wanted = None;
			}
			serving.wanted.clone()
		};
		let wanted = match known {
			Some((wanted, worked_out)) if now < worked_out.saturating_add(SERVE_REVIEW_BLOCKS) => {
				wanted
			}
			_ => {
				let wanted = self.wanted_models(chain, at, &policy).await?;
				self.serving_lock()?.wanted = Some((wanted.clone(), now));
				wanted
			}
		};
		if record.models == wanted || !self.serving_lock()?.sent.due(&wanted, now) {
			return Ok(None);
		}
		tracing::info!(models = ?wanted, "declaring the models served");
		Ok(Some(Call::Account(AccountCall::ServeModels(wanted))))
	}

	/// The models this worker should declare, in ascending order, at most
	/// [`MAX_SERVED_MODELS`]; the files of those it wants and lacks are
	/// fetched meanwhile (a model it can fetch is declared once it has).
	async fn wanted_models(
		&self,
		chain: &Chain,
		at: &AtBlock,
		policy: &ServePolicy,
	) -> Result<Vec<ModelId>, Stop> {
		let active = chain.active_models(at).await?;
		let mut wanted = match policy {
			ServePolicy::Listed(models) => models.clone(),
			ServePolicy::Available => Vec::new(),
		};
		for model in active {
			if let ServePolicy::Listed(models) = policy {
				if !models.contains(&model.files.model_id) {
					continue;
				}
			}
			if !self.holds(&model).await? {
				self.prefetch(model)?;
			} else if *policy == ServePolicy::Available {
				wanted.push(model.files.model_id);
			}
		}
		wanted.sort_unstable();
		wanted.dedup();
		if wanted.len() > MAX_SERVED_MODELS {
			tracing::warn!(
				models = wanted.len(),
				"more models than a worker may serve; declaring the first {MAX_SERVED_MODELS}"
			);
			wanted.truncate(MAX_SERVED_MODELS);
		}
		Ok(wanted)
	}

	/// Whether both of `model`'s files are in the content directory, verified.
	async fn holds(&self, model: &RegisteredModel) -> Result<bool, Stop> {
		let files = model.files;
		for hash in [files.artifact, files.index] {
			if !self.fetcher.has(&hash).await.map_err(Stop::Content)? {
				return Ok(false);
			}
		}
		Ok(true)
	}

	/// Fetches `model`'s files in the background unless that is under way;
	/// once they are in, the models to declare are worked out again.
	fn prefetch(&self, model: RegisteredModel) -> Result<(), Stop> {
		if !self.serving_lock()?.prefetching.insert(model.files.model_id) {
			return Ok(());
		}
		let (fetcher, metrics, serving) =
			(self.fetcher.clone(), self.metrics.clone(), self.serving.clone());
		let slots = self.prefetches.clone();
		tokio::spawn(async move {
			let fetched = match slots.acquire().await {
				Ok(_slot) => fetch_model(&fetcher, &metrics, &model).await,
				Err(_) => return,
			};
			let model_id = model.files.model_id;
			match fetched {
				Ok(()) => tracing::info!(model_id, "the model's files are in"),
				Err(ref e) => {
					tracing::warn!(model_id, error = %e, "cannot fetch the model's files")
				}
			}
			if let Ok(mut serving) = serving.lock() {
				serving.prefetching.remove(&model_id);
				if fetched.is_ok() {
					serving.wanted = None;
				}
			}
		});
		Ok(())
	}

	fn serving_lock(&self) -> Result<std::sync::MutexGuard<'_, Serving>, Stop> {
		self.serving.lock().map_err(|_| {
			Stop::Journal(JournalError::Corrupt("the serving lock is poisoned".into()))
		})
	}

	/// Journals newly assigned jobs.
	async fn admit(&self, chain: &Chain, at: &AtBlock, jobs: &[JobId]) -> Result<(), Stop> {
		for &job_id in jobs {
			if self.journal()?.job(job_id)?.is_some() {
				continue;
			}
			if let Some(view) = chain.job(at, job_id, &self.me).await? {
				if self.journal()?.admit(job_id, view.model_id, &view.input)? {
					tracing::info!(job_id, model_id = view.model_id, "assigned");
				}
			}
		}
		Ok(())
	}

	/// Takes the next step of one journaled job, given the chain's view:
	/// journal bookkeeping and inference here, the transaction to send (if
	/// any) returned.
	/// `settled` is the job as the finalized chain holds it, given when the
	/// best block says it ended for this worker.
	async fn step(
		&self,
		chain: &Chain,
		at: &AtBlock,
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
		Ok(match (state, view.slot, view.status) {
			// Committed and not journaled: the journal was lost; compute again.
			(JobState::Admitted, Slot::Assigned | Slot::Committed(_), _) => {
				self.execute(chain, at, &job).await?;
				None
			}
			(JobState::Computed, Slot::Assigned, JobStatus::Committing | JobStatus::Queued) => {
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

	/// Hands an admitted job to the executor once its model's files are in
	/// (fetched first if need be, off the block loop), unless it is already
	/// under way; a full executor leaves it for the next block.
	async fn execute(&self, chain: &Chain, at: &AtBlock, job: &JobRecord) -> Result<(), Stop> {
		if self.running.lock().map(|r| r.contains(&job.job_id)).unwrap_or(true) {
			return Ok(());
		}
		let Some(model) = chain.model(at, job.model_id).await? else {
			return self
				.finish(job.job_id, JobState::Abandoned, "its model is not registered")
				.map(drop);
		};
		let job_id = job.job_id;
		if let Ok(mut running) = self.running.lock() {
			running.insert(job_id);
		}
		let (answers, executor, running) =
			(self.answers.clone(), self.executor.clone(), self.running.clone());
		let (fetcher, metrics, input) =
			(self.fetcher.clone(), self.metrics.clone(), job.input.clone());
		tokio::spawn(async move {
			if let Err(e) = fetch_model(&fetcher, &metrics, &model).await {
				let _ = answers.send((job_id, Err(ExecError::Fetch(e))));
				return;
			}
			let reply_to = answers.clone();
			let admitted = executor.submit(model.files, input, move |reply| {
				let _ = reply_to.send((job_id, reply));
			});
			if admitted.is_err() {
				metrics.failures.with_label_values(&["admission"]).inc();
				if let Ok(mut running) = running.lock() {
					running.remove(&job_id);
				}
			}
			metrics.queue_depth.set(executor.queued() as u64);
		});
		Ok(())
	}

	fn finish(&self, job_id: JobId, state: JobState, why: &str) -> Result<Option<Call>, Stop> {
		self.journal()?.set_state(job_id, state)?;
		let outcome = if state == JobState::Done { "revealed" } else { "abandoned" };
		self.metrics.jobs.with_label_values(&[outcome]).inc();
		tracing::info!(job_id, outcome, why, "job finished");
		Ok(None)
	}

	fn journal(&self) -> Result<std::sync::MutexGuard<'_, Journal>, Stop> {
		self.journal.lock().map_err(|_| {
			Stop::Journal(JournalError::Corrupt("the journal lock is poisoned".into()))
		})
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

/// Makes sure both of `model`'s files are in the content directory, counting
/// what was fetched.
async fn fetch_model(
	fetcher: &Fetcher,
	metrics: &Metrics,
	model: &RegisteredModel,
) -> Result<(), FetchError> {
	for hash in [model.files.artifact, model.files.index] {
		match fetcher.fetch(&model.uri, &hash).await {
			Ok((Fetched::Cached, _)) => {}
			Ok((Fetched::Downloaded(bytes), _)) => {
				metrics.fetches.with_label_values(&["downloaded"]).inc();
				metrics.fetched_bytes.inc_by(bytes);
			}
			Err(e) => {
				metrics.fetches.with_label_values(&["failed"]).inc();
				return Err(e);
			}
		}
	}
	Ok(())
}

/// Records the executor's answers in the journal as they come, connected or
/// not: a result and its salt are stored before anything is sent.
async fn record_answers(
	mut rx: mpsc::UnboundedReceiver<(JobId, Reply)>,
	journal: Arc<Mutex<Journal>>,
	running: Arc<Mutex<HashSet<JobId>>>,
	metrics: Metrics,
	salts: SaltKey,
) {
	while let Some((job_id, reply)) = rx.recv().await {
		if let Ok(mut running) = running.lock() {
			running.remove(&job_id);
		}
		match reply {
			Ok(timed) => {
				metrics.inference_seconds.observe(timed.inference.as_secs_f64());
				metrics.attribution_seconds.observe(timed.attribution.as_secs_f64());
				let salt = salts.salt(job_id);
				let result = JobResult {
					output: timed.answer.output,
					attribution: timed
						.answer
						.attribution
						.iter()
						.map(|(c, p)| (*c, p.deconstruct()))
						.collect(),
					salt,
				};
				let recorded = journal.lock().map_err(|_| ()).and_then(|j| {
					j.record_result(job_id, &result)
						.map_err(|e| tracing::error!(job_id, error = %e))
				});
				if recorded.is_ok() {
					tracing::info!(
						job_id,
						output = %String::from_utf8_lossy(&result.output),
						attributed = result.attribution.len(),
						inference_ms = timed.inference.as_secs_f64() * 1e3,
						attribution_ms = timed.attribution.as_secs_f64() * 1e3,
						"computed"
					);
				}
			}
			Err(e) => {
				metrics.failures.with_label_values(&["inference"]).inc();
				tracing::error!(job_id, error = %e, "inference failed; declining the job");
				if let Ok(journal) = journal.lock() {
					if let Err(e) = journal.record_failure(job_id) {
						tracing::error!(job_id, error = %e);
					}
				}
			}
		}
	}
}

fn node(e: impl std::fmt::Display) -> Stop {
	Stop::Node(crate::chain::node(e))
}

#[cfg(test)]
mod tests {
	use super::*;

	fn pace(seen: u64, block_ms: u64, owed_by: Option<u64>) -> Pace {
		Pace {
			last: Some((seen, Instant::now())),
			block_time: Some(Duration::from_millis(block_ms)),
			owed_by,
		}
	}

	#[test]
	fn nothing_owed_leaves_the_longest_delay() {
		let max = Duration::from_secs(15);
		assert_eq!(pace(100, 1_000, None).cap(max), max);
		assert_eq!(Pace::default().cap(max), max);
	}

	#[test]
	fn an_owed_window_caps_the_delay_at_half_the_time_left() {
		let cap = pace(100, 1_000, Some(110)).cap(Duration::from_secs(15));
		assert!(cap <= Duration::from_secs(5) && cap > Duration::from_millis(4_900), "{cap:?}");
		assert_eq!(
			pace(100, 1_000, Some(140)).cap(Duration::from_secs(15)),
			Duration::from_secs(15)
		);
	}

	#[test]
	fn a_window_about_to_close_is_probed_once_a_block() {
		let max = Duration::from_secs(15);
		assert_eq!(pace(100, 1_000, Some(101)).cap(max), Duration::from_secs(1));
		assert_eq!(pace(100, 1_000, Some(90)).cap(max), Duration::from_secs(1));
	}

	#[test]
	fn the_gap_across_a_reconnect_is_not_a_block_time() {
		let mut pace = Pace::default();
		pace.on_block(10, false);
		std::thread::sleep(Duration::from_millis(20));
		pace.on_block(11, true);
		let measured = pace.block_time.expect("one interval seen");
		assert!(measured >= Duration::from_millis(20), "{measured:?}");
		std::thread::sleep(Duration::from_millis(200));
		pace.on_block(12, false);
		assert_eq!(pace.block_time, Some(measured), "the outage is not averaged in");
		assert_eq!(pace.last.map(|(number, _)| number), Some(12));
	}
}
