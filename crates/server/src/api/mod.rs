//! The HTTP API (axum): quotes, routes, signatures, cancel, SSE progress, assets, account
//! readiness, webhooks and the tenant's event log, health, metrics and the OpenAPI document.
//!
//! [`router`] builds the whole API over an [`AppState`]; tests drive it with `oneshot`, and
//! `starkroute serve` serves it on a socket. Every `/v1` endpoint needs an API key
//! (`Authorization: Bearer <key>`), which maps to a tenant: a tenant sees and touches only its
//! own routes (another tenant's route is a 404). Every error has one shape,
//! `{ "error": { "code", "message", "field" } }`; a refused request changes nothing.

mod assets;
pub mod auth;
mod body;
pub mod error;
mod events;
mod limits;
pub mod metrics;
mod openapi;
mod ops;
mod quotes;
mod routes;
mod track;
mod view;
mod webhooks;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::Router;
use starkroute_executor::{Clock, Executor};
use starkroute_layer::{Readiness, SettlementLayer};
use starkroute_planner::{CostModel, Plans, Topology};
use starkroute_store::{RouteId, RouteStore, TenantId, Timestamp, WebhookStore};
use starkroute_types::{Account, Layer};
use tokio::sync::watch;

pub use auth::{hash_key, Tenants, SANDBOX_DEMO_KEY};
pub use error::{ApiError, ApiResult};
pub use metrics::Metrics;
pub use openapi::document as openapi_document;

use crate::config::Config;

/// A quote a tenant was given: the plans and until when a route may start from them.
#[derive(Debug)]
pub(crate) struct StoredQuote {
    pub(crate) id: String,
    pub(crate) tenant: TenantId,
    pub(crate) plans: Plans,
    pub(crate) created_at: Timestamp,
    pub(crate) expires_at: Timestamp,
}

/// An idempotency key's first use, remembered so that a replay is answered even after its quote
/// has expired (the store is the authority while the quote lives).
#[derive(Debug, Clone)]
pub(crate) struct IdempotentStart {
    pub(crate) fingerprint: String,
    pub(crate) route: RouteId,
}

/// What the API needs from the rest of the process.
pub struct Deps {
    /// The route store.
    pub store: Arc<dyn RouteStore>,
    /// The executor driving the routes (its `run` loop runs elsewhere).
    pub executor: Arc<Executor>,
    /// The settlement-layer adapters, for readiness look-ups.
    pub layers: Vec<Arc<dyn SettlementLayer>>,
    /// The API's clock (quote expiry, timestamps).
    pub clock: Arc<dyn Clock>,
    /// Becomes `true` when the server shuts down: open event streams end.
    pub shutdown: watch::Receiver<bool>,
    /// The webhook endpoints and their outbox (the same store as `store`).
    pub webhooks: Arc<dyn WebhookStore>,
    /// The webhook worker's counters (shown by `/metrics`).
    pub webhook_metrics: Arc<crate::webhooks::WebhookMetrics>,
    /// A configured network's live fees: quotes are priced from them instead of `[costs]`.
    pub fees: Option<Arc<crate::stack::fees::LiveFees>>,
}

impl std::fmt::Debug for Deps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deps").field("executor", &self.executor).finish_non_exhaustive()
    }
}

/// The API's shared state: cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("tenants", &self.0.tenants).finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) topology: Topology,
    pub(crate) costs: CostModel,
    pub(crate) tenants: Tenants,
    pub(crate) body_limit: usize,
    pub(crate) quote_ttl: Duration,
    pub(crate) max_page: u32,
    pub(crate) store: Arc<dyn RouteStore>,
    pub(crate) executor: Arc<Executor>,
    pub(crate) layers: HashMap<Layer, Arc<dyn SettlementLayer>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) quotes: moka::future::Cache<String, Arc<StoredQuote>>,
    /// Rendered quotes by (tenant, SHA-256 of the request body), for identical requests.
    pub(crate) recent_quotes: moka::future::Cache<(TenantId, [u8; 32]), Arc<quotes::RecentQuote>>,
    pub(crate) starts: moka::future::Cache<(TenantId, String), IdempotentStart>,
    pub(crate) assets: moka::future::Cache<(), Arc<serde_json::Value>>,
    pub(crate) readiness: moka::future::Cache<Account, Readiness>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) limits: limits::Limits,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) webhooks: Arc<dyn WebhookStore>,
    pub(crate) webhook_settings: crate::config::WebhookSettings,
    pub(crate) webhook_metrics: Arc<crate::webhooks::WebhookMetrics>,
    pub(crate) fees: Option<Arc<crate::stack::fees::LiveFees>>,
    /// Block explorer templates (`[network.explorers]`; none in the sandbox).
    pub(crate) explorers: crate::config::Explorers,
}

