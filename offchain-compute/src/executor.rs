//! The executor: a bounded pool of threads that run models with libtorch.
//!
//! Work comes in two lanes. The chain's jobs, which have deadlines, are
//! admitted up to a capacity (the one the worker declares on chain, changed
//! when that changes); fast-path requests up to a capacity of their own.
//! Past either the executor refuses at once rather than queueing, so a
//! worker never accepts more than it declared and a burst of requests never
//! grows a queue. A free thread always takes a job before a request: the
//! fast path can delay a job by at most the request a thread is running. Each
//! thread keeps its own small cache of loaded models (a TorchScript module is
//! not shareable between threads), loaded only from hash-verified files.
//!
//! Containment: anyone can register a model, so a model file larger than
//! [`MAX_MODEL_BYTES`] is not loaded, a module whose output has the wrong
//! shape is refused, and a panic while loading or running one is caught: the
//! task's reply is an error (the worker declines the job) and the thread goes
//! on serving, with its cache of loaded models dropped. A task that runs past
//! the time limit (a module that loops) is answered with an error by a
//! watchdog; libtorch cannot be interrupted, so its thread is left to finish,
//! a fresh thread takes its place, and the model is condemned: this executor
//! never runs it again, so one bad model costs at most one stuck thread.
//! Loading a model is timed apart, against [`LOAD_TIME_LIMIT`]: a load is
//! bounded by the file size, and on a busy machine the first load of an
//! honest model can take longer than running it ever does, which must not
//! condemn it (its worker would stop serving it and decline its jobs).
//!
//! Determinism: libtorch's intra-op parallelism is pinned to one thread per
//! executor thread, so reductions always run in the same order; outputs are
//! quantised before hashing (see [`crate::model::Answer`]).

use crate::{
	content::{ContentError, ContentStore},
	model::{Answer, LoadedModel, ModelError, Timings},
};
use std::{
	collections::{HashSet, VecDeque},
	sync::{
		atomic::{AtomicBool, AtomicUsize, Ordering},
		mpsc, Arc, Condvar, Mutex,
	},
	time::{Duration, Instant},
};
use tch::Device;
use tributary_primitives::{Hash, ModelId};

/// How many models each executor thread keeps loaded.
const CACHED_MODELS: usize = 4;

/// How many adapters each executor thread keeps loaded over its bases'
/// modules: an adapter is a few small tensors and its span index.
pub const CACHED_ADAPTERS: usize = 1024;

/// The largest model file (module or index) an executor loads: 1 GiB.
pub const MAX_MODEL_BYTES: u64 = 1 << 30;

/// The longest a model may run on one input by default, once loaded: a
/// classifier answers in well under a millisecond, and a declined job must
/// still land inside a 10-block commit window.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(5);

/// The longest loading a model (verifying its files, reading the module and
/// its index, rebuilding a span index's suffix array) may take: far more than
/// any file under [`MAX_MODEL_BYTES`] needs, so only a load that hangs is cut
/// off.
pub const LOAD_TIME_LIMIT: Duration = Duration::from_secs(60);

/// How often the watchdog looks at the running tasks.
const WATCHDOG_TICK: Duration = Duration::from_millis(50);

/// The files that make up a model, as registered on chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ModelFiles {
	/// The model.
	pub model_id: ModelId,
	/// blake2-256 of its TorchScript module.
	pub artifact: Hash,
	/// blake2-256 of its attribution index.
	pub index: Hash,
}

