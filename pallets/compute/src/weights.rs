// PLACEHOLDER until scripts/bench.sh runs: never commit this file.
#![allow(missing_docs)]
use polkadot_sdk::frame_support::weights::Weight;
pub trait WeightInfo {
	fn on_initialize(d: u32, a: u32, w: u32) -> Weight;
	fn submit_job(i: u32) -> Weight;
	fn cancel_job() -> Weight;
	fn commit_result() -> Weight;
	fn reveal_result(o: u32, n: u32) -> Weight;
}
impl WeightInfo for () {
	fn on_initialize(_: u32, _: u32, _: u32) -> Weight {
		Weight::zero()
	}
	fn submit_job(_: u32) -> Weight {
		Weight::zero()
	}
	fn cancel_job() -> Weight {
		Weight::zero()
	}
	fn commit_result() -> Weight {
		Weight::zero()
	}
	fn reveal_result(_: u32, _: u32) -> Weight {
		Weight::zero()
	}
}
pub struct SubstrateWeight<T>(core::marker::PhantomData<T>);
impl<T> WeightInfo for SubstrateWeight<T> {
	fn on_initialize(_: u32, _: u32, _: u32) -> Weight {
		Weight::zero()
	}
	fn submit_job(_: u32) -> Weight {
		Weight::zero()
	}
	fn cancel_job() -> Weight {
		Weight::zero()
	}
	fn commit_result() -> Weight {
		Weight::zero()
	}
	fn reveal_result(_: u32, _: u32) -> Weight {
		Weight::zero()
	}
}
