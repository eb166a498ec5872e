//! Webhook endpoints, their deliveries and the tenant's event log:
//!
//! - `POST /v1/webhooks` `{url, events[], description}` registers an endpoint and answers its
//!   signing secret — the only time it is shown;
//! - `GET /v1/webhooks`, `GET|DELETE /v1/webhooks/{id}`;
//! - `POST /v1/webhooks/{id}/rotate-secret`: a new secret, the old one still signing for
//!   `webhooks.secret_grace_secs`;
//! - `GET /v1/webhooks/{id}/deliveries` (newest first, `?before=&limit=`),
//!   `GET /v1/webhooks/{id}/deliveries/{n}` (with every attempt) and
//!   `POST /v1/webhooks/{id}/deliveries/{n}/retry` (queue it again);
//! - `GET /v1/events?after=CURSOR&limit=`: every event of the tenant's routes after a cursor, to
//!   catch up on what a receiver missed.
//!
//! All tenant-scoped: another tenant's endpoint or delivery is a 404.

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use starkroute_store::{
    Attempt, Delivery, NewWebhook, TenantId, Webhook, WebhookId, WebhookStore, ALL_EVENTS,
};
use utoipa::ToSchema;

use super::body::{path_error, read_json, NoFields};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::AppState;
use crate::webhooks::{self as hooks, sign, target};

/// The longest description.
const MAX_DESCRIPTION: usize = 256;
/// Most event kinds in one subscription.
const MAX_EVENTS: usize = 64;
/// The largest page of deliveries or events.
const MAX_PAGE: u32 = 500;

/// `POST /v1/webhooks`.
/// `POST /v1/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewWebhook)]
pub(crate) struct CreateWebhook {
    /// http(s), no credentials, at most 2048 characters.
    #[schema(format = "uri", max_length = 2048)]
    url: String,
    /// `*` (every event) or event types, 1 to 64 of them.
    #[schema(value_type = Vec<EventName>, min_items = 1, max_items = 64)]
    events: Vec<String>,
    /// At most 256 characters, no control characters.
    #[serde(default)]
    #[schema(max_length = 256)]
    description: String,
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "webhook_not_found", format!("no webhook {id}"))
        .field("id")
}

fn webhook_id(s: &str) -> ApiResult<WebhookId> {
    s.parse().map_err(|_| not_found(s))
}

fn delivery_no(s: &str) -> ApiResult<u64> {
    s.parse::<u64>()
        .ok()
        .filter(|n| *n >= 1 && i64::try_from(*n).is_ok())
        .ok_or_else(|| ApiError::invalid("n", format!("{s:?} is not a delivery number")))
}

fn store(state: &AppState) -> &dyn WebhookStore {
    state.inner().webhooks.as_ref()
}

/// An endpoint as the API shows it (never its secret).
/// The name of an event type a webhook subscribes to, or `*` (a schema only).
pub(crate) enum EventName {}

impl utoipa::PartialSchema for EventName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(
                std::iter::once(ALL_EVENTS).chain(hooks::EVENT_KINDS.iter().copied()),
            ))
            .into()
    }
}
impl ToSchema for EventName {}

/// A webhook endpoint (without its secret).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Webhook)]
pub(crate) struct WebhookView {
    /// `wh_` and a ULID.
    #[schema(value_type = String)]
    id: WebhookId,
    url: String,
    events: Vec<String>,
    description: String,
    /// Until when (ms since the epoch) the secret before the last rotation still signs.
    previous_secret_expires_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

/// A webhook endpoint with its signing secret (answered once: on creation and rotation).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhookWithSecret {
    #[serde(flatten)]
    webhook: WebhookView,
    /// The signing secret (`whsec_…`). Shown only in this answer.
    secret: String,
}

/// The tenant's webhook endpoints.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookList)]
pub(crate) struct WebhookListView {
    webhooks: Vec<WebhookView>,
}

/// An event as delivered to a webhook (and listed by `/v1/events`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WebhookEvent)]
pub(crate) struct WebhookEventView {
    /// `evt_<route>_<seq>`: the de-duplication key (header `Starkroute-Event-Id`).
    id: String,
    #[serde(rename = "type")]
    kind: String,
    route: starkroute_types::RouteId,
    seq: u64,
    at: i64,
    #[schema(value_type = Object)]
    data: Value,
}

/// One attempt at a delivery.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Attempt)]
pub(crate) struct AttemptView {
    at: i64,
    /// The receiver's HTTP status, when it answered.
    status: Option<u16>,
    latency_ms: u64,
    error: Option<String>,
    /// The first 256 bytes of the answer.
    response: Option<String>,
}

