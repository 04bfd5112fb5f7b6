//! Checks that the benchmarked work the compute market does each block fits
//! in a block at its bounds, and prints what a block holds:
//! `scripts/weights.sh` runs it with the figures shown.

use crate::{configs::*, Runtime};
use pallet_channels::WeightInfo as _;
use pallet_compute::WeightInfo as _;
use pallet_registry::WeightInfo as _;
use pallet_rewards::WeightInfo as _;
use pallet_worker_staking::WeightInfo as _;
use polkadot_sdk::pallet_balances::WeightInfo as _;
use polkadot_sdk::{
	frame_support::{dispatch::DispatchClass, weights::Weight},
	sp_core::Get,
};
use tributary_primitives::{JobSettlement, ReceiptSettlement, MAX_ATTRIBUTION_ENTRIES};

type Balances = polkadot_sdk::pallet_balances::weights::SubstrateWeight<Runtime>;
type Channels = pallet_channels::weights::SubstrateWeight<Runtime>;
type Compute = pallet_compute::weights::SubstrateWeight<Runtime>;
type Rewards = pallet_rewards::weights::SubstrateWeight<Runtime>;
type Registry = pallet_registry::weights::SubstrateWeight<Runtime>;
type Staking = pallet_worker_staking::weights::SubstrateWeight<Runtime>;

fn show(what: &str, weight: Weight) {
	println!(
		"{what:<58} {:>10.3} ms  {:>8} B proof",
		weight.ref_time() as f64 / 1e9,
		weight.proof_size()
	);
}

/// How many times `each` fits in `budget`, by time and by proof size.
fn fits(budget: Weight, each: Weight) -> u64 {
	let by_time = budget.ref_time() / each.ref_time().max(1);
	let by_proof = budget.proof_size() / each.proof_size().max(1);
	by_time.min(by_proof)
}

#[test]
fn the_compute_market_fits_a_block_at_its_bounds() {
	let blocks = RuntimeBlockWeights::get();
	let normal = blocks.get(DispatchClass::Normal).max_total.unwrap_or(blocks.max_block);
	let redundancy = u32::from(DefaultRedundancy::get());
	let job_workers: u32 = <Runtime as pallet_compute::Config>::MaxJobWorkers::get();
	let settle =
		<pallet_rewards::Pallet<Runtime> as JobSettlement<_, _>>::settle_weight(job_workers);
	let hook = Compute::on_initialize(
		MaxDeadlinesPerBlock::get(),
		MaxAssignmentsPerBlock::get(),
		MaxWorkers::get(),
		<Runtime as pallet_compute::Config>::MaxPrunesPerBlock::get(),
	)
	.saturating_add(settle.saturating_mul(MaxDeadlinesPerBlock::get().into()));
	let submit = Compute::submit_job(<Runtime as pallet_compute::Config>::MaxInputLen::get());
	let commit = Compute::commit_result();
	let reveal =
		Compute::reveal_result(MaxOutputLen::get(), MAX_ATTRIBUTION_ENTRIES).saturating_add(settle);
	let job = submit
		.saturating_add(commit.saturating_mul(redundancy.into()))
		.saturating_add(reveal.saturating_mul(redundancy.into()));
	// A typical job: 256 bytes in, 64 bytes out, 8 attribution entries, a
	// model with 4 upstream entries. Reveals are charged what they ran: only
	// the last one settles, for its actual sizes.
	let (typical_entries, typical_upstream) = (8, 4);
	let typical_reveal = Compute::reveal_result(64, typical_entries);
	let typical = Compute::submit_job(256)
		.saturating_add(commit.saturating_mul(redundancy.into()))
		.saturating_add(typical_reveal.saturating_mul(redundancy.into()))
		.saturating_add(Rewards::settle(typical_entries, typical_upstream, redundancy));

	let metadata = MaxMetadataLen::get();
	show("block: all of it", blocks.max_block);
	show("registry.create_datanet (1 KiB metadata)", Registry::create_datanet(metadata));
	show("registry.contribute (1 KiB metadata, open datanet)", Registry::contribute(metadata));
	show("registry.review_contribution", Registry::review_contribution());
	show("registry.withdraw_contribution", Registry::withdraw_contribution());
	show(
		"registry.register_model (16 datanets, 16 parents)",
		Registry::register_model(MaxTrainingDatanets::get(), MaxParents::get()),
	);
	show("registry.retire_model", Registry::retire_model());
	show("registry.register_agent (16 models)", Registry::register_agent(MaxAgentModels::get()));
	show("workerStaking.register_worker", Staking::register_worker());
	show("workerStaking.bond_extra", Staking::bond_extra());
	show("workerStaking.unbond", Staking::unbond());
	show("workerStaking.withdraw_unbonded", Staking::withdraw_unbonded());
	show("workerStaking.set_capacity", Staking::set_capacity());
	show("workerStaking.deregister", Staking::deregister());
	show(
		"workerStaking.serve_models (64 models)",
		Staking::serve_models(<Runtime as pallet_worker_staking::Config>::MaxServedModels::get()),
	);
	show("block: ordinary extrinsics", normal);
	show("compute.on_initialize at its bounds (32 windows, 16 draws, 256 workers)", hook);
	show("compute.submit_job (4 KiB input)", submit);
	show("compute.commit_result", commit);
	show(
		"compute.decline_job (the costlier of requeued and failed)",
		Compute::decline_job_requeued().max(Compute::decline_job_failed()),
	);
	show("compute.reveal_result (1 KiB output, 32 entries, settling)", reveal);
	show("rewards: settle one job (32 entries, 64 upstream, 10 workers)", settle);
	show("rewards.claim", Rewards::claim());
	show("rewards.claim_contributions (64)", Rewards::claim_contributions(MaxClaimBatch::get()));
	show("rewards.set_shares", Rewards::set_shares());
	show("one job of 3 workers: submit + 3 commits + 3 reveals", job);
	println!("settlements per block (ordinary extrinsics): {}", fits(normal, settle));
	show("one typical job (8 entries, 4 upstream), reveals charged as run", typical);
	println!(
		"jobs of 3 workers per block at the bounds (ordinary extrinsics): {}",
		fits(normal, job)
	);
	println!(
		"typical jobs of 3 workers per block (ordinary extrinsics): {}",
		fits(normal, typical)
	);

	// The hook runs before any extrinsic: at its bounds it must leave most of
	// the block to them. (Measured with the snapshot pools, settling 32 jobs
	// at their bounds costs about 512 ms of the 600: bounding the hook's
	// settlements separately would bring it back under a quarter.)
	assert!(
		hook.ref_time() < blocks.max_block.ref_time() / 3,
		"the compute hook takes {hook}, over a third of the block"
	);
	assert!(fits(normal, job) >= 1, "a job does not fit in a block");
}

