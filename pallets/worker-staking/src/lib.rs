//! # Worker Staking Pallet
//!
//! ## Overview
//!
//! Inference on Tributary runs off chain on compute workers, and the chain
//! trusts their results only as far as it can punish them. This pallet keeps
//! the workers: each registers with a stake that is held from its account,
//! declares how many jobs it runs at once, and earns a reputation. The compute
//! pallet draws workers for jobs by stake and reputation, and slashes the ones
//! that time out or disagree with the majority.
//!
//! ### Terminology
//!
//! - **Stake:** funds held (a `fungible` hold) while the worker is active; at
//!   least `MinWorkerStake`. Its draw weight grows with it.
//! - **Unbonding:** stake on its way out. It stays held, and slashable, for
//!   `UnbondingPeriod` blocks and until the worker's open jobs have ended, so
//!   a worker cannot escape a slash by leaving.
//! - **Capacity:** how many jobs the worker runs at once; it is never assigned
//!   more.
//! - **Served models:** the models the worker declares it runs
//!   (`serve_models`); it is drawn only for those.
//! - **Determinism class:** the blake2-256 of the engine description the
//!   worker registers with (libtorch build, device kind, instruction-set
//!   level of its kernels). Floating-point results are equal byte for byte
//!   only within a class, so every job is run by workers of one class.
//! - **Reputation:** 0 to [`MAX_REPUTATION`], starting at
//!   [`INITIAL_REPUTATION`]; rises with each accepted result and falls with
//!   each slash. It weighs in the draw.
//! - **Slash:** `SlashFraction` of everything held (active and unbonding),
//!   paid to the treasury.
//! - **Decline:** a worker that finds it cannot run a job it was drawn for
//!   (its model will not load) declines it before committing: no slash, a
//!   reputation cost of [`DECLINE_PENALTY`], a tenth of a missed commit's.
//!
//! ## Interface
//!
//! Calls: `register_worker`, `bond_extra`, `unbond`, `withdraw_unbonded`,
//! `set_capacity`, `deregister`, `serve_models`.
//!
//! The compute pallet reaches workers through
//! [`tributary_primitives::WorkerStaking`]: candidates for a draw, capacity
//! slots, rewards and slashes.

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

use alloc::vec::Vec;
use polkadot_sdk::{
	frame_support::{
		pallet_prelude::*,
		traits::{
			fungible::{Inspect, Mutate, MutateHold},
			tokens::{Fortitude, Precision, Restriction},
		},
	},
	frame_system::pallet_prelude::*,
	sp_runtime::{
		traits::{Saturating, UniqueSaturatedInto, Zero},
		Perbill,
	},
};
use tributary_primitives::{Candidate, SlashReason, WorkerClasses, WorkerStaking};

/// A balance of the staking currency.
pub type BalanceOf<T> = <<T as Config>::Currency as Inspect<
	<T as polkadot_sdk::frame_system::Config>::AccountId,
>>::Balance;
/// A worker record as stored.
pub type WorkerOf<T> = Worker<
	BalanceOf<T>,
	BlockNumberFor<T>,
	<T as Config>::MaxEndpointLen,
	<T as Config>::MaxEngineLen,
	<T as Config>::MaxUnbondingChunks,
	<T as Config>::MaxServedModels,
>;

/// Reputation gained for a result the majority agreed with.
const REPUTATION_REWARD: u32 = 10;

/// Reputation lost for declining a job: the draw weight falls a little, so a
/// worker that declines often is drawn less, without losing stake.
pub const DECLINE_PENALTY: u32 = 5;

/// Reputation lost for each kind of slash.
fn reputation_penalty(reason: SlashReason) -> u32 {
	match reason {
		SlashReason::CommitTimeout => 50,
		SlashReason::NoReveal | SlashReason::Minority => 100,
		SlashReason::AuditFailed => 200,
	}
}

#[polkadot_sdk::frame_support::pallet]
pub mod pallet {
	use super::*;

