//! Assembles the node: client, transaction pool, network, RPC and consensus.
//!
//! A `Development` chain (`--dev`) is sealed by the node itself: a block every
//! `--dev-block-time` milliseconds, carrying a BABE pre-digest with the
//! authority's VRF output (the compute market draws workers with it),
//! finalized at once. Every other chain runs BABE authoring and GRANDPA
//! finality among its validators.

use futures::{FutureExt, StreamExt};
use polkadot_sdk::{
	sc_basic_authorship::ProposerFactory,
	sc_chain_spec::ChainType,
	sc_client_api::{Backend, BlockBackend},
	sc_consensus::{BasicQueue, BoxBlockImport, LongestChain},
	sc_consensus_babe::{self, BabeLink, BabeWorkerHandle, SlotProportion},
	sc_consensus_grandpa::{self as grandpa, SharedVoterState},
	sc_consensus_manual_seal::{
		self as manual_seal, consensus::babe::BabeConsensusDataProvider,
		consensus::timestamp::SlotTimestampProvider, EngineCommand, ManualSealParams,
	},
	sc_executor::WasmExecutor,
	sc_network, sc_offchain,
	sc_service::{self, error::Error as ServiceError, Configuration, TaskManager, WarpSyncConfig},
	sc_telemetry::{Telemetry, TelemetryWorker},
	sc_transaction_pool::{self, TransactionPoolHandle},
	sc_transaction_pool_api::OffchainTransactionPoolFactory,
	sp_consensus_babe,
	sp_core::crypto::{key_types, ByteArray},
	sp_io,
	sp_keystore::KeystorePtr,
	sp_runtime::traits::Block as BlockT,
	sp_timestamp,
};
use std::{sync::Arc, time::Duration};
use tributary_runtime::{apis::RuntimeApi, opaque::Block};

/// The client: the runtime executed by wasmtime, state in ParityDB.
pub type FullClient =
	sc_service::TFullClient<Block, RuntimeApi, WasmExecutor<sp_io::SubstrateHostFunctions>>;
type FullBackend = sc_service::TFullBackend<Block>;
type FullSelectChain = LongestChain<FullBackend, Block>;
type FullPool = TransactionPoolHandle<Block, FullClient>;
type GrandpaLink = grandpa::LinkHalf<Block, FullClient, FullSelectChain>;

/// What authoring needs from the import side: BABE's block import (wrapping
/// GRANDPA's on a network of validators), BABE's epoch data, and GRANDPA's
/// link where it runs.
pub struct Consensus {
	block_import: BoxBlockImport<Block>,
	babe_link: BabeLink<Block>,
	grandpa_link: Option<GrandpaLink>,
	/// BABE's worker answers epoch queries for as long as a handle to it
	/// exists, and the node stops when it ends: the node holds one for its
	/// lifetime.
	babe_worker: Option<BabeWorkerHandle<Block>>,
}

/// GRANDPA proves finality with a justification at least this often.
const GRANDPA_JUSTIFICATION_PERIOD: u32 = 512;

/// The parts of the node that the sub-commands (check-block, import-blocks, …)
/// share with the running node.
pub type Service = sc_service::PartialComponents<
	FullClient,
	FullBackend,
	FullSelectChain,
	BasicQueue<Block>,
	FullPool,
	(Consensus, Option<Telemetry>),
>;

/// Whether the node seals its own blocks: `Development` chains only.
pub fn is_self_sealing(config: &Configuration) -> bool {
	config.chain_spec.chain_type() == ChainType::Development
}

/// The inherent data of a block at the current time: its BABE slot (first,
/// where BABE looks for it) and its timestamp.
fn inherents_now(
	slot_duration: sp_consensus_babe::SlotDuration,
) -> (sp_consensus_babe::inherents::InherentDataProvider, sp_timestamp::InherentDataProvider) {
	let timestamp = sp_timestamp::InherentDataProvider::from_system_time();
	let slot = sp_consensus_babe::inherents::InherentDataProvider::from_timestamp_and_slot_duration(
		*timestamp,
		slot_duration,
	);
	(slot, timestamp)
}

