//! `tributary-worker bench-fast-path`: a worker's fast path against the bare
//! in-process inference of the same model on the same input, in one run.
//! Prints figures; asserts nothing.
//!
//! - **Latency:** one requester asks one question after another over one
//!   channel: the whole round trip (JSON-RPC on loopback, the worker's
//!   checks, inference, signing, the worker's journal, the requester's
//!   receipt check, voucher and book) against `LoadedModel::answer` in this
//!   process.
//! - **Throughput:** `--channels` requesters ask at once, each on a channel
//!   of its own, against an executor pool of the worker's `--threads`
//!   running the same model here.

use crate::{
	bench::flood,
	cli::{parse_trib, FastPathBenchArgs},
	content::ContentStore,
	model::LoadedModel,
	requester::{Book, Requester},
};
use anyhow::Context;
use std::time::{Duration, Instant};

/// Runs the benchmark.
pub async fn run(args: FastPathBenchArgs) -> anyhow::Result<()> {
	let (chain, signer) = args.requester.connect().await?;
	let model_id = args.requester.model;
	let at = chain.at_best().await?;
	let model =
		chain.model(&at, model_id).await?.with_context(|| format!("no model {model_id}"))?;
	let store = ContentStore::open(&args.content_dir)?;
	let n = args.requests;

	// The baseline: the model answering in this process, nothing else.
	tch::set_num_threads(1);
	let loaded = LoadedModel::from_store(
		&store,
		&model.files.artifact,
		&model.files.index,
		tch::Device::Cpu,
	)?;
	for _ in 0..50 {
		loaded.answer(&args.input)?;
	}
	let mut bare = Vec::with_capacity(n);
	for _ in 0..n {
		let start = Instant::now();
		loaded.answer(&args.input)?;
		bare.push(start.elapsed());
	}
	drop(loaded);

	let dir = tempfile::tempdir()?;
	let deposit = parse_trib(&args.deposit)?;
	let connect = |i: usize| {
		let (chain, signer, path) =
			(chain.clone(), signer.clone(), dir.path().join(format!("{i}.sqlite")));
		async move {
			let book = Book::open(&path)?;
			Requester::connect(&chain, signer, book, model_id, 1, deposit, 1_000).await
		}
	};

	// One requester, one question after another.
	let mut requester = connect(0).await?;
	for _ in 0..20 {
		requester.ask(&args.input).await?;
	}
	let mut fast = Vec::with_capacity(n);
	for _ in 0..n {
		let start = Instant::now();
		requester.ask(&args.input).await?;
		fast.push(start.elapsed());
	}
	requester.pay().await?;

	// Many requesters at once, each on its own channel.
	let mut requesters = vec![requester];
	for i in 1..args.channels.max(1) {
		requesters.push(connect(i).await?);
	}
	let per = n.div_ceil(requesters.len());
	let start = Instant::now();
	let asked = futures::future::join_all(requesters.into_iter().map(|mut r| {
		let input = args.input.clone();
		async move {
			for _ in 0..per {
				r.ask(&input).await?;
			}
			r.pay().await?;
			anyhow::Ok(per)
		}
	}))
	.await;
	let answered: usize = asked.into_iter().collect::<Result<Vec<_>, _>>()?.into_iter().sum();
	let fast_rate = answered as f64 / start.elapsed().as_secs_f64();

	// The executor's pool on the same model here, as fast as it admits.
	let threads = args.threads.max(1);
	let inputs = [args.input.clone()];
	let pool_time = flood(threads, tch::Device::Cpu, store, model.files, &inputs, answered)?;
	let pool_rate = answered as f64 / pool_time.as_secs_f64();

	let (bare50, bare99) = (percentile(&mut bare, 50), percentile(&mut bare, 99));
	let (fast50, fast99) = (percentile(&mut fast, 50), percentile(&mut fast, 99));
	let ms = |d: Duration| d.as_secs_f64() * 1e3;
	println!("model {model_id} on {:?}, {n} requests", args.input);
	println!(
		"  bare in-process answer     p50 {:>7.3} ms   p99 {:>7.3} ms",
		ms(bare50),
		ms(bare99)
	);
	println!(
		"  fast path, one channel     p50 {:>7.3} ms   p99 {:>7.3} ms   p50 = {:.2} x bare + {:.3} ms",
		ms(fast50),
		ms(fast99),
		ms(fast50) / ms(bare50),
		ms(fast50) - ms(bare50)
	);
	println!(
		"  throughput, {} channels      {:>7.0} /s   executor pool, {threads} threads {:>7.0} /s   ratio {:.2}",
		args.channels.max(1),
		fast_rate,
		pool_rate,
		fast_rate / pool_rate
	);
	Ok(())
}

/// The `p`th percentile of `samples`.
fn percentile(samples: &mut [Duration], p: usize) -> Duration {
	samples.sort_unstable();
	let index = (samples.len() * p / 100).min(samples.len().saturating_sub(1));
	samples.get(index).copied().unwrap_or_default()
}
