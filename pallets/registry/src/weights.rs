// PLACEHOLDER until scripts/bench.sh runs: never commit this file.
#![allow(missing_docs)]
use polkadot_sdk::frame_support::weights::Weight;
pub trait WeightInfo {
	fn create_datanet(m: u32) -> Weight;
	fn contribute(m: u32) -> Weight;
	fn review_contribution() -> Weight;
	fn withdraw_contribution() -> Weight;
	fn register_model(t: u32, p: u32) -> Weight;
	fn retire_model() -> Weight;
	fn register_agent(a: u32) -> Weight;
}
impl WeightInfo for () {
	fn create_datanet(_: u32) -> Weight {
		Weight::zero()
	}
	fn contribute(_: u32) -> Weight {
		Weight::zero()
	}
	fn review_contribution() -> Weight {
		Weight::zero()
	}
	fn withdraw_contribution() -> Weight {
		Weight::zero()
	}
	fn register_model(_: u32, _: u32) -> Weight {
		Weight::zero()
	}
	fn retire_model() -> Weight {
		Weight::zero()
	}
	fn register_agent(_: u32) -> Weight {
		Weight::zero()
	}
}
pub struct SubstrateWeight<T>(core::marker::PhantomData<T>);
impl<T> WeightInfo for SubstrateWeight<T> {
	fn create_datanet(_: u32) -> Weight {
		Weight::zero()
	}
	fn contribute(_: u32) -> Weight {
		Weight::zero()
	}
	fn review_contribution() -> Weight {
		Weight::zero()
	}
	fn withdraw_contribution() -> Weight {
		Weight::zero()
	}
	fn register_model(_: u32, _: u32) -> Weight {
		Weight::zero()
	}
	fn retire_model() -> Weight {
		Weight::zero()
	}
	fn register_agent(_: u32) -> Weight {
		Weight::zero()
	}
}
