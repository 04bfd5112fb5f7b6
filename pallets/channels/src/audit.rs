//! Audits of settled receipts: sampling each settlement with the VRF output
//! of the block after it, opening sampled receipts and challenges as compute
//! jobs, and acting on those jobs' outcomes.

use crate::*;
use polkadot_sdk::{frame_support::traits::tokens::Preservation, sp_crypto_hashing::blake2_256};

/// What the sample asks the randomness source for.
pub const SAMPLE_SUBJECT: &[u8] = b"tributary/channels/sample";

/// The chance a receipt of `price` by a worker whose slash takes `slash` is
/// sampled: at least `rate`, and at least `2 × price / slash`, so that a
/// wrong receipt costs its worker on average at least twice its price.
pub fn sample_chance<Balance>(rate: Perbill, price: Balance, slash: Balance) -> Perbill
where
	Balance: polkadot_sdk::sp_runtime::traits::AtLeast32BitUnsigned + Copy,
{
	if slash.is_zero() {
		return Perbill::one();
	}
	let doubled = price.saturating_add(price);
	let by_price =
		if doubled >= slash { Perbill::one() } else { Perbill::from_rational(doubled, slash) };
	rate.max(by_price)
}

/// Whether place `index` of batch `batch` is sampled with `chance`, from
/// `seed`: the first four bytes of `blake2_256(seed, batch, index)` as a
/// number of billionths below the chance.
pub fn is_sampled(seed: &H256, batch: BatchId, index: u32, chance: Perbill) -> bool {
	let random = (seed, batch, index).using_encoded(blake2_256);
	let ticket = u32::from_le_bytes([random[0], random[1], random[2], random[3]]);
	ticket % 1_000_000_000 < chance.deconstruct()
}

impl<T: Config> Pallet<T> {
	/// Samples the batches settled in the block before `now`. Without
	/// randomness (a block without VRF output) every receipt is sampled:
	/// nothing goes unaudited because a block lacked it. Returns how many
	/// batches and receipts it sampled.
	pub(crate) fn sample(now: BlockNumberFor<T>) -> (u32, u32) {
		let settled = SettledIn::<T>::get(now.saturating_sub(One::one()));
		if settled.is_empty() || now.is_zero() {
			return (0, 0);
		}
		let (seed, _) = T::Randomness::random(SAMPLE_SUBJECT);
		let rate = T::AuditRate::get();
		let mut receipts = 0u32;
		for &batch_id in &settled {
			let Some(mut batch) = Batches::<T>::get(batch_id) else { continue };
			receipts = receipts.saturating_add(batch.receipts.len() as u32);
			let slash = T::Workers::slash_amount(&batch.worker);
			let sampled: Vec<u32> = (0u32..)
				.zip(&batch.receipts)
				.filter(|(index, (_, price))| {
					let chance = sample_chance(rate, *price, slash);
					seed.as_ref().is_none_or(|seed| is_sampled(seed, batch_id, *index, chance))
				})
				.map(|(index, _)| index)
				.collect();
			let sequences = sampled.iter().map(|&i| batch.first.saturating_add(i.into())).collect();
			batch.sampled = Some(BoundedVec::truncate_from(sampled));
			Self::deposit_event(Event::AuditSampled {
				batch_id,
				channel_id: batch.channel,
				worker: batch.worker.clone(),
				sequences,
			});
			Batches::<T>::insert(batch_id, batch);
		}
		(settled.len() as u32, receipts)
	}

