//! Webhooks: the delivery worker that drains the store's outbox ([`worker`]), the signature
//! scheme ([`sign`]) and the check of where a webhook may be sent ([`target`]).
//!
//! The worker depends only on the store's [`WebhookStore`](starkroute_store::WebhookStore) port:
//! it runs in `starkroute serve` beside the executor, and any number of instances may share a
//! PostgreSQL store (each delivery is leased by one at a time).

pub mod sign;
pub mod target;
pub mod worker;

use serde_json::{json, Value};
use starkroute_store::Event;

pub use sign::{event_id, EVENT_ID_HEADER, SIGNATURE_HEADER};
pub use worker::{WebhookMetrics, WebhookWorker};

/// The event kinds an endpoint may subscribe to (or `*` for all of them): what the store and the
/// executor append to a route's log.
pub const EVENT_KINDS: &[&str] = &[
    "route_created",
    starkroute_store::ORDER_EVENT,
    "leg_prepared",
    "leg_awaiting_signature",
    "leg_submitted",
    "leg_accepted_on_l2",
    "leg_final",
    "leg_waiting",
    "leg_retry",
    "leg_reprepare",
    "leg_failed",
    "leg_cancelled",
    "route_awaiting_signature",
    "signature_required",
    "claim_available",
    "eta_changed",
    "recovery_started",
    "recovery_required",
    "route_stuck",
    "route_completed",
    "route_failed",
    "route_cancelled",
    "escape_started",
];

/// A route event as webhooks and `GET /v1/events` carry it: its id (the de-duplication key), its
/// type, the route, its sequence number in the route, when it was appended (ms since the epoch)
/// and its data.
pub fn payload(event: &Event) -> Value {
    json!({
        "id": event_id(&event.route, event.seq),
        "type": event.kind,
        "route": event.route,
        "seq": event.seq,
        "at": event.at.as_millis(),
        "data": event.data,
    })
}
