//! What the API shows of stored routes and events, and the parsing of path parameters. The view
//! types are what the handlers serialise and what the OpenAPI document describes (`ToSchema`).

use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::Value;
use starkroute_executor::{Eta, EtaSource};
use starkroute_layer::Prepared;
use starkroute_store::{Event, LegRecord, RouteId, RouteRecord, TenantId};
use starkroute_types::{
    EtaRange, FeeItem, Layer, LegKind, LegStatus, Party, Position, RouteStatus, Wei,
};
use utoipa::ToSchema;

use super::error::ApiError;

/// A route id from a path, or 422 naming `id`.
pub(crate) fn route_id(s: &str) -> Result<RouteId, ApiError> {
    s.parse().map_err(|_| ApiError::invalid("id", format!("{s:?} is not a route id (a ULID)")))
}

/// The caller's tenant (401 without a known key), then the route id of the path (`{id}`).
pub(crate) fn tenant_route(
    s: &super::Inner,
    headers: &HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> Result<(TenantId, RouteId), ApiError> {
    let tenant = s.tenants.authenticate(headers)?;
    let Path(id) = id.map_err(|e| super::body::path_error(&e))?;
    Ok((tenant, route_id(&id)?))
}

/// A route as the API shows it: its plan, its legs' progress with their live ETAs and explorer
/// links, its outcome.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Route)]
pub(crate) struct RouteView {
    id: RouteId,
    status: RouteStatus,
    /// A short summary of the path.
    summary: String,
    /// Where the asset ends.
    destination: Position,
    /// The sum of the legs' fees.
    total_fee_wei: Wei,
    /// The sum of the legs' ETAs.
    eta: EtaRange,
    /// Whether the recipient must act (register, deploy an account).
    needs_recipient_action: bool,
    /// Facts the plan assumed because nobody knew them.
    assumptions: Vec<String>,
    legs: Vec<LegView>,
    /// For a terminal route: where the asset is and how to recover it.
    #[schema(value_type = Option<Object>)]
    outcome: Option<Value>,
    last_event_seq: u64,
    /// Milliseconds since the epoch.
    created_at: i64,
    /// Milliseconds since the epoch.
    updated_at: i64,
    /// When the route is expected to complete, re-estimated as it moves (null once failed or
    /// cancelled).
    live_eta: Option<LiveEta>,
    /// Only in the 201 answer of `POST /v1/routes`: the read-only token of the route's tracking
    /// page, shown once (`POST /v1/routes/{id}/view-token` makes a new one).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^vt_[0-9a-f]{64}$")]
    pub(crate) view_token: Option<String>,
    /// Only with `view_token`: the tracking page's path, `/track/{id}?t=…`, relative to the
    /// API's base URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) track_url: Option<String>,
}

/// An expected completion, re-estimated as the route moves from what legs of the same kind took
/// on their layers (`observed`), or from the static latency model until one was seen (`model`);
/// `done` once final.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LiveEta {
    /// Milliseconds since the epoch (the server's clock).
    expected_at: i64,
    /// Seconds that remain, expected.
    remaining_secs: u64,
    /// Best and worst case of what remains.
    remaining: EtaRange,
    source: LiveEtaSource,
}

/// Where an estimate comes from.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LiveEtaSource {
    /// The static latency model only (no leg of this kind observed yet).
    Model,
    /// Legs of this kind observed on their layer.
    Observed,
    /// Final, failed or cancelled: nothing remains.
    Done,
}

impl From<Eta> for LiveEta {
    fn from(e: Eta) -> Self {
        Self {
            expected_at: e.expected_at.as_millis(),
            remaining_secs: e.remaining_secs,
            remaining: e.remaining,
            source: match e.source {
                EtaSource::Model => LiveEtaSource::Model,
                EtaSource::Observed => LiveEtaSource::Observed,
                EtaSource::Done => LiveEtaSource::Done,
            },
        }
    }
}

