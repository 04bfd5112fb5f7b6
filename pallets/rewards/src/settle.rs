//! Dividing a completed job's fee, or a settlement's receipts' prices: one
//! division serves both, so an answer pays the same people the same shares
//! whichever path it took.
//!
//! A [`Division`] gathers what each beneficiary is owed in memory and writes
//! each one once when it is applied: a settlement of a thousand receipts that
//! name the same contributions credits each contribution, account, model and
//! pool once, so its storage work follows the distinct beneficiaries, not the
//! receipts.
//!
//! Every part rounds down (`mul_floor`, integer division), so no part can be
//! credited more than its share of the fee; whatever is left after every
//! beneficiary took its part goes to the treasury. A model's share and the
//! unnamed part of the data share are gathered per model and divided along
//! its graph once, so a beneficiary of many receipts loses rounding once,
//! not once per receipt.

use crate::{
	BalanceOf, Claimable, Config, ContributionEarnings, Error, Event, Memberships, ModelEarnings,
	Pallet, Payee, RewardShares, Settled, Shares, WeightInfo,
};
use alloc::{collections::BTreeMap, vec::Vec};
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
	Attribution, AttributionGraph, Beneficiary, ChannelId, CompletedJob, ContributionId,
	ContributionProvider, DatanetId, ModelId, ModelProvider, SettledReceipt, SnapshotId,
	TrainingEdge,
};

/// How one fee, or one settlement's prices, was divided.
#[derive(Default)]
struct Parts<Balance> {
	worker: Balance,
	model: Balance,
	upstream: Balance,
	data: Balance,
	treasury: Balance,
}

/// What each beneficiary was credited, for the settlement's event.
type Credits<T> =
	BTreeMap<Payee<<T as polkadot_sdk::frame_system::Config>::AccountId>, BalanceOf<T>>;

/// A division applied: its parts, every credit, and how many upstream
/// entries the models' graphs held (for the weight).
struct Divided<T: Config> {
	parts: Parts<BalanceOf<T>>,
	credits: Credits<T>,
	upstream_entries: u32,
}

/// What a model that answered has gathered: its share and the unnamed part
/// of the data share, divided once when the division is applied.
struct Answered<Balance> {
	training: Vec<TrainingEdge>,
	model_pot: Balance,
	unnamed: Balance,
}

/// A named contribution as the division found it: its contributor, its
/// datanet and the snapshot it joined at, or `None` when it earns nothing
/// (not approved, or no membership).
type Named<AccountId> = Option<(AccountId, DatanetId, SnapshotId)>;

/// The parts of one or more fees, gathered per beneficiary before anything
/// is written.
pub(crate) struct Division<T: Config> {
	shares: RewardShares,
	fees: BalanceOf<T>,
	parts: Parts<BalanceOf<T>>,
	answered: BTreeMap<ModelId, Answered<BalanceOf<T>>>,
	named: BTreeMap<ContributionId, Named<T::AccountId>>,
	credits: Credits<T>,
}

impl<T: Config> Division<T> {
	pub(crate) fn new() -> Self {
		Self {
			shares: Shares::<T>::get(),
			fees: Zero::zero(),
			parts: Parts::default(),
			answered: BTreeMap::new(),
			named: BTreeMap::new(),
			credits: BTreeMap::new(),
		}
	}

	/// Adds `fee`, in the pallet's account, for an answer of `model` by
	/// `workers` attributed to `attribution`.
	pub(crate) fn add(
		&mut self,
		model: ModelId,
		fee: BalanceOf<T>,
		workers: &[T::AccountId],
		attribution: &Attribution,
	) {
		let Self { shares, fees, parts, answered, named, credits } = self;
		*fees = fees.saturating_add(fee);
		let count = workers.len() as u32;
		if count > 0 {
			let each = shares.worker.mul_floor(fee) / count.into();
			for worker in workers {
				owe(credits, &Payee::Worker(worker.clone()), each);
			}
			parts.worker = parts.worker.saturating_add(each.saturating_mul(count.into()));
		}
		let answered = answered.entry(model).or_insert_with(|| Answered {
			training: T::Attribution::training(model),
			model_pot: Zero::zero(),
			unnamed: Zero::zero(),
		});
		answered.model_pot = answered.model_pot.saturating_add(shares.model.mul_floor(fee));

		// The data share: each contribution named that is still approved
		// and in the model's snapshot of its datanet gets its weight of the
		// pot; the rest goes to the model's training snapshots.
		let pot = shares.data.mul_floor(fee);
		let mut paid = BalanceOf::<T>::zero();
		for &(contribution, weight) in attribution.iter() {
			let named = named.entry(contribution).or_insert_with(|| {
				let (contributor, datanet) = T::Contributions::approved(contribution)?;
				let join = Memberships::<T>::get(contribution)?.join;
				Some((contributor, datanet, join))
			});
			let Some((contributor, datanet, join)) = named else { continue };
			let trained_on = answered
				.training
				.iter()
				.any(|&(d, snapshot, _)| d == *datanet && *join <= snapshot);
			if !trained_on {
				continue;
			}
			// Attribution weights add up to at most 100%; `min` keeps a
			// malformed one from paying more than the pot.
			let amount = weight.mul_floor(pot).min(pot.saturating_sub(paid));
			if amount.is_zero() {
				continue;
			}
			paid = paid.saturating_add(amount);
			let payee =
				Payee::Contribution { contribution, model, contributor: contributor.clone() };
			owe(credits, &payee, amount);
		}
		answered.unnamed = answered.unnamed.saturating_add(pot.saturating_sub(paid));
		parts.data = parts.data.saturating_add(paid);
	}

