//! The worker's journal: every job's state, result and salt, and every
//! transaction it signs, in SQLite, written before anything is submitted.
//!
//! A lost salt means a slash (the worker can no longer reveal what it
//! committed to), and a step submitted twice costs fees and trust, so the
//! journal is the worker's memory across crashes: a result and its salt are
//! stored before the commitment leaves, and each submission is stored with the
//! account nonce it is signed with before it is sent. A transaction can then
//! be sent again only under the same nonce, which the chain accepts once.
//!
//! The daemon and the operator's commands (`claim`, `set-capacity`, …) sign
//! for the same account, so they take nonces from this one journal, each in
//! a transaction of its own: two processes never sign with one nonce, and
//! whichever is running resends the other's call if the node loses it.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};
use std::{
	path::Path,
	sync::{Mutex, MutexGuard},
	time::Duration,
};
use tributary_primitives::{JobId, ModelId, Salt};

/// How long a journal write waits for another process's to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a job stands for this worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
	/// Assigned; the answer is not computed yet.
	Admitted,
	/// The answer, its attribution and the salt are stored; nothing sent.
	Computed,
	/// The commitment is signed and sent (see its submission's nonce).
	CommitSent,
	/// The chain holds the commitment.
	Committed,
	/// The reveal is signed and sent.
	RevealSent,
	/// The chain holds the reveal, or the job ended after it.
	Done,
	/// The model could not run the job (its files are missing or corrupt, it
	/// failed to load, panicked or ran too long): decline it.
	Failed,
	/// The decline is signed and sent.
	DeclineSent,
	/// The job went on without this worker (it was dropped, or the job
	/// ended first); nothing more will be sent for it.
	Abandoned,
}

impl JobState {
	/// Its name in the journal and in `status`.
	pub fn as_str(self) -> &'static str {
		match self {
			JobState::Admitted => "admitted",
			JobState::Computed => "computed",
			JobState::CommitSent => "commit_sent",
			JobState::Committed => "committed",
			JobState::RevealSent => "reveal_sent",
			JobState::Done => "done",
			JobState::Failed => "failed",
			JobState::DeclineSent => "decline_sent",
			JobState::Abandoned => "abandoned",
		}
	}

	fn parse(s: &str) -> Option<Self> {
		Some(match s {
			"admitted" => JobState::Admitted,
			"computed" => JobState::Computed,
			"commit_sent" => JobState::CommitSent,
			"committed" => JobState::Committed,
			"reveal_sent" => JobState::RevealSent,
			"done" => JobState::Done,
			"failed" => JobState::Failed,
			"decline_sent" => JobState::DeclineSent,
			"abandoned" => JobState::Abandoned,
			_ => return None,
		})
	}
}

/// What a transaction does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
	/// `compute.commit_result`.
	Commit,
	/// `compute.reveal_result`.
	Reveal,
	/// `compute.decline_job`.
	Decline,
	/// `worker_staking.serve_models`.
	Serve,
	/// `worker_staking.set_capacity`.
	SetCapacity,
	/// `rewards.claim`.
	Claim,
	/// `worker_staking.deregister`.
	Deregister,
	/// `channels.settle`.
	Settle,
	/// `channels.open_audit`.
	OpenAudit,
	/// `system.remark`, sent under a nonce whose step is no longer wanted so
	/// that the transactions after it are not stuck behind a gap.
	Filler,
}

/// A call for the worker's account, not for a job: journaled whole, so that
/// it can be sent again as it was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountCall {
	/// `worker_staking.serve_models(models)`.
	ServeModels(Vec<ModelId>),
	/// `worker_staking.set_capacity(capacity)`.
	SetCapacity(u32),
	/// `rewards.claim()`.
	Claim,
	/// `worker_staking.deregister()`.
	Deregister,
	/// `channels.settle(channel, voucher, signature, receipts)`.
	Settle(Settlement),
	/// `channels.open_audit(batch, sequence, receipt, input)`.
	OpenAudit(Opening),
}

/// A sampled receipt opened for its audit, journaled whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opening {
	/// The settlement's batch.
	pub batch: u64,
	/// The receipt's sequence number.
	pub sequence: u64,
	/// The receipt, SCALE-encoded, in hex.
	pub receipt: String,
	/// The input it answered, in hex.
	pub input: String,
}

