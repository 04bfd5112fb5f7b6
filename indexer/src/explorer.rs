//! The explorer: a page (`GET /`) and the answers it draws, read from the
//! indexed events and the extrinsics that emitted them.
//!
//! - `GET /api/datanets?before&limit`: datanets, their owners and how many
//!   contributions each received;
//! - `GET /api/models?before&limit`: models, their owners and their lineage
//!   (training datanets and parent models with their direct shares, from
//!   the `register_model` or `publish_version` call that made them);
//! - `GET /api/jobs?before&limit`: jobs, newest first: model, requester,
//!   fee, outcome, where the fee went (the `JobSettled` split), and for an
//!   audit's job the fast-path receipt it audits;
//! - `GET /api/market?to&span&buckets`: the market over the `span` blocks
//!   up to `to` (the last indexed by default), in `buckets` spans of equal
//!   length: jobs submitted and finished, jobs open at the end of each (the
//!   queue), the average fee offered, and fast-path receipts settled with
//!   their average price;
//! - `GET /api/jobs/{id}`: one job, every credit of its settlement (who
//!   received what) and every event about it, in order.
//!
//! Every list is bounded like the rest of the API ([`crate::api`]); a job's
//! events and a datanet's contributions are found through their own indexes
//! (`indexer/migrations/V2__…`).

