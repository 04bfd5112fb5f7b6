//! `tributary-worker`: the compute worker's command line.

// The library holds the logic and uses the crate's dependencies.
#![allow(unused_crate_dependencies)]

use anyhow::{ensure, Context};
use clap::Parser;
use std::{sync::Arc, time::Duration};
use subxt_signer::sr25519::Keypair;
use tributary_worker::{
	adapter_bench,
	admission::ServePolicy,
	attribution_bench, bench,
	chain::{Chain, CreditedContribution, ModelRegistration},
	cli::{
		check_capacity, epoch_bar, epoch_progress, init_logging, node_urls, parse_trib, AskArgs,
		Cli, Command, CorpusArgs, InferArgs, ModelKind, OperatorArgs, PublishArgs, PutArgs,
		RegistrationArgs, RunArgs, ServeContentArgs, ServeModelsArgs, SetCapacityArgs, TrainArgs,
	},
	content::ContentStore,
	engine,
	executor::{self, Executor},
	fastpath::{self, FastPath},
	fastpath_bench,
	fetch::{file_url, FetchLimits, Fetcher},
	health,
	journal::{AccountCall, Journal},
	keys::WorkerKey,
	language_bench,
	ledger::Ledger,
	metrics::Metrics,
	model::{
		adapter,
		classifier::{train, TrainConfig},
		language, IndexClaims, LoadedModel,
	},
	operator::{Operator, Status},
	requester::{Book, Requester},
	rpc,
	text::parse_examples,
	worker::{Options, Worker},
};

