//! The ports: one settlement-layer trait that L1, StarkEx and Starknet adapters implement, and
//! the types the executor exchanges with them.
//!
//! Submitting a leg is three steps so that the executor can be exactly-once across crashes:
//! 1. [`SettlementLayer::prepare`] builds the exact payload (and signs it where the adapter holds
//!    the key), with the identity it will have on the layer (transaction hash, payload hash,
//!    message hash) and its nonce. The executor stores it *before* sending.
//! 2. [`SettlementLayer::send`] submits exactly that payload. Sending the same prepared payload
//!    twice never executes it twice (same nonce, same hash).
//! 3. [`SettlementLayer::status`] looks the payload up on the layer by its identity and reports
//!    the layer's own finality. After a crash, a leg found "sent or maybe sent" is reconciled
//!    with `status` before anything is re-sent: [`LegProgress::NotFound`] means it never landed.

mod cross;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use starkroute_types::{
    Account, Amount, Asset, Felt, Layer, LegKind, Position, RouteId, StarkKey, VaultId,
};

pub use cross::{EscapeProof, L2MessageSource, MessageToL1, StarkExOperator};

/// How long an adapter waits on its upstream (a node's JSON-RPC, the StarkEx operator's API, a
/// layer service): to connect, and for a whole call. A call beyond either fails as a retryable
/// [`AdapterError`] naming the layer, never the URL (which may carry a provider key).
/// Configured by `[network] rpc_connect_timeout_secs` and `rpc_timeout_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcTimeouts {
    /// Establishing the TCP (and TLS) connection.
    pub connect: std::time::Duration,
    /// One request, from sending it to the end of its answer.
    pub request: std::time::Duration,
}

impl RpcTimeouts {
    /// The defaults: 10 s to connect, 30 s per call.
    pub const DEFAULT: Self = Self {
        connect: std::time::Duration::from_secs(10),
        request: std::time::Duration::from_secs(30),
    };
}

impl Default for RpcTimeouts {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// An adapter error, saying whether a retry can help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{message}")]
pub struct AdapterError {
    /// Whether retrying the same call later can succeed (timeouts, rate limits, a node that is
    /// behind); `false` for refusals by the layer's rules.
    pub retryable: bool,
    /// What happened, with the layer's own reason where there is one (a revert string, an API
    /// error code).
    pub message: String,
    /// For a retryable error: the layer's time (milliseconds since the Unix epoch) before which
    /// the call cannot succeed — a rule's waiting period, such as StarkEx's 7-day freeze grace.
    /// The executor waits until then instead of counting retries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<i64>,
}

impl AdapterError {
    /// A transient failure.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self { retryable: true, message: message.into(), not_before: None }
    }

    /// A call that will succeed once the layer's clock reaches `at_ms` (milliseconds since the
    /// Unix epoch), not before.
    pub fn not_before(message: impl Into<String>, at_ms: i64) -> Self {
        Self { retryable: true, message: message.into(), not_before: Some(at_ms) }
    }

    /// A refusal that retrying will not change.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self { retryable: false, message: message.into(), not_before: None }
    }
}

/// Convenience alias.
pub type Result<T, E = AdapterError> = std::result::Result<T, E>;

/// What the executor asks a layer to do for one leg of a route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegIntent {
    /// The route (a ULID string in JSON).
    pub route_id: RouteId,
    /// The leg's index in the route.
    pub leg_index: u16,
    /// What the leg does.
    pub kind: LegKind,
    /// The asset.
    pub asset: Asset,
    /// The amount in base units (1 for an NFT).
    pub amount: Amount,
    /// Where the asset is before the leg.
    pub from: Position,
    /// Where it is after.
    pub to: Position,
    /// The identity ([`Prepared::hash`]) of the earlier leg whose result this one consumes, if
    /// any — e.g. the Starknet withdraw transaction before an L1 claim: an adapter that needs
    /// data that leg produced (the NFT bridge request its L2→L1 message carries) reads it from
    /// the layer by this hash instead of guessing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
}

