//! # Channels Pallet
//!
//! ## Overview
//!
//! The fast path: answers now, settlement later. A requester who wants
//! answers in milliseconds, not blocks, opens a payment channel to one
//! compute worker with a deposit, calls the worker directly, and pays with
//! each answer by signing a cumulative voucher. The worker settles whenever
//! it likes, many answers in one extrinsic, and each answer's price is
//! divided along the attribution graph exactly as a job's fee is.
//!
//! ### Terminology
//!
//! - **Channel:** a requester, a worker, a deposit held from the requester
//!   (a `fungible` hold) and an expiry block. What was settled leaves the
//!   deposit; the rest goes back to the requester when it closes.
//! - **Receipt** ([`tributary_primitives::Receipt`]): the worker's statement
//!   of one answer, numbered on its channel from 1.
//! - **Receipt chain:** the channel's receipts folded into one hash, in
//!   order ([`tributary_primitives::chain_receipt`]); the chain keeps its
//!   head at the last settlement.
//! - **Voucher** ([`tributary_primitives::Voucher`]): the requester's
//!   signature over the channel, the last sequence number it received, the
//!   total it owes and the receipt chain's head. Totals are cumulative, so
//!   the latest voucher alone is enough, and a worker cannot settle a receipt
//!   the requester never saw, or at another price.
//! - **Settlement:** the worker hands in the latest voucher and every receipt
//!   since its last settlement. The chain checks the one signature,
//!   recomputes the receipt chain, checks that the prices add up to what the
//!   voucher adds to the total, moves that much from the deposit to
//!   settlement, and has each receipt divided there.
//!
//! - **Audit share:** `AuditShare` of each settled price goes to the audit
//!   pot (this pallet's account), which pays for the audits; the rest is
//!   divided.
//! - **Batch:** what one settlement carried, kept for `ChallengeWindow`
//!   blocks: each receipt's hash and price, and which of them were sampled.
//! - **Sample:** in the block after a settlement, that block's VRF output
//!   picks receipts of it to audit, each with the chance
//!   `max(AuditRate, 2 × price / slash)`, where `slash` is what one slash of
//!   the worker takes. Neither the worker nor the author of the block that
//!   carried the settlement knows that output when it is submitted or
//!   included. A wrong receipt so costs its worker, on average, at least
//!   twice what it was paid for it: the expected gain from a wrong answer
//!   is negative at any price (`../shared/DESIGN.md`).
//! - **Audit:** a sampled receipt's worker opens it with `open_audit`,
//!   handing in the receipt and its input; the chain reruns it as an
//!   ordinary compute job paid from the audit pot, drawn from the receipt's
//!   determinism class and never the worker itself. A requester may also
//!   `challenge` any receipt of a batch within the window, with a bond and
//!   paying the job itself. When the job's majority disagrees with the
//!   receipt (output hash or attribution), the worker is slashed and the
//!   requester refunded the price from the slash (`AuditFailed`); a sample
//!   left unopened when its batch's window closes counts as wrong. A
//!   receipt the majority agrees with passes (`AuditPassed`): a
//!   challenger's bond goes to the worker. A job without a majority decides
//!   nothing (`AuditInconclusive`). The auditors are paid as any job's
//!   workers are, by its fee.
//!
//! ## Interface
//!
//! Calls: `open_channel`, `top_up`, `close_channel`, `settle`,
//! `open_audit`, `challenge`. Each block, `on_initialize` samples the
//! settlements of the block before and closes those of `ChallengeWindow`
//! blocks ago (at most `MaxSettlementsPerBlock` each); audit jobs' outcomes
//! come back from the compute pallet through [`JobOutcomes`].
//!
//! A worker should settle before the channel's expiry: from then on the
//! requester may close it and take back what was not settled.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

use alloc::{collections::BTreeSet, vec::Vec};

pub mod audit;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod weights;

pub use weights::WeightInfo;