/// The inherent data of the next block of a self-sealing chain: the slot
/// after the best block's, with that slot's start as the timestamp, so that
/// the chain's clock advances one slot per block however short the block
/// time. Sealing and importing read the same clock, so a dev chain that runs
/// ahead of wall-clock time never fails the timestamp check.
fn next_dev_block(
	client: Arc<FullClient>,
) -> Result<
	(sp_consensus_babe::inherents::InherentDataProvider, SlotTimestampProvider),
	Box<dyn std::error::Error + Send + Sync>,
> {
	let timestamp = SlotTimestampProvider::new_babe(client)?;
	Ok((sp_consensus_babe::inherents::InherentDataProvider::new(timestamp.slot()), timestamp))
}

/// Builds the client, pool and import queue. Every block goes through BABE's
/// block import, which tracks epochs; on a self-sealing chain blocks are
/// imported as sealed, otherwise through BABE's verifier and GRANDPA.
pub fn new_partial(config: &Configuration) -> Result<Service, ServiceError> {
	let telemetry = config
		.telemetry_endpoints
		.clone()
		.filter(|x| !x.is_empty())
		.map(|endpoints| -> Result<_, polkadot_sdk::sc_telemetry::Error> {
			let worker = TelemetryWorker::new(16)?;
			let telemetry = worker.handle().new_telemetry(endpoints);
			Ok((worker, telemetry))
		})
		.transpose()?;

	let executor = sc_service::new_wasm_executor::<sp_io::SubstrateHostFunctions>(&config.executor);
	let (client, backend, keystore_container, task_manager) =
		sc_service::new_full_parts::<Block, RuntimeApi, _>(
			config,
			telemetry.as_ref().map(|(_, telemetry)| telemetry.handle()),
			executor,
			Vec::new(),
		)?;
	let client = Arc::new(client);

	let telemetry = telemetry.map(|(worker, telemetry)| {
		task_manager.spawn_handle().spawn("telemetry", None, worker.run());
		telemetry
	});

	let select_chain = LongestChain::new(backend.clone());

	let transaction_pool = Arc::from(
		sc_transaction_pool::Builder::new(
			task_manager.spawn_essential_handle(),
			client.clone(),
			config.role.is_authority().into(),
		)
		.with_options(config.transaction_pool.clone())
		.with_prometheus(config.prometheus_registry())
		.build(),
	);

	let babe_config = sc_consensus_babe::configuration(&*client)?;
	let slot_duration = babe_config.slot_duration();
	let offchain_pool = OffchainTransactionPoolFactory::new(transaction_pool.clone());
	let babe_inherents = move |_, ()| async move { Ok(inherents_now(slot_duration)) };
	let (import_queue, consensus) = if is_self_sealing(config) {
		let dev_client = client.clone();
		let (babe_import, babe_link) = sc_consensus_babe::block_import(
			babe_config,
			client.clone(),
			client.clone(),
			move |_, ()| {
				let client = dev_client.clone();
				async move { next_dev_block(client) }
			},
			select_chain.clone(),
			offchain_pool,
		)?;
		let queue = manual_seal::import_queue(
			Box::new(babe_import.clone()),
			&task_manager.spawn_essential_handle(),
			config.prometheus_registry(),
		);
		let consensus = Consensus {
			block_import: Box::new(babe_import),
			babe_link,
			grandpa_link: None,
			babe_worker: None,
		};
		(queue, consensus)
	} else {
		let (grandpa_block_import, grandpa_link) = grandpa::block_import(
			client.clone(),
			GRANDPA_JUSTIFICATION_PERIOD,
			&client,
			select_chain.clone(),
			telemetry.as_ref().map(|x| x.handle()),
		)?;
		let (babe_import, babe_link) = sc_consensus_babe::block_import(
			babe_config,
			grandpa_block_import.clone(),
			client.clone(),
			babe_inherents,
			select_chain.clone(),
			offchain_pool,
		)?;
		let (queue, babe_worker) =
			sc_consensus_babe::import_queue(sc_consensus_babe::ImportQueueParams {
				link: babe_link.clone(),
				block_import: babe_import.clone(),
				justification_import: Some(Box::new(grandpa_block_import)),
				client: client.clone(),
				slot_duration,
				spawner: &task_manager.spawn_essential_handle(),
				registry: config.prometheus_registry(),
				telemetry: telemetry.as_ref().map(|x| x.handle()),
			})?;
		let consensus = Consensus {
			block_import: Box::new(babe_import),
			babe_link,
			grandpa_link: Some(grandpa_link),
			babe_worker: Some(babe_worker),
		};
		(queue, consensus)
	};

	Ok(sc_service::PartialComponents {
		client,
		backend,
		task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (consensus, telemetry),
	})
}

