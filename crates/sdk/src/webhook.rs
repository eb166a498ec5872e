//! Webhooks, on the receiving side and the managing side.
//!
//! A starkroute server POSTs each route event to a registered endpoint, signed:
//! `Starkroute-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` under the
//! endpoint's secret (one `v1=` per valid secret while a rotated-out one is in its grace period),
//! with `Starkroute-Event-Id` the same on every retry and replay of an event. Delivery is at least
//! once: de-duplicate on the event id. [`verify_webhook`] checks a delivery and parses its event.
//!
//! ```
//! use std::time::Duration;
//! use starkroute_sdk::webhook::{verify_webhook, WebhookError};
//!
//! # fn handle(headers: &reqwest::header::HeaderMap, body: &[u8]) -> Result<(), WebhookError> {
//! let event = verify_webhook("whsec_…", headers, body, Duration::from_secs(300))?;
//! // seen(event.id)? → answer 200 and stop; else process, then answer 200.
//! println!("{} {} #{}", event.route, event.kind, event.seq);
//! # Ok(())
//! # }
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use reqwest::header::HeaderMap;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::client::Client;
use crate::error::Result;

/// The signature header.
pub const SIGNATURE_HEADER: &str = "Starkroute-Signature";
/// The event id header (de-duplicate on it).
pub const EVENT_ID_HEADER: &str = "Starkroute-Event-Id";

/// Why a delivery does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// No `Starkroute-Signature` header.
    #[error("no Starkroute-Signature header")]
    MissingSignature,
    /// The header is not `t=<unix>,v1=<hex>[,v1=…]`.
    #[error("malformed Starkroute-Signature header: {0}")]
    Malformed(String),
    /// The timestamp is further from now than the tolerance (a replayed or delayed request).
    #[error("the signature's timestamp is {age_secs} s from now, over the tolerance of {tolerance_secs} s")]
    Stale {
        /// How far the timestamp is from now, in seconds.
        age_secs: u64,
        /// The tolerance, in seconds.
        tolerance_secs: u64,
    },
    /// No signature matches the body under this secret (wrong secret, or a tampered body).
    #[error("no signature matches the body under this secret")]
    Mismatch,
    /// The body verified but is not an event.
    #[error("the body is not a starkroute event: {0}")]
    Body(String),
}

/// A route event, as a webhook delivers it (and `GET /v1/events` lists it).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WebhookEvent {
    /// `evt_<route>_<seq>`: the same for every delivery of this event.
    pub id: String,
    /// The event type (`leg_final`, `route_completed`, …).
    #[serde(rename = "type")]
    pub kind: String,
    /// The route.
    pub route: String,
    /// Its sequence number in the route (1, 2, …; in order per route).
    pub seq: u64,
    /// When it was appended, in milliseconds since the epoch.
    pub at: i64,
    /// Its data.
    pub data: Value,
    /// Its position in the tenant's log (only in `GET /v1/events` answers).
    #[serde(default)]
    pub cursor: Option<String>,
}

/// Verifies a delivery's signature under `secret`, its timestamp within `tolerance` of now, and
/// parses its event. Compare [`WebhookEvent::id`] with the ids already processed: a delivery may
/// come more than once.
pub fn verify_webhook(
    secret: &str,
    headers: &HeaderMap,
    body: &[u8],
    tolerance: Duration,
) -> std::result::Result<WebhookEvent, WebhookError> {
    let header = headers
        .get(SIGNATURE_HEADER)
        .ok_or(WebhookError::MissingSignature)?
        .to_str()
        .map_err(|_| WebhookError::Malformed("not ASCII".into()))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    verify_signature(secret, header, body, tolerance, i64::try_from(now).unwrap_or(i64::MAX))?;
    serde_json::from_slice(body).map_err(|e| WebhookError::Body(e.to_string()))
}

/// [`verify_webhook`]'s check of one header value at `now` (unix seconds).
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    tolerance: Duration,
    now: i64,
) -> std::result::Result<(), WebhookError> {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| WebhookError::Malformed(format!("{part:?} is not key=value")))?;
        match k {
            "t" => {
                t =
                    Some(v.parse::<i64>().map_err(|_| {
                        WebhookError::Malformed(format!("t={v:?} is not a unix time"))
                    })?);
            }
            "v1" => sigs.push(v),
            _ => {} // other schemes, for later versions
        }
    }
    let t = t.ok_or_else(|| WebhookError::Malformed("no t=".into()))?;
    if sigs.is_empty() {
        return Err(WebhookError::Malformed("no v1=".into()));
    }
    let age = now.abs_diff(t);
    if age > tolerance.as_secs() {
        return Err(WebhookError::Stale { age_secs: age, tolerance_secs: tolerance.as_secs() });
    }
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .map_err(|_| WebhookError::Mismatch)?;
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    for sig in sigs {
        let Ok(bytes) = hex::decode(sig) else { continue };
        // Constant-time comparison.
        if mac.clone().verify_slice(&bytes).is_ok() {
            return Ok(());
        }
    }
    Err(WebhookError::Mismatch)
}

