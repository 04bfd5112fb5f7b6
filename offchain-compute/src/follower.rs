//! The chain follower: keeps a connection to one of the worker's nodes and
//! hands each new best block to the stage that acts on it.
//!
//! When the node is unreachable or too slow, the follower moves to the next
//! node at once; once every node has failed since the last block, it waits a
//! jittered, exponentially growing delay (capped), so a fleet of workers
//! never storms a recovering node. While the worker owes a commit or reveal,
//! no delay outlasts half the time left in that window (estimated from the
//! block times seen), nor goes below one block time: a worker that must act
//! probes about once a block, and is back within a block of its node.

use crate::{
	chain::{AtBlock, Chain, ChainError},
	health::Health,
	metrics::Metrics,
	stop::Stop,
	worker::{Options, WorkerError},
};
use backon::BackoffBuilder;
use futures::FutureExt;
use std::time::{Duration, Instant};
use subxt::utils::H256;

/// What acts on the blocks the follower hands over.
pub(crate) trait OnBlock {
	/// The follower has (re)connected; `at` is the node's best block. The
	/// events of the blocks missed meanwhile are gone.
	async fn connected(&mut self, chain: &Chain, at: &AtBlock) -> Result<(), Stop>;

	/// A new best block; `skipped` when the events of blocks before it on
	/// the best chain were not handed over (a gap, or a reorganisation). Returns the earliest block at which a window the worker still
	/// has to act in closes.
	async fn block(
		&mut self,
		chain: &Chain,
		at: &AtBlock,
		skipped: bool,
	) -> Result<Option<u64>, Stop>;
}

/// The follower's state: the connection's pace and its reconnect delays.
pub(crate) struct Follower {
	nodes: Vec<String>,
	block_timeout: Duration,
	backoff: backon::ExponentialBuilder,
	max_backoff: Duration,
	pace: Pace,
	health: Health,
	metrics: Metrics,
}

/// The reconnect delays since the follower last handed over a block.
struct Reconnect {
	backoff: backon::ExponentialBackoff,
	/// Connections lost or refused since then.
	failed: usize,
}

/// What the follower knows of the chain's pace, so that its reconnect delays
/// never outlast a window the worker still has to meet.
#[derive(Debug, Default)]
struct Pace {
	/// The newest best block handled, and when.
	last: Option<(u64, Instant)>,
	/// The time between best blocks, smoothed.
	block_time: Option<Duration>,
	/// The earliest block at which a window the worker still has to act in
	/// closes.
	owed_by: Option<u64>,
}

impl Follower {
	pub(crate) fn new(options: &Options, health: Health, metrics: Metrics) -> Self {
		Follower {
			nodes: options.nodes.clone(),
			block_timeout: options.block_timeout,
			backoff: options.backoff(),
			max_backoff: options.max_backoff,
			pace: Pace::default(),
			health,
			metrics,
		}
	}

	/// Follows the chain until `handler` stops on the journal, the content
	/// directory or a runtime this worker predates; node failures only make
	/// it reconnect.
	pub(crate) async fn run(&mut self, handler: &mut impl OnBlock) -> Result<(), WorkerError> {
		let mut reconnect = Reconnect { backoff: self.backoff.build(), failed: 0 };
		let mut attempt = 0usize;
		let nodes = self.nodes.len().max(1);
		loop {
			let node = self.nodes[attempt % nodes].clone();
			attempt = attempt.wrapping_add(1);
			self.metrics.connection_attempts.inc();
			tracing::info!(%node, "connecting");
			let connected = tokio::time::timeout(self.block_timeout, Chain::connect(&node))
				.await
				.unwrap_or_else(|_| Err(ChainError::Node("connecting timed out".into())));
			match connected {
				Ok(chain) => {
					self.health.connected(&node);
					match self.follow(&chain, handler, &mut reconnect).await {
						Ok(()) => tracing::warn!("the node's block stream ended"),
						Err(Stop::Node(e @ ChainError::Incompatible(_))) => {
							return Err(WorkerError::Incompatible(e))
						}
						Err(Stop::Node(e)) => {
							self.metrics.failures.with_label_values(&["node"]).inc();
							tracing::warn!(error = %e, "lost the node")
						}
						Err(Stop::Journal(e)) => return Err(e.into()),
						Err(Stop::Content(e)) => return Err(e.into()),
					}
				}
				Err(e) => {
					self.metrics.failures.with_label_values(&["node"]).inc();
					tracing::warn!(error = %e, "cannot reach the node")
				}
			}
			reconnect.failed += 1;
			if reconnect.failed % nodes != 0 {
				continue;
			}
			let delay = reconnect
				.backoff
				.next()
				.unwrap_or(self.max_backoff)
				.min(self.pace.cap(self.max_backoff));
			tracing::info!(delay_ms = delay.as_millis() as u64, "backing off before reconnecting");
			tokio::time::sleep(delay).await;
		}
	}