	/// Divides each model's gathered share along its graph and its unnamed
	/// data among its training snapshots, writes every credit once and
	/// moves the rest to the treasury.
	fn apply(mut self) -> Result<Divided<T>, DispatchError> {
		let mut entries = 0u32;
		let mut upstream = BTreeMap::<Beneficiary, BalanceOf<T>>::new();
		let mut pools = BTreeMap::<(DatanetId, SnapshotId), BalanceOf<T>>::new();
		let answered = core::mem::take(&mut self.answered);
		for (model, answered) in answered {
			let split = T::Attribution::split(model, answered.model_pot);
			let kept = self.pay_model(model, split.model);
			self.parts.model = self.parts.model.saturating_add(kept);
			entries = entries.saturating_add(split.upstream.len() as u32);
			for (beneficiary, amount) in split.upstream {
				let owed = upstream.entry(beneficiary).or_default();
				*owed = owed.saturating_add(amount);
			}
			let shares: u64 =
				answered.training.iter().map(|(_, _, share)| u64::from(share.deconstruct())).sum();
			for &(datanet, snapshot, share) in &answered.training {
				let amount = portion::<T>(answered.unnamed, share.deconstruct().into(), shares);
				let owed = pools.entry((datanet, snapshot)).or_default();
				*owed = owed.saturating_add(amount);
			}
		}
		for (beneficiary, amount) in upstream {
			let taken = match beneficiary {
				Beneficiary::Model(model) => self.pay_model(model, amount),
				Beneficiary::Datanet(datanet, snapshot) => self.pay_pool(datanet, snapshot, amount),
			};
			self.parts.upstream = self.parts.upstream.saturating_add(taken);
		}
		for ((datanet, snapshot), amount) in pools {
			let taken = self.pay_pool(datanet, snapshot, amount);
			self.parts.data = self.parts.data.saturating_add(taken);
		}
		self.write_credits();

		// Every part above rounded down from shares that add up to 100%, so
		// they never exceed the fees; the treasury takes the rest.
		let parts = self.parts;
		let treasury = self
			.fees
			.checked_sub(&parts.worker)
			.and_then(|left| left.checked_sub(&parts.model))
			.and_then(|left| left.checked_sub(&parts.upstream))
			.and_then(|left| left.checked_sub(&parts.data))
			.ok_or_else(|| {
				polkadot_sdk::frame_support::defensive!("settlement parts exceed the fee");
				Error::<T>::Overpaid
			})?;
		if !treasury.is_zero() {
			T::Currency::transfer(
				&Pallet::<T>::account_id(),
				&T::Treasury::get(),
				treasury,
				Preservation::Preserve,
			)?;
		}
		Ok(Divided {
			parts: Parts { treasury, ..parts },
			credits: self.credits,
			upstream_entries: entries,
		})
	}

	/// Pays `amount` to `datanet`'s pool at `snapshot`; returns what the
	/// pool took (nothing when the snapshot has no members left).
	fn pay_pool(
		&mut self,
		datanet: DatanetId,
		snapshot: SnapshotId,
		amount: BalanceOf<T>,
	) -> BalanceOf<T> {
		let taken = amount.saturating_sub(Pallet::<T>::pay_snapshot(datanet, snapshot, amount));
		owe(&mut self.credits, &Payee::Pool { datanet, snapshot }, taken);
		taken
	}

	/// Owes `amount` to `model`'s owner; returns what the owner takes (all
	/// of it, or nothing when the model has no owner).
	fn pay_model(&mut self, model: ModelId, amount: BalanceOf<T>) -> BalanceOf<T> {
		let Some(owner) = T::Models::owner(model) else { return Zero::zero() };
		owe(&mut self.credits, &Payee::Model { model, owner }, amount);
		amount
	}

