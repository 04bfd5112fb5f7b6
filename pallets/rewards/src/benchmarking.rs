//! Benchmarks of the rewards calls and of settling a job, at their bounds.

use super::*;
use alloc::vec::Vec;
use polkadot_sdk::{
	frame_benchmarking::v2::*, frame_support::BoundedVec, frame_system::RawOrigin,
	sp_runtime::Perbill,
};
use tributary_primitives::{Attribution, SettledReceipt, MAX_ATTRIBUTION_ENTRIES};

fn fund<T: Config>(who: &T::AccountId, amount: BalanceOf<T>) {
	let floor = T::Currency::minimum_balance();
	T::Currency::set_balance(who, amount.saturating_add(floor));
}

/// Makes `datanet`'s next snapshot the one whose payment touches the most
/// tree nodes: the `prepare` of every benchmark that settles, here and in
/// pallets that settle through this one.
pub fn costliest_pool<T: Config>(datanet: DatanetId) {
	let taken = crate::pool::costliest_snapshot::<T>().saturating_sub(1);
	Pools::<T>::insert(datanet, Pool { taken, joined: true });
}

/// A model with `upstream` flattened entries, `contributions` approved
/// contributions of one contributor in its first datanet, every datanet
/// snapshot at its costliest.
fn graph<T: Config>(upstream: u32, contributions: u32) -> (ModelId, Vec<ContributionId>) {
	graph_of::<T>(upstream, contributions, 1)
}

/// [`graph`], with the contributions made in turn by `contributors` accounts.
fn graph_of<T: Config>(
	upstream: u32,
	contributions: u32,
	contributors: u32,
) -> (ModelId, Vec<ContributionId>) {
	let owner: T::AccountId = account("owner", 0, 0);
	let graph = T::BenchmarkHelper::model(
		&owner,
		upstream,
		contributions,
		contributors,
		costliest_pool::<T>,
	);
	fund::<T>(&T::Treasury::get(), Zero::zero());
	graph
}

/// A fee large enough that every part of it exceeds the existential deposit.
fn fee<T: Config>() -> BalanceOf<T> {
	T::Currency::minimum_balance().saturating_mul(1_000_000u32.into())
}

fn settle_job<T: Config>(
	job_id: JobId,
	model: ModelId,
	attribution: &Attribution,
	workers: &[T::AccountId],
) {
	let fee = fee::<T>();
	let account = Pallet::<T>::account_id();
	fund::<T>(&account, T::Currency::balance(&account).saturating_add(fee));
	Pallet::<T>::do_settle(CompletedJob { job_id, model_id: model, fee, workers, attribution })
		.expect("settling a job");
}

#[benchmarks]
mod benchmarks {
	use super::*;

	/// `k` named contributions, `u` upstream entries, `w` majority workers.
	#[benchmark]
	fn settle(
		k: Linear<0, MAX_ATTRIBUTION_ENTRIES>,
		u: Linear<1, { <T::Attribution as AttributionGraph<BalanceOf<T>>>::MaxUpstream::get() }>,
		w: Linear<1, 16>,
	) {
		let (model, contributions) = graph::<T>(u, k);
		let weight = Perbill::from_rational(1, MAX_ATTRIBUTION_ENTRIES);
		let attribution: Attribution =
			BoundedVec::truncate_from(contributions.iter().map(|&c| (c, weight)).collect());
		let workers: Vec<T::AccountId> = (0..w).map(|i| account("worker", i, 0)).collect();
		let fee = fee::<T>();
		let account = Pallet::<T>::account_id();
		fund::<T>(&account, fee);
		#[block]
		{
			Pallet::<T>::do_settle(CompletedJob {
				job_id: 0,
				model_id: model,
				fee,
				workers: &workers,
				attribution: &attribution,
			})
			.expect("settling a job");
		}
		assert!(Settled::<T>::contains_key(0));
	}

