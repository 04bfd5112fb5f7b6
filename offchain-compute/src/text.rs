//! Text as the model sees it: labelled examples parsed from contributions, and
//! the bag of hashed word n-grams that is the model's input.

use polkadot_sdk::sp_crypto_hashing::twox_64;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};
use tributary_primitives::ContributionId;

/// One training example: a labelled text from one contribution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
	/// The contribution it came from; attribution credits it.
	pub contribution: ContributionId,
	/// The class the contributor gave it.
	pub label: String,
	/// The text.
	pub text: String,
}

/// Why a contribution's content is not a set of labelled examples.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
	/// The content is not UTF-8 text.
	#[error("contribution {0} is not UTF-8 text")]
	NotText(ContributionId),
	/// A line has no tab between its label and its text.
	#[error("contribution {contribution}, line {line}: expected `label<TAB>text`")]
	NoLabel {
		/// The contribution.
		contribution: ContributionId,
		/// The 1-based line number.
		line: usize,
	},
	/// The content holds no example at all.
	#[error("contribution {0} holds no example")]
	Empty(ContributionId),
}

/// Parses a contribution's content: one example a line, `label<TAB>text`;
/// blank lines and lines starting with `#` are skipped.
pub fn parse_examples(
	contribution: ContributionId,
	content: &[u8],
) -> Result<Vec<Example>, ParseError> {
	let text = std::str::from_utf8(content).map_err(|_| ParseError::NotText(contribution))?;
	let mut examples = Vec::new();
	for (n, line) in text.lines().enumerate() {
		let line = line.trim();
		if line.is_empty() || line.starts_with('#') {
			continue;
		}
		let (label, body) = line
			.split_once('\t')
			.filter(|(label, body)| !label.trim().is_empty() && !body.trim().is_empty())
			.ok_or(ParseError::NoLabel { contribution, line: n + 1 })?;
		examples.push(Example {
			contribution,
			label: label.trim().to_owned(),
			text: body.trim().to_owned(),
		});
	}
	if examples.is_empty() {
		return Err(ParseError::Empty(contribution));
	}
	Ok(examples)
}

/// How text becomes a vector: lower-cased alphanumeric words, their n-grams
/// up to `max_ngram` hashed (xxHash64) into `buckets` counts, L2-normalised.
/// Part of a model's card, so every worker featurises exactly as training did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Featurizer {
	/// The input width: how many hash buckets.
	pub buckets: u32,
	/// The longest word n-gram counted.
	pub max_ngram: u8,
}

impl Default for Featurizer {
	fn default() -> Self {
		Featurizer { buckets: 1 << 14, max_ngram: 2 }
	}
}

impl Featurizer {
	/// The sparse feature vector of `text`: bucket indices, ascending, each
	/// with its normalised weight.
	pub fn sparse(&self, text: &str) -> Vec<(usize, f32)> {
		let lower = text.to_lowercase();
		let words: Vec<&str> =
			lower.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
		let mut counts = std::collections::BTreeMap::<usize, f32>::new();
		for n in 1..=usize::from(self.max_ngram) {
			for gram in words.windows(n) {
				let bucket = u64::from_le_bytes(twox_64(gram.join(" ").as_bytes()))
					% u64::from(self.buckets);
				*counts.entry(bucket as usize).or_default() += 1.0;
			}
		}
		let norm = counts.values().map(|c| c * c).sum::<f32>().sqrt();
		counts.into_iter().map(|(i, c)| (i, c / norm)).collect()
	}

	/// A batch of texts as a dense `[texts, buckets]` float tensor on `device`.
	pub fn batch<S: AsRef<str>>(&self, texts: &[S], device: Device) -> Tensor {
		let width = self.buckets as usize;
		let mut dense = vec![0f32; texts.len() * width];
		for (row, text) in texts.iter().enumerate() {
			for (i, w) in self.sparse(text.as_ref()) {
				dense[row * width + i] = w;
			}
		}
		Tensor::from_slice(&dense)
			.view([texts.len() as i64, width as i64])
			.to_kind(Kind::Float)
			.to_device(device)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn examples_are_label_tab_text_lines() {
		let parsed =
			parse_examples(7, b"# comment\nsport\tThe match went on\n\nweather\t Rain \n").unwrap();
		assert_eq!(
			parsed,
			vec![
				Example {
					contribution: 7,
					label: "sport".into(),
					text: "The match went on".into()
				},
				Example { contribution: 7, label: "weather".into(), text: "Rain".into() },
			]
		);
	}

	#[test]
	fn malformed_content_is_refused_with_its_line() {
		assert!(matches!(
			parse_examples(3, b"sport\tok\nno tab here\n"),
			Err(ParseError::NoLabel { contribution: 3, line: 2 })
		));
		assert!(matches!(parse_examples(3, b"\t text\n"), Err(ParseError::NoLabel { .. })));
		assert!(matches!(parse_examples(3, b"# only\n\n"), Err(ParseError::Empty(3))));
		assert!(matches!(parse_examples(3, &[0xff, 0xfe]), Err(ParseError::NotText(3))));
	}

	#[test]
	fn features_are_normalised_and_case_blind() {
		let f = Featurizer::default();
		let a = f.sparse("Heavy RAIN, heavy wind");
		assert_eq!(a, f.sparse("heavy rain heavy wind"));
		let norm: f32 = a.iter().map(|(_, w)| w * w).sum();
		assert!((norm - 1.0).abs() < 1e-5);
		assert!(a.windows(2).all(|w| w[0].0 < w[1].0));
		assert_ne!(a, f.sparse("light rain"));
	}
}