/// A delivery of an event to a webhook endpoint.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Delivery)]
pub(crate) struct DeliveryView {
    #[schema(minimum = 1)]
    id: u64,
    #[schema(value_type = String)]
    webhook: WebhookId,
    event: WebhookEventView,
    #[schema(value_type = String, pattern = "^(pending|delivered|failed)$")]
    state: starkroute_store::DeliveryState,
    attempts: u32,
    next_attempt_at: Option<i64>,
    queued_at: i64,
    delivered_at: Option<i64>,
    last_attempt: Option<AttemptView>,
    /// Every attempt (`GET /v1/webhooks/{id}/deliveries/{n}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt_log: Option<Vec<AttemptView>>,
}

/// A page of deliveries, newest first.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = DeliveryPage)]
pub(crate) struct DeliveryPageView {
    deliveries: Vec<DeliveryView>,
    /// `before` for the next page, if any.
    next: Option<u64>,
}

/// An event of the tenant's log, with its cursor.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = LoggedEvent)]
pub(crate) struct LoggedEventView {
    #[serde(flatten)]
    event: WebhookEventView,
    /// Pass the last one as `after` to continue.
    #[schema(pattern = "^[0-9]+$")]
    cursor: String,
}

/// A page of the tenant's event log.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EventLogPage)]
pub(crate) struct EventLogPageView {
    events: Vec<LoggedEventView>,
    #[schema(pattern = "^[0-9]+$")]
    next_cursor: String,
}

fn view(w: &Webhook) -> WebhookView {
    WebhookView {
        id: w.id,
        url: w.url.clone(),
        events: w.events.clone(),
        description: w.description.clone(),
        previous_secret_expires_at: w.previous_secret.as_ref().map(|(_, at)| at.as_millis()),
        created_at: w.created_at.as_millis(),
        updated_at: w.updated_at.as_millis(),
    }
}

fn with_secret(w: &Webhook) -> WebhookWithSecret {
    WebhookWithSecret { webhook: view(w), secret: w.secret.expose().to_owned() }
}

fn event_view(e: &starkroute_store::Event) -> WebhookEventView {
    WebhookEventView {
        id: hooks::event_id(&e.route, e.seq),
        kind: e.kind.clone(),
        route: e.route,
        seq: e.seq,
        at: e.at.as_millis(),
        data: e.data.clone(),
    }
}

fn attempt_view(a: &Attempt) -> AttemptView {
    AttemptView {
        at: a.at.as_millis(),
        status: a.status,
        latency_ms: a.latency_ms,
        error: a.error.clone(),
        response: a.response.clone(),
    }
}

fn delivery_view(d: &Delivery) -> DeliveryView {
    DeliveryView {
        id: d.id,
        webhook: d.webhook,
        event: event_view(&d.event),
        state: d.state,
        attempts: d.attempts,
        next_attempt_at: (d.state == starkroute_store::DeliveryState::Pending)
            .then_some(d.next_attempt_at.as_millis()),
        queued_at: d.queued_at.as_millis(),
        delivered_at: d.delivered_at.map(|t| t.as_millis()),
        last_attempt: d.last_attempt.as_ref().map(attempt_view),
        attempt_log: None,
    }
}

async fn load(state: &AppState, tenant: &TenantId, id: &str) -> ApiResult<Webhook> {
    let wid = webhook_id(id)?;
    store(state).get_webhook(tenant, &wid).await?.ok_or_else(|| not_found(id))
}

/// Checks a create request; the URL against the SSRF policy too.
async fn validate(state: &AppState, req: CreateWebhook) -> ApiResult<NewWebhook> {
    let s = state.inner();
    let url = target::parse_url(req.url.trim()).map_err(|e| ApiError::invalid("url", e))?;
    if req.events.is_empty() || req.events.len() > MAX_EVENTS {
        return Err(ApiError::invalid(
            "events",
            format!("expected 1 to {MAX_EVENTS} event types (or [\"*\"] for all)"),
        ));
    }
    let mut events: Vec<String> = Vec::with_capacity(req.events.len());
    for (i, kind) in req.events.iter().enumerate() {
        if kind != ALL_EVENTS && !hooks::EVENT_KINDS.contains(&kind.as_str()) {
            return Err(ApiError::invalid(
                format!("events[{i}]"),
                format!(
                    "unknown event type {kind:?}; expected \"*\" or one of {}",
                    hooks::EVENT_KINDS.join(", ")
                ),
            ));
        }
        if !events.contains(kind) {
            events.push(kind.clone());
        }
    }
    if req.description.chars().count() > MAX_DESCRIPTION
        || req.description.chars().any(char::is_control)
    {
        return Err(ApiError::invalid(
            "description",
            format!("at most {MAX_DESCRIPTION} characters, no control characters"),
        ));
    }
    // Last, as it may ask the resolver: where the URL leads.
    target::check(&url, s.webhook_settings.allow_private_targets)
        .await
        .map_err(|e| ApiError::invalid("url", e))?;
    let secret = sign::new_secret().map_err(|e| ApiError::internal("generating a secret", &e))?;
    Ok(NewWebhook { url: url.to_string(), events, description: req.description, secret })
}

