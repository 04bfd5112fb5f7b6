//! Exact span attribution for generated text, infini-gram style: the
//! attribution index of a language model is a suffix array over its
//! tokenised training texts, and an answer is credited to the contributions
//! whose texts hold the spans it reproduces.
//!
//! Terms:
//! - the **corpus** is every training text's tokens followed by
//!   [`END_OF_TEXT`], in training order; each text is a **document** of one
//!   contribution;
//! - the **sequence** of an answer is the prompt's tokens the model saw,
//!   followed by the generated tokens;
//! - a **span** starts at a position of the sequence and is the longest run
//!   of tokens from there that occurs somewhere in the corpus; it is
//!   **maximal** when the span starting one position earlier does not contain
//!   it. Spans never cross a document boundary, since no sequence holds
//!   [`END_OF_TEXT`].
//!
//! The rule, in integers end to end so that honest workers agree byte for
//! byte: every maximal span at least `min_span` tokens long that covers a
//! generated token counts. Each generated token goes to the longest counting
//! span that covers it (the earliest on a tie), and its one unit of credit is
//! split evenly, rounded down, among the distinct contributions whose
//! documents hold that span. A span held by more than [`MAX_HOLDERS`]
//! documents is common text, not anyone's: its tokens stay unnamed. Each
//! contribution's share is its credit over the generated tokens, so what
//! matched nothing, and every rounding, is left to the model's datanets'
//! pools on chain; the top [`MAX_ATTRIBUTION_ENTRIES`] are named, by credit
//! descending, ties to the lower contribution id.

use crate::attribution::{name_top, Attribution};
use std::collections::BTreeMap;
use tributary_primitives::{ContributionId, MAX_ATTRIBUTION_ENTRIES};

/// The token that ends every document of the corpus, and that a model
/// emits to end its answer. Tokenisers never produce it from text.
pub const END_OF_TEXT: u8 = 0;

/// How many documents may hold a span for it to be credited to them.
pub const MAX_HOLDERS: usize = 64;

/// One token's credit, split among the contributions holding its span.
const UNIT: u128 = 1 << 40;

/// Why a span index is not usable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpanError {
	/// The corpus is not documents each ended by [`END_OF_TEXT`].
	#[error("the corpus does not end with the end-of-text token")]
	Unterminated,
	/// The corpus holds a different number of documents than contributions
	/// were named for them.
	#[error("the corpus holds {documents} documents but {contributions} contributions are named")]
	Mismatch {
		/// Documents in the corpus.
		documents: usize,
		/// Contributions named, one per document.
		contributions: usize,
	},
	/// The corpus is larger than `u32` positions address.
	#[error("the corpus is {0} tokens, over the 2^31 limit")]
	TooLarge(usize),
	/// The corpus is not UTF-8 text (the suffix array is built over text).
	#[error("the corpus is not UTF-8 text")]
	NotText,
	/// A stored suffix array differs from the one its corpus gives.
	#[error("the suffix array does not match its corpus")]
	WrongSuffixArray,
}

/// A suffix array over a corpus of documents, each of one contribution.
pub struct SpanIndex {
	table: suffix::SuffixTable<'static, 'static>,
	/// Where each document starts in the corpus, ascending.
	starts: Vec<u32>,
	/// Each document's contribution.
	contributions: Vec<ContributionId>,
}

impl SpanIndex {
	/// Builds the index of documents `(contribution, tokens)` (each without
	/// [`END_OF_TEXT`], which ends it in the corpus).
	pub fn build<'a>(
		documents: impl IntoIterator<Item = (ContributionId, &'a [u8])>,
	) -> Result<Self, SpanError> {
		let mut corpus = Vec::new();
		let mut contributions = Vec::new();
		for (contribution, tokens) in documents {
			corpus.extend(tokens.iter().copied().filter(|t| *t != END_OF_TEXT));
			corpus.push(END_OF_TEXT);
			contributions.push(contribution);
		}
		Self::from_corpus(corpus, contributions)
	}

	/// The index of a corpus whose documents belong to `contributions`, in
	/// order.
	pub fn from_corpus(
		corpus: Vec<u8>,
		contributions: Vec<ContributionId>,
	) -> Result<Self, SpanError> {
		if corpus.len() >= 1 << 31 {
			return Err(SpanError::TooLarge(corpus.len()));
		}
		if corpus.last().is_some_and(|t| *t != END_OF_TEXT) {
			return Err(SpanError::Unterminated);
		}
		let mut starts = vec![0u32];
		starts.extend(
			corpus
				.iter()
				.enumerate()
				.filter(|(_, t)| **t == END_OF_TEXT)
				.map(|(i, _)| i as u32 + 1),
		);
		starts.pop();
		if starts.len() != contributions.len() {
			return Err(SpanError::Mismatch {
				documents: starts.len(),
				contributions: contributions.len(),
			});
		}
		let text = String::from_utf8(corpus).map_err(|_| SpanError::NotText)?;
		Ok(SpanIndex { table: suffix::SuffixTable::new(text), starts, contributions })
	}

