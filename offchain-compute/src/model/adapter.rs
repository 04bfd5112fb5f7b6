//! Low-rank adapters (LoRA) of a language model: a fine-tune published as
//! the difference from its base, so that one worker keeps the base's module
//! resident once and serves any number of adapters over it.
//!
//! An adapter changes chosen layers ([`Target`]) of chosen blocks of an
//! adaptable base (see [`super::language`]): each adds `x·aᵀ·bᵀ` to the
//! layer's output, `a` `[rank, in]` and `b` `[out, rank]`, the scale
//! `alpha / rank` folded into `b`. Training keeps the base frozen and
//! learns `a` and `b` only, through the base's own TorchScript module, on
//! the adapter's datanets.
//!
//! **Files.** The artifact is a safetensors file of the adapted slots'
//! tensors (`a.<block>.<target>`, `b.<block>.<target>`), content-addressed.
//! The attribution index has the language model's layout (corpus,
//! contributions, suffix array) over the adapter's own training texts, and
//! an [`AdapterCard`] naming the base model, the hash of its module and its
//! card, whose tokeniser, context and decoding rules the adapter keeps. The
//! adapter is registered as a child of the base, so every answer pays the
//! base's owner and its datanets through the attribution graph; its span
//! attribution credits the adapter's own contributions.

use super::{
	language::{self, LanguageCard, Target, Windows},
	ModelError,
};
use crate::{spans::SpanIndex, text::Example};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};
use tributary_primitives::{ContributionId, Hash, ModelId};

/// The format name in every adapter card.
pub const FORMAT: &str = "tributary-lora-adapter/1";

/// The largest rank an adapter may have.
pub const MAX_RANK: u32 = 256;

/// What a worker must know to run an adapter: its base and its shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdapterCard {
	/// [`FORMAT`].
	pub format: String,
	/// The base model on chain (the adapter's parent).
	pub base_model: ModelId,
	/// blake2-256 of the base's module.
	pub base_artifact: Hash,
	/// The base's card: how text is read and decoded.
	pub base: LanguageCard,
	/// The adapter's rank.
	pub rank: u32,
	/// The layers adapted in each adapted block.
	pub targets: Vec<Target>,
	/// The blocks adapted, ascending.
	pub blocks: Vec<u32>,
}

impl AdapterCard {
	fn check(&self) -> Result<(), ModelError> {
		let fits = self.format == FORMAT
			&& self.base.adaptable
			&& (1..=MAX_RANK).contains(&self.rank)
			&& !self.targets.is_empty()
			&& !self.blocks.is_empty()
			&& self.blocks.windows(2).all(|w| w[0] < w[1])
			&& self.blocks.iter().all(|b| *b < self.base.layers);
		if fits {
			Ok(())
		} else {
			Err(ModelError::BadIndex(format!("unusable adapter card {self:?}")))
		}
	}

	/// Whether `target` of `block` is adapted.
	fn adapts(&self, block: u32, target: Target) -> bool {
		self.blocks.contains(&block) && self.targets.contains(&target)
	}
}

/// How to train an adapter.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterConfig {
	/// The adapter's rank.
	pub rank: u32,
	/// LoRA's alpha: the update is scaled by `alpha / rank`.
	pub alpha: f64,
	/// The layers adapted.
	pub targets: Vec<Target>,
	/// The blocks adapted; every block when `None`.
	pub blocks: Option<Vec<u32>>,
	/// Passes over the adapter's training tokens.
	pub epochs: u32,
	/// Windows per optimisation step.
	pub batch_size: usize,
	/// AdamW's learning rate.
	pub learning_rate: f64,
	/// Seeds the initial `a` and the windows.
	pub seed: u64,
	/// Where training runs.
	pub device: Device,
}

impl Default for AdapterConfig {
	fn default() -> Self {
		AdapterConfig {
			rank: 16,
			alpha: 64.0,
			targets: vec![Target::Qkv, Target::Projection, Target::Up, Target::Down],
			blocks: None,
			epochs: 300,
			batch_size: 16,
			learning_rate: 5e-3,
			seed: 7,
			device: Device::Cpu,
		}
	}
}

/// A trained adapter, ready to publish.
pub struct TrainedAdapter {
	/// The adapter's tensors as safetensors bytes: the artifact.
	pub artifact: Vec<u8>,
	/// The attribution index's bytes.
	pub index: Vec<u8>,
	/// The card inside the index.
	pub card: AdapterCard,
	/// How many tokens each contribution gave, by id.
	pub tokens_per_contribution: Vec<(ContributionId, usize)>,
	/// Mean training loss of the last epoch, in nats per token.
	pub final_loss: f64,
}

/// One adapted slot's tensors' names.
fn names(block: u32, target: Target) -> (String, String) {
	let target = serde_json::to_value(target).ok().and_then(|v| v.as_str().map(str::to_owned));
	let target = target.unwrap_or_default();
	(format!("a.{block}.{target}"), format!("b.{block}.{target}"))
}

