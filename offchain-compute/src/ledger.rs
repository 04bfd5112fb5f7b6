//! The fast path's ledger: per channel, every receipt the worker signed and
//! every voucher the requester signed for them, durable before an answer
//! leaves and kept until the chain has settled them.
//!
//! A channel's **tip** is where its receipt chain stands: the last sequence
//! number signed, the chain's head there and the total the receipts up to
//! it cost. Each receipt is written with the tip it makes, in one
//! transaction, so the worker can check a voucher for any sequence it has
//! not settled yet and can build every settlement from here alone, whether
//! or not the chain was reachable when the answers were given.
//!
//! Each receipt is also kept with its input until the chain's challenge
//! window has passed after its settlement: a receipt sampled for an audit,
//! or challenged, is opened with its input, and one the worker cannot open
//! counts as wrong.
//!
//! It lives in the journal's SQLite file (the operator has one file to keep)
//! on a connection of its own, so answering requests never waits on the
//! daemon's job steps.

use polkadot_sdk::sp_core::H256;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use std::{
	path::Path,
	sync::{Arc, Mutex},
};
use tributary_primitives::channels::ChannelId;

use crate::journal::{durable, JournalError};

/// Where a channel's receipt chain stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tip {
	/// The last sequence number signed; 0 before the first receipt.
	pub sequence: u64,
	/// The receipt chain's head there.
	pub head: H256,
	/// What every receipt up to it costs.
	pub total: u128,
}

/// A voucher the requester signed, as kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredVoucher {
	/// Where the receipt chain stood when it was signed.
	pub tip: Tip,
	/// The requester's `MultiSignature`, SCALE-encoded.
	pub signature: Vec<u8>,
}

/// A receipt as the ledger takes and holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptRecord {
	/// Its channel.
	pub channel: ChannelId,
	/// The tip it makes.
	pub tip: Tip,
	/// The receipt, SCALE-encoded.
	pub receipt: Vec<u8>,
	/// The worker's `MultiSignature` over it.
	pub signature: Vec<u8>,
	/// The input it answered, kept for its audit.
	pub input: Vec<u8>,
	/// The nonce of the request it answered.
	pub nonce: u64,
	/// The requester's signature over that request.
	pub request: Vec<u8>,
	/// The answer's output.
	pub output: Vec<u8>,
	/// The newer voucher its request brought, if any (none read back).
	pub voucher: Option<StoredVoucher>,
}

/// The most receipts written in one transaction.
const MOST_PER_WRITE: usize = 256;

/// Writes receipts into the ledger from a thread of its own, all those that
/// arrived while the last write synced in one transaction: answers given at
/// once share a sync instead of queueing for one each.
#[derive(Clone)]
pub struct ReceiptWriter {
	queue: std::sync::mpsc::Sender<(ReceiptRecord, Written)>,
}

/// Told whether a receipt is in the ledger.
type Written = tokio::sync::oneshot::Sender<Result<(), JournalError>>;

impl ReceiptWriter {
	/// Starts the writer on `ledger`.
	pub fn start(ledger: Arc<Mutex<Ledger>>) -> Self {
		let (queue, waiting) = std::sync::mpsc::channel::<(ReceiptRecord, Written)>();
		std::thread::Builder::new()
			.name("ledger-writer".into())
			.spawn(move || {
				while let Ok(first) = waiting.recv() {
					let mut batch = vec![first];
					while batch.len() < MOST_PER_WRITE {
						match waiting.try_recv() {
							Ok(next) => batch.push(next),
							Err(_) => break,
						}
					}
					let (records, told): (Vec<_>, Vec<_>) = batch.into_iter().unzip();
					let written = match ledger.lock() {
						Ok(mut ledger) => ledger.record_receipts(&records),
						Err(_) => {
							Err(JournalError::Corrupt("the ledger's lock is poisoned".into()))
						}
					};
					if let Err(e) = &written {
						tracing::error!(error = %e, receipts = records.len(), "receipts not written");
					}
					for tell in told {
						let _ = tell.send(
							written
								.as_ref()
								.map(drop)
								.map_err(|e| JournalError::Corrupt(e.to_string())),
						);
					}
				}
			})
			.expect("spawning the ledger's writer");
		ReceiptWriter { queue }
	}

