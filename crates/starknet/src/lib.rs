#![doc = include_str!("../README.md")]

mod adapter;
pub mod calls;
pub mod deploy;
mod error;
mod signer;

pub use adapter::{
    progress_of, L1Messaging, MessageDelivery, StarknetConfig, StarknetL2, OZ_ACCOUNT_CLASS_HASH,
};
pub use calls::{L2ToL1Message, StarknetTx};
pub use error::{
    describe, provider_error_is_retryable, starknet_error_is_retryable, Error, Result,
};
pub use signer::SignerError;
/// starknet-rs' types, for callers building payloads or reading receipts.
pub use starknet_core::types as starknet_types;
