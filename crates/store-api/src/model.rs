//! The values the store keeps and the changes it applies.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use starkroute_types::{LegKind, LegStatus, Route, RouteStatus};

use crate::{Result, RouteId, RouteOrder, StoreError, TenantId, Timestamp, ORDER_EVENT};

/// Checks a short identifier: 1 to `max` printable ASCII characters without spaces.
fn check_ident(what: &str, s: &str, max: usize) -> Result<()> {
    if s.is_empty() || s.len() > max || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(StoreError::Invalid(format!(
            "{what} must be 1 to {max} printable ASCII characters without spaces, got {s:?}"
        )));
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates and wraps an identifier (1 to
            #[doc = stringify!($max)]
            /// printable ASCII characters, no spaces).
            pub fn new(s: impl Into<String>) -> Result<Self> {
                let s = s.into();
                check_ident($what, &s, $max)?;
                Ok(Self(s))
            }

            /// The identifier as a string.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = StoreError;
            fn try_from(s: String) -> Result<Self> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl FromStr for $name {
            type Err = StoreError;
            fn from_str(s: &str) -> Result<Self> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// The router instance holding a route's lease. Must be unique per running instance (e.g. a
    /// host name plus a random suffix), or two instances would both believe they hold a lease.
    LeaseOwner,
    "lease owner",
    128
);

/// An idempotency key with the fingerprint (a hash of the request body) of the request that used it.
///
/// Creating a route again with the same key and fingerprint returns the first route; the same key
/// with another fingerprint is refused with [`StoreError::IdempotencyConflict`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey {
    key: String,
    fingerprint: String,
}

impl IdempotencyKey {
    /// A key (1 to 255 printable ASCII characters) and the request's fingerprint (1 to 255
    /// characters, e.g. the hex SHA-256 of the canonical request body).
    pub fn new(key: impl Into<String>, fingerprint: impl Into<String>) -> Result<Self> {
        let (key, fingerprint) = (key.into(), fingerprint.into());
        check_ident("idempotency key", &key, 255)?;
        check_ident("request fingerprint", &fingerprint, 255)?;
        Ok(Self { key, fingerprint })
    }

    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The request fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }
}

/// Who holds a route and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The instance driving the route.
    pub owner: LeaseOwner,
    /// When the lease lapses unless renewed; from then on another instance may take the route.
    pub expires_at: Timestamp,
}

/// A stored leg.
#[derive(Debug, Clone, PartialEq)]
pub struct LegRecord {
    /// Position in the route, from 0.
    pub index: u16,
    /// What the leg does.
    pub kind: LegKind,
    /// Where it is.
    pub status: LegStatus,
    /// The exact prepared payload (signed or to be signed, with its hash/nonce), written before the
    /// leg is sent. Opaque to the store; never cleared once written.
    pub prepared: Option<Value>,
    /// The layer's id/hash of the submission, once sent.
    pub submission: Option<String>,
    /// Send attempts so far.
    pub attempts: u32,
    /// When the leg should next be worked on (backoff, or the next status poll).
    pub next_attempt_at: Option<Timestamp>,
    /// The last error met, for operators and the API.
    pub last_error: Option<String>,
    /// When the leg last changed.
    pub updated_at: Timestamp,
}

/// A stored route with its legs.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteRecord {
    /// The id.
    pub id: RouteId,
    /// The tenant it belongs to.
    pub tenant: TenantId,
    /// Overall status.
    pub status: RouteStatus,
    /// The plan as created.
    pub route: Route,
    /// What the route moves (asset and amount), stored with it at creation. `None` only for a
    /// route created before the store kept it and whose order was never recorded (such a route
    /// cannot be driven: its legs' intents need the asset and amount).
    pub order: Option<RouteOrder>,
    /// The legs, by index.
    pub legs: Vec<LegRecord>,
    /// For a terminal route: where the asset is and the recovery path (opaque to the store).
    pub outcome: Option<Value>,
    /// Bumped by every transition: the optimistic-concurrency token of [`Fence::Version`].
    pub version: u64,
    /// The sequence number of the route's last event.
    pub last_event_seq: u64,
    /// The route is due for work (leasable) from then on.
    pub wake_at: Timestamp,
    /// The current lease, if any (possibly already expired).
    pub lease: Option<Lease>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last transition time.
    pub updated_at: Timestamp,
}

impl RouteRecord {
    /// The first leg that is not terminal, i.e. the one to work on next.
    pub fn next_leg(&self) -> Option<&LegRecord> {
        self.legs.iter().find(|l| !l.status.is_terminal())
    }

