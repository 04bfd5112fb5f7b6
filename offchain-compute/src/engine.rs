//! The worker's determinism class: which other workers compute the same
//! bytes as this one.
//!
//! The chain compares results byte for byte, and floating-point results are
//! equal only on the same kind of machine: the same libtorch build, the same
//! device kind, the same instruction-set level of the CPU kernels. The worker
//! derives a description of all three and registers it as its engine; the
//! chain names its class by the description's blake2-256 and draws every job
//! from one class. Nothing here is typed by hand: an operator reads the
//! result with `tributary-worker engine`.

use tributary_primitives::determinism_class;

/// The libtorch release this worker is built against (`tch` 0.26).
pub const LIBTORCH_VERSION: &str = "2.13.0";

/// The environment variable by which ATen picks its CPU kernels.
const CAPABILITY_VAR: &str = "ATEN_CPU_CAPABILITY";

/// The highest CPU kernel level ATen can dispatch to on this machine:
/// `avx512`, `avx2`, or `default`.
fn detected_capability() -> &'static str {
	#[cfg(target_arch = "x86_64")]
	{
		if std::arch::is_x86_feature_detected!("avx512f")
			&& std::arch::is_x86_feature_detected!("avx512bw")
			&& std::arch::is_x86_feature_detected!("avx512vl")
			&& std::arch::is_x86_feature_detected!("avx512dq")
		{
			return "avx512";
		}
		if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
		{
			return "avx2";
		}
	}
	"default"
}

/// Pins ATen's CPU kernel level, so that the class this worker declares is
/// the one that computes: the operator's `ATEN_CPU_CAPABILITY` if set,
/// otherwise the highest this CPU has. Call it first thing in `main`, before
/// any thread starts and before libtorch runs anything.
pub fn pin_cpu_capability() {
	if std::env::var_os(CAPABILITY_VAR).is_none() {
		std::env::set_var(CAPABILITY_VAR, detected_capability());
	}
}

/// The engine description this worker registers with, e.g.
/// `libtorch-2.13.0/x86_64/cpu/avx2`: libtorch release, CPU architecture,
/// device kind and the CPU kernel level in force.
pub fn describe(device: tch::Device) -> String {
	let capability = std::env::var(CAPABILITY_VAR).unwrap_or_else(|_| detected_capability().into());
	let device = if device.is_cuda() { "cuda" } else { "cpu" };
	format!("libtorch-{LIBTORCH_VERSION}/{}/{device}/{capability}", std::env::consts::ARCH)
}

/// The chain's name for the class of the engine `description`.
pub fn class_of(description: &str) -> tributary_primitives::Hash {
	determinism_class(description.as_bytes())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_description_names_build_device_and_kernel_level() {
		pin_cpu_capability();
		let cpu = describe(tch::Device::Cpu);
		let parts: Vec<_> = cpu.split('/').collect();
		assert_eq!(parts[0], "libtorch-2.13.0");
		assert_eq!(parts[1], std::env::consts::ARCH);
		assert_eq!(parts[2], "cpu");
		assert!(["avx512", "avx2", "default"].contains(&parts[3]), "{cpu}");
		assert_ne!(class_of(&cpu), class_of(&describe(tch::Device::Cuda(0))));
		assert_eq!(class_of(&cpu), class_of(&describe(tch::Device::Cpu)));
	}
}
