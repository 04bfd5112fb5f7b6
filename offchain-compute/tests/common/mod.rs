//! What the executor's tests share: a small trained model in a content
//! directory of its own.

use tributary_worker::{
	bench::synthetic_examples,
	content::ContentStore,
	executor::ModelFiles,
	model::classifier::{train, TrainConfig},
};

/// A content directory holding one good model.
pub struct Setup {
	pub _dir: tempfile::TempDir,
	pub store: ContentStore,
	pub good: ModelFiles,
}

/// Trains a small classifier and puts it into a fresh content directory.
pub fn setup() -> Setup {
	let model = train(
		&synthetic_examples(60, 5),
		&TrainConfig { epochs: 5, ..Default::default() },
		|_, _| {},
	)
	.expect("training");
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	let good = ModelFiles {
		model_id: 0,
		artifact: store.put(&model.artifact).unwrap(),
		index: store.put(&model.index).unwrap(),
	};
	Setup { _dir: dir, store, good }
}
