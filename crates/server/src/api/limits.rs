//! Limits that keep one client from taking the server: a per-tenant token-bucket rate limit on
//! `/v1` (429 with `Retry-After`), a request timeout (503), a body idle timeout (408), and caps on
//! open event streams per tenant (429) and in all (503). Each is a key of `[api]` with a default
//! that protects a small machine (see the README's security section).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parking_lot::Mutex;
use starkroute_store::TenantId;

use super::error::ApiError;
use super::AppState;
use crate::config::ApiConfig;

/// A token's worth of the bucket, in its units (nano-tokens: a rate of `r` per second adds
/// exactly `r` units per nanosecond, so refills are exact integers).
const TOKEN: u128 = 1_000_000_000;

/// One tenant's bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    units: u128,
    at: Instant,
}

/// Per-tenant token buckets: `per_sec` requests per second sustained, `burst` at once.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    per_sec: u64,
    burst: u64,
    buckets: Mutex<HashMap<TenantId, Bucket>>,
}

impl RateLimiter {
    /// `per_sec == 0` turns the limit off.
    pub(crate) fn new(per_sec: u64, burst: u64) -> Self {
        Self { per_sec, burst: burst.max(1), buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token of `tenant`'s bucket at `now`, or says how long until one is there.
    pub(crate) fn take(&self, tenant: &TenantId, now: Instant) -> Result<(), Duration> {
        if self.per_sec == 0 {
            return Ok(());
        }
        let cap = u128::from(self.burst) * TOKEN;
        let rate = u128::from(self.per_sec);
        let mut buckets = self.buckets.lock();
        // Only configured tenants get here (the caller authenticated them): the map is bounded.
        let b = buckets.entry(tenant.clone()).or_insert(Bucket { units: cap, at: now });
        let elapsed = now.saturating_duration_since(b.at).as_nanos();
        b.units = b.units.saturating_add(elapsed.saturating_mul(rate)).min(cap);
        b.at = b.at.max(now);
        if b.units >= TOKEN {
            b.units -= TOKEN;
            return Ok(());
        }
        let wait_ns = (TOKEN - b.units).div_ceil(rate);
        Err(Duration::from_nanos(u64::try_from(wait_ns).unwrap_or(u64::MAX)))
    }
}

/// Open event streams, per tenant and in all.
#[derive(Debug)]
pub(crate) struct StreamSlots {
    per_tenant: usize,
    total: usize,
    open: Mutex<(usize, HashMap<TenantId, usize>)>,
}

/// One open stream's place; given back when dropped (the stream ended or its client left).
#[derive(Debug)]
pub(crate) struct StreamSlot {
    slots: Arc<StreamSlots>,
    tenant: TenantId,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock();
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.1.remove(&self.tenant);
            }
        }
    }
}

impl StreamSlots {
    pub(crate) fn new(per_tenant: usize, total: usize) -> Arc<Self> {
        Arc::new(Self { per_tenant, total, open: Mutex::new((0, HashMap::new())) })
    }

    /// A place for one more stream of `tenant`: 429 when the tenant has its most, 503 when the
    /// server has.
    pub(crate) fn acquire(self: &Arc<Self>, tenant: &TenantId) -> Result<StreamSlot, ApiError> {
        let mut open = self.open.lock();
        let mine = open.1.get(tenant).copied().unwrap_or(0);
        if mine >= self.per_tenant {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_streams",
                format!(
                    "this tenant has {mine} event streams open, the most allowed \
                     (api.max_streams_per_tenant); close one or follow routes one after another"
                ),
            ));
        }
        if open.0 >= self.total {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_streams",
                format!(
                    "the server has {} event streams open, the most allowed \
                     (api.max_streams_total); retry later",
                    open.0
                ),
            ));
        }
        open.0 += 1;
        *open.1.entry(tenant.clone()).or_default() += 1;
        Ok(StreamSlot { slots: self.clone(), tenant: tenant.clone() })
    }

    /// Streams open now.
    pub(crate) fn open(&self) -> usize {
        self.open.lock().0
    }
}

