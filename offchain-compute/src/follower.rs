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

/// What acts on the blocks the follower hands over.
pub(crate) trait OnBlock {
	/// The follower has (re)connected; `at` is the node's best block. The
	/// events of the blocks missed meanwhile are gone.
	async fn connected(&mut self, chain: &Chain, at: &AtBlock) -> Result<(), Stop>;

	/// A new best block; `skipped` when blocks before it were not handed
	/// over. Returns the earliest block at which a window the worker still
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
		let mut newest = at.block_number();
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
			let mut skipped = false;
			while let Some(Some(newer)) = blocks.next().now_or_never() {
				block = newer.map_err(node)?;
				skipped = true;
			}
			// A new subscription replays recent blocks first: the worker only
			// moves forward from the state it started from.
			if block.number() <= newest {
				continue;
			}
			skipped |= block.number() > newest + 1;
			newest = block.number();
			self.pace.on_block(newest, measure);
			self.health.block(newest);
			measure = true;
			tracing::debug!(number = newest, hash = ?block.hash(), skipped, "best block");
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