	/// Writes the credits: what each account may claim, each contribution
	/// and each model earned, each key once however many credits name it.
	fn write_credits(&self) {
		let mut accounts = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
		let mut contributions = BTreeMap::<ContributionId, BalanceOf<T>>::new();
		let mut models = BTreeMap::<ModelId, BalanceOf<T>>::new();
		for (payee, &amount) in &self.credits {
			match payee {
				Payee::Worker(who) => owe(&mut accounts, who, amount),
				Payee::Model { model, owner } => {
					owe(&mut accounts, owner, amount);
					owe(&mut models, model, amount);
				}
				Payee::Contribution { contribution, contributor, .. } => {
					owe(&mut accounts, contributor, amount);
					owe(&mut contributions, contribution, amount);
				}
				Payee::Pool { .. } => {}
			}
		}
		for (model, amount) in models {
			ModelEarnings::<T>::mutate(model, |e| *e = e.saturating_add(amount));
		}
		for (contribution, amount) in contributions {
			ContributionEarnings::<T>::mutate(contribution, |e| *e = e.saturating_add(amount));
		}
		for (who, amount) in accounts {
			Claimable::<T>::mutate(who, |c| *c = c.saturating_add(amount));
		}
	}
}

/// Adds `amount` to what `who` is owed.
fn owe<Who: Ord + Clone, Balance: Saturating + Default + Zero + Copy>(
	accounts: &mut BTreeMap<Who, Balance>,
	who: &Who,
	amount: Balance,
) {
	if !amount.is_zero() {
		let owed = accounts.entry(who.clone()).or_default();
		*owed = owed.saturating_add(amount);
	}
}

/// `part / whole` of `amount`, rounded down.
fn portion<T: Config>(amount: BalanceOf<T>, part: u64, whole: u64) -> BalanceOf<T> {
	let portion = multiply_by_rational_with_rounding(
		amount.unique_saturated_into(),
		part.into(),
		whole.into(),
		Rounding::Down,
	)
	.unwrap_or_default();
	BalanceOf::<T>::unique_saturated_from(portion)
}

impl<T: Config> Pallet<T> {
	/// Settles a completed job whose fee is in the pallet's account; returns
	/// the weight it used, from the benchmark of its actual sizes. Callers
	/// run it in a storage layer ([`JobSettlement::settle`]).
	///
	/// [`JobSettlement::settle`]: tributary_primitives::JobSettlement::settle
	pub(crate) fn do_settle(
		job: CompletedJob<'_, T::AccountId, BalanceOf<T>>,
	) -> Result<Weight, DispatchError> {
		ensure!(!Settled::<T>::contains_key(job.job_id), Error::<T>::AlreadySettled);
		let mut division = Division::<T>::new();
		division.add(job.model_id, job.fee, job.workers, job.attribution);
		let Divided { parts, credits, upstream_entries: upstream } = division.apply()?;
		Settled::<T>::insert(job.job_id, ());
		Self::deposit_event(Event::JobSettled {
			job_id: job.job_id,
			worker_share: parts.worker,
			model_share: parts.model,
			upstream_share: parts.upstream,
			data_share: parts.data,
			treasury_share: parts.treasury,
			credits: credits.into_iter().collect(),
		});
		Ok(T::WeightInfo::settle(job.attribution.len() as u32, upstream, job.workers.len() as u32))
	}

	/// Settles the receipts of one settlement of `channel`, whose prices
	/// (less the audit share) are in the pallet's account, each as a job
	/// answered by its one worker; the channels pallet settles each
	/// sequence number once. Callers run it in a storage layer.
	pub(crate) fn do_settle_receipts(
		channel: ChannelId,
		receipts: &[SettledReceipt<'_, T::AccountId, BalanceOf<T>>],
	) -> DispatchResult {
		let (Some(first), Some(last)) = (receipts.first(), receipts.last()) else {
			return Ok(());
		};
		let mut division = Division::<T>::new();
		for receipt in receipts {
			division.add(
				receipt.model,
				receipt.price,
				core::slice::from_ref(receipt.worker),
				receipt.attribution,
			);
		}
		let Divided { parts, credits, .. } = division.apply()?;
		Self::deposit_event(Event::ReceiptsSettled {
			channel_id: channel,
			first: first.sequence,
			last: last.sequence,
			worker_share: parts.worker,
			model_share: parts.model,
			upstream_share: parts.upstream,
			data_share: parts.data,
			treasury_share: parts.treasury,
			credits: credits.into_iter().collect(),
		});
		Ok(())
	}
}