	#[pallet::pallet]
	pub struct Pallet<T>(_);

	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency stakes are held in.
		type Currency: Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;
		/// The runtime's hold reasons, of which a worker's stake is one.
		type RuntimeHoldReason: From<HoldReason>;
		/// The least active stake a worker must keep to be drawn.
		#[pallet::constant]
		type MinWorkerStake: Get<BalanceOf<Self>>;
		/// How many blocks unbonding stake stays held and slashable.
		#[pallet::constant]
		type UnbondingPeriod: Get<BlockNumberFor<Self>>;
		/// The part of a worker's held stake each slash takes.
		#[pallet::constant]
		type SlashFraction: Get<Perbill>;
		/// Where slashed stake goes.
		type Treasury: Get<Self::AccountId>;
		/// The most workers registered at once; it bounds every draw.
		#[pallet::constant]
		type MaxWorkers: Get<u32>;
		/// The most jobs a worker may declare it runs at once.
		#[pallet::constant]
		type MaxCapacity: Get<u32>;
		/// The most unbonding chunks a worker may have at once.
		#[pallet::constant]
		type MaxUnbondingChunks: Get<u32>;
		/// The longest endpoint a worker may declare.
		#[pallet::constant]
		type MaxEndpointLen: Get<u32>;
		/// The longest engine description a worker may declare.
		#[pallet::constant]
		type MaxEngineLen: Get<u32>;
		/// The most models a worker may declare it serves.
		#[pallet::constant]
		type MaxServedModels: Get<u32>;
		/// Weights of this pallet's calls, from its benchmarks.
		type WeightInfo: WeightInfo;
	}

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// A compute worker's stake, active or unbonding.
		WorkerStake,
	}

	/// Every registered worker, leaving ones included until their stake is
	/// withdrawn. Counted, so that registration can keep it under `MaxWorkers`.
	#[pallet::storage]
	pub type Workers<T: Config> = CountedStorageMap<_, Blake2_128Concat, T::AccountId, WorkerOf<T>>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A worker registered and its stake was held.
		WorkerRegistered {
			/// The worker, the caller.
			worker: T::AccountId,
			/// Its stake.
			stake: BalanceOf<T>,
			/// How many jobs it runs at once.
			capacity: u32,
		},
		/// A worker added to its stake.
		Bonded {
			/// The worker.
			worker: T::AccountId,
			/// The amount added.
			amount: BalanceOf<T>,
		},
		/// Part of a worker's stake began unbonding.
		Unbonding {
			/// The worker.
			worker: T::AccountId,
			/// The amount unbonding.
			amount: BalanceOf<T>,
			/// The block from which it can be withdrawn.
			unlock_at: BlockNumberFor<T>,
		},
		/// Unbonded stake was released to the worker.
		Withdrawn {
			/// The worker.
			worker: T::AccountId,
			/// The amount released.
			amount: BalanceOf<T>,
		},
		/// A worker changed its capacity.
		CapacitySet {
			/// The worker.
			worker: T::AccountId,
			/// Its new capacity.
			capacity: u32,
		},
		/// A worker deregistered: it draws no jobs and its stake is unbonding.
		WorkerDeregistered {
			/// The worker.
			worker: T::AccountId,
		},
		/// A deregistered worker withdrew the last of its stake; its record is gone.
		WorkerRemoved {
			/// The worker.
			worker: T::AccountId,
		},
		/// A worker declared the models it serves, replacing its earlier list.
		ModelsServed {
			/// The worker.
			worker: T::AccountId,
			/// The models, in ascending order.
			models: Vec<tributary_primitives::ModelId>,
		},
		/// A worker lost stake to the treasury.
		Slashed {
			/// The worker.
			worker: T::AccountId,
			/// The amount taken.
			amount: BalanceOf<T>,
			/// Why.
			reason: SlashReason,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// The caller is not a registered worker.
		NotWorker,
		/// The caller is already registered.
		AlreadyRegistered,
		/// The stake, or what would remain of it, is under `MinWorkerStake`.
		StakeBelowMinimum,
		/// The caller's free balance cannot cover the stake. (Other causes,
		/// such as frozen funds, come as the token error itself.)
		InsufficientBalance,
		/// A capacity must be between 1 and `MaxCapacity`.
		InvalidCapacity,
		/// `MaxWorkers` workers are registered already.
		TooManyWorkers,
		/// The worker has `MaxUnbondingChunks` chunks unbonding already.
		TooManyUnbondingChunks,
		/// More than the active stake was asked to unbond.
		UnbondExceedsStake,
		/// An amount of zero.
		ZeroAmount,
		/// The worker still has open jobs.
		HasOpenJobs,
		/// No unbonding stake has unlocked yet.
		NothingToWithdraw,
		/// The worker has deregistered.
		Leaving,
		/// The worker has no free capacity.
		NoFreeCapacity,
		/// A model appears twice in a list of served models.
		DuplicateModel,
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Registers the caller as a compute worker, holding `stake`. `engine`
		/// describes what it computes on and names its determinism class; it
		/// serves no model until it calls `serve_models`.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::register_worker())]
		pub fn register_worker(
			origin: OriginFor<T>,
			stake: BalanceOf<T>,
			endpoint: BoundedVec<u8, T::MaxEndpointLen>,
			capacity: u32,
			engine: BoundedVec<u8, T::MaxEngineLen>,
		) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			ensure!(!Workers::<T>::contains_key(&worker), Error::<T>::AlreadyRegistered);
			ensure!(Workers::<T>::count() < T::MaxWorkers::get(), Error::<T>::TooManyWorkers);
			ensure!(stake >= T::MinWorkerStake::get(), Error::<T>::StakeBelowMinimum);
			Self::check_capacity(capacity)?;
			Self::hold(&worker, stake)?;
			Workers::<T>::insert(
				&worker,
				Worker {
					stake,
					unbonding: BoundedVec::new(),
					endpoint,
					class: tributary_primitives::determinism_class(&engine),
					engine,
					models: BoundedVec::new(),
					capacity,
					open_jobs: 0,
					reputation: INITIAL_REPUTATION,
					leaving: false,
				},
			);
			Self::deposit_event(Event::WorkerRegistered { worker, stake, capacity });
			Ok(())
		}

		/// Adds `amount` to the caller's active stake.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::bond_extra())]
		pub fn bond_extra(origin: OriginFor<T>, amount: BalanceOf<T>) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
			Self::mutate_active(&worker, |record| {
				Self::hold(&worker, amount)?;
				record.stake = record.stake.saturating_add(amount);
				Ok(())
			})?;
			Self::deposit_event(Event::Bonded { worker, amount });
			Ok(())
		}

		/// Starts unbonding `amount` of the caller's active stake. What remains
		/// active must be zero (the worker then draws no jobs) or at least
		/// `MinWorkerStake`.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::unbond())]
		pub fn unbond(origin: OriginFor<T>, amount: BalanceOf<T>) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
			let unlock_at = Self::unlock_block();
			Self::mutate_active(&worker, |record| {
				ensure!(amount <= record.stake, Error::<T>::UnbondExceedsStake);
				let remaining = record.stake.saturating_sub(amount);
				ensure!(
					remaining.is_zero() || remaining >= T::MinWorkerStake::get(),
					Error::<T>::StakeBelowMinimum
				);
				Self::start_unbonding(record, amount, unlock_at)
			})?;
			Self::deposit_event(Event::Unbonding { worker, amount, unlock_at });
			Ok(())
		}

		/// Releases the caller's unbonding stake that has unlocked. A
		/// deregistered worker's record goes with the last of it. Refused
		/// while the worker has open jobs: the stake that backs them stays
		/// slashable until they end.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::withdraw_unbonded())]
		pub fn withdraw_unbonded(origin: OriginFor<T>) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			let mut record = Workers::<T>::get(&worker).ok_or(Error::<T>::NotWorker)?;
			ensure!(record.open_jobs == 0, Error::<T>::HasOpenJobs);
			let now = polkadot_sdk::frame_system::Pallet::<T>::block_number();
			let mut amount = BalanceOf::<T>::zero();
			record.unbonding.retain(|chunk| {
				let unlocked = chunk.unlock_at <= now;
				if unlocked {
					amount = amount.saturating_add(chunk.amount);
				}
				!unlocked
			});
			ensure!(!amount.is_zero(), Error::<T>::NothingToWithdraw);
			T::Currency::release(
				&HoldReason::WorkerStake.into(),
				&worker,
				amount,
				Precision::BestEffort,
			)?;
			Self::deposit_event(Event::Withdrawn { worker: worker.clone(), amount });
			if record.leaving && record.stake.is_zero() && record.unbonding.is_empty() {
				Workers::<T>::remove(&worker);
				Self::deposit_event(Event::WorkerRemoved { worker });
			} else {
				Workers::<T>::insert(&worker, record);
			}
			Ok(())
		}

		/// Sets how many jobs the caller runs at once. Lowering it below the
		/// jobs it has open takes effect as they finish.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::set_capacity())]
		pub fn set_capacity(origin: OriginFor<T>, capacity: u32) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			Self::check_capacity(capacity)?;
			Self::mutate_active(&worker, |record| {
				record.capacity = capacity;
				Ok(())
			})?;
			Self::deposit_event(Event::CapacitySet { worker, capacity });
			Ok(())
		}

		/// Deregisters the caller, who must have no open jobs: it draws no
		/// more jobs and its whole stake starts unbonding.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::deregister())]
		pub fn deregister(origin: OriginFor<T>) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			let unlock_at = Self::unlock_block();
			Self::mutate_active(&worker, |record| {
				ensure!(record.open_jobs == 0, Error::<T>::HasOpenJobs);
				let stake = record.stake;
				if !stake.is_zero() {
					Self::start_unbonding(record, stake, unlock_at)?;
				}
				record.leaving = true;
				Ok(())
			})?;
			Self::deposit_event(Event::WorkerDeregistered { worker });
			Ok(())
		}

		/// Declares the models the caller serves, replacing its earlier list:
		/// it is drawn only for jobs of these models. Jobs it is assigned to
		/// already are not affected. An id that is no model is harmless: no
		/// job names it.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::serve_models(models.len() as u32))]
		pub fn serve_models(
			origin: OriginFor<T>,
			models: BoundedVec<tributary_primitives::ModelId, T::MaxServedModels>,
		) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			let mut sorted = models.into_inner();
			sorted.sort_unstable();
			ensure!(sorted.windows(2).all(|pair| pair[0] != pair[1]), Error::<T>::DuplicateModel);
			Self::mutate_active(&worker, |record| {
				// The same length as the bounded list it came from.
				record.models = BoundedVec::truncate_from(sorted.clone());
				Ok(())
			})?;
			Self::deposit_event(Event::ModelsServed { worker, models: sorted });
			Ok(())
		}
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			assert!(T::MaxWorkers::get() > 0, "MaxWorkers must allow a worker");
			assert!(T::MaxCapacity::get() > 0, "MaxCapacity must allow a job");
			assert!(T::MaxUnbondingChunks::get() > 0, "MaxUnbondingChunks must allow a chunk");
		}
	}
}

