//! Low-rank adapters over one resident base, on the real corpus: a base
//! trained on Debian's `food` fortunes, an adapter of it trained on `law`
//! continues a `law` passage it memorised and credits the contribution it
//! came from, where the base alone does not; two worker processes give the
//! adapter's answer byte for byte; an executor serving two adapters of one
//! base interleaved loads the base's module once and each adapter once; and
//! adapters that do not fit their base are refused with the reason.

// The library under test uses the crate's other dependencies.
#![allow(unused_crate_dependencies)]

use std::{
	path::Path,
	process::Command,
	sync::{Arc, OnceLock},
};
use tch::{Device, Tensor};
use tributary_primitives::Hash;
use tributary_worker::{
	content::ContentStore,
	corpus::{read_categories, FORTUNES},
	executor::{Executor, ModelFiles},
	model::{
		adapter::{self, AdapterConfig, TrainedAdapter},
		language::{self, LanguageConfig, Target, TrainedLanguageModel},
		load_module, LoadedModel, ModelError,
	},
	text::Example,
};

/// `texts` texts of corpus category `category`, four a contribution, the
/// contributions numbered from `first`.
fn examples(category: &str, texts: usize, first: u64) -> Vec<Example> {
	let read = read_categories(Path::new(FORTUNES), &[category.into()], Some(texts)).unwrap();
	read[0]
		.1
		.iter()
		.enumerate()
		.map(|(i, text)| Example {
			contribution: first + i as u64 / 4,
			label: category.into(),
			text: text.clone(),
		})
		.collect()
}

/// The base, trained once for the tests.
fn base() -> &'static TrainedLanguageModel {
	static BASE: OnceLock<TrainedLanguageModel> = OnceLock::new();
	BASE.get_or_init(|| {
		let config = LanguageConfig { epochs: 150, min_span: 12, ..Default::default() };
		language::train(&examples("food", 12, 0), &config, |_, _| {}).expect("training the base")
	})
}

fn adapter_of(
	store: &ContentStore,
	base: &TrainedLanguageModel,
	examples: &[Example],
	config: &AdapterConfig,
) -> TrainedAdapter {
	let artifact = store.put(&base.artifact).unwrap();
	let module = store.verified(&artifact).unwrap();
	adapter::train(&module, 0, artifact, &base.card, examples, config, |_, _| {})
		.expect("training the adapter")
}

fn files(store: &ContentStore, model_id: u64, artifact: &[u8], index: &[u8]) -> ModelFiles {
	ModelFiles {
		model_id,
		artifact: store.put(artifact).unwrap(),
		index: store.put(index).unwrap(),
	}
}

fn text(output: &[u8]) -> String {
	let output: serde_json::Value = serde_json::from_slice(output).unwrap();
	output["text"].as_str().unwrap().to_owned()
}

#[test]
fn an_adapter_learns_its_data_over_the_base_and_processes_agree() {
	tch::set_num_threads(1);
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	let base = base();
	let law = examples("law", 8, 100);
	let artifact = store.put(&base.artifact).unwrap();
	let module = store.verified(&artifact).unwrap();
	let mut first_loss = f64::NAN;
	let config = AdapterConfig::default();
	let trained = adapter::train(&module, 0, artifact, &base.card, &law, &config, |epoch, loss| {
		if epoch == 1 {
			first_loss = loss;
		}
	})
	.expect("training the adapter");
	assert!(
		trained.final_loss < first_loss / 4.0,
		"the adapter learns its data: loss {first_loss:.3} (the base's, `b` starting at 0) to {:.3}",
		trained.final_loss
	);
	eprintln!("adapter: loss {:.3}, {} bytes", trained.final_loss, trained.artifact.len());
	assert!(
		trained.artifact.len() < base.artifact.len() / 2,
		"an adapter is a fraction of its base ({} bytes against {})",
		trained.artifact.len(),
		base.artifact.len()
	);
	let base_files = files(&store, 0, &base.artifact, &base.index);
	let adapter_files = files(&store, 1, &trained.artifact, &trained.index);
	let loaded = |f: &ModelFiles| {
		LoadedModel::from_store(&store, &f.artifact, &f.index, Device::Cpu).unwrap()
	};
	let (base_model, adapted) = (loaded(&base_files), loaded(&adapter_files));
	assert!(adapted.is_adapter() && !base_model.is_adapter());

	let mut credited = 0;
	for planted in [1usize, 4, 6] {
		let source = &law[planted].text;
		let prompt: String = source.chars().take(24).collect();
		let answer = adapted.answer(&prompt).unwrap();
		let alone = base_model.answer(&prompt).unwrap();
		eprintln!(
			"{prompt:?} -> adapted {:?} {:?}, base {:?}",
			text(&answer.output),
			answer.attribution,
			text(&alone.output)
		);
		assert_ne!(answer.output, alone.output, "the adapter changes the answer to {prompt:?}");
		assert!(
			alone.attribution.iter().all(|(c, _)| *c < 100),
			"the base credits its own data only"
		);
		if answer.attribution.first().is_some_and(|(c, _)| *c == law[planted].contribution) {
			credited += 1;
		}
	}
	assert!(credited >= 2, "most planted passages rank their contribution first");

	// Two processes, and this one, give the same bytes for the adapter.
	let infer = |input: &str| {
		let out = Command::new(env!("CARGO_BIN_EXE_tributary-worker"))
			.args(["infer", "--device", "cpu", "--content-dir"])
			.arg(store.dir())
			.args(["--artifact", &hex::encode(adapter_files.artifact)])
			.args(["--index", &hex::encode(adapter_files.index), input])
			.output()
			.expect("running tributary-worker infer");
		assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
		out.stdout
	};
	let prompt: String = law[3].text.chars().take(20).collect();
	let first = infer(&prompt);
	assert_eq!(first, infer(&prompt), "two processes disagree");
	let line: serde_json::Value = serde_json::from_slice(&first).unwrap();
	let answer = adapted.answer(&prompt).unwrap();
	assert_eq!(line["output"], String::from_utf8(answer.output).unwrap());
	let attribution: Vec<(u64, u32)> =
		answer.attribution.iter().map(|(c, p)| (*c, p.deconstruct())).collect();
	assert_eq!(line["attribution"], serde_json::to_value(attribution).unwrap());
}

