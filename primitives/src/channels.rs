//! The fast path's vocabulary: payment channels, the receipt a worker signs
//! for each answer, and the cumulative voucher a requester signs for what it
//! owes. Chain, worker and clients all encode them from here, so they can
//! never disagree about the bytes that are signed and hashed.
//!
//! - A **receipt** states one answer: which channel and sequence number, the
//!   model and its artifact, the hashes of input and output, the attribution,
//!   the determinism class it was computed in, the price and the worker.
//! - The **receipt chain** folds a channel's receipts, in order, into one
//!   hash: `h₀ = 0`, `hₙ = blake2_256(hₙ₋₁ ‖ blake2_256(SCALE(receiptₙ)))`.
//! - A **voucher** is the requester's signature over the channel, the
//!   sequence number of the last receipt it received, the total it owes for
//!   all receipts so far and the head of the receipt chain: the worker can
//!   settle only receipts the requester saw, at the prices it saw.
//!
//! What is signed is the SCALE encoding of `(context, statement)`, the
//! context naming the kind of statement, so that a signature on one kind can
//! never pass for another.

use crate::{Attribution, ModelId};
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use polkadot_sdk::{
	sp_core::H256, sp_crypto_hashing::blake2_256, sp_runtime::DispatchResult, sp_weights::Weight,
};
use scale_info::TypeInfo;

/// Identifies a payment channel.
pub type ChannelId = u64;

/// What a requester's voucher signature covers, beside the voucher.
pub const VOUCHER_CONTEXT: &[u8] = b"tributary/voucher/v1";
/// What a worker's receipt signature covers, beside the receipt.
pub const RECEIPT_CONTEXT: &[u8] = b"tributary/receipt/v1";

/// A worker's statement of one answer given on a channel.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub struct Receipt<AccountId, Balance> {
	/// The channel the answer is paid through.
	pub channel: ChannelId,
	/// Its place on the channel: 1 for the first answer, then one more each.
	pub sequence: u64,
	/// The model that answered.
	pub model: ModelId,
	/// blake2-256 of the model's artifact, as registered.
	pub artifact: H256,
	/// blake2-256 of the input.
	pub input_hash: H256,
	/// blake2-256 of the output ([`crate::output_hash`]).
	pub output_hash: H256,
	/// The answer's Proof of Attribution.
	pub attribution: Attribution,
	/// The determinism class it was computed in ([`crate::determinism_class`]).
	pub class: H256,
	/// What the requester pays for it.
	pub price: Balance,
	/// The worker that answered.
	pub worker: AccountId,
}

impl<AccountId: Encode, Balance: Encode> Receipt<AccountId, Balance> {
	/// blake2-256 of its SCALE encoding: what the receipt chain folds in.
	pub fn hash(&self) -> H256 {
		H256(self.using_encoded(blake2_256))
	}

	/// The bytes the worker signs.
	pub fn signing_payload(&self) -> alloc::vec::Vec<u8> {
		(RECEIPT_CONTEXT, self).encode()
	}
}

/// The receipt chain's head after `receipt` follows `head`.
pub fn chain_receipt(head: &H256, receipt: &H256) -> H256 {
	H256((head, receipt).using_encoded(blake2_256))
}

/// A requester's cumulative promise to pay on a channel.
#[derive(
	Clone, PartialEq, Eq, Debug, Encode, Decode, DecodeWithMemTracking, MaxEncodedLen, TypeInfo,
)]
#[cfg_attr(feature = "std", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "std", serde(rename_all = "camelCase"))]
pub struct Voucher<Balance> {
	/// The channel.
	pub channel: ChannelId,
	/// The sequence number of the last receipt it covers.
	pub sequence: u64,
	/// What the requester owes for every receipt up to `sequence`.
	pub total: Balance,
	/// The receipt chain's head at `sequence`.
	pub receipts: H256,
}

impl<Balance: Encode> Voucher<Balance> {
	/// The bytes the requester signs.
	pub fn signing_payload(&self) -> alloc::vec::Vec<u8> {
		(VOUCHER_CONTEXT, self).encode()
	}
}

/// A receipt as handed to settlement: its price is already in
/// [`ReceiptSettlement::account`].
pub struct SettledReceipt<'a, AccountId, Balance> {
	/// Its sequence number on its channel.
	pub sequence: u64,
	/// The model that answered.
	pub model: ModelId,
	/// Its price.
	pub price: Balance,
	/// The worker that answered.
	pub worker: &'a AccountId,
	/// Its attribution.
	pub attribution: &'a Attribution,
}

