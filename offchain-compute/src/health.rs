//! The worker's HTTP endpoint for operators: `/metrics` (Prometheus) and
//! `/health` (whether it is following a node, for a supervisor or a load
//! balancer), on one address (`--metrics-addr`).

use crate::executor::Executor;
use axum::{extract::State, http::StatusCode, response::IntoResponse, routing::get, Json, Router};
use polkadot_sdk::substrate_prometheus_endpoint::{
	prometheus::{Encoder, TextEncoder},
	Registry,
};
use std::{
	sync::{Arc, Mutex},
	time::{Duration, Instant},
};

/// What the daemon last saw, shared with the endpoint.
#[derive(Clone)]
pub struct Health {
	state: Arc<Mutex<Seen>>,
	executor: Arc<Executor>,
	/// A worker that handled no block for this long is not healthy.
	stale_after: Duration,
}

#[derive(Default)]
struct Seen {
	node: Option<String>,
	best: Option<(u64, Instant)>,
	draining: bool,
}

/// The `/health` answer.
#[derive(Debug, serde::Serialize)]
pub struct Report {
	/// `ok`, `connecting` (no block handled yet), `stale` (no block
	/// lately) or `draining` (stopping).
	pub status: &'static str,
	/// The node followed.
	pub node: Option<String>,
	/// The newest best block handled.
	pub best_block: Option<u64>,
	/// Seconds since it was handled.
	pub seconds_since_block: Option<f64>,
	/// Jobs admitted to the executor and not finished.
	pub running: usize,
	/// How many it admits at once.
	pub capacity: usize,
}

impl Health {
	/// Health of a daemon running `executor`, stale after `stale_after`
	/// without a block.
	pub fn new(executor: Arc<Executor>, stale_after: Duration) -> Self {
		Health { state: Default::default(), executor, stale_after }
	}

	/// The daemon follows `node`.
	pub fn connected(&self, node: &str) {
		if let Ok(mut seen) = self.state.lock() {
			seen.node = Some(node.to_owned());
		}
	}

	/// The daemon handled best block `number`.
	pub fn block(&self, number: u64) {
		if let Ok(mut seen) = self.state.lock() {
			seen.best = Some((number, Instant::now()));
		}
	}

	/// The daemon is stopping.
	pub fn draining(&self) {
		if let Ok(mut seen) = self.state.lock() {
			seen.draining = true;
		}
	}

	/// The report now.
	pub fn report(&self) -> Report {
		let (node, best, draining) = match self.state.lock() {
			Ok(seen) => (seen.node.clone(), seen.best, seen.draining),
			Err(_) => (None, None, false),
		};
		let age = best.map(|(_, at)| at.elapsed());
		let status = match (draining, age) {
			(true, _) => "draining",
			(false, None) => "connecting",
			(false, Some(age)) if age > self.stale_after => "stale",
			(false, Some(_)) => "ok",
		};
		Report {
			status,
			node,
			best_block: best.map(|(number, _)| number),
			seconds_since_block: age.map(|a| a.as_secs_f64()),
			running: self.executor.queued(),
			capacity: self.executor.capacity(),
		}
	}
}

/// The endpoint's routes.
pub fn router(health: Health, registry: Registry) -> Router {
	Router::new()
		.route("/health", get(report).with_state(health))
		.route("/metrics", get(metrics).with_state(registry))
}

/// Serves the endpoint on `listener` until the task is dropped or fails.
pub async fn serve(
	listener: tokio::net::TcpListener,
	health: Health,
	registry: Registry,
) -> std::io::Result<()> {
	axum::serve(listener, router(health, registry)).await
}

async fn report(State(health): State<Health>) -> impl IntoResponse {
	let report = health.report();
	let code = if report.status == "ok" { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
	(code, Json(report))
}

async fn metrics(State(registry): State<Registry>) -> impl IntoResponse {
	let encoder = TextEncoder::new();
	let mut buffer = Vec::new();
	match encoder.encode(&registry.gather(), &mut buffer) {
		Ok(()) => (StatusCode::OK, [("content-type", encoder.format_type().to_owned())], buffer),
		Err(e) => (
			StatusCode::INTERNAL_SERVER_ERROR,
			[("content-type", "text/plain".to_owned())],
			e.to_string().into_bytes(),
		),
	}
}
