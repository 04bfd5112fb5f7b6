//! # Tributary compute worker
//!
//! The daemon compute operators run beside a Tributary node, and its library.
//! It trains models on datanet contributions (`tributary-worker train`), runs
//! them with libtorch on the jobs the chain assigns to it, computes each
//! answer's Proof of Attribution, and commits and reveals the result on chain,
//! without ever losing a salt or sending a step twice. It declares on chain
//! which models it serves and the engine it computes on (its determinism
//! class), and declines, at no stake, a job whose model it cannot run.
//!
//! ## Stages
//!
//! ```text
//! best blocks ─▶ assignments ─▶ bounded executor (libtorch) ─▶ journal ─▶ submitter ─▶ node
//!                  ▲ admission by declared capacity               (SQLite)   ▲ nonces, backoff
//! ```
//!
//! - [`text`]: contributions as labelled examples; text as hashed n-grams.
//! - [`model`]: training, the TorchScript artifact and its attribution index.
//! - [`attribution`]: scoring an answer against the index.
//! - [`content`]: content-addressed, hash-verified files.
//! - [`fetch`]: model files fetched from their URIs, verified, cached.
//! - [`publish`]: `serve-content`, a content directory over HTTP.
//! - [`engine`]: the determinism class this machine computes in.
//! - [`executor`]: the bounded pool that runs models.
//! - [`journal`]: every job's state, result and salt, and every nonce signed.
//! - [`keys`]: the signing key, and the salts derived from it.
//! - [`chain`]: the subxt client, typed from the runtime's metadata.
//! - [`submitter`]: nonces journaled before sending; gaps repaired.
//! - [`stop`]: why following the chain stopped.
//! - [`worker`]: the daemon that joins them, with backoff on node failure.
//! - [`metrics`]: Prometheus.
//! - [`health`]: `/metrics` and `/health` for operators.
//! - [`operator`]: the operator's commands, sharing the daemon's journal.

pub mod attribution;
pub mod bench;
pub mod chain;
pub mod cli;
pub mod content;
pub mod engine;
pub mod executor;
pub mod fetch;
pub mod health;
pub mod journal;
pub mod keys;
pub mod metrics;
pub mod model;
pub mod operator;
pub mod publish;
pub mod stop;
pub mod submitter;
pub mod text;
pub mod worker;