/// The cost model a quote is priced with.
pub(crate) enum Costs<'a> {
    /// `[costs]`.
    Static(&'a CostModel),
    /// The live fees' current model.
    Live(Arc<CostModel>),
}

impl std::ops::Deref for Costs<'_> {
    type Target = CostModel;

    fn deref(&self) -> &CostModel {
        match self {
            Self::Static(c) => c,
            Self::Live(c) => c,
        }
    }
}

impl Inner {
    /// The cost model a quote is priced with: the live fees on a configured network (503 naming
    /// the layer whose reading is too old), else `[costs]`.
    pub(crate) fn costs(&self) -> ApiResult<Costs<'_>> {
        match &self.fees {
            None => Ok(Costs::Static(&self.costs)),
            Some(f) => f.costs().map(Costs::Live).map_err(|e| {
                // The refresh logs and counts each failure; a refusal per request is only a debug event.
                tracing::debug!(layer = %e.layer, reason = %e.reason, "refused: stale fees");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "fees_unavailable", e.to_string())
            }),
        }
    }
}

impl AppState {
    /// The state of an API serving `config` over `deps`.
    pub fn new(config: &Config, deps: Deps) -> crate::Result<Self> {
        let api = &config.api;
        let tenants = Tenants::from_config(&api.tenants)?;
        let retention = Duration::from_secs(api.quote_ttl_secs + api.quote_retention_secs);
        let quotes = moka::future::Cache::builder()
            .max_capacity(api.quote_cache_capacity)
            .time_to_live(retention)
            .build();
        let recent_quotes = moka::future::Cache::builder()
            .max_capacity(api.quote_cache_capacity)
            .time_to_live(Duration::from_secs(api.quote_ttl_secs) / quotes::RECENT_SHARE)
            .build();
        let starts = moka::future::Cache::builder()
            .max_capacity(api.quote_cache_capacity)
            .time_to_live(retention)
            .build();
        let assets = moka::future::Cache::builder()
            .max_capacity(1)
            .time_to_live(Duration::from_secs(300))
            .build();
        let readiness = moka::future::Cache::builder()
            .max_capacity(100_000)
            .time_to_live(Duration::from_secs(api.readiness_cache_secs.max(1)))
            .build();
        let layers = deps.layers.into_iter().map(|l| (l.layer(), l)).collect();
        let metrics = Arc::new(Metrics::default());
        spawn_event_counter(&deps.executor, &metrics, deps.shutdown.clone());
        Ok(Self(Arc::new(Inner {
            topology: config.topology.clone(),
            costs: config.costs.clone(),
            tenants,
            body_limit: api.body_limit_bytes,
            quote_ttl: Duration::from_secs(api.quote_ttl_secs),
            max_page: api.max_page,
            store: deps.store,
            executor: deps.executor,
            layers,
            clock: deps.clock,
            quotes,
            recent_quotes,
            starts,
            assets,
            readiness,
            metrics,
            limits: limits::Limits::from_config(api),
            shutdown: deps.shutdown,
            webhooks: deps.webhooks,
            webhook_settings: config.webhooks.clone(),
            webhook_metrics: deps.webhook_metrics,
            fees: deps.fees,
            explorers: config
                .network
                .as_ref()
                .map_or_else(|| config.sandbox.explorers.clone(), |n| n.explorers.clone()),
        })))
    }

    /// The configured API keys (to tell whether the public sandbox key is one of them).
    pub fn tenants(&self) -> &Tenants {
        &self.0.tenants
    }

    /// The counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.0.metrics
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.0
    }
}

/// Counts the executor's route events into the metrics until shutdown (needs a Tokio runtime;
/// without one the counters of route statuses stay at zero).
fn spawn_event_counter(
    executor: &Executor,
    metrics: &Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
    let mut rx = executor.subscribe();
    let metrics = metrics.clone();
    rt.spawn(async move {
        loop {
            tokio::select! {
                r = rx.recv() => match r {
                    Ok(e) => metrics.event(&e),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    });
}

/// Every path the API serves, with its methods, as the OpenAPI document lists them (the router
/// and the document are built from one table, `openapi::table`).
pub fn paths() -> Vec<(String, Vec<String>)> {
    let doc = openapi::document();
    doc["paths"]
        .as_object()
        .map(|p| {
            p.iter()
                .map(|(path, ops)| {
                    let methods = ops.as_object().map(|o| o.keys().cloned().collect());
                    (path.clone(), methods.unwrap_or_default())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let metrics = state.metrics().clone();
    let (api, _) = openapi::table().split_for_parts();
    api.fallback(no_such_endpoint)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), limits::enforce))
        .layer(axum::middleware::from_fn_with_state(metrics, metrics::count))
        .layer(axum::middleware::from_fn(track::secure))
        .with_state(state)
}

async fn no_such_endpoint() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no_such_endpoint", "no such endpoint; see /openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method; see /openapi.json",
    )
}
