//! The StarkEx engine (the off-chain operator) and its ImmutableX-style REST API.
//!
//! - [`engine`]: vaults in the height-31 Pedersen tree, users, deposits picked up from L1,
//!   signature-checked transfers and withdrawals, mints, batches posted through the
//!   [`StarkExContractPort`](crate::interface::StarkExContractPort), availability proofs against
//!   any posted root, operator fault switches, and the conservation counts.
//! - [`api`]: the REST API (axum) over any [`StarkExHost`] that lends out the engine, the port and
//!   the virtual time.
//! - [`assets`]: token listings and the L1 identity of asset ids.
//! - [`error`]: why a request was refused, with its IMX-style code and HTTP status.

pub mod api;
pub mod assets;
pub mod engine;
pub mod error;

pub use api::{router, SharedHost, StarkExHost};
pub use assets::{AssetMeta, TokenListing};
pub use engine::{
    FaultSwitches, MintRequest, PostedBatch, StarkExConfig, StarkExEngine, TickReport,
    TransferOrder, TransferRequest, Vault, VaultProof, WithdrawalKind, WithdrawalOrder,
    WithdrawalReceiver, WithdrawalRequest,
};
pub use error::StarkExError;

#[cfg(test)]
mod testing;
