//! Datanet pools: training snapshots, and the prefix sums that pay them.
//!
//! A datanet numbers its training snapshots `1, 2, …`, one per model
//! registered with it (a model shares the last snapshot when nothing joined
//! since). A contribution approved while `taken` snapshots exist **joins** at
//! `taken + 1`: it is a member of every snapshot from its join point on for as
//! long as it stays approved. A payment to snapshot `s` gives each of its
//! members (approved contributions that joined at or before `s`) the same
//! whole part; what does not divide goes back to the caller.
//!
//! Both sums live in one Fenwick tree over join points, node `i` of datanet
//! `d` at `PoolNodes(d, i)`, with `lowbit(i)` the lowest set bit of `i`:
//!
//! - `members` of node `i` counts the members that joined in
//!   `(i − lowbit(i), i]`, so snapshot `s` has the sum over the nodes
//!   `s, s − lowbit(s), …` (the **down** path of `s`) as members;
//! - a payment of `each` per member to snapshot `s` is added to the `reward`
//!   of the same down path, so node `i` holds what was paid per member to the
//!   snapshots in `[i, i + lowbit(i))`, and a member that joined at `j` is owed
//!   the sum over `j, j + lowbit(j), …` (the **up** path of `j`) up to the
//!   current join point, less what it has already harvested.
//!
//! Paying reads and writes `popcount(s)` nodes, at most `log2(MaxSnapshots)`
//! ones; joining writes one node, leaving and harvesting touch at most
//! `log2(MaxSnapshots) + 1`; nothing iterates over members.

use crate::{BalanceOf, Config, Error, Membership, Memberships, PoolNode, PoolNodes, Pools};
use alloc::vec::Vec;
use polkadot_sdk::{
	frame_support::ensure,
	sp_runtime::traits::{Get, Saturating, Zero},
};
use tributary_primitives::{ContributionId, DatanetId, SnapshotId};

fn lowbit(i: SnapshotId) -> SnapshotId {
	i & i.wrapping_neg()
}

/// `i, i − lowbit(i), …` down to 1.
fn down(i: SnapshotId) -> impl Iterator<Item = SnapshotId> {
	core::iter::successors((i > 0).then_some(i), |&i| Some(i - lowbit(i)).filter(|&i| i > 0))
}

/// `i, i + lowbit(i), …` up to `size`.
fn up(i: SnapshotId, size: SnapshotId) -> impl Iterator<Item = SnapshotId> {
	core::iter::successors((i > 0 && i <= size).then_some(i), move |&i| {
		i.checked_add(lowbit(i)).filter(|&next| next <= size)
	})
}

/// The largest snapshot number with the longest down path (`2^n − 1` for the
/// largest `n` allowed): where paying costs the most.
#[cfg(feature = "runtime-benchmarks")]
pub(crate) fn costliest_snapshot<T: Config>() -> SnapshotId {
	let bits = 64 - (u64::from(T::MaxSnapshots::get().max(1)) + 1).leading_zeros();
	((1u64 << (bits - 1)) - 1) as SnapshotId
}

impl<T: Config> crate::Pallet<T> {
	/// Takes a snapshot of `datanet`'s approved contributions for a model
	/// being registered with it, or shares the last one when nothing joined
	/// since.
	pub(crate) fn take_snapshot(datanet: DatanetId) -> Result<SnapshotId, Error<T>> {
		Pools::<T>::try_mutate(datanet, |pool| {
			if pool.taken > 0 && !pool.joined {
				return Ok(pool.taken);
			}
			ensure!(pool.taken < T::MaxSnapshots::get(), Error::<T>::SnapshotsExhausted);
			pool.taken += 1;
			pool.joined = false;
			// The next join point becomes a node: its members are those of
			// the nodes below it that it covers, and nothing was paid to it.
			let node = pool.taken + 1;
			let members = (0..lowbit(node).trailing_zeros())
				.map(|bit| PoolNodes::<T>::get(datanet, node - (1 << bit)).members)
				.fold(0u32, u32::saturating_add);
			if members > 0 {
				PoolNodes::<T>::insert(datanet, node, PoolNode { members, reward: Zero::zero() });
			}
			Ok(pool.taken)
		})
	}

	/// `contribution` was approved in `datanet`: it joins at the next snapshot.
	pub(crate) fn join(contribution: ContributionId, datanet: DatanetId) {
		let join = Pools::<T>::mutate(datanet, |pool| {
			pool.joined = true;
			pool.taken.saturating_add(1)
		});
		// The join point is the tree's last node, so its up path is itself.
		let debt = PoolNodes::<T>::mutate(datanet, join, |node| {
			node.members = node.members.saturating_add(1);
			node.reward
		});
		Memberships::<T>::insert(contribution, Membership { join, debt });
	}

