//! The StarkNet settlement-layer adapter over starknet-rs.
//!
//! - Accounts: OpenZeppelin accounts (one Stark key); deployment is a DEPLOY_ACCOUNT V3 of the
//!   configured class with salt 0; every other leg is an INVOKE V3 multicall through the
//!   sender's account.
//! - Legs: ERC-20 `transfer` / ERC-721 `transfer_from`, StarkGate `initiate_token_withdraw`,
//!   the Starklane NFT bridge's `approve` + `deposit_tokens`.
//! - Payload: the exact V3 transaction (nonce, resource bounds from the node's fee estimate
//!   times a margin, calldata, signature) and its hash, computed by starknet-rs before anything
//!   is sent. Without the signer's key, `prepare` asks for a signature over that hash and
//!   `attach_signature` checks it against the account's public key.
//! - Exactly once: `send` looks the hash up first and treats a duplicate as sent; a nonce
//!   consumed by another transaction is a permanent error (prepare again).
//! - Status: RECEIVED/CANDIDATE/PRE_CONFIRMED → pending, ACCEPTED_ON_L2 → accepted on L2,
//!   ACCEPTED_ON_L1 → final; a withdrawal is final only when its L2→L1 messages are counted by
//!   the L1 messaging contract (`l2ToL1Messages(hash) > 0`), i.e. consumable. L1→L2 deliveries
//!   are tracked with `starknet_getMessagesStatus` ([`StarknetL2::l1_to_l2_deliveries`]).
//!
//! ## RPC versions
//!
//! starknet-rs 0.17 (starknet-providers 0.16) implements JSON-RPC spec **0.9.0**; starknet-devnet
//! 0.10 serves **0.10.2** only. The calls this adapter makes through starknet-rs parse on a 0.10
//! node (checked on devnet by `tests/devnet`); `starknet_getMessagesStatus` and the L1
//! `eth_call` are raw JSON-RPC over reqwest so their shape does not depend on the client's spec.

mod adapter;
pub mod calls;
mod error;
mod signer;

pub use adapter::{
    progress_of, L1Messaging, MessageDelivery, StarknetConfig, StarknetL2, OZ_ACCOUNT_CLASS_HASH,
};
pub use calls::{L2ToL1Message, StarkNetTx};
pub use error::{
    describe, provider_error_is_retryable, starknet_error_is_retryable, Error, Result,
};
pub use signer::SignerError;
/// starknet-rs' types, for callers building payloads or reading receipts.
pub use starknet_core::types as starknet_types;