/// Why a task produced no answer.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
	/// A model file is missing or does not match its hash.
	#[error(transparent)]
	Content(#[from] ContentError),
	/// A model file could not be fetched from the model's URI.
	#[error(transparent)]
	Fetch(#[from] crate::fetch::FetchError),
	/// The model's index failed the worker's check ([`crate::verify`]):
	/// the worker does not serve it.
	#[error("not serving model {model_id}: {reason}")]
	Unverified {
		/// The model.
		model_id: tributary_primitives::ModelId,
		/// What the check found.
		reason: String,
	},
	/// The model could not be loaded or run.
	#[error(transparent)]
	Model(#[from] ModelError),
	/// The input is not UTF-8 text.
	#[error("the job's input is not UTF-8 text")]
	InputNotText,
	/// A model file is over [`MAX_MODEL_BYTES`].
	#[error("model file {0:?} is {1} bytes, over the {MAX_MODEL_BYTES}-byte limit")]
	TooLarge(Hash, u64),
	/// Loading or running the model panicked.
	#[error("the model panicked: {0}")]
	Panicked(String),
	/// The model ran past the executor's time limit.
	#[error("the model ran past the {0:?} time limit")]
	TimedOut(Duration),
	/// The model once ran past the time limit: this executor no longer
	/// runs it.
	#[error("model artifact {0:?} ran past the time limit before and is not run again")]
	Condemned(Hash),
	/// The executor stopped before the task ran.
	#[error("the executor stopped")]
	Stopped,
}

/// An answer with what it cost.
#[derive(Debug)]
pub struct Timed {
	/// The answer.
	pub answer: Answer,
	/// How long the model and its attribution took.
	pub timings: Timings,
}

/// The reply to one task.
pub type Reply = Result<Timed, ExecError>;

type ReplyFn = Box<dyn FnOnce(Reply) + Send>;

struct Task {
	model: ModelFiles,
	input: Vec<u8>,
	lane: Lane,
	reply: ReplyFn,
}

/// Which kind of work a task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
	/// A job the chain assigned: taken first.
	Job = 0,
	/// A fast-path request.
	Request = 1,
}

/// The tasks waiting for a thread, by lane.
#[derive(Default)]
struct Waiting {
	jobs: VecDeque<Task>,
	requests: VecDeque<Task>,
	/// No more tasks come: threads exit once the lanes are empty.
	closed: bool,
}

impl Waiting {
	fn push(&mut self, task: Task) {
		match task.lane {
			Lane::Job => self.jobs.push_back(task),
			Lane::Request => self.requests.push_back(task),
		}
	}

	fn pop(&mut self) -> Option<Task> {
		self.jobs.pop_front().or_else(|| self.requests.pop_front())
	}
}

/// The queue was full: the task was not admitted.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the executor's queue is full")]
pub struct QueueFull;

/// The pool.
pub struct Executor {
	shared: Arc<Shared>,
	/// Each lane's capacity.
	capacity: [AtomicUsize; 2],
	watchdog: Option<std::thread::JoinHandle<()>>,
}

/// What the executor's threads and its watchdog share.
struct Shared {
	waiting: Mutex<Waiting>,
	/// Signalled when a task waits or the lanes close.
	ready: Condvar,
	store: ContentStore,
	device: Device,
	time_limit: Duration,
	/// Tasks admitted and not yet answered, by lane.
	queued: [AtomicUsize; 2],
	/// The threads serving the queue: those the watchdog gave up on are
	/// gone from here.
	threads: Mutex<Vec<Worker>>,
	/// Artifacts that ran past the time limit.
	condemned: Mutex<HashSet<Hash>>,
	/// Threads given up on, still stuck in a model.
	wedged: AtomicUsize,
	/// Adapters loaded into a thread's cache (cold loads).
	adapter_loads: AtomicUsize,
	/// Base modules loaded for adapters (not already held by a thread).
	base_loads: AtomicUsize,
	/// The models loaded, each with how many threads hold it.
	warm: Mutex<std::collections::BTreeMap<ModelId, usize>>,
	stopping: AtomicBool,
	spawned: AtomicUsize,
}

/// One executor thread and the task it is running.
struct Worker {
	slot: Arc<Mutex<Option<Running>>>,
	handle: std::thread::JoinHandle<()>,
}

/// A task under way: who gets its answer, unless the watchdog answered first.
struct Running {
	model: ModelFiles,
	lane: Lane,
	/// What it is doing, since when.
	phase: Phase,
	since: Instant,
	reply: ReplyFn,
}

/// What a task is doing: each has its own limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
	/// Loading its model (under [`LOAD_TIME_LIMIT`]).
	Loading,
	/// Running it (under the executor's time limit).
	Running,
}

impl Running {
	/// The limit of the phase it is in, when it is past it at `now`.
	fn overdue(&self, time_limit: Duration, now: Instant) -> Option<Duration> {
		let limit = match self.phase {
			Phase::Loading => LOAD_TIME_LIMIT.max(time_limit),
			Phase::Running => time_limit,
		};
		(now.saturating_duration_since(self.since) > limit).then_some(limit)
	}
}

impl Executor {
	/// Starts `threads` executor threads on `device`, admitting at most
	/// `capacity` jobs at once and no requests, loading models from `store`,
	/// each task limited to [`DEFAULT_TIME_LIMIT`].
	pub fn start(threads: usize, capacity: usize, device: Device, store: ContentStore) -> Self {
		Self::with_time_limit(threads, capacity, device, store, DEFAULT_TIME_LIMIT)
	}

