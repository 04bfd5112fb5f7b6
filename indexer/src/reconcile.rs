//! `reconcile`: the database checked against the chain, block by block:
//! every block up to the cursor is there once (no gap), is the chain's
//! canonical block of its number, and holds as many extrinsics and events
//! as the chain's, and nothing lies past the cursor. Then the money, at the
//! last block checked: what each account may claim, what each contribution
//! and each model has earned, summed from the indexed credits, harvests and
//! claims, against the rewards pallet's state at that block, and what each
//! worker has staked (registered and bonded, less withdrawn and slashed)
//! against the stake it holds; and every account's balance (the treasury's
//! among them) and the total issuance, each its genesis value plus the
//! indexed Balances events' changes, against the chain's. Each difference
//! is printed; none means the history is whole and adds up.

use crate::{
	json::amount,
	source::{Source, SourceError},
	store::{Store, StoreError},
};
use futures::StreamExt;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

/// What the indexed history says each account may claim at block `$1`:
/// every credit, plus every pool harvest, less every claim.
const CLAIMABLE: &str = "
	SELECT account, SUM(amount)::TEXT FROM (
	    SELECT account, amount FROM credits WHERE account IS NOT NULL AND block_number <= $1
	    UNION ALL
	    SELECT fields->>'contributor', (fields->>'amount')::NUMERIC FROM events
	     WHERE pallet = 'Rewards' AND name = 'PoolRewardsHarvested' AND block_number <= $1
	    UNION ALL
	    SELECT fields->>'who', -(fields->>'amount')::NUMERIC FROM events
	     WHERE pallet = 'Rewards' AND name = 'RewardsClaimed' AND block_number <= $1
	) owed GROUP BY account";

/// What each contribution has been credited at block `$1`: by name in
/// attributions, and harvested from its pool.
const CONTRIBUTION_EARNINGS: &str = "
	SELECT contribution, SUM(amount)::TEXT FROM (
	    SELECT contribution_id::TEXT AS contribution, amount FROM credits
	     WHERE kind = 'Contribution' AND block_number <= $1
	    UNION ALL
	    SELECT fields->>'contribution_id', (fields->>'amount')::NUMERIC FROM events
	     WHERE pallet = 'Rewards' AND name = 'PoolRewardsHarvested' AND block_number <= $1
	) earned GROUP BY contribution";

/// What each worker holds staked at block `$1`: its stake at registration
/// and every bond, less what it withdrew and what was slashed (unbonding
/// stake stays held until withdrawn).
const WORKER_STAKES: &str = "
	SELECT fields->>'worker',
	       SUM(CASE name WHEN 'WorkerRegistered' THEN (fields->>'stake')::NUMERIC
	                     WHEN 'Bonded' THEN (fields->>'amount')::NUMERIC
	                     ELSE -(fields->>'amount')::NUMERIC END)::TEXT
	  FROM events
	 WHERE pallet = 'WorkerStaking' AND name IN ('WorkerRegistered', 'Bonded', 'Withdrawn', 'Slashed')
	   AND block_number <= $1
	 GROUP BY 1";

/// What each model's owner has earned through it at block `$1`.
const MODEL_EARNINGS: &str = "
	SELECT model_id::TEXT, SUM(amount)::TEXT FROM credits
	 WHERE kind = 'Model' AND block_number <= $1 GROUP BY model_id";

/// Each account's balance at block `$1`: its genesis balance and every
/// change since (`balance_changes`).
const BALANCES: &str = "
	SELECT account, SUM(delta)::TEXT FROM balance_changes
	 WHERE block_number <= $1 GROUP BY account";

