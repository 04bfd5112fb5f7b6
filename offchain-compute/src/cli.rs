//! The command line and the config file: one set of options, filled by
//! either (the command line wins).

use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;
use std::path::PathBuf;

/// Tributary's compute worker: trains models on datanets, runs the inference
/// jobs the chain assigns, and proves what each answer owes to which data.
#[derive(Debug, Parser)]
#[command(name = "tributary-worker", version, about, long_about = None)]
pub struct Cli {
	/// Log filter, as `RUST_LOG` (e.g. `info`, `tributary_worker=debug`).
	#[arg(long, global = true, default_value = "info", env = "RUST_LOG")]
	pub log: String,
	/// What to do.
	#[command(subcommand)]
	pub command: Command,
}

/// The worker's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
	/// Run the daemon: follow a node, run assigned jobs, commit and reveal.
	Run(RunArgs),
	/// Train a model on the approved contributions of datanets.
	Train(TrainArgs),
	/// Run a model once on an input and print its answer and attribution.
	Infer(InferArgs),
	/// Turn categories of a text corpus (Debian's `fortunes`) into datanet
	/// directories of contribution files, each text labelled by category.
	Corpus(CorpusArgs),
	/// Put files into a content directory; prints each one's hash.
	Put(PutArgs),
	/// Publish a language model made elsewhere (the Python exporter's
	/// module and span index): check that it loads and answers as a worker
	/// runs it, put its files in the content directory, and register it.
	Publish(PublishArgs),
	/// Publish a content directory over HTTP, so that workers can fetch the
	/// models registered with its URL.
	ServeContent(ServeContentArgs),
	/// Measure the executor against a bare libtorch loop, and attribution.
	Bench(BenchArgs),
	/// Measure a worker's fast path (latency, throughput) against the same
	/// model answering in this process.
	BenchFastPath(FastPathBenchArgs),
	/// Measure how often an answer's attribution finds the contribution it
	/// came from, on the real corpus.
	BenchAttribution(AttributionBenchArgs),
	/// Measure the language model kind: the executor's generation against a
	/// bare libtorch loop, span attribution's share, the span index's cost.
	BenchLanguage(LanguageBenchArgs),
	/// Measure adapters over one resident base: memory against full
	/// models, generation with the adapter changing on every request, cold
	/// loads.
	BenchAdapters(AdapterBenchArgs),
	/// Print the engine this machine registers with and its determinism
	/// class: the workers whose results it must agree with byte for byte.
	Engine(EngineArgs),
	/// Show the worker's standing: stake, capacity, models, reputation,
	/// what it can claim, and its journal.
	Status(OperatorArgs),
	/// Claim what the worker has earned (`rewards.claim`).
	Claim(OperatorArgs),
	/// Declare how many jobs the worker runs at once; a running daemon
	/// admits that many from the block it lands in.
	SetCapacity(SetCapacityArgs),
	/// Declare the models the worker serves; a running daemon keeps to it.
	ServeModels(ServeModelsArgs),
	/// Deregister: draw no more jobs; the stake unbonds.
	Deregister(OperatorArgs),
	/// Ask workers for answers directly, paying through payment channels:
	/// one answer per input, as a JSON line, each receipt checked.
	Ask(AskArgs),
}

/// The options every operator command shares with `run`: which nodes, whose
/// key, and the daemon's journal (whose nonces they share).
#[derive(Clone, Debug, Default, Args)]
pub struct OperatorArgs {
	/// `run`'s config file, for `node`, the key and `journal`.
	#[arg(long, value_name = "PATH")]
	pub config: Option<PathBuf>,
	/// The nodes' WebSocket URLs, comma-separated [default: ws://127.0.0.1:9944].
	#[arg(long, value_name = "URLS")]
	pub node: Option<String>,
	/// Sign as the development account `//<Name>` (dev and test chains only).
	#[arg(long, value_name = "NAME", conflicts_with = "key_file")]
	pub dev_key: Option<String>,
	/// Sign with the secret in this file (see `train --help`).
	#[arg(long, value_name = "PATH")]
	pub key_file: Option<PathBuf>,
	/// The daemon's journal [default: tributary-worker.sqlite].
	#[arg(long, value_name = "PATH")]
	pub journal: Option<PathBuf>,
}

impl OperatorArgs {
	/// `run`'s options these name, the command line winning over `--config`.
	pub fn run_args(&self) -> anyhow::Result<RunArgs> {
		let file = match &self.config {
			Some(path) => RunArgs::from_file(path)?,
			None => RunArgs::default(),
		};
		Ok(RunArgs {
			node: self.node.clone(),
			dev_key: self.dev_key.clone(),
			key_file: self.key_file.clone(),
			journal: self.journal.clone(),
			..Default::default()
		}
		.or(file))
	}
}