	/// One settlement's receipts, each component in receipts of its own so
	/// that each is measured apart: one receipt without attribution; `e`
	/// attribution entries naming, in turn, 32 contributions of one
	/// contributor each; `m - 1` more models, a receipt each; `c` more
	/// contributions, of a contributor each, named once. Every model's
	/// upstream map is at its bound. The channels pallet's benchmark divides
	/// its receipts at the least of these shapes; `division_weight` adds
	/// what the rest cost.
	#[benchmark]
	fn settle_receipts(e: Linear<0, 1024>, m: Linear<1, 8>, c: Linear<0, 1024>) {
		let most = MAX_ATTRIBUTION_ENTRIES;
		let upstream = <T::Attribution as AttributionGraph<BalanceOf<T>>>::MaxUpstream::get();
		let (first, named) =
			graph_of::<T>(upstream, most.saturating_add(c), most.saturating_add(c));
		let (common, distinct) = named.split_at(most as usize);
		let share = Perbill::from_rational(1, most);
		let attributed = |ids: &mut dyn Iterator<Item = ContributionId>| -> Attribution {
			BoundedVec::truncate_from(ids.map(|id| (id, share)).collect())
		};
		let mut answers: Vec<(ModelId, Attribution)> = Vec::from([(first, Attribution::default())]);
		let mut entries = (0..e).map(|j| common[(j % most) as usize]).peekable();
		while entries.peek().is_some() {
			answers.push((first, attributed(&mut entries.by_ref().take(most as usize))));
		}
		for ids in distinct.chunks(most as usize) {
			answers.push((first, attributed(&mut ids.iter().copied())));
		}
		for _ in 1..m {
			answers.push((graph::<T>(upstream, 0).0, Attribution::default()));
		}
		let worker: T::AccountId = account("worker", 0, 0);
		let price = fee::<T>();
		let receipts: Vec<_> = (1u64..)
			.zip(&answers)
			.map(|(sequence, (model, attribution))| SettledReceipt {
				sequence,
				model: *model,
				price,
				worker: &worker,
				attribution,
			})
			.collect();
		fund::<T>(&Pallet::<T>::account_id(), price.saturating_mul((answers.len() as u32).into()));
		#[block]
		{
			Pallet::<T>::do_settle_receipts(0, &receipts).expect("settling receipts");
		}
		assert!(!Claimable::<T>::get(&worker).is_zero());
	}

	#[benchmark]
	fn claim() {
		let (model, _) = graph::<T>(1, 0);
		let worker: T::AccountId = account("worker", 0, 0);
		settle_job::<T>(0, model, &Attribution::default(), &[worker.clone()]);
		#[extrinsic_call]
		_(RawOrigin::Signed(worker.clone()));
		assert!(Claimable::<T>::get(&worker).is_zero());
	}

	#[benchmark]
	fn claim_contributions(n: Linear<1, { T::MaxClaimBatch::get() }>) {
		let (model, contributions) = graph::<T>(1, n);
		settle_job::<T>(0, model, &Attribution::default(), &[account("worker", 0, 0)]);
		// Harvesting walks up from a contribution's join point to the pool's
		// last node: longest from the first join point of the fullest pool.
		let (_, datanet) = T::Contributions::approved(contributions[0]).expect("approved");
		for &c in &contributions {
			Memberships::<T>::mutate(c, |m| m.as_mut().expect("a member").join = 1);
		}
		Pools::<T>::mutate(datanet, |pool| pool.taken = T::MaxSnapshots::get());
		let contributor: T::AccountId = account("contributor", 0, 0);
		#[extrinsic_call]
		_(RawOrigin::Signed(contributor.clone()), BoundedVec::truncate_from(contributions));
		assert!(Claimable::<T>::get(&contributor).is_zero());
	}

	#[benchmark]
	fn set_shares() {
		let shares = RewardShares {
			worker: Perbill::from_percent(25),
			model: Perbill::from_percent(25),
			data: Perbill::from_percent(40),
			treasury: Perbill::from_percent(10),
		};
		#[extrinsic_call]
		_(RawOrigin::Root, shares);
		assert_eq!(Shares::<T>::get(), shares);
	}

	impl_benchmark_test_suite!(Pallet, crate::mock::new_test_ext(), crate::mock::Test);
}
