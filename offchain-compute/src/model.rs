//! The models Tributary's workers run, of two kinds, each a TorchScript
//! artifact with an attribution index that names its kind:
//!
//! - [`classifier`]: a text classifier over hashed n-grams, attributed by
//!   projected loss gradients (`tributary-text-classifier/1`);
//! - [`language`]: a generative transformer over bytes, attributed by exact
//!   spans of its training texts (`tributary-language-model/1`);
//! - [`adapter`]: a low-rank adapter of a language model, run over the
//!   base's module and attributed by spans of its own training texts
//!   (`tributary-lora-adapter/1`); its artifact is the adapter's tensors.
//!
//! The index is a safetensors file whose `card` tensor holds the model's
//! card as JSON; the card's `format` says which kind reads the rest. Both
//! files are content-addressed by blake2-256 and named on chain by
//! `register_model`.

pub mod adapter;
pub mod classifier;
pub mod language;

use crate::{attribution::Attribution, content::ContentStore};
use std::{path::Path, sync::Arc, time::Duration};
use tch::{Device, Tensor};
use tributary_primitives::{ContributionId, Hash};

/// Why a model could not be trained, saved or loaded.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
	/// libtorch refused an operation.
	#[error("libtorch: {0}")]
	Torch(#[from] tch::TchError),
	/// A file could not be read or written.
	#[error("{0}")]
	Io(#[from] std::io::Error),
	/// A model file is not in the content store, or not what its hash says.
	#[error("{0}")]
	Content(#[from] crate::content::ContentError),
	/// Training a classifier needs examples of at least two classes.
	#[error("training needs examples of at least two labels, got {0}")]
	TooFewLabels(usize),
	/// Training a language model needs more text than one window.
	#[error("training needs at least {needed} tokens of text, got {tokens}")]
	TooLittleText {
		/// The tokens the training texts give.
		tokens: usize,
		/// One window of the context, and the token after it.
		needed: usize,
	},
	/// The attribution index is not one this worker understands.
	#[error("attribution index: {0}")]
	BadIndex(String),
	/// The module's output does not have the expected shape.
	#[error("the module returned {0}")]
	BadOutput(String),
}

/// A model's answer to one input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
	/// The output bytes, as revealed on chain: JSON, its numbers quantised so
	/// that floating-point noise never changes the bytes.
	pub output: Vec<u8>,
	/// The contributions it owes to.
	pub attribution: Attribution,
}

/// How long an answer took.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timings {
	/// Running the model.
	pub inference: Duration,
	/// Computing the attribution.
	pub attribution: Duration,
}

/// A model loaded for inference, with its index, of either kind.
pub enum LoadedModel {
	/// A text classifier.
	Classifier(classifier::Classifier),
	/// A generative language model.
	Language(language::LanguageModel),
}

/// The part of a card every kind has.
#[derive(serde::Deserialize)]
struct Format {
	format: String,
}

fn bad_card(e: serde_json::Error) -> ModelError {
	ModelError::BadIndex(format!("its card: {e}"))
}

/// An index's card, as JSON, and the format it names.
fn card_of(tensors: &[(String, Tensor)]) -> Result<(Vec<u8>, String), ModelError> {
	let card = tensors
		.iter()
		.find(|(name, _)| name == "card")
		.map(|(_, t)| Vec::<u8>::try_from(t))
		.transpose()?
		.ok_or_else(|| ModelError::BadIndex("it has no card".into()))?;
	let Format { format } = serde_json::from_slice(&card).map_err(bad_card)?;
	Ok((card, format))
}

/// What a model's attribution index says of its training data, read without
/// its module: the contributions it can credit and, for a language model,
/// the texts it holds for each (see [`crate::verify`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexClaims {
	/// Every contribution the index names, in its order: a classifier's
	/// once each, a language model's once per document of its corpus.
	pub contributions: Vec<ContributionId>,
	/// A language model's card and corpus (an adapter's base's card).
	pub language: Option<(language::LanguageCard, Vec<u8>)>,
	/// An adapter's base: the model and the hash of its module.
	pub base: Option<(tributary_primitives::ModelId, Hash)>,
}

impl IndexClaims {
	/// Reads the claims of the index file `index`, of either kind.
	pub fn read(index: &Path) -> Result<Self, ModelError> {
		let tensors = Tensor::read_safetensors(index)?;
		let (card, format) = card_of(&tensors)?;
		let tensor = |wanted: &str| {
			tensors
				.iter()
				.find(|(name, _)| name == wanted)
				.map(|(_, t)| t)
				.ok_or_else(|| ModelError::BadIndex(format!("it has no {wanted}")))
		};
		let contributions = Vec::<i64>::try_from(tensor("contributions")?)?
			.into_iter()
			.map(|c| c as ContributionId)
			.collect();
		let (language, base) = match format.as_str() {
			classifier::FORMAT => (None, None),
			language::FORMAT => (
				Some((
					serde_json::from_slice(&card).map_err(bad_card)?,
					Vec::<u8>::try_from(tensor("corpus")?)?,
				)),
				None,
			),
			adapter::FORMAT => {
				let card: adapter::AdapterCard = serde_json::from_slice(&card).map_err(bad_card)?;
				let base = Some((card.base_model, card.base_artifact));
				(Some((card.base, Vec::<u8>::try_from(tensor("corpus")?)?)), base)
			}
			other => return Err(ModelError::BadIndex(format!("unknown format {other:?}"))),
		};
		Ok(IndexClaims { contributions, language, base })
	}
}