/// A settlement of fast-path receipts, journaled whole: what the chain is
/// sent, SCALE-encoded and in hex, so that it is resent byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
	/// The channel.
	pub channel: u64,
	/// The requester's voucher for the last receipt.
	pub voucher: String,
	/// The requester's `MultiSignature` over it.
	pub signature: String,
	/// The receipts since the last settled, in order.
	pub receipts: Vec<String>,
}

impl AccountCall {
	/// Its step.
	pub fn step(&self) -> Step {
		match self {
			AccountCall::ServeModels(_) => Step::Serve,
			AccountCall::SetCapacity(_) => Step::SetCapacity,
			AccountCall::Claim => Step::Claim,
			AccountCall::Deregister => Step::Deregister,
			AccountCall::Settle(_) => Step::Settle,
			AccountCall::OpenAudit(_) => Step::OpenAudit,
		}
	}
}

impl Step {
	/// Its name in the journal, logs and metrics.
	pub fn as_str(self) -> &'static str {
		match self {
			Step::Commit => "commit",
			Step::Reveal => "reveal",
			Step::Decline => "decline",
			Step::Serve => "serve",
			Step::SetCapacity => "set_capacity",
			Step::Claim => "claim",
			Step::Deregister => "deregister",
			Step::Settle => "settle",
			Step::OpenAudit => "open_audit",
			Step::Filler => "filler",
		}
	}

	fn parse(s: &str) -> Option<Self> {
		Some(match s {
			"commit" => Step::Commit,
			"reveal" => Step::Reveal,
			"decline" => Step::Decline,
			"serve" => Step::Serve,
			"set_capacity" => Step::SetCapacity,
			"claim" => Step::Claim,
			"deregister" => Step::Deregister,
			"settle" => Step::Settle,
			"open_audit" => Step::OpenAudit,
			"filler" => Step::Filler,
			_ => return None,
		})
	}
}

/// A job's result, as committed and revealed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobResult {
	/// The output bytes.
	pub output: Vec<u8>,
	/// The attribution: contribution ids and parts per billion.
	pub attribution: Vec<(u64, u32)>,
	/// The salt of the commitment.
	pub salt: Salt,
}

/// A job as journaled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRecord {
	/// The job.
	pub job_id: JobId,
	/// Its model.
	pub model_id: ModelId,
	/// Its input.
	pub input: Vec<u8>,
	/// Where it stands.
	pub state: JobState,
	/// Its result, once computed.
	pub result: Option<JobResult>,
	/// The nonce its latest commitment was signed with: whether that
	/// commitment can still land is the chain's account nonce against it.
	pub commit_nonce: Option<u64>,
}

/// A signed transaction, by nonce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
	/// The account nonce it is signed with.
	pub nonce: u64,
	/// The job it is for (none for a filler or an account call).
	pub job_id: Option<JobId>,
	/// What it does.
	pub step: Step,
	/// The call itself, for a call not for a job.
	pub call: Option<AccountCall>,
}

/// Why the journal failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
	/// SQLite failed.
	#[error("journal: {0}")]
	Sqlite(#[from] rusqlite::Error),
	/// A row holds a value this worker never writes.
	#[error("journal row is corrupt: {0}")]
	Corrupt(String),
}

/// The journal a process's stages share, locked; a stage that panicked
/// while holding it leaves it unusable.
pub fn lock(journal: &Mutex<Journal>) -> Result<MutexGuard<'_, Journal>, JournalError> {
	journal.lock().map_err(|_| JournalError::Corrupt("the journal lock is poisoned".into()))
}

/// A connection to the SQLite file at `path` whose committed writes survive
/// a crash of the process or the machine (`synchronous = FULL` on a
/// write-ahead log), waiting for other processes' writes.
pub fn durable(path: &Path) -> Result<Connection, JournalError> {
	let db = Connection::open(path)?;
	db.busy_timeout(BUSY_TIMEOUT)?;
	db.pragma_update(None, "journal_mode", "WAL")?;
	db.pragma_update(None, "synchronous", "FULL")?;
	Ok(db)
}

