//! Dividing a completed job's fee, or a settled receipt's price: one split
//! serves both, so an answer pays the same people the same shares whichever
//! path it took.
//!
//! Every part rounds down (`mul_floor`, integer division), so no part can be
//! credited more than its share of the fee; whatever is left after every
//! beneficiary took its part goes to the treasury.

use crate::{BalanceOf, Config, Error, Event, ModelEarnings, Pallet, Settled, Shares, WeightInfo};
use alloc::vec::Vec;
use polkadot_sdk::{
	frame_support::{
		pallet_prelude::*,
		traits::{fungible::Mutate, tokens::Preservation},
	},
	sp_runtime::{
		helpers_128bit::multiply_by_rational_with_rounding,
		traits::{CheckedSub, Saturating, UniqueSaturatedFrom, UniqueSaturatedInto, Zero},
		Rounding,
	},
};
use tributary_primitives::{
	Attribution, AttributionGraph, Beneficiary, CompletedJob, ContributionProvider, ModelId,
	ModelProvider, SettledReceipt, TrainingEdge,
};

/// How one fee was divided.
struct Parts<Balance> {
	worker: Balance,
	model: Balance,
	upstream: Balance,
	data: Balance,
	treasury: Balance,
}

impl<T: Config> Pallet<T> {
	/// Pays `amount` to `model`'s owner; returns what nobody could take.
	fn pay_model(model: ModelId, amount: BalanceOf<T>) -> BalanceOf<T> {
		match T::Models::owner(model) {
			Some(owner) => {
				Self::credit(&owner, amount);
				ModelEarnings::<T>::mutate(model, |e| *e = e.saturating_add(amount));
				Zero::zero()
			}
			None => amount,
		}
	}

	/// Pays `amount` owed to an upstream beneficiary; returns what it could not take.
	fn pay_upstream(beneficiary: Beneficiary, amount: BalanceOf<T>) -> BalanceOf<T> {
		match beneficiary {
			Beneficiary::Model(model) => Self::pay_model(model, amount),
			Beneficiary::Datanet(datanet, snapshot) => {
				Self::pay_snapshot(datanet, snapshot, amount)
			}
		}
	}

	/// `part / whole` of `amount`, rounded down.
	fn portion(amount: BalanceOf<T>, part: u64, whole: u64) -> BalanceOf<T> {
		let portion = multiply_by_rational_with_rounding(
			amount.unique_saturated_into(),
			part.into(),
			whole.into(),
			Rounding::Down,
		)
		.unwrap_or_default();
		BalanceOf::<T>::unique_saturated_from(portion)
	}

	/// Pays the data share: each contribution named that is still approved
	/// and in the model's snapshot of its datanet gets its weight of the pot;
	/// the rest goes to the model's training snapshots by their shares.
	/// Returns what was paid.
	fn pay_data(
		attribution: &Attribution,
		training: &[TrainingEdge],
		pot: BalanceOf<T>,
	) -> BalanceOf<T> {
		let mut named = BalanceOf::<T>::zero();
		for &(contribution, weight) in attribution.iter() {
			let Some((contributor, datanet)) = T::Contributions::approved(contribution) else {
				continue;
			};
			let trained_on = training
				.iter()
				.any(|&(d, snapshot, _)| d == datanet && Self::is_member(contribution, snapshot));
			if !trained_on {
				continue;
			}
			// Attribution weights add up to at most 100%; `min` keeps a
			// malformed one from paying more than the pot.
			let amount = weight.mul_floor(pot).min(pot.saturating_sub(named));
			Self::credit_contribution(contribution, &contributor, amount);
			named = named.saturating_add(amount);
		}
		let unnamed = pot.saturating_sub(named);
		let shares: u64 = training.iter().map(|(_, _, share)| u64::from(share.deconstruct())).sum();
		let mut pooled = BalanceOf::<T>::zero();
		for &(datanet, snapshot, share) in training {
			let amount = Self::portion(unnamed, share.deconstruct().into(), shares);
			pooled = pooled.saturating_add(
				amount.saturating_sub(Self::pay_snapshot(datanet, snapshot, amount)),
			);
		}
		named.saturating_add(pooled)
	}

