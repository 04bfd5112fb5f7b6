//! The classifier kind: a text classifier trained with libtorch on datanet
//! contributions, exported as TorchScript with its gradient attribution
//! index.
//!
//! The exported module's one method is `forward(x, target) -> (probs, grad)`:
//! `x` is the featurised text (`[batch, buckets]`), `target` a one-hot label
//! per row or a zero row for "the model's own prediction", `probs` the class
//! probabilities and `grad` the randomly projected gradient of the
//! cross-entropy loss at that target, with respect to both layers' weights:
//! the backward pass, written into the module. Training builds the index by
//! running the very same module on the training examples with their labels,
//! so the index and every inference use one definition of the gradient.
//!
//! The artifact is the TorchScript file; the attribution index is a
//! safetensors file holding the gradients, their contributions and the
//! model's card (labels, featuriser, sizes). Both are content-addressed by
//! blake2-256 and named on chain by `register_model`.

use super::{Answer, ModelError, Timings};
use crate::{
	attribution::{preconditioned, projection, unit_rows, AttributionIndex},
	text::{Example, Featurizer},
};
use rand::{seq::SliceRandom, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::{path::Path, time::Instant};
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};
use tributary_primitives::ContributionId;

/// The format name in every card this code writes and reads.
pub const FORMAT: &str = "tributary-text-classifier/1";

/// What a worker must know to run a model, beyond its weights. Stored in the
/// attribution index, so the index's hash covers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelCard {
	/// [`FORMAT`].
	pub format: String,
	/// The class names, in output order.
	pub labels: Vec<String>,
	/// How text becomes the module's input.
	pub featurizer: Featurizer,
	/// The hidden layer's width.
	pub hidden: u32,
	/// The projected gradient's dimension `d`.
	pub projection_dim: u32,
	/// The seed of the random projections.
	pub seed: u64,
}

/// How to train.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
	/// Passes over the training set.
	pub epochs: u32,
	/// The hidden layer's width.
	pub hidden: u32,
	/// Adam's learning rate.
	pub learning_rate: f64,
	/// Examples per optimisation step.
	pub batch_size: usize,
	/// Seeds the initial weights, the shuffles and the projections.
	pub seed: u64,
	/// How text becomes input.
	pub featurizer: Featurizer,
	/// The projected gradient's dimension `d`: half for the output layer,
	/// half for the hidden layer (a 16-column Kronecker sketch).
	pub projection_dim: u32,
	/// The TRAK correction's damping ([`preconditioned`]); `None` leaves
	/// the index's rows plain unit gradients, scored by cosine alone.
	pub damping: Option<f64>,
}

impl Default for TrainConfig {
	fn default() -> Self {
		TrainConfig {
			epochs: 40,
			hidden: 64,
			learning_rate: 1e-2,
			batch_size: 32,
			seed: 7,
			featurizer: Featurizer::default(),
			projection_dim: 256,
			damping: Some(DAMPING),
		}
	}
}

/// The TRAK correction's default damping: on the corpus less damping finds
/// sources better (`tributary-worker bench-attribution`, README), but on a
/// few dozen examples it credits other classes; this is safe on both.
pub const DAMPING: f64 = 0.1;

/// A trained model, ready to publish.
pub struct TrainedModel {
	/// The TorchScript module's bytes: the artifact.
	pub artifact: Vec<u8>,
	/// The attribution index's bytes.
	pub index: Vec<u8>,
	/// The card inside the index.
	pub card: ModelCard,
	/// How many examples each contribution gave, by id.
	pub examples_per_contribution: Vec<(ContributionId, usize)>,
	/// Accuracy on the training set after the last epoch.
	pub train_accuracy: f64,
	/// Mean training loss of the last epoch.
	pub final_loss: f64,
}

/// The columns of the hidden layer's gradient sketch.
const SKETCH_INPUT: i64 = 16;

/// The trainable weights.
struct Weights {
	w1: Tensor,
	b1: Tensor,
	w2: Tensor,
	b2: Tensor,
}

impl Weights {
	fn new(vs: &nn::Path, inputs: i64, hidden: i64, classes: i64) -> Self {
		let init = nn::Init::Randn { mean: 0.0, stdev: (1.0 / inputs as f64).sqrt() * 4.0 };
		Weights {
			w1: vs.var("w1", &[hidden, inputs], init),
			b1: vs.zeros("b1", &[hidden]),
			w2: vs.var(
				"w2",
				&[classes, hidden],
				nn::Init::Randn { mean: 0.0, stdev: (1.0 / hidden as f64).sqrt() },
			),
			b2: vs.zeros("b2", &[classes]),
		}
	}