// Only the containment tests read TorchScript archives.
#[cfg(test)]
use zip as _;

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
		Command::Corpus(args) => corpus(args),
		Command::Put(args) => put(args),
		Command::Publish(args) => runtime()?.block_on(publish(args)),
		Command::ServeContent(args) => runtime()?.block_on(serve_content(args)),
		Command::Bench(args) => bench::run(&args),
		Command::BenchFastPath(args) => runtime()?.block_on(fastpath_bench::run(args)),
		Command::BenchAttribution(args) => attribution_bench::run(&args),
		Command::BenchLanguage(args) => language_bench::run(&args),
		Command::BenchAdapters(args) => adapter_bench::run(&args),
		Command::Run(args) => runtime()?.block_on(run(args)),
		Command::Train(args) => runtime()?.block_on(train_model(args)),
		Command::Status(args) => runtime()?.block_on(status(args)),
		Command::Claim(args) => runtime()?.block_on(send(args, AccountCall::Claim)),
		Command::Deregister(args) => runtime()?.block_on(send(args, AccountCall::Deregister)),
		Command::SetCapacity(args) => runtime()?.block_on(set_capacity(args)),
		Command::ServeModels(args) => runtime()?.block_on(serve_models(args)),
		Command::Ask(args) => runtime()?.block_on(ask(args)),
	}
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
	Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
	let file = match &args.config {
		Some(path) => RunArgs::from_file(path)?,
		None => RunArgs::default(),
	};
	let args = args.or(file);
	let key = WorkerKey::load(&args.key())?;
	let device = args.device.unwrap_or_default().device()?;
	let threads = args.threads.unwrap_or_else(|| match device {
		tch::Device::Cpu => std::thread::available_parallelism().map_or(1, |n| n.get()),
		_ => 2,
	});
	let store = ContentStore::open(args.content_dir.clone().unwrap_or_else(|| "content".into()))?;
	let journal_path = args.journal.clone().unwrap_or_else(|| "tributary-worker.sqlite".into());
	let journal = Journal::open(&journal_path)
		.with_context(|| format!("opening the journal {}", journal_path.display()))?;
	// The command line is the operator's latest word on capacity; without
	// it the last `set-capacity` stands.
	if let Some(capacity) = args.capacity {
		journal.set_capacity(check_capacity(capacity)?)?;
	}
	let capacity = journal.capacity()?.unwrap_or(4);

	let registry = polkadot_sdk::substrate_prometheus_endpoint::Registry::new();
	let metrics = Metrics::register(&registry)?;
	let endpoint = args
		.metrics_addr
		.or(args.prometheus_port.map(|port| std::net::SocketAddr::from(([127, 0, 0, 1], port))));
	let endpoint = match endpoint {
		Some(addr) => Some(
			tokio::net::TcpListener::bind(addr)
				.await
				.with_context(|| format!("the metrics address {addr} is not free"))?,
		),
		None => None,
	};

	let options = Options {
		nodes: node_urls(args.node.as_deref()),
		block_timeout: Duration::from_secs(30),
		min_backoff: Duration::from_millis(args.min_backoff_ms.unwrap_or(250)),
		max_backoff: Duration::from_millis(args.max_backoff_ms.unwrap_or(15_000)),
		serve: match args.serve.clone() {
			Some(models) => ServePolicy::Listed(models),
			None => ServePolicy::Available,
		},
		settle_every: args.settle_every.unwrap_or(10).max(1),
	};
	ensure!(!options.nodes.is_empty(), "--node names no node");
	if let Some(stake) = args.register {
		register(
			&options,
			&key.signer,
			stake,
			capacity,
			args.endpoint.as_deref().unwrap_or(""),
			device,
		)
		.await?;
	}
	let time_limit = args.time_limit_ms.map_or(executor::DEFAULT_TIME_LIMIT, Duration::from_millis);
	ensure!(!time_limit.is_zero(), "--time-limit-ms must be above 0");
	tracing::info!(?device, threads, capacity, ?time_limit, journal = %journal_path.display(), "starting");
	let executor = Arc::new(Executor::with_time_limit(
		threads,
		capacity as usize,
		device,
		store.clone(),
		time_limit,
	));
	let fetcher = Fetcher::new(store, FetchLimits::default())?;
	let fast_path = match args.rpc_listen() {
		Some(addr) => {
			let requests = args.request_capacity.unwrap_or(4 * threads);
			ensure!(requests > 0, "--request-capacity must be above 0");
			executor.set_request_capacity(requests);
			let ledger = Ledger::open(&journal_path)
				.with_context(|| format!("opening the ledger in {}", journal_path.display()))?;
			let fast_path = FastPath::new(
				key.signer.clone(),
				ledger,
				executor.clone(),
				args.channel_window.unwrap_or(fastpath::DEFAULT_WINDOW),
				metrics.clone(),
			);
			let (address, handle) = rpc::serve(addr, fast_path.clone()).await?;
			tracing::info!(%address, requests, "serving the fast path's JSON-RPC");
			Some((fast_path, handle))
		}
		None => None,
	};
	let mut worker = Worker::new(
		options,
		key,
		journal,
		executor,
		fetcher,
		metrics,
		fast_path.as_ref().map(|(f, _)| f.clone()),
	);
	if let Some(listener) = endpoint {
		tracing::info!(address = %listener.local_addr()?, "serving /metrics and /health");
		tokio::spawn(health::serve(listener, worker.health(), registry));
	}
	let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
	tokio::select! {
		result = worker.run() => result?,
		_ = tokio::signal::ctrl_c() => tracing::info!("interrupted; draining"),
		_ = terminate.recv() => tracing::info!("terminated; draining"),
	}
	if let Some((_, handle)) = fast_path {
		// Requests under way finish and their receipts are journaled first.
		let _ = handle.stop();
		handle.stopped().await;
	}
	let left = worker.drain(DRAIN_TIMEOUT).await;
	if left == 0 {
		tracing::info!("drained: every admitted job's answer is journaled for the next start");
	} else {
		tracing::warn!(running = left, "stopped with jobs still running; the next start runs them");
	}
	Ok(())
}

/// How long a stopping worker waits for admitted jobs to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Opens the chain and the daemon's journal for an operator command.
async fn operator(args: &OperatorArgs) -> anyhow::Result<Operator> {
	let run = args.run_args()?;
	let key = WorkerKey::load(&run.key())?;
	let nodes = node_urls(run.node.as_deref());
	ensure!(!nodes.is_empty(), "--node names no node");
	let journal = run.journal.unwrap_or_else(|| "tributary-worker.sqlite".into());
	Operator::open(&nodes, &journal, key.signer).await
}

