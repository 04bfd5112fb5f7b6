//! Links the worker's binaries and tests with an rpath to the libtorch that
//! `tch` was built against (`$LIBTORCH/lib`, set by `scripts/env.sh`), so
//! they run without `LD_LIBRARY_PATH`; and rebuilds the worker when the
//! runtime metadata its chain client is generated from changes (the `subxt`
//! macro reads the file without telling cargo).

fn main() {
	println!("cargo:rerun-if-changed=metadata/tributary.scale");
	println!("cargo:rerun-if-env-changed=LIBTORCH");
	if let Ok(libtorch) = std::env::var("LIBTORCH") {
		println!("cargo:rustc-link-arg=-Wl,-rpath,{libtorch}/lib");
	}
}
