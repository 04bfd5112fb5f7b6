//! Why the daemon stopped following the chain: what the follower, the
//! submitter and the executor's hand-off all return, and the daemon sorts
//! into "reconnect" and "stop".

use crate::{chain::ChainError, content::ContentError, journal::JournalError};

/// Why following the chain stopped.
#[derive(Debug)]
pub enum Stop {
	/// The node failed, was unreachable or too slow: reconnect (unless it
	/// runs a runtime this worker predates).
	Node(ChainError),
	/// The journal failed: the worker must stop.
	Journal(JournalError),
	/// The content directory failed: the worker must stop.
	Content(ContentError),
}

impl From<ChainError> for Stop {
	fn from(e: ChainError) -> Self {
		Stop::Node(e)
	}
}

impl From<JournalError> for Stop {
	fn from(e: JournalError) -> Self {
		Stop::Journal(e)
	}
}
