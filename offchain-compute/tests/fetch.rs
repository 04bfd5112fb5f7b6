//! Models travel: a worker with an empty cache fetches a model's files from
//! the content server named by its URI (`serve-content` on loopback here),
//! verifies each against its hash before filing it, fetches each once, and
//! refuses what a stranger's server gets wrong.

// The library under test uses the crate's other dependencies.
#![allow(unused_crate_dependencies)]

use std::time::Duration;
use tributary_primitives::Hash;
use tributary_worker::{
	content::{content_hash, ContentStore},
	fetch::{FetchError, FetchLimits, Fetched, Fetcher},
	publish,
};

/// A model owner's content directory, published on a loopback port.
struct Server {
	_dir: tempfile::TempDir,
	store: ContentStore,
	uri: String,
	task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Publishes `store` on `listener`: its URI and the server's task.
fn serve(
	store: ContentStore,
	listener: tokio::net::TcpListener,
) -> (String, tokio::task::JoinHandle<std::io::Result<()>>) {
	let uri = format!("http://{}", listener.local_addr().unwrap());
	(uri, tokio::spawn(publish::serve(listener, store)))
}

async fn server() -> Server {
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	let (uri, task) = serve(store.clone(), listener);
	Server { _dir: dir, store, uri, task }
}

/// A worker's empty cache and a fetcher filing into it.
fn worker(limits: FetchLimits) -> (tempfile::TempDir, Fetcher) {
	let dir = tempfile::tempdir().unwrap();
	let fetcher = Fetcher::new(ContentStore::open(dir.path()).unwrap(), limits).unwrap();
	(dir, fetcher)
}

fn quick() -> FetchLimits {
	FetchLimits {
		min_delay: Duration::from_millis(50),
		max_delay: Duration::from_millis(200),
		..FetchLimits::default()
	}
}

const MODEL: &[u8] = b"the bytes of a TorchScript module, as its owner trained it";

#[tokio::test]
async fn a_model_file_travels_into_an_empty_cache_once_and_is_kept() {
	let server = server().await;
	let hash = server.store.put(MODEL).unwrap();
	let (_cache, fetcher) = worker(quick());
	assert!(!fetcher.has(&hash).await.unwrap());

	let (fetched, path) = fetcher.fetch(&server.uri, &hash).await.unwrap();
	assert_eq!(fetched, Fetched::Downloaded(MODEL.len() as u64));
	assert_eq!(std::fs::read(path).unwrap(), MODEL);
	assert_eq!(fetcher.store().get(&hash).unwrap(), MODEL, "filed under its hash, verified");

	// Cached by hash: the server is no longer needed.
	server.task.abort();
	let (again, _) = fetcher.fetch(&server.uri, &hash).await.unwrap();
	assert_eq!(again, Fetched::Cached);
}

#[tokio::test]
async fn jobs_of_one_model_wait_for_one_download() {
	let server = server().await;
	let hash = server.store.put(MODEL).unwrap();
	let (_cache, fetcher) = worker(quick());
	let fetches = (0..4).map(|_| {
		let (fetcher, uri) = (fetcher.clone(), server.uri.clone());
		tokio::spawn(async move { fetcher.fetch(&uri, &hash).await.map(|(f, _)| f) })
	});
	let mut outcomes = Vec::new();
	for fetch in fetches {
		outcomes.push(fetch.await.unwrap().unwrap());
	}
	let downloads = outcomes.iter().filter(|f| matches!(f, Fetched::Downloaded(_))).count();
	assert_eq!(downloads, 1, "{outcomes:?}");
}

#[tokio::test]
async fn bytes_that_are_not_what_the_chain_names_are_refused_and_not_filed() {
	let server = server().await;
	let hash = server.store.put(MODEL).unwrap();
	// The server's file under that name has other bytes.
	std::fs::write(server.store.path(&hash), b"a substituted module").unwrap();
	let (_cache, fetcher) = worker(quick());
	match fetcher.fetch(&server.uri, &hash).await {
		Err(FetchError::Mismatch { expected, actual, .. }) => {
			assert_eq!(expected, hash);
			assert_eq!(actual, content_hash(b"a substituted module"));
		}
		other => panic!("expected a mismatch, got {other:?}"),
	}
	assert!(!fetcher.has(&hash).await.unwrap());
	assert!(!fetcher.store().path(&hash).exists(), "nothing filed");
}

#[tokio::test]
async fn files_over_the_size_limit_are_refused() {
	let server = server().await;
	let hash = server.store.put(MODEL).unwrap();
	let (_cache, fetcher) = worker(FetchLimits { max_bytes: 16, ..quick() });
	assert!(matches!(
		fetcher.fetch(&server.uri, &hash).await,
		Err(FetchError::TooLarge { limit: 16, .. })
	));
	assert!(!fetcher.store().path(&hash).exists());
}

#[tokio::test]
async fn a_file_the_server_lacks_is_not_found_and_not_tried_again() {
	let server = server().await;
	let (_cache, fetcher) = worker(quick());
	let err = fetcher.fetch(&server.uri, &content_hash(b"never published")).await.unwrap_err();
	assert!(matches!(err, FetchError::NotFound { .. }), "{err:?}");
	assert!(!err.is_transient());
}

#[tokio::test]
async fn a_uri_that_is_not_http_has_no_source() {
	let (_cache, fetcher) = worker(quick());
	for uri in ["", "content:", "ipfs://bafy"] {
		let err = fetcher.fetch(uri, &content_hash(MODEL)).await.unwrap_err();
		assert!(matches!(err, FetchError::NoSource { .. }), "{uri}: {err:?}");
	}
}

/// A loopback port nothing listens on.
async fn closed_port() -> std::net::SocketAddr {
	let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
	listener.local_addr().unwrap()
}

#[tokio::test]
async fn an_unreachable_server_is_tried_a_bounded_number_of_times() {
	let (_cache, fetcher) = worker(quick());
	let addr = closed_port().await;
	let err = fetcher.fetch(&format!("http://{addr}"), &content_hash(MODEL)).await.unwrap_err();
	assert!(matches!(err, FetchError::Transfer { .. }), "{err:?}");
	assert!(err.is_transient());
}

#[tokio::test]
async fn a_server_that_comes_up_late_is_reached_by_a_retry() {
	let dir = tempfile::tempdir().unwrap();
	let store = ContentStore::open(dir.path()).unwrap();
	let hash = store.put(MODEL).unwrap();
	let addr = closed_port().await;
	let late = tokio::spawn(async move {
		tokio::time::sleep(Duration::from_millis(150)).await;
		serve(store, tokio::net::TcpListener::bind(addr).await.unwrap())
	});
	let (_cache, fetcher) = worker(FetchLimits { attempts: 8, ..quick() });
	let (fetched, _) = fetcher.fetch(&format!("http://{addr}"), &hash).await.unwrap();
	assert_eq!(fetched, Fetched::Downloaded(MODEL.len() as u64));
	late.await.unwrap().1.abort();
}

#[tokio::test]
async fn a_cached_file_that_no_longer_matches_its_name_is_fetched_again() {
	let server = server().await;
	let hash = server.store.put(MODEL).unwrap();
	let (_cache, fetcher) = worker(quick());
	fetcher.store().put(MODEL).unwrap();
	std::fs::write(fetcher.store().path(&hash), b"bit rot").unwrap();
	let (fetched, _) = fetcher.fetch(&server.uri, &hash).await.unwrap();
	assert_eq!(fetched, Fetched::Downloaded(MODEL.len() as u64));
	assert_eq!(fetcher.store().get(&hash).unwrap(), MODEL);
}

#[tokio::test]
async fn the_content_server_publishes_content_names_only() {
	let server = server().await;
	let hash: Hash = server.store.put(MODEL).unwrap();
	std::fs::write(server.store.dir().join("journal.sqlite"), b"private").unwrap();
	let client = reqwest::Client::new();
	let get = |path: String| {
		let (client, uri) = (client.clone(), server.uri.clone());
		async move { client.get(format!("{uri}/{path}")).send().await.unwrap() }
	};
	let hex = hex::encode(hash.as_bytes());
	let found = get(hex.clone()).await;
	assert_eq!(found.status(), reqwest::StatusCode::OK);
	assert_eq!(found.bytes().await.unwrap(), MODEL);
	for path in ["journal.sqlite".to_owned(), hex.to_uppercase(), format!("{hex}/x"), String::new()]
	{
		assert_eq!(get(path.clone()).await.status(), reqwest::StatusCode::NOT_FOUND, "{path}");
	}
}
