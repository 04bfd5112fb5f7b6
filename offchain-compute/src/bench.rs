//! `tributary-worker bench`: the executor against a bare libtorch loop over
//! the same TorchScript module, in one process, and attribution's share of
//! the work. Prints figures; asserts nothing.

use crate::{
	cli::BenchArgs,
	content::ContentStore,
	executor::{Executor, ModelFiles},
	model::classifier::{train, TrainConfig},
	text::Example,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::{Duration, Instant};
use tch::{Kind, Tensor};

/// Labelled texts drawn from four topics, each a vocabulary of its own mixed
/// with common words: `n` examples, one contribution each, reproducible from
/// `seed`.
pub fn synthetic_examples(n: usize, seed: u64) -> Vec<Example> {
	const TOPICS: [&str; 4] = ["weather", "sport", "finance", "cooking"];
	let mut rng = ChaCha8Rng::seed_from_u64(seed);
	(0..n)
		.map(|i| {
			let topic = rng.random_range(0..TOPICS.len());
			let words: Vec<String> = (0..rng.random_range(8..16))
				.map(|_| {
					if rng.random_bool(0.7) {
						format!("{}{}", &TOPICS[topic][..3], rng.random_range(0..60))
					} else {
						format!("common{}", rng.random_range(0..100))
					}
				})
				.collect();
			Example { contribution: i as u64, label: TOPICS[topic].into(), text: words.join(" ") }
		})
		.collect()
}

/// How long an executor pool of `threads` takes for `n` tasks of model
/// `files` over `inputs`, submitted as fast as it admits them.
pub fn flood(
	threads: usize,
	device: tch::Device,
	store: ContentStore,
	files: ModelFiles,
	inputs: &[String],
	n: usize,
) -> anyhow::Result<Duration> {
	let pool = Executor::start(threads, threads * 2, device, store);
	pool.run(files, inputs[0].as_bytes().to_vec())?;
	let (tx, rx) = std::sync::mpsc::channel();
	let start = Instant::now();
	let mut sent = 0;
	while sent < n {
		let tx = tx.clone();
		let reply = move |r: crate::executor::Reply| {
			let _ = tx.send(r.is_ok());
		};
		if pool.submit(files, inputs[sent % inputs.len()].as_bytes().to_vec(), reply).is_ok() {
			sent += 1;
		} else {
			std::thread::yield_now();
		}
	}
	drop(tx);
	let ok = rx.iter().filter(|ok| *ok).count();
	let elapsed = start.elapsed();
	pool.shutdown();
	anyhow::ensure!(ok == n, "{} of {n} pooled tasks failed", n - ok);
	Ok(elapsed)
}

/// Runs the benchmark.
pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
	let device = args.device.device()?;
	let examples = synthetic_examples(args.examples, 1);
	let config = TrainConfig { epochs: 5, ..Default::default() };
	let started = Instant::now();
	let model = train(&examples, &config, |_, _| {})?;
	println!(
		"trained on {} examples in {:.1} s (accuracy {:.1}%), device {device:?}",
		examples.len(),
		started.elapsed().as_secs_f64(),
		model.train_accuracy * 100.0
	);
	let dir = tempfile::tempdir()?;
	let store = ContentStore::open(dir.path())?;
	let files = ModelFiles {
		model_id: 0,
		artifact: store.put(&model.artifact)?,
		index: store.put(&model.index)?,
	};
	let inputs: Vec<String> = synthetic_examples(256, 2).into_iter().map(|e| e.text).collect();
	let n = args.iterations;

	// The baseline: featurise and call the module, nothing else.
	tch::set_num_threads(1);
	let module = tch::CModule::load_on_device(store.verified(&files.artifact)?, device)?;
	let classes = model.card.labels.len() as i64;
	let bare = |count: usize| -> anyhow::Result<Duration> {
		let start = Instant::now();
		for i in 0..count {
			let x = model.card.featurizer.batch(&[&inputs[i % inputs.len()]], device);
			let target = Tensor::zeros([1, classes], (Kind::Float, device));
			let out = tch::no_grad(|| module.forward_ts(&[x, target]))?;
			drop(out);
		}
		Ok(start.elapsed())
	};
	bare(50)?;
	let bare_time = bare(n)?;

	// The executor, one task at a time: queue hand-off, forward, attribution.
	let executor = Executor::start(1, 1, device, store.clone());
	executor.run(files, inputs[0].as_bytes().to_vec())?;
	let start = Instant::now();
	let (mut inference, mut attribution) = (Duration::ZERO, Duration::ZERO);
	for i in 0..n {
		let timed = executor.run(files, inputs[i % inputs.len()].as_bytes().to_vec())?;
		inference += timed.timings.inference;
		attribution += timed.timings.attribution;
	}
	let exec_time = start.elapsed();
	executor.shutdown();

	// The executor's pool, all cores, tasks submitted as fast as admitted.
	let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
	let pool_time = flood(threads, device, store.clone(), files, &inputs, n)?;

	let rate = |d: Duration| n as f64 / d.as_secs_f64();
	println!("{n} inferences, {} training examples in the attribution index", examples.len());
	println!("  bare tch forward loop          {:>9.0} /s", rate(bare_time));
	println!(
		"  executor, 1 thread             {:>9.0} /s   ratio to bare {:.2}",
		rate(exec_time),
		rate(exec_time) / rate(bare_time)
	);
	println!(
		"  executor, {threads} threads            {:>9.0} /s   ratio to bare {:.2}",
		rate(pool_time),
		rate(pool_time) / rate(bare_time)
	);
	println!(
		"  per inference: forward+backward {:.3} ms, attribution {:.3} ms ({:.0}% of inference)",
		inference.as_secs_f64() * 1e3 / n as f64,
		attribution.as_secs_f64() * 1e3 / n as f64,
		attribution.as_secs_f64() / inference.as_secs_f64() * 100.0
	);
	Ok(())
}
