//! The randomness the compute market draws workers with: the VRF output of
//! the block that makes the draw.
//!
//! `pallet_babe` offers the VRF output of the *parent* block
//! (`ParentBlockRandomness`). The parent's author knew that output while it
//! chose the parent's contents, so it could steer a draw made with it: admit
//! only the jobs whose draw favours its own workers, or bond and register
//! workers until the draw picks them. The draw instead runs in
//! `on_initialize` with the output of the block being executed, computed from
//! its BABE pre-digest exactly as `pallet_babe` computes it at the block's
//! end (which it only exposes from the next block on). The draw reads only
//! state that earlier blocks fixed, and nobody knows the output before the
//! slot's author does: that author cannot change it by changing what its
//! block contains, only withhold the block.

use crate::{Babe, BlockNumber, Hash, Runtime, System};
use polkadot_sdk::{
	frame_support::traits::Randomness,
	sp_consensus_babe::{self, RANDOMNESS_VRF_CONTEXT},
	sp_core::crypto::Wraps,
	sp_runtime::traits::{BlakeTwo256, Hash as _},
};

/// The current block's BABE VRF output, hashed with the subject; `None` in a
/// block without one (genesis, or a secondary slot without VRF, which the
/// chain's epoch configuration does not allow).
pub struct BlockVrf;