	/// The index of a corpus and its stored suffix array, refused unless the
	/// array is the one the corpus gives: the array is a function of the
	/// corpus, so rebuilding it checks the stored one completely.
	pub fn with_suffix_array(
		corpus: Vec<u8>,
		contributions: Vec<ContributionId>,
		suffix_array: &[u32],
	) -> Result<Self, SpanError> {
		let index = Self::from_corpus(corpus, contributions)?;
		if index.table.table() != suffix_array {
			return Err(SpanError::WrongSuffixArray);
		}
		Ok(index)
	}

	/// The corpus: every document's tokens, each followed by [`END_OF_TEXT`].
	pub fn corpus(&self) -> &[u8] {
		self.table.text().as_bytes()
	}

	/// The suffix array: the corpus's positions in the order of the suffixes
	/// starting there.
	pub fn suffix_array(&self) -> &[u32] {
		self.table.table()
	}

	/// Each document's contribution, in corpus order.
	pub fn contributions(&self) -> &[ContributionId] {
		&self.contributions
	}

	/// The part of `range` of the suffix array (suffixes that share their
	/// first `depth` tokens) whose next token is `token`: they are ordered by
	/// it, a suffix that ends there first.
	fn narrow(&self, range: (usize, usize), depth: usize, token: u8) -> (usize, usize) {
		let text = self.corpus();
		let next = |p: &u32| text.get(*p as usize + depth).copied();
		let slice = &self.table.table()[range.0..range.1];
		let lo = slice.partition_point(|p| next(p) < Some(token));
		let hi = slice.partition_point(|p| next(p) <= Some(token));
		(range.0 + lo, range.0 + hi)
	}

	/// The longest prefix of `query` the corpus holds, and the range of the
	/// suffix array that holds it.
	fn longest_match(&self, query: &[u8]) -> (usize, (usize, usize)) {
		let mut range = (0, self.table.table().len());
		let mut len = 0;
		while len < query.len() {
			let next = self.narrow(range, len, query[len]);
			if next.0 == next.1 {
				break;
			}
			range = next;
			len += 1;
		}
		(len, range)
	}

	/// The document holding corpus position `position`.
	fn document(&self, position: u32) -> usize {
		self.starts.partition_point(|s| *s <= position).saturating_sub(1)
	}