use polkadot_sdk::{
	frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, Mutate, MutateHold},
			tokens::{Fortitude, Precision, Restriction},
			Randomness,
		},
		PalletId,
	},
	frame_system::pallet_prelude::*,
	sp_core::H256,
	sp_runtime::{
		traits::{
			AccountIdConversion, CheckedAdd, CheckedSub, IdentifyAccount, One, Saturating, Verify,
			Zero,
		},
		Perbill,
	},
};
use tributary_primitives::{
	chain_receipt, Attribution, AuditJobs, AuditSlashing, ChannelId, JobId, JobOutcomes, Lookup,
	ModelId, ModelProvider, Receipt, ReceiptSettlement, SettledReceipt, Voucher, WorkerClasses,
};

/// A balance of the channels' currency.
pub type BalanceOf<T> = <<T as Config>::Currency as Inspect<
	<T as polkadot_sdk::frame_system::Config>::AccountId,
>>::Balance;
/// A channel as stored.
pub type ChannelOf<T> =
	Channel<<T as polkadot_sdk::frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
/// A receipt of this chain's accounts and balances.
pub type ReceiptOf<T> = Receipt<<T as polkadot_sdk::frame_system::Config>::AccountId, BalanceOf<T>>;

/// A payment channel from a requester to a worker.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
#[cfg_attr(
	feature = "std",
	serde(bound(
		serialize = "AccountId: serde::Serialize, Balance: core::fmt::Display, BlockNumber: serde::Serialize"
	))
)]
pub struct Channel<AccountId, Balance, BlockNumber> {
	/// Who pays: it opened the channel and signs the vouchers.
	pub requester: AccountId,
	/// Who answers and settles.
	pub worker: AccountId,
	/// Everything the requester put in; what was not settled is held.
	#[cfg_attr(feature = "std", serde(with = "tributary_primitives::decimal"))]
	pub deposit: Balance,
	/// What was settled so far: the total of the last voucher settled.
	#[cfg_attr(feature = "std", serde(with = "tributary_primitives::decimal"))]
	pub settled: Balance,
	/// The sequence number of the last receipt settled; 0 before any.
	pub sequence: u64,
	/// The receipt chain's head at the last receipt settled.
	pub receipts: H256,
	/// From this block the requester may close the channel.
	pub expiry: BlockNumber,
}

/// Identifies a settlement's batch.
pub type BatchId = u64;
/// A batch as stored.
pub type BatchOf<T> = Batch<
	<T as polkadot_sdk::frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberFor<T>,
	<T as Config>::MaxReceipts,
>;
/// An audit as stored.
pub type AuditOf<T> = Audit<<T as polkadot_sdk::frame_system::Config>::AccountId, BalanceOf<T>>;

/// What one settlement carried, kept for its sample and its challenges.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, MaxEncodedLen, TypeInfo)]
#[scale_info(skip_type_params(MaxReceipts))]
pub struct Batch<AccountId, Balance, BlockNumber, MaxReceipts: Get<u32>> {
	/// The channel settled.
	pub channel: ChannelId,
	/// The sequence number of its first receipt; the others follow.
	pub first: u64,
	/// The worker that settled it.
	pub worker: AccountId,
	/// The requester that paid.
	pub requester: AccountId,
	/// The block it was settled in.
	pub settled_at: BlockNumber,
	/// Each receipt's hash and price, in order.
	pub receipts: BoundedVec<(H256, Balance), MaxReceipts>,
	/// The receipts (their places in `receipts`) sampled and not yet opened;
	/// `None` until the batch is sampled.
	pub sampled: Option<BoundedVec<u32, MaxReceipts>>,
}

/// A receipt under audit: its job is running.
#[derive(Clone, PartialEq, Eq, Debug, Encode, Decode, MaxEncodedLen, TypeInfo)]
pub struct Audit<AccountId, Balance> {
	/// The channel the receipt was paid through.
	pub channel: ChannelId,
	/// Its sequence number there.
	pub sequence: u64,
	/// The worker that signed it.
	pub worker: AccountId,
	/// The requester it answered, refunded when it is wrong.
	pub requester: AccountId,
	/// What the requester paid for it.
	pub price: Balance,
	/// The output hash it states.
	pub output_hash: H256,
	/// The attribution it states.
	pub attribution: Attribution,
	/// Who challenged it and the bond held, unless it was sampled.
	pub challenger: Option<(AccountId, Balance)>,
}