/// `set-capacity`'s options.
#[derive(Debug, Args)]
pub struct SetCapacityArgs {
	/// Jobs run at once, 1 to 64.
	pub capacity: u32,
	/// Which worker.
	#[command(flatten)]
	pub operator: OperatorArgs,
}

/// `serve-models`' options.
#[derive(Debug, Args)]
pub struct ServeModelsArgs {
	/// The models, by id, comma-separated.
	#[arg(value_delimiter = ',', required_unless_present = "available")]
	pub models: Vec<u64>,
	/// Leave it to the daemon: every active model whose files it holds or
	/// can fetch.
	#[arg(long, conflicts_with = "models")]
	pub available: bool,
	/// Which worker.
	#[command(flatten)]
	pub operator: OperatorArgs,
}

/// The most jobs a worker may declare it runs at once.
pub const MAX_CAPACITY: u32 = 64;

/// Checks a declared capacity.
pub fn check_capacity(capacity: u32) -> anyhow::Result<u32> {
	anyhow::ensure!(
		(1..=MAX_CAPACITY).contains(&capacity),
		"a capacity is 1 to {MAX_CAPACITY} jobs, not {capacity}"
	);
	Ok(capacity)
}

/// `engine`'s options.
#[derive(Debug, Args)]
pub struct EngineArgs {
	/// The device models would run on.
	#[arg(long, value_enum, default_value_t = DeviceArg::Auto)]
	pub device: DeviceArg,
}

/// Where models run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceArg {
	/// CUDA when a GPU is present, else CPU.
	#[default]
	Auto,
	/// The CPU.
	Cpu,
	/// The first CUDA GPU.
	Cuda,
}

impl DeviceArg {
	/// The libtorch device, or an error naming why CUDA is not available.
	pub fn device(self) -> anyhow::Result<tch::Device> {
		match self {
			DeviceArg::Auto => Ok(tch::Device::cuda_if_available()),
			DeviceArg::Cpu => Ok(tch::Device::Cpu),
			DeviceArg::Cuda if tch::Cuda::is_available() => Ok(tch::Device::Cuda(0)),
			DeviceArg::Cuda => anyhow::bail!(
				"--device cuda: libtorch sees no CUDA device (is this libtorch the CPU build?)"
			),
		}
	}
}

/// The signing key: a dev account's name or a file.
#[derive(Clone, Debug, Default, Args)]
pub struct KeyArgs {
	/// Sign as a development account derived as `//<Name>` (e.g. `Alice`,
	/// `Worker1`); for dev and test chains only.
	#[arg(long, value_name = "NAME", conflicts_with = "key_file")]
	pub dev_key: Option<String>,
	/// Sign with the secret in this file: a secret URI (`//Seed`, a mnemonic
	/// with optional `//derivation`) or a 0x-prefixed 32-byte seed.
	#[arg(long, value_name = "PATH")]
	pub key_file: Option<PathBuf>,
}

