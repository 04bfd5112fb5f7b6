//! The language model kind on the real corpus: trained on Debian's
//! `fortunes`, it continues a passage it memorised, and exact span
//! attribution credits the contribution the passage came from; two worker
//! processes give the same bytes.

// The library under test uses the crate's other dependencies.
#![allow(unused_crate_dependencies)]

use std::{path::Path, process::Command};
use tributary_worker::{
	content::ContentStore,
	corpus::{read_categories, FORTUNES},
	model::{
		language::{train, LanguageConfig, TrainedLanguageModel},
		LoadedModel, ModelError,
	},
	text::Example,
};

/// Texts of the corpus's `food` category, four a contribution.
fn examples(texts: usize) -> Vec<Example> {
	let read = read_categories(Path::new(FORTUNES), &["food".into()], Some(texts)).unwrap();
	read[0]
		.1
		.iter()
		.enumerate()
		.map(|(i, text)| Example {
			contribution: i as u64 / 4,
			label: "food".into(),
			text: text.clone(),
		})
		.collect()
}

fn config() -> LanguageConfig {
	LanguageConfig { context: 64, width: 96, epochs: 300, min_span: 12, ..Default::default() }
}

struct Published {
	store: ContentStore,
	_dir: tempfile::TempDir,
	artifact: String,
	index: String,
}

fn publish(model: &TrainedLanguageModel) -> Published {
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	let artifact = hex::encode(store.put(&model.artifact).unwrap());
	let index = hex::encode(store.put(&model.index).unwrap());
	Published { store, _dir: dir, artifact, index }
}

fn load(p: &Published) -> LoadedModel {
	let hash = |h: &str| tributary_primitives::Hash::from_slice(&hex::decode(h).unwrap());
	LoadedModel::from_store(&p.store, &hash(&p.artifact), &hash(&p.index), tch::Device::Cpu)
		.unwrap()
}

#[test]
fn a_memorised_passage_is_credited_to_its_contribution_and_processes_agree() {
	tch::set_num_threads(1);
	let examples = examples(24);
	let started = std::time::Instant::now();
	let model = train(&examples, &config(), |epoch, loss| {
		if epoch % 50 == 0 {
			eprintln!("epoch {epoch} loss {loss:.3}");
		}
	})
	.expect("training");
	eprintln!("trained in {:.1} s, loss {:.3}", started.elapsed().as_secs_f64(), model.final_loss);
	let published = publish(&model);
	let loaded = load(&published);

	let mut credited = 0;
	for planted in [5usize, 13, 22] {
		let source = &examples[planted].text;
		let prompt: String = source.chars().take(24).collect();
		let answer = loaded.answer(&prompt).unwrap();
		let output: serde_json::Value = serde_json::from_slice(&answer.output).unwrap();
		let text = output["text"].as_str().unwrap();
		eprintln!("{prompt:?} -> {text:?} {:?}", answer.attribution);
		assert!(!text.is_empty(), "the model continued {prompt:?}");
		if answer.attribution.first().is_some_and(|(c, share)| {
			*c == examples[planted].contribution && share.deconstruct() > 500_000_000
		}) {
			credited += 1;
		}
	}
	assert!(credited >= 2, "most planted passages are credited to their contribution");

	// Two processes, and this one, give the same bytes.
	let infer = |input: &str| {
		let out = Command::new(env!("CARGO_BIN_EXE_tributary-worker"))
			.args(["infer", "--device", "cpu", "--content-dir"])
			.arg(published.store.dir())
			.args(["--artifact", &published.artifact, "--index", &published.index, input])
			.output()
			.expect("running tributary-worker infer");
		assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
		out.stdout
	};
	let prompt: String = examples[9].text.chars().take(20).collect();
	let first = infer(&prompt);
	assert_eq!(first, infer(&prompt), "two processes disagree");
	let line: serde_json::Value = serde_json::from_slice(&first).unwrap();
	let answer = loaded.answer(&prompt).unwrap();
	assert_eq!(line["output"], String::from_utf8(answer.output).unwrap());
	let attribution: Vec<(u64, u32)> =
		answer.attribution.iter().map(|(c, p)| (*c, p.deconstruct())).collect();
	assert_eq!(line["attribution"], serde_json::to_value(attribution).unwrap());
}

#[test]
fn an_index_whose_suffix_array_is_not_its_corpus_is_refused() {
	// One intra-op thread, as the worker's executor runs.
	tch::set_num_threads(1);
	let examples = examples(8);
	let config = LanguageConfig { epochs: 1, ..config() };
	let model = train(&examples, &config, |_, _| {}).expect("training");
	let published = publish(&model);
	let hash = |h: &str| tributary_primitives::Hash::from_slice(&hex::decode(h).unwrap());
	let index_path = published.store.verified(&hash(&published.index)).unwrap();
	// Swap two entries of the stored suffix array: a well-formed file, a
	// wrong index.
	let mut tensors = tch::Tensor::read_safetensors(&index_path).unwrap();
	for (name, tensor) in &mut tensors {
		if name == "suffix_array" {
			let mut array = Vec::<i32>::try_from(&*tensor).unwrap();
			array.swap(0, 1);
			*tensor = tch::Tensor::from_slice(&array);
		}
	}
	let tampered = published._dir.path().join("tampered.safetensors");
	tch::Tensor::write_safetensors(&tensors, &tampered).unwrap();
	let artifact = published.store.verified(&hash(&published.artifact)).unwrap();
	let refused = LoadedModel::load(&artifact, &tampered, tch::Device::Cpu, |_| {
		Err(ModelError::BadIndex("a language model has no base".into()))
	});
	assert!(
		matches!(&refused, Err(ModelError::BadIndex(e)) if e.contains("suffix array")),
		"{:?}",
		refused.err()
	);

	let too_little = vec![Example { contribution: 0, label: "x".into(), text: "short".into() }];
	assert!(matches!(
		train(&too_little, &config, |_, _| {}),
		Err(ModelError::TooLittleText { tokens: 6, needed: 65 })
	));
}