	/// As [`Executor::start`], each model run limited to `time_limit` (its
	/// load to [`LOAD_TIME_LIMIT`], or `time_limit` if longer). A task past
	/// it is answered [`ExecError::TimedOut`]; its thread, stuck in libtorch
	/// (which cannot be interrupted), is left to finish and replaced, and its
	/// model is never run again by this executor.
	pub fn with_time_limit(
		threads: usize,
		capacity: usize,
		device: Device,
		store: ContentStore,
		time_limit: Duration,
	) -> Self {
		tch::set_num_threads(1);
		if let Device::Cuda(_) = device {
			tch::Cuda::cudnn_set_benchmark(false);
		}
		let shared = Arc::new(Shared {
			waiting: Mutex::new(Waiting::default()),
			ready: Condvar::new(),
			store,
			device,
			time_limit,
			queued: [AtomicUsize::new(0), AtomicUsize::new(0)],
			threads: Mutex::new(Vec::new()),
			condemned: Mutex::new(HashSet::new()),
			wedged: AtomicUsize::new(0),
			adapter_loads: AtomicUsize::new(0),
			base_loads: AtomicUsize::new(0),
			warm: Mutex::default(),
			stopping: AtomicBool::new(false),
			spawned: AtomicUsize::new(0),
		});
		for _ in 0..threads.max(1) {
			spawn_thread(&shared);
		}
		let watchdog = {
			let shared = shared.clone();
			std::thread::Builder::new()
				.name("executor-watchdog".into())
				.spawn(move || watch(&shared))
				.expect("spawning the executor's watchdog")
		};
		Executor {
			shared,
			capacity: [AtomicUsize::new(capacity), AtomicUsize::new(0)],
			watchdog: Some(watchdog),
		}
	}

	/// Admits a job if fewer than the capacity are admitted and unfinished;
	/// `reply` is called with its answer on an executor thread.
	pub fn submit(
		&self,
		model: ModelFiles,
		input: Vec<u8>,
		reply: impl FnOnce(Reply) + Send + 'static,
	) -> Result<(), QueueFull> {
		self.admit(Lane::Job, model, input, Box::new(reply))
	}

	/// Admits a fast-path request if fewer than the request capacity are
	/// admitted and unfinished; it runs once no job waits.
	pub fn submit_request(
		&self,
		model: ModelFiles,
		input: Vec<u8>,
		reply: impl FnOnce(Reply) + Send + 'static,
	) -> Result<(), QueueFull> {
		self.admit(Lane::Request, model, input, Box::new(reply))
	}

	fn admit(
		&self,
		lane: Lane,
		model: ModelFiles,
		input: Vec<u8>,
		reply: ReplyFn,
	) -> Result<(), QueueFull> {
		let queued = &self.shared.queued[lane as usize];
		let admitted = queued.fetch_add(1, Ordering::SeqCst);
		if admitted >= self.capacity[lane as usize].load(Ordering::SeqCst) {
			queued.fetch_sub(1, Ordering::SeqCst);
			return Err(QueueFull);
		}
		self.enqueue(Task { model, input, lane, reply });
		Ok(())
	}

	fn enqueue(&self, task: Task) {
		let reply = match self.shared.waiting.lock() {
			Ok(mut waiting) if !waiting.closed => {
				waiting.push(task);
				self.shared.ready.notify_one();
				return;
			}
			_ => task.reply,
		};
		self.shared.queued[task.lane as usize].fetch_sub(1, Ordering::SeqCst);
		reply(Err(ExecError::Stopped));
	}

	/// How many jobs it admits at once.
	pub fn capacity(&self) -> usize {
		self.capacity[Lane::Job as usize].load(Ordering::SeqCst)
	}

	/// Admits `capacity` jobs at once from now on; those admitted beyond it
	/// already still run.
	pub fn set_capacity(&self, capacity: usize) {
		self.capacity[Lane::Job as usize].store(capacity, Ordering::SeqCst);
	}

	/// Admits `capacity` fast-path requests at once from now on.
	pub fn set_request_capacity(&self, capacity: usize) {
		self.capacity[Lane::Request as usize].store(capacity, Ordering::SeqCst);
	}

