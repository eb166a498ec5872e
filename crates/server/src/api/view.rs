//! What the API shows of stored routes and events, and the parsing of path parameters.

use serde_json::{json, Value};
use starkroute_layer::Prepared;
use starkroute_store::{Event, LegRecord, RouteId, RouteRecord};

use super::error::ApiError;

/// A route id from a path, or 422 naming `id`.
pub(crate) fn route_id(s: &str) -> Result<RouteId, ApiError> {
    s.parse().map_err(|_| ApiError::invalid("id", format!("{s:?} is not a route id (a ULID)")))
}

/// A route as the API shows it: its plan, its legs' progress with their live ETAs and explorer
/// links, its outcome.
pub(crate) fn route(s: &super::Inner, rec: &RouteRecord) -> Value {
    let live = s.executor.eta(rec);
    let legs: Vec<Value> = rec
        .legs
        .iter()
        .zip(&rec.route.legs)
        .enumerate()
        .map(|(i, (l, plan))| {
            let mut v = leg(l, plan);
            v["layer"] = json!(l.kind.layer());
            v["live_eta"] = json!(live.legs.get(i).copied().flatten());
            v["explorer_url"] =
                json!(l.submission.as_deref().and_then(|h| s.explorers.link(l.kind.layer(), h)));
            v
        })
        .collect();
    json!({
        "live_eta": live.route,
        "id": rec.id,
        "status": rec.status,
        "summary": rec.route.summary,
        "destination": rec.route.destination,
        "total_fee_wei": rec.route.total_fee_wei,
        "eta": rec.route.eta,
        "needs_recipient_action": rec.route.needs_recipient_action,
        "assumptions": rec.route.assumptions,
        "legs": legs,
        "outcome": rec.outcome,
        "last_event_seq": rec.last_event_seq,
        "created_at": rec.created_at.as_millis(),
        "updated_at": rec.updated_at.as_millis(),
    })
}

fn leg(l: &LegRecord, plan: &starkroute_types::Leg) -> Value {
    // A paused leg shows exactly what to sign; the payload itself stays inside the router.
    let signature_request = l
        .prepared
        .as_ref()
        .and_then(|p| serde_json::from_value::<Prepared>(p.clone()).ok())
        .and_then(|p| p.needs_signature);
    json!({
        "index": l.index,
        "kind": l.kind,
        "status": l.status,
        "description": plan.description,
        "from": plan.from,
        "to": plan.to,
        "signer": plan.signer,
        "fees": plan.fees,
        "eta": plan.eta,
        "submission": l.submission,
        "attempts": l.attempts,
        "last_error": l.last_error,
        "next_attempt_at": l.next_attempt_at.map(|t| t.as_millis()),
        "signature_request": signature_request,
        "updated_at": l.updated_at.as_millis(),
    })
}

/// An event as the API shows it (the SSE `data:`).
pub(crate) fn event(e: &Event) -> Value {
    json!({
        "route": e.route,
        "seq": e.seq,
        "type": e.kind,
        "data": e.data,
        "at": e.at.as_millis(),
    })
}