impl<T: Config> Pallet<T> {
	fn check_capacity(capacity: u32) -> DispatchResult {
		ensure!((1..=T::MaxCapacity::get()).contains(&capacity), Error::<T>::InvalidCapacity);
		Ok(())
	}

	fn hold(worker: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		T::Currency::hold(&HoldReason::WorkerStake.into(), worker, amount).map_err(|error| {
			tributary_primitives::funds_error(error, Error::<T>::InsufficientBalance)
		})
	}

	fn unlock_block() -> BlockNumberFor<T> {
		polkadot_sdk::frame_system::Pallet::<T>::block_number()
			.saturating_add(T::UnbondingPeriod::get())
	}

	/// Applies `f` to the record of a worker that has not deregistered,
	/// storing it only if `f` succeeds.
	fn mutate_active(
		worker: &T::AccountId,
		f: impl FnOnce(&mut WorkerOf<T>) -> DispatchResult,
	) -> DispatchResult {
		Workers::<T>::try_mutate(worker, |record| {
			let record = record.as_mut().ok_or(Error::<T>::NotWorker)?;
			ensure!(!record.leaving, Error::<T>::Leaving);
			f(record)
		})
	}

	/// Moves `amount` of active stake into a new unbonding chunk.
	fn start_unbonding(
		record: &mut WorkerOf<T>,
		amount: BalanceOf<T>,
		unlock_at: BlockNumberFor<T>,
	) -> DispatchResult {
		record
			.unbonding
			.try_push(UnbondingChunk { amount, unlock_at })
			.map_err(|_| Error::<T>::TooManyUnbondingChunks)?;
		record.stake = record.stake.saturating_sub(amount);
		Ok(())
	}