/// A registered endpoint.
#[derive(Clone, PartialEq, Deserialize)]
pub struct Webhook {
    /// `wh_…`.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// The event types it receives (`*`: all).
    pub events: Vec<String>,
    /// A note.
    #[serde(default)]
    pub description: String,
    /// The signing secret: only in the answers of [`Client::create_webhook`] and
    /// [`Client::rotate_webhook_secret`]. `Debug` never shows it.
    #[serde(default)]
    pub secret: Option<String>,
    /// Until when the secret before the last rotation still signs (ms since the epoch).
    #[serde(default)]
    pub previous_secret_expires_at: Option<i64>,
    /// Registration time (ms since the epoch).
    pub created_at: i64,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("url", &"<redacted>")
            .field("events", &self.events)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// One delivery of an event to an endpoint.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Delivery {
    /// Its number (for [`Client::retry_webhook_delivery`]).
    pub id: u64,
    /// The event.
    pub event: WebhookEvent,
    /// `pending`, `delivered` or `failed` (given up).
    pub state: String,
    /// Attempts so far.
    pub attempts: u32,
    /// The last attempt: `{at, status, latency_ms, error, response}`.
    #[serde(default)]
    pub last_attempt: Option<Value>,
}

/// A page of the tenant's events.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EventLog {
    /// The events, each route's in order.
    pub events: Vec<WebhookEvent>,
    /// Pass it back as `after` for what comes next.
    pub next_cursor: String,
}

#[derive(Deserialize)]
struct WebhookList {
    webhooks: Vec<Webhook>,
}

#[derive(Deserialize)]
struct DeliveryPage {
    deliveries: Vec<Delivery>,
}

impl Client {
    /// `POST /v1/webhooks`: registers `url` for `events` (`["*"]`: all); the answer carries the
    /// signing secret, shown only this once.
    pub async fn create_webhook(
        &self,
        url: &str,
        events: &[&str],
        description: &str,
    ) -> Result<Webhook> {
        let body = json!({ "url": url, "events": events, "description": description });
        self.call(self.request(Method::POST, &["v1", "webhooks"]).json(&body), "webhook").await
    }