	/// Closes the batches settled `ChallengeWindow` blocks before `now`:
	/// every sample still unopened fails its audit, and a batch's failures
	/// are slashed together, refunding the requester their prices out of
	/// the slashes. Returns how many batches it closed and how many
	/// samples failed.
	pub(crate) fn close_batches(now: BlockNumberFor<T>) -> (u32, u32) {
		let Some(settled_at) = now.checked_sub(&T::ChallengeWindow::get()) else { return (0, 0) };
		let closing = SettledIn::<T>::take(settled_at);
		let mut failed = 0u32;
		for &batch_id in &closing {
			let Some(batch) = Batches::<T>::take(batch_id) else { continue };
			let unopened: Vec<(u32, BalanceOf<T>)> = batch
				.sampled
				.iter()
				.flatten()
				.filter_map(|&index| Some((index, batch.receipts.get(index as usize)?.1)))
				.collect();
			if unopened.is_empty() {
				continue;
			}
			let count = unopened.len() as u32;
			failed = failed.saturating_add(count);
			let owed = unopened
				.iter()
				.fold(BalanceOf::<T>::zero(), |sum, (_, price)| sum.saturating_add(*price));
			let mut left =
				T::Workers::slash_refunding(&batch.worker, &batch.requester, owed, count);
			for (index, price) in unopened {
				let refunded = price.min(left);
				left = left.saturating_sub(refunded);
				Self::deposit_event(Event::AuditFailed {
					channel_id: batch.channel,
					sequence: batch.first.saturating_add(index.into()),
					worker: batch.worker.clone(),
					refunded,
					job_id: None,
				});
			}
		}
		(closing.len() as u32, failed)
	}

	/// The batch `batch_id` and the place of receipt `sequence` in it,
	/// checked against `receipt` and `input`.
	fn receipt_in(
		batch_id: BatchId,
		sequence: u64,
		receipt: &ReceiptOf<T>,
		input: &[u8],
	) -> Result<(BatchOf<T>, u32), DispatchError> {
		let batch = Batches::<T>::get(batch_id).ok_or(Error::<T>::UnknownBatch)?;
		let index = sequence
			.checked_sub(batch.first)
			.and_then(|index| u32::try_from(index).ok())
			.ok_or(Error::<T>::NotInBatch)?;
		let (hash, _) = batch.receipts.get(index as usize).ok_or(Error::<T>::NotInBatch)?;
		ensure!(receipt.hash() == *hash, Error::<T>::WrongReceipt);
		ensure!(H256(blake2_256(input)) == receipt.input_hash, Error::<T>::WrongInput);
		ensure!(!Audited::<T>::contains_key(batch.channel, sequence), Error::<T>::AlreadyAudited);
		Ok((batch, index))
	}

	pub(crate) fn do_open_audit(
		batch_id: BatchId,
		sequence: u64,
		receipt: ReceiptOf<T>,
		input: BoundedVec<u8, T::MaxInputLen>,
	) -> DispatchResult {
		let (mut batch, index) = Self::receipt_in(batch_id, sequence, &receipt, &input)?;
		// A full queue is passing: the worker tries again. Anything else that
		// keeps the job from running is not the worker's doing: waived.
		ensure!(!T::Audits::queue_full(), Error::<T>::AuditQueueFull);
		let sampled = batch.sampled.as_mut().ok_or(Error::<T>::NotSampledYet)?;
		let place = sampled.iter().position(|&i| i == index).ok_or(Error::<T>::NotSampled)?;
		sampled.swap_remove(place);
		let channel_id = batch.channel;
		let pot = Self::audit_pot();
		// The pot keeps its existential deposit: what it can spend is above it.
		let spendable =
			T::Currency::reducible_balance(&pot, Preservation::Preserve, Fortitude::Polite);
		let affordable =
			T::Audits::audit_price(receipt.model).is_ok_and(|price| price <= spendable);
		let submitted = if affordable {
			T::Audits::submit_audit(
				&pot,
				receipt.model,
				input.into_inner(),
				receipt.class,
				&receipt.worker,
				spendable,
			)
			.ok()
		} else {
			None
		};
		match submitted {
			Some(job_id) => Self::start(job_id, &batch, sequence, &receipt, None),
			// The pot cannot pay, or the model was retired since.
			None => Self::deposit_event(Event::AuditWaived { channel_id, sequence }),
		}
		Batches::<T>::insert(batch_id, batch);
		Ok(())
	}

