//! `tributary-worker bench-adapters`: what serving adapters over one
//! resident base saves and costs, in one run. A base trained on one corpus
//! category and an adapter of it trained on another; then
//!
//! - resident memory of N adapters over one base against N full models
//!   (each measured in a fresh process of this binary, as the growth of
//!   its resident set while it loads them: one adapter file loaded N
//!   times, each load its own tensors and span index, against the base
//!   model's files loaded N times, each its own module);
//! - tokens per second generating with the adapter changing on every
//!   request (among resident adapters) against the base alone, on the
//!   same prompts;
//! - a cold adapter load (its files verified, tensors and span index read)
//!   with the base resident, against loading the base model.
//!
//! Prints figures; asserts nothing.

use crate::{
	cli::{AdapterBenchArgs, ResidentKind},
	content::ContentStore,
	corpus,
	model::{
		adapter::{self, AdapterConfig},
		language::{self, LanguageModel},
		load_module, LoadedModel, ModelError,
	},
	text::Example,
};
use anyhow::Context;
use std::{
	path::Path,
	process::Command,
	sync::Arc,
	time::{Duration, Instant},
};
use tch::Device;
use tributary_primitives::Hash;

/// The examples of `category`, four texts a contribution, numbered from
/// `first`.
fn examples(args: &AdapterBenchArgs, category: &str, first: u64) -> anyhow::Result<Vec<Example>> {
	let read = corpus::read_categories(&args.from, &[category.to_owned()], Some(args.max_texts))?;
	Ok(corpus::examples(&read, 4, first)?)
}

/// This process's resident set, in bytes (Linux's `/proc/self/statm`).
fn resident_bytes() -> anyhow::Result<u64> {
	let statm = std::fs::read_to_string("/proc/self/statm").context("reading /proc/self/statm")?;
	let pages: u64 = statm.split_whitespace().nth(1).context("statm's resident field")?.parse()?;
	Ok(pages * 4096)
}

/// The files the benchmark trained, by hash, in one content store.
struct Files {
	base: (Hash, Hash),
	adapter: (Hash, Hash),
}

fn hex(hash: &Hash) -> String {
	hex::encode(hash)
}

/// The language model of `files` (`artifact`, `index`) in `store`, its
/// base module (for an adapter) given.
fn load(
	store: &ContentStore,
	(artifact, index): (Hash, Hash),
	base: Option<&Arc<tch::CModule>>,
) -> Result<LanguageModel, ModelError> {
	let model = LoadedModel::load(
		&store.verified(&artifact)?,
		&store.verified(&index)?,
		Device::Cpu,
		|_| base.cloned().ok_or_else(|| ModelError::BadIndex("no base module".into())),
	)?;
	match model {
		LoadedModel::Language(model) => Ok(model),
		LoadedModel::Classifier(_) => Err(ModelError::BadIndex("not a language model".into())),
	}
}

/// The `--resident` measurement, in this process: loads `count` models of
/// `kind` and prints how much the resident set grew, in bytes.
fn measure_resident(args: &AdapterBenchArgs, kind: ResidentKind) -> anyhow::Result<()> {
	tch::set_num_threads(1);
	let store = ContentStore::open(args.store.as_ref().context("--resident needs --store")?)?;
	let hash = |s: &Option<String>| -> anyhow::Result<Hash> {
		let bytes = hex::decode(s.as_deref().context("--resident needs the files' hashes")?)?;
		anyhow::ensure!(bytes.len() == 32, "a hash is 32 bytes");
		Ok(Hash::from_slice(&bytes))
	};
	let files = Files {
		base: (hash(&args.base_artifact)?, hash(&args.base_index)?),
		adapter: (hash(&args.adapter_artifact)?, hash(&args.adapter_index)?),
	};
	let before = resident_bytes()?;
	let mut held = Vec::with_capacity(args.count);
	match kind {
		ResidentKind::Adapters => {
			let base = Arc::new(load_module(&store.verified(&files.base.0)?, Device::Cpu)?);
			for _ in 0..args.count {
				held.push(load(&store, files.adapter, Some(&base))?);
			}
		}
		ResidentKind::Models => {
			for _ in 0..args.count {
				held.push(load(&store, files.base, None)?);
			}
		}
	}
	println!("{}", resident_bytes()?.saturating_sub(before));
	Ok(())
}

/// Runs a fresh process of this binary measuring `kind` at `count`.
fn resident_in_child(store: &Path, files: &Files, kind: &str, count: usize) -> anyhow::Result<u64> {
	let out = Command::new(std::env::current_exe()?)
		.args(["bench-adapters", "--resident", kind, "--count", &count.to_string(), "--store"])
		.arg(store)
		.args(["--base-artifact", &hex(&files.base.0), "--base-index", &hex(&files.base.1)])
		.args(["--adapter-artifact", &hex(&files.adapter.0)])
		.args(["--adapter-index", &hex(&files.adapter.1)])
		.output()?;
	anyhow::ensure!(
		out.status.success(),
		"measuring {count} {kind}: {}",
		String::from_utf8_lossy(&out.stderr)
	);
	Ok(String::from_utf8(out.stdout)?.trim().parse()?)
}