	/// Settles a completed job whose fee is in the pallet's account; returns
	/// the weight it used, from the benchmark of its actual sizes. Callers
	/// run it in a storage layer ([`JobSettlement::settle`]).
	pub(crate) fn do_settle(
		job: CompletedJob<'_, T::AccountId, BalanceOf<T>>,
	) -> Result<Weight, DispatchError> {
		ensure!(!Settled::<T>::contains_key(job.job_id), Error::<T>::AlreadySettled);
		let (parts, weight) = Self::split_fee(job.model_id, job.fee, job.workers, job.attribution)?;
		Settled::<T>::insert(job.job_id, ());
		Self::deposit_event(Event::JobSettled {
			job_id: job.job_id,
			worker_share: parts.worker,
			model_share: parts.model,
			upstream_share: parts.upstream,
			data_share: parts.data,
			treasury_share: parts.treasury,
		});
		Ok(weight)
	}

	/// Settles a fast-path receipt whose price is in the pallet's account,
	/// as a job answered by its one worker; the channels pallet settles each
	/// sequence number once. Callers run it in a storage layer.
	pub(crate) fn do_settle_receipt(
		receipt: SettledReceipt<'_, T::AccountId, BalanceOf<T>>,
	) -> DispatchResult {
		let workers = Vec::from([receipt.worker.clone()]);
		let (parts, _) =
			Self::split_fee(receipt.model, receipt.price, &workers, receipt.attribution)?;
		Self::deposit_event(Event::ReceiptSettled {
			channel_id: receipt.channel,
			sequence: receipt.sequence,
			worker_share: parts.worker,
			model_share: parts.model,
			upstream_share: parts.upstream,
			data_share: parts.data,
			treasury_share: parts.treasury,
		});
		Ok(())
	}

	/// Divides `fee`, in the pallet's account, for an answer of `model_id`
	/// by `workers` attributed to `attribution`: the workers' share, the
	/// model's along its attribution graph, the data share, the rest to the
	/// treasury. Returns the parts and the weight used.
	fn split_fee(
		model_id: ModelId,
		fee: BalanceOf<T>,
		workers: &[T::AccountId],
		attribution: &Attribution,
	) -> Result<(Parts<BalanceOf<T>>, Weight), DispatchError> {
		let shares = Shares::<T>::get();

		let mut worker_share = BalanceOf::<T>::zero();
		let count = workers.len() as u32;
		if count > 0 {
			let each = shares.worker.mul_floor(fee) / count.into();
			for worker in workers {
				Self::credit(worker, each);
			}
			worker_share = each.saturating_mul(count.into());
		}

		let split = T::Attribution::split(model_id, shares.model.mul_floor(fee));
		let weight =
			T::WeightInfo::settle(attribution.len() as u32, split.upstream.len() as u32, count);
		let model_share = split.model.saturating_sub(Self::pay_model(model_id, split.model));
		let mut upstream_share = BalanceOf::<T>::zero();
		for (beneficiary, amount) in split.upstream {
			let taken = amount.saturating_sub(Self::pay_upstream(beneficiary, amount));
			upstream_share = upstream_share.saturating_add(taken);
		}

		let training = T::Attribution::training(model_id);
		let data_share = Self::pay_data(attribution, &training, shares.data.mul_floor(fee));

		// Every part above rounded down from shares that add up to 100%, so
		// they never exceed the fee; the treasury takes the rest.
		let treasury_share = fee
			.checked_sub(&worker_share)
			.and_then(|left| left.checked_sub(&model_share))
			.and_then(|left| left.checked_sub(&upstream_share))
			.and_then(|left| left.checked_sub(&data_share))
			.ok_or_else(|| {
				polkadot_sdk::frame_support::defensive!("settlement parts exceed the fee");
				Error::<T>::Overpaid
			})?;
		if !treasury_share.is_zero() {
			T::Currency::transfer(
				&Self::account_id(),
				&T::Treasury::get(),
				treasury_share,
				Preservation::Preserve,
			)?;
		}
		let parts = Parts {
			worker: worker_share,
			model: model_share,
			upstream: upstream_share,
			data: data_share,
			treasury: treasury_share,
		};
		Ok((parts, weight))
	}
}
