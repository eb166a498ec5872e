//! Starknet: accounts, tokens, the L2 bridges, transaction statuses and state updates to L1.
//!
//! - [`chain`]: [`Starknet`] — accounts that must be deployed before use (the real address
//!   formula), signed invoke transactions with nonces, a mempool executed in blocks every
//!   `block_time` seconds, L1→L2 messages executed as L1_HANDLER transactions once their L1
//!   transaction has `l1_confirmations` confirmations, state updates posted to L1 every
//!   `state_update_interval` seconds (when L2→L1 messages become consumable and transactions
//!   ACCEPTED_ON_L1), and the conservation report.
//! - [`contracts`]: ERC-20, ERC-721, the StarkGate L2 bridge and the NFT bridge's L2 side.
//! - [`hash`]: contract addresses and transaction hashes.
//!
//! Fees are not charged on L2 (the sandbox has no fee token economics); L1→L2 message fees are
//! paid on L1.
//!
//! ## Driving
//!
//! On every clock advance, after `l1.advance_to(now)`: `starknet.advance_to(now, &mut l1)`.
//!
//! ## Conservation: what [`Starknet::holdings`] counts
//!
//! Starknet balances of StarkGate-bridged tokens and of registered NFT collections (keyed by
//! their L1 token, see [`crate::AssetKey`]), and every asset in flight through either bridge in
//! either direction ([`Starknet::in_flight`]). Together with [`crate::l1::L1::holdings`] (which
//! excludes the bridges' escrow) and the StarkEx engine's vaults, the totals must never change.
//! [`Starknet::check_bridges`] checks each bridge's own invariant: escrow = other side's supply +
//! in flight.

pub mod chain;
pub mod contracts;
pub mod hash;

pub use chain::{
    BridgeKind, Execution, Finality, L2Account, L2Tx, Starknet, StarknetChainConfig, StarknetError,
    TxKind, TxStatusView, OZ_ACCOUNT_CLASS_HASH,
};
pub use contracts::{Call, L2Event, L2State};
