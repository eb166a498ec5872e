//! Webhook endpoints and their durable outbox: the port ([`WebhookStore`]) and its values.
//!
//! There is no "enqueue" call: when a backend appends a route event (in
//! [`RouteStore::create_route`](crate::RouteStore::create_route) or any applied
//! [`Transition`](crate::Transition)) it writes one delivery row for every endpoint of the route's
//! tenant subscribed to the event's kind, **in the same database transaction**. A crash therefore
//! never loses a webhook (the event and its deliveries commit together) nor invents one (a
//! rolled-back event leaves no delivery). Delivery workers lease due deliveries as executors lease
//! routes, so with several workers each delivery is sent by one of them at a time.

use std::{fmt, str::FromStr};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Event, LeaseOwner, Result, RouteId, StoreError, TenantId, Timestamp};

/// The wildcard subscription: every event kind.
pub const ALL_EVENTS: &str = "*";

/// A webhook endpoint's id: `wh_` and a ULID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WebhookId(RouteId);

impl WebhookId {
    /// The prefix of every id.
    pub const PREFIX: &'static str = "wh_";

    /// A fresh id.
    #[allow(clippy::new_without_default)] // a default id would be a random one
    pub fn new() -> Self {
        Self(RouteId::new())
    }
}

impl fmt::Display for WebhookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", Self::PREFIX, self.0)
    }
}

impl FromStr for WebhookId {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self> {
        s.strip_prefix(Self::PREFIX)
            .and_then(|rest| rest.parse().ok())
            .map(Self)
            .ok_or_else(|| StoreError::Invalid(format!("webhook id {s:?} is not wh_<ULID>")))
    }
}

impl TryFrom<String> for WebhookId {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<WebhookId> for String {
    fn from(v: WebhookId) -> String {
        v.to_string()
    }
}

/// A signing secret. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// Wraps a secret (16 to 128 printable ASCII characters).
    pub fn new(s: impl Into<String>) -> Result<Self> {
        let s = s.into();
        if s.len() < 16 || s.len() > 128 || !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(StoreError::Invalid(
                "a webhook secret must be 16 to 128 printable ASCII characters".into(),
            ));
        }
        Ok(Self(s))
    }

    /// The secret itself (to sign with, or to show its owner once).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<redacted>)")
    }
}

/// Checks an event-kind subscription: [`ALL_EVENTS`] or 1 to 64 of `[a-z0-9_]`.
pub fn check_event_kind(kind: &str) -> Result<()> {
    let ok = kind == ALL_EVENTS
        || (!kind.is_empty()
            && kind.len() <= 64
            && kind.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "event kind {kind:?}: expected \"*\" or 1 to 64 of a-z, 0-9 and _"
        )))
    }
}

/// An endpoint to register. Its `Debug` shows neither the URL nor the secret.
#[derive(Clone)]
pub struct NewWebhook {
    /// Where deliveries are POSTed (validated by the caller: scheme, host, SSRF policy).
    pub url: String,
    /// The event kinds it receives (deduplicated, non-empty; [`ALL_EVENTS`] for all).
    pub events: Vec<String>,
    /// A note for people.
    pub description: String,
    /// Its signing secret.
    pub secret: WebhookSecret,
}

impl fmt::Debug for NewWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewWebhook")
            .field("url", &"<redacted>")
            .field("events", &self.events)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

/// A registered endpoint. Its `Debug` shows neither the URL (a path or query may carry the
/// receiver's token) nor the secrets.
#[derive(Clone, PartialEq)]
pub struct Webhook {
    /// The id.
    pub id: WebhookId,
    /// Its tenant: only this tenant's events are delivered to it.
    pub tenant: TenantId,
    /// Where deliveries are POSTed.
    pub url: String,
    /// The event kinds it receives.
    pub events: Vec<String>,
    /// A note for people.
    pub description: String,
    /// The current signing secret.
    pub secret: WebhookSecret,
    /// The secret before the last rotation and until when it still signs.
    pub previous_secret: Option<(WebhookSecret, Timestamp)>,
    /// Registration time.
    pub created_at: Timestamp,
    /// Last change (rotation).
    pub updated_at: Timestamp,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .field("url", &"<redacted>")
            .field("events", &self.events)
            .field("secret", &self.secret)
            .field("previous_secret", &self.previous_secret)
            .finish_non_exhaustive()
    }
}