    /// `GET /v1/webhooks`.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>> {
        let list: WebhookList =
            self.call(self.request(Method::GET, &["v1", "webhooks"]), "webhooks").await?;
        Ok(list.webhooks)
    }

    /// `DELETE /v1/webhooks/{id}`.
    pub async fn delete_webhook(&self, id: &str) -> Result<()> {
        self.call_empty(self.request(Method::DELETE, &["v1", "webhooks", id])).await
    }

    /// `POST /v1/webhooks/{id}/rotate-secret`: a new secret; the old one signs on for the
    /// server's grace period.
    pub async fn rotate_webhook_secret(&self, id: &str) -> Result<Webhook> {
        let req =
            self.request(Method::POST, &["v1", "webhooks", id, "rotate-secret"]).json(&json!({}));
        self.call(req, "webhook").await
    }

    /// `GET /v1/webhooks/{id}/deliveries`: newest first.
    pub async fn webhook_deliveries(&self, id: &str, limit: u32) -> Result<Vec<Delivery>> {
        let req = self
            .request(Method::GET, &["v1", "webhooks", id, "deliveries"])
            .query(&[("limit", limit.to_string())]);
        let page: DeliveryPage = self.call(req, "deliveries").await?;
        Ok(page.deliveries)
    }

    /// `POST /v1/webhooks/{id}/deliveries/{n}/retry`: send it again.
    pub async fn retry_webhook_delivery(&self, id: &str, n: u64) -> Result<Delivery> {
        let n = n.to_string();
        let req = self
            .request(Method::POST, &["v1", "webhooks", id, "deliveries", &n, "retry"])
            .json(&json!({}));
        self.call(req, "delivery").await
    }

    /// `GET /v1/events?after=`: the tenant's events after a cursor (`None`: from the start).
    pub async fn events_after(&self, after: Option<&str>, limit: u32) -> Result<EventLog> {
        let mut query = vec![("limit", limit.to_string())];
        if let Some(a) = after {
            query.push(("after", a.to_owned()));
        }
        self.call(self.request(Method::GET, &["v1", "events"]).query(&query), "events").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret_0000";
    const BODY: &[u8] = br#"{"id":"evt_01J_1","type":"route_created","route":"01J","seq":1,"at":1700000000000,"data":{}}"#;

    fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    #[test]
    fn a_good_signature_verifies_and_parses() {
        let now = 1_700_000_000;
        let header = format!("t={now},v1={}", sign(SECRET, now, BODY));
        assert_eq!(
            verify_signature(SECRET, &header, BODY, Duration::from_secs(300), now + 10),
            Ok(())
        );
        // The server's own vector (crates/server/src/webhooks/sign.rs, checked with openssl).
        let v = "t=1700000000,v1=0ba43e4a5c3f146beafe04ec8e97347d0b0f66a84851f0a3d0d40a1afccb5a00";
        assert_eq!(verify_signature(SECRET, v, br#"{"a":1}"#, Duration::from_secs(1), now), Ok(()));

        let mut headers = HeaderMap::new();
        let t =
            i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap();
        headers.insert(
            SIGNATURE_HEADER,
            format!("t={t},v1={}", sign(SECRET, t, BODY)).parse().unwrap(),
        );
        let event = verify_webhook(SECRET, &headers, BODY, Duration::from_secs(300)).unwrap();
        assert_eq!(
            (event.id.as_str(), event.kind.as_str(), event.seq),
            ("evt_01J_1", "route_created", 1)
        );
    }

    #[test]
    fn a_wrong_secret_fails() {
        let now = 1_700_000_000;
        let header = format!("t={now},v1={}", sign(SECRET, now, BODY));
        let r = verify_signature(
            "whsec_another_secret_00",
            &header,
            BODY,
            Duration::from_secs(300),
            now,
        );
        assert_eq!(r, Err(WebhookError::Mismatch));
    }

    #[test]
    fn a_stale_timestamp_fails() {
        let t = 1_700_000_000;
        let header = format!("t={t},v1={}", sign(SECRET, t, BODY));
        let r = verify_signature(SECRET, &header, BODY, Duration::from_secs(300), t + 301);
        assert_eq!(r, Err(WebhookError::Stale { age_secs: 301, tolerance_secs: 300 }));
        let r = verify_signature(SECRET, &header, BODY, Duration::from_secs(300), t - 301);
        assert!(matches!(r, Err(WebhookError::Stale { .. })), "from the future too");
    }

    #[test]
    fn a_tampered_body_or_timestamp_fails() {
        let t = 1_700_000_000;
        let sig = sign(SECRET, t, BODY);
        let tampered = String::from_utf8(BODY.to_vec()).unwrap().replace("\"seq\":1", "\"seq\":2");
        let header = format!("t={t},v1={sig}");
        let r = verify_signature(SECRET, &header, tampered.as_bytes(), Duration::from_secs(300), t);
        assert_eq!(r, Err(WebhookError::Mismatch));
        let moved = format!("t={},v1={sig}", t + 1);
        assert_eq!(
            verify_signature(SECRET, &moved, BODY, Duration::from_secs(300), t),
            Err(WebhookError::Mismatch)
        );
    }

    #[test]
    fn any_of_several_signatures_verifies_during_a_rotation() {
        let t = 1_700_000_000;
        let header = format!(
            "t={t},v1={},v1={}",
            sign("whsec_new_secret_00000", t, BODY),
            sign(SECRET, t, BODY)
        );
        assert_eq!(verify_signature(SECRET, &header, BODY, Duration::from_secs(5), t), Ok(()));
        assert_eq!(
            verify_signature("whsec_new_secret_00000", &header, BODY, Duration::from_secs(5), t),
            Ok(())
        );
    }

    #[test]
    fn malformed_headers_are_named() {
        let d = Duration::from_secs(5);
        assert!(matches!(
            verify_signature(SECRET, "", BODY, d, 0),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            verify_signature(SECRET, "t=1", BODY, d, 1),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            verify_signature(SECRET, "v1=ab", BODY, d, 1),
            Err(WebhookError::Malformed(_))
        ));
        assert!(matches!(
            verify_signature(SECRET, "t=x,v1=ab", BODY, d, 1),
            Err(WebhookError::Malformed(_))
        ));
        assert_eq!(verify_signature(SECRET, "t=1,v1=zz", BODY, d, 1), Err(WebhookError::Mismatch));
        assert_eq!(
            verify_webhook(SECRET, &HeaderMap::new(), BODY, d),
            Err(WebhookError::MissingSignature)
        );
    }
}
