//! Model files fetched from where their owner publishes them.
//!
//! A model's registered `uri` is the base URL of a content-addressed file
//! server (`tributary-worker serve-content`, or any static HTTP server
//! holding the files under their hashes): its artifact is at
//! `<uri>/<artifact hash in hex>` and its index at `<uri>/<index hash>`.
//! The owner is a stranger, so nothing fetched is trusted: a download is
//! bounded in size and time, hashed as it arrives, and filed in the content
//! store only when it hashes to what the chain names. The store is the
//! cache: a file is fetched once, and a cached file that no longer hashes to
//! its name is fetched again.

use crate::content::{content_hash, ContentError, ContentStore};
use backon::Retryable;
use std::{
	collections::{HashMap, HashSet},
	path::PathBuf,
	sync::{Arc, Mutex},
	time::Duration,
};
use tributary_primitives::Hash;

/// How a fetcher bounds what it downloads.
#[derive(Clone, Debug)]
pub struct FetchLimits {
	/// The largest file fetched, in bytes.
	pub max_bytes: u64,
	/// Attempts per file before giving up on a transient failure.
	pub attempts: usize,
	/// The first delay between attempts (jittered, doubling).
	pub min_delay: Duration,
	/// The longest delay between attempts.
	pub max_delay: Duration,
	/// The longest wait to connect to a server.
	pub connect_timeout: Duration,
	/// The longest a download may stall without a byte arriving.
	pub stall_timeout: Duration,
	/// The longest one download may take in all.
	pub total_timeout: Duration,
}

impl Default for FetchLimits {
	/// Sized so that a failing fetch gives up well inside a commit window
	/// (ten blocks): three attempts, 250 ms then 500 ms apart.
	fn default() -> Self {
		FetchLimits {
			max_bytes: crate::executor::MAX_MODEL_BYTES,
			attempts: 3,
			min_delay: Duration::from_millis(250),
			max_delay: Duration::from_secs(2),
			connect_timeout: Duration::from_secs(3),
			stall_timeout: Duration::from_secs(5),
			total_timeout: Duration::from_secs(300),
		}
	}
}

/// Why a file could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
	/// The model's URI is not an `http` or `https` URL.
	#[error("{uri:?} is not an http(s) URL: the model's files cannot be fetched")]
	NoSource {
		/// The registered URI.
		uri: String,
	},
	/// The server has no such file.
	#[error("{url}: not found")]
	NotFound {
		/// The file's URL.
		url: String,
	},
	/// The server answered with another error status.
	#[error("{url}: the server answered {status}")]
	Status {
		/// The file's URL.
		url: String,
		/// Its answer.
		status: reqwest::StatusCode,
	},
	/// The file is larger than [`FetchLimits::max_bytes`].
	#[error("{url}: larger than the {limit}-byte limit")]
	TooLarge {
		/// The file's URL.
		url: String,
		/// The limit.
		limit: u64,
	},
	/// The file's bytes do not hash to what the chain names.
	#[error("{url}: the bytes hash to {actual:?}, not {expected:?}: refused")]
	Mismatch {
		/// The file's URL.
		url: String,
		/// The hash the chain names.
		expected: Hash,
		/// What the bytes hash to.
		actual: Hash,
	},
	/// The server could not be reached, or the transfer failed or stalled.
	#[error("{url}: {source}")]
	Transfer {
		/// The file's URL.
		url: String,
		/// What failed.
		source: reqwest::Error,
	},
	/// The content store failed.
	#[error(transparent)]
	Content(#[from] ContentError),
}

impl FetchError {
	/// Whether trying again may succeed: the network or the server failed,
	/// not the file.
	pub fn is_transient(&self) -> bool {
		match self {
			FetchError::Transfer { .. } => true,
			FetchError::Status { status, .. } => {
				status.is_server_error() || *status == reqwest::StatusCode::TOO_MANY_REQUESTS
			}
			_ => false,
		}
	}
}

/// How a file came to be in the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fetched {
	/// It was there, verified.
	Cached,
	/// It was downloaded: this many bytes.
	Downloaded(u64),
}

/// Fetches files into a content store, each once.
#[derive(Clone)]
pub struct Fetcher {
	client: reqwest::Client,
	store: ContentStore,
	limits: FetchLimits,
	/// Files this process has verified in the store, so that each is hashed
	/// once, not for every job.
	verified: Arc<Mutex<HashSet<Hash>>>,
	/// One lock per file being fetched, so that jobs of one model wait for
	/// one download rather than each starting their own.
	fetching: Arc<Mutex<HashMap<Hash, Arc<tokio::sync::Mutex<()>>>>>,
}

impl Fetcher {
	/// A fetcher filing into `store`, bounded by `limits`.
	pub fn new(store: ContentStore, limits: FetchLimits) -> Result<Self, FetchError> {
		let client = reqwest::Client::builder()
			.user_agent(concat!("tributary-worker/", env!("CARGO_PKG_VERSION")))
			.connect_timeout(limits.connect_timeout)
			.read_timeout(limits.stall_timeout)
			.timeout(limits.total_timeout)
			.redirect(reqwest::redirect::Policy::limited(5))
			.build()
			.map_err(|source| FetchError::Transfer { url: String::new(), source })?;
		Ok(Fetcher {
			client,
			store,
			limits,
			verified: Default::default(),
			fetching: Default::default(),
		})
	}

