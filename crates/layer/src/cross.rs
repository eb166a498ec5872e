//! The cross-layer ports: what an adapter of one layer needs to know about another layer.
//!
//! An L1 deposit into StarkEx must name the operator's vault for the key and asset; a forced
//! action names the vault a key holds an asset in; an escape carries the data-availability
//! committee's Merkle path; an L1 claim from the NFT bridge consumes the request that the
//! Starknet withdraw transaction before it sent to L1. These traits are implemented by whatever
//! knows the answer (the embedded engine in-process, a StarkEx REST API, a Starknet node) and
//! handed to the adapters that need them, so no adapter depends on another.

use alloy_primitives::B256;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use starkroute_crypto::l2_to_l1_message_hash;
use starkroute_types::{EthAddress, Felt, StarkKey, VaultId};

use crate::Result;

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

    /// The vault a deposit of `asset` (StarkEx id `asset_id`) to `key` goes to. An operator
    /// reached through its REST API needs the token (`signable-deposit-details`); by default
    /// [`Self::vault_for`].
    async fn deposit_vault(
        &self,
        key: &StarkKey,
        asset: &starkroute_types::Asset,
        asset_id: &Felt,
    ) -> Result<VaultId> {
        let _ = asset;
        self.vault_for(key, asset_id).await
    }

    /// The vault `key` holds `asset_id` in, if any.
    async fn allocated_vault(&self, key: &StarkKey, asset_id: &Felt) -> Result<Option<VaultId>>;

    /// The vault's path against `root`.
    async fn escape_proof(&self, vault: VaultId, root: &Felt) -> Result<EscapeProof>;
}

/// An L2→L1 message: as a Starknet receipt reports it, as a state update carries it to L1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageToL1 {
    /// The L2 contract that sent it.
    pub from_address: Felt,
    /// The L1 contract that may consume it.
    pub to_address: EthAddress,
    /// The payload.
    pub payload: Vec<Felt>,
}

impl MessageToL1 {
    /// `keccak256(abi.encodePacked(from, uint256(to), payload.length, payload))`: the key the
    /// L1 messaging contract counts it under (`l2ToL1Messages`).
    pub fn hash(&self) -> B256 {
        B256::from(l2_to_l1_message_hash(self.from_address, &self.to_address, &self.payload))
    }
}

/// Where an L1 adapter reads what a Starknet transaction sent to L1: an L1 claim consumes the
/// message of the withdraw transaction before it (`LegIntent::previous`), whose payload (the
/// NFT bridge's request) only that transaction knows.
#[async_trait]
pub trait L2MessageSource: Send + Sync {
    /// The messages Starknet transaction `tx_hash` sent to L1, in order.
    async fn messages_to_l1(&self, tx_hash: &str) -> Result<Vec<MessageToL1>>;
}