	/// Runs a task in the job lane, past its capacity, and waits for it (for
	/// tools and benchmarks).
	pub fn run(&self, model: ModelFiles, input: Vec<u8>) -> Reply {
		let (tx, rx) = mpsc::channel();
		self.shared.queued[Lane::Job as usize].fetch_add(1, Ordering::SeqCst);
		self.enqueue(Task {
			model,
			input,
			lane: Lane::Job,
			reply: Box::new(move |r| drop(tx.send(r))),
		});
		rx.recv().map_err(|_| ExecError::Stopped)?
	}

	/// Jobs admitted and not yet finished.
	pub fn queued(&self) -> usize {
		self.queued_in(Lane::Job)
	}

	/// Tasks of `lane` admitted and not yet finished.
	pub fn queued_in(&self, lane: Lane) -> usize {
		self.shared.queued[lane as usize].load(Ordering::SeqCst)
	}

	/// The threads serving the lanes (not those stuck past the time limit).
	pub fn threads(&self) -> usize {
		self.shared.threads.lock().map_or(0, |t| t.len())
	}

	/// The artifacts that ran past the time limit, which it no longer runs.
	pub fn condemned(&self) -> HashSet<Hash> {
		self.shared.condemned.lock().map(|c| c.clone()).unwrap_or_default()
	}

	/// Threads given up on by the watchdog and still stuck in a model.
	pub fn wedged(&self) -> usize {
		self.shared.wedged.load(Ordering::SeqCst)
	}

	/// The models some thread holds loaded (warm): a request for one runs
	/// without loading anything.
	pub fn warm(&self) -> Vec<ModelId> {
		self.shared.warm.lock().map(|w| w.keys().copied().collect()).unwrap_or_default()
	}

	/// How many times a thread loaded an adapter it did not hold (cold
	/// loads), and how many times a base module for adapters.
	pub fn adapter_loads(&self) -> (usize, usize) {
		(
			self.shared.adapter_loads.load(Ordering::SeqCst),
			self.shared.base_loads.load(Ordering::SeqCst),
		)
	}

	/// Stops taking tasks and waits for the threads to finish what they hold
	/// (not for those stuck in a model past the time limit).
	pub fn shutdown(self) {
		self.close();
		let threads = self.shared.threads.lock().map(|mut t| std::mem::take(&mut *t));
		for thread in threads.unwrap_or_default() {
			let _ = thread.handle.join();
		}
	}
}

impl Executor {
	/// Takes no more tasks: the threads finish what waits, then exit.
	fn close(&self) {
		if let Ok(mut waiting) = self.shared.waiting.lock() {
			waiting.closed = true;
		}
		self.shared.ready.notify_all();
	}
}

impl Drop for Executor {
	fn drop(&mut self) {
		self.close();
		self.shared.stopping.store(true, Ordering::SeqCst);
		if let Some(watchdog) = self.watchdog.take() {
			let _ = watchdog.join();
		}
	}
}

fn spawn_thread(shared: &Arc<Shared>) {
	let slot = Arc::new(Mutex::new(None));
	let n = shared.spawned.fetch_add(1, Ordering::SeqCst);
	let handle = {
		let (shared, slot) = (shared.clone(), slot.clone());
		std::thread::Builder::new()
			.name(format!("executor-{n}"))
			.spawn(move || run_thread(&shared, &slot))
			.expect("spawning an executor thread")
	};
	if let Ok(mut threads) = shared.threads.lock() {
		threads.push(Worker { slot, handle });
	}
}

fn run_thread(shared: &Shared, slot: &Mutex<Option<Running>>) {
	let mut cache = Loaded::default();
	serve(shared, slot, &mut cache);
	cache.clear(shared);
}

/// Runs tasks until the lanes close or the watchdog replaces this thread.
fn serve(shared: &Shared, slot: &Mutex<Option<Running>>, cache: &mut Loaded) {
	loop {
		let Some(task) = next_task(shared) else { return };
		let Task { model, input, lane, reply } = task;
		let (phase, since) = (Phase::Loading, Instant::now());
		match slot.lock() {
			Ok(mut slot) => *slot = Some(Running { model, lane, phase, since, reply }),
			Err(_) => return,
		}
		// The model's clock starts once it is loaded.
		let loaded = || {
			if let Some(running) = slot.lock().ok().as_deref_mut().and_then(Option::as_mut) {
				running.phase = Phase::Running;
				running.since = Instant::now();
			}
		};
		let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
			execute(cache, shared, model, &input, loaded)
		}));
		let answer = run.unwrap_or_else(|panic| {
			// What a panic left half-built is not reused.
			cache.clear(shared);
			let message = panic
				.downcast_ref::<&str>()
				.map(|s| s.to_string())
				.or_else(|| panic.downcast_ref::<String>().cloned())
				.unwrap_or_else(|| "a panic without a message".into());
			Err(ExecError::Panicked(message))
		});
		let Some(running) = slot.lock().ok().and_then(|mut slot| slot.take()) else {
			// The watchdog answered and replaced this thread.
			shared.wedged.fetch_sub(1, Ordering::SeqCst);
			return;
		};
		shared.queued[running.lane as usize].fetch_sub(1, Ordering::SeqCst);
		(running.reply)(answer);
	}
}

