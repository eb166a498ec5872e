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
use serde::Deserialize;
use serde_json::{json, Value};
use starkroute_store::{
    Attempt, Delivery, NewWebhook, TenantId, Webhook, WebhookId, WebhookStore, ALL_EVENTS,
};

use super::body::{path_error, read_json, NoFields};
use super::error::{ApiError, ApiResult};
use super::AppState;
use crate::webhooks::{self as hooks, sign, target};

/// The longest description.
const MAX_DESCRIPTION: usize = 256;
/// Most event kinds in one subscription.
const MAX_EVENTS: usize = 64;
/// The largest page of deliveries or events.
const MAX_PAGE: u32 = 500;

/// `POST /v1/webhooks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateWebhook {
    url: String,
    events: Vec<String>,
    #[serde(default)]
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
fn view(w: &Webhook) -> Value {
    json!({
        "id": w.id,
        "url": w.url,
        "events": w.events,
        "description": w.description,
        "previous_secret_expires_at": w.previous_secret.as_ref().map(|(_, at)| at.as_millis()),
        "created_at": w.created_at.as_millis(),
        "updated_at": w.updated_at.as_millis(),
    })
}

fn attempt_view(a: &Attempt) -> Value {
    json!({
        "at": a.at.as_millis(),
        "status": a.status,
        "latency_ms": a.latency_ms,
        "error": a.error,
        "response": a.response,
    })
}

fn delivery_view(d: &Delivery) -> Value {
    json!({
        "id": d.id,
        "webhook": d.webhook,
        "event": hooks::payload(&d.event),
        "state": d.state,
        "attempts": d.attempts,
        "next_attempt_at": (d.state == starkroute_store::DeliveryState::Pending)
            .then_some(d.next_attempt_at.as_millis()),
        "queued_at": d.queued_at.as_millis(),
        "delivered_at": d.delivered_at.map(|t| t.as_millis()),
        "last_attempt": d.last_attempt.as_ref().map(attempt_view),
    })
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
    let mut v = view(&hook);
    v["secret"] = json!(hook.secret.expose());
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

pub(crate) async fn list(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let tenant = state.inner().tenants.authenticate(&headers)?;
    let hooks: Vec<Value> = store(&state).list_webhooks(&tenant).await?.iter().map(view).collect();
    Ok(Json(json!({ "webhooks": hooks })).into_response())
}

pub(crate) async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let tenant = state.inner().tenants.authenticate(&headers)?;
    let Path(id) = id.map_err(|e| path_error(&e))?;
    Ok(Json(view(&load(&state, &tenant, &id).await?)).into_response())
}

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
    let mut v = view(&hook);
    v["secret"] = json!(hook.secret.expose());
    Ok(Json(v).into_response())
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
    let items: Vec<Value> = page.iter().map(delivery_view).collect();
    Ok(Json(json!({ "deliveries": items, "next": next })).into_response())
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

pub(crate) async fn delivery(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Response> {
    let tenant = state.inner().tenants.authenticate(&headers)?;
    let Path((id, n)) = params.map_err(|e| path_error(&e))?;
    let hook = load(&state, &tenant, &id).await?;
    let d = find_delivery(&state, &tenant, &hook, delivery_no(&n)?).await?;
    let attempts: Vec<Value> =
        store(&state).delivery_attempts(&tenant, d.id).await?.iter().map(attempt_view).collect();
    let mut v = delivery_view(&d);
    v["attempt_log"] = json!(attempts);
    Ok(Json(v).into_response())
}

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
    let items: Vec<Value> = page
        .iter()
        .map(|e| {
            let mut v = hooks::payload(&e.event);
            v["cursor"] = json!(e.cursor.to_string());
            v
        })
        .collect();
    Ok(Json(json!({ "events": items, "next_cursor": next.to_string() })).into_response())
}