	fn hidden(&self, x: &Tensor) -> Tensor {
		x.linear(&self.w1, Some(&self.b1)).tanh()
	}

	fn logits(&self, h: &Tensor) -> Tensor {
		h.linear(&self.w2, Some(&self.b2))
	}
}

/// The random projections the gradient is sketched with.
struct Sketch {
	/// `[d/2, classes × (hidden + 1)]` for the output layer's gradient.
	head: Tensor,
	/// `[d/2 / SKETCH_INPUT, hidden]` and `[SKETCH_INPUT, buckets]`: a
	/// Kronecker-structured projection of the hidden layer's gradient, which
	/// is the outer product of the back-propagated error and the input.
	hidden: Tensor,
	input: Tensor,
}

impl Sketch {
	fn new(card: &ModelCard) -> Self {
		let half = i64::from(card.projection_dim / 2);
		let classes = card.labels.len() as i64;
		let hidden = i64::from(card.hidden);
		let buckets = i64::from(card.featurizer.buckets);
		Sketch {
			head: projection(card.seed, half as usize, (classes * (hidden + 1)) as usize),
			hidden: projection(card.seed + 1, (half / SKETCH_INPUT) as usize, hidden as usize),
			input: projection(card.seed + 2, SKETCH_INPUT as usize, buckets as usize),
		}
	}

	/// `(probs, grad)` for inputs `x` and targets `target` (zero rows: the
	/// prediction), by the chain rule through both layers.
	fn forward(&self, w: &Weights, x: &Tensor, target: &Tensor) -> (Tensor, Tensor) {
		let h = w.hidden(x);
		let logits = w.logits(&h);
		let probs = logits.softmax(-1, Kind::Float);
		let classes = logits.size()[1];
		let predicted = logits.argmax(-1, false).one_hot(classes).to_kind(Kind::Float);
		let given = target.sum_dim_intlist([1i64].as_slice(), true, Kind::Float);
		let target = target + (1.0 - given) * predicted;
		// d loss / d logits for softmax cross-entropy.
		let error = &probs - &target;
		// Shapes are written with the batch as -1: a traced module must not
		// bake in the batch size it was traced with.
		let h1 = Tensor::cat(&[&h, &h.ones_like().narrow(1, 0, 1)], 1);
		let head = error
			.unsqueeze(2)
			.matmul(&h1.unsqueeze(1))
			.view([-1, self.head.size()[1]])
			.matmul(&self.head.tr());
		let delta = error.matmul(&w.w2) * (h.ones_like() - h.square());
		let hidden = delta
			.matmul(&self.hidden.tr())
			.unsqueeze(2)
			.matmul(&x.matmul(&self.input.tr()).unsqueeze(1))
			.view([-1, self.hidden.size()[0] * SKETCH_INPUT]);
		(probs, Tensor::cat(&[head, hidden], 1))
	}
}