	/// Writes `record`; resolves once it is synced.
	pub async fn write(&self, record: ReceiptRecord) -> Result<(), JournalError> {
		let (tell, told) = tokio::sync::oneshot::channel();
		let gone = || JournalError::Corrupt("the ledger's writer stopped".into());
		self.queue.send((record, tell)).map_err(|_| gone())?;
		told.await.map_err(|_| gone())?
	}
}

/// The ledger: one connection to the journal's file.
pub struct Ledger {
	db: Connection,
}

impl Ledger {
	/// Opens the ledger in the journal's file at `path`, creating its tables.
	pub fn open(path: &Path) -> Result<Self, JournalError> {
		let db = durable(path)?;
		db.execute_batch(
			"CREATE TABLE IF NOT EXISTS channel_tips (
				channel INTEGER PRIMARY KEY,
				sequence INTEGER NOT NULL,
				head BLOB NOT NULL,
				total TEXT NOT NULL,
				nonce INTEGER NOT NULL DEFAULT 0
			);
			CREATE TABLE IF NOT EXISTS receipts (
				channel INTEGER NOT NULL,
				sequence INTEGER NOT NULL,
				receipt BLOB NOT NULL,
				signature BLOB NOT NULL,
				head BLOB NOT NULL,
				total TEXT NOT NULL,
				nonce INTEGER,
				request BLOB,
				output BLOB,
				PRIMARY KEY (channel, sequence)
			);
			CREATE TABLE IF NOT EXISTS vouchers (
				channel INTEGER NOT NULL,
				sequence INTEGER NOT NULL,
				head BLOB NOT NULL,
				total TEXT NOT NULL,
				signature BLOB NOT NULL,
				PRIMARY KEY (channel, sequence)
			);
			CREATE TABLE IF NOT EXISTS audit_copies (
				channel INTEGER NOT NULL,
				sequence INTEGER NOT NULL,
				receipt BLOB NOT NULL,
				input BLOB NOT NULL,
				settled_at INTEGER,
				PRIMARY KEY (channel, sequence)
			);",
		)?;
		// Ledgers written before requests were signed lack these; their
		// receipts cannot be handed back to a requester that lost them.
		for (table, column, declared) in [
			("channel_tips", "nonce", "INTEGER NOT NULL DEFAULT 0"),
			("receipts", "nonce", "INTEGER"),
			("receipts", "request", "BLOB"),
			("receipts", "output", "BLOB"),
		] {
			let present = db
				.prepare("SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2")?
				.exists(params![table, column])?;
			if !present {
				db.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {declared}"))?;
			}
		}
		Ok(Ledger { db })
	}

	/// The highest request nonce answered on `channel`; 0 before the first.
	pub fn nonce(&self, channel: ChannelId) -> Result<u64, JournalError> {
		let nonce: Option<i64> = self
			.db
			.query_row(
				"SELECT nonce FROM channel_tips WHERE channel = ?1",
				params![channel as i64],
				|r| r.get(0),
			)
			.optional()?;
		Ok(nonce.unwrap_or(0) as u64)
	}

	/// Where `channel`'s receipt chain stands; the empty tip before its
	/// first receipt.
	pub fn tip(&self, channel: ChannelId) -> Result<Tip, JournalError> {
		self.db
			.query_row(
				"SELECT sequence, head, total FROM channel_tips WHERE channel = ?1",
				params![channel as i64],
				tip_row,
			)
			.optional()?
			.transpose()
			.map(Option::unwrap_or_default)
	}

	/// Where `channel`'s receipt chain stood at `sequence`, if the ledger
	/// still holds that receipt (or `sequence` is 0, before the first).
	pub fn tip_at(&self, channel: ChannelId, sequence: u64) -> Result<Option<Tip>, JournalError> {
		if sequence == 0 {
			return Ok(Some(Tip::default()));
		}
		let current = self.tip(channel)?;
		if current.sequence == sequence {
			return Ok(Some(current));
		}
		self.db
			.query_row(
				"SELECT sequence, head, total FROM receipts WHERE channel = ?1 AND sequence = ?2",
				params![channel as i64, sequence as i64],
				tip_row,
			)
			.optional()?
			.transpose()
	}

	/// The answers after receipt `after` on `channel`, at most `most`, in
	/// order: what a requester that lost them asks for again. Receipts
	/// written before requests were signed, and settled ones, are not held.
	pub fn answers_after(
		&self,
		channel: ChannelId,
		after: u64,
		most: u32,
	) -> Result<Vec<ReceiptRecord>, JournalError> {
		let mut stmt = self.db.prepare(
			"SELECT r.sequence, r.head, r.total, r.receipt, r.signature, r.nonce, r.request,
			        r.output, a.input
			 FROM receipts r JOIN audit_copies a ON a.channel = r.channel AND a.sequence = r.sequence
			 WHERE r.channel = ?1 AND r.sequence > ?2 AND r.request IS NOT NULL
			 ORDER BY r.sequence LIMIT ?3",
		)?;
		let rows = stmt.query_map(params![channel as i64, after as i64, most], |r| {
			Ok((
				tip_row(r)?,
				r.get::<_, Vec<u8>>(3)?,
				r.get::<_, Vec<u8>>(4)?,
				r.get::<_, i64>(5)?,
				r.get::<_, Vec<u8>>(6)?,
				r.get::<_, Vec<u8>>(7)?,
				r.get::<_, Vec<u8>>(8)?,
			))
		})?;
		let mut answers = Vec::new();
		for row in rows {
			let (tip, receipt, signature, nonce, request, output, input) = row?;
			answers.push(ReceiptRecord {
				channel,
				tip: tip?,
				receipt,
				signature,
				input,
				nonce: nonce as u64,
				request,
				output,
				voucher: None,
			});
		}
		Ok(answers)
	}

	/// Records signed receipts, each with the tip it makes (which must
	/// follow its channel's tip by one) and the voucher its request brought,
	/// in one transaction: one sync for the lot.
	pub fn record_receipts(&mut self, records: &[ReceiptRecord]) -> Result<(), JournalError> {
		// Write-locked from the start: a read upgraded to a write would fail
		// at once, not wait, when the daemon wrote to the journal meanwhile.
		let tx = self.db.transaction_with_behavior(TransactionBehavior::Immediate)?;
		for ReceiptRecord {
			channel,
			tip,
			receipt,
			signature,
			input,
			nonce,
			request,
			output,
			voucher,
		} in records
		{
			let before: Option<i64> = tx
				.query_row(
					"SELECT sequence FROM channel_tips WHERE channel = ?1",
					params![*channel as i64],
					|r| r.get(0),
				)
				.optional()?;
			if before.unwrap_or(0) as u64 + 1 != tip.sequence {
				return Err(JournalError::Corrupt(format!(
					"receipt {} of channel {channel} does not follow its tip",
					tip.sequence
				)));
			}
			tx.execute(
				"INSERT INTO receipts
				 (channel, sequence, receipt, signature, head, total, nonce, request, output)
				 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
				params![
					*channel as i64,
					tip.sequence as i64,
					receipt,
					signature,
					tip.head.as_bytes(),
					tip.total.to_string(),
					*nonce as i64,
					request,
					output
				],
			)?;
			tx.execute(
				"INSERT OR REPLACE INTO audit_copies (channel, sequence, receipt, input)
				 VALUES (?1, ?2, ?3, ?4)",
				params![*channel as i64, tip.sequence as i64, receipt, input],
			)?;
			set_tip(&tx, *channel, *tip)?;
			tx.execute(
				"UPDATE channel_tips SET nonce = MAX(nonce, ?2) WHERE channel = ?1",
				params![*channel as i64, *nonce as i64],
			)?;
			if let Some(voucher) = voucher {
				insert_voucher(&tx, *channel, voucher)?;
			}
		}
		tx.commit()?;
		Ok(())
	}

	/// Keeps `nonce` as the highest request nonce admitted on `channel`
	/// (receipts keep theirs as they are written): for a channel that leaves
	/// memory after requests that wrote none, such as answers handed back.
	pub fn record_nonce(&self, channel: ChannelId, nonce: u64) -> Result<(), JournalError> {
		self.db.execute(
			"INSERT INTO channel_tips (channel, sequence, head, total, nonce)
			 VALUES (?1, 0, ?2, '0', ?3)
			 ON CONFLICT (channel) DO UPDATE SET nonce = MAX(nonce, excluded.nonce)",
			params![channel as i64, [0u8; 32].as_slice(), nonce as i64],
		)?;
		Ok(())
	}

	/// Moves `channel`'s tip to `tip`, which the chain settled: for a ledger
	/// that lost what came before.
	pub fn reset_tip(&self, channel: ChannelId, tip: Tip) -> Result<(), JournalError> {
		set_tip(&self.db, channel, tip)
	}

	/// Keeps a voucher; one already kept for its sequence stays.
	pub fn record_voucher(
		&self,
		channel: ChannelId,
		voucher: &StoredVoucher,
	) -> Result<(), JournalError> {
		insert_voucher(&self.db, channel, voucher)
	}

	/// The voucher of `channel` with the highest sequence up to `sequence`.
	pub fn voucher_up_to(
		&self,
		channel: ChannelId,
		sequence: u64,
	) -> Result<Option<StoredVoucher>, JournalError> {
		self.db
			.query_row(
				"SELECT sequence, head, total, signature FROM vouchers
				 WHERE channel = ?1 AND sequence <= ?2 ORDER BY sequence DESC LIMIT 1",
				params![channel as i64, sequence.min(i64::MAX as u64) as i64],
				|r| Ok((tip_row(r)?, r.get::<_, Vec<u8>>(3)?)),
			)
			.optional()?
			.map(|(tip, signature)| Ok(StoredVoucher { tip: tip?, signature }))
			.transpose()
	}

	/// The channels holding a voucher past `settled(channel)`, each with the
	/// highest such sequence.
	pub fn unsettled(&self) -> Result<Vec<(ChannelId, u64)>, JournalError> {
		let mut stmt = self.db.prepare(
			"SELECT channel, MAX(sequence) FROM vouchers GROUP BY channel ORDER BY channel",
		)?;
		let rows =
			stmt.query_map([], |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)))?;
		Ok(rows.collect::<Result<_, _>>()?)
	}

	/// The SCALE-encoded receipts of `channel` from `from` to `to`, in order.
	pub fn receipts(
		&self,
		channel: ChannelId,
		from: u64,
		to: u64,
	) -> Result<Vec<Vec<u8>>, JournalError> {
		let mut stmt = self.db.prepare(
			"SELECT receipt FROM receipts WHERE channel = ?1 AND sequence BETWEEN ?2 AND ?3
			 ORDER BY sequence",
		)?;
		let rows = stmt.query_map(params![channel as i64, from as i64, to as i64], |r| r.get(0))?;
		let receipts: Vec<Vec<u8>> = rows.collect::<Result<_, _>>()?;
		if receipts.len() as u64 != (to + 1).saturating_sub(from) {
			return Err(JournalError::Corrupt(format!(
				"channel {channel} lacks receipts between {from} and {to}"
			)));
		}
		Ok(receipts)
	}

	/// Forgets what the finalized chain has settled on `channel`, up to
	/// `sequence`, as of block `block`; the tip stays, and so do the
	/// receipts' audit copies, until [`Self::prune_audit_copies`].
	pub fn forget_settled(
		&self,
		channel: ChannelId,
		sequence: u64,
		block: u32,
	) -> Result<(), JournalError> {
		let sequence = sequence.min(i64::MAX as u64) as i64;
		for table in ["receipts", "vouchers"] {
			self.db.execute(
				&format!("DELETE FROM {table} WHERE channel = ?1 AND sequence <= ?2"),
				params![channel as i64, sequence],
			)?;
		}
		self.db.execute(
			"UPDATE audit_copies SET settled_at = ?3
			 WHERE channel = ?1 AND sequence <= ?2 AND settled_at IS NULL",
			params![channel as i64, sequence, block],
		)?;
		Ok(())
	}

	/// The receipt `sequence` of `channel` and its input, SCALE-encoded and
	/// raw, for its audit.
	pub fn audit_copy(
		&self,
		channel: ChannelId,
		sequence: u64,
	) -> Result<Option<(Vec<u8>, Vec<u8>)>, JournalError> {
		Ok(self
			.db
			.query_row(
				"SELECT receipt, input FROM audit_copies WHERE channel = ?1 AND sequence = ?2",
				params![channel as i64, sequence as i64],
				|r| Ok((r.get(0)?, r.get(1)?)),
			)
			.optional()?)
	}

	/// Forgets the audit copies of receipts settled before block `before`:
	/// their challenge window has closed.
	pub fn prune_audit_copies(&self, before: u32) -> Result<usize, JournalError> {
		Ok(self.db.execute("DELETE FROM audit_copies WHERE settled_at < ?1", params![before])?)
	}
}