/// Tokens generated for `prompts`, the model for each asked of `model`,
/// and the time generation took.
fn generate<'a>(
	prompts: &[String],
	model: impl Fn(usize) -> &'a LanguageModel,
) -> anyhow::Result<(usize, Duration)> {
	let (mut tokens, start) = (0, Instant::now());
	for (i, prompt) in prompts.iter().enumerate() {
		tokens += model(i).generate(prompt)?.1.len();
	}
	Ok((tokens, start.elapsed()))
}

/// Runs the benchmark.
pub fn run(args: &AdapterBenchArgs) -> anyhow::Result<()> {
	if let Some(kind) = args.resident {
		return measure_resident(args, kind);
	}
	tch::set_num_threads(1);
	let base_examples = examples(args, &args.base_category, 0)?;
	let adapter_examples = examples(args, &args.adapter_category, 1_000)?;
	let config = args.language.config(Some(args.epochs), 7)?;
	let started = Instant::now();
	let base = language::train(&base_examples, &config, |_, _| {})?;
	let base_seconds = started.elapsed().as_secs_f64();
	let dir = tempfile::tempdir()?;
	let store = ContentStore::open(dir.path())?;
	let base_files = (store.put(&base.artifact)?, store.put(&base.index)?);
	let adapter_config =
		AdapterConfig { rank: args.rank, epochs: args.adapter_epochs, ..Default::default() };
	let started = Instant::now();
	let trained = adapter::train(
		&store.verified(&base_files.0)?,
		0,
		base_files.0,
		&base.card,
		&adapter_examples,
		&adapter_config,
		|_, _| {},
	)?;
	let adapter_seconds = started.elapsed().as_secs_f64();
	let files = Files {
		base: base_files,
		adapter: (store.put(&trained.artifact)?, store.put(&trained.index)?),
	};
	println!(
		"base: {} texts of {:?}, context {}, width {}, {} layers, trained in {base_seconds:.1} s; \
		 adapter: rank {}, {} texts of {:?}, trained in {adapter_seconds:.1} s",
		base_examples.len(),
		args.base_category,
		base.card.context,
		base.card.width,
		base.card.layers,
		trained.card.rank,
		adapter_examples.len(),
		args.adapter_category,
	);
	println!(
		"  files: base module {} KB and index {} KB; adapter {} KB and index {} KB",
		base.artifact.len() / 1024,
		base.index.len() / 1024,
		trained.artifact.len() / 1024,
		trained.index.len() / 1024
	);

	println!("resident memory (each a fresh process; growth of its resident set while loading)");
	println!(
		"  {:>6}  {:>24}  {:>16}  {:>7}",
		"N", "one base + N adapters", "N full models", "ratio"
	);
	let base_alone = resident_in_child(dir.path(), &files, "adapters", 0)?;
	for &n in &args.counts {
		let adapters = resident_in_child(dir.path(), &files, "adapters", n)?;
		let models = resident_in_child(dir.path(), &files, "models", n)?;
		println!(
			"  {n:>6}  {:>21.1} MB  {:>13.1} MB  {:>7.3}",
			adapters as f64 / 1e6,
			models as f64 / 1e6,
			adapters as f64 / models.max(1) as f64
		);
	}
	println!("  (the base's module alone: {:.1} MB)", base_alone as f64 / 1e6);

	// Throughput: the base alone, then adapters changing on every request.
	let module = Arc::new(load_module(&store.verified(&files.base.0)?, Device::Cpu)?);
	let base_model = load(&store, files.base, None)?;
	let adapters = (0..args.switching)
		.map(|_| load(&store, files.adapter, Some(&module)))
		.collect::<Result<Vec<_>, _>>()?;
	let prompts: Vec<String> = adapter_examples
		.iter()
		.chain(&base_examples)
		.take(args.prompts)
		.map(|e| e.text.chars().take(24).collect())
		.collect();
	generate(&prompts[..1], |_| &base_model)?;
	let (base_tokens, base_time) = generate(&prompts, |_| &base_model)?;
	let (adapted_tokens, adapted_time) = generate(&prompts, |i| &adapters[i % adapters.len()])?;
	let rate = |tokens: usize, time: Duration| tokens as f64 / time.as_secs_f64();
	println!("generation, {} prompts, one thread", prompts.len());
	println!(
		"  base alone                         {:>8.0} tokens/s ({base_tokens} tokens)",
		rate(base_tokens, base_time)
	);
	println!(
		"  {} adapters, changing every request {:>8.0} tokens/s ({adapted_tokens} tokens)   ratio {:.2}",
		adapters.len(),
		rate(adapted_tokens, adapted_time),
		rate(adapted_tokens, adapted_time) / rate(base_tokens, base_time)
	);

	// Cold loads.
	let timed = |f: &dyn Fn() -> Result<LanguageModel, ModelError>| -> anyhow::Result<Duration> {
		let mut times = Vec::new();
		for _ in 0..args.loads {
			let start = Instant::now();
			drop(f()?);
			times.push(start.elapsed());
		}
		times.sort();
		Ok(times[times.len() / 2])
	};
	let adapter_load = timed(&|| load(&store, files.adapter, Some(&module)))?;
	let model_load = timed(&|| load(&store, files.base, None))?;
	println!(
		"cold load, p50 of {}: an adapter over the resident base {:.2} ms; the base model {:.2} ms",
		args.loads,
		adapter_load.as_secs_f64() * 1e3,
		model_load.as_secs_f64() * 1e3
	);
	Ok(())
}