/// Sets up what the channels benchmarks need from other pallets.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId, Signature> {
	/// Registers `who`, funded, as a worker.
	fn worker(who: &AccountId);
	/// Registers an active model whose upstream map is at its bound, trained
	/// on a datanet holding `contributions` approved contributions, and
	/// whose settlement is at its costliest (every datanet's pool payment);
	/// returns the model and them.
	fn model(
		contributions: u32,
	) -> (tributary_primitives::ModelId, alloc::vec::Vec<tributary_primitives::ContributionId>);
	/// A funded account whose key can sign, for the requester.
	fn requester() -> AccountId;
	/// `requester`'s signature over `payload`.
	fn sign(requester: &AccountId, payload: &[u8]) -> Signature;
}

#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
	use super::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency deposits are held in.
		type Currency: Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The runtime's hold reasons, of which a channel deposit is one.
		type RuntimeHoldReason: From<HoldReason>;
		/// What a requester signs vouchers with.
		type Signature: Verify<Signer: IdentifyAccount<AccountId = Self::AccountId>>
			+ Parameter
			+ DecodeWithMemTracking;
		/// The registered workers, their determinism classes and the slashes
		/// audits impose.
		type Workers: WorkerClasses<Self::AccountId>
			+ AuditSlashing<Self::AccountId, BalanceOf<Self>>;
		/// Runs audits as compute jobs.
		type Audits: AuditJobs<Self::AccountId, BalanceOf<Self>>;
		/// The randomness settlements are sampled with, read in
		/// `on_initialize`: the VRF output of the block being executed, or
		/// `None` in a block without one.
		type Randomness: Randomness<Option<H256>, BlockNumberFor<Self>>;
		/// The audit pot's account is derived from it.
		#[pallet::constant]
		type PalletId: Get<PalletId>;
		/// The part of each settled price that goes to the audit pot.
		#[pallet::constant]
		type AuditShare: Get<Perbill>;
		/// The least chance a settled receipt is audited.
		#[pallet::constant]
		type AuditRate: Get<Perbill>;
		/// How many blocks after a settlement its samples may be opened and
		/// its receipts challenged; at least 2.
		#[pallet::constant]
		type ChallengeWindow: Get<BlockNumberFor<Self>>;
		/// What a requester puts up to challenge a receipt: back when the
		/// receipt was wrong, to the worker when it was right.
		#[pallet::constant]
		type ChallengeBond: Get<BalanceOf<Self>>;
		/// The most settlements one block takes.
		#[pallet::constant]
		type MaxSettlementsPerBlock: Get<u32>;
		/// The longest input an audit reruns.
		#[pallet::constant]
		type MaxInputLen: Get<u32>;
		/// The registered models.
		type Models: ModelProvider<Self::AccountId, BalanceOf<Self>>;
		/// Where settled prices are divided.
		type Settlement: ReceiptSettlement<Self::AccountId, BalanceOf<Self>>;
		/// The least deposit a channel opens with.
		#[pallet::constant]
		type MinDeposit: Get<BalanceOf<Self>>;
		/// The longest a channel may run before its requester may close it.
		#[pallet::constant]
		type MaxLifetime: Get<BlockNumberFor<Self>>;
		/// The most receipts one settlement may carry.
		#[pallet::constant]
		type MaxReceipts: Get<u32>;
		/// The most distinct models one settlement's receipts may be of.
		#[pallet::constant]
		type MaxSettledModels: Get<u32>;
		/// The most distinct contributions one settlement's receipts may name.
		#[pallet::constant]
		type MaxSettledContributions: Get<u32>;
		/// Sets up the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper<Self::AccountId, Self::Signature>;
		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A requester's channel deposit, not yet settled.
		ChannelDeposit,
		/// A requester's bond on a receipt it challenged.
		ChallengeBond,
	}

	/// The id the next channel gets.
	#[pallet::storage]
	pub type NextChannelId<T: Config> = StorageValue<_, ChannelId, ValueQuery>;

	/// Every open channel.
	#[pallet::storage]
	pub type Channels<T: Config> = StorageMap<_, Blake2_128Concat, ChannelId, ChannelOf<T>>;

	/// The id the next batch gets.
	#[pallet::storage]
	pub type NextBatchId<T: Config> = StorageValue<_, BatchId, ValueQuery>;

	/// Every settlement of the last `ChallengeWindow` blocks.
	#[pallet::storage]
	pub type Batches<T: Config> = StorageMap<_, Twox64Concat, BatchId, BatchOf<T>>;

	/// The batches settled in each of the last `ChallengeWindow` blocks:
	/// sampled in the next block, closed `ChallengeWindow` blocks on.
	#[pallet::storage]
	pub type SettledIn<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<BatchId, T::MaxSettlementsPerBlock>,
		ValueQuery,
	>;

	/// The receipts under audit, by their audit job.
	#[pallet::storage]
	pub type Audits<T: Config> = StorageMap<_, Twox64Concat, JobId, AuditOf<T>>;

	/// The audit job of each receipt under audit, by channel and sequence
	/// number: a receipt is audited once at a time.
	#[pallet::storage]
	pub type Audited<T: Config> =
		StorageDoubleMap<_, Twox64Concat, ChannelId, Twox64Concat, u64, JobId>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A channel was opened and its deposit held.
		ChannelOpened {
			/// The channel.
			channel_id: ChannelId,
			/// Who pays.
			requester: T::AccountId,
			/// Who answers.
			worker: T::AccountId,
			/// The deposit held.
			deposit: BalanceOf<T>,
			/// From this block the requester may close it.
			expiry: BlockNumberFor<T>,
		},
		/// A channel's deposit grew.
		ChannelToppedUp {
			/// The channel.
			channel_id: ChannelId,
			/// What was added.
			amount: BalanceOf<T>,
			/// The deposit now, settled part included.
			deposit: BalanceOf<T>,
		},
		/// Receipts were settled: their prices left the deposit, the audit
		/// share went to the audit pot and the rest was divided (one
		/// `Rewards::ReceiptsSettled` for them all).
		ReceiptsSettled {
			/// The channel.
			channel_id: ChannelId,
			/// How many receipts.
			count: u32,
			/// What they cost together.
			amount: BalanceOf<T>,
			/// The batch that keeps them for sampling and challenges.
			batch_id: BatchId,
			/// What went to the audit pot.
			audit_share: BalanceOf<T>,
		},
		/// A settlement's receipts were sampled: the worker must open each
		/// sampled one with `open_audit` within the challenge window.
		AuditSampled {
			/// The batch.
			batch_id: BatchId,
			/// The channel.
			channel_id: ChannelId,
			/// The worker that must open them.
			worker: T::AccountId,
			/// The sampled receipts' sequence numbers.
			sequences: Vec<u64>,
		},
		/// A receipt's audit job was submitted.
		AuditStarted {
			/// The channel.
			channel_id: ChannelId,
			/// The receipt's sequence number.
			sequence: u64,
			/// The audit job.
			job_id: JobId,
			/// Who challenged it, unless it was sampled.
			challenger: Option<T::AccountId>,
		},
		/// A sampled receipt was not audited: the audit pot could not pay for
		/// its job.
		AuditWaived {
			/// The channel.
			channel_id: ChannelId,
			/// The receipt's sequence number.
			sequence: u64,
		},
		/// The audit's majority agreed with the receipt.
		AuditPassed {
			/// The channel.
			channel_id: ChannelId,
			/// The receipt's sequence number.
			sequence: u64,
			/// The audit job.
			job_id: JobId,
		},
		/// The receipt was wrong (or its worker did not open it in time): the
		/// worker was slashed and the requester refunded from the slash.
		AuditFailed {
			/// The channel.
			channel_id: ChannelId,
			/// The receipt's sequence number.
			sequence: u64,
			/// The worker slashed.
			worker: T::AccountId,
			/// What the requester got back.
			refunded: BalanceOf<T>,
			/// The audit job; `None` when the receipt was never opened.
			job_id: Option<JobId>,
		},
		/// The audit job ended without a majority: nothing was decided and a
		/// challenger's bond went back.
		AuditInconclusive {
			/// The channel.
			channel_id: ChannelId,
			/// The receipt's sequence number.
			sequence: u64,
			/// The audit job.
			job_id: JobId,
		},
		/// A channel was closed and what was not settled went back.
		ChannelClosed {
			/// The channel.
			channel_id: ChannelId,
			/// What went back to the requester.
			refunded: BalanceOf<T>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No open channel has this id.
		UnknownChannel,
		/// The account named as the worker is not a registered worker.
		NotAWorker,
		/// A requester cannot open a channel to itself.
		OwnChannel,
		/// The deposit is below `MinDeposit`.
		DepositTooLow,
		/// The requester cannot put up that much (free balance, existential
		/// deposit kept).
		InsufficientBalance,
		/// The expiry must be after the current block and at most
		/// `MaxLifetime` blocks ahead.
		BadExpiry,
		/// Only the channel's requester may do this.
		NotRequester,
		/// Only the channel's worker may settle it.
		NotWorker,
		/// The channel has expired: it takes no more deposit.
		Expired,
		/// The requester may close the channel only from its expiry on.
		NotExpired,
		/// A top-up must add something.
		ZeroAmount,
		/// A settlement carries at least one receipt.
		NoReceipts,
		/// The voucher is for another channel.
		WrongChannel,
		/// The voucher's signature is not the requester's.
		BadSignature,
		/// The receipts are not numbered on from the last settled one, up to
		/// the voucher's sequence number.
		BadSequence,
		/// A receipt names another channel or another worker.
		ForeignReceipt,
		/// A receipt's class is not the worker's determinism class.
		WrongClass,
		/// A receipt names a model that is not registered.
		UnknownModel,
		/// The receipts do not chain to the voucher's head: the requester did
		/// not see them as they are.
		ReceiptsMismatch,
		/// The receipts' prices do not add up to what the voucher adds to the
		/// settled total.
		PriceMismatch,
		/// The voucher's total is over the channel's deposit.
		OverDeposit,
		/// This block has taken `MaxSettlementsPerBlock` settlements; settle
		/// in the next.
		TooManySettlements,
		/// The receipts are of more than `MaxSettledModels` models; settle
		/// fewer at once.
		TooManyModels,
		/// The receipts name more than `MaxSettledContributions`
		/// contributions; settle fewer at once.
		TooManyContributions,
		/// No batch has this id: it was never settled, or its challenge
		/// window is over.
		UnknownBatch,
		/// The batch holds no receipt of that sequence number.
		NotInBatch,
		/// The receipt was not sampled for an audit, or was opened already.
		NotSampled,
		/// The receipt is not the one the batch holds under that sequence
		/// number.
		WrongReceipt,
		/// The input's hash is not the receipt's input hash.
		WrongInput,
		/// The input is longer than `MaxInputLen`.
		InputTooLong,
		/// The receipt is under audit already.
		AlreadyAudited,
		/// The batch has not been sampled yet: open its samples from the
		/// next block on.
		NotSampledYet,
		/// The compute queue is full: open the receipt again in a later
		/// block, within the challenge window.
		AuditQueueFull,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			let (sampled, receipts) = Self::sample(now);
			let (closed, failed) = Self::close_batches(now);
			T::WeightInfo::on_initialize(sampled, receipts, closed, failed)
		}

		fn integrity_test() {
			let two: BlockNumberFor<T> = 2u32.into();
			// Batches are sampled in the block after their settlement and
			// closed `ChallengeWindow` blocks after it: closing must come after.
			assert!(T::ChallengeWindow::get() >= two, "ChallengeWindow must be at least 2");
			assert!(
				T::MaxSettlementsPerBlock::get() >= 1,
				"MaxSettlementsPerBlock must be at least 1"
			);
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Opens a channel from the caller to `worker`, holding `deposit`
		/// from the caller until the channel closes; the caller may close it
		/// from block `expiry` on.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::open_channel())]
		pub fn open_channel(
			origin: OriginFor<T>,
			worker: T::AccountId,
			deposit: BalanceOf<T>,
			expiry: BlockNumberFor<T>,
		) -> DispatchResult {
			let requester = ensure_signed(origin)?;
			ensure!(requester != worker, Error::<T>::OwnChannel);
			ensure!(T::Workers::class(&worker).is_some(), Error::<T>::NotAWorker);
			ensure!(deposit >= T::MinDeposit::get(), Error::<T>::DepositTooLow);
			let now = polkadot_sdk::frame_system::Pallet::<T>::block_number();
			ensure!(
				expiry > now && expiry <= now.saturating_add(T::MaxLifetime::get()),
				Error::<T>::BadExpiry
			);
			Self::hold(&requester, deposit)?;
			let channel_id = NextChannelId::<T>::get();
			NextChannelId::<T>::put(channel_id.saturating_add(1));
			Channels::<T>::insert(
				channel_id,
				Channel {
					requester: requester.clone(),
					worker: worker.clone(),
					deposit,
					settled: Zero::zero(),
					sequence: 0,
					receipts: H256::zero(),
					expiry,
				},
			);
			Self::deposit_event(Event::ChannelOpened {
				channel_id,
				requester,
				worker,
				deposit,
				expiry,
			});
			Ok(())
		}

		/// Adds `amount` to the deposit of the caller's channel `channel_id`,
		/// held like the rest, before the channel expires.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::top_up())]
		pub fn top_up(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut channel = Channels::<T>::get(channel_id).ok_or(Error::<T>::UnknownChannel)?;
			ensure!(channel.requester == who, Error::<T>::NotRequester);
			ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
			let now = polkadot_sdk::frame_system::Pallet::<T>::block_number();
			ensure!(now < channel.expiry, Error::<T>::Expired);
			Self::hold(&who, amount)?;
			channel.deposit = channel.deposit.saturating_add(amount);
			let deposit = channel.deposit;
			Channels::<T>::insert(channel_id, channel);
			Self::deposit_event(Event::ChannelToppedUp { channel_id, amount, deposit });
			Ok(())
		}

		/// Closes channel `channel_id` and gives the requester back what was
		/// not settled: by its requester from its expiry on, or by its worker
		/// at any time (giving up what it did not settle).
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::close_channel())]
		pub fn close_channel(origin: OriginFor<T>, channel_id: ChannelId) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let channel = Channels::<T>::get(channel_id).ok_or(Error::<T>::UnknownChannel)?;
			if who != channel.worker {
				ensure!(who == channel.requester, Error::<T>::NotRequester);
				let now = polkadot_sdk::frame_system::Pallet::<T>::block_number();
				ensure!(now >= channel.expiry, Error::<T>::NotExpired);
			}
			let held = channel.deposit.saturating_sub(channel.settled);
			let refunded = T::Currency::release(
				&HoldReason::ChannelDeposit.into(),
				&channel.requester,
				held,
				Precision::BestEffort,
			)?;
			Channels::<T>::remove(channel_id);
			Self::deposit_event(Event::ChannelClosed { channel_id, refunded });
			Ok(())
		}

		/// Settles `receipts`, every receipt of channel `channel_id` since
		/// its last settlement, under the requester's `voucher` for them,
		/// signed `signature`. Only the channel's worker may; the prices
		/// leave the deposit and are divided along the attribution graph,
		/// each beneficiary credited once for all the receipts.
		#[pallet::call_index(3)]
		#[pallet::weight(Pallet::<T>::settle_weight(receipts))]
		pub fn settle(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			voucher: Voucher<BalanceOf<T>>,
			signature: T::Signature,
			receipts: BoundedVec<ReceiptOf<T>, T::MaxReceipts>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			let mut channel = Channels::<T>::get(channel_id).ok_or(Error::<T>::UnknownChannel)?;
			ensure!(channel.worker == who, Error::<T>::NotWorker);
			ensure!(voucher.channel == channel_id, Error::<T>::WrongChannel);
			ensure!(!receipts.is_empty(), Error::<T>::NoReceipts);
			ensure!(
				signature.verify(&voucher.signing_payload()[..], &channel.requester),
				Error::<T>::BadSignature
			);
			let shape = Shape::of(&receipts);
			ensure!(shape.model_count() <= T::MaxSettledModels::get(), Error::<T>::TooManyModels);
			ensure!(
				shape.contributions <= T::MaxSettledContributions::get(),
				Error::<T>::TooManyContributions
			);
			for model in &shape.models {
				ensure!(T::Models::exists(*model), Error::<T>::UnknownModel);
			}
			let (amount, receipt_prices) =
				Self::check_receipts(channel_id, &channel, &voucher, &receipts)?;
			let now = polkadot_sdk::frame_system::Pallet::<T>::block_number();
			let batch_id = NextBatchId::<T>::get();
			SettledIn::<T>::try_append(now, batch_id)
				.map_err(|_| Error::<T>::TooManySettlements)?;
			let share = T::AuditShare::get();
			let audit_share = receipts
				.iter()
				.fold(BalanceOf::<T>::zero(), |sum, r| sum.saturating_add(share * r.price));
			for (to, part) in [
				(Self::audit_pot(), audit_share),
				(T::Settlement::account(), amount.saturating_sub(audit_share)),
			] {
				if !part.is_zero() {
					T::Currency::transfer_on_hold(
						&HoldReason::ChannelDeposit.into(),
						&channel.requester,
						&to,
						part,
						Precision::Exact,
						Restriction::Free,
						Fortitude::Polite,
					)?;
				}
			}
			let settled: Vec<_> = receipts
				.iter()
				.map(|receipt| SettledReceipt {
					sequence: receipt.sequence,
					model: receipt.model,
					price: receipt.price.saturating_sub(share * receipt.price),
					worker: &receipt.worker,
					attribution: &receipt.attribution,
				})
				.collect();
			T::Settlement::settle(channel_id, &settled)?;
			NextBatchId::<T>::put(batch_id.saturating_add(1));
			Batches::<T>::insert(
				batch_id,
				Batch {
					channel: channel_id,
					first: channel.sequence.saturating_add(1),
					worker: channel.worker.clone(),
					requester: channel.requester.clone(),
					settled_at: now,
					receipts: receipt_prices,
					sampled: None,
				},
			);
			channel.settled = voucher.total;
			channel.sequence = voucher.sequence;
			channel.receipts = voucher.receipts;
			Channels::<T>::insert(channel_id, channel);
			Self::deposit_event(Event::ReceiptsSettled {
				channel_id,
				count: receipts.len() as u32,
				amount,
				batch_id,
				audit_share,
			});
			Ok(())
		}

		/// Opens receipt `sequence` of batch `batch_id`, sampled for an
		/// audit: `receipt` must be the one settled there and `input` hash to its
		/// input hash. Its audit job is submitted, paid from the audit pot
		/// (or waived when the pot cannot pay, or the model was retired).
		/// Anyone may open it; the worker must, before the batch's challenge
		/// window closes.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::open_audit(input.len() as u32))]
		pub fn open_audit(
			origin: OriginFor<T>,
			batch_id: BatchId,
			sequence: u64,
			receipt: ReceiptOf<T>,
			input: BoundedVec<u8, T::MaxInputLen>,
		) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_open_audit(batch_id, sequence, receipt, input)
		}

		/// Challenges receipt `sequence` of batch `batch_id`, one the caller
		/// paid for: `receipt` must be the one settled there and `input`
		/// hash to its input hash. Holds `ChallengeBond` from the caller and
		/// submits the audit job with the caller paying its fee (at most
		/// `max_fee`). Within the batch's challenge window only.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::challenge(input.len() as u32))]
		pub fn challenge(
			origin: OriginFor<T>,
			batch_id: BatchId,
			sequence: u64,
			receipt: ReceiptOf<T>,
			input: BoundedVec<u8, T::MaxInputLen>,
			max_fee: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_challenge(&who, batch_id, sequence, receipt, input, max_fee)
		}
	}
}