/// Divides the price of each settled receipt among those who earned it, as
/// a job's fee is divided, crediting each beneficiary once per settlement.
pub trait ReceiptSettlement<AccountId, Balance> {
	/// The account a receipt's price is paid into before [`Self::settle`].
	fn account() -> AccountId;
	/// Settles the receipts of one settlement of `channel`, whose prices are
	/// in [`Self::account`].
	fn settle(
		channel: ChannelId,
		receipts: &[SettledReceipt<'_, AccountId, Balance>],
	) -> DispatchResult;
	/// What dividing a settlement costs beyond receipts without attribution,
	/// all of one model: for `entries` attribution entries in all, `models`
	/// distinct models and `contributions` distinct contributions named.
	/// The caller's benchmark, which divides receipts of that least shape,
	/// covers the rest.
	fn division_weight(entries: u32, models: u32, contributions: u32) -> Weight;
}

/// The registered workers' determinism classes: a receipt must be computed
/// in its worker's class, so that an audit can rerun it there.
pub trait WorkerClasses<AccountId> {
	/// `worker`'s class, if it is registered.
	fn class(worker: &AccountId) -> Option<H256>;
}

/// What audits of receipts need from worker staking beside the class.
pub trait AuditSlashing<AccountId, Balance> {
	/// What one slash of `worker` takes now: what a wrong receipt costs it.
	fn slash_amount(worker: &AccountId) -> Balance;
	/// Slashes `worker` once for each of `times` receipts that failed their
	/// audits, as that many slashes in turn would, paying at most `refund`
	/// of what is taken to `to` and the rest to the treasury; returns what
	/// `to` received.
	fn slash_refunding(worker: &AccountId, to: &AccountId, refund: Balance, times: u32) -> Balance;
}

#[cfg(test)]
mod tests {
	use super::*;
	use polkadot_sdk::sp_runtime::Perbill;

	fn receipt(sequence: u64, price: u128) -> Receipt<[u8; 32], u128> {
		Receipt {
			channel: 7,
			sequence,
			model: 3,
			artifact: H256::repeat_byte(1),
			input_hash: H256::repeat_byte(2),
			output_hash: crate::output_hash(b"{\"label\":\"weather\"}"),
			attribution: Attribution::truncate_from(vec![(11, Perbill::from_percent(40))]),
			class: H256::repeat_byte(4),
			price,
			worker: [9; 32],
		}
	}

	#[test]
	fn the_receipt_chain_depends_on_every_receipt_and_their_order() {
		let (a, b) = (receipt(1, 10).hash(), receipt(2, 10).hash());
		let ab = chain_receipt(&chain_receipt(&H256::zero(), &a), &b);
		let ba = chain_receipt(&chain_receipt(&H256::zero(), &b), &a);
		assert_ne!(ab, ba);
		assert_ne!(receipt(2, 10).hash(), receipt(2, 11).hash(), "the price is hashed");
	}

	#[test]
	fn a_receipt_and_a_voucher_sign_different_bytes_even_when_encoded_alike() {
		let voucher = Voucher { channel: 7, sequence: 1, total: 10u128, receipts: H256::zero() };
		assert!(voucher.signing_payload().starts_with(&VOUCHER_CONTEXT.encode()));
		assert!(receipt(1, 10).signing_payload().starts_with(&RECEIPT_CONTEXT.encode()));
		assert_ne!(VOUCHER_CONTEXT.encode(), RECEIPT_CONTEXT.encode());
	}

	#[test]
	fn the_layout_is_pinned() {
		// Clients in other languages encode these by hand: the layout is fixed.
		let voucher = Voucher { channel: 1, sequence: 2, total: 3u128, receipts: H256::zero() };
		let mut expected = 1u64.encode();
		expected.extend(2u64.encode());
		expected.extend(3u128.encode());
		expected.extend([0u8; 32]);
		assert_eq!(voucher.encode(), expected);
		let decoded = Receipt::<[u8; 32], u128>::decode(&mut &receipt(5, 9).encode()[..]).unwrap();
		assert_eq!(decoded, receipt(5, 9));
	}
}
