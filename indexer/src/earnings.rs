//! Where the money went, from the `credits` table (one row per beneficiary
//! of each settlement) and the harvest and claim events:
//!
//! - `GET /api/accounts/{0x…}/earnings?before&limit`: an account's totals
//!   by source (as a worker, through each kind of payee, harvested from
//!   pools, and claimed) and its credits over time, newest first;
//! - `GET /api/contributions/{id}/earnings`: what a contribution earned,
//!   by the model whose answers named it, and harvested from its pool;
//! - `GET /api/models/{id}/earnings`: what its owner earned through a
//!   model (as the model that answered and as an ancestor), and what the
//!   contributions its answers named earned, most first;
//! - a job's credits, for `GET /api/jobs/{id}` ([`job_credits`]).
//!
//! Totals group over an account's, a contribution's or a model's rows
//! through their own indexes (`indexer/migrations/V3__credits.sql`); the
//! lists are paginated like the rest of the API.

use crate::api::{account_key, Answer, ApiError, Db, Page, MAX_LIMIT};
use axum::{
	extract::{Path, Query, State},
	routing::get,
	Json, Router,
};
use serde_json::{json, Value};
use tokio_postgres::Row;

/// The routes of this module.
pub fn routes() -> Router<Db> {
	Router::new()
		.route("/api/accounts/{account}/earnings", get(account))
		.route("/api/contributions/{id}/earnings", get(contribution))
		.route("/api/models/{id}/earnings", get(model))
}

const CREDIT_COLUMNS: &str = "c.block_number, b.timestamp_ms, c.job_id, c.channel_id, c.kind, \
	c.account, c.model_id, c.contribution_id, c.datanet_id, c.snapshot_id, c.amount::TEXT";

/// One credit as the API gives it.
fn credit_json(row: &Row) -> Value {
	json!({
		"block": row.get::<_, i64>(0),
		"timestampMs": row.get::<_, Option<i64>>(1),
		"job": row.get::<_, Option<i64>>(2),
		"channel": row.get::<_, Option<i64>>(3),
		"kind": row.get::<_, String>(4),
		"account": row.get::<_, Option<String>>(5),
		"model": row.get::<_, Option<i64>>(6),
		"contribution": row.get::<_, Option<i64>>(7),
		"datanet": row.get::<_, Option<i64>>(8),
		"snapshot": row.get::<_, Option<i64>>(9),
		"amount": row.get::<_, String>(10),
	})
}

/// `{name: amount}` from rows of a name and a decimal amount.
fn totals(rows: &[Row]) -> Value {
	Value::Object(
		rows.iter()
			.map(|row| (row.get::<_, String>(0), Value::String(row.get::<_, String>(1))))
			.collect(),
	)
}

/// Every credit of the settlement of job `job_id`, in the event's order.
pub(crate) async fn job_credits(db: &Db, job_id: i64) -> Result<Vec<Value>, ApiError> {
	let rows = db
		.query(
			&format!(
				"SELECT {CREDIT_COLUMNS} FROM credits c JOIN blocks b ON b.number = c.block_number
				  WHERE c.job_id = $1 ORDER BY c.block_number, c.event_index, c.position LIMIT $2"
			),
			&[&job_id, &MAX_CREDITS_OF_ONE],
		)
		.await?;
	Ok(rows.iter().map(credit_json).collect())
}

/// The most credits one settlement's answer lists: a job's are bounded by
/// its workers, attribution and lineage, far below this.
const MAX_CREDITS_OF_ONE: i64 = 1_000;

async fn account(
	State(db): State<Db>,
	Path(account): Path<String>,
	Query(page): Query<Page>,
) -> Answer {
	let account = account_key(&account)?;
	let (before, limit) = page.bounds()?;
	let by_kind = db
		.query(
			"SELECT kind, SUM(amount)::TEXT FROM credits WHERE account = $1 GROUP BY kind
			 UNION ALL
			 SELECT 'PoolHarvest', SUM((fields->>'amount')::NUMERIC)::TEXT FROM events
			  WHERE pallet = 'Rewards' AND name = 'PoolRewardsHarvested'
			    AND fields->>'contributor' = $1 HAVING COUNT(*) > 0
			 UNION ALL
			 SELECT 'Claimed', SUM((fields->>'amount')::NUMERIC)::TEXT FROM events
			  WHERE pallet = 'Rewards' AND name = 'RewardsClaimed'
			    AND fields->>'who' = $1 HAVING COUNT(*) > 0",
			&[&account],
		)
		.await?;
	let credits = db
		.query(
			&format!(
				"SELECT {CREDIT_COLUMNS} FROM credits c JOIN blocks b ON b.number = c.block_number
				  WHERE c.account = $1 AND c.block_number < $2
				  ORDER BY c.block_number DESC, c.event_index DESC, c.position DESC LIMIT $3"
			),
			&[&account, &before, &limit],
		)
		.await?;
	Ok(Json(json!({
		"account": account,
		"totals": totals(&by_kind),
		"credits": credits.iter().map(credit_json).collect::<Vec<_>>(),
	})))
}

async fn contribution(State(db): State<Db>, Path(id): Path<i64>) -> Answer {
	let by_model = db
		.query(
			"SELECT model_id, SUM(amount)::TEXT, MIN(account) FROM credits
			  WHERE contribution_id = $1 AND kind = 'Contribution'
			  GROUP BY model_id ORDER BY model_id LIMIT $2",
			&[&id, &MAX_LIMIT],
		)
		.await?;
	let harvested: Option<String> = db
		.query_one(
			"SELECT SUM((fields->>'amount')::NUMERIC)::TEXT FROM events
			  WHERE pallet = 'Rewards' AND name = 'PoolRewardsHarvested'
			    AND fields->>'contribution_id' = $1::BIGINT::TEXT",
			&[&id],
		)
		.await?
		.get(0);
	Ok(Json(json!({
		"contribution": id,
		"byModel": by_model
			.iter()
			.map(|row| json!({ "model": row.get::<_, i64>(0), "amount": row.get::<_, String>(1) }))
			.collect::<Vec<_>>(),
		"contributor": by_model.first().map(|row| row.get::<_, String>(2)),
		"harvested": harvested.unwrap_or_else(|| "0".into()),
	})))
}

async fn model(State(db): State<Db>, Path(id): Path<i64>) -> Answer {
	let owners = db
		.query(
			"SELECT account, SUM(amount)::TEXT FROM credits WHERE model_id = $1 AND kind = 'Model'
			  GROUP BY account ORDER BY account LIMIT $2",
			&[&id, &MAX_LIMIT],
		)
		.await?;
	let named = db
		.query(
			"SELECT contribution_id, SUM(amount)::TEXT FROM credits
			  WHERE model_id = $1 AND kind = 'Contribution'
			  GROUP BY contribution_id ORDER BY SUM(amount) DESC, contribution_id LIMIT $2",
			&[&id, &MAX_LIMIT],
		)
		.await?;
	Ok(Json(json!({
		"model": id,
		"owners": owners
			.iter()
			.map(|row| json!({ "account": row.get::<_, String>(0), "amount": row.get::<_, String>(1) }))
			.collect::<Vec<_>>(),
		"contributions": named
			.iter()
			.map(|row| json!({
				"contribution": row.get::<_, i64>(0),
				"amount": row.get::<_, String>(1),
			}))
			.collect::<Vec<_>>(),
	})))
}
