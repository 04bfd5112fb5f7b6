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
//! - **Snapshot:** registering a model with a datanet takes a numbered
//!   snapshot of the datanet's approved contributions; a contribution
//!   approved later is in later snapshots only. Whatever the model pays the
//!   datanet, directly or as an ancestor of other models, goes to the members
//!   of its snapshot that are still approved, the same whole part each, so
//!   contributions added after a model was trained earn nothing from it and a
//!   withdrawn contribution earns nothing more. Prefix sums over the snapshot
//!   numbers (the `pool` module) keep paying a snapshot and harvesting a
//!   contribution logarithmic in the number of snapshots, never proportional
//!   to the members.
//! - **Named contributions** earn their weight of the data share only while
//!   approved and in the snapshot of the model that answered; otherwise their
//!   part goes to the model's training snapshots.
//! - **Claimable:** what an account has earned and not yet claimed. Claims
//!   pull it from the pallet's account; an amount below the existential
//!   deposit of an account that does not exist stays claimable.
//!
//! Every part of a fee rounds down, and everything nobody can take (rounding,
//! snapshots without members, models without owners) goes to the treasury,
//! the one home of every remainder: what is credited plus what the treasury
//! takes is the fee, exactly. Settlement is all or nothing: it runs in one
//! storage layer, so a failure leaves no credit behind. It moves no funds in
//! or out except the treasury's part, so the total issuance never changes,
//! and a job settles at most once.
//!
//! ## Interface
//!
//! Calls: `claim`, `claim_contributions`, `set_shares`. The compute pallet
//! settles jobs through [`tributary_primitives::JobSettlement`]; the registry
//! tells the pools about approvals and withdrawals through
//! [`tributary_primitives::ContributionHooks`].

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

use alloc::vec::Vec;

pub use pallet::*;

#[cfg(feature = "runtime-benchmarks")]
pub mod benchmarking;
#[cfg(test)]
mod mock;
mod pool;
mod settle;
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
		Perbill, TokenError,
	},
};
use tributary_primitives::{
	AttributionGraph, ChannelId, CompletedJob, ContributionHooks, ContributionId,
	ContributionProvider, DatanetId, JobId, JobSettlement, ModelId, ModelProvider,
	ReceiptSettlement, SettledReceipt, SnapshotId,
};

