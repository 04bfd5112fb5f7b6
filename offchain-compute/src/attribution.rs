//! Proof of Attribution: which contributions an answer owes to, and by how
//! much.
//!
//! A model's attribution index holds, for every training example, its
//! contribution and the unit-normalised, randomly projected gradient of the
//! training loss (TRAK / TracIn style, `d` dimensions). Per inference the model
//! gives the projected gradient of the loss at its own prediction; each
//! example scores the cosine of the two, a contribution the sum of its
//! examples' scores (attribution is linear in the data), and the top
//! [`MAX_ATTRIBUTION_ENTRIES`] contributions with a positive score are named
//! with their share of *all* positive score. What the named ones leave goes to
//! the model's datanets' pools on chain, so a long tail of small influences is
//! paid there rather than rounded into the top entries.
//!
//! Scores are quantised to integers before anything is summed or ranked, and
//! ties are broken by contribution id, so the same scores give the same bytes.

use polkadot_sdk::sp_runtime::{PerThing, Perbill};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};
use tributary_primitives::{ContributionId, MAX_ATTRIBUTION_ENTRIES};

/// The resolution scores are quantised to: `2^-20` of a cosine.
const SCORE_SCALE: f32 = (1u32 << 20) as f32;

/// The attribution of one answer: at most [`MAX_ATTRIBUTION_ENTRIES`] entries,
/// by weight descending, weights adding up to at most 100%.
pub type Attribution = Vec<(ContributionId, Perbill)>;

/// A random sign matrix `[rows, cols]` with entries `±1/√rows` drawn from a
/// ChaCha8 stream seeded by `seed`: a Johnson–Lindenstrauss projection that
/// any worker rebuilds bit for bit from the seed alone.
pub fn projection(seed: u64, rows: usize, cols: usize) -> Tensor {
	let mut rng = ChaCha8Rng::seed_from_u64(seed);
	let scale = 1.0 / (rows as f32).sqrt();
	let values: Vec<f32> =
		(0..rows * cols).map(|_| if rng.random::<bool>() { scale } else { -scale }).collect();
	Tensor::from_slice(&values).view([rows as i64, cols as i64])
}

/// Scales each row of `[n, d]` to unit length; a zero row stays zero.
pub fn unit_rows(rows: &Tensor) -> Tensor {
	let norms = rows.norm_scalaropt_dim(2, [1i64].as_slice(), true).clamp_min(1e-12);
	rows / norms
}

/// The TRAK correction of unit training rows `rows` (`[n, d]`):
/// `rows (rowsᵀ rows + λI)⁻¹`, with `λ = damping ×` the mean of the Gram
/// matrix's at most `min(n, d)` nonzero eigenvalues. A query scored against these instead of the plain rows has
/// the directions that many examples share (those of a class) discounted,
/// so the examples it is specifically like stand out from their class.
/// Computed in double precision by whoever builds the index; workers only
/// take dot products with the result.
pub fn preconditioned(rows: &Tensor, damping: f64) -> Tensor {
	let (n, d) = (rows.size()[0], rows.size()[1]);
	let rows = rows.to_kind(Kind::Double);
	let gram = rows.tr().mm(&rows);
	let lambda = damping * gram.trace().double_value(&[]) / n.clamp(1, d) as f64;
	let damped = gram + Tensor::eye(d, (Kind::Double, rows.device())) * lambda;
	rows.mm(&damped.inverse()).to_kind(Kind::Float)
}

/// A model's attribution index, loaded for scoring.
pub struct AttributionIndex {
	/// `[examples, d]`: each training example's unit projected gradient,
	/// [`preconditioned`] when the index was built with the correction.
	gradients: Tensor,
	/// The contribution of each row of `gradients`.
	contributions: Vec<ContributionId>,
}

impl AttributionIndex {
	/// An index of `gradients` (`[examples, d]`, unit rows, corrected or not)
	/// whose rows belong to `contributions`.
	pub fn new(gradients: Tensor, contributions: Vec<ContributionId>) -> Self {
		AttributionIndex { gradients, contributions }
	}

	/// Moves the gradients to `device`, where the model runs.
	pub fn to_device(self, device: Device) -> Self {
		AttributionIndex { gradients: self.gradients.to_device(device), ..self }
	}

