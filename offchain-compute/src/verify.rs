//! What a worker checks of a model before it serves it.
//!
//! A model's attribution index decides whom each answer pays, and it is
//! made by the model's owner, who may own contributions too. Before serving
//! a model a worker checks what the chain and the datanets' content let it:
//!
//! - **Lineage.** Every contribution the index names is a member of a
//!   training snapshot the model was registered with: its datanet is one of
//!   the model's training datanets and it was approved by that snapshot. A
//!   contribution withdrawn since is let through: its record (and content
//!   hash) is gone, and whatever an answer credits it goes to the model's
//!   pools, not to anyone the index could favour.
//! - **Texts** (language models). A span index is a function of the
//!   training texts, so the worker rebuilds the corpus from each named
//!   contribution's content, fetched by the hash the chain holds and parsed
//!   and tokenised as training does ([`language::documents`]), and compares
//!   it with the index's byte for byte. Every span an answer credits to a
//!   contribution is then in that contribution's text. (The suffix array is
//!   rebuilt from the corpus and compared when the model loads.)
//!
//! What stays trusted: that the weights were trained on that corpus (a model
//! trained on other text still answers, and credits only what matches the
//! contributions' texts); that the index leaves out no member of the
//! snapshots (one left out earns from the pools, never by spans); and a
//! classifier's gradient features, which only the training run rebuilds.
//!
//! A worker refuses to serve a model that fails a check: it does not
//! declare it, and declines its jobs.

use crate::{
	chain::{AtBlock, Chain, ChainError, CreditedContribution, RegisteredModel},
	content::ContentError,
	fetch::{FetchError, Fetcher},
	model::{
		language::{self, LanguageCard},
		IndexClaims, ModelError,
	},
	text::{parse_examples, Example, ParseError},
};
use std::collections::BTreeMap;
use tributary_primitives::{ContributionId, DatanetId, ModelId};