	pub(crate) fn do_challenge(
		who: &T::AccountId,
		batch_id: BatchId,
		sequence: u64,
		receipt: ReceiptOf<T>,
		input: BoundedVec<u8, T::MaxInputLen>,
		max_fee: BalanceOf<T>,
	) -> DispatchResult {
		let (batch, _) = Self::receipt_in(batch_id, sequence, &receipt, &input)?;
		ensure!(batch.requester == *who, Error::<T>::NotRequester);
		let bond = T::ChallengeBond::get();
		Self::hold_for(HoldReason::ChallengeBond, who, bond)?;
		let job_id = T::Audits::submit_audit(
			who,
			receipt.model,
			input.into_inner(),
			receipt.class,
			&receipt.worker,
			max_fee,
		)?;
		Self::start(job_id, &batch, sequence, &receipt, Some((who.clone(), bond)));
		Ok(())
	}

	pub(crate) fn start(
		job_id: JobId,
		batch: &BatchOf<T>,
		sequence: u64,
		receipt: &ReceiptOf<T>,
		challenger: Option<(T::AccountId, BalanceOf<T>)>,
	) {
		Audited::<T>::insert(batch.channel, sequence, job_id);
		Self::deposit_event(Event::AuditStarted {
			channel_id: batch.channel,
			sequence,
			job_id,
			challenger: challenger.as_ref().map(|(who, _)| who.clone()),
		});
		Audits::<T>::insert(
			job_id,
			Audit {
				channel: batch.channel,
				sequence,
				worker: batch.worker.clone(),
				requester: batch.requester.clone(),
				price: receipt.price,
				output_hash: receipt.output_hash,
				attribution: receipt.attribution.clone(),
				challenger,
			},
		);
	}

	/// Acts on the outcome of job `job_id`, if it is an audit's.
	fn conclude(job_id: JobId, outcome: Option<&(H256, Attribution)>) {
		let Some(audit) = Audits::<T>::take(job_id) else { return };
		Audited::<T>::remove(audit.channel, audit.sequence);
		let (channel_id, sequence) = (audit.channel, audit.sequence);
		let verdict = outcome.map(|(output_hash, attribution)| {
			*output_hash == audit.output_hash && *attribution == audit.attribution
		});
		if let Some((challenger, amount)) = &audit.challenger {
			// A worker found right is paid the bond for its trouble; in every
			// other case the challenger gets it back.
			let paid = verdict == Some(true)
				&& T::Currency::transfer_on_hold(
					&HoldReason::ChallengeBond.into(),
					challenger,
					&audit.worker,
					*amount,
					Precision::BestEffort,
					Restriction::Free,
					Fortitude::Force,
				)
				.is_ok();
			if !paid {
				Self::release_bond(challenger, *amount);
			}
		}
		match verdict {
			Some(true) => Self::deposit_event(Event::AuditPassed { channel_id, sequence, job_id }),
			Some(false) => {
				let refunded =
					T::Workers::slash_refunding(&audit.worker, &audit.requester, audit.price, 1);
				Self::deposit_event(Event::AuditFailed {
					channel_id,
					sequence,
					worker: audit.worker,
					refunded,
					job_id: Some(job_id),
				});
			}
			None => Self::deposit_event(Event::AuditInconclusive { channel_id, sequence, job_id }),
		}
	}

	fn release_bond(who: &T::AccountId, amount: BalanceOf<T>) {
		let released = T::Currency::release(
			&HoldReason::ChallengeBond.into(),
			who,
			amount,
			Precision::BestEffort,
		);
		if let Err(error) = released {
			polkadot_sdk::frame_support::defensive!(
				"a challenge bond could not be released",
				error
			);
		}
	}
}

impl<T: Config> JobOutcomes for Pallet<T> {
	fn finished(job_id: JobId, outcome: Option<&(H256, Attribution)>) -> Weight {
		Self::conclude(job_id, outcome);
		Self::max_weight()
	}

	fn max_weight() -> Weight {
		T::WeightInfo::conclude_audit()
	}
}
