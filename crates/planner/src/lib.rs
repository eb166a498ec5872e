//! The route planner: a pure function from a request and a topology to ranked routes and the
//! paths it rejected, each with its reason.
//!
//! The search walks a small graph whose nodes are (layer, holder) — the holder being the sender
//! or the recipient — and whose edges are leg kinds (a withdrawal is two legs: the request and the
//! L1 claim). Every edge checks the rules that apply to it (is the asset representable there, does
//! the bridge carry that kind of asset, does a policy forbid it, does the account exist and is it
//! ready) and either extends the path or records a rejection naming the path and the reason.
//! Nothing is dropped silently.

mod request;
mod search;
mod topology;

pub use request::{Accounts, AssetRef, Objective, QuoteRequest};
pub use search::{eta_for, fees_for, gas_call};
pub use topology::{
    AccountReadiness, CostModel, GasTable, LatencyModel, LivePrices, NftBridgePolicy, PriceSource,
    StarkExPolicy, StarkGatePolicy, Topology,
};

use serde::{Deserialize, Serialize};
use starkroute_types::{Amount, Asset, LegKind, Route};

/// Why a request cannot be planned at all (as opposed to one path being rejected).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The request names a token the topology does not know.
    #[error("asset.token: unknown token {0:?}")]
    UnknownToken(String),
    /// A fungible asset needs an amount; an NFT needs a token id and no amount.
    #[error("{field}: {reason}")]
    InvalidRequest {
        /// The offending field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The layer is not enabled in this topology.
    #[error("{field}: layer {layer} is not enabled")]
    LayerDisabled {
        /// `from` or `to`.
        field: &'static str,
        /// The layer.
        layer: starkroute_types::Layer,
    },
}

/// Convenience alias.
pub type Result<T, E = PlanError> = std::result::Result<T, E>;

/// A machine-readable reason a path was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RejectionCode {
    /// The layer is disabled in the topology.
    LayerDisabled,
    /// The asset has no representation on the layer.
    AssetNotOnLayer,
    /// The bridge does not carry this class of asset.
    BridgeUnsupportedAsset,
    /// The bridge is disabled.
    BridgeDisabled,
    /// The NFT bridge does not accept this collection.
    CollectionNotWhitelisted,
    /// A StarkEx deployment policy forbids it.
    Policy,
    /// A party has no account on the layer.
    NoAccount,
    /// A party's account is known not to be ready and cannot be made ready by the route.
    AccountNotReady,
    /// The amount cannot be expressed in the layer's units.
    Amount,
}

/// A path the planner did not take, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rejection {
    /// The path up to and including the refused step, e.g.
    /// `starknet:sender → l1:sender → starkex:recipient (l1_deposit_to_starkex)`.
    pub path: String,
    /// The leg that could not be taken, when one was tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leg: Option<LegKind>,
    /// Machine-readable reason.
    pub code: RejectionCode,
    /// Human-readable reason.
    pub reason: String,
}

/// The planner's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plans {
    /// The asset as resolved from the topology.
    pub asset: Asset,
    /// The amount in base units (1 for an NFT).
    pub amount: Amount,
    /// The ranking objective used.
    pub objective: Objective,
    /// Alternatives, best first.
    pub routes: Vec<Route>,
    /// Paths not taken, with reasons.
    pub rejected: Vec<Rejection>,
}

/// Plans a request: ranked alternatives plus every rejected path with its reason.
///
/// Pure: no IO, no clock, deterministic for the same inputs.
pub fn plan(request: &QuoteRequest, topology: &Topology, costs: &CostModel) -> Result<Plans> {
    search::plan(request, topology, costs)
}
