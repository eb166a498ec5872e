//! What the API answers, typed: quotes, routes with their legs, pages, events, outcomes.
//!
//! The planner's and the protocol's own types are reused where the API returns them (a quote is
//! the planner's [`Plans`] plus an id and its lifetime; a leg's plan is made of
//! `starkroute_types` values; a paused leg's request is the layer port's [`SignatureRequest`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use starkroute_layer::{SignatureRequest, SignatureScheme};
use starkroute_planner::Plans;
use starkroute_types::{
    Account, Amount, Asset, EtaRange, FeeItem, Layer, LegKind, LegStatus, Party, Position,
    RouteStatus, Wei,
};

/// `POST /v1/quotes`: ranked routes (legs, fees, ETAs), the paths not taken with their reasons,
/// and the id a route starts from until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// The quote's id (`q_…`), for [`crate::Client::start`].
    pub id: String,
    /// When it was made, in milliseconds since the Unix epoch (the server's clock).
    pub created_at: i64,
    /// Until when it can start a route, in milliseconds since the Unix epoch.
    pub expires_at: i64,
    /// The routes, best first, and the rejected paths.
    #[serde(flatten)]
    pub plans: Plans,
}

/// A route as the API shows it: its plan, its legs' progress, its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteView {
    /// The route's id (a ULID).
    pub id: String,
    /// Its status.
    pub status: RouteStatus,
    /// The plan's summary.
    pub summary: String,
    /// Where the asset ends.
    pub destination: Position,
    /// The plan's total fee.
    pub total_fee_wei: Wei,
    /// The plan's ETA.
    pub eta: EtaRange,
    /// Whether the recipient has to act.
    pub needs_recipient_action: bool,
    /// Facts the plan assumed.
    #[serde(default)]
    pub assumptions: Vec<String>,
    /// The legs, in order.
    pub legs: Vec<LegView>,
    /// Where the asset is and how to recover it, once the route is terminal.
    #[serde(default)]
    pub outcome: Option<Outcome>,
    /// The sequence number of the route's latest event.
    pub last_event_seq: u64,
    /// Created, in milliseconds since the Unix epoch.
    pub created_at: i64,
    /// Last changed, in milliseconds since the Unix epoch.
    pub updated_at: i64,
    /// When the route is expected to complete, re-estimated as it moves (`None` once failed or
    /// cancelled, or from a server without live ETAs).
    #[serde(default)]
    pub live_eta: Option<LiveEta>,
    /// Only in the answer that started the route: the tracking page's read-only token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view_token: Option<Redacted>,
    /// Only with `view_token`: the tracking page's path with its token
    /// (`/track/{id}?t=…`, relative to the API's base URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_url: Option<Redacted>,
}

/// An expected completion: re-estimated from what legs of the same kind took on their layers
/// (`observed`), from the static model until one was seen (`model`), `done` once final.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveEta {
    /// Milliseconds since the Unix epoch (the server's clock).
    pub expected_at: i64,
    /// Seconds left, expected.
    pub remaining_secs: u64,
    /// Seconds left, best and worst case.
    pub remaining: EtaRange,
    /// `model`, `observed` or `done`.
    pub source: String,
}

/// `POST /v1/routes/{id}/view-token`: a route's tracking-page token (`Debug` shows neither it
/// nor the URL carrying it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewToken {
    /// The route.
    pub route: String,
    /// The token (`vt_…`).
    pub view_token: Redacted,
    /// The page's path with the token, relative to the API's base URL.
    pub track_url: Redacted,
}

/// A string that grants access (a view token, or a URL carrying one): `Debug` does not show it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Redacted(String);

impl Redacted {
    /// The value itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Redacted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl RouteView {
    /// Whether the route changes no more.
    pub fn is_terminal(&self) -> bool {
        self.status.is_terminal()
    }

    /// The legs paused on a signature, with what to sign.
    pub fn signature_requests(&self) -> impl Iterator<Item = (&LegView, &SignatureRequest)> {
        self.legs.iter().filter_map(|l| l.signature_request.as_ref().map(|r| (l, r)))
    }