/// A validator must hold the BABE key of one of the chain's authorities, or
/// it would run without ever authoring; say so at start, not never. Returns
/// the chain's BABE authorities.
fn check_authority_key(
	babe_link: &BabeLink<Block>,
	keystore: &KeystorePtr,
) -> Result<Vec<(sp_consensus_babe::AuthorityId, u64)>, ServiceError> {
	let ours = keystore.sr25519_public_keys(key_types::BABE);
	if ours.is_empty() {
		return Err(ServiceError::Other(
			"this node runs as a validator but its keystore holds no BABE key: start it with \
			 one of --alice/--bob/… on a development network, or insert the validator's key \
			 with `tributary-node key insert --key-type babe --scheme sr25519` (and `gran` \
			 with ed25519) into the same --base-path and --chain"
				.into(),
		));
	}
	let authorities = babe_link.config().authorities.clone();
	if !authorities.iter().any(|(a, _)| ours.iter().any(|k| k.as_slice() == a.as_slice())) {
		log::warn!(
			"⚠️  none of this node's BABE keys is an authority of this chain; it will not author"
		);
	}
	Ok(authorities)
}

/// Builds and starts the full node.
pub fn new_full<N: sc_network::NetworkBackend<Block, <Block as BlockT>::Hash>>(
	config: Configuration,
	dev_block_time: Duration,
) -> Result<TaskManager, ServiceError> {
	let self_sealing = is_self_sealing(&config);
	let sc_service::PartialComponents {
		client,
		backend,
		mut task_manager,
		import_queue,
		keystore_container,
		select_chain,
		transaction_pool,
		other: (consensus, mut telemetry),
	} = new_partial(&config)?;
	let Consensus { block_import, babe_link, grandpa_link, babe_worker } = consensus;
	if let Some(handle) = babe_worker {
		task_manager.spawn_handle().spawn("babe-worker-handle", None, async move {
			let _held = handle;
			futures::future::pending::<()>().await
		});
	}

	let mut net_config = sc_network::config::FullNetworkConfiguration::<
		Block,
		<Block as BlockT>::Hash,
		N,
	>::new(&config.network, config.prometheus_registry().cloned());
	let metrics = N::register_notification_metrics(config.prometheus_registry());

	let genesis_hash = client
		.block_hash(0)
		.ok()
		.flatten()
		.ok_or_else(|| ServiceError::Other("the database holds no genesis block".into()))?;
	let grandpa_protocol_name = grandpa::protocol_standard_name(&genesis_hash, &config.chain_spec);
	let grandpa_notification_service = grandpa_link.as_ref().map(|_| {
		let (protocol_config, notification_service) = grandpa::grandpa_peers_set_config::<_, N>(
			grandpa_protocol_name.clone(),
			metrics.clone(),
			net_config.peer_store_handle(),
		);
		net_config.add_notification_protocol(protocol_config);
		notification_service
	});

	let warp_sync_config = grandpa_link.as_ref().map(|link| {
		WarpSyncConfig::WithProvider(Arc::new(grandpa::warp_proof::NetworkProvider::new(
			backend.clone(),
			link.shared_authority_set().clone(),
			Vec::default(),
		)))
	});

	let (network, system_rpc_tx, tx_handler_controller, sync_service, _bitswap) =
		sc_service::build_network(sc_service::BuildNetworkParams {
			config: &config,
			net_config,
			client: client.clone(),
			transaction_pool: transaction_pool.clone(),
			spawn_handle: task_manager.spawn_handle(),
			spawn_essential_handle: task_manager.spawn_essential_handle(),
			import_queue,
			block_announce_validator_builder: None,
			warp_sync_config,
			block_relay: None,
			metrics,
			gap_sync_body_policy: None,
		})?;

	if config.offchain_worker.enabled {
		let offchain_workers =
			sc_offchain::OffchainWorkers::new(sc_offchain::OffchainWorkerOptions {
				runtime_api_provider: client.clone(),
				is_validator: config.role.is_authority(),
				keystore: Some(keystore_container.keystore()),
				offchain_db: backend.offchain_storage(),
				transaction_pool: Some(OffchainTransactionPoolFactory::new(
					transaction_pool.clone(),
				)),
				network_provider: Arc::new(network.clone()),
				enable_http_requests: true,
				custom_extensions: |_| vec![],
			})?;
		task_manager.spawn_handle().spawn(
			"offchain-workers-runner",
			"offchain-worker",
			offchain_workers.run(client.clone(), task_manager.spawn_handle()).boxed(),
		);
	}

	let role = config.role;
	let force_authoring = config.force_authoring;
	let name = config.network.node_name.clone();
	let enable_grandpa = !config.disable_grandpa;
	let prometheus_registry = config.prometheus_registry().cloned();

	let rpc_builder = {
		let client = client.clone();
		let pool = transaction_pool.clone();
		Box::new(move |_| {
			let deps = crate::rpc::FullDeps { client: client.clone(), pool: pool.clone() };
			crate::rpc::create_full(deps).map_err(Into::into)
		})
	};

	sc_service::spawn_tasks(sc_service::SpawnTasksParams {
		network: network.clone(),
		client: client.clone(),
		keystore: keystore_container.keystore(),
		task_manager: &mut task_manager,
		transaction_pool: transaction_pool.clone(),
		rpc_builder,
		backend,
		system_rpc_tx,
		tx_handler_controller,
		sync_service: sync_service.clone(),
		config,
		telemetry: telemetry.as_mut(),
		tracing_execute_block: None,
	})?;

	if !role.is_authority() {
		return Ok(task_manager);
	}
	// After `spawn_tasks`, which puts `--alice`-style dev keys in the keystore.
	let authorities = check_authority_key(&babe_link, &keystore_container.keystore())?;

	let proposer_factory = ProposerFactory::new(
		task_manager.spawn_handle(),
		client.clone(),
		transaction_pool.clone(),
		prometheus_registry.as_ref(),
		telemetry.as_ref().map(|x| x.handle()),
	);

	if self_sealing {
		let consensus_data = BabeConsensusDataProvider::new(
			client.clone(),
			keystore_container.keystore(),
			babe_link.epoch_changes().clone(),
			authorities,
		)
		.map_err(|e| ServiceError::Other(format!("cannot seal with BABE: {e}")))?;
		start_dev_sealing(
			&task_manager,
			client,
			transaction_pool,
			select_chain,
			proposer_factory,
			block_import,
			consensus_data,
			dev_block_time,
		)?;
		return Ok(task_manager);
	}

	let grandpa_link = grandpa_link
		.ok_or_else(|| ServiceError::Other("GRANDPA was not set up for this chain".into()))?;
	let slot_duration = babe_link.config().slot_duration();
	let babe = sc_consensus_babe::start_babe(sc_consensus_babe::BabeParams {
		keystore: keystore_container.keystore(),
		client,
		select_chain,
		env: proposer_factory,
		block_import,
		sync_oracle: sync_service.clone(),
		justification_sync_link: sync_service.clone(),
		create_inherent_data_providers: move |_, ()| async move { Ok(inherents_now(slot_duration)) },
		force_authoring,
		backoff_authoring_blocks: Option::<()>::None,
		babe_link,
		block_proposal_slot_portion: SlotProportion::new(2f32 / 3f32),
		max_block_proposal_slot_portion: None,
		telemetry: telemetry.as_ref().map(|x| x.handle()),
	})?;
	// Authoring is essential: if it stops, the node stops with it.
	task_manager.spawn_essential_handle().spawn_blocking(
		"babe-proposer",
		Some("block-authoring"),
		babe,
	);

	if enable_grandpa {
		let grandpa_config = grandpa::GrandpaParams {
			config: grandpa::Config {
				gossip_duration: Duration::from_millis(333),
				justification_generation_period: GRANDPA_JUSTIFICATION_PERIOD,
				name: Some(name),
				observer_enabled: false,
				keystore: Some(keystore_container.keystore()),
				local_role: role,
				telemetry: telemetry.as_ref().map(|x| x.handle()),
				protocol_name: grandpa_protocol_name,
			},
			link: grandpa_link,
			network,
			sync: sync_service,
			notification_service: grandpa_notification_service.ok_or_else(|| {
				ServiceError::Other("GRANDPA's notification protocol was not registered".into())
			})?,
			voting_rule: grandpa::VotingRulesBuilder::default().build(),
			prometheus_registry,
			shared_voter_state: SharedVoterState::empty(),
			telemetry: telemetry.as_ref().map(|x| x.handle()),
			offchain_tx_pool_factory: OffchainTransactionPoolFactory::new(transaction_pool),
		};
		task_manager.spawn_essential_handle().spawn_blocking(
			"grandpa-voter",
			None,
			grandpa::run_grandpa_voter(grandpa_config)?,
		);
	}

	Ok(task_manager)
}