	/// Takes `amount` out of a record, active stake first, then the newest
	/// unbonding chunks.
	fn deduct(record: &mut WorkerOf<T>, amount: BalanceOf<T>) {
		let from_stake = amount.min(record.stake);
		record.stake = record.stake.saturating_sub(from_stake);
		let mut rest = amount.saturating_sub(from_stake);
		for chunk in record.unbonding.iter_mut().rev() {
			let take = rest.min(chunk.amount);
			chunk.amount = chunk.amount.saturating_sub(take);
			rest = rest.saturating_sub(take);
		}
		record.unbonding.retain(|chunk| !chunk.amount.is_zero());
	}

	/// As many models as a worker may serve, from `first` on, in descending
	/// order so that sorting them does the most work: a record at its
	/// largest, for benchmarks.
	#[cfg(feature = "runtime-benchmarks")]
	pub fn most_models(
		first: tributary_primitives::ModelId,
	) -> BoundedVec<tributary_primitives::ModelId, T::MaxServedModels> {
		let n = u64::from(T::MaxServedModels::get());
		BoundedVec::truncate_from((first..first.saturating_add(n)).rev().collect())
	}

	/// Everything held for a worker: active stake and unbonding chunks.
	pub fn total_held(record: &WorkerOf<T>) -> BalanceOf<T> {
		record.unbonding.iter().fold(record.stake, |sum, chunk| sum.saturating_add(chunk.amount))
	}