/// `run`'s options; each may also come from `--config`.
#[derive(Clone, Debug, Default, Args, Deserialize)]
#[serde(default, rename_all = "kebab-case", deny_unknown_fields)]
pub struct RunArgs {
	/// A TOML file with any of these options (kebab-case keys).
	#[arg(long, value_name = "PATH")]
	#[serde(skip)]
	pub config: Option<PathBuf>,
	/// The nodes' WebSocket URLs, comma-separated: when one fails the worker
	/// moves to the next at once [default: ws://127.0.0.1:9944].
	#[arg(long, value_name = "URLS")]
	pub node: Option<String>,
	/// Sign as the development account `//<Name>` (dev and test chains only).
	#[arg(long, value_name = "NAME", conflicts_with = "key_file")]
	pub dev_key: Option<String>,
	/// Sign with the secret in this file (see `train --help`).
	#[arg(long, value_name = "PATH")]
	pub key_file: Option<PathBuf>,
	/// The journal's SQLite file [default: tributary-worker.sqlite].
	#[arg(long, value_name = "PATH")]
	pub journal: Option<PathBuf>,
	/// The content directory models are loaded from [default: content].
	#[arg(long, value_name = "DIR")]
	pub content_dir: Option<PathBuf>,
	/// Where models run [default: auto].
	#[arg(long, value_enum)]
	pub device: Option<DeviceArg>,
	/// Executor threads [default: the CPU's cores, or 2 on CUDA].
	#[arg(long)]
	pub threads: Option<usize>,
	/// Register as a worker (if not yet) with this stake, in TRIB.
	#[arg(long, value_name = "TRIB")]
	pub register: Option<u128>,
	/// The capacity to register with: jobs run at once [default: 4].
	#[arg(long)]
	pub capacity: Option<u32>,
	/// The endpoint to register with [default: none].
	#[arg(long)]
	pub endpoint: Option<String>,
	/// The models to serve, by id (comma-separated) [default: every active
	/// model whose artifact and index are in the content directory, kept up
	/// to date as models are registered].
	#[arg(long, value_name = "IDS", value_delimiter = ',')]
	pub serve: Option<Vec<u64>>,
	/// Serve `/metrics` (Prometheus) and `/health` on this port of
	/// 127.0.0.1; 0 takes a free port and logs it [default: off].
	#[arg(long, conflicts_with = "metrics_addr")]
	pub prometheus_port: Option<u16>,
	/// Serve `/metrics` and `/health` on this address (e.g. 0.0.0.0:9700)
	/// [default: off].
	#[arg(long, value_name = "ADDR")]
	pub metrics_addr: Option<std::net::SocketAddr>,
	/// The first reconnect delay in milliseconds [default: 250].
	#[arg(long, value_name = "MS")]
	pub min_backoff_ms: Option<u64>,
	/// The longest reconnect delay in milliseconds [default: 15000].
	#[arg(long, value_name = "MS")]
	pub max_backoff_ms: Option<u64>,
	/// The longest one inference may run once its model is loaded, in
	/// milliseconds; a model past it is never run again by this process and
	/// its job is declined [default: 5000]. Loading is timed apart (60 s), so
	/// a slow first load on a busy machine condemns nothing.
	#[arg(long, value_name = "MS")]
	pub time_limit_ms: Option<u64>,
	/// Serve the fast path's JSON-RPC (HTTP and WebSocket) on this address
	/// [default: the address of `--endpoint`, when it names one; else off].
	#[arg(long, value_name = "ADDR")]
	pub rpc_addr: Option<std::net::SocketAddr>,
	/// Fast-path requests admitted at once, beyond which a request is
	/// answered busy at once [default: 4 per executor thread].
	#[arg(long)]
	pub request_capacity: Option<usize>,
	/// Answers a channel may have without a voucher covering them: what a
	/// requester may owe unvouched, and its requests in flight [default: 4].
	#[arg(long)]
	pub channel_window: Option<u64>,
	/// Settle a channel's vouched receipts at least this often, in blocks
	/// (a full batch, or a channel near expiry, settles at once)
	/// [default: 10].
	#[arg(long, value_name = "BLOCKS")]
	pub settle_every: Option<u32>,
}

impl RunArgs {
	/// These options, with those missing taken from `file`.
	pub fn or(self, file: RunArgs) -> RunArgs {
		RunArgs {
			config: self.config,
			node: self.node.or(file.node),
			dev_key: self.dev_key.or(file.dev_key),
			key_file: self.key_file.or(file.key_file),
			journal: self.journal.or(file.journal),
			content_dir: self.content_dir.or(file.content_dir),
			device: self.device.or(file.device),
			threads: self.threads.or(file.threads),
			register: self.register.or(file.register),
			capacity: self.capacity.or(file.capacity),
			endpoint: self.endpoint.or(file.endpoint),
			serve: self.serve.or(file.serve),
			prometheus_port: self.prometheus_port.or(file.prometheus_port),
			metrics_addr: self.metrics_addr.or(file.metrics_addr),
			min_backoff_ms: self.min_backoff_ms.or(file.min_backoff_ms),
			max_backoff_ms: self.max_backoff_ms.or(file.max_backoff_ms),
			time_limit_ms: self.time_limit_ms.or(file.time_limit_ms),
			rpc_addr: self.rpc_addr.or(file.rpc_addr),
			request_capacity: self.request_capacity.or(file.request_capacity),
			channel_window: self.channel_window.or(file.channel_window),
			settle_every: self.settle_every.or(file.settle_every),
		}
	}

	/// Reads a config file: `run`'s options as kebab-case TOML keys.
	pub fn from_file(path: &std::path::Path) -> anyhow::Result<RunArgs> {
		let text = std::fs::read_to_string(path)
			.map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
		toml::from_str(&text)
			.map_err(|e| anyhow::anyhow!("{} is not a valid worker config: {e}", path.display()))
	}

	/// Where the fast path listens: `--rpc-addr`, else the address that
	/// `--endpoint` names (`ws://`, `http://`, or a bare `host:port`).
	pub fn rpc_listen(&self) -> Option<std::net::SocketAddr> {
		self.rpc_addr.or_else(|| {
			let endpoint = self.endpoint.as_deref()?;
			let bare = endpoint.split_once("://").map_or(endpoint, |(_, rest)| rest);
			bare.trim_end_matches('/').parse().ok()
		})
	}