/// A leg of a route, with its progress.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Leg)]
pub(crate) struct LegView {
    #[schema(maximum = 65535)]
    index: u16,
    kind: LegKind,
    status: LegStatus,
    description: String,
    from: Position,
    to: Position,
    signer: Party,
    fees: Vec<FeeItem>,
    eta: EtaRange,
    /// The layer's id of what was sent (a transaction hash, a StarkEx tx id).
    submission: Option<String>,
    attempts: u32,
    last_error: Option<String>,
    /// Milliseconds since the epoch of the next retry, while one is scheduled.
    next_attempt_at: Option<i64>,
    /// What to sign, while the leg awaits a signature (`scheme`, `signer`, `hash`).
    #[schema(value_type = Option<Object>)]
    signature_request: Option<Value>,
    /// Milliseconds since the epoch.
    updated_at: i64,
    layer: Layer,
    /// When this leg is expected to be final (null for a failed or cancelled leg).
    live_eta: Option<LiveEta>,
    /// The leg's transaction on its layer's block explorer (`[network.explorers]`), once it has
    /// a submission; null without a configured explorer.
    explorer_url: Option<String>,
}

/// A page of the tenant's routes.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = RoutePage)]
pub(crate) struct RoutePageView {
    pub(crate) routes: Vec<RouteView>,
    /// The cursor of the next page, if any.
    pub(crate) next: Option<RouteId>,
}

/// A route as the API shows it, with its live ETAs and its legs' explorer links.
pub(crate) fn route(s: &super::Inner, rec: &RouteRecord) -> RouteView {
    let r = &rec.route;
    let live = s.executor.eta(rec);
    let legs = rec
        .legs
        .iter()
        .zip(&r.legs)
        .enumerate()
        .map(|(i, (l, plan))| LegView {
            live_eta: live.legs.get(i).copied().flatten().map(LiveEta::from),
            explorer_url: l.submission.as_deref().and_then(|h| s.explorers.link(l.kind.layer(), h)),
            ..leg(l, plan)
        })
        .collect();
    RouteView {
        id: rec.id,
        status: rec.status,
        summary: r.summary.clone(),
        destination: r.destination,
        total_fee_wei: r.total_fee_wei,
        eta: r.eta,
        needs_recipient_action: r.needs_recipient_action,
        assumptions: r.assumptions.clone(),
        legs,
        outcome: rec.outcome.clone(),
        last_event_seq: rec.last_event_seq,
        created_at: rec.created_at.as_millis(),
        updated_at: rec.updated_at.as_millis(),
        live_eta: live.route.map(LiveEta::from),
        view_token: None,
        track_url: None,
    }
}

fn leg(l: &LegRecord, plan: &starkroute_types::Leg) -> LegView {
    // A paused leg shows exactly what to sign; the payload itself stays inside the router.
    let signature_request = l
        .prepared
        .as_ref()
        .and_then(|p| serde_json::from_value::<Prepared>(p.clone()).ok())
        .and_then(|p| p.needs_signature)
        .and_then(|r| serde_json::to_value(r).ok());
    LegView {
        index: l.index,
        kind: l.kind,
        status: l.status,
        description: plan.description.clone(),
        from: plan.from,
        to: plan.to,
        signer: plan.signer,
        fees: plan.fees.clone(),
        eta: plan.eta,
        submission: l.submission.clone(),
        attempts: l.attempts,
        last_error: l.last_error.clone(),
        next_attempt_at: l.next_attempt_at.map(|t| t.as_millis()),
        signature_request,
        updated_at: l.updated_at.as_millis(),
        layer: l.kind.layer(),
        live_eta: None,
        explorer_url: None,
    }
}

/// A route event (the SSE `data:`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Event)]
pub(crate) struct EventView<'a> {
    route: RouteId,
    #[schema(minimum = 1)]
    seq: u64,
    /// The event's type, e.g. `leg_submitted`.
    #[serde(rename = "type")]
    kind: &'a str,
    /// The event's details (by type).
    #[schema(value_type = Object)]
    data: &'a Value,
    /// Milliseconds since the epoch.
    at: i64,
}

/// An event as the API shows it (the SSE `data:`).
pub(crate) fn event(e: &Event) -> EventView<'_> {
    EventView { route: e.route, seq: e.seq, kind: &e.kind, data: &e.data, at: e.at.as_millis() }
}
