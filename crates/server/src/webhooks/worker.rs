//! The delivery worker: leases due deliveries from the outbox, POSTs each signed event to its
//! endpoint, records the attempt and decides what follows.
//!
//! - 2xx: delivered.
//! - Timeouts, connection errors, 408, 429 and 5xx: retried with exponential backoff and full
//!   jitter (half the delay fixed, half random; at least `Retry-After` when the endpoint sends
//!   one), until the retry horizon (24 h by default) counted from when the delivery was queued.
//! - Any other answer (3xx — redirects are not followed —, 4xx): given up, the endpoint refused it.
//! - A target that is not allowed (an internal address on a configured network): given up.
//!
//! A route's events reach an endpoint in order: the store leases only the first pending delivery
//! of each (endpoint, route). Every retry and give-up is logged (`tracing`, with the delivery, the
//! endpoint's id, the route and the event — never the URL, which may carry a token) and counted.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;
use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER, USER_AGENT};
use starkroute_executor::Clock;
use starkroute_store::{
    Attempt, AttemptOutcome, LeaseOwner, LeasedDelivery, StoreError, Timestamp, WebhookStore,
};
use tracing::Instrument as _;

use super::sign::{self, DELIVERY_HEADER, EVENT_ID_HEADER, EVENT_TYPE_HEADER, SIGNATURE_HEADER};
use super::target;
use crate::config::WebhookSettings;

/// Deliveries counters and the outbox's depth, for `/metrics`.
#[derive(Debug, Default)]
pub struct WebhookMetrics {
    delivered: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    store_errors: AtomicU64,
    pending: AtomicU64,
    oldest_pending_age_ms: AtomicU64,
}

impl WebhookMetrics {
    /// Deliveries by outcome so far: (delivered, retried, given up).
    pub fn outcomes(&self) -> (u64, u64, u64) {
        (
            self.delivered.load(Ordering::Relaxed),
            self.retried.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }

    /// Appends the webhook metrics in the Prometheus text format.
    pub fn render(&self, s: &mut String) {
        use std::fmt::Write as _;
        s.push_str("# HELP starkroute_webhook_deliveries_total Webhook delivery attempts by outcome (delivered, retried, failed: given up).\n");
        s.push_str("# TYPE starkroute_webhook_deliveries_total counter\n");
        let (d, r, f) = self.outcomes();
        for (outcome, n) in [("delivered", d), ("retried", r), ("failed", f)] {
            let _ = writeln!(s, "starkroute_webhook_deliveries_total{{outcome=\"{outcome}\"}} {n}");
        }
        s.push_str("# HELP starkroute_webhook_store_errors_total Store errors met by the webhook worker.\n");
        s.push_str("# TYPE starkroute_webhook_store_errors_total counter\n");
        let _ = writeln!(
            s,
            "starkroute_webhook_store_errors_total {}",
            self.store_errors.load(Ordering::Relaxed)
        );
        s.push_str(
            "# HELP starkroute_webhook_queue_depth Webhook deliveries pending in the outbox.\n",
        );
        s.push_str("# TYPE starkroute_webhook_queue_depth gauge\n");
        let _ =
            writeln!(s, "starkroute_webhook_queue_depth {}", self.pending.load(Ordering::Relaxed));
        s.push_str("# HELP starkroute_webhook_oldest_pending_seconds Age of the oldest pending webhook delivery (0 when none).\n");
        s.push_str("# TYPE starkroute_webhook_oldest_pending_seconds gauge\n");
        let age = self.oldest_pending_age_ms.load(Ordering::Relaxed);
        let _ = writeln!(
            s,
            "starkroute_webhook_oldest_pending_seconds {}.{:03}",
            age / 1000,
            age % 1000
        );
    }
}

/// What one HTTP attempt came to.
struct Sent {
    status: Option<u16>,
    error: Option<String>,
    response: Option<String>,
    retry_after: Option<Duration>,
    /// Retrying cannot help (the target is refused, the URL is unusable).
    permanent: bool,
}

/// The worker. Cheap to share: run [`WebhookWorker::run`] on a task.
pub struct WebhookWorker {
    store: Arc<dyn WebhookStore>,
    client: reqwest::Client,
    settings: WebhookSettings,
    owner: LeaseOwner,
    clock: Arc<dyn Clock>,
    metrics: Arc<WebhookMetrics>,
}

impl std::fmt::Debug for WebhookWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookWorker").field("owner", &self.owner).finish_non_exhaustive()
    }
}