	/// The worker's weight in a draw, or `None` if it cannot be drawn now.
	fn draw_weight(record: &WorkerOf<T>) -> Option<u128> {
		let eligible = !record.leaving
			&& record.stake >= T::MinWorkerStake::get()
			&& !record.stake.is_zero()
			&& record.open_jobs < record.capacity;
		// Reputation scales the weight from 0.1× (none) to 1.1× (full) of the
		// stake, so a worker that lost reputation can still be drawn and earn it back.
		let reputation = u128::from(record.reputation.saturating_add(MAX_REPUTATION / 10));
		eligible.then(|| {
			let stake: u128 = record.stake.unique_saturated_into();
			stake.saturating_mul(reputation)
		})
	}
}

impl<T: Config> WorkerClasses<T::AccountId> for Pallet<T> {
	fn class(worker: &T::AccountId) -> Option<polkadot_sdk::sp_core::H256> {
		Workers::<T>::get(worker).map(|record| record.class)
	}
}

impl<T: Config> WorkerStaking<T::AccountId> for Pallet<T> {
	type MaxWorkers = T::MaxWorkers;

	fn candidates() -> Vec<Candidate<T::AccountId>> {
		Workers::<T>::iter()
			.filter_map(|(worker, record)| {
				Self::draw_weight(&record).map(|weight| Candidate {
					worker,
					weight,
					free: record.capacity.saturating_sub(record.open_jobs),
					class: record.class,
					models: record.models.into_inner(),
				})
			})
			.collect()
	}

	fn occupy(worker: &T::AccountId) -> DispatchResult {
		Self::mutate_active(worker, |record| {
			ensure!(record.open_jobs < record.capacity, Error::<T>::NoFreeCapacity);
			record.open_jobs = record.open_jobs.saturating_add(1);
			Ok(())
		})
	}

