//! `tributary-indexer`: `run` follows the chain into PostgreSQL and serves
//! the query API; `reconcile` checks the database against the chain.

// The library's dependencies are the binary's too.
#![allow(unused_crate_dependencies)]

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::{net::SocketAddr, sync::Arc};
use tributary_indexer::{api, follow::follow, reconcile::reconcile, source::Source, store::Store};

#[derive(Parser)]
#[command(
	version,
	about = "Follows Tributary's finalized blocks into PostgreSQL and answers history questions."
)]
struct Cli {
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// Index finalized blocks as they come and serve the query API.
	Run {
		/// The nodes' WebSocket URLs, comma-separated: the next is used when
		/// one fails. An archive node (`--state-pruning archive`) keeps the
		/// events of every block, however far behind the indexer is.
		#[arg(
			long,
			value_delimiter = ',',
			default_value = "ws://127.0.0.1:9944",
			env = "TRIBUTARY_NODE_URL"
		)]
		node: Vec<String>,
		/// The PostgreSQL database, as a connection URL.
		#[arg(long, env = "TRIBUTARY_DATABASE_URL")]
		database: String,
		/// Where the query API listens.
		#[arg(long, default_value = "127.0.0.1:8088")]
		listen: SocketAddr,
	},
	/// Check the database against the chain; exits 1 if they differ.
	Reconcile {
		/// The node's WebSocket URL.
		#[arg(long, default_value = "ws://127.0.0.1:9944", env = "TRIBUTARY_NODE_URL")]
		node: String,
		/// The PostgreSQL database, as a connection URL.
		#[arg(long, env = "TRIBUTARY_DATABASE_URL")]
		database: String,
		/// The first block to check.
		#[arg(long, default_value_t = 0)]
		from: u64,
		/// The last block to check [default: the last indexed].
		#[arg(long)]
		to: Option<u64>,
	},
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
	tracing_subscriber::fmt()
		.with_env_filter(
			tracing_subscriber::EnvFilter::try_from_default_env()
				.unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
		)
		.with_ansi(false)
		// Logs apart from `reconcile`'s report, which is the output.
		.with_writer(std::io::stderr)
		.init();
	match Cli::parse().command {
		Command::Run { node, database, listen } => {
			let mut store = Store::connect(&database).await.context("opening the database")?;
			let queries = Store::connect(&database).await.context("opening the database")?;
			let listener = tokio::net::TcpListener::bind(listen)
				.await
				.with_context(|| format!("listening on {listen}"))?;
			tracing::info!(address = %listener.local_addr()?, "query API listening");
			let app = api::router(Arc::new(queries.into_client()));
			let server = tokio::spawn(async move { axum::serve(listener, app).await });
			tokio::select! {
				followed = follow(&node, &mut store) => followed.context("indexing")?,
				served = server => served.context("the query API")?.context("the query API")?,
			}
			Ok(())
		}
		Command::Reconcile { node, database, from, to } => {
			let store = Store::connect(&database).await.context("opening the database")?;
			let source =
				Source::connect(&node).await.with_context(|| format!("connecting to {node}"))?;
			let differences = reconcile(&source, &store, from, to).await?;
			for difference in &differences {
				println!("{difference}");
			}
			println!("{} differences", differences.len());
			if !differences.is_empty() {
				std::process::exit(1);
			}
			Ok(())
		}
	}
}