/// The fast path's promise in weight: a receipt settled in a full settlement
/// costs a small fraction of a job, each at its worst, and a full settlement
/// fits in a block.
#[test]
fn a_settled_receipt_costs_a_fraction_of_a_job() {
	let blocks = RuntimeBlockWeights::get();
	let normal = blocks.get(DispatchClass::Normal).max_total.unwrap_or(blocks.max_block);
	let redundancy = u32::from(DefaultRedundancy::get());
	let job_workers: u32 = <Runtime as pallet_compute::Config>::MaxJobWorkers::get();
	let settle =
		<pallet_rewards::Pallet<Runtime> as JobSettlement<_, _>>::settle_weight(job_workers);
	let job = Compute::submit_job(<Runtime as pallet_compute::Config>::MaxInputLen::get())
		.saturating_add(Compute::commit_result().saturating_mul(redundancy.into()))
		.saturating_add(
			Compute::reveal_result(MaxOutputLen::get(), MAX_ATTRIBUTION_ENTRIES)
				.saturating_mul(redundancy.into()),
		)
		.saturating_add(settle);
	let most = MaxSettledReceipts::get();
	let division = <pallet_rewards::Pallet<Runtime> as ReceiptSettlement<_, _>>::division_weight;
	// A typical settlement: a full one of one model, each answer naming 3
	// of the model's 48 contributions (the demo classifier's shape).
	let typical = Channels::settle(most).saturating_add(division(3 * most, 1, 48));
	// The costliest one: every receipt at the most entries, the most models
	// and contributions a settlement may name.
	let worst = Channels::settle(most).saturating_add(division(
		MAX_ATTRIBUTION_ENTRIES * most,
		MaxSettledModels::get(),
		MaxSettledContributions::get(),
	));
	let each = typical.saturating_div(most.into());
	let each_worst = worst.saturating_div(most.into());
	let single = Channels::settle(1);
	let per_block = (fits(normal, typical) * u64::from(most))
		.min(u64::from(MaxSettlementsPerBlock::get() * most));

	show("channels.open_channel", Channels::open_channel());
	show("channels.top_up", Channels::top_up());
	show("channels.close_channel", Channels::close_channel());
	show("channels.settle (1 receipt, no attribution)", single);
	show("channels.settle (1 024 receipts, 1 model, 3 of 48 contributions each)", typical);
	show("channels.settle (1 024 receipts, 32 entries, 8 models, 1 024 contributions)", worst);
	show("one receipt of a typical settlement", each);
	show("one receipt of the costliest settlement", each_worst);
	show("one job of 3 workers at the bounds, settled", job);
	let ratio = each.ref_time() as f64 / job.ref_time() as f64;
	println!("a typical receipt / a job (time): {ratio:.4}");
	println!(
		"the costliest receipt / a job (time): {:.4}",
		each_worst.ref_time() as f64 / job.ref_time() as f64
	);
	println!(
		"typical receipts per block (ordinary extrinsics, at most 16 settlements): {per_block}"
	);
	let transfer = Balances::transfer_keep_alive();
	show("balances.transfer_keep_alive", transfer);
	println!(
		"a typical receipt / a balance transfer (time): {:.2}",
		each.ref_time() as f64 / transfer.ref_time() as f64
	);

	let input = <Runtime as pallet_channels::Config>::MaxInputLen::get();
	show("channels.open_audit (4 KiB input)", Channels::open_audit(input));
	show("channels.challenge (4 KiB input)", Channels::challenge(input));
	show("channels: an audit decided (the hook, at its worst)", Channels::conclude_audit());
	let batches = MaxSettlementsPerBlock::get();
	let hook = Channels::on_initialize(batches, batches * most, batches, batches * most);
	show("channels.on_initialize at its bounds (16 full batches sampled, 16 closed)", hook);
	show("channels.on_initialize, no settlement", Channels::on_initialize(0, 0, 0, 0));

	let max_extrinsic = blocks.get(DispatchClass::Normal).max_extrinsic.unwrap_or(blocks.max_block);
	assert!(
		worst.all_lte(max_extrinsic),
		"the costliest settlement ({worst}) does not fit in an extrinsic ({max_extrinsic})"
	);
	assert!(
		hook.ref_time() < RuntimeBlockWeights::get().max_block.ref_time() / 4,
		"the channels hook at its bounds ({hook}) takes over a quarter of a block"
	);
	assert!(
		each.ref_time() < job.ref_time() / 2,
		"a settled receipt ({each}) costs over half a job ({job})"
	);
}
