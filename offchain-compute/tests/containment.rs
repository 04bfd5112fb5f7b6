//! Bad models are contained: anyone can register a model, so modules that
//! return the wrong shape, files that are not TorchScript and files too large
//! to load each fail their own task with an error (the worker then declines
//! the job), and the executor goes on serving the next one.

// The library under test uses the crate's other dependencies.
#![allow(unused_crate_dependencies)]

use tch::{Device, Kind, Tensor};
use tributary_primitives::Hash;
use tributary_worker::{
	bench::synthetic_examples,
	content::ContentStore,
	executor::{ExecError, Executor, ModelFiles, MAX_MODEL_BYTES},
	model::{train, ModelError, TrainConfig},
};

struct Setup {
	_dir: tempfile::TempDir,
	store: ContentStore,
	good: ModelFiles,
}

fn setup() -> Setup {
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

/// A TorchScript module that ignores its inputs and returns `output`.
fn module_returning(store: &ContentStore, output: Tensor) -> Hash {
	let probe = [
		Tensor::zeros([1, 4], (Kind::Float, Device::Cpu)),
		Tensor::zeros([1, 2], (Kind::Float, Device::Cpu)),
	];
	// The tracer wants the output to depend on the inputs: add nothing.
	let module = tch::CModule::create_by_tracing("Broken", "forward", &probe, &mut |inputs| {
		vec![&output + inputs[0].sum(Kind::Float) * 0.0]
	})
	.expect("tracing a module");
	let dir = tempfile::tempdir().unwrap();
	let path = dir.path().join("broken.pt");
	module.save(&path).unwrap();
	store.put(&std::fs::read(&path).unwrap()).unwrap()
}

fn run(executor: &Executor, files: ModelFiles) -> Result<Vec<u8>, ExecError> {
	executor.run(files, b"Heavy rain and strong winds tonight".to_vec()).map(|t| t.answer.output)
}

#[test]
fn broken_modules_fail_their_own_task_and_the_executor_keeps_serving() {
	let Setup { _dir, store, good } = setup();
	let executor = Executor::start(1, 4, Device::Cpu, store.clone());
	let answer = run(&executor, good).expect("the good model answers");

	let wrong_gradient =
		module_returning(&store, Tensor::zeros([1, 4 + 5], (Kind::Float, Device::Cpu)));
	let flat = module_returning(&store, Tensor::zeros([7], (Kind::Float, Device::Cpu)));
	let not_torchscript = store.put(b"this is not a TorchScript archive").unwrap();
	for (artifact, what) in [
		(wrong_gradient, "a gradient of the wrong width"),
		(flat, "a 1-D output"),
		(not_torchscript, "not TorchScript"),
	] {
		let broken = ModelFiles { model_id: 1, artifact, index: good.index };
		match run(&executor, broken) {
			Err(ExecError::Model(ModelError::BadOutput(_) | ModelError::Torch(_))) => {}
			other => panic!("{what}: expected a model error, got {other:?}"),
		}
		// The same thread answers the next task, and answers it the same.
		assert_eq!(run(&executor, good).expect("still serving"), answer, "after {what}");
	}
	executor.shutdown();
}

#[test]
fn a_model_file_over_the_limit_is_not_loaded() {
	let Setup { _dir, store, good } = setup();
	// A sparse file: over the limit without writing a gigabyte.
	let huge = Hash::repeat_byte(0xee);
	std::fs::File::create(store.path(&huge)).unwrap().set_len(MAX_MODEL_BYTES + 1).unwrap();
	let executor = Executor::start(1, 4, Device::Cpu, store.clone());
	match run(&executor, ModelFiles { model_id: 2, artifact: huge, index: good.index }) {
		Err(ExecError::TooLarge(hash, size)) => {
			assert_eq!((hash, size), (huge, MAX_MODEL_BYTES + 1))
		}
		other => panic!("expected TooLarge, got {other:?}"),
	}
	assert!(run(&executor, good).is_ok(), "the executor keeps serving");
	executor.shutdown();
}