    /// A leg by index.
    pub fn leg(&self, index: u16) -> Option<&LegView> {
        self.legs.iter().find(|l| l.index == index)
    }
}

/// One leg of a route: the plan's leg with its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegView {
    /// Position in the route, from 0.
    pub index: u16,
    /// What it does.
    pub kind: LegKind,
    /// Its progress.
    pub status: LegStatus,
    /// The plan's description.
    pub description: String,
    /// Where the asset is before it.
    pub from: Position,
    /// Where the asset is after it.
    pub to: Position,
    /// Who must authorise it.
    pub signer: Party,
    /// Estimated fees.
    pub fees: Vec<FeeItem>,
    /// Estimated time until it is final.
    pub eta: EtaRange,
    /// Its identity on the layer once submitted.
    #[serde(default)]
    pub submission: Option<String>,
    /// Attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// The last error, while it retries.
    #[serde(default)]
    pub last_error: Option<String>,
    /// When it is tried next, in milliseconds since the Unix epoch.
    #[serde(default)]
    pub next_attempt_at: Option<i64>,
    /// While paused: exactly what to sign, and who must.
    #[serde(default)]
    pub signature_request: Option<SignatureRequest>,
    /// Last changed, in milliseconds since the Unix epoch.
    pub updated_at: i64,
    /// When it is expected to be final, re-estimated as it moves.
    #[serde(default)]
    pub live_eta: Option<LiveEta>,
    /// Its transaction on its layer's block explorer, where one is configured.
    #[serde(default)]
    pub explorer_url: Option<String>,
}

impl LegView {
    /// The layer the leg is submitted to.
    pub fn layer(&self) -> Layer {
        self.kind.layer()
    }
}

/// `GET /v1/routes`: a page, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutePage {
    /// The routes.
    pub routes: Vec<RouteView>,
    /// The cursor of the next page, if there is one.
    #[serde(default)]
    pub next: Option<String>,
}

/// Where a terminal route left the asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetLocation {
    /// The layer.
    pub layer: Layer,
    /// The position (holder, and whether it still needs a claim).
    pub position: Position,
    /// The asset.
    #[serde(default)]
    pub asset: Option<Asset>,
    /// The amount, in base units.
    #[serde(default)]
    pub amount: Option<Amount>,
}

/// A terminal route's outcome: where the asset is, and how to recover it from there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// `completed`, `failed` or `cancelled`.
    pub result: String,
    /// Where the asset is now.
    pub asset_at: AssetLocation,
    /// The leg that failed, for a failed route.
    #[serde(default)]
    pub failed_leg: Option<u16>,
    /// Its kind.
    #[serde(default)]
    pub failed_kind: Option<LegKind>,
    /// Why it failed or was cancelled.
    #[serde(default)]
    pub reason: Option<String>,
    /// The recovery path's name (`none`, `claim_on_l1`, `reclaim_deposit`, `escape`).
    pub recovery: String,
    /// The recovery path in words.
    pub instructions: String,
}

/// One event of a route's log (`GET /v1/routes/{id}/events`), in order of `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The route.
    pub route: String,
    /// Its per-route sequence number, from 1, without gaps.
    pub seq: u64,
    /// What happened: `route_created`, `leg_prepared`, `leg_awaiting_signature`,
    /// `signature_accepted`, `leg_submitted`, `leg_accepted_on_l2`, `leg_final`, `leg_retry`,
    /// `leg_failed`, `route_completed`, `route_failed`, `route_cancelled`, … (kinds this SDK
    /// does not know are passed through as they are).
    #[serde(rename = "type")]
    pub kind: String,
    /// The event's details (`leg`, `hash`, `outcome`, …).
    pub data: Value,
    /// When, in milliseconds since the Unix epoch.
    pub at: i64,
}