	/// The signing key options.
	pub fn key(&self) -> KeyArgs {
		KeyArgs { dev_key: self.dev_key.clone(), key_file: self.key_file.clone() }
	}
}

/// `train`'s options.
#[derive(Debug, Args)]
pub struct TrainArgs {
	/// The node's WebSocket URL.
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	pub node: String,
	/// A datanet to train on (repeat for several).
	#[arg(long = "datanet", required = true)]
	pub datanets: Vec<u64>,
	/// The content directory the contributions are in; the model goes there too.
	#[arg(long, default_value = "content")]
	pub content_dir: PathBuf,
	/// Which kind of model to train.
	#[arg(long, value_enum, default_value = "classifier")]
	pub kind: ModelKind,
	/// Passes over the data [default: 40 for a classifier, 60 for a
	/// language model, 300 for an adapter].
	#[arg(long)]
	pub epochs: Option<u32>,
	/// Hidden layer width of a classifier.
	#[arg(long, default_value_t = 64)]
	pub hidden: u32,
	/// Seeds weights, shuffles and projections.
	#[arg(long, default_value_t = 7)]
	pub seed: u64,
	/// A language model's shape and decoding.
	#[command(flatten)]
	pub language: LanguageArgs,
	/// `--kind lora`: the base language model and its share of what the
	/// adapter earns, in percent, as `ID:PERCENT`; it is registered as the
	/// adapter's parent, so every answer pays the base's owner and data.
	#[arg(long, value_parser = parse_parent)]
	pub base: Option<(u64, u32)>,
	/// An adapter's shape.
	#[command(flatten)]
	pub adapter: AdapterArgs,
	/// How the model is registered.
	#[command(flatten)]
	pub registration: RegistrationArgs,
}

/// How `train` and `publish` register a model.
#[derive(Debug, Args)]
pub struct RegistrationArgs {
	/// The data's share of what the model earns, in percent, divided among
	/// the datanets by what each gave (examples to a classifier, tokens to a
	/// language model).
	#[arg(long, default_value_t = 40)]
	pub data_share: u32,
	/// A parent model and its share in percent, as `ID:PERCENT` (repeatable).
	#[arg(long = "parent", value_parser = parse_parent)]
	pub parents: Vec<(u64, u32)>,
	/// Price per inference, in TRIB (decimals allowed).
	#[arg(long, default_value = "1")]
	pub price: String,
	/// Where workers fetch the model's files: the base URL of a content
	/// server holding them under their hashes (`serve-content`, or any static
	/// HTTP server) [default: none; then only workers handed the files
	/// otherwise can serve the model].
	#[arg(long, default_value = "")]
	pub uri: String,
	/// Submit `register_model` (signed with the key below).
	#[arg(long)]
	pub register: bool,
	/// The signing key for `--register`.
	#[command(flatten)]
	pub key: KeyArgs,
}

/// The kinds of model `train` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelKind {
	/// A text classifier over hashed n-grams, labels from the examples,
	/// attributed by projected gradients.
	Classifier,
	/// A generative transformer over bytes, continuing prompts, attributed
	/// by exact spans of its training texts.
	Lm,
	/// A low-rank adapter of a language model (`--base`), served over the
	/// base's module and attributed by spans of its own training texts.
	Lora,
}

/// `train --kind lora`'s options; each defaults to
/// [`crate::model::adapter::AdapterConfig::default`]. `--batch-size` and
/// `--device` apply too; the base's card sets the rest.
#[derive(Clone, Debug, Default, Args)]
pub struct AdapterArgs {
	/// The adapter's rank [default: 16].
	#[arg(long)]
	pub rank: Option<u32>,
	/// LoRA's alpha: updates are scaled by alpha / rank [default: 64].
	#[arg(long)]
	pub alpha: Option<f64>,
	/// The layers adapted in each adapted block, comma-separated [default:
	/// all four].
	#[arg(long, value_enum, value_delimiter = ',')]
	pub targets: Vec<crate::model::language::Target>,
	/// The blocks adapted, comma-separated, counting from 0 [default: all].
	#[arg(long = "adapt-blocks", value_delimiter = ',')]
	pub blocks: Vec<u32>,
}

impl AdapterArgs {
	/// Whether any option was given.
	pub fn any(&self) -> bool {
		self.rank.is_some()
			|| self.alpha.is_some()
			|| !self.targets.is_empty()
			|| !self.blocks.is_empty()
	}