fn insert_voucher(
	db: &Connection,
	channel: ChannelId,
	voucher: &StoredVoucher,
) -> Result<(), JournalError> {
	db.execute(
		"INSERT OR IGNORE INTO vouchers (channel, sequence, head, total, signature)
		 VALUES (?1, ?2, ?3, ?4, ?5)",
		params![
			channel as i64,
			voucher.tip.sequence as i64,
			voucher.tip.head.as_bytes(),
			voucher.tip.total.to_string(),
			voucher.signature
		],
	)?;
	Ok(())
}

fn set_tip(db: &Connection, channel: ChannelId, tip: Tip) -> Result<(), JournalError> {
	db.execute(
		"INSERT INTO channel_tips (channel, sequence, head, total) VALUES (?1, ?2, ?3, ?4)
		 ON CONFLICT (channel) DO UPDATE
		 SET sequence = excluded.sequence, head = excluded.head, total = excluded.total",
		params![channel as i64, tip.sequence as i64, tip.head.as_bytes(), tip.total.to_string()],
	)?;
	Ok(())
}

fn tip_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Tip, JournalError>> {
	let sequence = r.get::<_, i64>(0)? as u64;
	let head: Vec<u8> = r.get(1)?;
	let total: String = r.get(2)?;
	Ok((|| {
		let head = <[u8; 32]>::try_from(head.as_slice())
			.map_err(|_| JournalError::Corrupt("a receipt chain head is not 32 bytes".into()))?;
		let total = total
			.parse()
			.map_err(|_| JournalError::Corrupt(format!("a total is not a number: {total}")))?;
		Ok(Tip { sequence, head: H256(head), total })
	})())
}