/// Sends an operator's call for the worker of `args` and prints what it did.
async fn send(args: OperatorArgs, call: AccountCall) -> anyhow::Result<()> {
	send_with(operator(&args).await?, call).await
}

async fn send_with(mut operator: Operator, call: AccountCall) -> anyhow::Result<()> {
	let step = call.step();
	let events = operator.send(call).await?;
	println!("{}: final; events {}", step.as_str(), events.join(", "));
	Ok(())
}

async fn set_capacity(args: SetCapacityArgs) -> anyhow::Result<()> {
	let capacity = check_capacity(args.capacity)?;
	let operator = operator(&args.operator).await?;
	operator.journal().set_capacity(capacity)?;
	send_with(operator, AccountCall::SetCapacity(capacity)).await
}

async fn serve_models(args: ServeModelsArgs) -> anyhow::Result<()> {
	let operator = operator(&args.operator).await?;
	if args.available {
		operator.journal().set_served_models(None)?;
		println!("serve: left to the daemon, which declares what it holds or can fetch");
		return Ok(());
	}
	let mut models = args.models;
	models.sort_unstable();
	models.dedup();
	operator.journal().set_served_models(Some(&models))?;
	send_with(operator, AccountCall::ServeModels(models)).await
}

async fn status(args: OperatorArgs) -> anyhow::Result<()> {
	let status = operator(&args).await?.status().await?;
	print_status(&status);
	Ok(())
}

