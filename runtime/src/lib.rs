//! # Tributary runtime
//!
//! The state transition function of the Tributary chain: FRAME's system,
//! consensus (BABE block authoring, GRANDPA finality), balances and fees, and
//! the Tributary pallets for data, models, compute and settlement as they land.
//!
//! The runtime builds twice: natively (feature `std`, for the node and tests)
//! and to WASM (`wasm32v1-none`, the on-chain code in the genesis state).

#![cfg_attr(not(feature = "std"), no_std)]
// `construct_runtime!` and `impl_runtime_apis!` expand to items without docs.
#![allow(missing_docs)]
#![recursion_limit = "256"]

#[cfg(feature = "std")]
include!(concat!(env!("OUT_DIR"), "/wasm_binary.rs"));

extern crate alloc;

// `impl_opaque_keys!` and `#[runtime]` expand to code naming `Vec`.
use alloc::vec::Vec;

pub mod apis;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
#[cfg(test)]
mod block_budget;
pub mod configs;
pub mod genesis_config_presets;
pub mod randomness;
#[cfg(test)]
mod worker_metadata;

use polkadot_sdk::{
	frame_executive, frame_support, frame_system, pallet_babe, pallet_balances, pallet_grandpa,
	pallet_sudo, pallet_timestamp, pallet_transaction_payment,
	sp_runtime::{generic, impl_opaque_keys, traits::BlakeTwo256, MultiAddress},
	sp_version::{runtime_version, RuntimeVersion},
};

pub use tributary_primitives::{AccountId, Balance, BlockNumber, Hash, Nonce, Signature};

/// The runtime's identity: clients compare `spec_version` to know when the
/// metadata they decode with has changed.
#[runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("tributary"),
	impl_name: alloc::borrow::Cow::Borrowed("tributary"),
	authoring_version: 1,
	spec_version: 100,
	impl_version: 1,
	apis: apis::RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// Target block time on a network of validators; `--dev` seals faster.
pub const MILLISECS_PER_BLOCK: u64 = 6000;
/// BABE's slot length. It cannot change once the chain has started.
pub const SLOT_DURATION: u64 = MILLISECS_PER_BLOCK;
/// BABE's epoch: an hour of slots. Authorities and epoch randomness change
/// at epoch boundaries.
pub const EPOCH_DURATION_IN_SLOTS: u64 = 60 * 60 * 1000 / SLOT_DURATION;
/// BABE's genesis epoch configuration: a slot has a primary (VRF-won) author
/// with probability 1/4, and every other slot a secondary author chosen by
/// slot number who still proves a VRF output, so that every block carries
/// one: the compute market draws workers with it.
pub const BABE_GENESIS_EPOCH_CONFIG: polkadot_sdk::sp_consensus_babe::BabeEpochConfiguration =
	polkadot_sdk::sp_consensus_babe::BabeEpochConfiguration {
		c: (1, 4),
		allowed_slots: polkadot_sdk::sp_consensus_babe::AllowedSlots::PrimaryAndSecondaryVRFSlots,
	};

/// One TRIB in its smallest unit (12 decimals).
pub const TRIB: Balance = 1_000_000_000_000;
/// A thousandth of a TRIB.
pub const MILLI_TRIB: Balance = TRIB / 1_000;
/// The smallest balance an account may hold; below it the account is reaped.
pub const EXISTENTIAL_DEPOSIT: Balance = MILLI_TRIB;

/// The token's symbol, as wallets and explorers show it.
pub const TOKEN_SYMBOL: &str = "TRIB";
/// Decimal places of the token.
pub const TOKEN_DECIMALS: u8 = 12;
/// Tributary's SS58 address prefix.
pub const SS58_PREFIX: u16 = 7390;

/// Types the node needs without knowing the runtime's extrinsic format.
pub mod opaque {
	use super::*;
	pub use polkadot_sdk::sp_runtime::OpaqueExtrinsic as UncheckedExtrinsic;

	/// Opaque block header.
	pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
	/// Opaque block.
	pub type Block = generic::Block<Header, UncheckedExtrinsic>;

	impl_opaque_keys! {
		/// The keys a validator holds: BABE to author, GRANDPA to finalize.
		pub struct SessionKeys {
			pub babe: Babe,
			pub grandpa: Grandpa,
		}
	}
}

#[frame_support::runtime]
mod runtime {
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	#[runtime::pallet_index(0)]
	pub type System = frame_system;
	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp;
	#[runtime::pallet_index(2)]
	pub type Babe = pallet_babe;
	#[runtime::pallet_index(3)]
	pub type Grandpa = pallet_grandpa;
	#[runtime::pallet_index(4)]
	pub type Balances = pallet_balances;
	#[runtime::pallet_index(5)]
	pub type TransactionPayment = pallet_transaction_payment;
	#[runtime::pallet_index(6)]
	pub type Sudo = pallet_sudo;

	#[runtime::pallet_index(10)]
	pub type Attribution = pallet_attribution;
	#[runtime::pallet_index(11)]
	pub type Registry = pallet_registry;
	#[runtime::pallet_index(12)]
	pub type WorkerStaking = pallet_worker_staking;
	#[runtime::pallet_index(13)]
	pub type Compute = pallet_compute;
	#[runtime::pallet_index(14)]
	pub type Rewards = pallet_rewards;
	#[runtime::pallet_index(15)]
	pub type Channels = pallet_channels;
}

/// A compute job as the `ComputeApi` returns it.
pub type ComputeJob = pallet_compute::JobOf<Runtime>;
/// A compute worker as the `ComputeApi` returns it.
pub type ComputeWorker = pallet_worker_staking::WorkerOf<Runtime>;
/// A payment channel as the `ChannelsApi` returns it.
pub type PaymentChannel = pallet_channels::ChannelOf<Runtime>;

/// How an extrinsic names an account.
pub type Address = MultiAddress<AccountId, ()>;
/// Block header.
pub type Header = generic::Header<BlockNumber, BlakeTwo256>;
/// Block.
pub type Block = generic::Block<Header, UncheckedExtrinsic>;

/// The checks every signed transaction passes, in order; polkadot.js builds
/// these from the metadata.
pub type TxExtension = (
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
	frame_system::WeightReclaim<Runtime>,
);

/// An extrinsic as it travels on the wire.
pub type UncheckedExtrinsic =
	generic::UncheckedExtrinsic<Address, RuntimeCall, Signature, TxExtension>;
/// The payload a transaction's signer signs.
pub type SignedPayload = generic::SignedPayload<RuntimeCall, TxExtension>;

/// Dispatches blocks and extrinsics to the pallets.
pub type Executive = frame_executive::Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
>;