/// Which kind of signature a paused leg needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureScheme {
    /// A Stark ECDSA signature over a StarkEx message hash (`0x ‖ r ‖ s`).
    Stark,
    /// A Starknet account's signature over a transaction hash.
    StarknetAccount,
    /// An Ethereum signature over a transaction or message hash.
    Ethereum,
}

/// A signature the router does not hold: the exact hash to sign and who must sign it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureRequest {
    /// The scheme.
    pub scheme: SignatureScheme,
    /// The account that must sign.
    pub signer: Account,
    /// The hash to sign, `0x`-prefixed hex.
    pub hash: String,
}

/// A leg's exact payload, ready to send (or waiting for a signature).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prepared {
    /// The layer it goes to.
    pub layer: Layer,
    /// The leg kind.
    pub kind: LegKind,
    /// The exact payload, as it will be sent (adapter-specific JSON).
    pub payload: serde_json::Value,
    /// Its identity on the layer: transaction hash, StarkEx payload hash, or message hash.
    pub hash: String,
    /// The nonce it consumes, if the layer has nonces.
    pub nonce: Option<u64>,
    /// Set while the payload still needs a signature the router does not hold.
    pub needs_signature: Option<SignatureRequest>,
}

/// The layer's own finality for a submitted payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LegProgress {
    /// The layer has never seen it: safe to send (the same payload) again.
    NotFound,
    /// Received, not yet accepted.
    Pending,
    /// Accepted by the L2 (StarkEx batch not yet proven; Starknet ACCEPTED_ON_L2), or included
    /// in an L1 block without enough confirmations.
    AcceptedOnL2,
    /// Final where the next leg needs it.
    FinalOnL1,
    /// Refused or reverted.
    Failed {
        /// The layer's reason.
        reason: String,
        /// Whether preparing and sending again can help.
        retryable: bool,
    },
}

/// Where an L1 deposit into StarkEx goes, kept in an L1 adapter's payload so that its status can
/// find the operator's record of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositTarget {
    /// The receiving Stark key.
    pub stark_key: StarkKey,
    /// Its vault for the asset.
    pub vault_id: VaultId,
    /// The asset id.
    pub asset_id: Felt,
    /// The quantized amount.
    pub quantized_amount: u64,
}

/// Whether an account can take part: registered on StarkEx, deployed on Starknet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    /// The account.
    pub account: Account,
    /// Ready to send and receive.
    pub ready: bool,
    /// What is missing, when not ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

/// One settlement layer, as the executor sees it. Object safe: `Arc<dyn SettlementLayer>`.
#[async_trait]
pub trait SettlementLayer: Send + Sync {
    /// The layer this adapter talks to.
    fn layer(&self) -> Layer;

    /// The balance (base units) of an asset for an account; 0 or 1 for an NFT.
    async fn balance(&self, account: &Account, asset: &Asset) -> Result<Amount>;

    /// Whether an account is registered (StarkEx) or deployed (Starknet).
    async fn readiness(&self, account: &Account) -> Result<Readiness>;

    /// Builds the exact payload of a leg (signing it where the adapter holds the key).
    async fn prepare(&self, intent: &LegIntent) -> Result<Prepared>;

    /// Adds a signature the router did not hold, after checking it against the payload; a
    /// wrong signature is refused and the payload stays unsigned.
    async fn attach_signature(&self, prepared: &Prepared, signature: &str) -> Result<Prepared>;

    /// Sends exactly the prepared payload. Sending it again never executes it twice.
    async fn send(&self, prepared: &Prepared) -> Result<()>;

    /// The layer's finality for a prepared payload, looked up by its identity.
    async fn status(&self, prepared: &Prepared) -> Result<LegProgress>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_json_shape() {
        let p = LegProgress::Failed { reason: "INVALID_AMOUNT".into(), retryable: false };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["state"], "failed");
        assert_eq!(serde_json::from_value::<LegProgress>(v).unwrap(), p);
    }

    #[test]
    fn trait_is_object_safe() {
        fn take(_: Option<std::sync::Arc<dyn SettlementLayer>>) {}
        take(None);
    }
}