	/// Follows best blocks until the node fails.
	async fn follow(
		&mut self,
		chain: &Chain,
		handler: &mut impl OnBlock,
		reconnect: &mut Reconnect,
	) -> Result<(), Stop> {
		let at = chain.at_best().await?;
		let start = at.block_number();
		let mut last = at.block_hash();
		handler.connected(chain, &at).await?;
		let mut blocks = chain.client().stream_best_blocks().await.map_err(node)?;
		let mut measure = false;
		loop {
			// A node that stops producing blocks or answering is as good as
			// gone: reconnect rather than wait on it forever.
			let next = tokio::time::timeout(self.block_timeout, blocks.next())
				.await
				.map_err(|_| Stop::Node(ChainError::Node("no new block in time".into())))?;
			let Some(block) = next else { break };
			let mut block = block.map_err(node)?;
			// When blocks come faster than the worker handles them, it jumps
			// to the newest: acting on stale state would miss windows.
			while let Some(Some(newer)) = blocks.next().now_or_never() {
				block = newer.map_err(node)?;
			}
			let Some(skipped) =
				Handling::of(start, last, block.number(), block.hash(), block.header().parent_hash)
					.skipped()
			else {
				continue;
			};
			last = block.hash();
			let number = block.number();
			self.pace.on_block(number, measure);
			self.health.block(number);
			measure = true;
			tracing::debug!(number, hash = ?block.hash(), skipped, "best block");
			let work = async {
				let at = block.at().await.map_err(node)?;
				handler.block(chain, &at, skipped).await
			};
			self.pace.owed_by = tokio::time::timeout(self.block_timeout, work)
				.await
				.map_err(|_| Stop::Node(ChainError::Node("block work timed out".into())))??;
			*reconnect = Reconnect { backoff: self.backoff.build(), failed: 0 };
		}
		Ok(())
	}
}

/// What the follower does with a best block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Handling {
	/// Nothing: the block it handled last, or one the subscription replays
	/// from before the state the worker started from.
	Ignore,
	/// Hand it over; its events tell all that happened since the last block
	/// handled, its parent.
	Next,
	/// Hand it over as `skipped`: blocks came between (a burst the follower
	/// jumped over) or the best chain reorganised (onto a sibling, a shorter
	/// branch or a longer one), so the events of the blocks that are now on
	/// the best chain were not all read, and what the worker is assigned
	/// must be read from state.
	Skipped,
}

impl Handling {
	/// How to handle best block `number` (`hash`, child of `parent`), the
	/// follower having started at block `start` and handled `last` since.
	fn of(start: u64, last: H256, number: u64, hash: H256, parent: H256) -> Self {
		if hash == last || number <= start {
			Handling::Ignore
		} else if parent == last {
			Handling::Next
		} else {
			Handling::Skipped
		}
	}

	/// Whether the block is handed over as skipped; `None` if ignored.
	fn skipped(self) -> Option<bool> {
		match self {
			Handling::Ignore => None,
			Handling::Next => Some(false),
			Handling::Skipped => Some(true),
		}
	}
}

impl Pace {
	/// Notes best block `number`, handled now; `measure` is false for the
	/// first block after a (re)connect, whose gap includes the outage.
	fn on_block(&mut self, number: u64, measure: bool) {
		let now = Instant::now();
		if let (true, Some((previous, at))) = (measure, self.last) {
			if number > previous {
				let blocks = u32::try_from(number - previous).unwrap_or(u32::MAX);
				let sample = now.duration_since(at) / blocks;
				self.block_time = Some(match self.block_time {
					Some(smoothed) => (smoothed * 3 + sample) / 4,
					None => sample,
				});
			}
		}
		self.last = Some((number, now));
	}