/// What a settlement's division costs follows: how many attribution
/// entries its receipts hold, and how many distinct models and
/// contributions they name.
struct Shape {
	entries: u32,
	models: BTreeSet<ModelId>,
	contributions: u32,
}

impl Shape {
	fn of<AccountId, Balance>(receipts: &[Receipt<AccountId, Balance>]) -> Self {
		let mut models = BTreeSet::new();
		let mut contributions = BTreeSet::new();
		let mut entries = 0u32;
		for receipt in receipts {
			models.insert(receipt.model);
			entries = entries.saturating_add(receipt.attribution.len() as u32);
			contributions.extend(receipt.attribution.iter().map(|&(contribution, _)| contribution));
		}
		Self { entries, models, contributions: contributions.len() as u32 }
	}

	fn model_count(&self) -> u32 {
		self.models.len() as u32
	}
}

impl<T: Config> Pallet<T> {
	/// Channel `channel_id` while it is open; `Pruned` once it was closed
	/// (ids are never reused), `Unknown` for an id never given out.
	pub fn lookup(channel_id: ChannelId) -> Lookup<ChannelOf<T>> {
		match Channels::<T>::get(channel_id) {
			Some(channel) => Lookup::Found(channel),
			None if channel_id < NextChannelId::<T>::get() => Lookup::Pruned,
			None => Lookup::Unknown,
		}
	}