/// The limits of one API, from `[api]`.
#[derive(Debug)]
pub(crate) struct Limits {
    pub(crate) rate: RateLimiter,
    /// The longest a refusal by the rate limit is held (`api.rate_limit_hold_ms`).
    pub(crate) hold: Duration,
    /// Refusals being held now, all tenants together (at most [`MAX_HELD`]).
    pub(crate) held: AtomicU64,
    pub(crate) streams: Arc<StreamSlots>,
    pub(crate) request_timeout: Duration,
    pub(crate) body_timeout: Duration,
    /// Requests refused by the rate limit, per tenant (configured tenants only: bounded).
    pub(crate) rate_limited: Mutex<HashMap<TenantId, u64>>,
    pub(crate) timeouts: AtomicU64,
    pub(crate) streams_refused: AtomicU64,
}

impl Limits {
    pub(crate) fn from_config(api: &ApiConfig) -> Self {
        Self {
            rate: RateLimiter::new(api.rate_limit_per_sec, api.rate_limit_burst),
            hold: Duration::from_millis(api.rate_limit_hold_ms),
            held: AtomicU64::new(0),
            streams: StreamSlots::new(api.max_streams_per_tenant, api.max_streams_total),
            request_timeout: Duration::from_millis(api.request_timeout_ms),
            body_timeout: Duration::from_millis(api.body_timeout_ms),
            rate_limited: Mutex::new(HashMap::new()),
            timeouts: AtomicU64::new(0),
            streams_refused: AtomicU64::new(0),
        }
    }
}

/// Refusals held at once, all tenants together; beyond, a refusal is answered at once.
pub(crate) const MAX_HELD: u64 = 4096;

/// A held refusal's place among [`MAX_HELD`], given back on drop (also when the client leaves).
struct Held<'a>(&'a AtomicU64);

impl Held<'_> {
    /// Takes a place if one is free.
    fn take(held: &AtomicU64) -> bool {
        held.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < MAX_HELD).then_some(n + 1))
            .is_ok()
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Middleware: the rate limit (on `/v1`, for an authenticated tenant: a request without a valid
/// key is refused by its handler), the body idle timeout and the request timeout. The timeout
/// covers the answer's head; an event stream's body runs on (its end is bounded by the route).
pub(crate) async fn enforce(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let s = state.inner();
    let limits = &s.limits;
    if req.uri().path().starts_with("/v1/") {
        if let Ok(tenant) = s.tenants.authenticate(req.headers()) {
            if let Err(wait) = limits.rate.take(&tenant, Instant::now()) {
                *limits.rate_limited.lock().entry(tenant).or_default() += 1;
                // Held until the tenant's next token (at most `hold`): a client that asks again
                // at once, whatever `Retry-After` says, is paced to its rate rather than making
                // the server answer a refusal per round trip; bounded in number, answered at once
                // beyond (a held refusal costs a timer and its connection).
                let held = wait.min(limits.hold);
                let wait = if !held.is_zero() && Held::take(&limits.held) {
                    let _slot = Held(&limits.held);
                    tokio::time::sleep(held).await;
                    wait - held
                } else {
                    wait
                };
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let mut res = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!(
                        "this tenant sent more than {} requests per second (bursts of {}); \
                         retry after {} s",
                        limits.rate.per_sec,
                        limits.rate.burst,
                        secs.max(1)
                    ),
                )
                .into_response();
                res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
                return res;
            }
        }
    }
    let body_timeout = limits.body_timeout;
    let req = req.map(|b| Body::new(tower_http::timeout::TimeoutBody::new(body_timeout, b)));
    match tokio::time::timeout(limits.request_timeout, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            limits.timeouts.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(timeout_ms = limits.request_timeout.as_millis(), "request timed out");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!(
                    "the request took longer than {} ms (api.request_timeout_ms); retry later \
                     (with the same Idempotency-Key for a route start)",
                    limits.request_timeout.as_millis()
                ),
            )
            .into_response()
        }
    }
}

