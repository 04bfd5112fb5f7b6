//! The executor: a bounded pool of threads that run models with libtorch.
//!
//! Work is admitted up to a capacity (the one the worker declares on chain,
//! changed when that changes); past it the executor refuses at once rather
//! than queueing, so a worker never accepts more than it declared. Each
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
//!
//! Determinism: libtorch's intra-op parallelism is pinned to one thread per
//! executor thread, so reductions always run in the same order; outputs are
//! quantised before hashing (see [`crate::model::Answer`]).

use crate::{
	content::{ContentError, ContentStore},
	model::{Answer, LoadedModel, ModelError},
};
use std::{
	collections::{HashSet, VecDeque},
	sync::{
		atomic::{AtomicBool, AtomicUsize, Ordering},
		mpsc, Arc, Mutex,
	},
	time::{Duration, Instant},
};
use tch::Device;
use tributary_primitives::{Hash, ModelId};

/// How many models each executor thread keeps loaded.
const CACHED_MODELS: usize = 4;

/// The largest model file (module or index) an executor loads: 1 GiB.
pub const MAX_MODEL_BYTES: u64 = 1 << 30;

/// The longest a task may run by default: a classifier answers in well under
/// a millisecond, and a declined job must still land inside a 10-block
/// commit window.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(5);

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
	/// The forward and backward pass.
	pub inference: Duration,
	/// Scoring against the attribution index.
	pub attribution: Duration,
}

/// The reply to one task.
pub type Reply = Result<Timed, ExecError>;

type ReplyFn = Box<dyn FnOnce(Reply) + Send>;

struct Task {
	model: ModelFiles,
	input: Vec<u8>,
	reply: ReplyFn,
}

/// The queue was full: the task was not admitted.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the executor's queue is full")]
pub struct QueueFull;

/// The pool.
pub struct Executor {
	queue: mpsc::Sender<Task>,
	shared: Arc<Shared>,
	capacity: AtomicUsize,
	watchdog: Option<std::thread::JoinHandle<()>>,
}

/// What the executor's threads and its watchdog share.
struct Shared {
	receiver: Mutex<mpsc::Receiver<Task>>,
	store: ContentStore,
	device: Device,
	time_limit: Duration,
	/// Tasks admitted and not yet answered.
	queued: AtomicUsize,
	/// The threads serving the queue: those the watchdog gave up on are
	/// gone from here.
	threads: Mutex<Vec<Worker>>,
	/// Artifacts that ran past the time limit.
	condemned: Mutex<HashSet<Hash>>,
	/// Threads given up on, still stuck in a model.
	wedged: AtomicUsize,
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
	started: Instant,
	reply: ReplyFn,
}

impl Executor {
	/// Starts `threads` executor threads on `device`, admitting at most
	/// `capacity` tasks at once, loading models from `store`, each task
	/// limited to [`DEFAULT_TIME_LIMIT`].
	pub fn start(threads: usize, capacity: usize, device: Device, store: ContentStore) -> Self {
		Self::with_time_limit(threads, capacity, device, store, DEFAULT_TIME_LIMIT)
	}