impl Webhook {
    /// The secrets a delivery is signed with at `now`: the current one, and the previous one while
    /// its grace period lasts (a receiver holding either verifies).
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<&WebhookSecret> {
        let mut out = vec![&self.secret];
        if let Some((old, until)) = &self.previous_secret {
            if *until > now {
                out.push(old);
            }
        }
        out
    }
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// To be sent (first time or retry), at `next_attempt_at`.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Given up: a refusal (4xx other than 408/429) or the retry horizon passed.
    Failed,
}

impl DeliveryState {
    /// The stored (and JSON) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

impl FromStr for DeliveryState {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| StoreError::Invalid(format!("delivery state {s:?}")))
    }
}

/// One attempt at sending a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// When it was made.
    pub at: Timestamp,
    /// The HTTP status, if the endpoint answered.
    pub status: Option<u16>,
    /// From sending the request to the end of the answer (or the failure), in milliseconds.
    pub latency_ms: u64,
    /// What went wrong (timeout, connection refused, a 5xx…), if anything.
    pub error: Option<String>,
    /// The first bytes of the answer's body (never more than [`Attempt::MAX_RESPONSE`]).
    pub response: Option<String>,
}

impl Attempt {
    /// The most of a response body kept.
    pub const MAX_RESPONSE: usize = 256;
    /// The most of an error message kept.
    pub const MAX_ERROR: usize = 512;
}

/// What to do with a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// It was delivered.
    Delivered,
    /// Try again at that time.
    RetryAt(Timestamp),
    /// Stop trying.
    GiveUp,
}

/// A delivery of one event to one endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// Its number, unique in the store (the `{n}` of the retry endpoint).
    pub id: u64,
    /// The endpoint.
    pub webhook: WebhookId,
    /// The event (its route and sequence number make the event id receivers de-duplicate on).
    pub event: Event,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts so far.
    pub attempts: u32,
    /// When it is (next) due, while pending.
    pub next_attempt_at: Timestamp,
    /// When it was queued (by the event, or by a replay): the retry horizon counts from then.
    pub queued_at: Timestamp,
    /// When the endpoint accepted it.
    pub delivered_at: Option<Timestamp>,
    /// The last attempt, if any.
    pub last_attempt: Option<Attempt>,
}

/// A leased delivery with its endpoint, for a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct LeasedDelivery {
    /// The delivery.
    pub delivery: Delivery,
    /// Its endpoint (URL and secrets).
    pub webhook: Webhook,
}

/// The outbox's depth, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    /// Pending deliveries.
    pub pending: u64,
    /// When the oldest pending delivery was queued.
    pub oldest_pending: Option<Timestamp>,
}

/// An event of the tenant's event log, with its tenant-wide cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorEvent {
    /// Position in the tenant's log: [`WebhookStore::events_after`] with it resumes after it.
    pub cursor: u64,
    /// The event.
    pub event: Event,
}