/// The next task, a job before a request; `None` once the lanes are closed
/// and empty.
fn next_task(shared: &Shared) -> Option<Task> {
	let mut waiting = shared.waiting.lock().ok()?;
	loop {
		if let Some(task) = waiting.pop() {
			return Some(task);
		}
		if waiting.closed {
			return None;
		}
		waiting = shared.ready.wait(waiting).ok()?;
	}
}

/// Answers every task past its phase's limit with [`ExecError::TimedOut`],
/// condemns its model, and replaces its thread.
fn watch(shared: &Arc<Shared>) {
	while !shared.stopping.load(Ordering::SeqCst) {
		std::thread::sleep(WATCHDOG_TICK);
		let mut overdue = Vec::new();
		let now = Instant::now();
		if let Ok(mut threads) = shared.threads.lock() {
			threads.retain(|thread| {
				let Ok(mut slot) = thread.slot.lock() else { return true };
				match slot.as_ref().and_then(|r| r.overdue(shared.time_limit, now)) {
					Some(limit) => {
						overdue.extend(slot.take().map(|running| (running, limit)));
						false
					}
					None => true,
				}
			});
		}
		for (running, limit) in overdue {
			tracing::error!(
				model_id = running.model.model_id,
				phase = ?running.phase,
				?limit,
				"a model ran past its time limit: its thread is replaced and the model not run again"
			);
			if let Ok(mut condemned) = shared.condemned.lock() {
				condemned.insert(running.model.artifact);
			}
			shared.wedged.fetch_add(1, Ordering::SeqCst);
			spawn_thread(shared);
			shared.queued[running.lane as usize].fetch_sub(1, Ordering::SeqCst);
			(running.reply)(Err(ExecError::TimedOut(limit)));
		}
	}
}

/// One executor thread's loaded models, each cache bounded and the least
/// recently used dropped first: full models (a classifier, a language
/// model), adapters, and the modules adapters run over, one per base
/// (shared with the base model when that is loaded). What it holds is
/// counted in [`Shared::warm`], and uncounted when dropped.
#[derive(Default)]
struct Loaded {
	models: VecDeque<(ModelFiles, LoadedModel)>,
	adapters: VecDeque<(ModelFiles, LoadedModel)>,
	bases: VecDeque<(Hash, Arc<tch::CModule>)>,
}

/// Moves the entry of `cache` that `matches` to its back (the most recently
/// used), if there is one; its index.
fn touch<T>(cache: &mut VecDeque<T>, matches: impl Fn(&T) -> bool) -> Option<usize> {
	let position = cache.iter().position(matches)?;
	let entry = cache.remove(position)?;
	cache.push_back(entry);
	Some(cache.len() - 1)
}

/// Pushes `entry` to the back of `cache`, dropping the front while it
/// holds `bound`; `dropped` is told of each entry dropped.
fn push_bounded<T>(
	cache: &mut VecDeque<T>,
	bound: usize,
	entry: T,
	mut dropped: impl FnMut(&T),
) -> usize {
	while cache.len() >= bound {
		if let Some(old) = cache.pop_front() {
			dropped(&old);
		}
	}
	cache.push_back(entry);
	cache.len() - 1
}

/// Counts `model` as held by one more thread (`by` 1) or one fewer (-1).
fn count_warm(shared: &Shared, model: ModelId, by: isize) {
	if let Ok(mut warm) = shared.warm.lock() {
		let held = warm.entry(model).or_default();
		*held = held.saturating_add_signed(by);
		if *held == 0 {
			warm.remove(&model);
		}
	}
}

