//! Links the worker's binaries and tests with an rpath to the libtorch that
//! `tch` was built against (`$LIBTORCH/lib`, set by `scripts/env.sh`), so
//! they run without `LD_LIBRARY_PATH`.

fn main() {
	println!("cargo:rerun-if-env-changed=LIBTORCH");
	if let Ok(libtorch) = std::env::var("LIBTORCH") {
		println!("cargo:rustc-link-arg=-Wl,-rpath,{libtorch}/lib");
	}
}