/// The total issuance at block `$1`: at genesis and every change since.
const ISSUANCE: &str = "
	SELECT 'issued', COALESCE(SUM(delta), 0)::TEXT FROM issuance_changes WHERE block_number <= $1";

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
	check_blocks(source, store, from, to, &mut differences).await?;
	let checks: [StorageCheck; 4] = [
		("claimable", "Rewards", "Claimable", CLAIMABLE, amount),
		("contribution earned", "Rewards", "ContributionEarnings", CONTRIBUTION_EARNINGS, amount),
		("earned through model", "Rewards", "ModelEarnings", MODEL_EARNINGS, amount),
		("stake held by worker", "WorkerStaking", "Workers", WORKER_STAKES, held),
	];
	for (what, pallet, entry, query, value) in checks {
		let chain = source
			.map_at(to, pallet, entry)
			.await?
			.iter()
			.map(|(key, json)| (key.clone(), value(json)))
			.collect();
		differences.extend(compare_amounts(what, to, &chain, &summed(store, query, to).await?));
	}
	if !store.has_genesis().await? {
		differences.push("the genesis state's balances are not indexed".into());
	}
	let balances = source.balances_at(to).await?;
	let issued = BTreeMap::from([("issued".to_owned(), balances.issuance)]);
	for (what, chain, query) in
		[("balance of", &balances.accounts, BALANCES), ("currency", &issued, ISSUANCE)]
	{
		differences.extend(compare_amounts(what, to, chain, &summed(store, query, to).await?));
	}
	Ok(differences)
}

/// A storage map checked against the database: what its differences are
/// called, its pallet and entry, the query that sums the database's side
/// (see [`summed`]), and how one of its values reads as an amount.
type StorageCheck = (&'static str, &'static str, &'static str, &'static str, fn(&Json) -> u128);

/// The rows of `query`, a key and an amount (as text) summed to block `to`.
async fn summed(
	store: &Store,
	query: &str,
	to: u64,
) -> Result<BTreeMap<String, String>, ReconcileError> {
	Ok(store
		.client()
		.query(query, &[&(to as i64)])
		.await?
		.iter()
		.map(|row| (row.get::<_, String>(0), row.get::<_, String>(1)))
		.collect())
}

/// A worker record's stake held: its active stake and every unbonding
/// chunk's amount.
fn held(record: &Json) -> u128 {
	fn chunks(json: &Json) -> u128 {
		match json {
			Json::Array(items) => items.iter().map(chunks).sum(),
			Json::Object(chunk) => chunk.get("amount").map_or(0, amount),
			_ => 0,
		}
	}
	amount(&record["stake"]) + chunks(&record["unbonding"])
}

/// The differences between the chain's `chain` amounts and the indexed
/// ones (decimal strings), key by key; a key the chain lacks holds zero
/// (a map's default), and so may a key the history sums to zero.
fn compare_amounts(
	what: &str,
	at: u64,
	chain: &BTreeMap<String, u128>,
	indexed: &BTreeMap<String, String>,
) -> Vec<String> {
	let keys: BTreeSet<&String> = chain.keys().chain(indexed.keys()).collect();
	keys.into_iter()
		.filter_map(|key| {
			let on_chain = chain.get(key).copied().unwrap_or_default().to_string();
			let summed = indexed.get(key).map_or("0", String::as_str);
			(on_chain != summed).then(|| {
				format!("{what} {key} at block {at}: the chain holds {on_chain}, the history sums to {summed}")
			})
		})
		.collect()
}

/// Checks each block of `from..=to` against the chain's.
async fn check_blocks(
	source: &Source,
	store: &Store,
	from: u64,
	to: u64,
	differences: &mut Vec<String>,
) -> Result<(), ReconcileError> {
	let db = store.client();
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
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_workers_stake_held_counts_its_unbonding_chunks() {
		let record = serde_json::json!({
			"stake": "30000000000000000000",
			"unbonding": [[{ "amount": 5, "unlock_at": 90 }, { "amount": "7", "unlock_at": 95 }]],
			"capacity": 4,
		});
		assert_eq!(held(&record), 30_000_000_000_000_000_012);
		assert_eq!(held(&serde_json::json!({ "stake": 3, "unbonding": [[]] })), 3);
	}

	#[test]
	fn amounts_differ_key_by_key_and_absent_keys_hold_zero() {
		let chain = BTreeMap::from([("0xaa".to_owned(), 5u128), ("0xbb".to_owned(), 7)]);
		let indexed = BTreeMap::from([
			("0xaa".to_owned(), "5".to_owned()),
			("0xbb".to_owned(), "6".to_owned()),
			("0xcc".to_owned(), "0".to_owned()),
			("0xdd".to_owned(), "3".to_owned()),
		]);
		assert_eq!(
			compare_amounts("claimable", 9, &chain, &indexed),
			[
				"claimable 0xbb at block 9: the chain holds 7, the history sums to 6",
				"claimable 0xdd at block 9: the chain holds 0, the history sums to 3",
			]
		);
	}
}