	/// The attribution of an answer whose projected loss gradient is
	/// `gradient` (`[d]`).
	pub fn attribute(&self, gradient: &Tensor) -> Attribution {
		let query = unit_rows(&gradient.view([1, -1])).view([-1]);
		let scores = self.gradients.mv(&query).to_device(Device::Cpu).to_kind(Kind::Float);
		let scores: Vec<f32> = Vec::try_from(&scores).unwrap_or_default();
		select(&scores, &self.contributions, MAX_ATTRIBUTION_ENTRIES as usize)
	}
}

/// Quantises each example's score, sums them per contribution, and names the
/// `k` highest positive contributions (ties by lower id) with their share of
/// the total positive score, rounded down to parts per billion.
pub fn select(scores: &[f32], contributions: &[ContributionId], k: usize) -> Attribution {
	let mut totals = std::collections::BTreeMap::<ContributionId, i64>::new();
	for (score, contribution) in scores.iter().zip(contributions) {
		let quantised = if score.is_finite() { (score * SCORE_SCALE).round() as i64 } else { 0 };
		*totals.entry(*contribution).or_default() += quantised;
	}
	let positive: Vec<(ContributionId, u128)> = totals
		.into_iter()
		.filter(|(_, total)| *total > 0)
		.map(|(id, total)| (id, total as u128))
		.collect();
	let sum: u128 = positive.iter().map(|(_, s)| s).sum();
	name_top(positive, sum, k)
}

/// Names the `k` contributions of highest `credit` (ties to the lower id),
/// each with its credit's share of `total` (at least the credits' sum),
/// rounded down to parts per billion; a share that rounds to nothing is not
/// named.
pub fn name_top(mut credit: Vec<(ContributionId, u128)>, total: u128, k: usize) -> Attribution {
	credit.sort_by(|(a_id, a), (b_id, b)| b.cmp(a).then(a_id.cmp(b_id)));
	credit
		.into_iter()
		.take(k)
		.filter_map(|(id, credit)| {
			let parts = credit * u128::from(Perbill::ACCURACY) / total.max(1);
			(parts > 0).then(|| (id, Perbill::from_parts(parts as u32)))
		})
		.collect()
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn contributions_sum_their_examples_and_share_all_positive_score() {
		// Contribution 5 has two examples (0.5 + 0.25), 9 one (0.25), 2 a
		// negative one: shares are of the positive total 1.0.
		let picked = select(&[0.5, 0.25, 0.25, -0.9], &[5, 5, 9, 2], 32);
		assert_eq!(picked, vec![(5, Perbill::from_percent(75)), (9, Perbill::from_percent(25))]);
	}

	#[test]
	fn only_the_top_k_are_named_and_the_tail_is_left_to_the_pools() {
		let scores = [0.5, 0.25, 0.125, 0.125];
		let picked = select(&scores, &[1, 2, 3, 4], 2);
		assert_eq!(picked, vec![(1, Perbill::from_percent(50)), (2, Perbill::from_percent(25))]);
		let named: u32 = picked.iter().map(|(_, p)| p.deconstruct()).sum();
		assert!(named < Perbill::ACCURACY);
	}

	#[test]
	fn ties_go_to_the_lower_id_and_nothing_positive_names_nobody() {
		let picked = select(&[0.5, 0.5, 0.5], &[8, 3, 6], 2);
		assert_eq!(picked.iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![3, 6]);
		assert!(select(&[-0.1, 0.0, f32::NAN], &[1, 2, 3], 32).is_empty());
		assert!(select(&[], &[], 32).is_empty());
	}

	#[test]
	fn projections_are_reproducible_from_their_seed() {
		let a = projection(42, 8, 100);
		assert!(a.equal(&projection(42, 8, 100)));
		assert!(!a.equal(&projection(43, 8, 100)));
		let expected = 1.0 / 8f64.sqrt();
		assert!((a.abs().mean(Kind::Float).double_value(&[]) - expected).abs() < 1e-6);
	}

	#[test]
	fn the_attribution_favours_the_aligned_example() {
		let gradients =
			unit_rows(&Tensor::from_slice(&[1.0f32, 0.0, 0.7, 0.7, 0.0, 1.0]).view([3, 2]));
		let index = AttributionIndex::new(gradients, vec![10, 11, 12]);
		let picked = index.attribute(&Tensor::from_slice(&[2.0f32, 0.1]));
		assert_eq!(picked[0].0, 10);
		assert!(picked[0].1 > picked[1].1);
	}
}