	/// The training configuration, with `language`'s batch size and device.
	pub fn config(
		&self,
		language: &LanguageArgs,
		epochs: Option<u32>,
		seed: u64,
	) -> anyhow::Result<crate::model::adapter::AdapterConfig> {
		anyhow::ensure!(
			!language.shapes_the_model(),
			"an adapter keeps its base's shape and decoding: --context, --width, --layers, \
			 --heads, --max-new-tokens, --min-span and --checkpoint are for --kind lm"
		);
		let default = crate::model::adapter::AdapterConfig::default();
		let rank = self.rank.unwrap_or(default.rank);
		anyhow::ensure!(
			(1..=crate::model::adapter::MAX_RANK).contains(&rank),
			"--rank is from 1 to {}",
			crate::model::adapter::MAX_RANK
		);
		Ok(crate::model::adapter::AdapterConfig {
			rank,
			alpha: self.alpha.unwrap_or(default.alpha),
			targets: if self.targets.is_empty() { default.targets } else { self.targets.clone() },
			blocks: (!self.blocks.is_empty()).then(|| self.blocks.clone()),
			epochs: epochs.unwrap_or(default.epochs),
			batch_size: language.batch_size.unwrap_or(default.batch_size),
			device: language.device.map_or(Ok(default.device), DeviceArg::device)?,
			seed,
			..default
		})
	}
}

/// `train --kind lm`'s options; each defaults to
/// [`crate::model::language::LanguageConfig::default`].
#[derive(Clone, Debug, Default, Args)]
pub struct LanguageArgs {
	/// Tokens (bytes) the model sees at once [default: 64].
	#[arg(long)]
	pub context: Option<u32>,
	/// Embedding width [default: 96].
	#[arg(long)]
	pub width: Option<u32>,
	/// Transformer blocks [default: 2].
	#[arg(long)]
	pub layers: Option<u32>,
	/// Attention heads, dividing the width [default: 4].
	#[arg(long)]
	pub heads: Option<u32>,
	/// Windows per optimisation step [default: 16].
	#[arg(long)]
	pub batch_size: Option<usize>,
	/// The most tokens an answer generates, at most 128 [default: 64].
	#[arg(long)]
	pub max_new_tokens: Option<u32>,
	/// The shortest span attribution credits, in tokens [default: 16].
	#[arg(long)]
	pub min_span: Option<u32>,
	/// Where training runs.
	#[arg(long, value_enum)]
	pub device: Option<DeviceArg>,
	/// A checkpoint file (`.safetensors`): the weights are saved there
	/// after every epoch, and training resumes from it when it exists.
	#[arg(long)]
	pub checkpoint: Option<PathBuf>,
}

impl LanguageArgs {
	/// Whether any option was given.
	pub fn any(&self) -> bool {
		self.shapes_the_model() || self.batch_size.is_some() || self.device.is_some()
	}

	/// Whether an option that shapes a model, its decoding or its
	/// checkpoint was given: all but `--batch-size` and `--device`, which
	/// an adapter's training takes too.
	pub fn shapes_the_model(&self) -> bool {
		let Self {
			context,
			width,
			layers,
			heads,
			batch_size: _,
			max_new_tokens,
			min_span,
			device: _,
			checkpoint,
		} = self;
		context.is_some()
			|| width.is_some()
			|| layers.is_some()
			|| heads.is_some()
			|| max_new_tokens.is_some()
			|| min_span.is_some()
			|| checkpoint.is_some()
	}

	/// The training configuration these options give, beside `epochs` and
	/// `seed`.
	pub fn config(
		&self,
		epochs: Option<u32>,
		seed: u64,
	) -> anyhow::Result<crate::model::language::LanguageConfig> {
		let default = crate::model::language::LanguageConfig::default();
		Ok(crate::model::language::LanguageConfig {
			context: self.context.unwrap_or(default.context),
			width: self.width.unwrap_or(default.width),
			layers: self.layers.unwrap_or(default.layers),
			heads: self.heads.unwrap_or(default.heads),
			epochs: epochs.unwrap_or(default.epochs),
			batch_size: self.batch_size.unwrap_or(default.batch_size),
			max_new_tokens: self.max_new_tokens.unwrap_or(default.max_new_tokens),
			min_span: self.min_span.unwrap_or(default.min_span),
			device: self.device.map_or(Ok(default.device), DeviceArg::device)?,
			checkpoint: self.checkpoint.clone(),
			seed,
			..default
		})
	}
}

fn parse_parent(s: &str) -> Result<(u64, u32), String> {
	let (id, pct) = s.split_once(':').ok_or("expected ID:PERCENT")?;
	Ok((
		id.parse().map_err(|e| format!("model id: {e}"))?,
		pct.parse().map_err(|e| format!("percent: {e}"))?,
	))
}