impl Loaded {
	/// The model of `files`, loaded if need be.
	fn model(&mut self, shared: &Shared, files: ModelFiles) -> Result<&LoadedModel, ExecError> {
		if let Some(i) = touch(&mut self.models, |(f, _)| *f == files) {
			return Ok(&self.models[i].1);
		}
		if let Some(i) = touch(&mut self.adapters, |(f, _)| *f == files) {
			return Ok(&self.adapters[i].1);
		}
		let (store, device) = (&shared.store, shared.device);
		for hash in [files.artifact, files.index] {
			let size = std::fs::metadata(store.path(&hash)).map(|m| m.len()).unwrap_or(0);
			if size > MAX_MODEL_BYTES {
				return Err(ExecError::TooLarge(hash, size));
			}
		}
		let (artifact, index) = (store.verified(&files.artifact)?, store.verified(&files.index)?);
		let Loaded { models, bases, .. } = self;
		let mut base_loaded = false;
		let model = LoadedModel::load(&artifact, &index, device, |base| {
			let held = models.iter().find_map(|(f, m)| (f.artifact == *base).then(|| m.module()));
			if let Some(module) = held.flatten() {
				return Ok(module);
			}
			if let Some(i) = touch(bases, |(hash, _)| hash == base) {
				return Ok(bases[i].1.clone());
			}
			let module = Arc::new(crate::model::load_module(&store.verified(base)?, device)?);
			push_bounded(bases, CACHED_MODELS, (*base, module.clone()), |_| {});
			base_loaded = true;
			Ok(module)
		})?;
		count_warm(shared, files.model_id, 1);
		let dropped = |(old, _): &(ModelFiles, LoadedModel)| count_warm(shared, old.model_id, -1);
		if model.is_adapter() {
			shared.adapter_loads.fetch_add(1, Ordering::SeqCst);
			if base_loaded {
				shared.base_loads.fetch_add(1, Ordering::SeqCst);
			}
			let i = push_bounded(&mut self.adapters, CACHED_ADAPTERS, (files, model), dropped);
			return Ok(&self.adapters[i].1);
		}
		let i = push_bounded(&mut self.models, CACHED_MODELS, (files, model), dropped);
		Ok(&self.models[i].1)
	}

	/// Drops everything, uncounting it.
	fn clear(&mut self, shared: &Shared) {
		for (files, _) in self.models.iter().chain(&self.adapters) {
			count_warm(shared, files.model_id, -1);
		}
		*self = Loaded::default();
	}
}

/// Runs one task, loading its model into `cache` first if need be; `loaded`
/// is called once the model is ready to run.
fn execute(
	cache: &mut Loaded,
	shared: &Shared,
	files: ModelFiles,
	input: &[u8],
	loaded: impl FnOnce(),
) -> Reply {
	if shared.condemned.lock().map_or(true, |c| c.contains(&files.artifact)) {
		return Err(ExecError::Condemned(files.artifact));
	}
	let input = std::str::from_utf8(input).map_err(|_| ExecError::InputNotText)?;
	let model = cache.model(shared, files)?;
	loaded();
	let (answer, timings) = model.answer_timed(input)?;
	Ok(Timed { answer, timings })
}

#[cfg(test)]
mod tests {
	use super::*;

	fn running(phase: Phase, since: Instant) -> Running {
		let model = ModelFiles { model_id: 0, artifact: Hash::zero(), index: Hash::zero() };
		Running { model, lane: Lane::Job, phase, since, reply: Box::new(|_| {}) }
	}

	#[test]
	fn a_slow_load_is_not_a_model_that_loops() {
		let limit = Duration::from_millis(500);
		let since = Instant::now();
		let loading = running(Phase::Loading, since);
		assert_eq!(loading.overdue(limit, since + Duration::from_secs(30)), None);
		assert_eq!(
			loading.overdue(limit, since + LOAD_TIME_LIMIT + Duration::from_millis(1)),
			Some(LOAD_TIME_LIMIT),
			"a load that hangs is cut off"
		);
	}

	#[test]
	fn the_run_is_timed_from_the_end_of_the_load() {
		let limit = Duration::from_millis(500);
		let since = Instant::now();
		let run = running(Phase::Running, since);
		assert_eq!(run.overdue(limit, since + Duration::from_millis(400)), None);
		assert_eq!(run.overdue(limit, since + Duration::from_millis(501)), Some(limit));
	}

	#[test]
	fn a_time_limit_over_the_load_limit_bounds_the_load_too() {
		let limit = LOAD_TIME_LIMIT * 2;
		let since = Instant::now();
		let loading = running(Phase::Loading, since);
		assert_eq!(loading.overdue(limit, since + LOAD_TIME_LIMIT + Duration::from_secs(1)), None);
		assert_eq!(loading.overdue(limit, since + limit + Duration::from_secs(1)), Some(limit));
	}
}
