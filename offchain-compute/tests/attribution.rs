//! Proof of Attribution end to end: a model trained with libtorch, exported,
//! loaded from its content-addressed files and asked real questions.

// The library under test uses the crate's other dependencies.
#![allow(unused_crate_dependencies)]

use polkadot_sdk::sp_runtime::{PerThing, Perbill};
use std::process::Command;
use tributary_worker::{
	bench::synthetic_examples,
	content::ContentStore,
	model::{
		classifier::{train, TrainConfig},
		LoadedModel,
	},
	text::Example,
};

struct Published {
	_dir: tempfile::TempDir,
	store: ContentStore,
	artifact: String,
	index: String,
	examples: Vec<Example>,
}

fn publish(examples: Vec<Example>) -> Published {
	let model = train(&examples, &TrainConfig { epochs: 15, ..Default::default() }, |_, _| {})
		.expect("training");
	assert!(model.train_accuracy > 0.9, "the classifier learned: {}", model.train_accuracy);
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	let artifact = hex::encode(store.put(&model.artifact).unwrap());
	let index = hex::encode(store.put(&model.index).unwrap());
	Published { _dir: dir, store, artifact, index, examples }
}

fn load(p: &Published) -> LoadedModel {
	let hash = |h: &str| tributary_primitives::Hash::from_slice(&hex::decode(h).unwrap());
	LoadedModel::from_store(&p.store, &hash(&p.artifact), &hash(&p.index), tch::Device::Cpu)
		.unwrap()
}

#[test]
fn a_near_copy_of_a_contribution_owes_it_the_most() {
	let published = publish(synthetic_examples(400, 11));
	let model = load(&published);
	for planted in [3usize, 150, 377] {
		let source = &published.examples[planted];
		// Change one word: a near copy, not the example itself.
		let mut words: Vec<&str> = source.text.split(' ').collect();
		words[0] = "common7";
		let answer = model.answer(&words.join(" ")).unwrap();
		let output = String::from_utf8(answer.output.clone()).unwrap();
		assert!(output.contains(&format!("\"label\":\"{}\"", source.label)), "{output}");
		let (top, weight) = answer.attribution[0];
		assert_eq!(top, source.contribution, "example {planted}: {:?}", &answer.attribution[..3]);
		assert!(answer.attribution[1..].iter().all(|(_, w)| *w < weight));
	}
}

#[test]
fn attributions_are_bounded_and_name_only_training_data() {
	let published = publish(synthetic_examples(300, 5));
	let model = load(&published);
	for text in ["wea3 wea9 common1 wea17 wea40", "fin2 fin5 fin8", "nothing known here"] {
		let answer = model.answer(text).unwrap();
		assert!(answer.attribution.len() <= 32);
		let total: u64 = answer.attribution.iter().map(|(_, p)| u64::from(p.deconstruct())).sum();
		assert!(total <= u64::from(Perbill::ACCURACY));
		assert!(answer
			.attribution
			.iter()
			.all(|(c, _)| published.examples.iter().any(|e| e.contribution == *c)));
		assert!(answer.attribution.windows(2).all(|w| w[0].1 >= w[1].1));
	}
}

#[test]
fn two_worker_processes_give_byte_identical_answers() {
	let published = publish(synthetic_examples(300, 9));
	let infer = |input: &str| {
		let out = Command::new(env!("CARGO_BIN_EXE_tributary-worker"))
			.args(["infer", "--content-dir"])
			.arg(published.store.dir())
			.args(["--artifact", &published.artifact, "--index", &published.index, input])
			.output()
			.expect("running tributary-worker infer");
		assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
		out.stdout
	};
	for input in ["spo1 spo2 common3 spo44 spo9", "coo5 fin3 coo8 common9"] {
		let first = infer(input);
		assert_eq!(first, infer(input), "two processes disagree on {input:?}");
		// And the library in this process agrees with both.
		let answer = load(&published).answer(input).unwrap();
		let line: serde_json::Value = serde_json::from_slice(&first).unwrap();
		assert_eq!(line["output"], String::from_utf8(answer.output).unwrap());
		let attribution: Vec<(u64, u32)> =
			answer.attribution.iter().map(|(c, p)| (*c, p.deconstruct())).collect();
		assert_eq!(line["attribution"], serde_json::to_value(attribution).unwrap());
	}
}

#[test]
fn a_tampered_model_file_is_refused() {
	let published = publish(synthetic_examples(100, 3));
	let hash = tributary_primitives::Hash::from_slice(&hex::decode(&published.artifact).unwrap());
	let path = published.store.path(&hash);
	let mut bytes = std::fs::read(&path).unwrap();
	let last = bytes.len() - 1;
	bytes[last] ^= 1;
	std::fs::write(&path, bytes).unwrap();
	let out = Command::new(env!("CARGO_BIN_EXE_tributary-worker"))
		.args(["infer", "--content-dir"])
		.arg(published.store.dir())
		.args(["--artifact", &published.artifact, "--index", &published.index, "x"])
		.output()
		.unwrap();
	assert!(!out.status.success());
	assert!(String::from_utf8_lossy(&out.stderr).contains("refused"));
}
