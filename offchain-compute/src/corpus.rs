//! Real text for datanets: a corpus of short texts in named categories,
//! written as contribution files of labelled examples (`label<TAB>text`
//! lines, what [`crate::text::parse_examples`] reads), one directory (one
//! datanet) per category, each text labelled with its category.
//!
//! The corpus is Debian's `fortunes` (installed by `scripts/setup.sh`): one
//! file per category, its texts separated by lines holding only `%`.

use std::path::{Path, PathBuf};

/// Where Debian installs the `fortunes` corpus.
pub const FORTUNES: &str = "/usr/share/games/fortunes";

/// Why a corpus could not be turned into datanets.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
	/// A category's file could not be read.
	#[error("reading {path}: {source}")]
	Read {
		/// The file.
		path: PathBuf,
		/// Why.
		#[source]
		source: std::io::Error,
	},
	/// A category's file is not UTF-8 text.
	#[error("{0} is not UTF-8 text")]
	NotText(PathBuf),
	/// A contribution file could not be written.
	#[error("writing {path}: {source}")]
	Write {
		/// The file or directory.
		path: PathBuf,
		/// Why.
		#[source]
		source: std::io::Error,
	},
	/// A category is not a plain file name of the corpus (it names the
	/// datanet and its directory, and labels its texts).
	#[error("category {0:?} is not a file name of the corpus (letters, digits, '-' and '_')")]
	BadCategory(String),
	/// A category holds no text.
	#[error("category {0:?} holds no text")]
	Empty(String),
}

/// The texts of a fortune file, in order: the entries between `%` lines,
/// each with its whitespace (line breaks, tabs) collapsed to single spaces,
/// empty ones dropped.
pub fn parse_fortunes(content: &str) -> Vec<String> {
	let mut texts = Vec::new();
	let mut words: Vec<&str> = Vec::new();
	// A last `%` ends an unterminated last entry.
	for line in content.lines().chain(std::iter::once("%")) {
		if line.trim_end() == "%" {
			if !words.is_empty() {
				texts.push(words.join(" "));
				words.clear();
			}
		} else {
			words.extend(line.split_whitespace());
		}
	}
	texts
}

/// `texts` as the contents of contribution files of at most `per` texts
/// each (at least one), in order, each line `category<TAB>text`.
pub fn contributions(category: &str, texts: &[String], per: usize) -> Vec<String> {
	texts
		.chunks(per.max(1))
		.map(|chunk| chunk.iter().map(|text| format!("{category}\t{text}\n")).collect())
		.collect()
}

/// The texts of `categories` as training examples, in contributions of at
/// most `per` texts (as [`contributions`] writes them), numbered in order
/// from `first`.
pub fn examples(
	categories: &[(String, Vec<String>)],
	per: usize,
	first: tributary_primitives::ContributionId,
) -> Result<Vec<crate::text::Example>, crate::text::ParseError> {
	let mut examples: Vec<crate::text::Example> = Vec::new();
	for (category, texts) in categories {
		for content in contributions(category, texts, per) {
			let id = examples.last().map_or(first, |e| e.contribution + 1);
			examples.extend(crate::text::parse_examples(id, content.as_bytes())?);
		}
	}
	Ok(examples)
}

/// What [`write_datanets`] wrote for one category.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
	/// The category: the datanet's name and its texts' label.
	pub category: String,
	/// The directory of its contribution files.
	pub dir: PathBuf,
	/// How many texts it holds.
	pub texts: usize,
	/// How many contribution files they went into.
	pub files: usize,
}

/// The categories of the corpus at `from`, by name: its files with a plain
/// name beside a `.dat` (the table `fortune` reads them by).
pub fn categories(from: &Path) -> Result<Vec<String>, CorpusError> {
	let read_error = |source| CorpusError::Read { path: from.to_owned(), source };
	let mut names = Vec::new();
	for entry in std::fs::read_dir(from).map_err(read_error)? {
		let name = entry.map_err(read_error)?.file_name().to_string_lossy().into_owned();
		if is_plain(&name) && from.join(format!("{name}.dat")).is_file() {
			names.push(name);
		}
	}
	names.sort();
	Ok(names)
}

