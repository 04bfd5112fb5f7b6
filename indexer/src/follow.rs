//! Following the chain: every finalized block after the cursor, in order,
//! each written whole before the next is read. A node that fails or goes
//! away is left for the next of the configured ones, with a jittered,
//! growing pause once all have failed; nothing is skipped meanwhile, since
//! the cursor only moves with a written block.

use crate::{
	source::{Source, SourceError},
	store::{Store, StoreError},
};
use backon::{BackoffBuilder, ExponentialBuilder};
use futures::StreamExt;
use std::{convert::Infallible, time::Duration};

/// How often the finalized head is asked for once caught up.
const POLL: Duration = Duration::from_millis(500);

/// Why following stopped for good.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
	/// The database failed or holds another chain.
	#[error(transparent)]
	Store(#[from] StoreError),
}

/// Follows the first of `nodes` that answers into `store`, forever.
pub async fn follow(nodes: &[String], store: &mut Store) -> Result<(), FollowError> {
	let mut backoff = pauses();
	loop {
		for url in nodes {
			match Source::connect(url).await {
				Ok(source) => {
					tracing::info!(node = %url, "following the finalized chain");
					let Err(stop) = catch_up(&source, store).await;
					match stop {
						Stop::Store(e) => return Err(e.into()),
						Stop::Source(e) => {
							tracing::warn!(node = %url, error = %e, "the node failed; trying the next")
						}
					}
					backoff = pauses();
				}
				Err(e) => tracing::warn!(node = %url, error = %e, "cannot connect"),
			}
		}
		let pause = backoff.next().unwrap_or(Duration::from_secs(30));
		tracing::info!(seconds = pause.as_secs_f64(), "every node failed; waiting");
		tokio::time::sleep(pause).await;
	}
}

fn pauses() -> impl Iterator<Item = Duration> {
	ExponentialBuilder::default()
		.with_min_delay(Duration::from_millis(500))
		.with_max_delay(Duration::from_secs(30))
		.with_jitter()
		.without_max_times()
		.build()
}

enum Stop {
	Source(SourceError),
	Store(StoreError),
}

/// Writes the genesis state's balances if they are not yet, then every
/// finalized block past the cursor, then waits for more; ends only with an
/// error. Blocks are read ahead ([`Source::blocks`]) while the
/// earlier ones are written.
async fn catch_up(source: &Source, store: &mut Store) -> Result<Infallible, Stop> {
	if !store.has_genesis().await.map_err(Stop::Store)? {
		let genesis = source.balances_at(0).await.map_err(Stop::Source)?;
		store.write_genesis(&genesis).await.map_err(Stop::Store)?;
		tracing::info!(accounts = genesis.accounts.len(), "genesis balances indexed");
	}
	loop {
		let finalized = source.finalized().await.map_err(Stop::Source)?;
		let next = store.cursor().await.map_err(Stop::Store)?.map_or(0, |c| c.number + 1);
		let mut blocks = std::pin::pin!(source.blocks(next..=finalized));
		while let Some((number, block)) = blocks.next().await {
			let Some(block) = block.map_err(Stop::Source)? else {
				return Err(Stop::Source(SourceError::missing(number)));
			};
			store.write(&block).await.map_err(Stop::Store)?;
			if number % 1000 == 0 || number == finalized {
				tracing::info!(block = number, finalized, "indexed");
			}
		}
		tokio::time::sleep(POLL).await;
	}
}
