//! `POST /v1/quotes`: ranked routes and the paths not taken, remembered for a while under an id
//! so that `POST /v1/routes` can start one of them.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use starkroute_planner::{plan, PlanError, QuoteRequest};
use starkroute_store::Timestamp;

use super::body::read_json;
use super::error::{ApiError, ApiResult};
use super::{AppState, StoredQuote};

pub(crate) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let s = state.inner();
    let tenant = s.tenants.authenticate(&headers)?;
    let request: QuoteRequest = read_json(&headers, body, s.body_limit, false).await?;
    let plans = plan(&request, &s.topology, &s.costs).map_err(|e| plan_error(&e))?;
    let now = s.clock.now();
    let quote = Arc::new(StoredQuote {
        id: format!("q_{}", ulid::Ulid::new()),
        tenant,
        plans,
        created_at: now,
        expires_at: now.saturating_add(s.quote_ttl),
    });
    s.quotes.insert(quote.id.clone(), quote.clone()).await;
    s.metrics.quote();
    Ok((StatusCode::CREATED, Json(render(&quote)?)).into_response())
}

fn render(q: &StoredQuote) -> ApiResult<serde_json::Value> {
    let mut v = serde_json::to_value(&q.plans)
        .map_err(|e| ApiError::internal("rendering the quote", &e))?;
    if let Some(obj) = v.as_object_mut() {
        obj.insert("id".into(), q.id.clone().into());
        obj.insert("created_at".into(), q.created_at.as_millis().into());
        obj.insert("expires_at".into(), q.expires_at.as_millis().into());
    }
    Ok(v)
}

fn plan_error(e: &PlanError) -> ApiError {
    let field = match e {
        PlanError::UnknownToken(_) => "asset.token",
        PlanError::InvalidRequest { field, .. } | PlanError::LayerDisabled { field, .. } => field,
    };
    // The planner's message starts with the field already; keep only the reason.
    let msg = e.to_string();
    let reason = msg.strip_prefix(&format!("{field}: ")).unwrap_or(&msg).to_owned();
    ApiError::invalid(field, reason)
}

/// Whether a quote can still start a route at `now`.
pub(crate) fn is_live(q: &StoredQuote, now: Timestamp) -> bool {
    now < q.expires_at
}
