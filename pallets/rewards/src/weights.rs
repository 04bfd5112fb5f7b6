// PLACEHOLDER until scripts/bench.sh runs: never commit this file.
#![allow(missing_docs)]
use polkadot_sdk::frame_support::weights::Weight;
pub trait WeightInfo {
	fn claim() -> Weight;
	fn claim_contributions(n: u32) -> Weight;
	fn set_shares() -> Weight;
	fn settle(k: u32, u: u32, w: u32) -> Weight;
}
impl WeightInfo for () {
	fn claim() -> Weight {
		Weight::zero()
	}
	fn claim_contributions(_: u32) -> Weight {
		Weight::zero()
	}
	fn set_shares() -> Weight {
		Weight::zero()
	}
	fn settle(_: u32, _: u32, _: u32) -> Weight {
		Weight::zero()
	}
}
pub struct SubstrateWeight<T>(core::marker::PhantomData<T>);
impl<T> WeightInfo for SubstrateWeight<T> {
	fn claim() -> Weight {
		Weight::zero()
	}
	fn claim_contributions(_: u32) -> Weight {
		Weight::zero()
	}
	fn set_shares() -> Weight {
		Weight::zero()
	}
	fn settle(_: u32, _: u32, _: u32) -> Weight {
		Weight::zero()
	}
}
