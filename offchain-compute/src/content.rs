//! Content-addressed files: contributions' data, model artifacts and
//! attribution indexes, each named by the blake2-256 of its bytes.
//!
//! A store is a directory of files named by their hash in hex. Nothing leaves
//! it unverified: every read checks the hash, so a corrupted or substituted
//! file is refused, never loaded.

use polkadot_sdk::sp_crypto_hashing::blake2_256;
use std::path::{Path, PathBuf};
use tributary_primitives::Hash;

/// Why content could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
	/// Nothing by that hash is in the store.
	#[error("content {0:?} is not in {1}")]
	Missing(Hash, PathBuf),
	/// The file by that name does not hash to its name.
	#[error("content {expected:?} in {path} hashes to {actual:?}: refused")]
	Corrupt {
		/// The hash it is filed under.
		expected: Hash,
		/// What its bytes hash to.
		actual: Hash,
		/// Where it is.
		path: PathBuf,
	},
	/// The store could not be read or written.
	#[error("content store {path}: {source}")]
	Io {
		/// The file or directory.
		path: PathBuf,
		/// What went wrong.
		source: std::io::Error,
	},
}

/// The blake2-256 hash that names `bytes`.
pub fn content_hash(bytes: &[u8]) -> Hash {
	Hash::from(blake2_256(bytes))
}

/// A directory of content-addressed files.
#[derive(Clone, Debug)]
pub struct ContentStore {
	dir: PathBuf,
}

impl ContentStore {
	/// The store in `dir`, created if missing.
	pub fn open(dir: impl Into<PathBuf>) -> Result<Self, ContentError> {
		let dir = dir.into();
		std::fs::create_dir_all(&dir)
			.map_err(|source| ContentError::Io { path: dir.clone(), source })?;
		Ok(ContentStore { dir })
	}

	/// Where content `hash` is filed.
	pub fn path(&self, hash: &Hash) -> PathBuf {
		self.dir.join(hex::encode(hash.as_bytes()))
	}

	/// Files `bytes` under their hash, atomically (a reader never sees half a
	/// file), and returns the hash.
	pub fn put(&self, bytes: &[u8]) -> Result<Hash, ContentError> {
		let hash = content_hash(bytes);
		let path = self.path(&hash);
		let io = |source| ContentError::Io { path: path.clone(), source };
		let tmp = tempfile::NamedTempFile::new_in(&self.dir).map_err(io)?;
		std::fs::write(tmp.path(), bytes).map_err(io)?;
		tmp.persist(&path).map_err(|e| io(e.error))?;
		Ok(hash)
	}

	/// The bytes of content `hash`, verified.
	pub fn get(&self, hash: &Hash) -> Result<Vec<u8>, ContentError> {
		let path = self.verified(hash)?;
		std::fs::read(&path).map_err(|source| ContentError::Io { path, source })
	}

	/// The path of content `hash` after checking that its bytes hash to it.
	pub fn verified(&self, hash: &Hash) -> Result<PathBuf, ContentError> {
		let path = self.path(hash);
		let bytes = match std::fs::read(&path) {
			Ok(bytes) => bytes,
			Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
				return Err(ContentError::Missing(*hash, self.dir.clone()))
			}
			Err(source) => return Err(ContentError::Io { path, source }),
		};
		let actual = content_hash(&bytes);
		if actual != *hash {
			return Err(ContentError::Corrupt { expected: *hash, actual, path });
		}
		Ok(path)
	}

	/// The directory.
	pub fn dir(&self) -> &Path {
		&self.dir
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn content_comes_back_only_as_filed() {
		let dir = tempfile::tempdir().unwrap();
		let store = ContentStore::open(dir.path()).unwrap();
		let hash = store.put(b"weather\tRain all day").unwrap();
		assert_eq!(hash, content_hash(b"weather\tRain all day"));
		assert_eq!(store.get(&hash).unwrap(), b"weather\tRain all day");

		std::fs::write(store.path(&hash), b"weather\tSun all day").unwrap();
		assert!(matches!(store.get(&hash), Err(ContentError::Corrupt { .. })));
		assert!(matches!(store.get(&content_hash(b"other")), Err(ContentError::Missing(..))));
	}
}