#[utoipa::path(post, path = "/v1/webhooks", operation_id = "createWebhook", tag = "webhooks",
    summary = "Register a webhook endpoint for the tenant's route events; answers its signing secret, once.",
    description = "Each delivery is a POST of a WebhookEvent (JSON) with `Starkroute-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" under the secret>` (one `v1` per valid secret while a rotated-out one is in its grace period), `Starkroute-Event-Id` (the same on every retry and replay: de-duplicate on it), `Starkroute-Event-Type` and `Starkroute-Delivery`. Any 2xx acknowledges it. Timeouts, connection errors, 408, 429 and 5xx are retried with exponential backoff and jitter for 24 hours (configurable); other answers stop that delivery. A route's events arrive in order. On a configured network a URL resolving to a loopback, private or link-local address is refused (422); the sandbox allows it.",
    request_body = CreateWebhook,
    responses(
        (status = 201, description = "The endpoint, with `secret` (shown only now).", body = WebhookWithSecret, links(
                ("getWebhook" = (operation_id = "getWebhook", parameters(("id" = "$response.body#/id")))),
                ("listWebhookDeliveries" = (operation_id = "listWebhookDeliveries", parameters(("id" = "$response.body#/id")))),
                ("rotateWebhookSecret" = (operation_id = "rotateWebhookSecret", parameters(("id" = "$response.body#/id")))),
                ("deleteWebhook" = (operation_id = "deleteWebhook", parameters(("id" = "$response.body#/id")))),
            )),
        (status = 409, description = "The tenant has as many webhooks as allowed (`too_many_webhooks`).", body = ErrorBody),
        (status = 422, description = "A field is invalid; `error.field` names it.", body = ErrorBody),
    ))]
pub(crate) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let s = state.inner();
    let tenant = s.tenants.authenticate(&headers)?;
    let req: CreateWebhook = read_json(&headers, body, s.body_limit, false).await?;
    let new = validate(&state, req).await?;
    let max = s.webhook_settings.max_per_tenant as usize;
    if store(&state).list_webhooks(&tenant).await?.len() >= max {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "too_many_webhooks",
            format!("a tenant has at most {max} webhooks; delete one first"),
        ));
    }
    let hook = store(&state).create_webhook(&tenant, &new, s.clock.now()).await?;
    tracing::info!(tenant = %tenant, webhook = %hook.id, events = ?hook.events, "webhook registered");
    Ok((StatusCode::CREATED, Json(with_secret(&hook))).into_response())
}

#[utoipa::path(get, path = "/v1/webhooks", operation_id = "listWebhooks", tag = "webhooks",
    summary = "The tenant's webhook endpoints (without secrets).",
    responses((status = 200, description = "The endpoints.", body = WebhookListView)))]
pub(crate) async fn list(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let tenant = state.inner().tenants.authenticate(&headers)?;
    let webhooks = store(&state).list_webhooks(&tenant).await?.iter().map(view).collect();
    Ok(Json(WebhookListView { webhooks }).into_response())
}

#[utoipa::path(get, path = "/v1/webhooks/{id}", operation_id = "getWebhook", tag = "webhooks",
    summary = "A webhook endpoint (without its secret).",
    params(("id" = String, Path, description = "The webhook's id (`wh_` and a ULID).")),
    responses((status = 200, description = "The endpoint.", body = WebhookView), (status = 404, description = "No such webhook (or delivery) for this tenant; another tenant's included.", body = ErrorBody)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let tenant = state.inner().tenants.authenticate(&headers)?;
    let Path(id) = id.map_err(|e| path_error(&e))?;
    Ok(Json(view(&load(&state, &tenant, &id).await?)).into_response())
}

#[utoipa::path(delete, path = "/v1/webhooks/{id}", operation_id = "deleteWebhook", tag = "webhooks",
    summary = "Delete a webhook endpoint and its pending deliveries.",
    params(("id" = String, Path, description = "The webhook's id (`wh_` and a ULID).")),
    responses((status = 204, description = "Deleted."), (status = 404, description = "No such webhook (or delivery) for this tenant; another tenant's included.", body = ErrorBody)))]
pub(crate) async fn delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let tenant = state.inner().tenants.authenticate(&headers)?;
    let Path(id) = id.map_err(|e| path_error(&e))?;
    let wid = webhook_id(&id)?;
    if !store(&state).delete_webhook(&tenant, &wid).await? {
        return Err(not_found(&id));
    }
    tracing::info!(tenant = %tenant, webhook = %wid, "webhook deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate-secret", operation_id = "rotateWebhookSecret", tag = "webhooks",
    summary = "Replace the signing secret; the previous one keeps signing until `previous_secret_expires_at`.",
    params(("id" = String, Path, description = "The webhook's id (`wh_` and a ULID).")),
    request_body(content = Option<NoFields>, description = "Nothing, or `{}`."),
    responses((status = 200, description = "The endpoint, with the new `secret`.", body = WebhookWithSecret), (status = 404, description = "No such webhook (or delivery) for this tenant; another tenant's included.", body = ErrorBody)))]
pub(crate) async fn rotate_secret(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let s = state.inner();
    let tenant = s.tenants.authenticate(&headers)?;
    let Path(id) = id.map_err(|e| path_error(&e))?;
    let wid = webhook_id(&id)?;
    let NoFields {} = read_json(&headers, body, s.body_limit, true).await?;
    let secret = sign::new_secret().map_err(|e| ApiError::internal("generating a secret", &e))?;
    let now = s.clock.now();
    let grace =
        now.saturating_add(std::time::Duration::from_secs(s.webhook_settings.secret_grace_secs));
    let hook = store(&state)
        .rotate_secret(&tenant, &wid, &secret, grace, now)
        .await?
        .ok_or_else(|| not_found(&id))?;
    tracing::info!(tenant = %tenant, webhook = %wid, "webhook secret rotated");
    Ok(Json(with_secret(&hook)).into_response())
}

fn page_params(
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    cursor_name: &'static str,
) -> ApiResult<(Option<u64>, u32)> {
    let Query(params) =
        query.map_err(|e| ApiError::invalid("query", format!("bad query string: {e}")))?;
    let (mut cursor, mut limit) = (None, 100);
    for (name, value) in params {
        if name == cursor_name {
            cursor =
                Some(value.parse::<u64>().ok().filter(|n| i64::try_from(*n).is_ok()).ok_or_else(
                    || ApiError::invalid(cursor_name, "expected a cursor (a number)"),
                )?);
        } else if name == "limit" {
            limit =
                value.parse::<u32>().ok().filter(|n| (1..=MAX_PAGE).contains(n)).ok_or_else(
                    || ApiError::invalid("limit", format!("expected 1 to {MAX_PAGE}")),
                )?;
        } else {
            return Err(ApiError::invalid(
                name,
                format!("unknown query parameter ({cursor_name} and limit are)"),
            ));
        }
    }
    Ok((cursor, limit))
}

#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", operation_id = "listWebhookDeliveries", tag = "webhooks",
    summary = "The endpoint's deliveries, newest first, with their last attempt.",
    params(("id" = String, Path, description = "The webhook's id (`wh_` and a ULID)."),
        ("before" = Option<u64>, Query, description = "`next` of the previous page."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "1 to 500 (100 when absent)."),
    ),
    responses(
        (status = 200, description = "A page.", body = DeliveryPageView), (status = 404, description = "No such webhook (or delivery) for this tenant; another tenant's included.", body = ErrorBody),
        (status = 422, description = "A query parameter is invalid or unknown; `error.field` names it.", body = ErrorBody),
    ))]
pub(crate) async fn deliveries(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult<Response> {
    let tenant = state.inner().tenants.authenticate(&headers)?;
    let Path(id) = id.map_err(|e| path_error(&e))?;
    let hook = load(&state, &tenant, &id).await?;
    let (before, limit) = page_params(query, "before")?;
    let page = store(&state).list_deliveries(&tenant, &hook.id, before, limit).await?;
    let next = (page.len() == limit as usize).then(|| page.last().map(|d| d.id)).flatten();
    let deliveries = page.iter().map(delivery_view).collect();
    Ok(Json(DeliveryPageView { deliveries, next }).into_response())
}

async fn find_delivery(
    state: &AppState,
    tenant: &TenantId,
    hook: &Webhook,
    n: u64,
) -> ApiResult<Delivery> {
    let page = store(state).list_deliveries(tenant, &hook.id, Some(n + 1), 1).await?;
    page.into_iter().find(|d| d.id == n).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "delivery_not_found", format!("no delivery {n}"))
            .field("n")
    })
}

#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries/{n}", operation_id = "getWebhookDelivery", tag = "webhooks",
    summary = "A delivery with every attempt (status, latency, error, the first bytes of the answer).",
    params(("id" = String, Path, description = "The webhook's id (`wh_` and a ULID)."), ("n" = u64, Path, minimum = 1, description = "The delivery's number.")),
    responses(
        (status = 200, description = "The delivery; `attempt_log` lists its attempts.", body = DeliveryView), (status = 404, description = "No such webhook (or delivery) for this tenant; another tenant's included.", body = ErrorBody),
        (status = 422, description = "The delivery number is malformed.", body = ErrorBody),
    ))]
pub(crate) async fn delivery(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Response> {
    let tenant = state.inner().tenants.authenticate(&headers)?;
    let Path((id, n)) = params.map_err(|e| path_error(&e))?;
    let hook = load(&state, &tenant, &id).await?;
    let d = find_delivery(&state, &tenant, &hook, delivery_no(&n)?).await?;
    let attempts =
        store(&state).delivery_attempts(&tenant, d.id).await?.iter().map(attempt_view).collect();
    let mut v = delivery_view(&d);
    v.attempt_log = Some(attempts);
    Ok(Json(v).into_response())
}

#[utoipa::path(post, path = "/v1/webhooks/{id}/deliveries/{n}/retry", operation_id = "retryWebhookDelivery", tag = "webhooks",
    summary = "Send a delivery again (delivered, given up or waiting): queued now, retried for the horizon from now.",
    params(("id" = String, Path, description = "The webhook's id (`wh_` and a ULID)."), ("n" = u64, Path, minimum = 1, description = "The delivery's number.")),
    request_body(content = Option<NoFields>, description = "Nothing, or `{}`."),
    responses(
        (status = 202, description = "The delivery, pending.", body = DeliveryView), (status = 404, description = "No such webhook (or delivery) for this tenant; another tenant's included.", body = ErrorBody),
        (status = 422, description = "The delivery number is malformed.", body = ErrorBody),
    ))]
pub(crate) async fn retry(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Path<(String, String)>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let s = state.inner();
    let tenant = s.tenants.authenticate(&headers)?;
    let Path((id, n)) = params.map_err(|e| path_error(&e))?;
    let hook = load(&state, &tenant, &id).await?;
    let n = delivery_no(&n)?;
    let NoFields {} = read_json(&headers, body, s.body_limit, true).await?;
    let d = store(&state).retry_delivery(&tenant, &hook.id, n, s.clock.now()).await?.ok_or_else(
        || {
            ApiError::new(StatusCode::NOT_FOUND, "delivery_not_found", format!("no delivery {n}"))
                .field("n")
        },
    )?;
    tracing::info!(tenant = %tenant, webhook = %hook.id, delivery = n, "webhook delivery queued again");
    Ok((StatusCode::ACCEPTED, Json(delivery_view(&d))).into_response())
}

/// `GET /v1/events?after=CURSOR&limit=N`.
#[utoipa::path(get, path = "/v1/events", operation_id = "listEvents", tag = "webhooks",
    summary = "Every event of the tenant's routes after a cursor: catch up on what a webhook receiver missed.",
    description = "Start with no `after` (or 0) and pass `next_cursor` back. Each route's events come in order; an event committed later always comes after the cursor already handed out, so nothing is missed.",
    params(
        ("after" = Option<u64>, Query, description = "`next_cursor` of the previous page."),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "1 to 500 (100 when absent)."),
    ),
    responses(
        (status = 200, description = "A page of events.", body = EventLogPageView),
        (status = 422, description = "A query parameter is invalid or unknown; `error.field` names it.", body = ErrorBody),
    ))]
pub(crate) async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult<Response> {
    let tenant = state.inner().tenants.authenticate(&headers)?;
    let (after, limit) = page_params(query, "after")?;
    let after = after.unwrap_or(0);
    let page = store(&state).events_after(&tenant, after, limit).await?;
    let next = page.last().map_or(after, |e| e.cursor);
    let events = page
        .iter()
        .map(|e| LoggedEventView { event: event_view(&e.event), cursor: e.cursor.to_string() })
        .collect();
    Ok(Json(EventLogPageView { events, next_cursor: next.to_string() }).into_response())
}
