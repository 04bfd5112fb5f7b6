//! The recorder: journals the executor's answers as they come, connected to
//! a node or not, so that a result and its salt are stored before anything
//! about them is sent.

use crate::{
	admission::Running,
	executor::Reply,
	journal::{self, JobResult, Journal},
	keys::SaltKey,
	metrics::Metrics,
};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tributary_primitives::JobId;

/// How many answers may wait to be journaled: as many as the executor may
/// run at once (`pallet_worker_staking::Config::MaxCapacity`). Beyond it an
/// executor thread waits for the journal.
pub(crate) const ANSWERS_WAITING: usize = 64;

/// Journals each answer from `answers` and takes its job off `running`.
pub(crate) async fn run(
	mut answers: mpsc::Receiver<(JobId, Reply)>,
	journal: Arc<Mutex<Journal>>,
	running: Running,
	metrics: Metrics,
	salts: SaltKey,
) {
	while let Some((job_id, reply)) = answers.recv().await {
		match reply {
			Ok(timed) => {
				metrics.inference_seconds.observe(timed.timings.inference.as_secs_f64());
				metrics.attribution_seconds.observe(timed.timings.attribution.as_secs_f64());
				let result = JobResult {
					output: timed.answer.output,
					attribution: timed
						.answer
						.attribution
						.iter()
						.map(|(c, p)| (*c, p.deconstruct()))
						.collect(),
					salt: salts.salt(job_id),
				};
				match journal::lock(&journal).and_then(|j| j.record_result(job_id, &result)) {
					Ok(()) => tracing::info!(
						job_id,
						output = %String::from_utf8_lossy(&result.output),
						attributed = result.attribution.len(),
						inference_ms = timed.timings.inference.as_secs_f64() * 1e3,
						attribution_ms = timed.timings.attribution.as_secs_f64() * 1e3,
						"computed"
					),
					Err(e) => tracing::error!(job_id, error = %e, "cannot journal the answer"),
				}
			}
			Err(e) => {
				metrics.failures.with_label_values(&["inference"]).inc();
				tracing::error!(job_id, error = %e, "inference failed; declining the job");
				if let Err(e) = journal::lock(&journal).and_then(|j| j.record_failure(job_id)) {
					tracing::error!(job_id, error = %e, "cannot journal the failure");
				}
			}
		}
		// Off the running set only once journaled: a drain waits for it.
		if let Ok(mut running) = running.lock() {
			running.remove(&job_id);
		}
	}
}