	fn release(worker: &T::AccountId) {
		Workers::<T>::mutate(worker, |record| {
			if let Some(record) = record {
				record.open_jobs = record.open_jobs.saturating_sub(1);
			}
		});
	}

	fn reward(worker: &T::AccountId) {
		Workers::<T>::mutate(worker, |record| {
			if let Some(record) = record {
				record.reputation =
					record.reputation.saturating_add(REPUTATION_REWARD).min(MAX_REPUTATION);
			}
		});
	}

	fn declined(worker: &T::AccountId) {
		Workers::<T>::mutate(worker, |record| {
			if let Some(record) = record {
				record.reputation = record.reputation.saturating_sub(DECLINE_PENALTY);
			}
		});
	}

	fn slash(worker: &T::AccountId, reason: SlashReason) {
		Self::slash_paying(worker, reason, None, 1);
	}
}

impl<T: Config> tributary_primitives::AuditSlashing<T::AccountId, BalanceOf<T>> for Pallet<T> {
	fn slash_amount(worker: &T::AccountId) -> BalanceOf<T> {
		Workers::<T>::get(worker)
			.map_or_else(Zero::zero, |record| T::SlashFraction::get() * Self::total_held(&record))
	}

	fn slash_refunding(
		worker: &T::AccountId,
		to: &T::AccountId,
		refund: BalanceOf<T>,
		times: u32,
	) -> BalanceOf<T> {
		Self::slash_paying(worker, SlashReason::AuditFailed, Some((to, refund)), times)
	}
}

impl<T: Config> Pallet<T> {
	/// Slashes `worker` `times` over for `reason`, as that many slashes one
	/// after another would (each the slash fraction of what is left), and
	/// lowers its reputation as many times; of what is taken, at most
	/// `refund`'s amount goes to its account and the rest to the treasury.
	/// Returns what the refund got.
	fn slash_paying(
		worker: &T::AccountId,
		reason: SlashReason,
		refund: Option<(&T::AccountId, BalanceOf<T>)>,
		times: u32,
	) -> BalanceOf<T> {
		let Some(mut record) = Workers::<T>::get(worker) else { return Zero::zero() };
		let penalty = reputation_penalty(reason).saturating_mul(times.into());
		record.reputation = record.reputation.saturating_sub(penalty);
		let mut left = Self::total_held(&record);
		let mut amount = BalanceOf::<T>::zero();
		for _ in 0..times {
			let one = T::SlashFraction::get() * left;
			if one.is_zero() {
				break;
			}
			amount = amount.saturating_add(one);
			left = left.saturating_sub(one);
		}
		// The treasury or the refunded account may be unable to receive
		// (e.g. below the existential deposit of an account that does not
		// exist yet): what could not move stays held, and the reputation loss
		// still applies.
		let refunded = refund
			.map_or_else(Zero::zero, |(to, owed)| Self::take_stake(worker, to, owed.min(amount)));
		let treasury =
			Self::take_stake(worker, &T::Treasury::get(), amount.saturating_sub(refunded));
		let taken = refunded.saturating_add(treasury);
		if taken < amount {
			log::warn!(
				target: "runtime::worker-staking",
				"only {taken:?} of a slash of {amount:?} could be paid out"
			);
		}
		if !taken.is_zero() || amount.is_zero() {
			Self::deduct(&mut record, taken);
			Self::deposit_event(Event::Slashed { worker: worker.clone(), amount: taken, reason });
		}
		Workers::<T>::insert(worker, record);
		refunded
	}

	/// Moves up to `amount` of `worker`'s held stake to `to`; returns what
	/// moved.
	fn take_stake(worker: &T::AccountId, to: &T::AccountId, amount: BalanceOf<T>) -> BalanceOf<T> {
		if amount.is_zero() {
			return amount;
		}
		T::Currency::transfer_on_hold(
			&HoldReason::WorkerStake.into(),
			worker,
			to,
			amount,
			Precision::BestEffort,
			Restriction::Free,
			Fortitude::Force,
		)
		.unwrap_or_else(|_| Zero::zero())
	}
}