#[cfg(test)]
mod tests {
	use super::*;

	fn tip(sequence: u64) -> Tip {
		Tip { sequence, head: H256::repeat_byte(sequence as u8), total: 10 * u128::from(sequence) }
	}

	fn record(channel: ChannelId, sequence: u64, receipt: &[u8]) -> ReceiptRecord {
		ReceiptRecord {
			channel,
			tip: tip(sequence),
			receipt: receipt.to_vec(),
			signature: b"s".to_vec(),
			input: format!("input {sequence}").into_bytes(),
			nonce: 100 * sequence,
			request: format!("request {sequence}").into_bytes(),
			output: format!("output {sequence}").into_bytes(),
			voucher: None,
		}
	}

	fn ledger() -> (tempfile::TempDir, Ledger) {
		let dir = tempfile::tempdir().unwrap();
		let ledger = Ledger::open(&dir.path().join("journal.sqlite")).unwrap();
		(dir, ledger)
	}

	#[test]
	fn the_last_request_nonce_survives_reopening_and_a_reset_tip() {
		let (dir, mut ledger) = ledger();
		assert_eq!(ledger.nonce(7).unwrap(), 0);
		ledger.record_receipts(&[record(7, 1, b"r1"), record(7, 2, b"r2")]).unwrap();
		ledger.record_receipts(&[record(8, 1, b"r1")]).unwrap();
		assert_eq!((ledger.nonce(7).unwrap(), ledger.nonce(8).unwrap()), (200, 100));
		ledger.reset_tip(7, tip(5)).unwrap();
		assert_eq!(ledger.nonce(7).unwrap(), 200, "the chain's tip moves, the nonce stays");
		drop(ledger);
		let ledger = Ledger::open(&dir.path().join("journal.sqlite")).unwrap();
		assert_eq!((ledger.tip(7).unwrap(), ledger.nonce(7).unwrap()), (tip(5), 200));
	}

