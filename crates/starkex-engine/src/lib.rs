//! The StarkEx engine (the off-chain operator of an ImmutableX-style exchange) and its
//! ImmutableX-style REST API. The embedded sandbox hosts it beside its in-process L1, and the
//! devnet stack runs it as the operator of a StarkEx contract on a real L1 node; both reach the
//! contract through the same [`port`].
//!
//! - [`engine`]: vaults in the height-31 Pedersen tree, users, deposits picked up from L1,
//!   signature-checked transfers and withdrawals, mints, batches posted through the
//!   [`StarkExContractPort`](crate::port::StarkExContractPort), availability proofs against
//!   any posted root, operator fault switches, and the conservation counts.
//! - [`api`]: the REST API (axum) over any [`StarkExHost`] that lends out the engine, the port and
//!   the virtual time.
//! - [`port`]: what the engine needs from the StarkEx core contract on L1, and what they exchange.
//! - [`assets`]: token listings and the L1 identity of asset ids.
//! - [`error`]: why a request was refused, with its IMX-style code and HTTP status.

pub mod api;
pub mod assets;
pub mod engine;
pub mod error;
pub mod port;

pub use api::{router, SharedHost, StarkExHost};
pub use assets::{AssetMeta, CollectionListing, Royalty, TokenListing};
pub use engine::{
    FaultSwitches, MintRequest, PostedBatch, StarkExConfig, StarkExEngine, TickReport,
    TransferOrder, TransferRequest, Vault, VaultProof, VerifiedTransfer, WithdrawalKind,
    WithdrawalOrder, WithdrawalReceiver, WithdrawalRequest,
};
pub use error::StarkExError;

#[cfg(test)]
mod testing;