/// Sets up what the rewards benchmarks need from the registry.
#[cfg(feature = "runtime-benchmarks")]
pub trait BenchmarkHelper<AccountId> {
	/// A model of `owner` whose flattened upstream map holds `upstream`
	/// entries, trained on a datanet with `contributions` approved
	/// contributions made in turn by `contributors` accounts; returns the
	/// model and those contributions. `prepare` runs on each datanet as soon
	/// as it is created.
	fn model(
		owner: &AccountId,
		upstream: u32,
		contributions: u32,
		contributors: u32,
		prepare: fn(DatanetId),
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
		/// The most training snapshots one datanet may take: it bounds the
		/// cost of paying a snapshot and harvesting a contribution, which is
		/// logarithmic in it.
		#[pallet::constant]
		type MaxSnapshots: Get<SnapshotId>;
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

	/// Each datanet's reward pool: its snapshots.
	#[pallet::storage]
	pub type Pools<T: Config> = StorageMap<_, Blake2_128Concat, DatanetId, Pool, ValueQuery>;

	/// The nodes of each datanet's tree over join points: members and what
	/// was paid per member (see the `pool` module).
	#[pallet::storage]
	pub type PoolNodes<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		DatanetId,
		Twox64Concat,
		SnapshotId,
		PoolNode<BalanceOf<T>>,
		ValueQuery,
	>;

	/// Each approved contribution's place in its datanet's pool.
	#[pallet::storage]
	pub type Memberships<T: Config> =
		StorageMap<_, Blake2_128Concat, ContributionId, Membership<BalanceOf<T>>, OptionQuery>;

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

	/// The jobs settled, so that none settles twice; each marker goes when
	/// the compute pallet prunes the job's record.
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
			/// Every beneficiary and what it was credited, each once: the
			/// parts above, account by account and pool by pool (the
			/// treasury's part is `treasury_share`). As many entries as the
			/// workers, the named contributions and the models' graphs that
			/// the settlement was weighed for.
			credits: Vec<(Payee<T::AccountId>, BalanceOf<T>)>,
		},
		/// The receipts of one fast-path settlement were divided, each as a
		/// job's fee is; each beneficiary was credited once for all of them.
		ReceiptsSettled {
			/// The channel they were paid through.
			channel_id: ChannelId,
			/// The first receipt's sequence number on the channel.
			first: u64,
			/// The last receipt's sequence number.
			last: u64,
			/// What their worker earned.
			worker_share: BalanceOf<T>,
			/// What the models' owners kept of the model shares.
			model_share: BalanceOf<T>,
			/// What went upstream: ancestor models' owners and datanet pools.
			upstream_share: BalanceOf<T>,
			/// What went to contributions and training datanets.
			data_share: BalanceOf<T>,
			/// What went to the treasury, rounding included.
			treasury_share: BalanceOf<T>,
			/// Every beneficiary and what it was credited, each once: the
			/// parts above, account by account and pool by pool (the
			/// treasury's part is `treasury_share`). As many entries as the
			/// workers, the named contributions and the models' graphs that
			/// the settlement was weighed for.
			credits: Vec<(Payee<T::AccountId>, BalanceOf<T>)>,
		},
		/// What a contribution's pool owed it was made claimable by its
		/// contributor: harvested by `claim_contributions`, or when it was
		/// withdrawn.
		PoolRewardsHarvested {
			/// The contribution.
			contribution_id: ContributionId,
			/// Its contributor, credited.
			contributor: T::AccountId,
			/// The amount harvested.
			amount: BalanceOf<T>,
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
		/// A contribution named is not approved (pending, rejected, withdrawn
		/// or unknown), so it has nothing in a pool to harvest; a withdrawn
		/// one's earnings were made claimable when it was withdrawn.
		NotEarning,
		/// The job was settled already.
		AlreadySettled,
		/// The parts of a fee added up to more than the fee, so nothing was
		/// settled. Shares add up to 100% and every part rounds down, so this
		/// means a defect, never a user's doing.
		Overpaid,
		/// The datanet has taken `MaxSnapshots` training snapshots; no more
		/// models can be registered with it.
		SnapshotsExhausted,
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
					T::Contributions::approved(id).ok_or(Error::<T>::NotEarning)?;
				ensure!(contributor == who, Error::<T>::NotContributor);
				let owed = Self::take_pending(id, datanet);
				Self::harvested(id, &who, owed);
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

	/// Credits `amount`, harvested from `contribution`'s pool, to its
	/// `contributor`.
	fn harvested(contribution: ContributionId, contributor: &T::AccountId, amount: BalanceOf<T>) {
		if !amount.is_zero() {
			Claimable::<T>::mutate(contributor, |c| *c = c.saturating_add(amount));
			ContributionEarnings::<T>::mutate(contribution, |e| *e = e.saturating_add(amount));
			Self::deposit_event(Event::PoolRewardsHarvested {
				contribution_id: contribution,
				contributor: contributor.clone(),
				amount,
			});
		}
	}

	fn pay_out(who: T::AccountId) -> DispatchResult {
		let amount = Claimable::<T>::get(&who);
		ensure!(!amount.is_zero(), Error::<T>::NothingToClaim);
		T::Currency::transfer(&Self::account_id(), &who, amount, Preservation::Preserve).map_err(
			|error| match error {
				DispatchError::Token(TokenError::BelowMinimum) => {
					Error::<T>::BelowExistentialDeposit.into()
				}
				// The account holds every unclaimed credit, so nothing else
				// can fail unless that invariant broke.
				other => {
					polkadot_sdk::frame_support::defensive!(
						"rewards account cannot pay a claim",
						other
					);
					other
				}
			},
		)?;
		Claimable::<T>::remove(&who);
		Self::deposit_event(Event::RewardsClaimed { who, amount });
		Ok(())
	}
}

impl<T: Config> JobSettlement<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn account() -> T::AccountId {
		Self::account_id()
	}

	fn settle(job: CompletedJob<'_, T::AccountId, BalanceOf<T>>) -> Result<Weight, DispatchError> {
		polkadot_sdk::frame_support::storage::with_storage_layer(|| Self::do_settle(job))
	}

	fn pruned(job_id: JobId) {
		Settled::<T>::remove(job_id);
	}

	fn settle_weight(workers: u32) -> Weight {
		T::WeightInfo::settle(
			tributary_primitives::MAX_ATTRIBUTION_ENTRIES,
			<T::Attribution as AttributionGraph<BalanceOf<T>>>::MaxUpstream::get(),
			workers,
		)
	}
}

impl<T: Config> ReceiptSettlement<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn account() -> T::AccountId {
		Self::account_id()
	}

	fn settle(
		channel: ChannelId,
		receipts: &[SettledReceipt<'_, T::AccountId, BalanceOf<T>>],
	) -> DispatchResult {
		polkadot_sdk::frame_support::storage::with_storage_layer(|| {
			Self::do_settle_receipts(channel, receipts)
		})
	}

	fn division_weight(entries: u32, models: u32, contributions: u32) -> Weight {
		// The benchmark of a division at this shape, less at its least:
		// what the attribution entries, the models past the first and
		// the distinct contributions add to the caller's benchmark, which
		// divides its receipts at the least shape.
		T::WeightInfo::settle_receipts(entries, models, contributions)
			.saturating_sub(T::WeightInfo::settle_receipts(0, 1, 0))
	}
}

impl<T: Config> ContributionHooks<T::AccountId> for Pallet<T> {
	fn snapshot(datanet: DatanetId) -> Result<SnapshotId, DispatchError> {
		Ok(Self::take_snapshot(datanet)?)
	}

	fn on_approved(contribution: ContributionId, datanet: DatanetId) {
		Self::join(contribution, datanet);
	}

	fn on_withdrawn(contribution: ContributionId, datanet: DatanetId, contributor: &T::AccountId) {
		let owed = Self::leave(contribution, datanet);
		Self::harvested(contribution, contributor, owed);
	}
}