/// Runs `init` with libtorch's random generator seeded with `seed`, alone.
/// The generator is the process's: trainings that drew initial weights at
/// once in one process would take each other's numbers, and a seeded run
/// would not give the same model twice.
pub(crate) fn seeded<T>(seed: u64, init: impl FnOnce() -> T) -> T {
	static GENERATOR: std::sync::Mutex<()> = std::sync::Mutex::new(());
	let _alone = GENERATOR.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
	tch::manual_seed(seed as i64);
	init()
}

/// Loads the TorchScript module in the file `path` for inference.
pub fn load_module(path: &Path, device: Device) -> Result<tch::CModule, ModelError> {
	let mut module = tch::CModule::load_on_device(path, device)?;
	module.set_eval();
	Ok(module)
}

/// The index file `index`'s card, if it is an adapter's: what it needs
/// besides its own files.
pub fn adapter_card(index: &Path) -> Result<Option<adapter::AdapterCard>, ModelError> {
	let tensors = Tensor::read_safetensors(index)?;
	let (card, format) = card_of(&tensors)?;
	match format.as_str() {
		adapter::FORMAT => Ok(Some(serde_json::from_slice(&card).map_err(bad_card)?)),
		_ => Ok(None),
	}
}

impl LoadedModel {
	/// Loads a module and its index from files (already verified by hash),
	/// as the kind its card names; an adapter's base module is asked of
	/// `base` by its hash.
	pub fn load(
		artifact: &Path,
		index: &Path,
		device: Device,
		base: impl FnOnce(&Hash) -> Result<Arc<tch::CModule>, ModelError>,
	) -> Result<Self, ModelError> {
		let tensors = Tensor::read_safetensors(index)?;
		let (card, format) = card_of(&tensors)?;
		let module = || load_module(artifact, device);
		match format.as_str() {
			classifier::FORMAT => {
				let card = serde_json::from_slice(&card).map_err(bad_card)?;
				let (card, index) = classifier::read_index(card, tensors)?;
				Ok(Self::Classifier(classifier::Classifier::new(module()?, card, index, device)))
			}
			language::FORMAT => {
				let card = serde_json::from_slice(&card).map_err(bad_card)?;
				let (card, index) = language::read_index(card, tensors)?;
				let module = Arc::new(module()?);
				Ok(Self::Language(language::LanguageModel::new(module, card, index, device)))
			}
			adapter::FORMAT => {
				let card = serde_json::from_slice(&card).map_err(bad_card)?;
				let (card, index) = adapter::read_index(card, tensors)?;
				let tensors = adapter::read_adapter(artifact, &card, device)?;
				let module = base(&card.base_artifact)?;
				Ok(Self::Language(language::LanguageModel::adapted(
					module, card.base, index, device, tensors,
				)))
			}
			other => Err(ModelError::BadIndex(format!("unknown format {other:?}"))),
		}
	}

	/// Loads the model whose files `store` holds under `artifact` and
	/// `index` (and an adapter's base module), each verified by its hash
	/// first.
	pub fn from_store(
		store: &ContentStore,
		artifact: &Hash,
		index: &Hash,
		device: Device,
	) -> Result<Self, ModelError> {
		Self::load(&store.verified(artifact)?, &store.verified(index)?, device, |base| {
			Ok(Arc::new(load_module(&store.verified(base)?, device)?))
		})
	}

	/// A language model's module, shared with any adapter run over it.
	pub fn module(&self) -> Option<Arc<tch::CModule>> {
		match self {
			Self::Language(model) => Some(model.module().clone()),
			Self::Classifier(_) => None,
		}
	}

	/// Whether this is an adapter over a base's module.
	pub fn is_adapter(&self) -> bool {
		matches!(self, Self::Language(model) if model.is_adapter())
	}

	/// Runs the model on `input`: its answer, and how long it took.
	pub fn answer_timed(&self, input: &str) -> Result<(Answer, Timings), ModelError> {
		match self {
			Self::Classifier(model) => model.answer(input),
			Self::Language(model) => model.answer(input),
		}
	}

	/// Runs the model on `input`: its output and attribution.
	pub fn answer(&self, input: &str) -> Result<Answer, ModelError> {
		self.answer_timed(input).map(|(answer, _)| answer)
	}
}
