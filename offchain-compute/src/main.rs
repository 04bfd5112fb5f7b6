//! `tributary-worker`: the compute worker's command line.

// The library holds the logic and uses the crate's dependencies.
#![allow(unused_crate_dependencies)]

use anyhow::{ensure, Context};
use clap::Parser;
use std::{str::FromStr, time::Duration};
use subxt_signer::{sr25519::Keypair, SecretUri};
use tributary_worker::{
	bench,
	chain::{Chain, ModelRegistration},
	cli::{
		epoch_bar, init_logging, parse_trib, Cli, Command, InferArgs, KeyArgs, PutArgs, RunArgs,
		TrainArgs,
	},
	content::ContentStore,
	engine,
	executor::Executor,
	journal::Journal,
	metrics::Metrics,
	model::{train, LoadedModel, TrainConfig},
	text::parse_examples,
	worker::{Options, ServePolicy, Worker},
};

fn main() -> anyhow::Result<()> {
	// Before any thread starts and before libtorch runs anything.
	engine::pin_cpu_capability();
	let cli = Cli::parse();
	init_logging(&cli.log);
	match cli.command {
		Command::Engine(args) => {
			let description = engine::describe(args.device.device()?);
			println!("engine {description}");
			println!("class  {:?}", engine::class_of(&description));
			Ok(())
		}
		Command::Infer(args) => infer(args),
		Command::Put(args) => put(args),
		Command::Bench(args) => bench::run(&args),
		Command::Run(args) => runtime()?.block_on(run(args)),
		Command::Train(args) => runtime()?.block_on(train_model(args)),
	}
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
	Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn keypair(key: &KeyArgs) -> anyhow::Result<Keypair> {
	let secret = match (&key.dev_key, &key.key_file) {
		(Some(name), _) => format!("//{name}"),
		(None, Some(path)) => std::fs::read_to_string(path)
			.with_context(|| format!("reading the key file {}", path.display()))?
			.trim()
			.to_owned(),
		(None, None) => anyhow::bail!("no signing key: give --dev-key NAME or --key-file PATH"),
	};
	if let Some(hex_seed) = secret.strip_prefix("0x") {
		let seed: [u8; 32] = hex::decode(hex_seed)
			.ok()
			.and_then(|s| s.try_into().ok())
			.context("a 0x key must be a 32-byte hex seed")?;
		return Keypair::from_secret_key(seed).context("invalid seed");
	}
	let uri = SecretUri::from_str(&secret).context("the key is not a secret URI or mnemonic")?;
	Keypair::from_uri(&uri).context("the key cannot be derived")
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
	let file = match &args.config {
		Some(path) => RunArgs::from_file(path)?,
		None => RunArgs::default(),
	};
	let args = args.or(file);
	let signer = keypair(&args.key())?;
	let device = args.device.unwrap_or_default().device()?;
	let threads = args.threads.unwrap_or_else(|| match device {
		tch::Device::Cpu => std::thread::available_parallelism().map_or(1, |n| n.get()),
		_ => 2,
	});
	let capacity = args.capacity.unwrap_or(4);
	ensure!((1..=64).contains(&capacity), "--capacity must be 1 to 64");
	let store = ContentStore::open(args.content_dir.clone().unwrap_or_else(|| "content".into()))?;
	let journal_path = args.journal.clone().unwrap_or_else(|| "tributary-worker.sqlite".into());
	let journal = Journal::open(&journal_path)
		.with_context(|| format!("opening the journal {}", journal_path.display()))?;

	let registry = polkadot_sdk::substrate_prometheus_endpoint::Registry::new();
	let metrics = Metrics::register(&registry)?;
	if let Some(port) = args.prometheus_port {
		let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
		let listener = tokio::net::TcpListener::bind(addr)
			.await
			.with_context(|| format!("--prometheus-port {port} is not free"))?;
		drop(listener);
		tokio::spawn(async move {
			if let Err(e) =
				polkadot_sdk::substrate_prometheus_endpoint::init_prometheus(addr, registry).await
			{
				tracing::error!(error = %e, "the metrics endpoint stopped");
			}
		});
	}

	let options = Options {
		node: args.node.clone().unwrap_or_else(|| "ws://127.0.0.1:9944".into()),
		block_timeout: Duration::from_secs(30),
		min_backoff: Duration::from_millis(args.min_backoff_ms.unwrap_or(250)),
		max_backoff: Duration::from_millis(args.max_backoff_ms.unwrap_or(15_000)),
		serve: match args.serve.clone() {
			Some(models) => ServePolicy::Listed(models),
			None => ServePolicy::Available,
		},
	};
	if let Some(stake) = args.register {
		register(
			&options,
			&signer,
			stake,
			capacity,
			args.endpoint.as_deref().unwrap_or(""),
			device,
		)
		.await?;
	}
	tracing::info!(?device, threads, capacity, journal = %journal_path.display(), "starting");
	let executor = Executor::start(threads, capacity as usize, device, store.clone());
	let worker = Worker::new(options, signer, journal, executor, store, metrics);
	tokio::select! {
		result = worker.run() => result?,
		_ = tokio::signal::ctrl_c() => tracing::info!("interrupted; the journal holds every step"),
	}
	Ok(())
}

/// Registers the worker unless it is registered; retries while the node is
/// not up yet.
async fn register(
	options: &Options,
	signer: &Keypair,
	stake: u128,
	capacity: u32,
	endpoint: &str,
	device: tch::Device,
) -> anyhow::Result<()> {
	use backon::Retryable;
	let me = signer.public_key().to_account_id();
	let chain = (|| Chain::connect(&options.node))
		.retry(options.backoff())
		.notify(|e, _| tracing::warn!(error = %e, "cannot reach the node to register; retrying"))
		.await?;
	if chain.is_worker(&chain.at_best().await?, &me).await? {
		tracing::info!(account = %me, "already registered");
		return Ok(());
	}
	let engine = engine::describe(device);
	let units = stake.checked_mul(1_000_000_000_000).context("--register: stake too large")?;
	chain
		.register_worker(signer, units, endpoint, capacity, &engine)
		.await
		.context("registering the worker")?;
	tracing::info!(account = %me, stake, capacity, engine, class = ?engine::class_of(&engine), "registered");
	Ok(())
}

async fn train_model(args: TrainArgs) -> anyhow::Result<()> {
	let chain =
		Chain::connect(&args.node).await.with_context(|| format!("connecting to {}", args.node))?;
	let at = chain.at_best().await?;
	let contributions = chain.approved_contributions(&at, &args.datanets).await?;
	ensure!(
		!contributions.is_empty(),
		"datanets {:?} have no approved contribution",
		args.datanets
	);
	let store = ContentStore::open(&args.content_dir)?;
	let mut examples = Vec::new();
	for c in &contributions {
		let bytes = store
			.get(&c.content_hash)
			.with_context(|| format!("contribution {} of datanet {}", c.id, c.datanet))?;
		examples.extend(parse_examples(c.id, &bytes)?);
	}
	let config = TrainConfig {
		epochs: args.epochs,
		hidden: args.hidden,
		seed: args.seed,
		..Default::default()
	};
	eprintln!(
		"training on {} examples from {} contributions of datanets {:?}",
		examples.len(),
		contributions.len(),
		args.datanets
	);
	let bar = epoch_bar(config.epochs);
	let model = train(&examples, &config, |epoch, loss| {
		bar.set_position(u64::from(epoch));
		bar.set_message(format!("{loss:.4}"));
	})?;
	bar.finish();
	let artifact_hash = store.put(&model.artifact)?;
	let index_hash = store.put(&model.index)?;

	// The data share is divided among the datanets by their examples.
	let mut per_datanet = std::collections::BTreeMap::<u64, u64>::new();
	for (contribution, n) in &model.examples_per_contribution {
		if let Some(c) = contributions.iter().find(|c| c.id == *contribution) {
			*per_datanet.entry(c.datanet).or_default() += *n as u64;
		}
	}
	ensure!(args.data_share <= 100, "--data-share is a percentage");
	let total: u64 = per_datanet.values().sum();
	let data_parts = u64::from(args.data_share) * 10_000_000;
	let training: Vec<(u64, u32)> = per_datanet
		.iter()
		.map(|(d, n)| (*d, (data_parts * n / total.max(1)) as u32))
		.filter(|(_, p)| *p > 0)
		.collect();
	let parents: Vec<(u64, u32)> =
		args.parents.iter().map(|(m, pct)| (*m, pct * 10_000_000)).collect();
	let metadata = serde_json::json!({
		"format": model.card.format,
		"labels": model.card.labels,
		"examples": examples.len(),
	});
	let registration = ModelRegistration {
		artifact_hash,
		index_hash,
		uri: args.uri.clone().into_bytes(),
		metadata: metadata.to_string().into_bytes(),
		training,
		parents,
		price: parse_trib(&args.price)?,
	};
	println!("trained: {} labels {:?}", model.card.format, model.card.labels);
	println!(
		"  training accuracy {:.1}%, final loss {:.4}",
		model.train_accuracy * 100.0,
		model.final_loss
	);
	println!("  artifact_hash          {artifact_hash:?}");
	println!("  attribution_index_hash {index_hash:?}");
	println!("  uri                    {}", args.uri);
	println!("  metadata               {metadata}");
	println!("  training               {:?}", registration.training);
	println!("  parents                {:?}", registration.parents);
	println!("  price_per_inference    {}", registration.price);
	if args.register {
		let signer = keypair(&args.key)?;
		let model_id =
			chain.register_model(&signer, registration).await.context("register_model")?;
		println!("registered model {model_id}");
	}
	Ok(())
}

fn infer(args: InferArgs) -> anyhow::Result<()> {
	let store = ContentStore::open(&args.content_dir)?;
	let hash = |s: &str| -> anyhow::Result<tributary_primitives::Hash> {
		let bytes = hex::decode(s.trim_start_matches("0x")).context("a hash is 32 bytes of hex")?;
		ensure!(bytes.len() == 32, "a hash is 32 bytes of hex");
		Ok(tributary_primitives::Hash::from_slice(&bytes))
	};
	tch::set_num_threads(1);
	let model = LoadedModel::load(
		&store.verified(&hash(&args.artifact)?)?,
		&store.verified(&hash(&args.index)?)?,
		args.device.device()?,
	)?;
	let answer = model.answer(&args.input)?;
	let attribution: Vec<(u64, u32)> =
		answer.attribution.iter().map(|(c, p)| (*c, p.deconstruct())).collect();
	println!(
		"{}",
		serde_json::json!({
			"output": String::from_utf8_lossy(&answer.output),
			"attribution": attribution,
		})
	);
	Ok(())
}

fn put(args: PutArgs) -> anyhow::Result<()> {
	let store = ContentStore::open(&args.content_dir)?;
	for file in &args.files {
		let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
		println!("{:?} {}", store.put(&bytes)?, file.display());
	}
	Ok(())
}
