//! Bad models are contained: anyone can register a model, so modules that
//! return the wrong shape, files that are not TorchScript and files too large
//! to load each fail their own task with an error (the worker then declines
//! the job), and the executor goes on serving the next one; a module that
//! loops is cut off at the time limit and never run again.

// The library under test uses the crate's other dependencies.
#![allow(unused_crate_dependencies)]

mod common;

use common::{setup, Setup};
use tch::{Device, Kind, Tensor};
use tributary_primitives::Hash;
use tributary_worker::{
	content::ContentStore,
	executor::{ExecError, Executor, ModelFiles, MAX_MODEL_BYTES},
	model::ModelError,
};

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

/// A TorchScript module whose `forward` counts to 10^12 before it does
/// anything: made by rewriting the code of a traced module in its archive.
fn looping_module(store: &ContentStore) -> Hash {
	use std::io::{Read, Write};
	let traced = module_returning(store, Tensor::zeros([1, 9], (Kind::Float, Device::Cpu)));
	let bytes = std::fs::read(store.path(&traced)).unwrap();
	let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
	let mut rewritten = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
	let stored =
		zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Stored);
	let mut looped = false;
	for i in 0..archive.len() {
		let mut entry = archive.by_index(i).unwrap();
		let name = entry.name().to_owned();
		// Source ranges of the old code would no longer match it.
		if name.ends_with(".debug_pkl") {
			continue;
		}
		let mut content = Vec::new();
		entry.read_to_end(&mut content).unwrap();
		if name.ends_with("code/__torch__.py") {
			content = insert_loop(&String::from_utf8(content).unwrap()).into_bytes();
			looped = true;
		}
		rewritten.start_file(name, stored).unwrap();
		rewritten.write_all(&content).unwrap();
	}
	assert!(looped, "the archive holds the module's code");
	store.put(&rewritten.finish().unwrap().into_inner()).unwrap()
}

/// `code` with a counting loop at the top of `forward`'s body.
fn insert_loop(code: &str) -> String {
	let lines: Vec<&str> = code.lines().collect();
	let def = lines.iter().position(|l| l.trim_start().starts_with("def forward")).unwrap();
	let body = def + lines[def..].iter().position(|l| l.trim_end().ends_with(':')).unwrap() + 1;
	let indent: String = lines[body].chars().take_while(|c| c.is_whitespace()).collect();
	let mut out: Vec<String> = lines[..body].iter().map(|l| l.to_string()).collect();
	out.push(format!("{indent}n = 0"));
	out.push(format!("{indent}for i in range(1000000000000):"));
	out.push(format!("{indent}  n = n + 1"));
	out.extend(lines[body..].iter().map(|l| l.to_string()));
	out.join("\n") + "\n"
}

#[test]
fn a_model_that_loops_is_cut_off_condemned_and_its_thread_replaced() {
	let Setup { _dir, store, good } = setup();
	let executor = Executor::with_time_limit(1, 4, Device::Cpu, store.clone(), LIMIT);
	let answer = run(&executor, good).expect("the good model answers");
	let looping = ModelFiles { model_id: 3, artifact: looping_module(&store), index: good.index };

	match run(&executor, looping) {
		Err(ExecError::TimedOut(limit)) => assert_eq!(limit, LIMIT),
		other => panic!("expected TimedOut, got {other:?}"),
	}
	assert_eq!(executor.wedged(), 1, "the looping thread is given up on");
	assert_eq!(executor.queued(), 0, "the task left the queue");
	assert!(executor.condemned().contains(&looping.artifact));
	// With its only thread stuck, the executor still answers: a fresh thread.
	assert_eq!(run(&executor, good).expect("still serving"), answer);

	match run(&executor, looping) {
		Err(ExecError::Condemned(artifact)) => assert_eq!(artifact, looping.artifact),
		other => panic!("expected Condemned, got {other:?}"),
	}
	assert_eq!(executor.wedged(), 1, "a condemned model costs no second thread");
	// Shutting down does not wait on the stuck thread.
	executor.shutdown();
}

const LIMIT: std::time::Duration = std::time::Duration::from_millis(500);