/// Whether `category` is a plain file name: letters, digits, '-' and '_'.
fn is_plain(category: &str) -> bool {
	!category.is_empty()
		&& category.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The texts of each of `categories` of the corpus at `from`, at most
/// `max_texts` of a category (from its start) when given.
pub fn read_categories(
	from: &Path,
	categories: &[String],
	max_texts: Option<usize>,
) -> Result<Vec<(String, Vec<String>)>, CorpusError> {
	let mut read = Vec::with_capacity(categories.len());
	for category in categories {
		if !is_plain(category) {
			return Err(CorpusError::BadCategory(category.clone()));
		}
		let path = from.join(category);
		let bytes = std::fs::read(&path)
			.map_err(|source| CorpusError::Read { path: path.clone(), source })?;
		let content = String::from_utf8(bytes).map_err(|_| CorpusError::NotText(path))?;
		let mut texts = parse_fortunes(&content);
		texts.truncate(max_texts.unwrap_or(usize::MAX));
		if texts.is_empty() {
			return Err(CorpusError::Empty(category.clone()));
		}
		read.push((category.clone(), texts));
	}
	Ok(read)
}

/// Writes each of `categories` of the corpus at `from` under `out`, as
/// `out/<category>/<category>-NNN.txt` of `per` texts each, at most
/// `max_texts` texts of a category (from its start) when given. Nothing is
/// written unless every category reads.
pub fn write_datanets(
	from: &Path,
	categories: &[String],
	per: usize,
	max_texts: Option<usize>,
	out: &Path,
) -> Result<Vec<Written>, CorpusError> {
	let read = read_categories(from, categories, max_texts)?;
	let mut written = Vec::with_capacity(read.len());
	for (category, texts) in read {
		let dir = out.join(&category);
		let write_error = |path: &Path| {
			let path = path.to_owned();
			move |source| CorpusError::Write { path, source }
		};
		std::fs::create_dir_all(&dir).map_err(write_error(&dir))?;
		let files = contributions(&category, &texts, per);
		for (n, content) in files.iter().enumerate() {
			let path = dir.join(format!("{category}-{:03}.txt", n + 1));
			std::fs::write(&path, content).map_err(write_error(&path))?;
		}
		written.push(Written { category, dir, texts: texts.len(), files: files.len() });
	}
	Ok(written)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::text::parse_examples;

	const FILE: &str =
		"A short one.\n%\nTwo lines\n\tof text, tabbed.\n%\n%\n\n%\nThe last, unterminated.\n";

	#[test]
	fn fortunes_are_the_entries_between_percent_lines_with_whitespace_collapsed() {
		assert_eq!(
			parse_fortunes(FILE),
			["A short one.", "Two lines of text, tabbed.", "The last, unterminated."]
		);
		assert_eq!(parse_fortunes("%\nOnly one.\n%\n"), ["Only one."]);
		assert!(parse_fortunes("%\n%\n").is_empty());
	}

	#[test]
	fn contribution_files_are_labelled_examples_the_trainer_reads() {
		let texts = parse_fortunes(FILE);
		let files = contributions("science", &texts, 2);
		assert_eq!(files.len(), 2);
		let examples = parse_examples(7, files[0].as_bytes()).unwrap();
		assert_eq!(examples.len(), 2);
		assert!(examples.iter().all(|e| e.label == "science" && e.contribution == 7));
		assert_eq!(examples[1].text, "Two lines of text, tabbed.");
		assert_eq!(parse_examples(8, files[1].as_bytes()).unwrap().len(), 1);
	}

	#[test]
	fn each_category_becomes_a_directory_of_numbered_files() {
		let corpus = tempfile::tempdir().unwrap();
		std::fs::write(corpus.path().join("food"), FILE).unwrap();
		std::fs::write(corpus.path().join("pets"), "Cats.\n%\nDogs.\n%\n").unwrap();
		let out = tempfile::tempdir().unwrap();
		let cats = ["food".to_owned(), "pets".to_owned()];
		let written = write_datanets(corpus.path(), &cats, 2, None, out.path()).unwrap();
		assert_eq!(
			written.iter().map(|w| (w.category.as_str(), w.texts, w.files)).collect::<Vec<_>>(),
			[("food", 3, 2), ("pets", 2, 1)]
		);
		let second = std::fs::read_to_string(out.path().join("food/food-002.txt")).unwrap();
		assert_eq!(second, "food\tThe last, unterminated.\n");
		let capped = write_datanets(corpus.path(), &cats[..1], 2, Some(1), out.path()).unwrap();
		assert_eq!((capped[0].texts, capped[0].files), (1, 1));
	}

	#[test]
	fn a_bad_category_is_refused_and_nothing_is_written() {
		let corpus = tempfile::tempdir().unwrap();
		std::fs::write(corpus.path().join("food"), FILE).unwrap();
		std::fs::write(corpus.path().join("blank"), "%\n%\n").unwrap();
		std::fs::write(corpus.path().join("binary"), [0xff, 0xfe, b'\n']).unwrap();
		let out = tempfile::tempdir().unwrap();
		let run = |cats: &[&str]| {
			let cats: Vec<String> = cats.iter().map(|c| c.to_string()).collect();
			write_datanets(corpus.path(), &cats, 4, None, out.path())
		};
		assert!(
			matches!(run(&["food", "../etc"]), Err(CorpusError::BadCategory(c)) if c == "../etc")
		);
		assert!(matches!(run(&["food", ""]), Err(CorpusError::BadCategory(_))));
		let missing = run(&["food", "absent"]).unwrap_err();
		assert!(matches!(&missing, CorpusError::Read { path, .. } if path.ends_with("absent")));
		assert!(missing.to_string().contains("absent"));
		assert!(matches!(run(&["food", "blank"]), Err(CorpusError::Empty(c)) if c == "blank"));
		assert!(matches!(run(&["food", "binary"]), Err(CorpusError::NotText(_))));
		assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "nothing was written");
	}
}