	/// The store files are fetched into.
	pub fn store(&self) -> &ContentStore {
		&self.store
	}

	/// Whether file `hash` is in the store and hashes to its name.
	pub async fn has(&self, hash: &Hash) -> Result<bool, ContentError> {
		if self.verified.lock().map(|v| v.contains(hash)).unwrap_or(false) {
			return Ok(true);
		}
		let store = self.store.clone();
		let hash = *hash;
		// Hashing a large file is blocking work: off the async threads.
		let checked = tokio::task::spawn_blocking(move || store.verified(&hash))
			.await
			.map_err(|e| ContentError::Io { path: self.store.path(&hash), source: e.into() })?;
		match checked {
			Ok(_) => {
				if let Ok(mut verified) = self.verified.lock() {
					verified.insert(hash);
				}
				Ok(true)
			}
			Err(ContentError::Missing(..) | ContentError::Corrupt { .. }) => Ok(false),
			Err(e) => Err(e),
		}
	}

	/// Makes sure file `hash` is in the store, downloading it from the
	/// server at `uri` if it is not (or no longer hashes to its name).
	pub async fn fetch(&self, uri: &str, hash: &Hash) -> Result<(Fetched, PathBuf), FetchError> {
		let lock = self
			.fetching
			.lock()
			.map(|mut f| f.entry(*hash).or_default().clone())
			.unwrap_or_default();
		let result = {
			let _one_download = lock.lock().await;
			self.fetch_once(uri, hash).await
		};
		if let Ok(mut fetching) = self.fetching.lock() {
			// The map's entry and ours: nobody else is waiting.
			if Arc::strong_count(&lock) == 2 {
				fetching.remove(hash);
			}
		}
		result
	}

	async fn fetch_once(&self, uri: &str, hash: &Hash) -> Result<(Fetched, PathBuf), FetchError> {
		if self.has(hash).await? {
			return Ok((Fetched::Cached, self.store.path(hash)));
		}
		let url = file_url(uri, hash)?;
		let download = || self.download(&url, hash);
		let bytes = download
			.retry(
				backon::ExponentialBuilder::new()
					.with_min_delay(self.limits.min_delay)
					.with_max_delay(self.limits.max_delay)
					.with_jitter()
					.with_max_times(self.limits.attempts.saturating_sub(1)),
			)
			.when(FetchError::is_transient)
			.notify(|e, delay| {
				tracing::warn!(%url, error = %e, delay_ms = delay.as_millis() as u64, "fetch failed; retrying")
			})
			.await?;
		let size = bytes.len() as u64;
		self.store.put(&bytes)?;
		if let Ok(mut verified) = self.verified.lock() {
			verified.insert(*hash);
		}
		tracing::info!(%url, bytes = size, "fetched");
		Ok((Fetched::Downloaded(size), self.store.path(hash)))
	}

	/// One download of `url`, bounded, checked against `expected`.
	async fn download(&self, url: &str, expected: &Hash) -> Result<Vec<u8>, FetchError> {
		let transfer = |source| FetchError::Transfer { url: url.to_owned(), source };
		let too_large =
			|| FetchError::TooLarge { url: url.to_owned(), limit: self.limits.max_bytes };
		let mut response = self.client.get(url).send().await.map_err(transfer)?;
		let status = response.status();
		if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
			return Err(FetchError::NotFound { url: url.to_owned() });
		}
		if !status.is_success() {
			return Err(FetchError::Status { url: url.to_owned(), status });
		}
		if response.content_length().is_some_and(|n| n > self.limits.max_bytes) {
			return Err(too_large());
		}
		let mut bytes = Vec::new();
		while let Some(chunk) = response.chunk().await.map_err(transfer)? {
			if bytes.len() as u64 + chunk.len() as u64 > self.limits.max_bytes {
				return Err(too_large());
			}
			bytes.extend_from_slice(&chunk);
		}
		let actual = content_hash(&bytes);
		if actual != *expected {
			return Err(FetchError::Mismatch { url: url.to_owned(), expected: *expected, actual });
		}
		Ok(bytes)
	}
}

/// Where file `hash` is on the server at `uri`.
pub fn file_url(uri: &str, hash: &Hash) -> Result<String, FetchError> {
	let no_source = || FetchError::NoSource { uri: uri.to_owned() };
	let base = reqwest::Url::parse(uri).map_err(|_| no_source())?;
	if !matches!(base.scheme(), "http" | "https") {
		return Err(no_source());
	}
	Ok(format!("{}/{}", base.as_str().trim_end_matches('/'), hex::encode(hash.as_bytes())))
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn files_are_found_under_their_hash_below_the_uri() {
		let hash = content_hash(b"model");
		let hex = hex::encode(hash.as_bytes());
		for uri in ["http://10.0.0.7:8090", "http://10.0.0.7:8090/"] {
			assert_eq!(file_url(uri, &hash).unwrap(), format!("http://10.0.0.7:8090/{hex}"));
		}
		assert_eq!(
			file_url("https://models.example/owner/", &hash).unwrap(),
			format!("https://models.example/owner/{hex}")
		);
		for uri in ["", "content:", "ipfs://bafy", "/var/models"] {
			assert!(matches!(file_url(uri, &hash), Err(FetchError::NoSource { .. })), "{uri}");
		}
	}
}