/// A connection to the SQLite file at `path` whose committed writes
/// survive a crash of the process but may lose the last ones to a crash of
/// the machine (`synchronous = NORMAL` on a write-ahead log: no sync per
/// commit), waiting for other processes' writes. For a record whose tail
/// can be recovered from elsewhere: a requester's book, from its workers'
/// journals and the chain.
pub fn recoverable(path: &Path) -> Result<Connection, JournalError> {
	let db = durable(path)?;
	db.pragma_update(None, "synchronous", "NORMAL")?;
	Ok(db)
}

/// The journal, one SQLite database.
pub struct Journal {
	db: Connection,
}

impl Journal {
	/// Opens (or creates) the journal at `path`. Writes are synchronous
	/// (`synchronous = FULL` on a write-ahead log), so a committed write
	/// survives a crash of the process or the machine.
	pub fn open(path: &Path) -> Result<Self, JournalError> {
		let db = durable(path)?;
		db.execute_batch(
			"CREATE TABLE IF NOT EXISTS jobs (
				job_id INTEGER PRIMARY KEY,
				model_id INTEGER NOT NULL,
				input BLOB NOT NULL,
				state TEXT NOT NULL,
				output BLOB,
				attribution TEXT,
				salt BLOB
			);
			CREATE TABLE IF NOT EXISTS submissions (
				nonce INTEGER PRIMARY KEY,
				job_id INTEGER,
				step TEXT NOT NULL
			);
			CREATE TABLE IF NOT EXISTS settings (
				key TEXT PRIMARY KEY,
				value TEXT NOT NULL
			);",
		)?;
		// Columns added since the first journals: added to those.
		for (table, column, kind) in [
			("submissions", "call", "TEXT"),
			("jobs", "finished_at", "INTEGER"),
			("jobs", "commit_nonce", "INTEGER"),
		] {
			let present: bool = db.query_row(
				&format!("SELECT COUNT(*) > 0 FROM pragma_table_info('{table}') WHERE name = ?1"),
				params![column],
				|r| r.get(0),
			)?;
			if !present {
				db.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))?;
			}
		}
		Ok(Journal { db })
	}

	/// Records a newly assigned job; `false` if it was already known.
	pub fn admit(
		&self,
		job_id: JobId,
		model_id: ModelId,
		input: &[u8],
	) -> Result<bool, JournalError> {
		let added = self.db.execute(
			"INSERT OR IGNORE INTO jobs (job_id, model_id, input, state) VALUES (?1, ?2, ?3, ?4)",
			params![job_id as i64, model_id as i64, input, JobState::Admitted.as_str()],
		)?;
		Ok(added == 1)
	}

	/// Stores a job's result and salt: from here on it can be committed.
	pub fn record_result(&self, job_id: JobId, result: &JobResult) -> Result<(), JournalError> {
		let attribution = serde_json::to_string(&result.attribution)
			.map_err(|e| JournalError::Corrupt(e.to_string()))?;
		self.db.execute(
			"UPDATE jobs SET output = ?2, attribution = ?3, salt = ?4, state = ?5
			 WHERE job_id = ?1 AND state = ?6",
			params![
				job_id as i64,
				result.output,
				attribution,
				result.salt.as_slice(),
				JobState::Computed.as_str(),
				JobState::Admitted.as_str()
			],
		)?;
		Ok(())
	}

	/// Records that the model could not run `job_id`: from here on it is
	/// declined. Only a job not computed yet can fail.
	pub fn record_failure(&self, job_id: JobId) -> Result<(), JournalError> {
		self.db.execute(
			"UPDATE jobs SET state = ?2 WHERE job_id = ?1 AND state = ?3",
			params![job_id as i64, JobState::Failed.as_str(), JobState::Admitted.as_str()],
		)?;
		Ok(())
	}

	/// Takes the next nonce, at least `floor` and above every nonce
	/// journaled (by this process or another), for `step` of `job_id` or for
	/// the account `call`, and moves the job to the matching state: one
	/// transaction, so no two submissions ever share a nonce.
	pub fn reserve_submission(
		&mut self,
		floor: u64,
		job_id: Option<JobId>,
		step: Step,
		call: Option<&AccountCall>,
	) -> Result<u64, JournalError> {
		let tx = self.db.transaction_with_behavior(TransactionBehavior::Immediate)?;
		let highest: Option<i64> =
			tx.query_row("SELECT MAX(nonce) FROM submissions", [], |r| r.get(0))?;
		let nonce = highest.map_or(floor, |n| floor.max(n as u64 + 1));
		Self::insert_submission(&tx, nonce, job_id, step, call)?;
		tx.commit()?;
		Ok(nonce)
	}

	/// Records that `step` of `job_id` is about to be sent under `nonce` (a
	/// nonce already journaled, sent again or given to a filler), and moves
	/// the job to the matching state, in one transaction.
	pub fn record_submission(
		&mut self,
		nonce: u64,
		job_id: Option<JobId>,
		step: Step,
	) -> Result<(), JournalError> {
		let tx = self.db.transaction_with_behavior(TransactionBehavior::Immediate)?;
		Self::insert_submission(&tx, nonce, job_id, step, None)?;
		tx.commit()?;
		Ok(())
	}

	fn insert_submission(
		tx: &rusqlite::Transaction<'_>,
		nonce: u64,
		job_id: Option<JobId>,
		step: Step,
		call: Option<&AccountCall>,
	) -> Result<(), JournalError> {
		let call = call
			.map(serde_json::to_string)
			.transpose()
			.map_err(|e| JournalError::Corrupt(e.to_string()))?;
		tx.execute(
			"INSERT OR REPLACE INTO submissions (nonce, job_id, step, call) VALUES (?1, ?2, ?3, ?4)",
			params![nonce as i64, job_id.map(|j| j as i64), step.as_str(), call],
		)?;
		let state = match step {
			Step::Commit => Some(JobState::CommitSent),
			Step::Reveal => Some(JobState::RevealSent),
			Step::Decline => Some(JobState::DeclineSent),
			Step::Serve
			| Step::SetCapacity
			| Step::Claim
			| Step::Deregister
			| Step::Settle
			| Step::OpenAudit
			| Step::Filler => None,
		};
		if let (Some(job_id), Some(state)) = (job_id, state) {
			tx.execute(
				"UPDATE jobs SET state = ?2 WHERE job_id = ?1",
				params![job_id as i64, state.as_str()],
			)?;
		}
		if let (Some(job_id), Step::Commit) = (job_id, step) {
			tx.execute(
				"UPDATE jobs SET commit_nonce = ?2 WHERE job_id = ?1",
				params![job_id as i64, nonce as i64],
			)?;
		}
		Ok(())
	}

	/// Moves a job to `state`; a final state (done, abandoned) is stamped
	/// with the time, for [`Journal::prune_finished`].
	pub fn set_state(&self, job_id: JobId, state: JobState) -> Result<(), JournalError> {
		let finished = matches!(state, JobState::Done | JobState::Abandoned);
		self.db.execute(
			"UPDATE jobs SET state = ?2,
			   finished_at = CASE WHEN ?3 THEN unixepoch() ELSE NULL END
			 WHERE job_id = ?1",
			params![job_id as i64, state.as_str(), finished],
		)?;
		Ok(())
	}

	/// Deletes the jobs that finished more than `age` ago; how many.
	pub fn prune_finished(&self, age: Duration) -> Result<usize, JournalError> {
		Ok(self.db.execute(
			"DELETE FROM jobs WHERE finished_at IS NOT NULL AND finished_at < unixepoch() - ?1",
			params![age.as_secs() as i64],
		)?)
	}

	/// The models the operator told the daemon to serve (`serve-models`),
	/// if it did: this overrides the daemon's own choice.
	pub fn served_models(&self) -> Result<Option<Vec<ModelId>>, JournalError> {
		self.setting("serve")
	}

	/// Records the models to serve, or (`None`) leaves it to the daemon.
	pub fn set_served_models(&self, models: Option<&[ModelId]>) -> Result<(), JournalError> {
		self.set_setting("serve", models)
	}

	/// The capacity the operator declared last (`run --capacity`,
	/// `set-capacity`), if any: the daemon keeps the chain's at it.
	pub fn capacity(&self) -> Result<Option<u32>, JournalError> {
		self.setting("capacity")
	}

	/// Records the capacity to declare.
	pub fn set_capacity(&self, capacity: u32) -> Result<(), JournalError> {
		self.set_setting("capacity", Some(&capacity))
	}

	fn setting<T: serde::de::DeserializeOwned>(
		&self,
		key: &str,
	) -> Result<Option<T>, JournalError> {
		let value: Option<String> = self
			.db
			.query_row("SELECT value FROM settings WHERE key = ?1", params![key], |r| r.get(0))
			.optional()?;
		value
			.map(|v| serde_json::from_str(&v).map_err(|e| JournalError::Corrupt(e.to_string())))
			.transpose()
	}

	fn set_setting<T: Serialize + ?Sized>(
		&self,
		key: &str,
		value: Option<&T>,
	) -> Result<(), JournalError> {
		match value {
			Some(value) => {
				let value = serde_json::to_string(value)
					.map_err(|e| JournalError::Corrupt(e.to_string()))?;
				self.db.execute(
					"INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
					params![key, value],
				)?
			}
			None => self.db.execute("DELETE FROM settings WHERE key = ?1", params![key])?,
		};
		Ok(())
	}

	/// How many jobs are journaled in each state.
	pub fn job_counts(&self) -> Result<Vec<(JobState, u64)>, JournalError> {
		let mut stmt =
			self.db.prepare("SELECT state, COUNT(*) FROM jobs GROUP BY state ORDER BY state")?;
		let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
		rows.map(|r| {
			let (state, n) = r?;
			Ok((JobState::parse(&state).ok_or(JournalError::Corrupt(state))?, n as u64))
		})
		.collect()
	}

	/// A job, if journaled.
	pub fn job(&self, job_id: JobId) -> Result<Option<JobRecord>, JournalError> {
		self.db
			.query_row(
				"SELECT job_id, model_id, input, state, output, attribution, salt, commit_nonce FROM jobs
				 WHERE job_id = ?1",
				params![job_id as i64],
				Self::row,
			)
			.optional()?
			.transpose()
	}

	/// Every job that is not done or abandoned, oldest first.
	pub fn open_jobs(&self) -> Result<Vec<JobRecord>, JournalError> {
		let mut stmt = self.db.prepare(
			"SELECT job_id, model_id, input, state, output, attribution, salt, commit_nonce FROM jobs
			 WHERE state NOT IN ('done', 'abandoned') ORDER BY job_id",
		)?;
		let rows = stmt.query_map([], Self::row)?;
		rows.map(|r| r?).collect()
	}

	/// The submission signed with `nonce`, if any.
	pub fn submission(&self, nonce: u64) -> Result<Option<Submission>, JournalError> {
		self.db
			.query_row(
				"SELECT nonce, job_id, step, call FROM submissions WHERE nonce = ?1",
				params![nonce as i64],
				|r| {
					Ok((
						r.get::<_, i64>(0)?,
						r.get::<_, Option<i64>>(1)?,
						r.get::<_, String>(2)?,
						r.get::<_, Option<String>>(3)?,
					))
				},
			)
			.optional()?
			.map(|(nonce, job_id, step, call)| {
				Ok(Submission {
					nonce: nonce as u64,
					job_id: job_id.map(|j| j as u64),
					step: Step::parse(&step).ok_or(JournalError::Corrupt(step))?,
					call: call
						.map(|c| serde_json::from_str(&c))
						.transpose()
						.map_err(|e| JournalError::Corrupt(e.to_string()))?,
				})
			})
			.transpose()
	}

	/// The highest nonce ever signed with, if any.
	pub fn highest_nonce(&self) -> Result<Option<u64>, JournalError> {
		Ok(self
			.db
			.query_row("SELECT MAX(nonce) FROM submissions", [], |r| r.get::<_, Option<i64>>(0))?
			.map(|n| n as u64))
	}

	/// Forgets submissions below `nonce`: the chain has used those nonces.
	pub fn forget_submissions_below(&self, nonce: u64) -> Result<(), JournalError> {
		self.db.execute("DELETE FROM submissions WHERE nonce < ?1", params![nonce as i64])?;
		Ok(())
	}

	fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Result<JobRecord, JournalError>> {
		let state: String = r.get(3)?;
		let output: Option<Vec<u8>> = r.get(4)?;
		let attribution: Option<String> = r.get(5)?;
		let salt: Option<Vec<u8>> = r.get(6)?;
		let job_id = r.get::<_, i64>(0)? as u64;
		let model_id = r.get::<_, i64>(1)? as u64;
		let input: Vec<u8> = r.get(2)?;
		let commit_nonce = r.get::<_, Option<i64>>(7)?.map(|n| n as u64);
		Ok((|| {
			let state =
				JobState::parse(&state).ok_or_else(|| JournalError::Corrupt(state.clone()))?;
			let result = match (output, attribution, salt) {
				(Some(output), Some(attribution), Some(salt)) => Some(JobResult {
					output,
					attribution: serde_json::from_str(&attribution)
						.map_err(|e| JournalError::Corrupt(e.to_string()))?,
					salt: salt
						.try_into()
						.map_err(|_| JournalError::Corrupt(format!("salt of job {job_id}")))?,
				}),
				_ => None,
			};
			Ok(JobRecord { job_id, model_id, input, state, result, commit_nonce })
		})())
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn result() -> JobResult {
		JobResult {
			output: b"{\"label\":\"a\"}".to_vec(),
			attribution: vec![(3, 500)],
			salt: [9; 32],
		}
	}

	#[test]
	fn a_job_survives_reopening_with_its_salt() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("journal.sqlite");
		{
			let mut j = Journal::open(&path).unwrap();
			assert!(j.admit(4, 1, b"input").unwrap());
			assert!(!j.admit(4, 1, b"input").unwrap());
			j.record_result(4, &result()).unwrap();
			j.record_submission(17, Some(4), Step::Commit).unwrap();
		}
		let j = Journal::open(&path).unwrap();
		let job = j.job(4).unwrap().unwrap();
		assert_eq!(job.state, JobState::CommitSent);
		assert_eq!(job.result, Some(result()));
		assert_eq!(
			j.submission(17).unwrap(),
			Some(Submission { nonce: 17, job_id: Some(4), step: Step::Commit, call: None })
		);
		assert_eq!(j.highest_nonce().unwrap(), Some(17));
	}

	#[test]
	fn the_nonce_of_a_jobs_latest_commitment_outlives_the_submissions_record() {
		let dir = tempfile::tempdir().unwrap();
		let mut j = Journal::open(&dir.path().join("j")).unwrap();
		j.admit(4, 1, b"input").unwrap();
		assert_eq!(j.job(4).unwrap().unwrap().commit_nonce, None);
		j.record_submission(17, Some(4), Step::Commit).unwrap();
		j.record_submission(18, Some(4), Step::Reveal).unwrap();
		assert_eq!(j.job(4).unwrap().unwrap().commit_nonce, Some(17));
		// Another node's finality made the journal forget the submission:
		// the job still says which nonce its commitment went under.
		j.forget_submissions_below(19).unwrap();
		assert_eq!(j.job(4).unwrap().unwrap().commit_nonce, Some(17));
		// Sent anew under a new nonce: that one is the nonce to watch.
		let again = j.reserve_submission(19, Some(4), Step::Commit, None).unwrap();
		assert_eq!(j.job(4).unwrap().unwrap().commit_nonce, Some(again));
		assert_eq!(j.job(5).unwrap(), None);
	}

	#[test]
	fn a_result_is_recorded_once_and_final_jobs_are_not_open() {
		let dir = tempfile::tempdir().unwrap();
		let j = Journal::open(&dir.path().join("j")).unwrap();
		j.admit(1, 0, b"x").unwrap();
		j.admit(2, 0, b"y").unwrap();
		j.record_result(1, &result()).unwrap();
		// A second computation (after a restart) does not replace the salt.
		j.record_result(1, &JobResult { salt: [1; 32], ..result() }).unwrap();
		assert_eq!(j.job(1).unwrap().unwrap().result.unwrap().salt, [9; 32]);
		j.set_state(2, JobState::Abandoned).unwrap();
		let open: Vec<_> = j.open_jobs().unwrap().into_iter().map(|r| r.job_id).collect();
		assert_eq!(open, vec![1]);
	}

	#[test]
	fn two_processes_on_one_journal_never_share_a_nonce() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("j");
		Journal::open(&path).unwrap();
		let take = |floor: u64| {
			let path = path.clone();
			std::thread::spawn(move || {
				let mut j = Journal::open(&path).unwrap();
				(0..40)
					.map(|_| {
						j.reserve_submission(floor, None, Step::Claim, Some(&AccountCall::Claim))
					})
					.collect::<Result<Vec<_>, _>>()
					.unwrap()
			})
		};
		// Both start from the chain's next nonce, 10.
		let (daemon, operator) = (take(10), take(10));
		let mut nonces = daemon.join().unwrap();
		nonces.extend(operator.join().unwrap());
		nonces.sort_unstable();
		assert_eq!(nonces, (10..90).collect::<Vec<_>>(), "contiguous, none taken twice");
		// The floor (the chain's next nonce) wins over what is journaled.
		let mut j = Journal::open(&path).unwrap();
		assert_eq!(j.reserve_submission(200, Some(1), Step::Commit, None).unwrap(), 200);
	}

	#[test]
	fn an_account_call_is_journaled_whole() {
		let dir = tempfile::tempdir().unwrap();
		let mut j = Journal::open(&dir.path().join("j")).unwrap();
		let call = AccountCall::ServeModels(vec![0, 3]);
		let nonce = j.reserve_submission(5, None, call.step(), Some(&call)).unwrap();
		let stored = j.submission(nonce).unwrap().unwrap();
		assert_eq!((stored.step, stored.call), (Step::Serve, Some(call)));
	}

	#[test]
	fn finished_jobs_are_pruned_once_old_and_open_ones_never() {
		let dir = tempfile::tempdir().unwrap();
		let j = Journal::open(&dir.path().join("j")).unwrap();
		for job in 1..=3 {
			j.admit(job, 0, b"x").unwrap();
		}
		j.set_state(1, JobState::Done).unwrap();
		j.set_state(2, JobState::Abandoned).unwrap();
		assert_eq!(j.prune_finished(Duration::from_secs(3600)).unwrap(), 0, "too recent");
		j.db.execute("UPDATE jobs SET finished_at = finished_at - 7200 WHERE job_id = 1", [])
			.unwrap();
		assert_eq!(j.prune_finished(Duration::from_secs(3600)).unwrap(), 1);
		assert_eq!(j.job(1).unwrap(), None);
		assert!(j.job(2).unwrap().is_some() && j.job(3).unwrap().is_some());
	}

	#[test]
	fn a_journal_from_before_account_calls_opens_and_keeps_its_rows() {
		let dir = tempfile::tempdir().unwrap();
		let path = dir.path().join("j");
		let old = Connection::open(&path).unwrap();
		old.execute_batch(
			"CREATE TABLE jobs (job_id INTEGER PRIMARY KEY, model_id INTEGER NOT NULL,
			   input BLOB NOT NULL, state TEXT NOT NULL, output BLOB, attribution TEXT, salt BLOB);
			 CREATE TABLE submissions (nonce INTEGER PRIMARY KEY, job_id INTEGER, step TEXT NOT NULL);
			 INSERT INTO jobs (job_id, model_id, input, state) VALUES (8, 1, x'00', 'admitted');
			 INSERT INTO submissions VALUES (4, NULL, 'filler');",
		)
		.unwrap();
		drop(old);
		let j = Journal::open(&path).unwrap();
		assert_eq!(j.job(8).unwrap().unwrap().state, JobState::Admitted);
		assert_eq!(j.submission(4).unwrap().unwrap().call, None);
		j.set_state(8, JobState::Done).unwrap();
	}

	#[test]
	fn the_operators_settings_are_kept_until_changed() {
		let dir = tempfile::tempdir().unwrap();
		let j = Journal::open(&dir.path().join("j")).unwrap();
		assert_eq!(j.served_models().unwrap(), None);
		j.set_served_models(Some(&[2, 5])).unwrap();
		assert_eq!(j.served_models().unwrap(), Some(vec![2, 5]));
		j.set_served_models(None).unwrap();
		assert_eq!(j.served_models().unwrap(), None);
		assert_eq!(j.capacity().unwrap(), None);
		j.set_capacity(8).unwrap();
		assert_eq!(Journal::open(&dir.path().join("j")).unwrap().capacity().unwrap(), Some(8));
	}

	#[test]
	fn used_nonces_are_forgotten() {
		let dir = tempfile::tempdir().unwrap();
		let mut j = Journal::open(&dir.path().join("j")).unwrap();
		j.record_submission(3, None, Step::Filler).unwrap();
		j.record_submission(4, None, Step::Filler).unwrap();
		j.forget_submissions_below(4).unwrap();
		assert_eq!(j.submission(3).unwrap(), None);
		assert!(j.submission(4).unwrap().is_some());
	}
}