impl WebhookWorker {
    /// A worker leasing as `owner` (unique among the instances sharing the store).
    pub fn new(
        store: Arc<dyn WebhookStore>,
        settings: &WebhookSettings,
        owner: LeaseOwner,
        clock: Arc<dyn Clock>,
        metrics: Arc<WebhookMetrics>,
    ) -> Result<Self, reqwest::Error> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(settings.connect_timeout_ms))
            .timeout(Duration::from_millis(settings.response_timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(4);
        if !settings.allow_private_targets {
            builder = builder.dns_resolver(Arc::new(target::PublicOnly));
        }
        Ok(Self {
            store,
            client: builder.build()?,
            settings: settings.clone(),
            owner,
            clock,
            metrics,
        })
    }

    /// The counters.
    pub fn metrics(&self) -> &Arc<WebhookMetrics> {
        &self.metrics
    }

    /// Delivers until `stop` resolves; the batch in flight is finished first.
    pub async fn run(&self, stop: impl Future<Output = ()>) {
        let mut stop = std::pin::pin!(stop);
        let poll = Duration::from_millis(self.settings.poll_interval_ms);
        let mut last_stats: Option<Instant> = None;
        loop {
            if last_stats.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                self.refresh_stats().await;
                last_stats = Some(Instant::now());
            }
            let sent = match self.run_once().await {
                Ok(n) => n,
                Err(e) => {
                    self.metrics.store_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "webhooks: the outbox could not be leased");
                    0
                }
            };
            if sent == 0 {
                tokio::select! {
                    () = &mut stop => return,
                    () = tokio::time::sleep(poll) => {}
                }
            } else if stop.as_mut().now_or_never().is_some() {
                return;
            }
        }
    }

    /// Leases one batch of due deliveries and sends them side by side; returns how many.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let lease = Duration::from_millis(self.settings.lease_ms);
        let batch = self
            .store
            .lease_deliveries(&self.owner, lease, self.settings.concurrency, self.clock.now())
            .await?;
        let n = batch.len();
        futures_util::future::join_all(batch.into_iter().map(|d| self.deliver(d))).await;
        Ok(n)
    }

    /// Updates the queue-depth gauges from the store.
    pub async fn refresh_stats(&self) {
        match self.store.outbox_stats().await {
            Ok(stats) => {
                self.metrics.pending.store(stats.pending, Ordering::Relaxed);
                let age = stats.oldest_pending.map_or(0, |at| {
                    u64::try_from(self.clock.now().as_millis() - at.as_millis()).unwrap_or(0)
                });
                self.metrics.oldest_pending_age_ms.store(age, Ordering::Relaxed);
            }
            Err(e) => {
                self.metrics.store_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "webhooks: the outbox's depth could not be read");
            }
        }
    }

    async fn deliver(&self, leased: LeasedDelivery) {
        let d = &leased.delivery;
        let span = tracing::info_span!(
            "webhook",
            delivery = d.id,
            webhook = %leased.webhook.id,
            route = %d.event.route,
            seq = d.event.seq,
            kind = %d.event.kind,
        );
        self.deliver_in_span(&leased).instrument(span).await;
    }

    async fn deliver_in_span(&self, leased: &LeasedDelivery) {
        let d = &leased.delivery;
        let body = match serde_json::to_vec(&super::payload(&d.event)) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(error = %e, "webhooks: an event could not be encoded");
                return;
            }
        };
        let now = self.clock.now();
        let started = Instant::now();
        let sent = self.send(leased, body, now).await;
        let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let attempt = Attempt {
            at: now,
            status: sent.status,
            latency_ms,
            error: sent.error.clone(),
            response: sent.response,
        };
        let ok = sent.status.is_some_and(|s| (200..300).contains(&s));
        let retryable = !sent.permanent
            && match sent.status {
                None => true,
                Some(s) => s == 408 || s == 429 || s >= 500,
            };
        let outcome = if ok {
            AttemptOutcome::Delivered
        } else if retryable {
            let at = self.clock.now().saturating_add(self.backoff(d.attempts, sent.retry_after));
            let horizon =
                d.queued_at.saturating_add(Duration::from_secs(self.settings.retry_horizon_secs));
            if at > horizon {
                AttemptOutcome::GiveUp
            } else {
                AttemptOutcome::RetryAt(at)
            }
        } else {
            AttemptOutcome::GiveUp
        };
        let error = sent.error.as_deref().unwrap_or("");
        match outcome {
            AttemptOutcome::Delivered => {
                self.metrics.delivered.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(status = ?sent.status, latency_ms, "webhook delivered");
            }
            AttemptOutcome::RetryAt(at) => {
                self.metrics.retried.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    attempt = d.attempts + 1,
                    status = ?sent.status,
                    error,
                    retry_in_ms = at.as_millis() - now.as_millis(),
                    "webhook delivery failed; retrying"
                );
            }
            AttemptOutcome::GiveUp => {
                self.metrics.failed.fetch_add(1, Ordering::Relaxed);
                let why =
                    if retryable { "the retry horizon passed" } else { "the endpoint refused it" };
                tracing::warn!(
                    attempt = d.attempts + 1,
                    status = ?sent.status,
                    error,
                    "webhook delivery given up: {why}"
                );
            }
        }
        match self.store.record_attempt(d.id, &self.owner, &attempt, outcome).await {
            Ok(true) => {}
            Ok(false) => tracing::info!("webhook delivery's lease was lost; another worker has it"),
            Err(e) => {
                // The lease lapses and the delivery is sent again: at least once.
                self.metrics.store_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "webhooks: an attempt could not be recorded");
            }
        }
    }

    async fn send(&self, leased: &LeasedDelivery, body: Vec<u8>, now: Timestamp) -> Sent {
        let (d, hook) = (&leased.delivery, &leased.webhook);
        let refused = |error: String| Sent {
            status: None,
            error: Some(error),
            response: None,
            retry_after: None,
            permanent: true,
        };
        let url = match target::parse_url(&hook.url) {
            Ok(u) => u,
            Err(e) => return refused(format!("unusable URL: {e}")),
        };
        if !self.settings.allow_private_targets && target::literal_is_internal(&url) {
            return refused(
                "the URL's address is loopback, private or link-local: refused on this network"
                    .into(),
            );
        }
        let t = now.as_millis().div_euclid(1000);
        let signature = sign::signature_header(&hook.signing_secrets(now), t, &body);
        let request = self
            .client
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(USER_AGENT, HeaderValue::from_static("starkroute-webhooks/1"))
            .header(SIGNATURE_HEADER, signature)
            .header(EVENT_ID_HEADER, sign::event_id(&d.event.route, d.event.seq))
            .header(EVENT_TYPE_HEADER, d.event.kind.as_str())
            .header(DELIVERY_HEADER, d.id.to_string())
            .body(body);
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                return Sent {
                    status: None,
                    error: Some(describe(&e, &self.settings)),
                    response: None,
                    retry_after: None,
                    // The name resolves inside the network: refused, not retried.
                    permanent: target::is_internal_target(&e),
                };
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        // Only a short prefix of the answer is read and kept.
        let mut prefix = Vec::new();
        while prefix.len() < Attempt::MAX_RESPONSE {
            match response.chunk().await {
                Ok(Some(chunk)) => prefix.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        prefix.truncate(Attempt::MAX_RESPONSE);
        let text = String::from_utf8_lossy(&prefix).into_owned();
        let error = (!(200..300).contains(&status)).then(|| format!("HTTP {status}"));
        Sent {
            status: Some(status),
            error,
            response: (!text.is_empty()).then_some(text),
            retry_after,
            permanent: false,
        }
    }

    /// The delay before retry `attempts + 1`: `initial · 2^attempts` capped, half of it fixed and
    /// half random, and at least the endpoint's `Retry-After` (capped too).
    fn backoff(&self, attempts: u32, retry_after: Option<Duration>) -> Duration {
        let initial = self.settings.backoff_initial_ms;
        let max = self.settings.backoff_max_ms;
        let full = initial.saturating_mul(1u64 << attempts.min(40)).min(max);
        let half = full / 2;
        let jitter = if half == 0 { 0 } else { random_u64() % (half + 1) };
        let ms = (full - half + jitter).max(
            retry_after.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX).min(max)),
        );
        Duration::from_millis(ms)
    }
}

/// A transport error for the attempt's record and the log, without the URL (which may carry a
/// token).
fn describe(e: &reqwest::Error, settings: &WebhookSettings) -> String {
    if e.is_timeout() {
        return format!(
            "timed out (connect {} ms, response {} ms)",
            settings.connect_timeout_ms, settings.response_timeout_ms
        );
    }
    let kind = if e.is_connect() { "connection failed" } else { "request failed" };
    let mut msg = kind.to_owned();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

fn random_u64() -> u64 {
    let mut b = [0u8; 8];
    // The OS's generator does not fail on supported platforms; without it there is no jitter.
    let _ = getrandom::fill(&mut b);
    u64::from_le_bytes(b)
}
