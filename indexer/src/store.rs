//! The database: PostgreSQL, its schema made by the migrations in
//! `indexer/migrations` (applied by refinery at start, each once).
//!
//! A block is written in one transaction together with the cursor, so after
//! a crash at any moment the database holds every block up to the cursor
//! and nothing past it: indexing resumes at the next block, with no gap and
//! nothing counted twice.

use crate::source::{Balances, IndexedBlock};
use tokio_postgres::{Client, NoTls};

mod embedded {
	refinery::embed_migrations!("migrations");
}

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
	/// PostgreSQL refused or failed.
	#[error("PostgreSQL: {0}")]
	Postgres(#[from] tokio_postgres::Error),
	/// A migration failed.
	#[error("migrating the schema: {0}")]
	Migration(#[from] refinery::Error),
	/// The block does not follow the last one written: the database holds
	/// another chain, or another indexer writes to it.
	#[error(
		"block {number}'s parent is {parent:?}, but the database's block {previous} is {held:?}: \
		 it indexes another chain"
	)]
	NotNext {
		/// The block.
		number: u64,
		/// Its parent's hash.
		parent: String,
		/// The last block written.
		previous: u64,
		/// Its hash.
		held: String,
	},
}

/// The last block written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
	/// Its number.
	pub number: u64,
	/// Its hash.
	pub hash: [u8; 32],
}

/// A connection to the database.
pub struct Store {
	client: Client,
}

impl Store {
	/// Connects to `url` (`postgres://…`) and brings the schema up to date.
	pub async fn connect(url: &str) -> Result<Self, StoreError> {
		let (mut client, connection) = tokio_postgres::connect(url, NoTls).await?;
		tokio::spawn(async move {
			if let Err(e) = connection.await {
				tracing::error!(error = %e, "the database connection failed");
			}
		});
		let report = embedded::migrations::runner().run_async(&mut client).await?;
		for migration in report.applied_migrations() {
			tracing::info!(%migration, "schema migrated");
		}
		Ok(Store { client })
	}

	/// The client, for queries.
	pub fn client(&self) -> &Client {
		&self.client
	}

	/// The client alone, for a reader that never writes (the query API).
	pub fn into_client(self) -> Client {
		self.client
	}

	/// The last block written, if any.
	pub async fn cursor(&self) -> Result<Option<Cursor>, StoreError> {
		let row = self.client.query_opt("SELECT block_number, block_hash FROM cursor", &[]).await?;
		Ok(row.map(|row| Cursor {
			number: row.get::<_, i64>(0) as u64,
			hash: row.get::<_, Vec<u8>>(1).try_into().unwrap_or([0; 32]),
		}))
	}

	/// Whether the genesis state's balances are written.
	pub async fn has_genesis(&self) -> Result<bool, StoreError> {
		let row = self
			.client
			.query_one(
				"SELECT EXISTS (SELECT 1 FROM issuance_changes WHERE event_index IS NULL)",
				&[],
			)
			.await?;
		Ok(row.get(0))
	}

	/// Writes the genesis state's balances, the first change of each
	/// account's balance and of the total issuance, in one transaction.
	pub async fn write_genesis(&mut self, genesis: &Balances) -> Result<(), StoreError> {
		let tx = self.client.transaction().await?;
		let insert = tx
			.prepare(
				"INSERT INTO balance_changes (block_number, account, delta)
				 VALUES (0, $1, $2::TEXT::NUMERIC)",
			)
			.await?;
		for (account, balance) in &genesis.accounts {
			tx.execute(&insert, &[account, &balance.to_string()]).await?;
		}
		tx.execute(
			"INSERT INTO issuance_changes (block_number, delta) VALUES (0, $1::TEXT::NUMERIC)",
			&[&genesis.issuance.to_string()],
		)
		.await?;
		tx.commit().await?;
		Ok(())
	}

	/// Writes `block` and moves the cursor to it, in one transaction. The
	/// block must be the one after the cursor, its child.
	pub async fn write(&mut self, block: &IndexedBlock) -> Result<(), StoreError> {
		let tx = self.client.transaction().await?;
		let previous =
			tx.query_opt("SELECT block_number, block_hash FROM cursor FOR UPDATE", &[]).await?;
		if let Some(row) = previous {
			let (number, hash): (i64, Vec<u8>) = (row.get(0), row.get(1));
			if number as u64 + 1 != block.number || hash != block.parent_hash.as_bytes() {
				return Err(StoreError::NotNext {
					number: block.number,
					parent: format!("{:?}", block.parent_hash),
					previous: number as u64,
					held: format!("0x{}", hex::encode(hash)),
				});
			}
		}
		let number = block.number as i64;
		tx.execute(
			"INSERT INTO blocks (number, hash, parent_hash, spec_version, timestamp_ms, extrinsics, events)
			 VALUES ($1, $2, $3, $4, $5, $6, $7)",
			&[
				&number,
				&block.hash.as_bytes(),
				&block.parent_hash.as_bytes(),
				&(block.spec_version as i32),
				&block.timestamp_ms.map(|t| t as i64),
				&(block.extrinsics.len() as i32),
				&(block.events.len() as i32),
			],
		)
		.await?;
		let insert_extrinsic = tx
			.prepare(
				"INSERT INTO extrinsics (block_number, index, hash, pallet, call, signer, success, fee, args)
				 VALUES ($1, $2, $3, $4, $5, $6, $7, $8::TEXT::NUMERIC, $9)",
			)
			.await?;
		for (index, x) in block.extrinsics.iter().enumerate() {
			tx.execute(
				&insert_extrinsic,
				&[
					&number,
					&(index as i32),
					&x.hash.as_bytes(),
					&x.pallet,
					&x.call,
					&x.signer.map(|s| format!("0x{}", hex::encode(s))),
					&x.success,
					&x.fee.map(|f| f.to_string()),
					&x.args,
				],
			)
			.await?;
		}
		let insert_event = tx
			.prepare(
				"INSERT INTO events (block_number, index, extrinsic_index, pallet, name, fields)
				 VALUES ($1, $2, $3, $4, $5, $6)",
			)
			.await?;
		for (index, e) in block.events.iter().enumerate() {
			tx.execute(
				&insert_event,
				&[
					&number,
					&(index as i32),
					&e.extrinsic.map(|i| i as i32),
					&e.pallet,
					&e.name,
					&e.fields,
				],
			)
			.await?;
		}
		// What the block's events mean for the `credits` and `market`
		// tables and the balances' changes (the functions of
		// `indexer/migrations/V3__…` and `V4__…`).
		tx.execute("SELECT index_credits($1), index_market($1), index_balances($1)", &[&number])
			.await?;
		tx.execute(
			"INSERT INTO cursor (block_number, block_hash) VALUES ($1, $2)
			 ON CONFLICT (id) DO UPDATE SET block_number = $1, block_hash = $2",
			&[&number, &block.hash.as_bytes()],
		)
		.await?;
		tx.commit().await?;
		Ok(())
	}
}