	#[test]
	fn answers_are_handed_back_in_order_after_a_sequence_up_to_a_bound() {
		let (_dir, mut ledger) = ledger();
		ledger
			.record_receipts(&[record(7, 1, b"r1"), record(7, 2, b"r2"), record(7, 3, b"r3")])
			.unwrap();
		ledger.record_receipts(&[record(8, 1, b"other")]).unwrap();
		let answers = ledger.answers_after(7, 1, 10).unwrap();
		assert_eq!(answers.iter().map(|a| a.tip).collect::<Vec<_>>(), vec![tip(2), tip(3)]);
		let second = &answers[0];
		assert_eq!((second.receipt.as_slice(), second.nonce), (&b"r2"[..], 200));
		assert_eq!(second.request, b"request 2");
		assert_eq!(
			(second.input.as_slice(), second.output.as_slice()),
			(&b"input 2"[..], &b"output 2"[..])
		);
		assert_eq!(ledger.answers_after(7, 0, 2).unwrap().len(), 2, "bounded");
		assert!(ledger.answers_after(7, 3, 10).unwrap().is_empty());
	}

	#[test]
	fn a_ledger_from_before_signed_requests_gains_their_columns() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("journal.sqlite");
		Connection::open(&path)
			.unwrap()
			.execute_batch(
				"CREATE TABLE channel_tips (channel INTEGER PRIMARY KEY, sequence INTEGER NOT NULL,
				 head BLOB NOT NULL, total TEXT NOT NULL);
				 CREATE TABLE receipts (channel INTEGER NOT NULL, sequence INTEGER NOT NULL,
				 receipt BLOB NOT NULL, signature BLOB NOT NULL, head BLOB NOT NULL,
				 total TEXT NOT NULL, PRIMARY KEY (channel, sequence));
				 INSERT INTO channel_tips VALUES (7, 0, zeroblob(32), '0');",
			)
			.unwrap();
		let mut ledger = Ledger::open(&path).unwrap();
		assert_eq!(ledger.nonce(7).unwrap(), 0);
		ledger.record_receipts(&[record(7, 1, b"r1")]).unwrap();
		assert_eq!((ledger.tip(7).unwrap(), ledger.nonce(7).unwrap()), (tip(1), 100));
		assert_eq!(ledger.answers_after(7, 0, 10).unwrap().len(), 1);
	}

	#[test]
	fn receipts_follow_the_tip_one_by_one_and_survive_reopening() {
		let (dir, mut ledger) = ledger();
		assert_eq!(ledger.tip(7).unwrap(), Tip::default());
		ledger.record_receipts(&[record(7, 1, b"r1"), record(7, 2, b"r2")]).unwrap();
		assert!(ledger.record_receipts(&[record(7, 2, b"again")]).is_err(), "no sequence twice");
		assert!(ledger.record_receipts(&[record(7, 4, b"gap")]).is_err(), "no gap");
		drop(ledger);
		let ledger = Ledger::open(&dir.path().join("journal.sqlite")).unwrap();
		assert_eq!(ledger.tip(7).unwrap(), tip(2));
		assert_eq!(ledger.tip_at(7, 1).unwrap(), Some(tip(1)));
		assert_eq!(ledger.tip_at(7, 0).unwrap(), Some(Tip::default()));
		assert_eq!(ledger.tip_at(7, 3).unwrap(), None);
		assert_eq!(ledger.receipts(7, 1, 2).unwrap(), vec![b"r1".to_vec(), b"r2".to_vec()]);
		assert!(ledger.receipts(7, 1, 3).is_err(), "a missing receipt is an error");
	}

	#[tokio::test]
	async fn receipts_written_at_once_share_a_transaction_and_a_failed_one_fails_its_batch() {
		let (dir, ledger) = ledger();
		let ledger = Arc::new(Mutex::new(ledger));
		let writer = ReceiptWriter::start(ledger.clone());
		let written = futures::future::join_all(
			(1..=20).map(|n| writer.write(record(1 + n % 2, n.div_ceil(2), b"r"))),
		)
		.await;
		assert!(written.iter().all(Result::is_ok), "{written:?}");
		assert_eq!(ledger.lock().unwrap().tip(1).unwrap(), tip(10));
		assert_eq!(ledger.lock().unwrap().tip(2).unwrap(), tip(10));
		assert!(writer.write(record(1, 12, b"gap")).await.is_err(), "out of turn: refused");
		assert_eq!(ledger.lock().unwrap().tip(1).unwrap(), tip(10), "and nothing written");
		drop(dir);
	}

	#[test]
	fn settlement_takes_the_highest_voucher_in_reach_and_forgets_what_settled() {
		let (_dir, mut ledger) = ledger();
		for n in 1..=5 {
			ledger.record_receipts(&[record(3, n, b"r")]).unwrap();
		}
		for n in [2, 4] {
			let voucher = StoredVoucher { tip: tip(n), signature: vec![n as u8] };
			ledger.record_voucher(3, &voucher).unwrap();
		}
		assert_eq!(ledger.unsettled().unwrap(), vec![(3, 4)]);
		assert_eq!(ledger.voucher_up_to(3, 3).unwrap().map(|v| v.tip), Some(tip(2)));
		assert_eq!(ledger.voucher_up_to(3, 1).unwrap(), None);
		ledger.forget_settled(3, 2, 40).unwrap();
		assert_eq!(ledger.voucher_up_to(3, 3).unwrap(), None);
		assert_eq!(ledger.receipts(3, 3, 5).unwrap().len(), 3);
		assert_eq!(ledger.tip(3).unwrap(), tip(5), "the tip outlives what settled");
		ledger.forget_settled(3, 5, 50).unwrap();
		assert_eq!(ledger.unsettled().unwrap(), vec![]);
		assert_eq!(ledger.tip_at(3, 5).unwrap(), Some(tip(5)));
	}

	#[test]
	fn a_settled_receipt_stays_open_to_its_audit_until_its_window_closes() {
		let (_dir, mut ledger) = ledger();
		for n in 1..=3 {
			ledger.record_receipts(&[record(3, n, format!("r{n}").as_bytes())]).unwrap();
		}
		ledger.forget_settled(3, 2, 40).unwrap();
		assert_eq!(ledger.audit_copy(3, 2).unwrap(), Some((b"r2".to_vec(), b"input 2".to_vec())));
		assert_eq!(ledger.prune_audit_copies(40).unwrap(), 0, "settled at 40: kept");
		// Settled again later (after a restart, say): the first block counts.
		ledger.forget_settled(3, 3, 45).unwrap();
		assert_eq!(ledger.prune_audit_copies(41).unwrap(), 2);
		assert_eq!(ledger.audit_copy(3, 1).unwrap(), None);
		assert!(ledger.audit_copy(3, 3).unwrap().is_some(), "settled at 45");
		assert_eq!(ledger.audit_copy(3, 9).unwrap(), None);
	}
}
