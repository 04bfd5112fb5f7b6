//! # Rewards Pallet
//!
//! ## Overview
//!
//! When a job completes, its fee reaches everyone who earned part of it: the
//! workers of the majority, the model's owner, the owners of the models it
//! came from, the contributions its answer drew on, the datanets it was
//! trained on, and the treasury. This pallet divides the fee in one bounded
//! pass and records what each account may claim; nothing is pushed to many
//! accounts, and nothing iterates over a datanet's contributors.
//!
//! ### Terminology
//!
//! - **Shares:** the parts of each fee for the workers, the model, the data
//!   and the treasury; set by root, adding up to exactly 100%.
//! - **Model share:** divided along the model's flattened upstream map
//!   (`pallet-attribution`): ancestor models' owners and datanets upstream get
//!   their flattened shares, the model's owner keeps the rest.
//! - **Data share:** paid to the contributions the job's attribution names, by
//!   their weights; what the attribution leaves unnamed goes to the model's
//!   training datanets by their training shares.
//! - **Pool:** each datanet's pool pays its approved contributions equally
//!   through a reward-per-contribution **accumulator**: paying the pool adds
//!   to the accumulator, and a contribution's pending reward is the
//!   accumulator less its **debt** (the accumulator's value when it joined or
//!   last harvested). A contribution approved later earns from then on; a
//!   withdrawn one keeps what it earned and earns no more. The indivisible
//!   remainder of a payment waits in the pool's **carry** for the next one.
//! - **Claimable:** what an account has earned and not yet claimed. Claims
//!   pull it from the pallet's account; an amount below the existential
//!   deposit of an account that does not exist stays claimable.
//!
//! Settlement moves no funds in or out except the treasury's part, so the
//! total issuance never changes, every fee is accounted for to the unit
//! (claimable + pending in pools + pool carries + treasury), and a job
//! settles at most once.
//!
//! ## Interface
//!
//! Calls: `claim`, `claim_contributions`, `set_shares`. The compute pallet
//! settles jobs through [`tributary_primitives::JobSettlement`]; the registry
//! tells the pools about approvals and withdrawals through
//! [`tributary_primitives::ContributionHooks`].

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
#[cfg(test)]
mod mock;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

pub use types::*;
pub use weights::WeightInfo;

use polkadot_sdk::{
	frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, Mutate},
			tokens::Preservation,
		},
		PalletId,
	},
	frame_system::pallet_prelude::*,
	sp_runtime::{
		traits::{AccountIdConversion, Saturating, Zero},
		Perbill,
	},
};
use tributary_primitives::{
	AttributionGraph, Beneficiary, CompletedJob, ContributionHooks, ContributionId,
	ContributionProvider, DatanetId, JobId, JobSettlement, ModelId, ModelProvider,
};

/// Sets up what the rewards benchmarks need from the registry.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
	/// A model of `owner` whose flattened upstream map holds `upstream`
	/// entries, trained on a datanet with `contributions` approved
	/// contributions; returns the model and those contributions.
	fn model(
		owner: &AccountId,
		upstream: u32,
		contributions: u32,
	) -> (ModelId, alloc::vec::Vec<ContributionId>);
}

/// A balance of the rewards currency.
pub type BalanceOf<T> = <<T as Config>::Currency as Inspect<
	<T as polkadot_sdk::frame_system::Config>::AccountId,
>>::Balance;

