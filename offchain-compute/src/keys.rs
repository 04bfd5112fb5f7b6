//! The worker's signing key, and the commitment salts derived from it.
//!
//! A commitment hides its answer behind a salt until the reveal, so the salt
//! must be secret until then and must not be lost before it: a worker that
//! committed and cannot reveal is slashed. Each salt is therefore a keyed
//! hash of the job under a secret derived from the worker's own key, not a
//! random number: a worker that lost its journal recomputes the answer,
//! derives the same salt, and still reveals. The journal stays the record
//! of what was sent; the key is what makes a lost journal survivable.

use crate::cli::KeyArgs;
use anyhow::Context;
use polkadot_sdk::{
	sp_core::{sr25519, Pair},
	sp_crypto_hashing::blake2_256,
};
use std::str::FromStr;
use subxt_signer::{sr25519::Keypair, SecretUri};
use tributary_primitives::JobId;

/// What a salt key is derived from, besides the secret key.
const SALT_KEY_CONTEXT: &[u8] = b"tributary/worker/salt-key/v1";

/// The secret that the worker's salts are keyed by: a hash of its secret
/// key, so that it is the same however the key is written down (URI,
/// mnemonic or seed) and tells nothing about the key itself.
#[derive(Clone)]
pub struct SaltKey([u8; 32]);

impl SaltKey {
	/// The salt of the worker's commitment to job `job_id`.
	pub fn salt(&self, job_id: JobId) -> [u8; 32] {
		blake2_256(&[&self.0[..], &job_id.to_le_bytes()].concat())
	}
}

impl std::fmt::Debug for SaltKey {
	fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
		f.write_str("SaltKey(…)")
	}
}

/// The worker's key: the keypair it signs with and the salt key.
pub struct WorkerKey {
	/// Signs its transactions.
	pub signer: Keypair,
	/// Keys its commitment salts.
	pub salts: SaltKey,
}

impl WorkerKey {
	/// The key `args` name: a dev account, or the secret in a file (a secret
	/// URI, a mnemonic, or a 0x-prefixed 32-byte seed).
	pub fn load(args: &KeyArgs) -> anyhow::Result<Self> {
		let secret = match (&args.dev_key, &args.key_file) {
			(Some(name), _) => format!("//{name}"),
			(None, Some(path)) => std::fs::read_to_string(path)
				.with_context(|| format!("reading the key file {}", path.display()))?
				.trim()
				.to_owned(),
			(None, None) => anyhow::bail!("no signing key: give --dev-key NAME or --key-file PATH"),
		};
		Self::from_secret(&secret)
	}

	/// The key from its secret, written as [`WorkerKey::load`] reads it.
	pub fn from_secret(secret: &str) -> anyhow::Result<Self> {
		let signer = if let Some(hex_seed) = secret.strip_prefix("0x") {
			let seed: [u8; 32] = hex::decode(hex_seed)
				.ok()
				.and_then(|s| s.try_into().ok())
				.context("a 0x key must be a 32-byte hex seed")?;
			Keypair::from_secret_key(seed).context("invalid seed")?
		} else {
			let uri =
				SecretUri::from_str(secret).context("the key is not a secret URI or mnemonic")?;
			Keypair::from_uri(&uri).context("the key cannot be derived")?
		};
		// subxt's keypair does not show its secret; Substrate's reads the
		// same secret to the same key, checked here.
		let pair = sr25519::Pair::from_string(secret, None)
			.map_err(|e| anyhow::anyhow!("the key cannot be derived: {e:?}"))?;
		anyhow::ensure!(
			pair.public().0 == signer.public_key().0,
			"the key derives to two different accounts; refusing to guess which signs"
		);
		let salts = SaltKey(blake2_256(&[SALT_KEY_CONTEXT, &pair.to_raw_vec()[..]].concat()));
		Ok(WorkerKey { signer, salts })
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn salts_are_the_same_however_the_key_is_written() {
		// //Alice's mini-secret seed, hex: the same key as a URI and a seed.
		let phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
		let by_phrase = WorkerKey::from_secret(phrase).unwrap();
		let seed = sr25519::Pair::from_string_with_seed(phrase, None).unwrap().1.unwrap();
		let by_seed = WorkerKey::from_secret(&format!("0x{}", hex::encode(seed))).unwrap();
		assert_eq!(by_phrase.signer.public_key().0, by_seed.signer.public_key().0);
		assert_eq!(by_phrase.salts.salt(7), by_seed.salts.salt(7));
	}

	#[test]
	fn salts_differ_by_job_and_by_worker() {
		let alice = WorkerKey::from_secret("//Alice").unwrap();
		let bob = WorkerKey::from_secret("//Bob").unwrap();
		assert_eq!(alice.salts.salt(1), WorkerKey::from_secret("//Alice").unwrap().salts.salt(1));
		assert_ne!(alice.salts.salt(1), alice.salts.salt(2));
		assert_ne!(alice.salts.salt(1), bob.salts.salt(1));
		// Nothing public gives the salt away.
		assert_ne!(
			alice.salts.salt(1),
			blake2_256(&[&alice.signer.public_key().0[..], &1u64.to_le_bytes()].concat())
		);
	}

	#[test]
	fn a_key_that_is_not_a_key_is_refused() {
		for secret in ["0x1234", "not a mnemonic at all", "0xzz"] {
			assert!(WorkerKey::from_secret(secret).is_err(), "{secret}");
		}
	}
}
