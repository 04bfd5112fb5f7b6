//! `reconcile`: the database checked against the chain, block by block:
//! every block up to the cursor is there once (no gap), is the chain's
//! canonical block of its number, and holds as many extrinsics and events
//! as the chain's, and nothing lies past the cursor. Each difference is
//! printed; none means the history is whole.

use crate::{
	source::{Source, SourceError},
	store::{Store, StoreError},
};
use futures::StreamExt;

/// Why reconciling could not finish.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
	/// The database failed.
	#[error(transparent)]
	Store(#[from] StoreError),
	/// A query failed.
	#[error("PostgreSQL: {0}")]
	Postgres(#[from] tokio_postgres::Error),
	/// The node failed.
	#[error(transparent)]
	Source(#[from] SourceError),
}

/// Checks blocks `from..=to` (to the cursor by default) and returns every
/// difference found, described.
pub async fn reconcile(
	source: &Source,
	store: &Store,
	from: u64,
	to: Option<u64>,
) -> Result<Vec<String>, ReconcileError> {
	let mut differences = Vec::new();
	let Some(cursor) = store.cursor().await? else {
		return Ok(vec!["nothing is indexed yet".into()]);
	};
	let db = store.client();
	let past: i64 = db
		.query_one("SELECT COUNT(*) FROM blocks WHERE number > $1", &[&(cursor.number as i64)])
		.await?
		.get(0);
	if past > 0 {
		differences.push(format!("{past} blocks lie past the cursor at {}", cursor.number));
	}
	let to = to.unwrap_or(cursor.number).min(cursor.number);
	if from > to {
		return Ok(differences);
	}
	let mut blocks = std::pin::pin!(source.blocks(from..=to));
	while let Some((number, chain)) = blocks.next().await {
		let key = number as i64;
		let row = db
			.query_opt("SELECT hash, extrinsics, events FROM blocks WHERE number = $1", &[&key])
			.await?;
		let Some(row) = row else {
			differences.push(format!("block {number} is missing"));
			continue;
		};
		let Some(chain) = chain? else {
			differences.push(format!("block {number}: the node does not have it"));
			continue;
		};
		let hash: Vec<u8> = row.get(0);
		if hash != chain.hash.as_bytes() {
			differences.push(format!(
				"block {number}: indexed 0x{}, the chain's is {:?}",
				hex::encode(&hash),
				chain.hash
			));
		}
		let counts: (i32, i32) = (row.get(1), row.get(2));
		let rows: (i64, i64) = (
			db.query_one("SELECT COUNT(*) FROM extrinsics WHERE block_number = $1", &[&key])
				.await?
				.get(0),
			db.query_one("SELECT COUNT(*) FROM events WHERE block_number = $1", &[&key])
				.await?
				.get(0),
		);
		let chain_counts = (chain.extrinsics.len() as i64, chain.events.len() as i64);
		if (i64::from(counts.0), i64::from(counts.1)) != chain_counts || rows != chain_counts {
			differences.push(format!(
				"block {number}: {} extrinsics and {} events indexed ({} and {} rows), the chain has {} and {}",
				counts.0, counts.1, rows.0, rows.1, chain_counts.0, chain_counts.1
			));
		}
	}
	Ok(differences)
}