	/// `contribution` stops counting in `datanet`; returns what it was still owed.
	pub(crate) fn leave(contribution: ContributionId, datanet: DatanetId) -> BalanceOf<T> {
		let Some(membership) = Memberships::<T>::take(contribution) else { return Zero::zero() };
		let size = Pools::<T>::get(datanet).taken.saturating_add(1);
		let mut paid = BalanceOf::<T>::zero();
		for i in up(membership.join, size) {
			PoolNodes::<T>::mutate(datanet, i, |node| {
				node.members = node.members.saturating_sub(1);
				paid = paid.saturating_add(node.reward);
			});
		}
		paid.saturating_sub(membership.debt)
	}

	/// What `contribution`'s snapshots paid per member since it joined or last
	/// harvested, and the total they paid, which becomes its new debt.
	fn owed(
		membership: &Membership<BalanceOf<T>>,
		datanet: DatanetId,
	) -> (BalanceOf<T>, BalanceOf<T>) {
		let size = Pools::<T>::get(datanet).taken.saturating_add(1);
		let paid = up(membership.join, size)
			.map(|i| PoolNodes::<T>::get(datanet, i).reward)
			.fold(BalanceOf::<T>::zero(), |a, b| a.saturating_add(b));
		(paid.saturating_sub(membership.debt), paid)
	}

	/// What `contribution` is owed in `datanet`'s pool now.
	pub(crate) fn pending(contribution: ContributionId, datanet: DatanetId) -> BalanceOf<T> {
		Memberships::<T>::get(contribution)
			.map(|membership| Self::owed(&membership, datanet).0)
			.unwrap_or_default()
	}

	/// Takes what `contribution` is owed in `datanet`'s pool, marking it paid.
	pub(crate) fn take_pending(contribution: ContributionId, datanet: DatanetId) -> BalanceOf<T> {
		Memberships::<T>::mutate(contribution, |membership| {
			let Some(membership) = membership else { return Zero::zero() };
			let (owed, paid) = Self::owed(membership, datanet);
			membership.debt = paid;
			owed
		})
	}

	/// Pays `amount` to the members of `datanet`'s snapshot `snapshot`, the
	/// same whole part each; returns what it could not divide (all of it when
	/// the snapshot has no members left).
	pub(crate) fn pay_snapshot(
		datanet: DatanetId,
		snapshot: SnapshotId,
		amount: BalanceOf<T>,
	) -> BalanceOf<T> {
		if amount.is_zero() {
			return amount;
		}
		let nodes: Vec<_> = down(snapshot).map(|i| (i, PoolNodes::<T>::get(datanet, i))).collect();
		let members = nodes.iter().map(|(_, node)| node.members).fold(0u32, u32::saturating_add);
		if members == 0 {
			return amount;
		}
		let members = BalanceOf::<T>::from(members);
		let each = amount / members;
		if each.is_zero() {
			return amount;
		}
		for (i, mut node) in nodes {
			node.reward = node.reward.saturating_add(each);
			PoolNodes::<T>::insert(datanet, i, node);
		}
		amount.saturating_sub(each.saturating_mul(members))
	}
}

#[cfg(test)]
mod tests {
	use super::{down, lowbit, up};

	#[test]
	fn down_and_up_paths_cover_each_join_point_once() {
		assert_eq!(down(6).collect::<Vec<_>>(), vec![6, 4]);
		assert_eq!(down(7).collect::<Vec<_>>(), vec![7, 6, 4]);
		assert_eq!(down(0).count(), 0);
		assert_eq!(up(5, 16).collect::<Vec<_>>(), vec![5, 6, 8, 16]);
		assert_eq!(up(5, 7).collect::<Vec<_>>(), vec![5, 6]);
		assert_eq!(up(9, 8).count(), 0);
		assert_eq!(up(u32::MAX, u32::MAX).collect::<Vec<_>>(), vec![u32::MAX]);
		// A payment to snapshot s reaches join point j exactly when j <= s:
		// the down path of s and the up path of j meet in one node.
		for s in 1..64u32 {
			for j in 1..64u32 {
				let meet = down(s).filter(|i| up(j, 64).any(|k| k == *i)).count();
				assert_eq!(meet, usize::from(j <= s), "s={s} j={j}");
			}
		}
		// The members of snapshot s are the join points in (i − lowbit(i), i]
		// of its down path: every join point at or before s, once.
		for s in 1..64u32 {
			let mut covered: Vec<u32> = down(s).flat_map(|i| (i - lowbit(i) + 1)..=i).collect();
			covered.sort();
			assert_eq!(covered, (1..=s).collect::<Vec<_>>());
		}
	}
}