#[test]
fn an_executor_keeps_one_base_resident_for_interleaved_adapters() {
	tch::set_num_threads(1);
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	let base = base();
	let config = AdapterConfig { rank: 4, epochs: 2, ..Default::default() };
	let law = adapter_of(&store, &base, &examples("law", 8, 100), &config);
	let art = adapter_of(&store, &base, &examples("art", 8, 200), &config);
	let adapters =
		[files(&store, 1, &law.artifact, &law.index), files(&store, 2, &art.artifact, &art.index)];
	let executor = Executor::start(1, 1, Device::Cpu, store.clone());
	let mut answers = Vec::new();
	for round in 0..3 {
		for (i, adapter) in adapters.iter().enumerate() {
			let timed = executor.run(*adapter, b"The court".to_vec()).expect("an answer");
			if round == 0 {
				answers.push(timed.answer.output);
			} else {
				assert_eq!(timed.answer.output, answers[i], "an adapter answers alike each time");
			}
		}
	}
	assert_eq!(
		executor.adapter_loads(),
		(2, 1),
		"each adapter loaded once, the base's module once"
	);
	assert_eq!(executor.warm(), [1, 2], "both adapters are held warm");
	executor.shutdown();
}

#[test]
fn adapters_that_do_not_fit_their_base_are_refused() {
	tch::set_num_threads(1);
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	let base = base();
	let law = examples("law", 8, 100);
	let base_artifact = store.put(&base.artifact).unwrap();
	let module_path = store.verified(&base_artifact).unwrap();
	let train = |card: &language::LanguageCard, config: &AdapterConfig| {
		adapter::train(&module_path, 0, base_artifact, card, &law, config, |_, _| {})
	};

	// A base whose module takes no adapters, a rank of 0, a block the base
	// does not have: refused before training.
	let fixed = language::LanguageCard { adaptable: false, ..base.card.clone() };
	let one_epoch = AdapterConfig { epochs: 1, ..Default::default() };
	for (card, config) in [
		(&fixed, one_epoch.clone()),
		(&base.card, AdapterConfig { rank: 0, ..one_epoch.clone() }),
		(&base.card, AdapterConfig { blocks: Some(vec![base.card.layers]), ..one_epoch.clone() }),
	] {
		assert!(
			matches!(train(card, &config), Err(ModelError::BadIndex(ref e)) if e.contains("unusable adapter card")),
			"{config:?}"
		);
	}

	// An adapter file without a tensor its card names, or with one of the
	// wrong shape, is refused on loading with the tensor's name.
	let trained = train(&base.card, &AdapterConfig { targets: vec![Target::Qkv], ..one_epoch })
		.expect("training");
	let path = dir.path().join("adapter.safetensors");
	std::fs::write(&path, &trained.artifact).unwrap();
	let tensors = Tensor::read_safetensors(&path).unwrap();
	let broken = |tensors: &[(String, Tensor)]| {
		let file = dir.path().join("broken.safetensors");
		Tensor::write_safetensors(tensors, &file).unwrap();
		adapter::read_adapter(&file, &trained.card, Device::Cpu).err().map(|e| e.to_string())
	};
	let missing = broken(&tensors[1..]).expect("refused");
	assert!(missing.contains("has no tensor"), "{missing}");
	let mut reshaped: Vec<(String, Tensor)> =
		tensors.iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect();
	reshaped[0].1 = reshaped[0].1.transpose(0, 1).contiguous();
	let wrong = broken(&reshaped).expect("refused");
	assert!(wrong.contains(&reshaped[0].0) && wrong.contains("not Float"), "{wrong}");
	assert!(adapter::read_adapter(&path, &trained.card, Device::Cpu).is_ok());

	// The base module named by the card is the one loaded.
	let index = dir.path().join("index.safetensors");
	std::fs::write(&index, &trained.index).unwrap();
	let asked = std::cell::Cell::new(None);
	LoadedModel::load(&path, &index, Device::Cpu, |hash: &Hash| {
		asked.set(Some(*hash));
		Ok(Arc::new(load_module(&module_path, Device::Cpu)?))
	})
	.expect("loading the adapter");
	assert_eq!(asked.get(), Some(base_artifact));
}
