//! Data no one here wrote: Debian's `fortunes` corpus (installed by
//! `scripts/setup.sh`), turned into datanets by `tributary-worker corpus`,
//! and the classifier trained on it telling its categories apart.

// The library under test uses the crate's other dependencies.
#![allow(unused_crate_dependencies)]

use std::{collections::BTreeMap, path::Path, process::Command};
use tributary_worker::{
	content::ContentStore,
	model::{
		classifier::{train, TrainConfig},
		LoadedModel,
	},
	text::{parse_examples, Example},
};

const CATEGORIES: [&str; 3] = ["science", "food", "sports"];

fn corpus(args: &[&str]) -> std::process::Output {
	Command::new(env!("CARGO_BIN_EXE_tributary-worker"))
		.arg("corpus")
		.args(args)
		.output()
		.expect("running tributary-worker corpus")
}

/// The examples of every contribution file under `dir`, each file a
/// contribution numbered in order, and each contribution's category.
fn contributions(dir: &Path) -> (Vec<Example>, BTreeMap<u64, String>) {
	let mut examples = Vec::new();
	let mut category = BTreeMap::new();
	for name in CATEGORIES {
		let mut files: Vec<_> =
			std::fs::read_dir(dir.join(name)).unwrap().map(|e| e.unwrap().path()).collect();
		files.sort();
		for file in files {
			let id = category.len() as u64;
			examples.extend(parse_examples(id, &std::fs::read(&file).unwrap()).unwrap());
			category.insert(id, name.to_owned());
		}
	}
	(examples, category)
}

#[test]
fn the_classifier_tells_the_real_corpus_categories_apart() {
	let out = tempfile::tempdir().unwrap();
	let dir = out.path().to_str().unwrap();
	let mut args = vec!["--max-texts", "128", "--per-contribution", "16", "--out", dir];
	for name in CATEGORIES {
		args.extend(["--category", name]);
	}
	let made = corpus(&args);
	assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
	let printed = String::from_utf8(made.stdout).unwrap();
	for name in CATEGORIES {
		assert!(printed.contains(&format!("{name}: 128 texts in 8 contributions")), "{printed}");
	}

	let (examples, category) = contributions(out.path());
	assert_eq!((examples.len(), category.len()), (3 * 128, 24));
	let loaded = trained(&examples, TrainConfig { epochs: 15, ..Default::default() });

	// A text of each category's third contribution, asked back: its label,
	// and credit to that category's contributions first.
	for planted in [2u64, 10, 18] {
		let source = examples.iter().find(|e| e.contribution == planted).unwrap();
		let answer = loaded.answer(&source.text).unwrap();
		let output = String::from_utf8(answer.output.clone()).unwrap();
		assert!(output.contains(&format!("\"label\":\"{}\"", source.label)), "{output}");
		let (top, _) = answer.attribution[0];
		assert_eq!(category[&top], source.label, "{:?}", &answer.attribution[..3]);
	}

	// Every text asked back: with the TRAK correction its own contribution
	// comes first far more often than by the cosine alone, which mostly
	// says which category a text is in (8 contributions each).
	let plain = trained(&examples, TrainConfig { epochs: 15, damping: None, ..Default::default() });
	let first = |model: &LoadedModel| {
		let hits = examples.iter().filter(|e| {
			model
				.answer(&e.text)
				.unwrap()
				.attribution
				.first()
				.is_some_and(|(c, _)| *c == e.contribution)
		});
		hits.count() as f64 / examples.len() as f64
	};
	let (corrected, cosine) = (first(&loaded), first(&plain));
	assert!(
		corrected > 0.55 && corrected > cosine + 0.15,
		"planted first: {corrected} corrected, {cosine} by cosine"
	);
}

/// A classifier trained on `examples` with `config`, loaded from a content
/// directory of its own.
fn trained(examples: &[Example], config: TrainConfig) -> LoadedModel {
	let model = train(examples, &config, |_, _| {}).expect("training");
	assert!(model.train_accuracy > 0.9, "the classifier learned: {}", model.train_accuracy);
	let store_dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(store_dir.path()).unwrap();
	let (artifact, index) = (store.put(&model.artifact).unwrap(), store.put(&model.index).unwrap());
	// Loaded, the model no longer needs its files.
	LoadedModel::from_store(&store, &artifact, &index, tch::Device::Cpu).unwrap()
}

#[test]
fn a_category_the_corpus_lacks_is_refused_by_name() {
	let out = tempfile::tempdir().unwrap();
	let dir = out.path().to_str().unwrap();
	let refused =
		corpus(&["--category", "science", "--category", "no-such-category", "--out", dir]);
	assert!(!refused.status.success());
	let stderr = String::from_utf8_lossy(&refused.stderr);
	assert!(stderr.contains("no-such-category"), "{stderr}");
	assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0, "nothing was written");
	let bad = corpus(&["--category", "../etc", "--out", dir]);
	assert!(String::from_utf8_lossy(&bad.stderr).contains("not a file name"));
}