	/// The longest reconnect delay allowed now: `max` while nothing is owed;
	/// otherwise half the time estimated to be left before the nearest
	/// deadline, but at least one block time.
	fn cap(&self, max: Duration) -> Duration {
		let (Some(by), Some((seen, at)), Some(block)) = (self.owed_by, self.last, self.block_time)
		else {
			return max;
		};
		let blocks = u32::try_from(by.saturating_sub(seen)).unwrap_or(u32::MAX);
		let left = block.saturating_mul(blocks).saturating_sub(at.elapsed());
		(left / 2).max(block).min(max)
	}
}

pub(crate) fn node(e: impl std::fmt::Display) -> Stop {
	Stop::Node(crate::chain::node(e))
}

#[cfg(test)]
mod tests {
	use super::*;

	fn h(n: u8) -> H256 {
		H256::repeat_byte(n)
	}

	#[test]
	fn the_next_block_is_handed_over_with_its_events() {
		assert_eq!(Handling::of(10, h(11), 12, h(12), h(11)), Handling::Next);
	}

	#[test]
	fn blocks_replayed_by_a_new_subscription_are_ignored() {
		assert_eq!(Handling::of(10, h(10), 9, h(9), h(8)), Handling::Ignore);
		assert_eq!(Handling::of(10, h(10), 10, h(10), h(9)), Handling::Ignore);
		assert_eq!(Handling::of(10, h(12), 12, h(12), h(11)), Handling::Ignore, "the same block");
	}

	#[test]
	fn a_gap_is_read_from_state() {
		assert_eq!(Handling::of(10, h(11), 13, h(13), h(12)), Handling::Skipped);
	}

	#[test]
	fn a_reorganisation_onto_a_shorter_or_sibling_branch_is_handled_and_read_from_state() {
		// Best was #38 (h(38)); the chain finalized a sibling branch whose
		// #37 (h(0x37)) is now best: its draws are in blocks never read.
		assert_eq!(Handling::of(30, h(38), 37, h(0x37), h(0x36)), Handling::Skipped);
		assert_eq!(Handling::of(30, h(38), 38, h(0x38), h(0x37)), Handling::Skipped);
		// A longer branch whose parent is not the block handled last.
		assert_eq!(Handling::of(30, h(38), 39, h(0x39), h(0x38)), Handling::Skipped);
	}

	fn pace(seen: u64, block_ms: u64, owed_by: Option<u64>) -> Pace {
		Pace {
			last: Some((seen, Instant::now())),
			block_time: Some(Duration::from_millis(block_ms)),
			owed_by,
		}
	}

	#[test]
	fn nothing_owed_leaves_the_longest_delay() {
		let max = Duration::from_secs(15);
		assert_eq!(pace(100, 1_000, None).cap(max), max);
		assert_eq!(Pace::default().cap(max), max);
	}

	#[test]
	fn an_owed_window_caps_the_delay_at_half_the_time_left() {
		let cap = pace(100, 1_000, Some(110)).cap(Duration::from_secs(15));
		assert!(cap <= Duration::from_secs(5) && cap > Duration::from_millis(4_900), "{cap:?}");
		assert_eq!(
			pace(100, 1_000, Some(140)).cap(Duration::from_secs(15)),
			Duration::from_secs(15)
		);
	}

	#[test]
	fn a_window_about_to_close_is_probed_once_a_block() {
		let max = Duration::from_secs(15);
		assert_eq!(pace(100, 1_000, Some(101)).cap(max), Duration::from_secs(1));
		assert_eq!(pace(100, 1_000, Some(90)).cap(max), Duration::from_secs(1));
	}

	#[test]
	fn the_gap_across_a_reconnect_is_not_a_block_time() {
		let mut pace = Pace::default();
		pace.on_block(10, false);
		std::thread::sleep(Duration::from_millis(20));
		pace.on_block(11, true);
		let measured = pace.block_time.expect("one interval seen");
		assert!(measured >= Duration::from_millis(20), "{measured:?}");
		std::thread::sleep(Duration::from_millis(200));
		pace.on_block(12, false);
		assert_eq!(pace.block_time, Some(measured), "the outage is not averaged in");
		assert_eq!(pace.last.map(|(number, _)| number), Some(12));
	}
}