/// Seals a block every `block_time` and finalizes it at once. The timestamp
/// advances one BABE slot per block, so the runtime sees strictly increasing
/// slots however short `block_time` is.
#[allow(clippy::too_many_arguments)]
fn start_dev_sealing(
	task_manager: &TaskManager,
	client: Arc<FullClient>,
	pool: Arc<FullPool>,
	select_chain: FullSelectChain,
	env: ProposerFactory<FullPool, FullClient>,
	block_import: BoxBlockImport<Block>,
	consensus_data: BabeConsensusDataProvider<Block, FullClient>,
	block_time: Duration,
) -> Result<(), ServiceError> {
	let mut ticks = tokio::time::interval(block_time);
	// A slow block delays the next one rather than causing a burst.
	ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
	let commands_stream = futures::stream::unfold(ticks, |mut ticks| async move {
		ticks.tick().await;
		let command = EngineCommand::SealNewBlock {
			create_empty: true,
			finalize: true,
			parent_hash: None,
			sender: None,
		};
		Some((command, ticks))
	})
	.boxed();

	let timestamp_client = client.clone();
	let sealing = manual_seal::run_manual_seal(ManualSealParams {
		block_import,
		env,
		client,
		pool,
		commands_stream,
		select_chain,
		consensus_data_provider: Some(Box::new(consensus_data)),
		// Re-read from the parent each block: its slot plus one is the next slot.
		create_inherent_data_providers: move |_, ()| {
			let client = timestamp_client.clone();
			async move { next_dev_block(client) }
		},
	});
	task_manager.spawn_essential_handle().spawn_blocking(
		"dev-sealing",
		Some("block-authoring"),
		sealing,
	);
	Ok(())
}