fn print_status(status: &Status) {
	let trib = |units: u128| {
		format!("{}.{:06} TRIB", units / 10u128.pow(12), units % 10u128.pow(12) / 10u128.pow(6))
	};
	println!("account      {}", status.account);
	match &status.worker {
		None => println!("worker       not registered"),
		Some(w) => {
			println!("stake        {} (unbonding {})", trib(w.stake), trib(w.unbonding));
			println!("capacity     {} (open jobs {})", w.capacity, w.open_jobs);
			println!("models       {:?}", w.models);
			println!("reputation   {}", w.reputation);
			println!("engine       {}", w.engine);
			println!("class        {:?}", w.class);
			if w.leaving {
				println!("leaving      deregistered; the stake unbonds");
			}
		}
	}
	println!("claimable    {}", trib(status.claimable));
	let jobs: Vec<String> =
		status.jobs.iter().map(|(state, n)| format!("{n} {}", state.as_str())).collect();
	println!(
		"journal      jobs: {}",
		if jobs.is_empty() { "none".into() } else { jobs.join(", ") }
	);
	println!(
		"             highest nonce {}",
		status.highest_nonce.map_or("none".into(), |n| n.to_string())
	);
	if let Some(models) = &status.served {
		println!("             serve-models {models:?}");
	}
	if let Some(capacity) = status.capacity {
		println!("             capacity {capacity}");
	}
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
	let chain = (|| Chain::connect_any(&options.nodes))
		.retry(options.backoff())
		.notify(|e, _| tracing::warn!(error = %e, "cannot reach the node to register; retrying"))
		.await?;
	if chain.worker(&chain.at_best().await?, &me).await?.is_some() {
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

/// What `train` makes, its options checked.
enum Kind {
	Classifier,
	Language(language::LanguageConfig),
	/// An adapter of the base model.
	Adapter(u64, adapter::AdapterConfig),
}

async fn train_model(args: TrainArgs) -> anyhow::Result<()> {
	// Options are checked before anything is read.
	ensure!(
		args.kind == ModelKind::Lora || (args.base.is_none() && !args.adapter.any()),
		"--base, --rank, --alpha, --targets and --adapt-blocks are for --kind lora"
	);
	let kind = match args.kind {
		ModelKind::Classifier => {
			ensure!(!args.language.any(), "--context, --width and the like are for --kind lm");
			Kind::Classifier
		}
		ModelKind::Lm => Kind::Language(args.language.config(args.epochs, args.seed)?),
		ModelKind::Lora => {
			let config = args.adapter.config(&args.language, args.epochs, args.seed)?;
			let (base, _) = args.base.context("--kind lora needs --base ID:PERCENT")?;
			ensure!(
				args.registration.parents.iter().all(|(parent, _)| *parent != base),
				"model {base} is the base: name its share with --base only"
			);
			Kind::Adapter(base, config)
		}
	};
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
	// An adapter's base: its module and card, fetched if need be, checked
	// before any training.
	let base = match &kind {
		Kind::Adapter(base, _) => {
			let model = chain
				.model(&at, *base)
				.await?
				.with_context(|| format!("model {base} is not registered"))?;
			let fetcher = Fetcher::new(store.clone(), FetchLimits::default())?;
			for hash in [model.files.artifact, model.files.index] {
				fetcher
					.fetch(&model.uri, &hash)
					.await
					.with_context(|| format!("fetching model {base}'s files"))?;
			}
			let claims = IndexClaims::read(&store.verified(&model.files.index)?)?;
			let (card, _) =
				claims.language.with_context(|| format!("model {base} is not a language model"))?;
			ensure!(card.adaptable, "model {base}'s module takes no adapters");
			Some((model.files.artifact, store.verified(&model.files.artifact)?, card))
		}
		_ => None,
	};
	let mut examples = Vec::new();
	for c in &contributions {
		let bytes = store
			.get(&c.content_hash)
			.with_context(|| format!("contribution {} of datanet {}", c.id, c.datanet))?;
		examples.extend(parse_examples(c.id, &bytes)?);
	}
	eprintln!(
		"training a {:?} on {} texts from {} contributions of datanets {:?}",
		args.kind,
		examples.len(),
		contributions.len(),
		args.datanets
	);
	let trained = match kind {
		Kind::Classifier => {
			let config = TrainConfig {
				epochs: args.epochs.unwrap_or(TrainConfig::default().epochs),
				hidden: args.hidden,
				seed: args.seed,
				..Default::default()
			};
			let bar = epoch_bar(config.epochs);
			let model = train(&examples, &config, epoch_progress(&bar))?;
			bar.finish();
			println!("trained: {} labels {:?}", model.card.format, model.card.labels);
			println!(
				"  training accuracy {:.1}%, final loss {:.4}",
				model.train_accuracy * 100.0,
				model.final_loss
			);
			let metadata = serde_json::json!({
				"format": model.card.format,
				"labels": model.card.labels,
				"examples": examples.len(),
			});
			(model.artifact, model.index, model.examples_per_contribution, metadata)
		}
		Kind::Adapter(base_model, config) => {
			let (base_artifact, module, card) = base.context("the base was read above")?;
			let bar = epoch_bar(config.epochs);
			let model = adapter::train(
				&module,
				base_model,
				base_artifact,
				&card,
				&examples,
				&config,
				epoch_progress(&bar),
			)?;
			bar.finish();
			let tokens: usize = model.tokens_per_contribution.iter().map(|(_, n)| n).sum();
			println!(
				"trained: {} of model {base_model} on {tokens} tokens, rank {}, {:?} of blocks {:?}",
				model.card.format, model.card.rank, model.card.targets, model.card.blocks
			);
			println!("  final loss {:.4} nats per token", model.final_loss);
			let metadata = serde_json::json!({
				"format": model.card.format,
				"base": base_model,
				"rank": model.card.rank,
				"tokens": tokens,
			});
			(model.artifact, model.index, model.tokens_per_contribution, metadata)
		}
		Kind::Language(config) => {
			let bar = epoch_bar(config.epochs);
			let model = language::train(&examples, &config, epoch_progress(&bar))?;
			bar.finish();
			let tokens: usize = model.tokens_per_contribution.iter().map(|(_, n)| n).sum();
			println!(
				"trained: {} on {tokens} tokens, context {}, width {}, {} layers",
				model.card.format, model.card.context, model.card.width, model.card.layers
			);
			println!("  final loss {:.4} nats per token", model.final_loss);
			let metadata = serde_json::json!({
				"format": model.card.format,
				"context": model.card.context,
				"tokens": tokens,
			});
			(model.artifact, model.index, model.tokens_per_contribution, metadata)
		}
	};
	let (artifact, index, per_contribution, metadata) = trained;
	let artifact_hash = store.put(&artifact)?;
	let index_hash = store.put(&index)?;
	let mut per_datanet = std::collections::BTreeMap::<u64, u64>::new();
	for (contribution, n) in &per_contribution {
		if let Some(c) = contributions.iter().find(|c| c.id == *contribution) {
			*per_datanet.entry(c.datanet).or_default() += *n as u64;
		}
	}
	register_model(
		&chain,
		&args.registration,
		args.base,
		(artifact_hash, index_hash),
		per_datanet,
		metadata,
	)
	.await
}

/// Prints the registration of a model whose files are in the content
/// directory, and submits it with `--register`. The data share is divided
/// among the datanets by `per_datanet`, what each gave the model; `base`
/// (an adapter's) is its first parent.
async fn register_model(
	chain: &Chain,
	args: &RegistrationArgs,
	base: Option<(u64, u32)>,
	(artifact_hash, index_hash): (tributary_primitives::Hash, tributary_primitives::Hash),
	per_datanet: std::collections::BTreeMap<u64, u64>,
	metadata: serde_json::Value,
) -> anyhow::Result<()> {
	ensure!(args.data_share <= 100, "--data-share is a percentage");
	let total: u64 = per_datanet.values().sum();
	let data_parts = u64::from(args.data_share) * 10_000_000;
	let training: Vec<(u64, u32)> = per_datanet
		.iter()
		.map(|(d, n)| (*d, (data_parts * n / total.max(1)) as u32))
		.filter(|(_, p)| *p > 0)
		.collect();
	let parents: Vec<(u64, u32)> =
		base.iter().chain(&args.parents).map(|(m, pct)| (*m, pct * 10_000_000)).collect();
	let registration = ModelRegistration {
		artifact_hash,
		index_hash,
		uri: args.uri.clone().into_bytes(),
		metadata: metadata.to_string().into_bytes(),
		training,
		parents,
		price: parse_trib(&args.price)?,
	};
	println!("  artifact_hash          {artifact_hash:?}");
	println!("  attribution_index_hash {index_hash:?}");
	println!("  uri                    {}", args.uri);
	if let Err(e) = file_url(&args.uri, &artifact_hash) {
		eprintln!("warning: {e}; pass --uri with the address of a content server");
	}
	println!("  metadata               {metadata}");
	println!("  training               {:?}", registration.training);
	println!("  parents                {:?}", registration.parents);
	println!("  price_per_inference    {}", registration.price);
	if args.register {
		let signer = WorkerKey::load(&args.key)?.signer;
		let model_id =
			chain.register_model(&signer, registration).await.context("register_model")?;
		println!("registered model {model_id}");
	}
	Ok(())
}

/// `publish`: a language model made elsewhere, loaded and run as a worker
/// would before it is registered. Its data share goes to the datanets of
/// the contributions its index names, by their tokens.
async fn publish(args: PublishArgs) -> anyhow::Result<()> {
	let store = ContentStore::open(&args.content_dir)?;
	let read = |path: &std::path::Path| {
		std::fs::read(path).with_context(|| format!("reading {}", path.display()))
	};
	let artifact_hash = store.put(&read(&args.artifact)?)?;
	let index_hash = store.put(&read(&args.index)?)?;
	let claims = IndexClaims::read(&store.verified(&index_hash)?)?;
	ensure!(
		claims.base.is_none(),
		"{} is an adapter's index: `train --kind lora` registers adapters",
		args.index.display()
	);
	let (card, corpus) = claims.language.with_context(|| {
		format!("{} is not a language model's span index", args.index.display())
	})?;
	let documents = language::documents_of(&corpus)
		.filter(|documents| documents.len() == claims.contributions.len())
		.context("the index's corpus is not one document for each contribution it names")?;
	let mut per_contribution = std::collections::BTreeMap::<u64, usize>::new();
	for (contribution, document) in claims.contributions.iter().zip(documents) {
		*per_contribution.entry(*contribution).or_default() += document.len();
	}
	let tokens: usize = per_contribution.values().sum();
	tch::set_num_threads(1);
	let model = LoadedModel::from_store(&store, &artifact_hash, &index_hash, tch::Device::Cpu)
		.context("loading the model as a worker does")?;
	let answer = model.answer("").context("running the model as a worker does")?;
	println!(
		"loaded: {} on {} tokens, context {}; an empty prompt continues as {}",
		card.format,
		tokens,
		card.context,
		String::from_utf8_lossy(&answer.output)
	);

	let chain =
		Chain::connect(&args.node).await.with_context(|| format!("connecting to {}", args.node))?;
	let at = chain.at_best().await?;
	let mut per_datanet = std::collections::BTreeMap::<u64, u64>::new();
	for (contribution, tokens) in per_contribution {
		match chain.credited_contribution(&at, contribution).await? {
			CreditedContribution::Found { datanet, .. } => {
				*per_datanet.entry(datanet).or_default() += tokens as u64
			}
			CreditedContribution::Removed => {}
			CreditedContribution::Unknown => {
				anyhow::bail!("the index names contribution {contribution}, which does not exist")
			}
		}
	}
	let metadata = serde_json::json!({
		"format": card.format,
		"context": card.context,
		"tokens": tokens,
	});
	register_model(
		&chain,
		&args.registration,
		None,
		(artifact_hash, index_hash),
		per_datanet,
		metadata,
	)
	.await
}

fn infer(args: InferArgs) -> anyhow::Result<()> {
	let store = ContentStore::open(&args.content_dir)?;
	let hash = |s: &str| -> anyhow::Result<tributary_primitives::Hash> {
		let bytes = hex::decode(s.trim_start_matches("0x")).context("a hash is 32 bytes of hex")?;
		ensure!(bytes.len() == 32, "a hash is 32 bytes of hex");
		Ok(tributary_primitives::Hash::from_slice(&bytes))
	};
	tch::set_num_threads(1);
	let model = LoadedModel::from_store(
		&store,
		&hash(&args.artifact)?,
		&hash(&args.index)?,
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

async fn serve_content(args: ServeContentArgs) -> anyhow::Result<()> {
	let store = ContentStore::open(&args.content_dir)?;
	let listener = tokio::net::TcpListener::bind(args.listen)
		.await
		.with_context(|| format!("--listen {} is not free", args.listen))?;
	let address = listener.local_addr()?;
	println!("serving {} at http://{address}", store.dir().display());
	tokio::select! {
		served = tributary_worker::publish::serve(listener, store) => served?,
		_ = tokio::signal::ctrl_c() => {}
	}
	Ok(())
}

async fn ask(args: AskArgs) -> anyhow::Result<()> {
	let (chain, signer) = args.requester.connect().await?;
	let book = Book::open(&args.book)
		.with_context(|| format!("opening the book {}", args.book.display()))?;
	let deposit = parse_trib(&args.deposit).context("--deposit")?;
	let mut requester = Requester::connect(
		&chain,
		signer,
		book,
		args.requester.model,
		args.workers.max(1),
		deposit,
		args.lifetime,
	)
	.await?;
	let inputs = if args.inputs.is_empty() {
		std::io::stdin().lines().collect::<Result<Vec<_>, _>>()?
	} else {
		args.inputs
	};
	let mut asked = Ok(());
	for input in inputs.iter().filter(|i| !i.is_empty()) {
		match requester.ask(input).await {
			Ok(answered) => println!("{}", serde_json::to_string(&answered)?),
			Err(e) => {
				asked = Err(e);
				break;
			}
		}
	}
	// What was answered is paid for, whether or not the rest was.
	requester.pay().await?;
	asked
}

fn corpus(args: CorpusArgs) -> anyhow::Result<()> {
	let per = usize::from(args.per_contribution);
	let written = tributary_worker::corpus::write_datanets(
		&args.from,
		&args.categories,
		per,
		args.max_texts,
		&args.out,
	)?;
	for w in written {
		println!(
			"{}: {} texts in {} contributions, in {}",
			w.category,
			w.texts,
			w.files,
			w.dir.display()
		);
	}
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
