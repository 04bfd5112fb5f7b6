//! # Tributary primitives
//!
//! The types and hashes that the runtime, the node and the compute worker must
//! agree on byte for byte. Both sides depend on this one `no_std` crate, so a
//! commitment computed by a worker is the commitment the chain checks.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use polkadot_sdk::sp_runtime::{
	traits::{IdentifyAccount, Verify},
	MultiSignature,
};

/// A block number.
pub type BlockNumber = u32;
/// A transaction signature: sr25519, ed25519 or ecdsa.
pub type Signature = MultiSignature;
/// An account: the public key of the key that signs for it.
pub type AccountId = <<Signature as Verify>::Signer as IdentifyAccount>::AccountId;
/// A balance in the smallest unit of TRIB (12 decimals).
pub type Balance = u128;
/// A transaction counter per account.
pub type Nonce = u32;
/// A blake2-256 hash: of blocks, of content, of models.
pub type Hash = polkadot_sdk::sp_core::H256;

pub mod api;
pub mod attribution;
pub mod channels;
pub mod compute;
pub mod decimal;
pub mod funds;
pub mod lookup;
pub mod registry;

pub use attribution::{AttributionGraph, Beneficiary, Split, TrainingEdge};
pub use channels::{
	chain_receipt, AuditSlashing, ChannelId, Receipt, ReceiptSettlement, SettledReceipt, Voucher,
	WorkerClasses,
};
pub use compute::{
	commitment, determinism_class, output_hash, Attribution, AuditJobs, Candidate, CompletedJob,
	FailureReason, JobOutcomes, JobSettlement, JobStatus, QueueInfo, Salt, SlashReason,
	WorkerResult, WorkerStaking, MAX_ATTRIBUTION_ENTRIES,
};
pub use funds::funds_error;
pub use lookup::Lookup;

pub use registry::{
	ContributionHooks, ContributionProvider, ContributionRecord, ContributionStatus, ModelProvider,
};

/// Identifies a datanet: a community dataset.
pub type DatanetId = u64;
/// Numbers a datanet's training snapshots from 1: the contributions approved
/// when a model was registered with the datanet.
pub type SnapshotId = u32;
/// Identifies one contribution of data to a datanet.
pub type ContributionId = u64;
/// Identifies a registered model.
pub type ModelId = u64;
/// Identifies a registered agent.
pub type AgentId = u64;
/// Identifies an inference job.
pub type JobId = u64;
