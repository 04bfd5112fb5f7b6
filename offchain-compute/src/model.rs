//! The models Tributary's workers run, of two kinds, each a TorchScript
//! artifact with an attribution index that names its kind:
//!
//! - [`classifier`]: a text classifier over hashed n-grams, attributed by
//!   projected loss gradients (`tributary-text-classifier/1`);
//! - [`language`]: a generative transformer over bytes, attributed by exact
//!   spans of its training texts (`tributary-language-model/1`).
//!
//! The index is a safetensors file whose `card` tensor holds the model's
//! card as JSON; the card's `format` says which kind reads the rest. Both
//! files are content-addressed by blake2-256 and named on chain by
//! `register_model`.

pub mod classifier;
pub mod language;

use crate::{attribution::Attribution, content::ContentStore};
use std::{path::Path, time::Duration};
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
	/// A language model's card and corpus.
	pub language: Option<(language::LanguageCard, Vec<u8>)>,
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
		let language = match format.as_str() {
			classifier::FORMAT => None,
			language::FORMAT => Some((
				serde_json::from_slice(&card).map_err(bad_card)?,
				Vec::<u8>::try_from(tensor("corpus")?)?,
			)),
			other => return Err(ModelError::BadIndex(format!("unknown format {other:?}"))),
		};
		Ok(IndexClaims { contributions, language })
	}
}

impl LoadedModel {
	/// Loads a module and its index from files (already verified by hash),
	/// as the kind its card names.
	pub fn load(artifact: &Path, index: &Path, device: Device) -> Result<Self, ModelError> {
		let tensors = Tensor::read_safetensors(index)?;
		let (card, format) = card_of(&tensors)?;
		let module = || -> Result<tch::CModule, ModelError> {
			let mut module = tch::CModule::load_on_device(artifact, device)?;
			module.set_eval();
			Ok(module)
		};
		match format.as_str() {
			classifier::FORMAT => {
				let card = serde_json::from_slice(&card).map_err(bad_card)?;
				let (card, index) = classifier::read_index(card, tensors)?;
				Ok(Self::Classifier(classifier::Classifier::new(module()?, card, index, device)))
			}
			language::FORMAT => {
				let card = serde_json::from_slice(&card).map_err(bad_card)?;
				let (card, index) = language::read_index(card, tensors)?;
				Ok(Self::Language(language::LanguageModel::new(module()?, card, index, device)))
			}
			other => Err(ModelError::BadIndex(format!("unknown format {other:?}"))),
		}
	}

	/// Loads the model whose files `store` holds under `artifact` and
	/// `index`, each verified by its hash first.
	pub fn from_store(
		store: &ContentStore,
		artifact: &Hash,
		index: &Hash,
		device: Device,
	) -> Result<Self, ModelError> {
		Self::load(&store.verified(artifact)?, &store.verified(index)?, device)
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
