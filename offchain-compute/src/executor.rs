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
//! on serving, with its cache of loaded models dropped.
//!
//! Determinism: libtorch's intra-op parallelism is pinned to one thread per
//! executor thread, so reductions always run in the same order; outputs are
//! quantised before hashing (see [`crate::model::Answer`]).

use crate::{
	content::{ContentError, ContentStore},
	model::{Answer, LoadedModel, ModelError},
};
use std::{
	collections::VecDeque,
	sync::{
		atomic::{AtomicUsize, Ordering},
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

struct Task {
	model: ModelFiles,
	input: Vec<u8>,
	reply: Box<dyn FnOnce(Reply) + Send>,
}

/// The queue was full: the task was not admitted.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("the executor's queue is full")]
pub struct QueueFull;

/// The pool.
pub struct Executor {
	queue: mpsc::Sender<Task>,
	queued: Arc<AtomicUsize>,
	capacity: AtomicUsize,
	threads: Vec<std::thread::JoinHandle<()>>,
}

impl Executor {
	/// Starts `threads` executor threads on `device`, admitting at most
	/// `capacity` tasks at once, loading models from `store`.
	pub fn start(threads: usize, capacity: usize, device: Device, store: ContentStore) -> Self {
		tch::set_num_threads(1);
		if let Device::Cuda(_) = device {
			tch::Cuda::cudnn_set_benchmark(false);
		}
		let (queue, receiver) = mpsc::channel::<Task>();
		let receiver = Arc::new(Mutex::new(receiver));
		let queued = Arc::new(AtomicUsize::new(0));
		let threads = (0..threads.max(1))
			.map(|n| {
				let receiver = receiver.clone();
				let store = store.clone();
				let queued = queued.clone();
				std::thread::Builder::new()
					.name(format!("executor-{n}"))
					.spawn(move || run_thread(receiver, store, device, queued))
					.expect("spawning an executor thread")
			})
			.collect();
		Executor { queue, queued, capacity: AtomicUsize::new(capacity), threads }
	}

	/// Admits a task if fewer than the capacity are admitted and unfinished;
	/// `reply` is called with its answer on an executor thread.
	pub fn submit(
		&self,
		model: ModelFiles,
		input: Vec<u8>,
		reply: impl FnOnce(Reply) + Send + 'static,
	) -> Result<(), QueueFull> {
		let admitted = self.queued.fetch_add(1, Ordering::SeqCst);
		let refuse = || {
			self.queued.fetch_sub(1, Ordering::SeqCst);
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
		self.queued.fetch_add(1, Ordering::SeqCst);
		self.queue
			.send(Task { model, input, reply: Box::new(move |r| drop(tx.send(r))) })
			.map_err(|_| ExecError::Stopped)?;
		rx.recv().map_err(|_| ExecError::Stopped)?
	}

	/// Tasks admitted and not yet finished.
	pub fn queued(&self) -> usize {
		self.queued.load(Ordering::SeqCst)
	}

	/// Stops taking tasks and waits for the threads to finish what they hold.
	pub fn shutdown(self) {
		drop(self.queue);
		for t in self.threads {
			let _ = t.join();
		}
	}
}

fn run_thread(
	receiver: Arc<Mutex<mpsc::Receiver<Task>>>,
	store: ContentStore,
	device: Device,
	queued: Arc<AtomicUsize>,
) {
	let mut cache: VecDeque<(ModelFiles, LoadedModel)> = VecDeque::new();
	loop {
		let task = match receiver.lock() {
			Ok(rx) => match rx.recv() {
				Ok(task) => task,
				Err(_) => return,
			},
			Err(_) => return,
		};
		let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
			execute(&mut cache, &store, device, task.model, &task.input)
		}));
		let reply = run.unwrap_or_else(|panic| {
			// What a panic left half-built is not reused.
			cache.clear();
			let message = panic
				.downcast_ref::<&str>()
				.map(|s| s.to_string())
				.or_else(|| panic.downcast_ref::<String>().cloned())
				.unwrap_or_else(|| "a panic without a message".into());
			Err(ExecError::Panicked(message))
		});
		queued.fetch_sub(1, Ordering::SeqCst);
		(task.reply)(reply);
	}
}

fn execute(
	cache: &mut VecDeque<(ModelFiles, LoadedModel)>,
	store: &ContentStore,
	device: Device,
	files: ModelFiles,
	input: &[u8],
) -> Reply {
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
