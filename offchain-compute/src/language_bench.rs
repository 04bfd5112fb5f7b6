//! `tributary-worker bench-language`: the language model kind served by the
//! executor against a bare `tch` generation loop over the same TorchScript
//! module (the forward pass and the argmax, nothing else), in one process;
//! span attribution's share of generation; and the span index's build time
//! and size per million training tokens, over the whole corpus. Prints
//! figures; asserts nothing.

use crate::{
	cli::LanguageBenchArgs,
	content::ContentStore,
	corpus,
	executor::{Executor, ModelFiles},
	model::language::{train, Tokenizer},
	spans::{SpanIndex, END_OF_TEXT},
};
use std::time::{Duration, Instant};
use tch::{Device, Kind, Tensor};

/// The continuation the bare loop generates for `prompt`: greedy, the same
/// stop rules as the worker's, no attribution.
fn bare_generate(
	module: &tch::CModule,
	adapter: &[Tensor],
	context: usize,
	max_new_tokens: usize,
	prompt: &str,
) -> anyhow::Result<Vec<u8>> {
	let mut prompt = Tokenizer::Utf8Bytes.encode(prompt);
	prompt.drain(..prompt.len().saturating_sub(context - 1));
	let mut sequence = vec![END_OF_TEXT];
	sequence.extend(prompt);
	let mut generated = Vec::new();
	while generated.len() < max_new_tokens {
		let window = &sequence[sequence.len().saturating_sub(context)..];
		let mut padded = window.to_vec();
		padded.resize(context, END_OF_TEXT);
		let input = Tensor::from_slice(&padded).to_kind(Kind::Int64).view([1, -1]);
		let mut inputs = vec![&input];
		inputs.extend(adapter);
		let logits = tch::no_grad(|| module.forward_ts(&inputs))?;
		let next = logits.get(0).get(window.len() as i64 - 1).argmax(0, false).int64_value(&[]);
		if next == i64::from(END_OF_TEXT) {
			break;
		}
		generated.push(next as u8);
		sequence.push(next as u8);
	}
	Ok(generated)
}

/// Runs the benchmark.
pub fn run(args: &LanguageBenchArgs) -> anyhow::Result<()> {
	tch::set_num_threads(1);
	let categories = corpus::read_categories(&args.from, &args.categories, Some(args.max_texts))?;
	let examples = corpus::examples(&categories, 4, 0)?;
	let config = args.language.config(Some(args.epochs), 7)?;
	let started = Instant::now();
	let model = train(&examples, &config, |_, _| {})?;
	let tokens: usize = model.tokens_per_contribution.iter().map(|(_, n)| n).sum();
	println!(
		"trained on {} texts ({tokens} tokens) of {:?} in {:.1} s: context {}, width {}, {} layers, loss {:.3}",
		examples.len(),
		args.categories,
		started.elapsed().as_secs_f64(),
		model.card.context,
		model.card.width,
		model.card.layers,
		model.final_loss
	);
	let dir = tempfile::tempdir()?;
	let store = ContentStore::open(dir.path())?;
	let files = ModelFiles {
		model_id: 0,
		artifact: store.put(&model.artifact)?,
		index: store.put(&model.index)?,
	};
	let prompts: Vec<String> =
		examples.iter().take(args.prompts).map(|e| e.text.chars().take(24).collect()).collect();

	// The baseline: the module's forward pass in a greedy loop.
	let module = tch::CModule::load_on_device(store.verified(&files.artifact)?, Device::Cpu)?;
	let (context, max_new) = (model.card.context as usize, model.card.max_new_tokens as usize);
	let adapter = model.card.empty_adapter(Device::Cpu);
	let start = Instant::now();
	let mut continuations = Vec::with_capacity(prompts.len());
	for prompt in &prompts {
		continuations.push(bare_generate(&module, &adapter, context, max_new, prompt)?);
	}
	let bare_time = start.elapsed();
	let generated: usize = continuations.iter().map(Vec::len).sum();

	// The executor: queue hand-off, generation, span attribution.
	let executor = Executor::start(1, 1, Device::Cpu, store.clone());
	executor.run(files, prompts[0].as_bytes().to_vec())?;
	let (mut inference, mut attribution, mut agree) = (Duration::ZERO, Duration::ZERO, 0);
	let start = Instant::now();
	for (prompt, bare) in prompts.iter().zip(&continuations) {
		let timed = executor.run(files, prompt.as_bytes().to_vec())?;
		inference += timed.timings.inference;
		attribution += timed.timings.attribution;
		let expected = serde_json::json!({ "text": Tokenizer::Utf8Bytes.decode(bare) }).to_string();
		agree += usize::from(timed.answer.output == expected.into_bytes());
	}
	let exec_time = start.elapsed();
	executor.shutdown();

	// The index over every category of the corpus, a document per text.
	let everything = corpus::read_categories(&args.from, &corpus::categories(&args.from)?, None)?;
	let texts: Vec<Vec<u8>> = everything
		.iter()
		.flat_map(|(_, texts)| texts.iter().map(|t| Tokenizer::Utf8Bytes.encode(t)))
		.collect();
	let start = Instant::now();
	let index = SpanIndex::build(texts.iter().enumerate().map(|(i, t)| (i as u64, t.as_slice())))?;
	let build = start.elapsed();
	let corpus_tokens = index.corpus().len();
	let bytes = corpus_tokens + 4 * index.suffix_array().len() + 8 * index.contributions().len();
	let per_million = 1e6 / corpus_tokens as f64;

	let rate = |d: Duration| generated as f64 / d.as_secs_f64();
	println!(
		"{} prompts, {generated} tokens generated; the executor's continuations equal the bare loop's for {agree}",
		prompts.len()
	);
	println!("  bare tch generation loop       {:>9.0} tokens/s", rate(bare_time));
	println!(
		"  executor, 1 thread             {:>9.0} tokens/s   ratio to bare {:.2}",
		rate(exec_time),
		rate(exec_time) / rate(bare_time)
	);
	println!(
		"  span attribution               {:.3} ms an answer, {:.2}% of generation time",
		attribution.as_secs_f64() * 1e3 / prompts.len() as f64,
		attribution.as_secs_f64() / inference.as_secs_f64() * 100.0
	);
	println!(
		"  span index of the whole corpus: {corpus_tokens} tokens in {} texts, built in {:.2} s, {:.1} MB; per million tokens {:.2} s and {:.1} MB",
		texts.len(),
		build.as_secs_f64(),
		bytes as f64 / 1e6,
		build.as_secs_f64() * per_million,
		bytes as f64 / 1e6 * per_million
	);
	Ok(())
}
