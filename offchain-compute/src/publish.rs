//! `serve-content`: a content directory published over HTTP, so that
//! workers can fetch the models registered with its URL.
//!
//! Only content is served: `GET` (and `HEAD`) of `/<64 hex digits>`, the
//! names a [`ContentStore`] files under, with ranges and lengths as
//! tower-http's file service answers them. Any other path is 404, so
//! nothing else in the directory (a half-written temporary file, a journal
//! kept beside it by mistake) is ever exposed.

use crate::content::ContentStore;
use axum::{
	extract::Request,
	http::StatusCode,
	middleware::{self, Next},
	response::{IntoResponse, Response},
	Router,
};
use tower_http::services::ServeDir;

/// The application serving `store`.
pub fn router(store: &ContentStore) -> Router {
	Router::new()
		.fallback_service(ServeDir::new(store.dir()))
		.layer(middleware::from_fn(content_names_only))
}

/// Serves `store` on `listener` until the task is dropped or fails.
pub async fn serve(listener: tokio::net::TcpListener, store: ContentStore) -> std::io::Result<()> {
	axum::serve(listener, router(&store)).await
}

async fn content_names_only(request: Request, next: Next) -> Response {
	let name = request.uri().path().trim_start_matches('/');
	if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
		next.run(request).await
	} else {
		StatusCode::NOT_FOUND.into_response()
	}
}