    /// The [`ORDER_EVENT`] that [`create_route`](crate::RouteStore::create_route) appended to the
    /// route's log (sequence number 2, at creation), for publishing it to subscribers without
    /// reading the log back. `None` for a route without an order.
    pub fn order_event(&self) -> Option<Event> {
        let order = self.order.as_ref()?;
        Some(Event {
            route: self.id,
            seq: RouteOrder::EVENT_SEQ,
            kind: ORDER_EVENT.to_owned(),
            data: order.to_value(),
            at: self.created_at,
        })
    }
}

/// An event to append to a route's log.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// The event type, e.g. `leg_submitted` (the SSE `event:` field).
    pub kind: String,
    /// Its payload.
    pub data: Value,
}

impl NewEvent {
    /// An event of a type with a payload.
    pub fn new(kind: impl Into<String>, data: Value) -> Self {
        Self { kind: kind.into(), data }
    }
}

/// A stored event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The route.
    pub route: RouteId,
    /// Per-route sequence number: 1 for `route_created`, then gap-free (the SSE `id:` field).
    pub seq: u64,
    /// The event type.
    pub kind: String,
    /// Its payload.
    pub data: Value,
    /// When it was appended.
    pub at: Timestamp,
}

/// What makes a write safe against concurrent writers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fence {
    /// The executor's writes: applied only while this owner holds an unexpired lease on the route;
    /// otherwise [`StoreError::LeaseLost`].
    Lease(LeaseOwner),
    /// Writes from outside the executor (the API cancelling, a user's signature): applied only if
    /// the route's version is still this one ([`StoreError::Conflict`] otherwise) and no instance
    /// holds a live lease on it ([`StoreError::Leased`] otherwise), so they never race a step in
    /// flight.
    Version(u64),
}

/// Changes to a leg's fields besides its status. `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LegPatch {
    /// Sets the prepared payload (it can be replaced, never cleared).
    pub prepared: Option<Value>,
    /// Sets the submission id/hash.
    pub submission: Option<String>,
    /// Sets the attempt count.
    pub attempts: Option<u32>,
    /// Sets (or clears) when to work on the leg next. Also moves the route's wake-up time: to
    /// that instant, or to the transition's `now` when cleared.
    pub next_attempt_at: Option<Option<Timestamp>>,
    /// Sets (or clears) the last error.
    pub last_error: Option<Option<String>>,
}

/// A compare-and-set on one leg.
#[derive(Debug, Clone, PartialEq)]
pub struct LegChange {
    /// Which leg.
    pub index: u16,
    /// The status the leg must have, or the change is refused with [`StoreError::Conflict`].
    pub from: LegStatus,
    /// The new status (may equal `from` to patch fields only).
    pub to: LegStatus,
    /// Other fields to change.
    pub patch: LegPatch,
}

/// A compare-and-set on a route's status.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteChange {
    /// The status the route must have, or the change is refused with [`StoreError::Conflict`].
    pub from: RouteStatus,
    /// The new status.
    pub to: RouteStatus,
    /// Sets the outcome (where the asset is, the recovery path); `None` leaves it.
    pub outcome: Option<Value>,
}

/// One atomic, fenced change to a route: an optional leg change, an optional status change and the
/// events that describe them, all applied or none.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The route.
    pub route: RouteId,
    /// Who may apply it.
    pub fence: Fence,
    /// The leg change, if any.
    pub leg: Option<LegChange>,
    /// The route status change, if any.
    pub status: Option<RouteChange>,
    /// Events appended in order, in the same database transaction.
    pub events: Vec<NewEvent>,
}

/// What an applied transition produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The route.
    pub route: RouteId,
    /// The route's version after the transition.
    pub version: u64,
    /// The events appended, with their sequence numbers (to publish to subscribers).
    pub events: Vec<Event>,
}

/// A page request for [`RouteStore::list_routes`](crate::RouteStore::list_routes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Only routes with this status.
    pub status: Option<RouteStatus>,
    /// The `next` cursor of the previous page; `None` for the first page.
    pub cursor: Option<RouteId>,
    /// Page size, 1 to [`ListQuery::MAX_LIMIT`].
    pub limit: u32,
}

impl ListQuery {
    /// The largest page.
    pub const MAX_LIMIT: u32 = 500;

    /// The first page of up to `limit` routes, any status.
    pub fn first(limit: u32) -> Self {
        Self { status: None, cursor: None, limit }
    }
}

/// A page of routes, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The routes.
    pub routes: Vec<RouteRecord>,
    /// The cursor of the next page, `None` on the last one.
    pub next: Option<RouteId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_validate() {
        assert!(LeaseOwner::new("me").is_ok());
        assert!(LeaseOwner::new("").is_err());
        assert!(LeaseOwner::new("x".repeat(129)).is_err());
        assert!(IdempotencyKey::new("k", "").is_err());
        assert!(IdempotencyKey::new("k", "f").is_ok());
    }
}
