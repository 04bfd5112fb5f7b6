//! The worker's journal: every job's state, result and salt, and every
//! transaction it signs, in SQLite, written before anything is submitted.
//!
//! A lost salt means a slash (the worker can no longer reveal what it
//! committed to), and a step submitted twice costs fees and trust, so the
//! journal is the worker's memory across crashes: a result and its salt are
//! stored before the commitment leaves, and each submission is stored with the
//! account nonce it is signed with before it is sent. A transaction can then
//! be sent again only under the same nonce, which the chain accepts once.

use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use tributary_primitives::{JobId, ModelId, Salt};

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
	fn as_str(self) -> &'static str {
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
	/// `system.remark`, sent under a nonce whose step is no longer wanted so
	/// that the transactions after it are not stuck behind a gap.
	Filler,
}

impl Step {
	/// Its name in the journal, logs and metrics.
	pub fn as_str(self) -> &'static str {
		match self {
			Step::Commit => "commit",
			Step::Reveal => "reveal",
			Step::Decline => "decline",
			Step::Serve => "serve",
			Step::Filler => "filler",
		}
	}

	fn parse(s: &str) -> Option<Self> {
		Some(match s {
			"commit" => Step::Commit,
			"reveal" => Step::Reveal,
			"decline" => Step::Decline,
			"serve" => Step::Serve,
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
}

/// A signed transaction, by nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Submission {
	/// The account nonce it is signed with.
	pub nonce: u64,
	/// The job it is for (none for a filler).
	pub job_id: Option<JobId>,
	/// What it does.
	pub step: Step,
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

/// The journal, one SQLite database.
pub struct Journal {
	db: Connection,
}

impl Journal {
	/// Opens (or creates) the journal at `path`. Writes are synchronous
	/// (`synchronous = FULL` on a write-ahead log), so a committed write
	/// survives a crash of the process or the machine.
	pub fn open(path: &Path) -> Result<Self, JournalError> {
		let db = Connection::open(path)?;
		db.pragma_update(None, "journal_mode", "WAL")?;
		db.pragma_update(None, "synchronous", "FULL")?;
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
			);",
		)?;
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

	/// Records that `step` of `job_id` is about to be sent under `nonce`, and
	/// moves the job to the matching state, in one transaction.
	pub fn record_submission(
		&mut self,
		nonce: u64,
		job_id: Option<JobId>,
		step: Step,
	) -> Result<(), JournalError> {
		let tx = self.db.transaction()?;
		tx.execute(
			"INSERT OR REPLACE INTO submissions (nonce, job_id, step) VALUES (?1, ?2, ?3)",
			params![nonce as i64, job_id.map(|j| j as i64), step.as_str()],
		)?;
		let state = match step {
			Step::Commit => Some(JobState::CommitSent),
			Step::Reveal => Some(JobState::RevealSent),
			Step::Decline => Some(JobState::DeclineSent),
			Step::Serve | Step::Filler => None,
		};
		if let (Some(job_id), Some(state)) = (job_id, state) {
			tx.execute(
				"UPDATE jobs SET state = ?2 WHERE job_id = ?1",
				params![job_id as i64, state.as_str()],
			)?;
		}
		tx.commit()?;
		Ok(())
	}

	/// Moves a job to `state`.
	pub fn set_state(&self, job_id: JobId, state: JobState) -> Result<(), JournalError> {
		self.db.execute(
			"UPDATE jobs SET state = ?2 WHERE job_id = ?1",
			params![job_id as i64, state.as_str()],
		)?;
		Ok(())
	}

	/// A job, if journaled.
	pub fn job(&self, job_id: JobId) -> Result<Option<JobRecord>, JournalError> {
		self.db
			.query_row(
				"SELECT job_id, model_id, input, state, output, attribution, salt FROM jobs
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
			"SELECT job_id, model_id, input, state, output, attribution, salt FROM jobs
			 WHERE state NOT IN ('done', 'abandoned') ORDER BY job_id",
		)?;
		let rows = stmt.query_map([], Self::row)?;
		rows.map(|r| r?).collect()
	}

	/// The submission signed with `nonce`, if any.
	pub fn submission(&self, nonce: u64) -> Result<Option<Submission>, JournalError> {
		self.db
			.query_row(
				"SELECT nonce, job_id, step FROM submissions WHERE nonce = ?1",
				params![nonce as i64],
				|r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?, r.get::<_, String>(2)?)),
			)
			.optional()?
			.map(|(nonce, job_id, step)| {
				Ok(Submission {
					nonce: nonce as u64,
					job_id: job_id.map(|j| j as u64),
					step: Step::parse(&step).ok_or(JournalError::Corrupt(step))?,
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
			Ok(JobRecord { job_id, model_id, input, state, result })
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
			Some(Submission { nonce: 17, job_id: Some(4), step: Step::Commit })
		);
		assert_eq!(j.highest_nonce().unwrap(), Some(17));
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
