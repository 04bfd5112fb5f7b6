//! The query API: REST over HTTP, JSON out, every list paginated by key
//! (`before`, newest first) and bounded (`limit`, at most [`MAX_LIMIT`]), so
//! that no request scans without bound.
//!
//! - `GET /api/status`: the last block indexed;
//! - `GET /api/blocks?before=N&limit=L`: blocks, newest first;
//! - `GET /api/blocks/{number}`: a block with its extrinsics and events;
//! - `GET /api/events?pallet=P&name=E&before=N&limit=L`: one kind of event
//!   (for example `WorkerStaking`/`Slashed`: who was slashed, how much, why),
//!   newest first;
//! - `GET /api/accounts/{0x…}/extrinsics?before=N&limit=L`: what an account
//!   signed, with outcome and fee;
//! - where the money went: an account's, a contribution's and a model's
//!   earnings ([`crate::earnings`]);
//! - the explorer's page and answers ([`crate::explorer`]).

use axum::{
	extract::{Path, Query, State},
	http::StatusCode,
	response::{IntoResponse, Response},
	routing::get,
	Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use tokio_postgres::{Client, Row};

/// The most rows one request returns.
pub const MAX_LIMIT: i64 = 100;
const DEFAULT_LIMIT: i64 = 20;

/// The database client the handlers share.
pub(crate) type Db = Arc<Client>;

/// The routes, the explorer's included, over a database client.
pub fn router(db: Db) -> Router {
	Router::new()
		.merge(crate::explorer::routes())
		.merge(crate::earnings::routes())
		.route("/api/status", get(status))
		.route("/api/blocks", get(blocks))
		.route("/api/blocks/{number}", get(block))
		.route("/api/events", get(events))
		.route("/api/accounts/{account}/extrinsics", get(account_extrinsics))
		.with_state(db)
}

/// A page's position and size.
#[derive(Deserialize)]
pub(crate) struct Page {
	/// Only rows of blocks before this one.
	before: Option<i64>,
	/// How many rows, at most [`MAX_LIMIT`].
	limit: Option<i64>,
}

impl Page {
	/// The block to read before, and how many rows.
	pub(crate) fn bounds(&self) -> Result<(i64, i64), ApiError> {
		let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
		if !(1..=MAX_LIMIT).contains(&limit) {
			return Err(ApiError::bad(format!("limit must be 1..={MAX_LIMIT}")));
		}
		Ok((self.before.unwrap_or(i64::MAX), limit))
	}
}

/// An error answer: a status and `{"error": "…"}`.
pub(crate) struct ApiError(StatusCode, String);

impl ApiError {
	pub(crate) fn new(status: StatusCode, message: String) -> Self {
		ApiError(status, message)
	}

	fn bad(message: String) -> Self {
		ApiError(StatusCode::BAD_REQUEST, message)
	}
}

impl From<tokio_postgres::Error> for ApiError {
	fn from(e: tokio_postgres::Error) -> Self {
		tracing::error!(error = %e, "query failed");
		ApiError(StatusCode::SERVICE_UNAVAILABLE, "the database failed".into())
	}
}

impl IntoResponse for ApiError {
	fn into_response(self) -> Response {
		(self.0, Json(json!({ "error": self.1 }))).into_response()
	}
}

pub(crate) type Answer = Result<Json<Value>, ApiError>;

/// An account as the database keys it (`0x` and 64 lowercase hex digits).
pub(crate) fn account_key(account: &str) -> Result<String, ApiError> {
	let account = account.to_lowercase();
	let valid = account.len() == 66
		&& account.starts_with("0x")
		&& account[2..].bytes().all(|b| b.is_ascii_hexdigit());
	if !valid {
		return Err(ApiError::bad("an account is 0x and 64 hex digits".into()));
	}
	Ok(account)
}

fn hex(bytes: Vec<u8>) -> String {
	format!("0x{}", hex::encode(bytes))
}

fn block_json(row: &Row) -> Value {
	json!({
		"number": row.get::<_, i64>("number"),
		"hash": hex(row.get("hash")),
		"parentHash": hex(row.get("parent_hash")),
		"specVersion": row.get::<_, i32>("spec_version"),
		"timestampMs": row.get::<_, Option<i64>>("timestamp_ms"),
		"extrinsics": row.get::<_, i32>("extrinsics"),
		"events": row.get::<_, i32>("events"),
	})
}

fn extrinsic_json(row: &Row) -> Value {
	json!({
		"block": row.get::<_, i64>("block_number"),
		"index": row.get::<_, i32>("index"),
		"hash": hex(row.get("hash")),
		"pallet": row.get::<_, String>("pallet"),
		"call": row.get::<_, String>("call"),
		"signer": row.get::<_, Option<String>>("signer"),
		"success": row.get::<_, bool>("success"),
		"fee": row.get::<_, Option<String>>("fee"),
		"args": row.get::<_, Value>("args"),
	})
}

fn event_json(row: &Row) -> Value {
	json!({
		"block": row.get::<_, i64>("block_number"),
		"index": row.get::<_, i32>("index"),
		"extrinsic": row.get::<_, Option<i32>>("extrinsic_index"),
		"pallet": row.get::<_, String>("pallet"),
		"name": row.get::<_, String>("name"),
		"fields": row.get::<_, Value>("fields"),
	})
}

const BLOCK_COLUMNS: &str =
	"number, hash, parent_hash, spec_version, timestamp_ms, extrinsics, events";
const EXTRINSIC_COLUMNS: &str =
	"block_number, index, hash, pallet, call, signer, success, fee::TEXT AS fee, args";
const EVENT_COLUMNS: &str = "block_number, index, extrinsic_index, pallet, name, fields";

async fn status(State(db): State<Db>) -> Answer {
	let row = db.query_opt("SELECT block_number FROM cursor", &[]).await?;
	Ok(Json(json!({ "indexed": row.map(|r| r.get::<_, i64>(0)) })))
}

async fn blocks(State(db): State<Db>, Query(page): Query<Page>) -> Answer {
	let (before, limit) = page.bounds()?;
	let rows = db
		.query(
			&format!("SELECT {BLOCK_COLUMNS} FROM blocks WHERE number < $1 ORDER BY number DESC LIMIT $2"),
			&[&before, &limit],
		)
		.await?;
	Ok(Json(Value::Array(rows.iter().map(block_json).collect())))
}

async fn block(State(db): State<Db>, Path(number): Path<i64>) -> Answer {
	let Some(row) = db
		.query_opt(&format!("SELECT {BLOCK_COLUMNS} FROM blocks WHERE number = $1"), &[&number])
		.await?
	else {
		return Err(ApiError(StatusCode::NOT_FOUND, format!("block {number} is not indexed")));
	};
	let extrinsics = db
		.query(
			&format!(
				"SELECT {EXTRINSIC_COLUMNS} FROM extrinsics WHERE block_number = $1 ORDER BY index"
			),
			&[&number],
		)
		.await?;
	let events = db
		.query(
			&format!("SELECT {EVENT_COLUMNS} FROM events WHERE block_number = $1 ORDER BY index"),
			&[&number],
		)
		.await?;
	let mut answer = block_json(&row);
	answer["extrinsics"] = Value::Array(extrinsics.iter().map(extrinsic_json).collect());
	answer["events"] = Value::Array(events.iter().map(event_json).collect());
	Ok(Json(answer))
}

/// Which events.
#[derive(Deserialize)]
struct EventFilter {
	pallet: String,
	name: String,
}

async fn events(
	State(db): State<Db>,
	Query(filter): Query<EventFilter>,
	Query(page): Query<Page>,
) -> Answer {
	let (before, limit) = page.bounds()?;
	let rows = db
		.query(
			&format!(
				"SELECT {EVENT_COLUMNS} FROM events WHERE pallet = $1 AND name = $2 AND block_number < $3
				 ORDER BY block_number DESC, index DESC LIMIT $4"
			),
			&[&filter.pallet, &filter.name, &before, &limit],
		)
		.await?;
	Ok(Json(Value::Array(rows.iter().map(event_json).collect())))
}

async fn account_extrinsics(
	State(db): State<Db>,
	Path(account): Path<String>,
	Query(page): Query<Page>,
) -> Answer {
	let (before, limit) = page.bounds()?;
	let account = account_key(&account)?;
	let rows = db
		.query(
			&format!(
				"SELECT {EXTRINSIC_COLUMNS} FROM extrinsics WHERE signer = $1 AND block_number < $2
				 ORDER BY block_number DESC, index DESC LIMIT $3"
			),
			&[&account, &before, &limit],
		)
		.await?;
	Ok(Json(Value::Array(rows.iter().map(extrinsic_json).collect())))
}
