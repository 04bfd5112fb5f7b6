//! `tributary-worker bench-attribution`: how well an answer's Proof of
//! Attribution finds the contribution it came from, on the real corpus
//! ([`crate::corpus`]). Each contribution's texts are asked back, as they
//! are and with words left out; the figures are how often the planted
//! contribution ranks first (and in the top three), and its share against
//! the best other contribution's. Prints figures; asserts nothing.

use crate::{
	cli::AttributionBenchArgs,
	content::ContentStore,
	corpus,
	model::{
		classifier::{train, TrainConfig},
		LoadedModel,
	},
	text::Example,
};
use polkadot_sdk::sp_runtime::Perbill;
use tributary_primitives::ContributionId;

/// One planted case asked back: where its contribution ranked among the
/// named ones (`None`: not named), and its share over the best other
/// contribution's.
struct Case {
	rank: Option<usize>,
	ratio: f64,
}

/// The case for planted contribution `planted` in `attribution`.
fn case(planted: ContributionId, attribution: &[(ContributionId, Perbill)]) -> Case {
	let share = |p: &Perbill| f64::from(p.deconstruct());
	let rank = attribution.iter().position(|(c, _)| *c == planted);
	let own = rank.map_or(0.0, |r| share(&attribution[r].1));
	let other = attribution.iter().find(|(c, _)| *c != planted).map_or(0.0, |(_, p)| share(p));
	Case { rank, ratio: if other > 0.0 { own / other } else { f64::INFINITY } }
}

/// `text` with every `every`-th word left out (none when `every` is 0).
fn leave_out(text: &str, every: usize) -> String {
	let words = text.split(' ').enumerate();
	words
		.filter(|(i, _)| every == 0 || i % every != every - 1)
		.map(|(_, w)| w)
		.collect::<Vec<_>>()
		.join(" ")
}

/// Runs the measurement and prints its figures.
pub fn run(args: &AttributionBenchArgs) -> anyhow::Result<()> {
	let categories = corpus::read_categories(&args.from, &args.categories, Some(args.max_texts))?;
	let examples = corpus::examples(&categories, usize::from(args.per_contribution), 0)?;
	let contributions = examples.last().map_or(0, |e| e.contribution + 1);
	println!(
		"{} categories of the corpus at {}, {} texts in {contributions} contributions",
		categories.len(),
		args.from.display(),
		examples.len(),
	);
	// The plain cosine first: the baseline the correction is measured against.
	let settings = std::iter::once(None).chain(args.damping.iter().copied().map(Some));
	for damping in settings {
		let config = TrainConfig { epochs: args.epochs, damping, ..Default::default() };
		let model = train(&examples, &config, |_, _| {})?;
		match damping {
			None => println!("cosine of projected gradients, no correction:"),
			Some(d) => println!("TRAK correction, damping {d}:"),
		}
		println!("  training accuracy {:.1}%", model.train_accuracy * 100.0);
		measure(&examples, &model.artifact, &model.index)?;
	}
	Ok(())
}

/// Asks every training text back, as it is and with words left out, of the
/// model in `artifact` and `index`, and prints the figures.
fn measure(examples: &[Example], artifact: &[u8], index: &[u8]) -> anyhow::Result<()> {
	let dir = tempfile::tempdir()?;
	let store = ContentStore::open(dir.path())?;
	let (artifact, index) = (store.put(artifact)?, store.put(index)?);
	let loaded = LoadedModel::from_store(&store, &artifact, &index, tch::Device::Cpu)?;

	for (what, every) in
		[("the text itself", 0), ("every 3rd word left out", 3), ("every 2nd word left out", 2)]
	{
		let mut cases = Vec::new();
		for example in examples {
			let answer = loaded.answer(&leave_out(&example.text, every))?;
			cases.push(case(example.contribution, &answer.attribution));
		}
		let share = |f: &dyn Fn(&Case) -> bool| {
			100.0 * cases.iter().filter(|c| f(c)).count() as f64 / cases.len() as f64
		};
		let mut ratios: Vec<f64> = cases.iter().map(|c| c.ratio).collect();
		ratios.sort_by(f64::total_cmp);
		println!(
			"  {what:<26} {} cases: planted first {:>5.1}%, in the top 3 {:>5.1}%, named {:>5.1}%; its share / the best other's: median {:.2}",
			cases.len(),
			share(&|c| c.rank == Some(0)),
			share(&|c| c.rank.is_some_and(|r| r < 3)),
			share(&|c| c.rank.is_some()),
			ratios[ratios.len() / 2],
		);
	}
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_case_ranks_the_planted_contribution_against_the_best_other() {
		let p = Perbill::from_percent;
		let first = case(4, &[(4, p(50)), (1, p(25)), (2, p(25))]);
		assert_eq!((first.rank, first.ratio), (Some(0), 2.0));
		let second = case(1, &[(4, p(50)), (1, p(25))]);
		assert_eq!((second.rank, second.ratio), (Some(1), 0.5));
		let absent = case(9, &[(4, p(50))]);
		assert_eq!((absent.rank, absent.ratio), (None, 0.0));
		assert_eq!(case(4, &[(4, p(90))]).ratio, f64::INFINITY);
	}

	#[test]
	fn words_are_left_out_at_the_given_spacing() {
		assert_eq!(leave_out("a b c d e f", 0), "a b c d e f");
		assert_eq!(leave_out("a b c d e f", 3), "a b d e");
		assert_eq!(leave_out("a b c d e f", 2), "a c e");
	}
}