/// Trains a classifier on `examples`, then exports its module and index.
/// `progress` is told each epoch's number and mean loss.
pub fn train(
	examples: &[Example],
	config: &TrainConfig,
	mut progress: impl FnMut(u32, f64),
) -> Result<TrainedModel, ModelError> {
	let mut labels: Vec<String> = examples.iter().map(|e| e.label.clone()).collect();
	labels.sort();
	labels.dedup();
	if labels.len() < 2 {
		return Err(ModelError::TooFewLabels(labels.len()));
	}
	let card = ModelCard {
		format: FORMAT.into(),
		labels,
		featurizer: config.featurizer,
		hidden: config.hidden,
		projection_dim: config.projection_dim,
		seed: config.seed,
	};
	let device = Device::Cpu;
	let classes = card.labels.len() as i64;
	let x = card.featurizer.batch(&examples.iter().map(|e| &e.text).collect::<Vec<_>>(), device);
	let y: Vec<i64> = examples
		.iter()
		.map(|e| card.labels.binary_search(&e.label).map(|i| i as i64).unwrap_or_default())
		.collect();
	let y = Tensor::from_slice(&y);

	let vs = nn::VarStore::new(device);
	let weights = super::seeded(config.seed, || {
		Weights::new(
			&vs.root(),
			i64::from(card.featurizer.buckets),
			i64::from(card.hidden),
			classes,
		)
	});
	let mut opt = nn::Adam::default().build(&vs, config.learning_rate)?;
	let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
	let mut order: Vec<i64> = (0..examples.len() as i64).collect();
	let mut final_loss = 0.0;
	for epoch in 1..=config.epochs {
		order.shuffle(&mut rng);
		let mut total = 0.0;
		for batch in order.chunks(config.batch_size.max(1)) {
			let idx = Tensor::from_slice(batch);
			let logits = weights.logits(&weights.hidden(&x.index_select(0, &idx)));
			let loss = logits.cross_entropy_for_logits(&y.index_select(0, &idx));
			opt.backward_step(&loss);
			total += loss.double_value(&[]) * batch.len() as f64;
		}
		final_loss = total / examples.len() as f64;
		progress(epoch, final_loss);
	}

	let frozen = tch::no_grad(|| Weights {
		w1: weights.w1.detach().copy(),
		b1: weights.b1.detach().copy(),
		w2: weights.w2.detach().copy(),
		b2: weights.b2.detach().copy(),
	});
	let sketch = Sketch::new(&card);
	let train_accuracy = tch::no_grad(|| {
		let predicted = frozen.logits(&frozen.hidden(&x)).argmax(-1, false);
		predicted.eq_tensor(&y).to_kind(Kind::Float).mean(Kind::Float).double_value(&[])
	});

	let dir = tempfile::tempdir()?;
	let module_path = dir.path().join("model.pt");
	let probe_x = x.narrow(0, 0, 1);
	let probe_target = Tensor::zeros([1, classes], (Kind::Float, device));
	let module = tch::no_grad(|| {
		tch::CModule::create_by_tracing(
			"TributaryTextClassifier",
			"forward",
			&[probe_x, probe_target],
			&mut |inputs| {
				let (probs, grad) = sketch.forward(&frozen, &inputs[0], &inputs[1]);
				vec![Tensor::cat(&[probs, grad], 1)]
			},
		)
	})?;
	module.save(&module_path)?;
	let artifact = std::fs::read(&module_path)?;

	// The index comes from the exported module itself, at the true labels.
	let loaded = tch::CModule::load_on_device(&module_path, device)?;
	let targets = y.one_hot(classes).to_kind(Kind::Float);
	let (_, gradients) = run_module(&loaded, &x, &targets)?;
	let contributions: Vec<ContributionId> = examples.iter().map(|e| e.contribution).collect();
	let index_path = dir.path().join("index.safetensors");
	let rows = unit_rows(&gradients);
	let rows = match config.damping {
		Some(damping) => preconditioned(&rows, damping),
		None => rows,
	};
	write_index(&index_path, &card, &rows, &contributions)?;
	let index = std::fs::read(&index_path)?;

	let mut per_contribution = std::collections::BTreeMap::<ContributionId, usize>::new();
	for c in &contributions {
		*per_contribution.entry(*c).or_default() += 1;
	}
	Ok(TrainedModel {
		artifact,
		index,
		card,
		examples_per_contribution: per_contribution.into_iter().collect(),
		train_accuracy,
		final_loss,
	})
}

/// Runs an exported module: `(probs, grad)`, which it returns side by side
/// in one `[batch, classes + d]` tensor (a traced method has one output).
fn run_module(
	module: &tch::CModule,
	x: &Tensor,
	target: &Tensor,
) -> Result<(Tensor, Tensor), ModelError> {
	let classes = target.size()[1];
	let out = tch::no_grad(|| module.forward_ts(&[x, target]))?;
	let width = out.size().get(1).copied().unwrap_or_default();
	if out.dim() != 2 || width <= classes {
		return Err(ModelError::BadOutput(format!("a tensor of shape {:?}", out.size())));
	}
	Ok((out.narrow(1, 0, classes), out.narrow(1, classes, width - classes)))
}

fn write_index(
	path: &Path,
	card: &ModelCard,
	gradients: &Tensor,
	contributions: &[ContributionId],
) -> Result<(), ModelError> {
	let card = serde_json::to_vec(card).map_err(|e| ModelError::BadIndex(e.to_string()))?;
	let ids: Vec<i64> = contributions.iter().map(|c| *c as i64).collect();
	Tensor::write_safetensors(
		&[
			("card", Tensor::from_slice(&card)),
			("contributions", Tensor::from_slice(&ids)),
			("gradients", gradients.to_kind(Kind::Float).contiguous()),
		],
		path,
	)?;
	Ok(())
}