#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
	use super::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency fees are paid and claimed in.
		type Currency: Mutate<Self::AccountId>;
		/// The models, for their owners.
		type Models: ModelProvider<Self::AccountId, BalanceOf<Self>>;
		/// The contributions, for their contributors and datanets.
		type Contributions: ContributionProvider<Self::AccountId>;
		/// The attribution graph the model share is divided along.
		type Attribution: AttributionGraph<BalanceOf<Self>>;
		/// The pallet's id: its account holds every fee until it is claimed.
		#[pallet::constant]
		type PalletId: Get<PalletId>;
		/// Where the treasury's part goes.
		type Treasury: Get<Self::AccountId>;
		/// The most contributions one `claim_contributions` may harvest.
		#[pallet::constant]
		type MaxClaimBatch: Get<u32>;
		/// Sets up models and contributions for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: BenchmarkHelper<Self::AccountId>;
		/// Weights of this pallet's calls and of settling one job.
		type WeightInfo: WeightInfo;
	}

	/// The shares governance starts with: 30% to the workers, 30% to the
	/// model, 30% to the data, 10% to the treasury.
	#[pallet::type_value]
	pub fn DefaultShares() -> RewardShares {
		RewardShares {
			worker: Perbill::from_percent(30),
			model: Perbill::from_percent(30),
			data: Perbill::from_percent(30),
			treasury: Perbill::from_percent(10),
		}
	}

	/// How each fee is divided.
	#[pallet::storage]
	pub type Shares<T> = StorageValue<_, RewardShares, ValueQuery, DefaultShares>;

	/// What each account has earned and not yet claimed.
	#[pallet::storage]
	pub type Claimable<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, BalanceOf<T>, ValueQuery>;

	/// Each datanet's reward pool.
	#[pallet::storage]
	pub type Pools<T: Config> =
		StorageMap<_, Blake2_128Concat, DatanetId, Pool<BalanceOf<T>>, ValueQuery>;

	/// Each approved contribution's debt: its pool's accumulator when it joined
	/// or last harvested.
	#[pallet::storage]
	pub type Debts<T: Config> =
		StorageMap<_, Blake2_128Concat, ContributionId, BalanceOf<T>, OptionQuery>;

	/// What each contribution has earned and been credited with so far (named
	/// in attributions, and harvested from its pool).
	#[pallet::storage]
	pub type ContributionEarnings<T: Config> =
		StorageMap<_, Blake2_128Concat, ContributionId, BalanceOf<T>, ValueQuery>;

	/// What each model's owner has earned through it (as the model answering,
	/// and as an ancestor of models that answered).
	#[pallet::storage]
	pub type ModelEarnings<T: Config> =
		StorageMap<_, Blake2_128Concat, ModelId, BalanceOf<T>, ValueQuery>;

	/// The jobs settled, so that none settles twice.
	#[pallet::storage]
	pub type Settled<T> = StorageMap<_, Twox64Concat, JobId, (), OptionQuery>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A job's fee was divided.
		JobSettled {
			/// The job.
			job_id: JobId,
			/// What the majority's workers earned together.
			worker_share: BalanceOf<T>,
			/// What the model's owner kept of the model share.
			model_share: BalanceOf<T>,
			/// What went upstream: ancestor models' owners and datanet pools.
			upstream_share: BalanceOf<T>,
			/// What went to contributions and training datanets.
			data_share: BalanceOf<T>,
			/// What went to the treasury, rounding included.
			treasury_share: BalanceOf<T>,
		},
		/// An account was paid what it had earned.
		RewardsClaimed {
			/// The account.
			who: T::AccountId,
			/// The amount paid.
			amount: BalanceOf<T>,
		},
		/// Governance changed the shares.
		SharesSet {
			/// The new shares.
			shares: RewardShares,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The account has nothing to claim.
		NothingToClaim,
		/// The amount is below the existential deposit of an account that does
		/// not exist yet; it stays claimable until more is earned.
		BelowExistentialDeposit,
		/// Shares must add up to exactly 100%.
		InvalidShares,
		/// The caller is not the contributor of a contribution it named.
		NotContributor,
		/// The job was settled already.
		AlreadySettled,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Pays the caller everything it may claim.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::claim())]
		pub fn claim(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::pay_out(who)
		}

		/// Harvests the pool rewards of the caller's approved contributions
		/// `ids`, then pays the caller everything it may claim.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::claim_contributions(ids.len() as u32))]
		pub fn claim_contributions(
			origin: OriginFor<T>,
			ids: BoundedVec<ContributionId, T::MaxClaimBatch>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			for &id in &ids {
				let (contributor, datanet) =
					T::Contributions::approved(id).ok_or(Error::<T>::NotContributor)?;
				ensure!(contributor == who, Error::<T>::NotContributor);
				Self::harvest(id, datanet, &who);
			}
			Self::pay_out(who)
		}

		/// Sets the shares each fee is divided by; root only.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::set_shares())]
		pub fn set_shares(origin: OriginFor<T>, shares: RewardShares) -> DispatchResult {
			ensure_root(origin)?;
			ensure!(shares.is_whole(), Error::<T>::InvalidShares);
			Shares::<T>::put(shares);
			Self::deposit_event(Event::SharesSet { shares });
			Ok(())
		}
	}
}

