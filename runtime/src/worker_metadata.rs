//! The compute worker's chain client is typed from a checked-in copy of this
//! runtime's metadata (`offchain-compute/metadata/tributary.scale`, V15, which
//! carries the runtime APIs). This test fails when the copy is stale;
//! `scripts/worker-metadata.sh` rewrites it.

use crate::Runtime;
use std::path::PathBuf;

const VERSION: u32 = 15;

fn checked_in() -> PathBuf {
	PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../offchain-compute/metadata/tributary.scale")
}

#[test]
fn the_workers_metadata_is_the_runtimes() {
	let metadata = Runtime::metadata_at_version(VERSION).expect("the runtime offers metadata V15");
	let path = checked_in();
	if std::env::var_os("TRIBUTARY_WRITE_METADATA").is_some() {
		std::fs::write(&path, &*metadata).expect("writing the worker's metadata");
		println!("wrote {}", path.display());
		return;
	}
	let copy = std::fs::read(&path).unwrap_or_default();
	assert!(
		copy == *metadata,
		"{} is not this runtime's metadata: run scripts/worker-metadata.sh and rebuild the worker",
		path.display()
	);
}