/// Appends the limits' counters: refusals by the rate limit (per tenant), timeouts, event
/// streams open and refused.
pub(crate) fn render(s: &mut String, limits: &Limits) {
    use std::fmt::Write as _;
    s.push_str("# HELP starkroute_rate_limited_total Requests refused by the per-tenant rate limit (429).\n");
    s.push_str("# TYPE starkroute_rate_limited_total counter\n");
    let mut by_tenant: Vec<_> =
        limits.rate_limited.lock().iter().map(|(t, n)| (t.as_str().to_owned(), *n)).collect();
    by_tenant.sort();
    for (tenant, n) in by_tenant {
        let _ = writeln!(s, "starkroute_rate_limited_total{{tenant=\"{tenant}\"}} {n}");
    }
    s.push_str(
        "# HELP starkroute_request_timeouts_total Requests answered 503 by the request timeout.\n",
    );
    s.push_str("# TYPE starkroute_request_timeouts_total counter\n");
    let _ = writeln!(
        s,
        "starkroute_request_timeouts_total {}",
        limits.timeouts.load(Ordering::Relaxed)
    );
    s.push_str(
        "# HELP starkroute_rate_limit_held Refusals by the rate limit held now (api.rate_limit_hold_ms).\n",
    );
    s.push_str("# TYPE starkroute_rate_limit_held gauge\n");
    let _ = writeln!(s, "starkroute_rate_limit_held {}", limits.held.load(Ordering::Relaxed));
    s.push_str("# HELP starkroute_event_streams_open Event streams open now.\n");
    s.push_str("# TYPE starkroute_event_streams_open gauge\n");
    let _ = writeln!(s, "starkroute_event_streams_open {}", limits.streams.open());
    s.push_str("# HELP starkroute_event_streams_refused_total Event streams refused by a cap.\n");
    s.push_str("# TYPE starkroute_event_streams_refused_total counter\n");
    let _ = writeln!(
        s,
        "starkroute_event_streams_refused_total {}",
        limits.streams_refused.load(Ordering::Relaxed)
    );
}

#[cfg(test)]
mod tests {

    #[test]
    fn held_refusals_are_bounded_and_given_back() {
        let held = AtomicU64::new(MAX_HELD - 1);
        assert!(Held::take(&held), "the last place");
        let slot = Held(&held);
        assert!(!Held::take(&held), "none beyond MAX_HELD: answered at once");
        drop(slot);
        assert_eq!(held.load(Ordering::Relaxed), MAX_HELD - 1);
        assert!(Held::take(&held));
    }

    use super::*;

    #[test]
    fn buckets_refill_exactly_and_per_tenant() {
        let r = RateLimiter::new(2, 3);
        let a = TenantId::new("a").unwrap();
        let b = TenantId::new("b").unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            r.take(&a, t0).unwrap();
        }
        assert_eq!(r.take(&a, t0), Err(Duration::from_millis(500)));
        // Another tenant has its own bucket.
        r.take(&b, t0).unwrap();
        // Half a token after 250 ms: 250 ms more to wait.
        assert_eq!(r.take(&a, t0 + Duration::from_millis(250)), Err(Duration::from_millis(250)));
        r.take(&a, t0 + Duration::from_millis(500)).unwrap();
        // Many tiny steps add up exactly (no rounding lost per step).
        let mut t = t0 + Duration::from_millis(500);
        for _ in 0..499 {
            t += Duration::from_millis(1);
            assert!(r.take(&a, t).is_err());
        }
        t += Duration::from_millis(1);
        assert!(r.take(&a, t).is_ok(), "500 steps of 1 ms at 2/s make one token, none lost");
        // Never more than the burst, however long it rested.
        let later = t + Duration::from_secs(3600);
        for _ in 0..3 {
            r.take(&a, later).unwrap();
        }
        assert!(r.take(&a, later).is_err());
        assert!(RateLimiter::new(0, 0).take(&a, t0).is_ok(), "0 turns it off");
    }

    #[test]
    fn stream_slots_are_given_back() {
        let s = StreamSlots::new(2, 3);
        let a = TenantId::new("a").unwrap();
        let b = TenantId::new("b").unwrap();
        let a1 = s.acquire(&a).unwrap();
        let _a2 = s.acquire(&a).unwrap();
        assert_eq!(s.acquire(&a).unwrap_err().status, StatusCode::TOO_MANY_REQUESTS);
        let _b1 = s.acquire(&b).unwrap();
        assert_eq!(s.acquire(&b).unwrap_err().status, StatusCode::SERVICE_UNAVAILABLE);
        drop(a1);
        assert_eq!(s.open(), 2);
        let _a3 = s.acquire(&a).unwrap();
        assert_eq!(s.open(), 3);
    }
}