/// Trains an adapter of the base whose module is the file `base_module`
/// (model `base_model`, module hash `base_artifact`, card `base`) on the
/// texts of `examples`. `progress` is told each epoch's number and mean
/// loss.
pub fn train(
	base_module: &Path,
	base_model: ModelId,
	base_artifact: Hash,
	base: &LanguageCard,
	examples: &[Example],
	config: &AdapterConfig,
	mut progress: impl FnMut(u32, f64),
) -> Result<TrainedAdapter, ModelError> {
	let mut targets = config.targets.clone();
	targets.sort_by_key(|t| *t as u8);
	targets.dedup();
	let card = AdapterCard {
		format: FORMAT.into(),
		base_model,
		base_artifact,
		base: base.clone(),
		rank: config.rank,
		targets,
		blocks: config.blocks.clone().map_or_else(
			|| (0..base.layers).collect(),
			|mut blocks| {
				blocks.sort_unstable();
				blocks.dedup();
				blocks
			},
		),
	};
	card.check()?;
	let documents = language::documents(base.tokenizer, examples);
	let index = SpanIndex::build(documents.iter().map(|(c, t)| (*c, t.as_slice())))
		.map_err(|e| ModelError::BadIndex(e.to_string()))?;
	let windows = Windows::new(index.corpus(), base.context, config.batch_size, config.device)?;
	let mut module = tch::CModule::load_on_device(base_module, config.device)?;
	module.set_eval();

	let vs = nn::VarStore::new(config.device);
	let (rank, width) = (i64::from(card.rank), i64::from(base.width));
	let scale = config.alpha / f64::from(card.rank);
	let empty = base.empty_adapter(config.device);
	// Each slot's `a` and `b`: learned where adapted (`b` from zero, so that
	// training starts from the base), the empty tensors elsewhere.
	let slots: Vec<_> = super::seeded(config.seed, || {
		(0..base.layers)
			.flat_map(|block| Target::ALL.map(|target| (block, target)))
			.map(|(block, target)| {
				card.adapts(block, target).then(|| {
					let (input, output) = target.shape(width);
					// A variable's name holds no dot: the file's names are
					// made at export.
					let (a, b) = names(block, target);
					let (a, b) = (a.replace('.', "_"), b.replace('.', "_"));
					let init = nn::Init::Randn { mean: 0.0, stdev: 1.0 / (input as f64).sqrt() };
					(
						vs.root().var(&a, &[rank, input], init),
						vs.root().var(&b, &[output, rank], nn::Init::Const(0.0)),
					)
				})
			})
			.collect()
	});
	let inputs = |tokens: &Tensor| {
		let mut inputs = vec![tokens.shallow_clone()];
		for (i, slot) in slots.iter().enumerate() {
			match slot {
				Some((a, b)) => inputs.extend([a.shallow_clone(), b * scale]),
				None => {
					inputs.extend([empty[2 * i].shallow_clone(), empty[2 * i + 1].shallow_clone()])
				}
			}
		}
		inputs
	};
	let mut opt = nn::AdamW::default().build(&vs, config.learning_rate)?;
	let mut final_loss = f64::NAN;
	for epoch in 1..=config.epochs {
		final_loss = windows.epoch(
			config.seed,
			epoch,
			|input| module.forward_ts(&inputs(input)),
			&mut opt,
		)?;
		progress(epoch, final_loss);
	}

	let mut tensors = Vec::new();
	for (i, slot) in slots.iter().enumerate() {
		if let Some((a, b)) = slot {
			let (block, target) = (i / Target::ALL.len(), Target::ALL[i % Target::ALL.len()]);
			let (a_name, b_name) = names(block as u32, target);
			tensors.push((a_name, a.detach().to_device(Device::Cpu)));
			tensors.push((b_name, (b.detach() * scale).to_device(Device::Cpu)));
		}
	}
	let dir = tempfile::tempdir()?;
	let path = dir.path().join("adapter.safetensors");
	Tensor::write_safetensors(&tensors, &path)?;
	Ok(TrainedAdapter {
		artifact: std::fs::read(&path)?,
		index: language::index_bytes(&card, &index)?,
		tokens_per_contribution: language::tokens_per_contribution(base.tokenizer, examples),
		card,
		final_loss,
	})
}

/// Reads an adapter's index from its tensors: the card and the span index.
pub fn read_index(
	card: AdapterCard,
	tensors: Vec<(String, Tensor)>,
) -> Result<(AdapterCard, SpanIndex), ModelError> {
	card.check()?;
	Ok((card, language::read_spans(tensors)?))
}

/// The inputs an adaptable module takes after the tokens for the adapter
/// in the file `artifact`: each slot's `a` and `b`, empty where not adapted.
pub fn read_adapter(
	artifact: &Path,
	card: &AdapterCard,
	device: Device,
) -> Result<Vec<Tensor>, ModelError> {
	let mut tensors = Tensor::read_safetensors(artifact)?;
	let mut take = |name: &str, shape: [i64; 2]| {
		let position = tensors.iter().position(|(n, _)| n == name);
		let tensor = position
			.map(|p| tensors.swap_remove(p).1)
			.ok_or_else(|| ModelError::BadIndex(format!("the adapter has no tensor {name}")))?;
		if tensor.size() != shape || tensor.kind() != Kind::Float {
			return Err(ModelError::BadIndex(format!(
				"the adapter's {name} is {:?} {:?}, not Float {shape:?}",
				tensor.kind(),
				tensor.size()
			)));
		}
		Ok(tensor.to_device(device))
	};
	let (rank, width) = (i64::from(card.rank), i64::from(card.base.width));
	let empty = card.base.empty_adapter(device);
	let mut inputs = Vec::with_capacity(empty.len());
	for block in 0..card.base.layers {
		for target in Target::ALL {
			let slot = inputs.len();
			if card.adapts(block, target) {
				let (input, output) = target.shape(width);
				let (a, b) = names(block, target);
				inputs.push(take(&a, [rank, input])?);
				inputs.push(take(&b, [output, rank])?);
			} else {
				inputs.push(empty[slot].shallow_clone());
				inputs.push(empty[slot + 1].shallow_clone());
			}
		}
	}
	if let Some((extra, _)) = tensors.first() {
		return Err(ModelError::BadIndex(format!(
			"the adapter has a tensor {extra} its card does not name"
		)));
	}
	Ok(inputs)
}