/// The node URLs of `--node`, comma-separated.
pub fn node_urls(node: Option<&str>) -> Vec<String> {
	node.unwrap_or("ws://127.0.0.1:9944")
		.split(',')
		.map(|url| url.trim().to_owned())
		.filter(|url| !url.is_empty())
		.collect()
}

/// Who asks which model, through which nodes.
#[derive(Debug, Args)]
pub struct RequesterArgs {
	/// The nodes' WebSocket URLs, comma-separated: the first that answers
	/// is used.
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	pub node: String,
	/// The requester's key: it opens the channels and signs the vouchers.
	#[command(flatten)]
	pub key: KeyArgs,
	/// The model to ask.
	#[arg(long)]
	pub model: u64,
}

/// `ask`'s options.
#[derive(Debug, Args)]
pub struct AskArgs {
	/// The node, the requester and the model.
	#[command(flatten)]
	pub requester: RequesterArgs,
	/// The requester's book: its channels, vouchers and receipts.
	#[arg(long, value_name = "PATH", default_value = "tributary-requester.sqlite")]
	pub book: PathBuf,
	/// How many workers to spread the requests over.
	#[arg(long, default_value_t = 2)]
	pub workers: usize,
	/// The deposit of each channel opened, in TRIB.
	#[arg(long, value_name = "TRIB", default_value = "10")]
	pub deposit: String,
	/// How long a channel opened runs before its deposit may be taken back,
	/// in blocks.
	#[arg(long, value_name = "BLOCKS", default_value_t = 14_400)]
	pub lifetime: u32,
	/// The inputs; without any, one per line of standard input.
	pub inputs: Vec<String>,
}

/// `infer`'s options.
#[derive(Debug, Args)]
pub struct InferArgs {
	/// The content directory the model's files are in.
	#[arg(long, default_value = "content")]
	pub content_dir: PathBuf,
	/// blake2-256 of the model's TorchScript module (hex).
	#[arg(long)]
	pub artifact: String,
	/// blake2-256 of its attribution index (hex).
	#[arg(long)]
	pub index: String,
	/// Where to run.
	#[arg(long, value_enum, default_value = "cpu")]
	pub device: DeviceArg,
	/// The input text.
	pub input: String,
}

/// `publish`'s options.
#[derive(Debug, Args)]
pub struct PublishArgs {
	/// The node's WebSocket URL.
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	pub node: String,
	/// The content directory the model's files go into.
	#[arg(long, default_value = "content")]
	pub content_dir: PathBuf,
	/// The TorchScript module (`forward(tokens) -> logits`).
	#[arg(long)]
	pub artifact: PathBuf,
	/// The span index (safetensors: card, corpus, contributions,
	/// suffix_array).
	#[arg(long)]
	pub index: PathBuf,
	/// How the model is registered.
	#[command(flatten)]
	pub registration: RegistrationArgs,
}

/// `put`'s options.
#[derive(Debug, Args)]
pub struct PutArgs {
	/// The content directory.
	#[arg(long, default_value = "content")]
	pub content_dir: PathBuf,
	/// The files.
	#[arg(required = true)]
	pub files: Vec<PathBuf>,
}

/// `corpus`'s options.
#[derive(Debug, Args)]
pub struct CorpusArgs {
	/// The corpus: one file per category, its texts separated by lines
	/// holding only `%`.
	#[arg(long, value_name = "DIR", default_value = crate::corpus::FORTUNES)]
	pub from: PathBuf,
	/// A category to take (repeat for several); each becomes a datanet
	/// directory of that name.
	#[arg(long = "category", value_name = "NAME", required = true)]
	pub categories: Vec<String>,
	/// Texts per contribution file.
	#[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
	pub per_contribution: u16,
	/// At most this many texts of each category, from its start.
	#[arg(long, value_name = "N")]
	pub max_texts: Option<usize>,
	/// Where to write `<category>/<category>-NNN.txt`.
	#[arg(long, value_name = "DIR")]
	pub out: PathBuf,
}

/// `serve-content`'s options.
#[derive(Debug, Args)]
pub struct ServeContentArgs {
	/// The content directory to publish.
	#[arg(long, default_value = "content")]
	pub content_dir: PathBuf,
	/// The address to listen on; the model's URI is `http://<this>`.
	#[arg(long, default_value = "127.0.0.1:8090")]
	pub listen: std::net::SocketAddr,
}

/// `bench`'s options.
#[derive(Debug, Args)]
pub struct BenchArgs {
	/// Inferences per measurement.
	#[arg(long, default_value_t = 2000)]
	pub iterations: usize,
	/// Where to run.
	#[arg(long, value_enum, default_value = "cpu")]
	pub device: DeviceArg,
	/// Training examples in the synthetic benchmark datanet.
	#[arg(long, default_value_t = 2000)]
	pub examples: usize,
}