use crate::api::{Answer, ApiError, Db, Page};
use axum::{
	extract::{Path, Query, State},
	http::StatusCode,
	response::Html,
	routing::get,
	Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_postgres::Row;

/// The page, self-contained: it reads the API from its own origin.
const PAGE: &str = include_str!("explorer.html");

/// The most events one job's answer lists.
const MAX_JOB_EVENTS: i64 = 200;

/// The explorer's routes.
pub fn routes() -> Router<Db> {
	Router::new()
		.route("/", get(|| async { Html(PAGE) }))
		.route("/api/datanets", get(datanets))
		.route("/api/models", get(models))
		.route("/api/jobs", get(jobs))
		.route("/api/market", get(market))
		.route("/api/jobs/{id}", get(job))
}

/// The most blocks one market answer covers, and its most buckets.
const MAX_MARKET_SPAN: i64 = 100_000;
const MAX_MARKET_BUCKETS: i64 = 100;

/// Which stretch of the market, in how many buckets.
#[derive(Deserialize)]
struct MarketWindow {
	to: Option<i64>,
	span: Option<i64>,
	buckets: Option<i64>,
}

/// The `(id, share)` pairs of a lineage argument as the indexer stores it
/// (a bounded vector of tuples, each share a `Perbill` newtype), whatever
/// nesting the untyped decoding left around them.
pub fn id_shares(value: &Value) -> Vec<(u64, u64)> {
	let number = |v: &Value| match v {
		Value::Number(n) => n.as_u64(),
		Value::String(s) => s.parse().ok(),
		Value::Array(inner) if inner.len() == 1 => match &inner[0] {
			Value::Number(n) => n.as_u64(),
			_ => None,
		},
		_ => None,
	};
	match value {
		Value::Array(items) if items.len() == 2 && items[0].is_number() => {
			match (number(&items[0]), number(&items[1])) {
				(Some(id), Some(share)) => vec![(id, share)],
				_ => Vec::new(),
			}
		}
		Value::Array(items) => items.iter().flat_map(id_shares).collect(),
		_ => Vec::new(),
	}
}

fn pairs_json(value: Option<&Value>, key: &str) -> Value {
	Value::Array(
		value
			.map(id_shares)
			.unwrap_or_default()
			.into_iter()
			.map(|(id, share)| json!({ key: id, "share": share }))
			.collect(),
	)
}

/// A JSON array of `rows`, each as `one` gives it.
fn rows_json(rows: &[Row], one: impl Fn(&Row) -> Value) -> Json<Value> {
	Json(Value::Array(rows.iter().map(one).collect()))
}

/// A stored number (JSON number or decimal string) as a decimal string.
fn amount(value: &Value) -> Value {
	match value {
		Value::Number(n) => Value::String(n.to_string()),
		Value::String(_) => value.clone(),
		_ => Value::Null,
	}
}

async fn datanets(State(db): State<Db>, Query(page): Query<Page>) -> Answer {
	let (before, limit) = page.bounds()?;
	let rows = db
		.query(
			"SELECT e.block_number, e.fields,
			        (SELECT COUNT(*) FROM events c
			          WHERE c.pallet = 'Registry' AND c.name = 'ContributionSubmitted'
			            AND c.fields ? 'datanet_id'
			            AND c.fields->>'datanet_id' = e.fields->>'datanet_id') AS contributions
			   FROM events e
			  WHERE e.pallet = 'Registry' AND e.name = 'DatanetCreated' AND e.block_number < $1
			  ORDER BY e.block_number DESC, e.index DESC LIMIT $2",
			&[&before, &limit],
		)
		.await?;
	Ok(rows_json(&rows, |row| {
		let fields: Value = row.get(1);
		json!({
			"id": fields["datanet_id"],
			"owner": fields["owner"],
			"block": row.get::<_, i64>(0),
			"contributions": row.get::<_, i64>(2),
		})
	}))
}

async fn models(State(db): State<Db>, Query(page): Query<Page>) -> Answer {
	let (before, limit) = page.bounds()?;
	let rows = db
		.query(
			"SELECT e.block_number, e.fields, x.call, x.args
			   FROM events e
			   LEFT JOIN extrinsics x ON x.block_number = e.block_number AND x.index = e.extrinsic_index
			  WHERE e.pallet = 'Registry' AND e.name = 'ModelRegistered' AND e.block_number < $1
			  ORDER BY e.block_number DESC, e.index DESC LIMIT $2",
			&[&before, &limit],
		)
		.await?;
	Ok(rows_json(&rows, |row| {
		let fields: Value = row.get(1);
		let call: Option<String> = row.get(2);
		let args: Option<Value> = row.get(3);
		let made = matches!(call.as_deref(), Some("register_model" | "publish_version"));
		let args = args.filter(|_| made);
		json!({
			"id": fields["model_id"],
			"owner": fields["owner"],
			"block": row.get::<_, i64>(0),
			"previous": args.as_ref().map(|a| a["previous"].clone()),
			"training": pairs_json(args.as_ref().map(|a| &a["training"]), "datanet"),
			"parents": pairs_json(args.as_ref().map(|a| &a["parents"]), "model"),
			"price": args.as_ref().map(|a| amount(&a["price_per_inference"])),
		})
	}))
}

/// An event about a job, with the arguments of the call that emitted it.
struct JobEvent {
	job_id: String,
	block: i64,
	index: i32,
	pallet: String,
	name: String,
	fields: Value,
	args: Option<Value>,
}

/// The events of the jobs `ids`, in order (at most [`MAX_JOB_EVENTS`] a
/// job), in one query through the jobs' index.
async fn job_events(db: &Db, ids: &[String]) -> Result<Vec<JobEvent>, ApiError> {
	let most = MAX_JOB_EVENTS * ids.len() as i64;
	let rows = db
		.query(
			"SELECT e.block_number, e.index, e.pallet, e.name, e.fields, x.args, e.fields->>'job_id'
			   FROM events e
			   LEFT JOIN extrinsics x ON x.block_number = e.block_number AND x.index = e.extrinsic_index
			  WHERE e.fields ? 'job_id' AND e.fields->>'job_id' = ANY($1)
			  ORDER BY e.block_number, e.index LIMIT $2",
			&[&ids, &most],
		)
		.await?;
	Ok(rows
		.iter()
		.map(|row| JobEvent {
			block: row.get(0),
			index: row.get(1),
			pallet: row.get(2),
			name: row.get(3),
			fields: row.get(4),
			args: row.get(5),
			job_id: row.get(6),
		})
		.collect())
}

/// What the explorer says of a job, from its events in order.
fn job_summary(id: &str, events: &[JobEvent]) -> Value {
	let mut summary = json!({ "id": id.parse::<u64>().ok(), "status": "submitted" });
	for JobEvent { block, name, fields, args, .. } in events {
		match name.as_str() {
			"JobSubmitted" => {
				summary["block"] = json!(block);
				summary["requester"] = fields["requester"].clone();
				summary["fee"] = amount(&fields["fee"]);
				// An audit's job is submitted by the call that opens or
				// challenges a receipt, which names the model in the receipt.
				summary["model"] = args
					.as_ref()
					.map(|a| match &a["model_id"] {
						Value::Null => a["receipt"]["model"].clone(),
						model => model.clone(),
					})
					.unwrap_or(Value::Null);
			}
			"AuditStarted" => {
				summary["audit"] = json!({
					"channel": fields["channel_id"],
					"sequence": fields["sequence"],
					"challenger": fields["challenger"],
				});
			}
			"JobAssigned" => summary["workers"] = fields["workers"].clone(),
			"JobCompleted" => summary["status"] = json!("completed"),
			"JobFailed" => summary["status"] = json!("failed"),
			"JobCancelled" => summary["status"] = json!("cancelled"),
			"JobSettled" => {
				summary["split"] = json!({
					"workers": amount(&fields["worker_share"]),
					"modelOwner": amount(&fields["model_share"]),
					"upstream": amount(&fields["upstream_share"]),
					"data": amount(&fields["data_share"]),
					"treasury": amount(&fields["treasury_share"]),
				});
			}
			_ => {}
		}
	}
	summary
}

async fn jobs(State(db): State<Db>, Query(page): Query<Page>) -> Answer {
	let (before, limit) = page.bounds()?;
	let submitted = db
		.query(
			"SELECT fields->>'job_id' FROM events
			  WHERE pallet = 'Compute' AND name = 'JobSubmitted' AND block_number < $1
			  ORDER BY block_number DESC, index DESC LIMIT $2",
			&[&before, &limit],
		)
		.await?;
	let ids: Vec<String> = submitted.iter().map(|row| row.get(0)).collect();
	let mut by_job = std::collections::HashMap::<String, Vec<JobEvent>>::new();
	for event in job_events(&db, &ids).await? {
		by_job.entry(event.job_id.clone()).or_default().push(event);
	}
	let answer = ids
		.iter()
		.map(|id| job_summary(id, by_job.get(id).map_or(&[][..], Vec::as_slice)))
		.collect();
	Ok(Json(Value::Array(answer)))
}

async fn market(State(db): State<Db>, Query(window): Query<MarketWindow>) -> Answer {
	let span = window.span.unwrap_or(600);
	let buckets = window.buckets.unwrap_or(60);
	if !(1..=MAX_MARKET_SPAN).contains(&span) || !(1..=MAX_MARKET_BUCKETS).contains(&buckets) {
		return Err(ApiError::new(
			StatusCode::BAD_REQUEST,
			format!(
				"span must be 1..={MAX_MARKET_SPAN} blocks and buckets 1..={MAX_MARKET_BUCKETS}"
			),
		));
	}
	let to = match window.to {
		Some(to) => to,
		None => db
			.query_opt("SELECT block_number FROM cursor", &[])
			.await?
			.map_or(0, |row| row.get::<_, i64>(0)),
	};
	// Buckets are counted back from `to`, so the last one always ends there.
	let size = (span + buckets - 1) / buckets;
	let rows = db
		.query(
			"SELECT MIN(block_number), MAX(block_number), SUM(submitted), SUM(finished),
			        (ARRAY_AGG(open_jobs ORDER BY block_number DESC))[1],
			        div(SUM(fees), NULLIF(SUM(submitted), 0))::TEXT,
			        SUM(receipts)::BIGINT, div(SUM(receipts_amount), NULLIF(SUM(receipts), 0))::TEXT
			   FROM market WHERE block_number > $1::BIGINT - $2::BIGINT AND block_number <= $1
			  GROUP BY ($1::BIGINT - block_number) / $3::BIGINT ORDER BY 1",
			&[&to, &span, &size],
		)
		.await?;
	Ok(rows_json(&rows, |row| {
		json!({
			"from": row.get::<_, i64>(0),
			"to": row.get::<_, i64>(1),
			"submitted": row.get::<_, i64>(2),
			"finished": row.get::<_, i64>(3),
			"open": row.get::<_, i64>(4),
			"averageFee": row.get::<_, Option<String>>(5),
			"receipts": row.get::<_, i64>(6),
			"averageReceiptPrice": row.get::<_, Option<String>>(7),
		})
	}))
}

async fn job(State(db): State<Db>, Path(number): Path<i64>) -> Answer {
	let id = number.to_string();
	let events = job_events(&db, core::slice::from_ref(&id)).await?;
	if events.is_empty() {
		return Err(ApiError::new(StatusCode::NOT_FOUND, format!("job {id} is not indexed")));
	}
	let mut answer = job_summary(&id, &events);
	answer["credits"] = Value::Array(crate::earnings::job_credits(&db, number).await?);
	answer["events"] = Value::Array(
		events
			.iter()
			.map(|e| {
				json!({
					"block": e.block,
					"index": e.index,
					"pallet": e.pallet,
					"name": e.name,
					"fields": e.fields,
				})
			})
			.collect(),
	);
	Ok(Json(answer))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn lineage_pairs_are_found_in_any_nesting() {
		// A bounded vector around tuples, each share a Perbill newtype.
		assert_eq!(
			id_shares(&json!([[[0, [400000000]], [3, [100]]]])),
			vec![(0, 400000000), (3, 100)]
		);
		assert_eq!(id_shares(&json!([[2, "500000000"]])), vec![(2, 500000000)]);
		assert_eq!(id_shares(&json!([[]])), Vec::<(u64, u64)>::new());
		assert_eq!(id_shares(&json!(null)), Vec::<(u64, u64)>::new());
	}

	fn event(name: &str, fields: Value, args: Value) -> JobEvent {
		JobEvent {
			job_id: "7".into(),
			block: 12,
			index: 1,
			pallet: "Compute".into(),
			name: name.into(),
			fields,
			args: Some(args),
		}
	}

	#[test]
	fn a_job_names_its_model_from_the_call_that_submitted_it_an_audit_from_its_receipt() {
		let submitted = json!({ "job_id": 7, "requester": "0x01", "fee": 5 });
		let summary =
			job_summary("7", &[event("JobSubmitted", submitted.clone(), json!({ "model_id": 2 }))]);
		assert_eq!((summary["model"].clone(), summary["fee"].clone()), (json!(2), json!("5")));

		let opened =
			json!({ "batch_id": 0, "sequence": 3, "receipt": { "channel": 4, "model": 9 } });
		let started = json!({ "channel_id": 4, "sequence": 3, "job_id": 7, "challenger": null });
		let summary = job_summary(
			"7",
			&[
				event("JobSubmitted", submitted, opened.clone()),
				event("AuditStarted", started, opened),
			],
		);
		assert_eq!(summary["model"], json!(9));
		assert_eq!(summary["audit"], json!({ "channel": 4, "sequence": 3, "challenger": null }));
	}
}