	/// What settling `receipts` costs: the benchmark of as many receipts
	/// without attribution, all of one model (whose upstream map is at its
	/// bound), and what their attribution entries, their other models and
	/// the distinct contributions they name add to the division.
	pub fn settle_weight(receipts: &[ReceiptOf<T>]) -> Weight {
		let shape = Shape::of(receipts);
		T::WeightInfo::settle(receipts.len() as u32).saturating_add(T::Settlement::division_weight(
			shape.entries,
			shape.model_count(),
			shape.contributions,
		))
	}

	/// Checks that `receipts` are the channel's next ones, by its worker in
	/// its class, that they chain to the voucher's
	/// head, and that their prices add up to what the voucher adds, within
	/// the deposit; returns that amount and each receipt's hash and price.
	#[allow(clippy::type_complexity)]
	fn check_receipts(
		channel_id: ChannelId,
		channel: &ChannelOf<T>,
		voucher: &Voucher<BalanceOf<T>>,
		receipts: &BoundedVec<ReceiptOf<T>, T::MaxReceipts>,
	) -> Result<(BalanceOf<T>, BoundedVec<(H256, BalanceOf<T>), T::MaxReceipts>), DispatchError> {
		let class = T::Workers::class(&channel.worker).ok_or(Error::<T>::NotAWorker)?;
		let mut head = channel.receipts;
		let mut sum = BalanceOf::<T>::zero();
		let mut hashes = Vec::with_capacity(receipts.len());
		for (n, receipt) in (1u64..).zip(receipts) {
			ensure!(
				receipt.channel == channel_id && receipt.worker == channel.worker,
				Error::<T>::ForeignReceipt
			);
			ensure!(
				receipt.sequence == channel.sequence.saturating_add(n),
				Error::<T>::BadSequence
			);
			ensure!(receipt.class == class, Error::<T>::WrongClass);
			let hash = receipt.hash();
			head = chain_receipt(&head, &hash);
			sum = sum.checked_add(&receipt.price).ok_or(Error::<T>::PriceMismatch)?;
			hashes.push((hash, receipt.price));
		}
		let last = channel.sequence.saturating_add(receipts.len() as u64);
		ensure!(voucher.sequence == last, Error::<T>::BadSequence);
		ensure!(head == voucher.receipts, Error::<T>::ReceiptsMismatch);
		let added = voucher.total.checked_sub(&channel.settled).ok_or(Error::<T>::PriceMismatch)?;
		ensure!(added == sum, Error::<T>::PriceMismatch);
		ensure!(voucher.total <= channel.deposit, Error::<T>::OverDeposit);
		// As many as `receipts`, which has the same bound: nothing is cut.
		Ok((sum, BoundedVec::truncate_from(hashes)))
	}

	/// The audit pot's account: it receives the audit share of every
	/// settlement and pays for sampled receipts' audit jobs.
	pub fn audit_pot() -> T::AccountId {
		T::PalletId::get().into_account_truncating()
	}

	fn hold(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		Self::hold_for(HoldReason::ChannelDeposit, who, amount)
	}

	fn hold_for(reason: HoldReason, who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		T::Currency::hold(&reason.into(), who, amount)
			.map_err(|_| Error::<T>::InsufficientBalance.into())
	}
}
