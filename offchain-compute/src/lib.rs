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
//! follower ─▶ admission ─▶ executor (libtorch) ─▶ recorder ─▶ journal ─▶ steps ─▶ submitter ─▶ node
//! best blocks  declared models,   bounded by the     bounded     (SQLite,    commit,   journaled
//! from 1 of N  capacity; fetches  declared capacity  channel     shared with reveal,   nonces, gaps
//! nodes                                                           operators)  decline   repaired
//! ```
//!
//! Each stage owns its state; the journal is the one thing they share, and
//! it is shared with the operator's commands in other processes too.
//!
//! - [`text`]: contributions as labelled examples; text as hashed n-grams.
//! - [`corpus`]: a real corpus (Debian's `fortunes`) as datanets' files.
//! - [`model`]: the model kinds, a classifier, a language model and a
//!   language model's low-rank adapter: training, the artifact and its
//!   attribution index.
//! - [`attribution`]: scoring a classifier's answer against its index.
//! - [`spans`]: exact span attribution of generated text (suffix arrays).
//! - [`attribution_bench`]: how often attribution finds the contribution an
//!   answer came from, on the real corpus.
//! - [`language_bench`]: the language model kind's serving and attribution
//!   costs.
//! - [`adapter_bench`]: adapters over one resident base against full models.
//! - [`content`]: content-addressed, hash-verified files.
//! - [`fetch`]: model files fetched from their URIs, verified, cached.
//! - [`verify`]: a model's index checked against the chain and the
//!   contributions' texts before the model is served.
//! - [`publish`]: `serve-content`, a content directory over HTTP.
//! - [`engine`]: the determinism class this machine computes in.
//! - [`follower`]: the connection to one of the nodes, failover and backoff.
//! - [`admission`]: what the worker serves and takes on, and its fetches.
//! - [`executor`]: the bounded pool that runs models.
//! - [`recorder`]: the executor's answers journaled as they come.
//! - [`journal`]: every job's state, result and salt, and every nonce signed.
//! - [`keys`]: the signing key, and the salts derived from it.
//! - [`chain`]: the subxt client, typed from the runtime's metadata.
//! - [`submitter`]: nonces journaled before sending; gaps repaired.
//! - [`stop`]: why following the chain stopped.
//! - [`worker`]: the daemon that joins them and takes each job's next step.
//! - [`metrics`]: Prometheus.
//! - [`health`]: `/metrics` and `/health` for operators.
//! - [`operator`]: the operator's commands, sharing the daemon's journal.
//! - [`fastpath`]: answers on payment channels, with signed receipts.
//! - [`ledger`]: the receipts and vouchers of each channel, durable.
//! - [`rpc`]: the fast path's JSON-RPC API.
//! - [`requester`]: `ask`, the requester's side: channels, checked receipts.

pub mod adapter_bench;
pub mod admission;
pub mod attribution;
pub mod attribution_bench;
pub mod bench;
pub mod chain;
pub mod cli;
pub mod content;
pub mod corpus;
pub mod engine;
pub mod executor;
pub mod fastpath;
pub mod fastpath_bench;
pub mod fetch;
pub mod follower;
pub mod health;
pub mod journal;
pub mod keys;
pub mod language_bench;
pub mod ledger;
pub mod metrics;
pub mod model;
pub mod operator;
pub mod publish;
pub mod recorder;
pub mod requester;
pub mod rpc;
pub mod spans;
pub mod stop;
pub mod submitter;
pub mod text;
pub mod verify;
pub mod worker;

// Only the containment tests read TorchScript archives.
#[cfg(test)]
use zip as _;