impl Randomness<Option<Hash>, BlockNumber> for BlockVrf {
	fn random(subject: &[u8]) -> (Option<Hash>, BlockNumber) {
		let output = polkadot_sdk::pallet_babe::Pallet::<Runtime>::initialized()
			.flatten()
			.and_then(|pre_digest| {
				let signature = pre_digest.vrf_signature()?;
				let authorities = Babe::authorities();
				let (authority, _) = authorities.get(pre_digest.authority_index() as usize)?;
				let transcript = sp_consensus_babe::make_vrf_transcript(
					&Babe::randomness(),
					Babe::current_slot(),
					Babe::epoch_index(),
				);
				authority
					.as_inner_ref()
					.make_bytes::<{ sp_consensus_babe::RANDOMNESS_LENGTH }>(
						RANDOMNESS_VRF_CONTEXT,
						&transcript,
						&signature.pre_output,
					)
					.ok()
			});
		(output.map(|vrf| BlakeTwo256::hash_of(&(subject, vrf))), System::block_number())
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::{
		AllPalletsWithSystem, BabeConfig, BalancesConfig, RuntimeCall, RuntimeEvent,
		RuntimeGenesisConfig, RuntimeOrigin, Timestamp, BABE_GENESIS_EPOCH_CONFIG, SLOT_DURATION,
		TRIB,
	};
	use codec::Encode;
	use polkadot_sdk::{
		frame_support::{
			traits::{OnFinalize, OnInitialize, UnfilteredDispatchable},
			BoundedVec,
		},
		frame_system::RawOrigin,
		sp_consensus_babe::{
			digests::{PreDigest, SecondaryVRFPreDigest},
			make_vrf_sign_data, Slot, BABE_ENGINE_ID,
		},
		sp_core::crypto::VrfSecret,
		sp_io::TestExternalities,
		sp_keyring::Sr25519Keyring,
		sp_runtime::{BuildStorage, Digest, DigestItem, Perbill},
	};

	const GENESIS_SLOT: u64 = 1_000;

	fn new_chain() -> TestExternalities {
		let config = RuntimeGenesisConfig {
			babe: BabeConfig {
				authorities: vec![(Sr25519Keyring::Alice.public().into(), 1)],
				epoch_config: BABE_GENESIS_EPOCH_CONFIG,
				..Default::default()
			},
			balances: BalancesConfig {
				balances: Sr25519Keyring::well_known()
					.map(|k| (k.to_account_id(), 1_000_000 * TRIB))
					.collect(),
				..Default::default()
			},
			..Default::default()
		};
		config.build_storage().expect("a valid genesis").into()
	}

	/// Alice's BABE pre-digest for `slot`: a secondary slot with her VRF output.
	fn pre_digest(slot: u64) -> Digest {
		let sign_data =
			make_vrf_sign_data(&Babe::randomness(), Slot::from(slot), Babe::epoch_index());
		let vrf_signature = Sr25519Keyring::Alice.pair().vrf_sign(&sign_data);
		let pre_digest = PreDigest::SecondaryVRF(SecondaryVRFPreDigest {
			authority_index: 0,
			slot: Slot::from(slot),
			vrf_signature,
		});
		Digest { logs: vec![DigestItem::PreRuntime(BABE_ENGINE_ID, pre_digest.encode())] }
	}

	/// Executes block `number` on `parent`, authored by Alice in `slot`, with
	/// `calls` after the hooks; returns its hash.
	fn block(
		number: u32,
		parent: Hash,
		slot: u64,
		calls: Vec<(RuntimeCall, RuntimeOrigin)>,
	) -> Hash {
		System::initialize(&number, &parent, &pre_digest(slot));
		AllPalletsWithSystem::on_initialize(number);
		let now = slot * SLOT_DURATION;
		Timestamp::set(RawOrigin::None.into(), now).expect("the block's timestamp");
		for (call, origin) in calls {
			call.dispatch_bypass_filter(origin).expect("the block's calls succeed");
		}
		AllPalletsWithSystem::on_finalize(number);
		System::finalize().hash()
	}

	fn signed(who: Sr25519Keyring) -> RuntimeOrigin {
		RawOrigin::Signed(who.to_account_id()).into()
	}

	/// Block 1 registers five workers and a model; block 2 admits a job with
	/// `extra` calls beside it; block 3 draws. Returns block 2's hash and the
	/// workers drawn.
	fn draw_after(extra: Vec<(RuntimeCall, RuntimeOrigin)>) -> (Hash, Vec<crate::AccountId>) {
		new_chain().execute_with(|| {
			use Sr25519Keyring::*;
			let mut setup = vec![(
				RuntimeCall::Registry(pallet_registry::Call::create_datanet {
					metadata: BoundedVec::new(),
					policy: pallet_registry::DatanetPolicy::Open,
				}),
				signed(Alice),
			)];
			setup.push((
				RuntimeCall::Registry(pallet_registry::Call::register_model {
					artifact_hash: Hash::repeat_byte(1),
					attribution_index_hash: Hash::repeat_byte(2),
					uri: BoundedVec::new(),
					metadata: BoundedVec::new(),
					training: BoundedVec::truncate_from(vec![(0, Perbill::from_percent(50))]),
					parents: BoundedVec::new(),
					price_per_inference: TRIB,
				}),
				signed(Alice),
			));
			for worker in [Bob, Charlie, Dave, Eve, Ferdie] {
				setup.push((
					RuntimeCall::WorkerStaking(pallet_worker_staking::Call::register_worker {
						stake: 1_000 * TRIB,
						endpoint: BoundedVec::new(),
						capacity: 4,
						engine: BoundedVec::new(),
					}),
					signed(worker),
				));
				setup.push((
					RuntimeCall::WorkerStaking(pallet_worker_staking::Call::serve_models {
						models: BoundedVec::truncate_from(vec![0]),
					}),
					signed(worker),
				));
			}
			let first = block(1, System::parent_hash(), GENESIS_SLOT, setup);
			let mut admitting = vec![(
				RuntimeCall::Compute(pallet_compute::Call::submit_job {
					model_id: 0,
					input: BoundedVec::truncate_from(b"who is drawn?".to_vec()),
					max_fee: 100 * TRIB,
					redundancy: None,
				}),
				signed(Alice),
			)];
			admitting.extend(extra);
			let second = block(2, first, GENESIS_SLOT + 1, admitting);
			System::reset_events();
			block(3, second, GENESIS_SLOT + 2, vec![]);
			let drawn = System::events()
				.into_iter()
				.find_map(|record| match record.event {
					RuntimeEvent::Compute(pallet_compute::Event::JobAssigned {
						workers, ..
					}) => Some(workers),
					_ => None,
				})
				.expect("the job was drawn for in block 3");
			(second, drawn)
		})
	}

	#[test]
	fn the_author_of_the_admitting_block_cannot_change_the_draw() {
		let (plain, drawn) = draw_after(vec![]);
		// The admitting block's author fills it differently: other
		// transactions, another worker bonding more, another remark.
		let (stuffed, drawn_again) = draw_after(vec![
			(
				RuntimeCall::System(polkadot_sdk::frame_system::Call::remark {
					remark: b"grind the parent hash".to_vec(),
				}),
				signed(Sr25519Keyring::Eve),
			),
			(
				RuntimeCall::Balances(polkadot_sdk::pallet_balances::Call::transfer_keep_alive {
					dest: Sr25519Keyring::Ferdie.to_account_id().into(),
					value: TRIB,
				}),
				signed(Sr25519Keyring::Eve),
			),
		]);
		assert_ne!(plain, stuffed, "the admitting blocks differ");
		assert_eq!(drawn.len(), 3);
		assert_eq!(
			drawn, drawn_again,
			"the draw does not depend on the admitting block's contents"
		);
	}

	#[test]
	fn each_block_has_its_own_vrf_randomness() {
		new_chain().execute_with(|| {
			let first = block(1, System::parent_hash(), GENESIS_SLOT, vec![]);
			System::initialize(&2, &first, &pre_digest(GENESIS_SLOT + 1));
			AllPalletsWithSystem::on_initialize(2);
			let (Some(one), _) = BlockVrf::random(b"subject") else { panic!("block 2 has a VRF") };
			let (Some(other), _) = BlockVrf::random(b"other subject") else { unreachable!() };
			assert_ne!(one, other);
			Timestamp::set(RawOrigin::None.into(), (GENESIS_SLOT + 1) * SLOT_DURATION).unwrap();
			AllPalletsWithSystem::on_finalize(2);
			let second = System::finalize().hash();
			System::initialize(&3, &second, &pre_digest(GENESIS_SLOT + 2));
			AllPalletsWithSystem::on_initialize(3);
			let (Some(next), _) = BlockVrf::random(b"subject") else { panic!("block 3 has a VRF") };
			assert_ne!(one, next, "a new slot, a new output");
			Timestamp::set(RawOrigin::None.into(), (GENESIS_SLOT + 2) * SLOT_DURATION).unwrap();
			AllPalletsWithSystem::on_finalize(3);
			let third = System::finalize().hash();
			// A block without a pre-digest has no VRF output: nothing is drawn.
			System::initialize(&4, &third, &Digest::default());
			AllPalletsWithSystem::on_initialize(4);
			assert_eq!(BlockVrf::random(b"subject").0, None);
		});
	}
}
