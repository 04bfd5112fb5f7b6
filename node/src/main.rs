//! # Tributary node
//!
//! A validator or full node of the Tributary chain: BABE block authoring,
//! GRANDPA finality, ParityDB storage, the standard Substrate RPC that
//! polkadot.js and explorers speak, and Prometheus metrics.
//!
//! `--dev` runs one validator that seals and finalizes a block every
//! `--dev-block-time` milliseconds; `--chain local` is the four-validator
//! network of Alice, Bob, Charlie and Dave.

mod chain_spec;
mod cli;
mod command;
mod rpc;
mod service;

fn main() -> polkadot_sdk::sc_cli::Result<()> {
	command::run()
}
