//! Prometheus metrics, served at `--prometheus-port` (`/metrics`).

use polkadot_sdk::substrate_prometheus_endpoint::{
	register, Counter, CounterVec, Gauge, Histogram, HistogramOpts, Opts, PrometheusError,
	Registry, U64,
};

/// The worker's metrics.
#[derive(Clone)]
pub struct Metrics {
	/// Jobs admitted to the executor and not finished.
	pub queue_depth: Gauge<U64>,
	/// Seconds per forward and backward pass.
	pub inference_seconds: Histogram,
	/// Seconds per attribution against the index.
	pub attribution_seconds: Histogram,
	/// Transactions sent, by step (`commit`, `reveal`, `filler`).
	pub submissions: CounterVec<U64>,
	/// Transactions sent again under their nonce after the node lost them.
	pub resubmissions: Counter<U64>,
	/// Failures, by kind (`inference`, `node`, `refused`, `admission`,
	/// `unverified`: a model refused by the index check).
	pub failures: CounterVec<U64>,
	/// Attempts to connect to the node.
	pub connection_attempts: Counter<U64>,
	/// Jobs finished by this worker, by outcome (`revealed`, `abandoned`).
	pub jobs: CounterVec<U64>,
	/// Model files fetched from their URIs, by outcome (`downloaded`,
	/// `failed`); files already in the content directory are not counted.
	pub fetches: CounterVec<U64>,
	/// Bytes of model files downloaded.
	pub fetched_bytes: Counter<U64>,
	/// Fast-path requests, by outcome (`answered`, `busy`, `refused`,
	/// `failed`, `journal`).
	pub requests: CounterVec<U64>,
	/// Seconds from a fast-path request's arrival to its signed answer.
	pub request_seconds: Histogram,
	/// Fast-path receipts sent for settlement.
	pub receipts_sent: Counter<U64>,
	/// Fast-path channels held in memory, each read every block.
	pub channels_held: Gauge<U64>,
	/// Cold loads into the executor's caches for adapters, by what was
	/// loaded (`adapter`; `base`: a base's module adapters run over).
	pub adapter_loads: CounterVec<U64>,
}

impl Metrics {
	/// Registers the metrics in `registry`.
	pub fn register(registry: &Registry) -> Result<Self, PrometheusError> {
		let buckets = vec![0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0];
		Ok(Metrics {
			queue_depth: register(
				Gauge::new("tributary_worker_queue_depth", "Jobs admitted and not finished")?,
				registry,
			)?,
			channels_held: register(
				Gauge::new(
					"tributary_worker_channels_held",
					"Fast-path channels held in memory, each read every block",
				)?,
				registry,
			)?,
			inference_seconds: register(
				Histogram::with_opts(
					HistogramOpts::new(
						"tributary_worker_inference_seconds",
						"Forward and backward pass",
					)
					.buckets(buckets.clone()),
				)?,
				registry,
			)?,
			attribution_seconds: register(
				Histogram::with_opts(
					HistogramOpts::new(
						"tributary_worker_attribution_seconds",
						"Scoring against the index",
					)
					.buckets(buckets.clone()),
				)?,
				registry,
			)?,
			requests: register(
				CounterVec::new(
					Opts::new("tributary_worker_requests_total", "Fast-path requests, by outcome"),
					&["outcome"],
				)?,
				registry,
			)?,
			request_seconds: register(
				Histogram::with_opts(
					HistogramOpts::new(
						"tributary_worker_request_seconds",
						"A fast-path request from arrival to signed answer",
					)
					.buckets(buckets),
				)?,
				registry,
			)?,
			receipts_sent: register(
				Counter::new(
					"tributary_worker_receipts_sent_total",
					"Fast-path receipts sent for settlement",
				)?,
				registry,
			)?,
			submissions: register(
				CounterVec::new(
					Opts::new("tributary_worker_submissions_total", "Transactions sent, by step"),
					&["step"],
				)?,
				registry,
			)?,
			resubmissions: register(
				Counter::new(
					"tributary_worker_resubmissions_total",
					"Transactions sent again under their nonce after the node lost them",
				)?,
				registry,
			)?,
			failures: register(
				CounterVec::new(
					Opts::new("tributary_worker_failures_total", "Failures, by kind"),
					&["kind"],
				)?,
				registry,
			)?,
			connection_attempts: register(
				Counter::new("tributary_worker_connection_attempts_total", "Attempts to connect")?,
				registry,
			)?,
			jobs: register(
				CounterVec::new(
					Opts::new("tributary_worker_jobs_total", "Jobs finished, by outcome"),
					&["outcome"],
				)?,
				registry,
			)?,
			fetches: register(
				CounterVec::new(
					Opts::new(
						"tributary_worker_model_fetches_total",
						"Model files fetched from their URIs, by outcome",
					),
					&["outcome"],
				)?,
				registry,
			)?,
			fetched_bytes: register(
				Counter::new(
					"tributary_worker_fetched_bytes_total",
					"Bytes of model files downloaded",
				)?,
				registry,
			)?,
			adapter_loads: register(
				CounterVec::new(
					Opts::new(
						"tributary_worker_adapter_loads_total",
						"Cold loads for adapters, by what was loaded (adapter, base)",
					),
					&["loaded"],
				)?,
				registry,
			)?,
		})
	}

	/// Brings the adapter load counters up to the executor's counts
	/// ([`crate::executor::Executor::adapter_loads`]).
	pub fn observe_adapter_loads(&self, (adapters, bases): (usize, usize)) {
		for (label, loads) in [("adapter", adapters), ("base", bases)] {
			let counter = self.adapter_loads.with_label_values(&[label]);
			counter.inc_by((loads as u64).saturating_sub(counter.get()));
		}
	}
}
