//! The chain as the indexer reads it: finalized blocks, each decoded with
//! the metadata of the runtime version it was built by (subxt fetches that
//! version's metadata for each block), so a runtime upgrade changes nothing.

use crate::json::{amount, to_json};
use futures::{stream, Stream, StreamExt};
use scale_value::Value;
use serde_json::Value as Json;
use std::{collections::BTreeMap, ops::RangeInclusive};
use subxt::{
	events::Phase,
	rpcs::{methods::LegacyRpcMethods, RpcClient},
	utils::H256,
	OnlineClient, PolkadotConfig,
};

type Config = PolkadotConfig;

/// How many blocks [`Source::blocks`] reads ahead of the one taken.
pub const READ_AHEAD: usize = 16;

/// Why the chain could not be read.
#[derive(Debug, thiserror::Error)]
#[error("node: {0}")]
pub struct SourceError(String);

impl SourceError {
	/// The node has no block `number` although it finalized it: it prunes
	/// blocks, and an indexer needs an archive node.
	pub fn missing(number: u64) -> Self {
		SourceError(format!(
			"the node has no block {number}: index from an archive node (--state-pruning archive)"
		))
	}
}

fn node(e: impl std::fmt::Display) -> SourceError {
	SourceError(e.to_string())
}

/// A connection to a node.
pub struct Source {
	client: OnlineClient<Config>,
	rpc: LegacyRpcMethods<RpcClientConfig>,
}

type RpcClientConfig = subxt::config::RpcConfigFor<Config>;

/// One block, decoded: everything the database keeps of it.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexedBlock {
	/// Its number.
	pub number: u64,
	/// Its hash.
	pub hash: H256,
	/// Its parent's hash.
	pub parent_hash: H256,
	/// The runtime version that built it.
	pub spec_version: u32,
	/// The timestamp pallet's `now`, in milliseconds.
	pub timestamp_ms: Option<u64>,
	/// Its extrinsics, in order.
	pub extrinsics: Vec<IndexedExtrinsic>,
	/// Its events, in order.
	pub events: Vec<IndexedEvent>,
}

/// One extrinsic of a block.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexedExtrinsic {
	/// Its hash.
	pub hash: H256,
	/// Its pallet.
	pub pallet: String,
	/// Its call.
	pub call: String,
	/// The account that signed it (32 bytes), if signed.
	pub signer: Option<[u8; 32]>,
	/// Whether it dispatched without error.
	pub success: bool,
	/// The fee it paid, if any.
	pub fee: Option<u128>,
	/// Its call's arguments.
	pub args: Json,
}

/// One event of a block.
#[derive(Clone, Debug, PartialEq)]
pub struct IndexedEvent {
	/// The extrinsic that emitted it, if one did.
	pub extrinsic: Option<u32>,
	/// Its pallet.
	pub pallet: String,
	/// Its name.
	pub name: String,
	/// Its fields.
	pub fields: Json,
}

impl Source {
	/// Connects to the node at `url` (`ws://…`).
	pub async fn connect(url: &str) -> Result<Self, SourceError> {
		let rpc = RpcClient::from_insecure_url(url).await.map_err(node)?;
		let client = OnlineClient::<Config>::from_rpc_client(rpc.clone()).await.map_err(node)?;
		Ok(Source { client, rpc: LegacyRpcMethods::new(rpc) })
	}

	/// The number of the node's finalized head.
	pub async fn finalized(&self) -> Result<u64, SourceError> {
		let hash = self.rpc.chain_get_finalized_head().await.map_err(node)?;
		let header = self
			.rpc
			.chain_get_header(Some(hash))
			.await
			.map_err(node)?
			.ok_or_else(|| node("the finalized head has no header"))?;
		Ok(header.number)
	}

	/// The hash of the canonical block `number`, if the node has it.
	pub async fn hash_of(&self, number: u64) -> Result<Option<H256>, SourceError> {
		self.rpc.chain_get_block_hash(Some(number.into())).await.map_err(node)
	}