impl<T: Config> Pallet<T> {
	/// The pallet's account: it holds every fee until it is claimed.
	pub fn account_id() -> T::AccountId {
		T::PalletId::get().into_account_truncating()
	}

	/// What `contribution` has earned in all: credited, plus pending in its pool.
	pub fn contribution_earnings(contribution: ContributionId) -> BalanceOf<T> {
		let credited = ContributionEarnings::<T>::get(contribution);
		let pending = T::Contributions::approved(contribution)
			.map(|(_, datanet)| Self::pending(contribution, datanet))
			.unwrap_or_default();
		credited.saturating_add(pending)
	}

	/// What `contribution` has earned in its pool since it last harvested.
	fn pending(contribution: ContributionId, datanet: DatanetId) -> BalanceOf<T> {
		Debts::<T>::get(contribution)
			.map(|debt| Pools::<T>::get(datanet).accumulator.saturating_sub(debt))
			.unwrap_or_default()
	}

	/// Credits `contribution`'s pending pool reward to `contributor`.
	fn harvest(contribution: ContributionId, datanet: DatanetId, contributor: &T::AccountId) {
		let accumulator = Pools::<T>::get(datanet).accumulator;
		let Some(debt) = Debts::<T>::get(contribution) else { return };
		let pending = accumulator.saturating_sub(debt);
		if !pending.is_zero() {
			Self::credit(contributor, pending);
			ContributionEarnings::<T>::mutate(contribution, |e| *e = e.saturating_add(pending));
		}
		Debts::<T>::insert(contribution, accumulator);
	}

	fn credit(who: &T::AccountId, amount: BalanceOf<T>) {
		if !amount.is_zero() {
			Claimable::<T>::mutate(who, |c| *c = c.saturating_add(amount));
		}
	}

	fn pay_out(who: T::AccountId) -> DispatchResult {
		let amount = Claimable::<T>::get(&who);
		ensure!(!amount.is_zero(), Error::<T>::NothingToClaim);
		T::Currency::transfer(&Self::account_id(), &who, amount, Preservation::Preserve)
			.map_err(|_| Error::<T>::BelowExistentialDeposit)?;
		Claimable::<T>::remove(&who);
		Self::deposit_event(Event::RewardsClaimed { who, amount });
		Ok(())
	}

	/// Pays `amount` into `datanet`'s pool; returns what it could not take
	/// because no contribution of the datanet is approved.
	fn pay_pool(datanet: DatanetId, amount: BalanceOf<T>) -> BalanceOf<T> {
		if amount.is_zero() {
			return amount;
		}
		Pools::<T>::mutate(datanet, |pool| {
			if pool.members == 0 {
				return amount;
			}
			let members: BalanceOf<T> = pool.members.into();
			let total = amount.saturating_add(pool.carry);
			let each = total / members;
			pool.carry = total.saturating_sub(each.saturating_mul(members));
			pool.accumulator = pool.accumulator.saturating_add(each);
			Zero::zero()
		})
	}

	/// Pays `amount` owed to an upstream beneficiary; returns what the
	/// beneficiary could not take.
	fn pay_upstream(beneficiary: Beneficiary, amount: BalanceOf<T>) -> BalanceOf<T> {
		match beneficiary {
			Beneficiary::Model(model) => Self::pay_model(model, amount),
			Beneficiary::Datanet(datanet) => Self::pay_pool(datanet, amount),
		}
	}

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