/// Why a model's index was not verified.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
	/// The index file cannot be read as either kind's.
	#[error("its index: {0}")]
	Index(#[from] ModelError),
	/// The index names a contribution no one ever made.
	#[error("its index names contribution {0}, which does not exist")]
	UnknownContribution(ContributionId),
	/// The index names a contribution outside the model's training snapshots.
	#[error(
		"its index names contribution {contribution} of datanet {datanet}, which is not in \
		 a snapshot the model was trained on"
	)]
	NotTrainedOn {
		/// The contribution.
		contribution: ContributionId,
		/// Its datanet.
		datanet: DatanetId,
	},
	/// A contribution's documents are not together in the corpus.
	#[error("its corpus holds documents of contribution {0} apart from one another")]
	Scattered(ContributionId),
	/// The corpus's documents of a contribution are not its texts.
	#[error("its corpus does not hold the texts of contribution {0} as its content gives them")]
	TextMismatch(ContributionId),
	/// The corpus is not documents each ended by the end-of-text token, one
	/// per contribution named.
	#[error("its corpus is {documents} documents for {named} contributions named")]
	Malformed {
		/// Documents in the corpus.
		documents: usize,
		/// Contributions named.
		named: usize,
	},
	/// A contribution's content is not the texts training reads.
	#[error(transparent)]
	Unparsable(#[from] ParseError),
	/// A contribution's content could not be fetched.
	#[error("the content of contribution {contribution}: {source}")]
	Fetch {
		/// The contribution.
		contribution: ContributionId,
		/// What failed.
		source: FetchError,
	},
	/// An adapter's card names a base that is not a registered model with
	/// that module.
	#[error("its card names model {base} as its base, whose module is not the one it names")]
	NotItsBase {
		/// The base the card names.
		base: ModelId,
	},
	/// The content store failed.
	#[error(transparent)]
	Content(#[from] ContentError),
	/// The chain could not be read.
	#[error(transparent)]
	Chain(#[from] ChainError),
}

impl VerifyError {
	/// Whether checking again may succeed: the node, the network or the
	/// content server failed, not the model.
	pub fn is_transient(&self) -> bool {
		match self {
			VerifyError::Fetch { source, .. } => source.is_transient(),
			VerifyError::Chain(_) | VerifyError::Content(_) => true,
			_ => false,
		}
	}
}

/// Checks `model`'s index, whose file is in `fetcher`'s store, against the
/// chain at `at` and its contributions' content (fetched from the model's
/// URI): see the module's checks.
pub async fn verify_model(
	chain: &Chain,
	at: &AtBlock,
	fetcher: &Fetcher,
	model: &RegisteredModel,
) -> Result<(), VerifyError> {
	let index = fetcher.store().verified(&model.files.index)?;
	let claims = tokio::task::spawn_blocking(move || IndexClaims::read(&index))
		.await
		.map_err(|e| ModelError::BadIndex(e.to_string()))??;
	if let Some((base, module)) = claims.base {
		let registered = chain.model(at, base).await?;
		if registered.is_none_or(|registered| registered.files.artifact != module) {
			return Err(VerifyError::NotItsBase { base });
		}
	}
	let training = chain.training_snapshots(at, model.files.model_id).await?;
	let mut named = claims.contributions.clone();
	named.sort_unstable();
	named.dedup();
	let mut texts = BTreeMap::new();
	for contribution in named {
		let content_hash = match chain.credited_contribution(at, contribution).await? {
			CreditedContribution::Unknown => {
				return Err(VerifyError::UnknownContribution(contribution))
			}
			CreditedContribution::Removed => {
				texts.insert(contribution, None);
				continue;
			}
			CreditedContribution::Found { datanet, content_hash, joined } => {
				let member = joined.is_some_and(|joined| {
					training.iter().any(|(d, snapshot)| *d == datanet && joined <= *snapshot)
				});
				if !member {
					return Err(VerifyError::NotTrainedOn { contribution, datanet });
				}
				content_hash
			}
		};
		if claims.language.is_some() {
			let (_, path) = fetcher
				.fetch(&model.uri, &content_hash)
				.await
				.map_err(|source| VerifyError::Fetch { contribution, source })?;
			let bytes = tokio::fs::read(&path)
				.await
				.map_err(|source| ContentError::Io { path: path.clone(), source })?;
			texts.insert(contribution, Some(parse_examples(contribution, &bytes)?));
		}
	}
	let Some((card, corpus)) = claims.language else { return Ok(()) };
	tokio::task::spawn_blocking(move || check_corpus(&card, &corpus, &claims.contributions, &texts))
		.await
		.map_err(|e| ModelError::BadIndex(e.to_string()))?
}

/// Checks a language model's corpus, whose documents belong to
/// `contributions` in order, against `texts`: each named contribution's
/// examples, or `None` for one withdrawn, whose documents are let through
/// as they are. Each contribution's documents must lie together, and be
/// exactly the documents its examples give.
pub fn check_corpus(
	card: &LanguageCard,
	corpus: &[u8],
	contributions: &[ContributionId],
	texts: &BTreeMap<ContributionId, Option<Vec<Example>>>,
) -> Result<(), VerifyError> {
	let documents = language::documents_of(corpus)
		.ok_or(VerifyError::Malformed { documents: 0, named: contributions.len() })?;
	if documents.len() != contributions.len() {
		return Err(VerifyError::Malformed {
			documents: documents.len(),
			named: contributions.len(),
		});
	}
	// Each contribution's run of documents, in corpus order.
	let mut runs: Vec<(ContributionId, Vec<&[u8]>)> = Vec::new();
	for (&contribution, document) in contributions.iter().zip(documents) {
		if let Some((_, run)) = runs.last_mut().filter(|(last, _)| *last == contribution) {
			run.push(document);
		} else if runs.iter().any(|(c, _)| *c == contribution) {
			return Err(VerifyError::Scattered(contribution));
		} else {
			runs.push((contribution, vec![document]));
		}
	}
	for (contribution, run) in runs {
		let Some(examples) = texts.get(&contribution) else {
			return Err(VerifyError::TextMismatch(contribution));
		};
		let Some(examples) = examples else { continue };
		let rebuilt = language::documents(card.tokenizer, examples);
		let same = rebuilt.len() == run.len()
			&& rebuilt.iter().zip(&run).all(|((_, tokens), document)| tokens == document);
		if !same {
			return Err(VerifyError::TextMismatch(contribution));
		}
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{
		model::language::{Tokenizer, FORMAT},
		spans::SpanIndex,
	};

	fn card() -> LanguageCard {
		LanguageCard {
			format: FORMAT.into(),
			tokenizer: Tokenizer::Utf8Bytes,
			context: 64,
			width: 32,
			layers: 1,
			heads: 2,
			max_new_tokens: 16,
			min_span: 4,
			adaptable: false,
		}
	}

	fn examples(contribution: ContributionId, content: &str) -> Vec<Example> {
		parse_examples(contribution, content.as_bytes()).unwrap()
	}

	/// The corpus training indexes for `examples`, and each document's
	/// contribution.
	fn trained_corpus(examples: &[Example]) -> (Vec<u8>, Vec<ContributionId>) {
		let documents = language::documents(Tokenizer::Utf8Bytes, examples);
		let index = SpanIndex::build(documents.iter().map(|(c, t)| (*c, t.as_slice()))).unwrap();
		(index.corpus().to_vec(), index.contributions().to_vec())
	}

	fn contents() -> BTreeMap<ContributionId, Option<Vec<Example>>> {
		BTreeMap::from([
			(3, Some(examples(3, "wit\tBrevity is the soul of wit.\nwit\tLess is more.\n"))),
			(8, Some(examples(8, "law\tMurphy was an optimist.\n"))),
		])
	}

	fn all_examples() -> Vec<Example> {
		contents().into_values().flatten().flatten().collect()
	}

	#[test]
	fn the_corpus_training_gives_is_verified() {
		let (corpus, contributions) = trained_corpus(&all_examples());
		check_corpus(&card(), &corpus, &contributions, &contents()).unwrap();
		// The order of contributions is the owner's to choose.
		let mut reordered = all_examples();
		reordered.rotate_left(2);
		let (corpus, contributions) = trained_corpus(&reordered);
		check_corpus(&card(), &corpus, &contributions, &contents()).unwrap();
	}

	#[test]
	fn text_credited_to_a_contribution_that_does_not_hold_it_is_refused() {
		// The owner's own passage, filed under contribution 8.
		let mut planted = all_examples();
		planted[2].text = "Buy the owner's book today.".into();
		let (corpus, contributions) = trained_corpus(&planted);
		let refused = check_corpus(&card(), &corpus, &contributions, &contents());
		assert!(matches!(refused, Err(VerifyError::TextMismatch(8))), "{refused:?}");
		// A text moved from one contribution to another.
		let mut moved = all_examples();
		moved[1].contribution = 8;
		let (corpus, contributions) = trained_corpus(&moved);
		let refused = check_corpus(&card(), &corpus, &contributions, &contents());
		assert!(matches!(refused, Err(VerifyError::TextMismatch(3))), "{refused:?}");
		// A text left out of its contribution's documents.
		let dropped: Vec<Example> = all_examples().into_iter().skip(1).collect();
		let (corpus, contributions) = trained_corpus(&dropped);
		let refused = check_corpus(&card(), &corpus, &contributions, &contents());
		assert!(matches!(refused, Err(VerifyError::TextMismatch(3))), "{refused:?}");
	}

	#[test]
	fn a_withdrawn_contributions_documents_pass_as_they_are() {
		let mut texts = contents();
		texts.insert(8, None);
		let mut planted = all_examples();
		planted[2].text = "Anything at all.".into();
		let (corpus, contributions) = trained_corpus(&planted);
		check_corpus(&card(), &corpus, &contributions, &texts).unwrap();
	}

	#[test]
	fn a_malformed_or_scattered_corpus_is_refused() {
		let (corpus, contributions) = trained_corpus(&all_examples());
		let refused =
			check_corpus(&card(), &corpus[..corpus.len() - 1], &contributions, &contents());
		assert!(matches!(refused, Err(VerifyError::Malformed { .. })), "{refused:?}");
		let refused = check_corpus(&card(), &corpus, &contributions[1..], &contents());
		assert!(matches!(refused, Err(VerifyError::Malformed { documents: 3, named: 2 })));
		let mut scattered = all_examples();
		scattered.swap(1, 2);
		let (corpus, contributions) = trained_corpus(&scattered);
		let refused = check_corpus(&card(), &corpus, &contributions, &contents());
		assert!(matches!(refused, Err(VerifyError::Scattered(3))), "{refused:?}");
		// A contribution named with no texts looked up for it.
		let (corpus, mut contributions) = trained_corpus(&all_examples());
		contributions[2] = 9;
		let refused = check_corpus(&card(), &corpus, &contributions, &contents());
		assert!(matches!(refused, Err(VerifyError::TextMismatch(9))), "{refused:?}");
	}
}
