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
//! ## Interface
//!
//! Calls: `open_channel`, `top_up`, `close_channel`, `settle`.
//!
//! A worker should settle before the channel's expiry: from then on the
//! requester may close it and take back what was not settled.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

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
		},
	},
	frame_system::pallet_prelude::*,
	sp_core::H256,
	sp_runtime::traits::{CheckedAdd, CheckedSub, IdentifyAccount, Saturating, Verify, Zero},
};
use tributary_primitives::{
	chain_receipt, ChannelId, ModelProvider, Receipt, ReceiptSettlement, SettledReceipt, Voucher,
	WorkerClasses,
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
pub struct Channel<AccountId, Balance, BlockNumber> {
	/// Who pays: it opened the channel and signs the vouchers.
	pub requester: AccountId,
	/// Who answers and settles.
	pub worker: AccountId,
	/// Everything the requester put in; what was not settled is held.
	pub deposit: Balance,
	/// What was settled so far: the total of the last voucher settled.
	pub settled: Balance,
	/// The sequence number of the last receipt settled; 0 before any.
	pub sequence: u64,
	/// The receipt chain's head at the last receipt settled.
	pub receipts: H256,
	/// From this block the requester may close the channel.
	pub expiry: BlockNumber,
}

/// Sets up what the channels benchmarks need from other pallets.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId, Signature> {
	/// Registers `who`, funded, as a worker.
	fn worker(who: &AccountId);
	/// Registers an active model whose upstream map is at its bound, trained
	/// on a datanet holding `contributions` approved contributions; returns
	/// the model and them.
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
		/// The registered workers and their determinism classes.
		type Workers: WorkerClasses<Self::AccountId>;
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
	}

	/// The id the next channel gets.
	#[pallet::storage]
	pub type NextChannelId<T: Config> = StorageValue<_, ChannelId, ValueQuery>;

	/// Every open channel.
	#[pallet::storage]
	pub type Channels<T: Config> = StorageMap<_, Blake2_128Concat, ChannelId, ChannelOf<T>>;

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
		/// Receipts were settled: their prices left the deposit and were
		/// divided (one `Rewards::ReceiptSettled` each).
		ReceiptsSettled {
			/// The channel.
			channel_id: ChannelId,
			/// How many receipts.
			count: u32,
			/// What they cost together.
			amount: BalanceOf<T>,
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
		/// leave the deposit and are divided along the attribution graph.
		// The benchmark divides each receipt at the bounds of its attribution
		// and of the model's upstream map: it covers the division too.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::settle(receipts.len() as u32))]
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
			let amount = Self::check_receipts(channel_id, &channel, &voucher, &receipts)?;
			T::Currency::transfer_on_hold(
				&HoldReason::ChannelDeposit.into(),
				&channel.requester,
				&T::Settlement::account(),
				amount,
				Precision::Exact,
				Restriction::Free,
				Fortitude::Polite,
			)?;
			for receipt in &receipts {
				T::Settlement::settle(SettledReceipt {
					channel: channel_id,
					sequence: receipt.sequence,
					model: receipt.model,
					price: receipt.price,
					worker: &receipt.worker,
					attribution: &receipt.attribution,
				})?;
			}
			channel.settled = voucher.total;
			channel.sequence = voucher.sequence;
			channel.receipts = voucher.receipts;
			Channels::<T>::insert(channel_id, channel);
			Self::deposit_event(Event::ReceiptsSettled {
				channel_id,
				count: receipts.len() as u32,
				amount,
			});
			Ok(())
		}
	}
}

impl<T: Config> Pallet<T> {
	/// Checks that `receipts` are the channel's next ones, by its worker in
	/// its class for registered models, that they chain to the voucher's
	/// head, and that their prices add up to what the voucher adds, within
	/// the deposit; returns that amount.
	fn check_receipts(
		channel_id: ChannelId,
		channel: &ChannelOf<T>,
		voucher: &Voucher<BalanceOf<T>>,
		receipts: &[ReceiptOf<T>],
	) -> Result<BalanceOf<T>, DispatchError> {
		let class = T::Workers::class(&channel.worker).ok_or(Error::<T>::NotAWorker)?;
		let mut head = channel.receipts;
		let mut sum = BalanceOf::<T>::zero();
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
			ensure!(T::Models::exists(receipt.model), Error::<T>::UnknownModel);
			head = chain_receipt(&head, &receipt.hash());
			sum = sum.checked_add(&receipt.price).ok_or(Error::<T>::PriceMismatch)?;
		}
		let last = channel.sequence.saturating_add(receipts.len() as u64);
		ensure!(voucher.sequence == last, Error::<T>::BadSequence);
		ensure!(head == voucher.receipts, Error::<T>::ReceiptsMismatch);
		let added = voucher.total.checked_sub(&channel.settled).ok_or(Error::<T>::PriceMismatch)?;
		ensure!(added == sum, Error::<T>::PriceMismatch);
		ensure!(voucher.total <= channel.deposit, Error::<T>::OverDeposit);
		Ok(sum)
	}

	fn hold(who: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		T::Currency::hold(&HoldReason::ChannelDeposit.into(), who, amount)
			.map_err(|_| Error::<T>::InsufficientBalance.into())
	}
}