	/// Divides a completed job's fee, which is in the pallet's account.
	/// Settles a completed job; returns the weight it used, from the
	/// benchmark of its actual sizes.
	fn do_settle(
		job: CompletedJob<'_, T::AccountId, BalanceOf<T>>,
	) -> Result<Weight, DispatchError> {
		ensure!(!Settled::<T>::contains_key(job.job_id), Error::<T>::AlreadySettled);
		let shares = Shares::<T>::get();
		let fee = job.fee;

		let worker_pot = shares.worker * fee;
		let workers: BalanceOf<T> = (job.workers.len() as u32).into();
		let mut worker_share = BalanceOf::<T>::zero();
		if !workers.is_zero() {
			let each = worker_pot / workers;
			for worker in job.workers {
				Self::credit(worker, each);
			}
			worker_share = each.saturating_mul(workers);
		}

		let split = T::Attribution::split(job.model_id, shares.model * fee);
		let weight = T::WeightInfo::settle(
			job.attribution.len() as u32,
			split.upstream.len() as u32,
			job.workers.len() as u32,
		);
		let model_share = split.model.saturating_sub(Self::pay_model(job.model_id, split.model));
		let mut upstream_share = BalanceOf::<T>::zero();
		for (beneficiary, amount) in split.upstream {
			let taken = amount.saturating_sub(Self::pay_upstream(beneficiary, amount));
			upstream_share = upstream_share.saturating_add(taken);
		}

		let data_pot = shares.data * fee;
		let mut data_share = BalanceOf::<T>::zero();
		for &(contribution, weight) in job.attribution.iter() {
			let Some((contributor, _)) = T::Contributions::approved(contribution) else {
				continue;
			};
			let amount = weight * data_pot;
			Self::credit(&contributor, amount);
			ContributionEarnings::<T>::mutate(contribution, |e| *e = e.saturating_add(amount));
			data_share = data_share.saturating_add(amount);
		}
		// Weights add up to at most 100% and each part rounds down, so the
		// named part never exceeds the pot.
		let unnamed = data_pot.saturating_sub(data_share);
		let training = T::Attribution::training(job.model_id);
		let trained_on: u64 =
			training.iter().map(|(_, share)| u64::from(share.deconstruct())).sum();
		let mut left = unnamed;
		for (i, &(datanet, share)) in training.iter().enumerate() {
			// The last datanet takes what is left, so the parts add up exactly.
			let amount = if i + 1 == training.len() {
				left
			} else {
				(Perbill::from_rational(u64::from(share.deconstruct()), trained_on) * unnamed)
					.min(left)
			};
			left = left.saturating_sub(amount);
			data_share =
				data_share.saturating_add(amount.saturating_sub(Self::pay_pool(datanet, amount)));
		}

		// Everything nobody above could take, rounding included.
		let treasury_share = fee
			.saturating_sub(worker_share)
			.saturating_sub(model_share)
			.saturating_sub(upstream_share)
			.saturating_sub(data_share);
		if !treasury_share.is_zero() {
			T::Currency::transfer(
				&Self::account_id(),
				&T::Treasury::get(),
				treasury_share,
				Preservation::Preserve,
			)?;
		}
		Settled::<T>::insert(job.job_id, ());
		Self::deposit_event(Event::JobSettled {
			job_id: job.job_id,
			worker_share,
			model_share,
			upstream_share,
			data_share,
			treasury_share,
		});
		Ok(weight)
	}
}

impl<T: Config> JobSettlement<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn account() -> T::AccountId {
		Self::account_id()
	}

	fn settle(job: CompletedJob<'_, T::AccountId, BalanceOf<T>>) -> Result<Weight, DispatchError> {
		Self::do_settle(job)
	}

	fn settle_weight(workers: u32) -> Weight {
		T::WeightInfo::settle(
			tributary_primitives::MAX_ATTRIBUTION_ENTRIES,
			<T::Attribution as AttributionGraph<BalanceOf<T>>>::MaxUpstream::get(),
			workers,
		)
	}
}

impl<T: Config> ContributionHooks<T::AccountId> for Pallet<T> {
	fn on_approved(contribution: ContributionId, datanet: DatanetId) {
		let accumulator = Pools::<T>::mutate(datanet, |pool| {
			pool.members = pool.members.saturating_add(1);
			pool.accumulator
		});
		Debts::<T>::insert(contribution, accumulator);
	}

	fn on_withdrawn(contribution: ContributionId, datanet: DatanetId, contributor: &T::AccountId) {
		Self::harvest(contribution, datanet, contributor);
		Debts::<T>::remove(contribution);
		Pools::<T>::mutate(datanet, |pool| pool.members = pool.members.saturating_sub(1));
	}
}
