//! Admission: what the worker takes on. It declares on chain the models it
//! serves and the capacity it runs, fetches models' files ahead of their
//! jobs and checks their indexes ([`crate::verify`]), journals the jobs
//! assigned to it, and hands them to the executor once their files are in
//! and checked. A model that fails the check is never declared, and its
//! jobs are declined.
//!
//! The executor admits at most the capacity the chain records for this
//! worker; a job it refuses stays admitted in the journal and is offered
//! again next block. Answers travel back to the journal over a bounded
//! channel (see [`crate::recorder`]): an executor thread whose answer cannot
//! be recorded yet waits, rather than answers piling up in memory.

use crate::{
	chain::{AtBlock, Call, Chain, JobView, RegisteredModel, WorkerView},
	executor::{ExecError, Executor, Reply},
	fetch::{FetchError, Fetched, Fetcher},
	journal::{AccountCall, JobRecord, JobState, Journal, JournalError},
	metrics::Metrics,
	model::ModelError,
	stop::Stop,
	verify::verify_model,
};
use std::{
	collections::{HashMap, HashSet},
	sync::{Arc, Mutex, MutexGuard},
};
use subxt::utils::AccountId32;
use tokio::sync::mpsc;
use tributary_primitives::{Hash, JobId, ModelId};

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

/// The admission stage's state.
pub(crate) struct Admission {
	/// The command line's choice of models; the operator's `serve-models`
	/// (in the journal) overrides it.
	policy: ServePolicy,
	me: AccountId32,
	journal: Arc<Mutex<Journal>>,
	executor: Arc<Executor>,
	fetcher: Fetcher,
	metrics: Metrics,
	serving: Arc<Mutex<Serving>>,
	/// Bounds the fetches made ahead of jobs.
	prefetches: Arc<tokio::sync::Semaphore>,
	/// Jobs handed to the executor whose answer is not journaled yet.
	running: Running,
	/// Where the executor's answers go.
	answers: mpsc::Sender<(JobId, Reply)>,
}

/// The jobs handed to the executor whose answer is not journaled yet, shared
/// with the recorder that journals them.
pub(crate) type Running = Arc<Mutex<HashSet<JobId>>>;

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
	/// The models whose index passed the check, and those refused, with why.
	checked: HashMap<ModelId, Result<(), String>>,
	/// Each adapter that passed the check: its base's module and the URI
	/// it is served under.
	bases: HashMap<ModelId, (String, Hash)>,
	/// How many models the executor had condemned when the models to serve
	/// were last worked out.
	condemned: usize,
}

impl Serving {
	/// A prefetch of `model_id` ended, `ready` to serve or not. The models
	/// to declare are worked out again when it made the model servable or
	/// refused it for good (its index failed the check); files that could
	/// not be fetched are tried again at the next review, not every block.
	fn prefetched(&mut self, model_id: ModelId, ready: bool) {
		self.prefetching.remove(&model_id);
		if ready || matches!(self.checked.get(&model_id), Some(Err(_))) {
			self.wanted = None;
		}
	}
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

impl Admission {
	#[allow(clippy::too_many_arguments)]
	pub(crate) fn new(
		policy: ServePolicy,
		me: AccountId32,
		journal: Arc<Mutex<Journal>>,
		executor: Arc<Executor>,
		fetcher: Fetcher,
		metrics: Metrics,
		running: Running,
		answers: mpsc::Sender<(JobId, Reply)>,
	) -> Self {
		Admission {
			policy,
			me,
			journal,
			executor,
			fetcher,
			metrics,
			serving: Default::default(),
			prefetches: Arc::new(tokio::sync::Semaphore::new(PREFETCHES)),
			running,
			answers,
		}
	}

	/// How many jobs are with the executor, their answers not journaled.
	pub(crate) fn running(&self) -> usize {
		self.running.lock().map_or(0, |r| r.len())
	}

	/// Journals newly assigned jobs, and takes up again a job the worker
	/// left when it was no longer assigned and is now drawn for again.
	pub(crate) async fn admit(
		&self,
		chain: &Chain,
		at: &AtBlock,
		jobs: &[JobId],
	) -> Result<(), Stop> {
		for &job_id in jobs {
			let known = self.journal()?.job(job_id)?;
			if known.as_ref().is_some_and(|job| job.state != JobState::Abandoned) {
				continue;
			}
			let Some(view) = chain.job(at, job_id, &self.me).await? else { continue };
			match known {
				None => {
					if self.journal()?.admit(job_id, view.model_id, &view.input)? {
						tracing::info!(job_id, model_id = view.model_id, "assigned");
					}
				}
				Some(job) => {
					if let Some(state) = resumed(&job, &view) {
						self.journal()?.set_state(job_id, state)?;
						tracing::info!(job_id, ?state, "assigned again");
					}
				}
			}
		}
		Ok(())
	}