	/// As [`Executor::start`], each task limited to `time_limit`. A task past
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
		let (queue, receiver) = mpsc::channel::<Task>();
		let shared = Arc::new(Shared {
			receiver: Mutex::new(receiver),
			store,
			device,
			time_limit,
			queued: AtomicUsize::new(0),
			threads: Mutex::new(Vec::new()),
			condemned: Mutex::new(HashSet::new()),
			wedged: AtomicUsize::new(0),
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
		Executor { queue, shared, capacity: AtomicUsize::new(capacity), watchdog: Some(watchdog) }
	}

	/// Admits a task if fewer than the capacity are admitted and unfinished;
	/// `reply` is called with its answer on an executor thread.
	pub fn submit(
		&self,
		model: ModelFiles,
		input: Vec<u8>,
		reply: impl FnOnce(Reply) + Send + 'static,
	) -> Result<(), QueueFull> {
		let queued = &self.shared.queued;
		let admitted = queued.fetch_add(1, Ordering::SeqCst);
		let refuse = || {
			queued.fetch_sub(1, Ordering::SeqCst);
			QueueFull
		};
		if admitted >= self.capacity() {
			return Err(refuse());
		}
		self.queue.send(Task { model, input, reply: Box::new(reply) }).map_err(|_| refuse())
	}

	/// How many tasks it admits at once.
	pub fn capacity(&self) -> usize {
		self.capacity.load(Ordering::SeqCst)
	}

	/// Admits `capacity` tasks at once from now on; those admitted beyond it
	/// already still run.
	pub fn set_capacity(&self, capacity: usize) {
		self.capacity.store(capacity, Ordering::SeqCst);
	}

	/// Runs a task and waits for it (for tools and benchmarks).
	pub fn run(&self, model: ModelFiles, input: Vec<u8>) -> Reply {
		let (tx, rx) = mpsc::channel();
		self.shared.queued.fetch_add(1, Ordering::SeqCst);
		self.queue
			.send(Task { model, input, reply: Box::new(move |r| drop(tx.send(r))) })
			.map_err(|_| ExecError::Stopped)?;
		rx.recv().map_err(|_| ExecError::Stopped)?
	}

	/// Tasks admitted and not yet finished.
	pub fn queued(&self) -> usize {
		self.shared.queued.load(Ordering::SeqCst)
	}

	/// The artifacts that ran past the time limit, which it no longer runs.
	pub fn condemned(&self) -> HashSet<Hash> {
		self.shared.condemned.lock().map(|c| c.clone()).unwrap_or_default()
	}

	/// Threads given up on by the watchdog and still stuck in a model.
	pub fn wedged(&self) -> usize {
		self.shared.wedged.load(Ordering::SeqCst)
	}

	/// Stops taking tasks and waits for the threads to finish what they hold
	/// (not for those stuck in a model past the time limit).
	pub fn shutdown(mut self) {
		let (tx, _) = mpsc::channel();
		drop(std::mem::replace(&mut self.queue, tx));
		let threads = self.shared.threads.lock().map(|mut t| std::mem::take(&mut *t));
		for thread in threads.unwrap_or_default() {
			let _ = thread.handle.join();
		}
	}
}

impl Drop for Executor {
	fn drop(&mut self) {
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
	let mut cache: VecDeque<(ModelFiles, LoadedModel)> = VecDeque::new();
	loop {
		let task = match shared.receiver.lock() {
			Ok(rx) => match rx.recv() {
				Ok(task) => task,
				Err(_) => return,
			},
			Err(_) => return,
		};
		let Task { model, input, reply } = task;
		match slot.lock() {
			Ok(mut slot) => *slot = Some(Running { model, started: Instant::now(), reply }),
			Err(_) => return,
		}
		let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
			execute(&mut cache, shared, model, &input)
		}));
		let answer = run.unwrap_or_else(|panic| {
			// What a panic left half-built is not reused.
			cache.clear();
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
		shared.queued.fetch_sub(1, Ordering::SeqCst);
		(running.reply)(answer);
	}
}

/// Answers every task past the time limit with [`ExecError::TimedOut`],
/// condemns its model, and replaces its thread.
fn watch(shared: &Arc<Shared>) {
	while !shared.stopping.load(Ordering::SeqCst) {
		std::thread::sleep(WATCHDOG_TICK);
		let mut overdue = Vec::new();
		if let Ok(mut threads) = shared.threads.lock() {
			threads.retain(|thread| {
				let Ok(mut slot) = thread.slot.lock() else { return true };
				match slot.as_ref() {
					Some(running) if running.started.elapsed() > shared.time_limit => {
						overdue.extend(slot.take());
						false
					}
					_ => true,
				}
			});
		}
		for running in overdue {
			tracing::error!(
				model_id = running.model.model_id,
				limit = ?shared.time_limit,
				"a model ran past the time limit: its thread is replaced and the model not run again"
			);
			if let Ok(mut condemned) = shared.condemned.lock() {
				condemned.insert(running.model.artifact);
			}
			shared.wedged.fetch_add(1, Ordering::SeqCst);
			spawn_thread(shared);
			shared.queued.fetch_sub(1, Ordering::SeqCst);
			(running.reply)(Err(ExecError::TimedOut(shared.time_limit)));
		}
	}
}

fn execute(
	cache: &mut VecDeque<(ModelFiles, LoadedModel)>,
	shared: &Shared,
	files: ModelFiles,
	input: &[u8],
) -> Reply {
	let (store, device) = (&shared.store, shared.device);
	if shared.condemned.lock().map_or(true, |c| c.contains(&files.artifact)) {
		return Err(ExecError::Condemned(files.artifact));
	}
	let input = std::str::from_utf8(input).map_err(|_| ExecError::InputNotText)?;
	let position = match cache.iter().position(|(f, _)| *f == files) {
		Some(p) => p,
		None => {
			for hash in [files.artifact, files.index] {
				let size = std::fs::metadata(store.path(&hash)).map(|m| m.len()).unwrap_or(0);
				if size > MAX_MODEL_BYTES {
					return Err(ExecError::TooLarge(hash, size));
				}
			}
			let model = LoadedModel::load(
				&store.verified(&files.artifact)?,
				&store.verified(&files.index)?,
				device,
			)?;
			if cache.len() == CACHED_MODELS {
				cache.pop_front();
			}
			cache.push_back((files, model));
			cache.len() - 1
		}
	};
	let model = &cache[position].1;
	let start = Instant::now();
	let (probs, grad) = model.forward(input)?;
	let inference = start.elapsed();
	let start = Instant::now();
	let attribution = model.attribute(&grad);
	let attribution_time = start.elapsed();
	Ok(Timed {
		answer: Answer { output: model.output(&probs), attribution },
		inference,
		attribution: attribution_time,
	})
}