/// Reads a classifier's index from its tensors: the card and the index.
pub fn read_index(
	card: ModelCard,
	tensors: Vec<(String, Tensor)>,
) -> Result<(ModelCard, AttributionIndex), ModelError> {
	let mut contributions = None;
	let mut gradients = None;
	for (name, tensor) in tensors {
		match name.as_str() {
			"contributions" => contributions = Some(Vec::<i64>::try_from(&tensor)?),
			"gradients" => gradients = Some(tensor),
			_ => {}
		}
	}
	let (Some(contributions), Some(gradients)) = (contributions, gradients) else {
		return Err(ModelError::BadIndex("it lacks contributions or gradients".into()));
	};
	if card.format != FORMAT {
		return Err(ModelError::BadIndex(format!("unknown format {:?}", card.format)));
	}
	let shape = gradients.size();
	if shape != [contributions.len() as i64, i64::from(card.projection_dim)] {
		return Err(ModelError::BadIndex(format!(
			"gradients are {shape:?}, expected [{}, {}]",
			contributions.len(),
			card.projection_dim
		)));
	}
	let contributions = contributions.into_iter().map(|c| c as ContributionId).collect();
	Ok((card, AttributionIndex::new(gradients, contributions)))
}

/// A classifier loaded for inference, with its index.
pub struct Classifier {
	module: tch::CModule,
	card: ModelCard,
	index: AttributionIndex,
	device: Device,
}

impl Classifier {
	/// A loaded module with its card and index.
	pub fn new(
		module: tch::CModule,
		card: ModelCard,
		index: AttributionIndex,
		device: Device,
	) -> Self {
		Classifier { module, card, index: index.to_device(device), device }
	}

	/// The answer's class probabilities and projected loss gradient: the
	/// forward and backward pass, without attribution.
	pub fn forward(&self, input: &str) -> Result<(Vec<f32>, Tensor), ModelError> {
		let x = self.card.featurizer.batch(&[input], self.device);
		let target = Tensor::zeros([1, self.card.labels.len() as i64], (Kind::Float, self.device));
		let (probs, grad) = run_module(&self.module, &x, &target)?;
		// A module anyone registered may return anything: check the shape
		// before the output and the index read it.
		let dim = i64::from(self.card.projection_dim);
		if probs.size() != [1, self.card.labels.len() as i64] || grad.size() != [1, dim] {
			return Err(ModelError::BadOutput(format!(
				"probabilities {:?} and a gradient {:?} for {} labels and {dim} dimensions",
				probs.size(),
				grad.size(),
				self.card.labels.len()
			)));
		}
		let probs = Vec::<f32>::try_from(probs.view([-1]).to_device(Device::Cpu))?;
		Ok((probs, grad.view([-1])))
	}

	/// The output bytes for class probabilities `probs`: the most probable
	/// class (ties to the first) and its quantised probability.
	pub fn output(&self, probs: &[f32]) -> Vec<u8> {
		let (best, p) =
			probs
				.iter()
				.enumerate()
				.fold((0, f32::MIN), |(bi, bp), (i, p)| if *p > bp { (i, *p) } else { (bi, bp) });
		let basis = (f64::from(p.clamp(0.0, 1.0)) * 10_000.0).round() as u32;
		let label = serde_json::to_string(&self.card.labels[best]).unwrap_or_default();
		format!("{{\"label\":{label},\"confidence\":{}.{:04}}}", basis / 10_000, basis % 10_000)
			.into_bytes()
	}

	/// Runs the model on `input`: its output and attribution. The output is
	/// `{"label":"<class>","confidence":0.1234}`, the confidence quantised to
	/// four decimals so that floating-point noise never changes the bytes.
	pub fn answer(&self, input: &str) -> Result<(Answer, Timings), ModelError> {
		let start = Instant::now();
		let (probs, grad) = self.forward(input)?;
		let inference = start.elapsed();
		let start = Instant::now();
		let attribution = self.index.attribute(&grad);
		let timings = Timings { inference, attribution: start.elapsed() };
		Ok((Answer { output: self.output(&probs), attribution }, timings))
	}
}
