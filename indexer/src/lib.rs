//! Tributary's indexer: a process apart from the chain, which never waits
//! for it, that follows finalized blocks from any node into PostgreSQL and
//! answers history questions over HTTP.
//!
//! - [`source`]: finalized blocks, decoded with each block's own metadata.
//! - [`json`]: decoded values as explorers' JSON.
//! - [`store`]: the schema (migrations) and one transaction per block.
//! - [`follow`]: the loop that keeps the database at finality.
//! - [`api`]: the paginated, bounded query API.
//! - [`earnings`]: where the money went, beneficiary by beneficiary.
//! - [`explorer`]: the explorer page and the answers it draws.
//! - [`reconcile`]: the database checked against the chain.

pub mod api;
pub mod earnings;
pub mod explorer;
pub mod follow;
pub mod json;
pub mod reconcile;
pub mod source;
pub mod store;

// The binary's own dependencies (its command line and logging), which the
// library does not use.
use {anyhow as _, clap as _, tracing_subscriber as _};