	/// A model was registered or retired, or blocks went unread: the models
	/// to serve are worked out again.
	pub(crate) fn models_changed(&self) -> Result<(), Stop> {
		self.serving_lock()?.wanted = None;
		Ok(())
	}

	/// Follows the chain's record of this worker: the executor admits the
	/// capacity recorded there; returns the declarations (of models, of
	/// capacity) to send where the chain's differ from what is wanted.
	pub(crate) async fn declarations(
		&self,
		chain: &Chain,
		at: &AtBlock,
		record: &WorkerView,
	) -> Result<Vec<Call>, Stop> {
		self.executor.set_capacity(record.capacity as usize);
		let condemned = self.executor.condemned().len();
		{
			let mut serving = self.serving_lock()?;
			if serving.condemned != condemned {
				serving.condemned = condemned;
				serving.wanted = None;
			}
		}
		let mut calls = Vec::new();
		if let Some(call) = self.serve_call(chain, at, record).await? {
			calls.push(call);
		}
		if let Some(call) = self.capacity_call(at, record)? {
			calls.push(call);
		}
		Ok(calls)
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
		let policy = match self.journal()?.served_models()? {
			Some(models) => ServePolicy::Listed(models),
			None => self.policy.clone(),
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
	/// fetched meanwhile (a model it can fetch is declared once it has). A
	/// model the executor condemned is never declared, listed or not.
	async fn wanted_models(
		&self,
		chain: &Chain,
		at: &AtBlock,
		policy: &ServePolicy,
	) -> Result<Vec<ModelId>, Stop> {
		let active = chain.active_models(at).await?;
		let condemned = self.executor.condemned();
		let mut wanted = match policy {
			ServePolicy::Listed(models) => models.clone(),
			ServePolicy::Available => Vec::new(),
		};
		for model in active {
			let refused = self.serving_lock()?.checked.get(&model.files.model_id).cloned();
			if let Some(Err(reason)) = refused {
				tracing::warn!(model_id = model.files.model_id, %reason, "not serving the model");
				wanted.retain(|id| *id != model.files.model_id);
				continue;
			}
			if condemned.contains(&model.files.artifact) {
				tracing::warn!(
					model_id = model.files.model_id,
					"not serving a model that ran past the time limit"
				);
				wanted.retain(|id| *id != model.files.model_id);
				continue;
			}
			if let ServePolicy::Listed(models) = policy {
				if !models.contains(&model.files.model_id) {
					continue;
				}
			}
			if !self.holds(&model).await? {
				self.prefetch(chain, at, model)?;
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

	/// Whether both of `model`'s files are in the content directory, verified,
	/// and its index passed the worker's check.
	async fn holds(&self, model: &RegisteredModel) -> Result<bool, Stop> {
		let files = model.files;
		if self.serving_lock()?.checked.get(&files.model_id) != Some(&Ok(())) {
			return Ok(false);
		}
		for hash in [files.artifact, files.index] {
			if !self.fetcher.has(&hash).await.map_err(Stop::Content)? {
				return Ok(false);
			}
		}
		Ok(true)
	}

	/// Fetches `model`'s files and checks its index in the background unless
	/// that is under way; once they are in, the models to declare are worked
	/// out again.
	fn prefetch(&self, chain: &Chain, at: &AtBlock, model: RegisteredModel) -> Result<(), Stop> {
		if !self.serving_lock()?.prefetching.insert(model.files.model_id) {
			return Ok(());
		}
		let ready = self.readiness(chain, at);
		let slots = self.prefetches.clone();
		tokio::spawn(async move {
			let prepared = match slots.acquire().await {
				Ok(_slot) => ready.prepare(&model).await,
				Err(_) => return,
			};
			let model_id = model.files.model_id;
			match prepared {
				Ok(()) => tracing::info!(model_id, "the model's files are in and checked"),
				Err(ref e) => tracing::warn!(model_id, error = %e, "cannot serve the model yet"),
			}
			if let Ok(mut serving) = ready.serving.lock() {
				serving.prefetched(model_id, prepared.is_ok());
			}
		});
		Ok(())
	}

	/// What a background task needs to make a model ready.
	fn readiness(&self, chain: &Chain, at: &AtBlock) -> Readiness {
		Readiness {
			chain: chain.clone(),
			at: at.clone(),
			fetcher: self.fetcher.clone(),
			metrics: self.metrics.clone(),
			serving: self.serving.clone(),
		}
	}

	/// Hands an admitted job to the executor once its model's files are in
	/// (fetched first if need be, off the block loop), unless it is already
	/// under way; a full executor leaves it for the next block. False when
	/// the job's model is not registered.
	pub(crate) async fn execute(
		&self,
		chain: &Chain,
		at: &AtBlock,
		job: &JobRecord,
	) -> Result<bool, Stop> {
		if self.running.lock().map(|r| r.contains(&job.job_id)).unwrap_or(true) {
			return Ok(true);
		}
		let Some(model) = chain.model(at, job.model_id).await? else { return Ok(false) };
		let job_id = job.job_id;
		if let Ok(mut running) = self.running.lock() {
			running.insert(job_id);
		}
		let (answers, executor, running) =
			(self.answers.clone(), self.executor.clone(), self.running.clone());
		let (ready, metrics, input) =
			(self.readiness(chain, at), self.metrics.clone(), job.input.clone());
		tokio::spawn(async move {
			if let Err(e) = ready.prepare(&model).await {
				let _ = answers.send((job_id, Err(e))).await;
				return;
			}
			let reply_to = answers.clone();
			// The reply comes on an executor thread, outside the runtime: it
			// waits there while the channel is full.
			let admitted = executor.submit(model.files, input, move |reply| {
				let _ = reply_to.blocking_send((job_id, reply));
			});
			if admitted.is_err() {
				metrics.failures.with_label_values(&["admission"]).inc();
				if let Ok(mut running) = running.lock() {
					running.remove(&job_id);
				}
			}
			metrics.queue_depth.set(executor.queued() as u64);
		});
		Ok(true)
	}

	fn serving_lock(&self) -> Result<MutexGuard<'_, Serving>, Stop> {
		self.serving.lock().map_err(|_| {
			Stop::Journal(JournalError::Corrupt("the serving lock is poisoned".into()))
		})
	}

	fn journal(&self) -> Result<MutexGuard<'_, Journal>, Stop> {
		Ok(crate::journal::lock(&self.journal)?)
	}
}

/// Where a job the worker abandoned resumes when `view` says it is assigned
/// to it again and may still commit: on a chain with forks the finalized
/// branch can drop the worker from a job (it leaves it) and a later draw
/// on that branch, a replacement's, can pick it again. Its answer, if
/// journaled, is committed as it is (its salt is derived from the job, so
/// it is the same answer); a commitment it sent before is waited for (it
/// may still land, and is resent under its nonce, so nothing is committed
/// twice) until the finalized chain shows it lost; otherwise the answer is
/// computed. `None` for a job it cannot take up (not assigned, already
/// committed, or ended).
fn resumed(job: &JobRecord, view: &JobView) -> Option<JobState> {
	(job.state == JobState::Abandoned && view.awaits_commitment()).then_some(
		match (&job.result, job.commit_nonce) {
			(Some(_), Some(_)) => JobState::CommitSent,
			(Some(_), None) => JobState::Computed,
			(None, _) => JobState::Admitted,
		},
	)
}

/// What makes a model ready to serve, off the block loop: its files fetched
/// and its index checked, once per model.
struct Readiness {
	chain: Chain,
	at: AtBlock,
	fetcher: Fetcher,
	metrics: Metrics,
	serving: Arc<Mutex<Serving>>,
}

impl Readiness {
	/// Fetches `model`'s files and checks its index unless that was done;
	/// a model refused once stays refused (the chain's record of a model
	/// and its contributions' content do not change), while a check the
	/// node or the network cut short is made again next time.
	async fn prepare(&self, model: &RegisteredModel) -> Result<(), ExecError> {
		let model_id = model.files.model_id;
		let files = [model.files.artifact, model.files.index];
		fetch_files(&self.fetcher, &self.metrics, &model.uri, &files).await?;
		let checked = self.serving.lock().ok().and_then(|s| s.checked.get(&model_id).cloned());
		let verdict = match checked {
			Some(verdict) => verdict,
			None => match verify_model(&self.chain, &self.at, &self.fetcher, model).await {
				Ok(()) => {
					// Found once, with the check; a failure is not kept, so
					// the next job tries again.
					if let Some(base) = self.base_of(model).await? {
						if let Ok(mut serving) = self.serving.lock() {
							serving.bases.insert(model_id, base);
						}
					}
					tracing::info!(model_id, "the model's index matches the chain and its data");
					Ok(())
				}
				Err(e) if e.is_transient() => {
					return Err(ExecError::Unverified { model_id, reason: e.to_string() })
				}
				Err(e) => {
					self.metrics.failures.with_label_values(&["unverified"]).inc();
					tracing::error!(model_id, error = %e, "refusing to serve the model");
					Err(e.to_string())
				}
			},
		};
		if let Ok(mut serving) = self.serving.lock() {
			serving.checked.insert(model_id, verdict.clone());
		}
		verdict.map_err(|reason| ExecError::Unverified { model_id, reason })?;
		let base = self.serving.lock().ok().and_then(|s| s.bases.get(&model_id).cloned());
		if let Some((uri, module)) = base {
			fetch_files(&self.fetcher, &self.metrics, &uri, &[module]).await?;
		}
		Ok(())
	}

	/// An adapter's base module (the check made sure the base is registered
	/// with it) and where the base's files are served; `None` for a model
	/// that is not an adapter.
	async fn base_of(&self, model: &RegisteredModel) -> Result<Option<(String, Hash)>, ExecError> {
		let index = self.fetcher.store().path(&model.files.index);
		let card = tokio::task::spawn_blocking(move || crate::model::adapter_card(&index))
			.await
			.map_err(|e| ModelError::BadIndex(e.to_string()))??;
		let Some(card) = card else { return Ok(None) };
		let unverified =
			|reason: String| ExecError::Unverified { model_id: model.files.model_id, reason };
		let base = self
			.chain
			.model(&self.at, card.base_model)
			.await
			.map_err(|e| unverified(e.to_string()))?
			.ok_or_else(|| unverified(format!("its base, model {}, is gone", card.base_model)))?;
		Ok(Some((base.uri, base.files.artifact)))
	}
}

/// Makes sure files `hashes` are in the content directory, fetched from the
/// server at `uri` if need be, counting what was fetched.
async fn fetch_files(
	fetcher: &Fetcher,
	metrics: &Metrics,
	uri: &str,
	hashes: &[Hash],
) -> Result<(), FetchError> {
	for hash in hashes {
		match fetcher.fetch(uri, hash).await {
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

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{chain::Slot, journal::JobResult};
	use subxt::utils::H256;
	use tributary_primitives::JobStatus;

	fn job(state: JobState, computed: bool, commit_nonce: Option<u64>) -> JobRecord {
		let result = computed.then(|| JobResult {
			output: b"{\"label\":\"weather\"}".to_vec(),
			attribution: vec![(3, 1_000_000_000)],
			salt: [7; 32],
		});
		JobRecord { job_id: 5, model_id: 0, input: b"rain?".to_vec(), state, result, commit_nonce }
	}

	fn view(status: JobStatus, slot: Slot) -> JobView {
		JobView { model_id: 0, input: b"rain?".to_vec(), status, slot, deadline: Some(48) }
	}

	#[test]
	fn a_model_whose_files_cannot_be_fetched_waits_for_the_review() {
		let mut serving = Serving { wanted: Some((vec![1], 40)), ..Default::default() };
		serving.prefetching.insert(2);
		serving.prefetched(2, false);
		assert!(serving.prefetching.is_empty());
		assert_eq!(serving.wanted, Some((vec![1], 40)), "not worked out again at the next block");

		serving.prefetching.insert(2);
		serving.checked.insert(2, Err("the index credits contribution 9".into()));
		serving.prefetched(2, false);
		assert_eq!(serving.wanted, None, "a refusal is applied at once");

		serving.wanted = Some((vec![1], 41));
		serving.prefetching.insert(3);
		serving.prefetched(3, true);
		assert_eq!(serving.wanted, None, "a model made ready is declared at once");
	}

	#[test]
	fn a_job_left_on_one_branch_and_drawn_again_is_taken_up() {
		let drawn_again = view(JobStatus::Queued, Slot::Assigned);
		assert_eq!(
			resumed(&job(JobState::Abandoned, true, None), &drawn_again),
			Some(JobState::Computed)
		);
		assert_eq!(
			resumed(&job(JobState::Abandoned, true, Some(12)), &drawn_again),
			Some(JobState::CommitSent),
			"the commitment sent before may still land: it is not sent twice"
		);
		let not_computed = job(JobState::Abandoned, false, None);
		assert_eq!(resumed(&not_computed, &drawn_again), Some(JobState::Admitted));
		let committing = view(JobStatus::Committing, Slot::Assigned);
		assert_eq!(
			resumed(&job(JobState::Abandoned, true, None), &committing),
			Some(JobState::Computed)
		);
	}

	#[test]
	fn a_job_it_cannot_take_up_stays_as_it_is() {
		let abandoned = job(JobState::Abandoned, true, Some(12));
		for (status, slot) in [
			(JobStatus::Committing, Slot::Absent),
			(JobStatus::Revealing, Slot::Committed(H256::repeat_byte(1))),
			(JobStatus::Committing, Slot::Committed(H256::repeat_byte(1))),
			(JobStatus::Completed, Slot::Assigned),
			(JobStatus::Failed, Slot::Assigned),
		] {
			assert_eq!(resumed(&abandoned, &view(status, slot)), None, "{status:?} {slot:?}");
		}
		let assigned = view(JobStatus::Committing, Slot::Assigned);
		for state in [JobState::Done, JobState::Computed, JobState::CommitSent] {
			assert_eq!(resumed(&job(state, true, None), &assigned), None, "{state:?}");
		}
	}
}
