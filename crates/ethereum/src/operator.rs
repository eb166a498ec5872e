//! What the L1 adapter needs from the StarkEx operator and its data-availability committee.

use async_trait::async_trait;
use starkroute_layer::Result;
use starkroute_types::{Felt, StarkKey, VaultId};

/// A vault's Merkle path against a vault root, as the data-availability committee serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscapeProof {
    /// The vault's asset id.
    pub asset_id: Felt,
    /// Its quantized balance.
    pub quantized_balance: u64,
    /// Sibling hashes, leaf level first (31 of them).
    pub siblings: Vec<Felt>,
}

/// The StarkEx side's answers the L1 legs need: which vault a deposit goes to (what
/// `/v1/signable-deposit-details` answers), which vault a forced action names, and the escape
/// path of a vault against the frozen root.
#[async_trait]
pub trait StarkExOperator: Send + Sync {
    /// The vault a deposit of `asset_id` to `key` goes to (allocated if new).
    async fn vault_for(&self, key: &StarkKey, asset_id: &Felt) -> Result<VaultId>;

    /// The vault `key` holds `asset_id` in, if any.
    async fn allocated_vault(&self, key: &StarkKey, asset_id: &Felt) -> Result<Option<VaultId>>;

    /// The vault's path against `root`.
    async fn escape_proof(&self, vault: VaultId, root: &Felt) -> Result<EscapeProof>;
}

/// An L2→L1 message as Starknet reports it in a transaction's receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2Message {
    /// The L2 contract that sent it.
    pub from_address: Felt,
    /// The L1 contract it is for.
    pub to_address: alloy::primitives::Address,
    /// Its payload.
    pub payload: Vec<Felt>,
}

/// Where the L1 adapter reads what a Starknet transaction sent to L1: an L1 claim consumes the
/// message of the withdraw transaction before it (`LegIntent::previous`), whose payload (the
/// NFT bridge's request) only that transaction knows.
#[async_trait]
pub trait L2MessageSource: Send + Sync {
    /// The messages Starknet transaction `tx_hash` sent to L1, in order.
    async fn messages_to_l1(&self, tx_hash: &str) -> Result<Vec<L2Message>>;
}
