//! starkroute on real local nodes: anvil (or any Ethereum JSON-RPC node) for L1,
//! starknet-devnet for Starknet, and the embedded StarkEx engine operating a StarkEx core
//! contract deployed on that L1.
//!
//! - [`port`]: the StarkEx core contract on the node as the engine's contract port (logs in,
//!   `updateState` out).
//! - [`operator`]: the engine as that contract's operator — deposits picked up, batches posted,
//!   the REST API, and the L1 adapter's operator questions.
//! - [`updater`]: Starknet's state update on L1, which devnet leaves to its caller (postman
//!   flush, L1→L2 messages consumed on L1, blocks accepted on L1).
//! - [`deployment`]: the contracts of a local topology deployed on fresh nodes.
//! - [`stack`]: the engine, the state updater, the REST API and the three production adapters
//!   wired to them.
//! - [`messages`]: the Starknet adapter as the L1 adapter's source of L2→L1 messages.

pub mod deployment;
pub mod messages;
pub mod operator;
pub mod port;
pub mod stack;
pub mod updater;

pub use messages::StarknetMessages;
pub use operator::L1Operator;
pub use port::{ChainReader, ChainView, L1ContractPort};
pub use stack::{DevStack, DevStackConfig};
pub use updater::{StateUpdater, UpdateReport};

/// Why a devstack operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A node (L1 or devnet) did not answer, or answered with an error.
    #[error("node: {0}")]
    Node(String),
    /// Chain data that does not fit the contract's rules (an undecodable log, a value out of
    /// range).
    #[error("chain data: {0}")]
    Chain(String),
    /// Setting up the contracts or the stack failed.
    #[error("setup: {0}")]
    Setup(String),
}

/// A devstack result.
pub type Result<T> = std::result::Result<T, Error>;