	/// The attribution of an answer whose sequence is `sequence`, the
	/// generated tokens starting at `generated_from` (see the module's rule).
	pub fn attribute(
		&self,
		sequence: &[u8],
		generated_from: usize,
		min_span: usize,
	) -> Attribution {
		let generated = sequence.len().saturating_sub(generated_from);
		if generated == 0 {
			return Vec::new();
		}
		// The longest match at each start; a start's span is maximal unless
		// the one before it reaches past its end.
		let matches: Vec<(usize, (usize, usize))> =
			(0..sequence.len()).map(|i| self.longest_match(&sequence[i..])).collect();
		let mut spans: Vec<(usize, usize, (usize, usize))> = Vec::new();
		for (start, (len, range)) in matches.iter().enumerate() {
			let contained = start > 0 && matches[start - 1].0 > *len;
			if !contained && *len >= min_span.max(1) && start + len > generated_from {
				spans.push((start, *len, *range));
			}
		}
		// The span each generated token is credited through.
		let mut tokens_of_span = vec![0u128; spans.len()];
		for position in generated_from..sequence.len() {
			let best = spans
				.iter()
				.enumerate()
				.filter(|(_, (start, len, _))| *start <= position && position < start + len)
				.max_by(|(_, a), (_, b)| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
				.map(|(i, _)| i);
			if let Some(i) = best {
				tokens_of_span[i] += 1;
			}
		}
		let mut credit = BTreeMap::<ContributionId, u128>::new();
		for ((_, _, (lo, hi)), tokens) in spans.iter().zip(tokens_of_span) {
			if tokens == 0 || hi - lo > MAX_HOLDERS {
				continue;
			}
			let mut holders: Vec<ContributionId> = self.table.table()[*lo..*hi]
				.iter()
				.map(|p| self.contributions[self.document(*p)])
				.collect();
			holders.sort_unstable();
			holders.dedup();
			let each = tokens * UNIT / holders.len() as u128;
			for holder in holders {
				*credit.entry(holder).or_default() += each;
			}
		}
		name_top(
			credit.into_iter().collect(),
			generated as u128 * UNIT,
			MAX_ATTRIBUTION_ENTRIES as usize,
		)
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use polkadot_sdk::sp_runtime::Perbill;

	fn index(documents: &[(ContributionId, &str)]) -> SpanIndex {
		SpanIndex::build(documents.iter().map(|(c, t)| (*c, t.as_bytes()))).unwrap()
	}

	/// The attribution of `generated` after `prompt`.
	fn credit(index: &SpanIndex, prompt: &str, generated: &str, min: usize) -> Attribution {
		let sequence = format!("{prompt}{generated}");
		index.attribute(sequence.as_bytes(), prompt.len(), min)
	}

	#[test]
	fn a_reproduced_passage_is_credited_to_the_contribution_holding_it() {
		let index = index(&[
			(3, "the quick brown fox jumps over the lazy dog"),
			(7, "a stitch in time saves nine"),
		]);
		// Every generated token is inside the span "fox jumps over the lazy dog".
		let picked = credit(&index, "brown fox ", "jumps over the lazy dog", 8);
		assert_eq!(picked, vec![(3, Perbill::one())]);
		let picked = credit(&index, "say: ", "a stitch in time", 8);
		assert_eq!(picked[0].0, 7);
	}

	#[test]
	fn unmatched_tokens_are_left_to_the_pools_and_short_spans_do_not_count() {
		let index = index(&[(1, "abcdefghij"), (2, "zyxwvutsrq")]);
		// Five of ten generated tokens are in a span of contribution 1.
		let picked = credit(&index, "", "abcde12345", 4);
		assert_eq!(picked, vec![(1, Perbill::from_percent(50))]);
		// A span shorter than the minimum credits no one.
		assert!(credit(&index, "", "abc1234567", 4).is_empty());
		assert!(credit(&index, "abcdefghij", "", 4).is_empty(), "nothing generated");
	}

	#[test]
	fn a_span_held_by_several_contributions_is_split_and_ties_go_to_the_lower_id() {
		let index = index(&[(9, "shared words here"), (4, "shared words here"), (6, "other")]);
		let picked = credit(&index, "", "shared words here", 6);
		assert_eq!(picked, vec![(4, Perbill::from_percent(50)), (9, Perbill::from_percent(50))]);
	}

	#[test]
	fn each_token_goes_to_the_longest_span_covering_it() {
		// "abcdefgh" is in 1, "efghijklmnop" in 2: tokens e..h are in both
		// spans and go to 2's longer one.
		let index = index(&[(1, "abcdefgh"), (2, "efghijklmnop")]);
		let picked = credit(&index, "", "abcdefghijklmnop", 4);
		assert_eq!(picked, vec![(2, Perbill::from_percent(75)), (1, Perbill::from_percent(25))]);
	}

	#[test]
	fn spans_never_cross_documents_and_common_text_names_no_one() {
		let index = index(&[(1, "abcd"), (2, "efgh")]);
		// "abcdefgh" is two documents' texts run together: two spans of 4.
		let picked = credit(&index, "", "abcdefgh", 5);
		assert!(picked.is_empty(), "no span of 5 exists: {picked:?}");
		let common: Vec<(ContributionId, String)> =
			(0..=MAX_HOLDERS as u64).map(|c| (c, "the same old text".to_owned())).collect();
		let common = SpanIndex::build(common.iter().map(|(c, t)| (*c, t.as_bytes()))).unwrap();
		assert!(common.attribute(b"the same old text", 0, 4).is_empty());
	}

	#[test]
	fn a_stored_suffix_array_must_be_the_corpus_own() {
		let built = index(&[(1, "banana"), (2, "bandana")]);
		let (corpus, contributions) = (built.corpus().to_vec(), built.contributions().to_vec());
		let mut array = built.suffix_array().to_vec();
		assert!(SpanIndex::with_suffix_array(corpus.clone(), contributions.clone(), &array).is_ok());
		array.swap(0, 1);
		assert_eq!(
			SpanIndex::with_suffix_array(corpus.clone(), contributions.clone(), &array).err(),
			Some(SpanError::WrongSuffixArray)
		);
		assert_eq!(
			SpanIndex::from_corpus(corpus.clone(), vec![1]).err(),
			Some(SpanError::Mismatch { documents: 2, contributions: 1 })
		);
		assert_eq!(
			SpanIndex::from_corpus(b"no end".to_vec(), vec![1]).err(),
			Some(SpanError::Unterminated)
		);
	}
}
