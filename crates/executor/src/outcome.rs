//! What a terminal route tells its user: where the asset is and how to get it back.
//!
//! A failed route is a set of instructions, not a dead end: the outcome names the layer, holder
//! and amount of the asset now, and the recovery path from there.

use serde::{Deserialize, Serialize};
use starkroute_types::{Amount, Asset, Holding, Layer, LegKind, Position};

use crate::RouteOrder;

/// How to recover an asset from where a failed route left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recovery {
    /// The asset is the holder's to spend where it is: nothing to recover (plan a new route
    /// from there if it should still move).
    None,
    /// Credited on L1 but not yet claimed: claim it on L1 (StarkEx `withdraw`, StarkGate
    /// `withdraw`, NFT bridge `withdrawTokens`); anyone may send the claim.
    ClaimOnL1,
    /// Sitting in a StarkEx pending deposit the operator did not pick up: `depositCancel`, then
    /// `depositReclaim` once the cancellation delay has passed.
    ReclaimDeposit,
    /// On StarkEx: ask the operator for a withdrawal; if it does not serve it in time,
    /// `fullWithdrawalRequest` → `freezeRequest` → `escape` with a Merkle proof.
    Escape,
}

impl Recovery {
    /// What to do, in words.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::None => "the asset is spendable by its holder where it is; plan a new route from there",
            Self::ClaimOnL1 => "claim it on L1 (StarkEx withdraw, StarkGate withdraw or NFT bridge withdrawTokens); anyone may send the claim",
            Self::ReclaimDeposit => "cancel the pending StarkEx deposit (depositCancel), then reclaim it (depositReclaim) after the cancellation delay",
            Self::Escape => "request a StarkEx withdrawal; if the operator does not serve it in time: fullWithdrawalRequest, then freezeRequest, then escape with a Merkle proof",
        }
    }
}

/// The recovery path for an asset at `at`, after a leg of kind `failed` failed; `landed` says
/// whether the failed leg's payload was accepted by its layer before it failed.
pub fn recovery(at: &Position, failed: LegKind, landed: bool) -> Recovery {
    if at.holding == Holding::Claimable {
        return Recovery::ClaimOnL1;
    }
    match (failed, at.layer) {
        // A deposit that landed on L1 but was not picked up sits in the StarkEx contract.
        (LegKind::L1DepositToStarkEx, _) if landed => Recovery::ReclaimDeposit,
        (_, Layer::StarkEx) => Recovery::Escape,
        _ => Recovery::None,
    }
}

/// Where the asset is now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetLocation {
    /// The layer.
    pub layer: Layer,
    /// The position (holder, and whether it still needs a claim).
    pub position: Position,
    /// The asset; `None` only for a route whose order was never recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<Asset>,
    /// The amount, in base units; `None` as for `asset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
}

impl AssetLocation {
    /// The asset of `order` at `position`.
    pub fn new(position: Position, order: Option<&RouteOrder>) -> Self {
        Self {
            layer: position.layer,
            position,
            asset: order.map(|o| o.asset.clone()),
            amount: order.map(|o| o.amount),
        }
    }
}

/// A terminal route's outcome, stored with it (`RouteRecord::outcome`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// `completed`, `failed` or `cancelled`.
    pub result: String,
    /// Where the asset is now.
    pub asset_at: AssetLocation,
    /// The leg that failed, for a failed route.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_leg: Option<u16>,
    /// Its kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_kind: Option<LegKind>,
    /// Why it failed or was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The recovery path.
    pub recovery: Recovery,
    /// The recovery path in words.
    pub instructions: String,
}

impl Outcome {
    /// A completed route: the asset is at its destination.
    pub fn completed(destination: Position, order: Option<&RouteOrder>) -> Self {
        Self {
            result: "completed".into(),
            asset_at: AssetLocation::new(destination, order),
            failed_leg: None,
            failed_kind: None,
            reason: None,
            recovery: Recovery::None,
            instructions: "the asset is at its destination".into(),
        }
    }

    /// A failed route: leg `leg` of kind `kind` failed with the asset at `at` (the leg's `from`,
    /// since a failed leg did not move it); `landed` as for [`recovery`].
    pub fn failed(
        leg: u16,
        kind: LegKind,
        reason: impl Into<String>,
        at: Position,
        landed: bool,
        order: Option<&RouteOrder>,
    ) -> Self {
        let recovery = recovery(&at, kind, landed);
        Self {
            result: "failed".into(),
            asset_at: AssetLocation::new(at, order),
            failed_leg: Some(leg),
            failed_kind: Some(kind),
            reason: Some(reason.into()),
            recovery,
            instructions: recovery.describe().into(),
        }
    }

    /// A cancelled route: nothing irreversible was sent, the asset is where it started.
    pub fn cancelled(at: Position, order: Option<&RouteOrder>) -> Self {
        Self {
            result: "cancelled".into(),
            asset_at: AssetLocation::new(at, order),
            failed_leg: None,
            failed_kind: None,
            reason: Some("cancelled before any irreversible leg was sent".into()),
            recovery: Recovery::None,
            instructions: Recovery::None.describe().into(),
        }
    }
}