/// `bench-attribution`'s options.
#[derive(Debug, Args)]
pub struct AttributionBenchArgs {
	/// The corpus (see `corpus`).
	#[arg(long, value_name = "DIR", default_value = crate::corpus::FORTUNES)]
	pub from: PathBuf,
	/// A category to take (repeat for several).
	#[arg(long = "category", value_name = "NAME", default_values = ["science", "food", "sports"])]
	pub categories: Vec<String>,
	/// Texts per contribution.
	#[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..))]
	pub per_contribution: u16,
	/// At most this many texts of each category, from its start.
	#[arg(long, value_name = "N", default_value_t = 128)]
	pub max_texts: usize,
	/// Passes over the training set.
	#[arg(long, default_value_t = 15)]
	pub epochs: u32,
	/// A damping of the TRAK correction to measure beside the plain cosine
	/// (repeat for several).
	#[arg(long, default_values_t = [1.0, 0.1, 0.01, 0.001])]
	pub damping: Vec<f64>,
}

/// `bench-language`'s options.
#[derive(Debug, Args)]
pub struct LanguageBenchArgs {
	/// The corpus (see `corpus`).
	#[arg(long, value_name = "DIR", default_value = crate::corpus::FORTUNES)]
	pub from: PathBuf,
	/// A category to train on (repeat for several).
	#[arg(long = "category", value_name = "NAME", default_values = ["food"])]
	pub categories: Vec<String>,
	/// At most this many texts of each category, from its start.
	#[arg(long, value_name = "N", default_value_t = 64)]
	pub max_texts: usize,
	/// Passes over the training texts.
	#[arg(long, default_value_t = 100)]
	pub epochs: u32,
	/// Prompts asked: the beginnings of the first training texts.
	#[arg(long, default_value_t = 64)]
	pub prompts: usize,
	/// The model's shape.
	#[command(flatten)]
	pub language: LanguageArgs,
}

/// `bench-adapters`'s options.
#[derive(Debug, Args)]
pub struct AdapterBenchArgs {
	/// The corpus (see `corpus`).
	#[arg(long, value_name = "DIR", default_value = crate::corpus::FORTUNES)]
	pub from: PathBuf,
	/// The category the base trains on.
	#[arg(long, default_value = "food")]
	pub base_category: String,
	/// The category the adapter trains on.
	#[arg(long, default_value = "law")]
	pub adapter_category: String,
	/// At most this many texts of each category, from its start.
	#[arg(long, value_name = "N", default_value_t = 32)]
	pub max_texts: usize,
	/// The base's passes over its texts.
	#[arg(long, default_value_t = 60)]
	pub epochs: u32,
	/// The adapter's passes over its texts.
	#[arg(long, default_value_t = 60)]
	pub adapter_epochs: u32,
	/// The adapter's rank.
	#[arg(long, default_value_t = 16)]
	pub rank: u32,
	/// How many adapters (and full models) to hold, comma-separated.
	#[arg(long, value_delimiter = ',', default_values_t = [1, 10, 100, 1000])]
	pub counts: Vec<usize>,
	/// How many resident adapters the requests cycle through.
	#[arg(long, default_value_t = 10, value_parser = clap::value_parser!(usize))]
	pub switching: usize,
	/// Prompts generated from, each side.
	#[arg(long, default_value_t = 32)]
	pub prompts: usize,
	/// Cold loads timed, each side.
	#[arg(long, default_value_t = 20)]
	pub loads: usize,
	/// The base's shape.
	#[command(flatten)]
	pub language: LanguageArgs,
	/// Internal: measure one side's resident memory in this process.
	#[arg(long, hide = true, value_enum)]
	pub resident: Option<ResidentKind>,
	/// Internal: how many to load for `--resident`.
	#[arg(long, hide = true, default_value_t = 0)]
	pub count: usize,
	/// Internal: the content store holding the files for `--resident`.
	#[arg(long, hide = true)]
	pub store: Option<PathBuf>,
	/// Internal: the base's module hash for `--resident`.
	#[arg(long, hide = true)]
	pub base_artifact: Option<String>,
	/// Internal: the base's index hash for `--resident`.
	#[arg(long, hide = true)]
	pub base_index: Option<String>,
	/// Internal: the adapter's file hash for `--resident`.
	#[arg(long, hide = true)]
	pub adapter_artifact: Option<String>,
	/// Internal: the adapter's index hash for `--resident`.
	#[arg(long, hide = true)]
	pub adapter_index: Option<String>,
}

/// What `bench-adapters --resident` loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ResidentKind {
	/// One base module and `--count` adapters over it.
	Adapters,
	/// `--count` full models.
	Models,
}