/// What a `leg_awaiting_signature` event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureAsk {
    /// The leg.
    pub leg: u16,
    /// The request: scheme, signer, hash.
    pub request: SignatureRequest,
    /// The prepared payload the hash belongs to, as the event carries it.
    pub payload: Option<Value>,
}

impl Event {
    /// The leg the event is about, if it is about one.
    pub fn leg(&self) -> Option<u16> {
        self.data.get("leg").and_then(Value::as_u64).and_then(|l| u16::try_from(l).ok())
    }

    /// Whether the route changes no more after this event.
    pub fn is_terminal(&self) -> bool {
        matches!(self.kind.as_str(), "route_completed" | "route_failed" | "route_cancelled")
    }

    /// The outcome a terminal event carries.
    pub fn outcome(&self) -> Option<Outcome> {
        self.data.get("outcome").and_then(|o| serde_json::from_value(o.clone()).ok())
    }

    /// What a `leg_awaiting_signature` event asks to be signed.
    pub fn signature_ask(&self) -> Option<SignatureAsk> {
        if self.kind != "leg_awaiting_signature" {
            return None;
        }
        let d = &self.data;
        let scheme: SignatureScheme = serde_json::from_value(d.get("scheme")?.clone()).ok()?;
        let signer: Account = serde_json::from_value(d.get("signer")?.clone()).ok()?;
        let hash = d.get("sign")?.as_str()?.to_owned();
        Some(SignatureAsk {
            leg: self.leg()?,
            request: SignatureRequest { scheme, signer, hash },
            payload: d.get("payload").cloned(),
        })
    }
}

/// `GET /v1/assets`: the tokens the router knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assets {
    /// Each token as the topology lists it, with its StarkEx `asset_type` where it is listed on
    /// StarkEx (kept as JSON: the listing's fields depend on the token's class).
    pub assets: Vec<Value>,
}

impl Assets {
    /// The token with this symbol.
    pub fn by_symbol(&self, symbol: &str) -> Option<&Value> {
        self.assets.iter().find(|a| a.get("symbol").and_then(Value::as_str) == Some(symbol))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_started_route_shows_its_view_token_to_the_caller_only() {
        let token = format!("vt_{}", "ab".repeat(32));
        let at = serde_json::json!({ "layer": "starknet", "holder": { "layer": "starknet", "id": "0x1" }, "holding": "owned" });
        let eta = serde_json::json!({ "min_secs": 60, "max_secs": 120 });
        let live = serde_json::json!({ "expected_at": 90_000, "remaining_secs": 90, "remaining": eta, "source": "model" });
        let mut v = serde_json::json!({
            "id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "status": "running", "summary": "s",
            "destination": at, "total_fee_wei": "0", "eta": eta, "needs_recipient_action": false,
            "legs": [{ "index": 0, "kind": "starknet_transfer", "status": "submitted",
                       "description": "d", "from": at, "to": at, "signer": "sender", "fees": [],
                       "eta": eta, "submission": "0x1", "updated_at": 0, "live_eta": live,
                       "layer": "starknet",
                       "explorer_url": "https://sepolia.voyager.online/tx/0x1" }],
            "last_event_seq": 3, "created_at": 0, "updated_at": 0, "live_eta": live,
        });
        v["view_token"] = Value::from(token.clone());
        v["track_url"] = Value::from(format!("/track/X?t={token}"));
        let r: RouteView = serde_json::from_value(v).unwrap();
        assert_eq!(r.view_token.as_ref().map(Redacted::expose), Some(token.as_str()));
        assert!(r.track_url.as_ref().unwrap().expose().ends_with(&token));
        let shown = format!("{r:?} {r:#?}");
        assert!(!shown.contains(&token[3..]), "Debug shows no token: {shown}");
        assert_eq!(r.live_eta.as_ref().map(|e| e.remaining_secs), Some(90));
        assert_eq!(
            r.legs[0].explorer_url.as_deref(),
            Some("https://sepolia.voyager.online/tx/0x1")
        );
    }
}