	/// Blocks `numbers` of the canonical chain, decoded, in order, each with
	/// its number; [`READ_AHEAD`] are read at once, since each takes several
	/// round trips to the node that would otherwise be paid one after
	/// another.
	pub fn blocks(
		&self,
		numbers: RangeInclusive<u64>,
	) -> impl Stream<Item = (u64, Result<Option<IndexedBlock>, SourceError>)> + '_ {
		stream::iter(numbers)
			.map(move |number| async move { (number, self.block(number).await) })
			.buffered(READ_AHEAD)
	}

	/// Block `number` of the canonical chain, decoded; `None` if the node
	/// does not have it.
	pub async fn block(&self, number: u64) -> Result<Option<IndexedBlock>, SourceError> {
		let Some(hash) = self.hash_of(number).await? else { return Ok(None) };
		let at = self.client.at_block_hash_and_number(hash, number).await.map_err(node)?;
		let header = at.block_header().await.map_err(node)?;
		let timestamp_ms = at
			.storage()
			.try_fetch(subxt::dynamic::storage::<(), u64>("Timestamp", "Now"), ())
			.await
			.map_err(node)?
			.map(|v| v.decode())
			.transpose()
			.map_err(node)?;

		let mut events = Vec::new();
		// Per extrinsic: whether it succeeded, and the fee it paid.
		let mut outcomes: Vec<(bool, Option<u128>)> = Vec::new();
		for event in at.events().fetch().await.map_err(node)?.iter() {
			let event = event.map_err(node)?;
			let extrinsic = match event.phase() {
				Phase::ApplyExtrinsic(i) => Some(i),
				_ => None,
			};
			let fields = event.decode_fields_unchecked_as::<Value>().map_err(node)?;
			let (pallet, name) = (event.pallet_name().to_owned(), event.event_name().to_owned());
			if let Some(i) = extrinsic {
				let i = i as usize;
				if outcomes.len() <= i {
					outcomes.resize(i + 1, (false, None));
				}
				match (pallet.as_str(), name.as_str()) {
					("System", "ExtrinsicSuccess") => outcomes[i].0 = true,
					("TransactionPayment", "TransactionFeePaid") => {
						outcomes[i].1 = field_u128(&fields, "actual_fee");
					}
					_ => {}
				}
			}
			events.push(IndexedEvent { extrinsic, pallet, name, fields: to_json(&fields) });
		}

		let mut extrinsics = Vec::new();
		for ext in at.extrinsics().fetch().await.map_err(node)?.iter() {
			let ext = ext.map_err(node)?;
			let args = ext.decode_call_data_fields_unchecked_as::<Value>().map_err(node)?;
			let signer = ext.address_bytes().and_then(|address| {
				// A MultiAddress: the `Id` variant (0) and the account.
				match address {
					[0, account @ ..] => account.try_into().ok(),
					_ => None,
				}
			});
			let (success, fee) = outcomes.get(ext.index()).copied().unwrap_or((false, None));
			extrinsics.push(IndexedExtrinsic {
				hash: ext.hash(),
				pallet: ext.pallet_name().to_owned(),
				call: ext.call_name().to_owned(),
				signer,
				success,
				fee,
				args: to_json(&args),
			});
		}
		Ok(Some(IndexedBlock {
			number,
			hash,
			parent_hash: header.parent_hash,
			spec_version: at.spec_version(),
			timestamp_ms,
			extrinsics,
			events,
		}))
	}

	/// Every account's balance and the total issuance at block `number`.
	pub async fn balances_at(&self, number: u64) -> Result<Balances, SourceError> {
		let accounts = self
			.map_at(number, "System", "Account")
			.await?
			.into_iter()
			.map(|(account, info)| {
				(account, amount(&info["data"]["free"]) + amount(&info["data"]["reserved"]))
			})
			.collect();
		let hash = self.hash_of(number).await?.ok_or_else(|| SourceError::missing(number))?;
		let at = self.client.at_block_hash_and_number(hash, number).await.map_err(node)?;
		let address = subxt::dynamic::storage::<(), Value>("Balances", "TotalIssuance");
		let issuance =
			at.storage().fetch(address, ()).await.map_err(node)?.decode().map_err(node)?;
		Ok(Balances { accounts, issuance: amount(&to_json(&issuance)) })
	}

	/// Every entry of the one-key storage map `pallet::entry` at block
	/// `number` whose key is readable from its hash (a `…Concat` hasher):
	/// each key as the database writes it (an account `0x…`, an id in
	/// decimal) with its value, as JSON the database writes values in.
	pub async fn map_at(
		&self,
		number: u64,
		pallet: &str,
		entry: &str,
	) -> Result<BTreeMap<String, Json>, SourceError> {
		let hash = self.hash_of(number).await?.ok_or_else(|| SourceError::missing(number))?;
		let at = self.client.at_block_hash_and_number(hash, number).await.map_err(node)?;
		let address = subxt::dynamic::storage::<(Value,), Value>(pallet, entry);
		let mut entries = at.storage().iter(address, ()).await.map_err(node)?;
		let mut map = BTreeMap::new();
		while let Some(kv) = entries.next().await {
			let kv = kv.map_err(node)?;
			let key = kv.key().map_err(node)?;
			let part = key
				.part(0)
				.ok_or_else(|| node(format!("{pallet}::{entry} has no key")))?
				.decode_as::<Value>()
				.map_err(node)?
				.ok_or_else(|| node(format!("{pallet}::{entry}'s keys are hashed opaquely")))?;
			let key = match to_json(&part) {
				Json::String(s) => s,
				other => other.to_string(),
			};
			map.insert(key, to_json(&kv.value().decode().map_err(node)?));
		}
		Ok(map)
	}
}

/// What each account holds and how much currency exists, at one block.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Balances {
	/// Each account's balance (free and reserved, holds included), by its
	/// key as the database writes it (`0x…`).
	pub accounts: BTreeMap<String, u128>,
	/// The total issuance.
	pub issuance: u128,
}

/// The named field `name` of an event's fields, as an integer.
fn field_u128<T>(fields: &Value<T>, name: &str) -> Option<u128> {
	match &fields.value {
		scale_value::ValueDef::Composite(scale_value::Composite::Named(named)) => {
			named.iter().find(|(n, _)| n == name).and_then(|(_, v)| v.as_u128())
		}
		_ => None,
	}
}