/// The webhook endpoints and the outbox of their deliveries, beside the routes (the SQL stores
/// implement both [`RouteStore`](crate::RouteStore) and this).
#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// Registers an endpoint for `tenant`. From the commit on, every event appended to one of
    /// the tenant's routes whose kind it subscribes to gets a delivery.
    async fn create_webhook(
        &self,
        tenant: &TenantId,
        new: &NewWebhook,
        now: Timestamp,
    ) -> Result<Webhook>;

    /// Sets the route's view token (the tracking page's read-only `?t=`), kept as its SHA-256
    /// in hex only, replacing any earlier one; `None` revokes it. `false` if the tenant has no
    /// such route (nothing is written).
    async fn set_view_token(
        &self,
        tenant: &TenantId,
        route: &RouteId,
        sha256_hex: Option<&str>,
        now: Timestamp,
    ) -> Result<bool>;

    /// The tenant and the view token's SHA-256 (hex) of a route that has one.
    async fn view_token(&self, route: &RouteId) -> Result<Option<(TenantId, String)>>;

    /// The tenant's endpoints, oldest first.
    async fn list_webhooks(&self, tenant: &TenantId) -> Result<Vec<Webhook>>;

    /// The tenant's endpoint; `None` if there is none or it is another tenant's.
    async fn get_webhook(&self, tenant: &TenantId, id: &WebhookId) -> Result<Option<Webhook>>;

    /// Deletes the tenant's endpoint with its deliveries; `false` if there was none.
    async fn delete_webhook(&self, tenant: &TenantId, id: &WebhookId) -> Result<bool>;

    /// Replaces the signing secret; the old one keeps signing until `grace_until`.
    /// `None` if the tenant has no such endpoint.
    async fn rotate_secret(
        &self,
        tenant: &TenantId,
        id: &WebhookId,
        secret: &WebhookSecret,
        grace_until: Timestamp,
        now: Timestamp,
    ) -> Result<Option<Webhook>>;

    /// Leases up to `limit` due deliveries to `owner` until `now + duration`: pending, due, not
    /// leased (or the lease expired), and the first pending one of their (endpoint, route) — so
    /// a route's events reach an endpoint in order. Two concurrent callers never get the same one.
    async fn lease_deliveries(
        &self,
        owner: &LeaseOwner,
        duration: std::time::Duration,
        limit: u32,
        now: Timestamp,
    ) -> Result<Vec<LeasedDelivery>>;

    /// Records an attempt and what follows from it, and releases the lease; `false` (nothing
    /// written) if `owner` no longer holds the delivery.
    async fn record_attempt(
        &self,
        delivery: u64,
        owner: &LeaseOwner,
        attempt: &Attempt,
        outcome: AttemptOutcome,
    ) -> Result<bool>;

    /// A page of an endpoint's deliveries, newest first, before delivery `before` if given.
    async fn list_deliveries(
        &self,
        tenant: &TenantId,
        webhook: &WebhookId,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<Delivery>>;

    /// The attempts of one of the tenant's deliveries, in order.
    async fn delivery_attempts(&self, tenant: &TenantId, delivery: u64) -> Result<Vec<Attempt>>;

    /// Queues a delivery of the tenant's endpoint again (delivered, given up or pending), due at
    /// `now`, its horizon counted from `now`. `None` if there is no such delivery.
    async fn retry_delivery(
        &self,
        tenant: &TenantId,
        webhook: &WebhookId,
        delivery: u64,
        now: Timestamp,
    ) -> Result<Option<Delivery>>;

    /// The outbox's depth.
    async fn outbox_stats(&self) -> Result<OutboxStats>;

    /// The tenant's events (across its routes) after `cursor` (0: from the start), up to
    /// `limit`, by cursor: each route's in order. An event committed after a call gets a greater
    /// cursor than every event that call returned, so a client that resumes from its last cursor
    /// misses none and sees none twice.
    async fn events_after(
        &self,
        tenant: &TenantId,
        cursor: u64,
        limit: u32,
    ) -> Result<Vec<CursorEvent>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_secrets() {
        let id = WebhookId::new();
        assert_eq!(id.to_string().parse::<WebhookId>().unwrap(), id);
        assert!("01J0000000000000000000000".parse::<WebhookId>().is_err());
        assert!("wh_nope".parse::<WebhookId>().is_err());
        let s = WebhookSecret::new("whsec_0123456789abcdef").unwrap();
        assert!(!format!("{s:?}").contains("0123"));
        assert!(WebhookSecret::new("short").is_err());
        assert!(check_event_kind("*").is_ok());
        assert!(check_event_kind("leg_final").is_ok());
        assert!(check_event_kind("Leg").is_err());
        assert!(check_event_kind("").is_err());
    }

    #[test]
    fn the_previous_secret_signs_during_its_grace_only() {
        let now = Timestamp::from_millis(1_000);
        let w = Webhook {
            id: WebhookId::new(),
            tenant: TenantId::new("acme").unwrap(),
            url: "https://example.com/hook".into(),
            events: vec![ALL_EVENTS.into()],
            description: String::new(),
            secret: WebhookSecret::new("whsec_new_new_new_new").unwrap(),
            previous_secret: Some((
                WebhookSecret::new("whsec_old_old_old_old").unwrap(),
                Timestamp::from_millis(2_000),
            )),
            created_at: now,
            updated_at: now,
        };
        assert_eq!(w.signing_secrets(now).len(), 2);
        let shown = format!("{w:?}");
        assert!(!shown.contains("example.com") && !shown.contains("whsec_"), "{shown}");
        assert_eq!(w.signing_secrets(Timestamp::from_millis(2_000)).len(), 1);
    }
}