/// `bench-fast-path`'s options.
#[derive(Debug, Args)]
pub struct FastPathBenchArgs {
	/// The node, the requester and the model (served by a worker with an
	/// endpoint).
	#[command(flatten)]
	pub requester: RequesterArgs,
	/// The content directory holding the model's files, for the baseline.
	#[arg(long, default_value = "content")]
	pub content_dir: PathBuf,
	/// The input asked each time.
	#[arg(long, default_value = "Heavy rain and strong winds tonight")]
	pub input: String,
	/// Requests per measurement.
	#[arg(long, default_value_t = 2000)]
	pub requests: usize,
	/// Channels asking at once, for throughput.
	#[arg(long, default_value_t = 8)]
	pub channels: usize,
	/// Each channel's deposit, in TRIB.
	#[arg(long, value_name = "TRIB", default_value = "1000")]
	pub deposit: String,
	/// The executor threads to compare with: the worker's `--threads`.
	#[arg(long, default_value_t = 1)]
	pub threads: usize,
}

/// Logs to standard error, filtered as `RUST_LOG` filters; colours only on
/// a terminal, so log files stay plain text.
pub fn init_logging(filter: &str) {
	use std::io::IsTerminal;
	tracing_subscriber::fmt()
		.with_env_filter(tracing_subscriber::EnvFilter::new(filter))
		.with_ansi(std::io::stderr().is_terminal())
		.with_writer(std::io::stderr)
		.init();
}

/// A progress bar over training's epochs, showing the loss.
pub fn epoch_bar(epochs: u32) -> indicatif::ProgressBar {
	let bar = indicatif::ProgressBar::new(u64::from(epochs));
	bar.set_style(
		indicatif::ProgressStyle::with_template("{bar:40} epoch {pos}/{len} loss {msg}")
			.unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
	);
	bar
}

/// A training run's progress callback, showing each epoch and its loss on
/// `bar` (an [`epoch_bar`]).
pub fn epoch_progress(bar: &indicatif::ProgressBar) -> impl FnMut(u32, f64) + '_ {
	|epoch, loss| {
		bar.set_position(u64::from(epoch));
		bar.set_message(format!("{loss:.4}"));
	}
}

/// Parses a TRIB amount with up to 12 decimals into units.
pub fn parse_trib(s: &str) -> anyhow::Result<u128> {
	let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
	anyhow::ensure!(frac.len() <= 12, "{s}: TRIB has 12 decimals");
	let whole: u128 = whole.parse().map_err(|e| anyhow::anyhow!("{s}: {e}"))?;
	let frac: u128 = if frac.is_empty() {
		0
	} else {
		format!("{frac:0<12}").parse().map_err(|e| anyhow::anyhow!("{s}: {e}"))?
	};
	whole
		.checked_mul(1_000_000_000_000)
		.and_then(|w| w.checked_add(frac))
		.ok_or_else(|| anyhow::anyhow!("{s}: too large"))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn trib_amounts_parse_to_units() {
		assert_eq!(parse_trib("1").unwrap(), 1_000_000_000_000);
		assert_eq!(parse_trib("0.5").unwrap(), 500_000_000_000);
		assert_eq!(parse_trib("2.000000000001").unwrap(), 2_000_000_000_001);
		assert!(parse_trib("0.0000000000001").is_err());
		assert!(parse_trib("x").is_err());
	}

	#[test]
	fn the_command_line_wins_over_the_config_file() {
		let file: RunArgs = toml::from_str(
			"node = \"ws://10.0.0.1:9944\"\ndev-key = \"Worker1\"\ncapacity = 8\ndevice = \"cpu\"\n",
		)
		.unwrap();
		let cli = RunArgs { capacity: Some(2), ..Default::default() }.or(file);
		assert_eq!(cli.node.as_deref(), Some("ws://10.0.0.1:9944"));
		assert_eq!(cli.dev_key.as_deref(), Some("Worker1"));
		assert_eq!(cli.capacity, Some(2));
		assert_eq!(cli.device, Some(DeviceArg::Cpu));
		assert!(toml::from_str::<RunArgs>("nod = \"x\"").is_err());
	}

	#[test]
	fn every_command_has_help() {
		use clap::CommandFactory;
		Cli::command().debug_assert();
		for sub in [
			"run",
			"train",
			"infer",
			"put",
			"serve-content",
			"bench",
			"bench-language",
			"corpus",
			"engine",
			"status",
			"claim",
			"set-capacity",
			"serve-models",
			"deregister",
		] {
			let err = Cli::try_parse_from(["tributary-worker", sub, "--help"]).unwrap_err();
			assert_eq!(err.kind(), clap::error::ErrorKind::DisplayHelp, "{sub}");
		}
	}
}
