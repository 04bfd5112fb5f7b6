//! Dispatches the command line to the node or a sub-command.

use crate::{
	chain_spec,
	cli::{Cli, Subcommand},
	service,
};
use polkadot_sdk::{
	sc_cli::{self, SubstrateCli},
	sc_network::config::NetworkBackendType,
	sc_service::{Configuration, PartialComponents},
};
use std::{sync::Arc, time::Duration};
use tributary_runtime::opaque::Block;

impl SubstrateCli for Cli {
	fn impl_name() -> String {
		"Tributary Node".into()
	}

	fn impl_version() -> String {
		env!("CARGO_PKG_VERSION").into()
	}

	fn description() -> String {
		env!("CARGO_PKG_DESCRIPTION").into()
	}

	fn author() -> String {
		env!("CARGO_PKG_AUTHORS").into()
	}

	fn support_url() -> String {
		"https://example.invalid/tributary/issues".into()
	}

	fn copyright_start_year() -> i32 {
		2026
	}

	fn load_spec(&self, id: &str) -> Result<Box<dyn sc_cli::ChainSpec>, String> {
		chain_spec::load(id)
	}
}

/// Refuses to start, naming the port and the flag, when a port the node must
/// listen on is already taken (most often by another node).
fn check_ports_free(config: &Configuration) -> sc_cli::Result<()> {
	let rpc = config
		.rpc
		.addr
		.iter()
		.flatten()
		.filter(|endpoint| !endpoint.is_optional)
		.map(|endpoint| (endpoint.listen_addr, "--rpc-port"));
	let prometheus = config.prometheus_config.iter().map(|p| (p.port, "--prometheus-port"));
	for (addr, flag) in rpc.chain(prometheus) {
		if let Err(e) = std::net::TcpListener::bind(addr) {
			return Err(sc_cli::Error::Input(format!(
				"cannot listen on {addr}: {e}. Is another node running? Choose another port with \
				 {flag}"
			)));
		}
	}
	Ok(())
}

/// Parses the command line and runs what it asks for.
pub fn run() -> sc_cli::Result<()> {
	let cli = Cli::from_args();
	// Addresses in RPC parameters, RPC results and logs use Tributary's prefix.
	polkadot_sdk::sp_core::crypto::set_default_ss58_version(
		polkadot_sdk::sp_core::crypto::Ss58AddressFormat::custom(tributary_runtime::SS58_PREFIX),
	);

	match &cli.subcommand {
		Some(Subcommand::Key(cmd)) => cmd.run(&cli),
		Some(Subcommand::BuildSpec(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.chain_spec, config.network))
		}
		Some(Subcommand::CheckBlock(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		}
		Some(Subcommand::ExportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.database), task_manager))
			})
		}
		Some(Subcommand::ExportState(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, .. } = service::new_partial(&config)?;
				Ok((cmd.run(client, config.chain_spec), task_manager))
			})
		}
		Some(Subcommand::ImportBlocks(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, import_queue, .. } =
					service::new_partial(&config)?;
				Ok((cmd.run(client, import_queue), task_manager))
			})
		}
		Some(Subcommand::PurgeChain(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run(config.database))
		}
		Some(Subcommand::Revert(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.async_run(|config| {
				let PartialComponents { client, task_manager, backend, .. } =
					service::new_partial(&config)?;
				let aux_revert = Box::new(|client: Arc<service::FullClient>, backend, blocks| {
					polkadot_sdk::sc_consensus_babe::revert(client.clone(), backend, blocks)?;
					polkadot_sdk::sc_consensus_grandpa::revert(client, blocks)?;
					Ok(())
				});
				Ok((cmd.run(client, backend, Some(aux_revert)), task_manager))
			})
		}
		Some(Subcommand::ChainInfo(cmd)) => {
			let runner = cli.create_runner(cmd)?;
			runner.sync_run(|config| cmd.run::<Block>(&config))
		}
		#[cfg(feature = "runtime-benchmarks")]
		Some(Subcommand::Benchmark(cmd)) => match cmd {
			// The runtime comes from `--runtime` and its genesis from the runtime's
			// preset, as `frame-omni-bencher` runs it: no chain spec, no database.
			polkadot_sdk::frame_benchmarking_cli::BenchmarkCmd::Pallet(cmd) => {
				cmd.run_with_spec::<polkadot_sdk::sp_runtime::traits::HashingFor<Block>, ()>(None)
			}
			_ => Err(sc_cli::Error::Input(
				"this node measures pallets only: use `benchmark pallet --runtime <wasm>`".into(),
			)),
		},
		None => {
			let runner = cli.create_runner(&cli.run)?;
			let dev_block_time = Duration::from_millis(cli.dev_block_time);
			runner.run_node_until_exit(|mut config| async move {
				// A client pointed at the port it asked for must reach this node or
				// nothing: fail on a busy port rather than move to a random one.
				for endpoint in config.rpc.addr.iter_mut().flatten() {
					endpoint.retry_random_port = false;
				}
				check_ports_free(&config)?;
				match config.network.network_backend {
					NetworkBackendType::Libp2p => service::new_full::<
						polkadot_sdk::sc_network::NetworkWorker<
							Block,
							<Block as polkadot_sdk::sp_runtime::traits::Block>::Hash,
						>,
					>(config, dev_block_time),
					NetworkBackendType::Litep2p => service::new_full::<
						polkadot_sdk::sc_network::Litep2pNetworkBackend,
					>(config, dev_block_time),
				}
				.map_err(sc_cli::Error::Service)
			})
		}
	}
}
