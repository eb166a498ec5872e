//! `POST /v1/quotes`: ranked routes and the paths not taken, remembered for a while under an id
//! so that `POST /v1/routes` can start one of them.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use starkroute_planner::{plan, Objective, PlanError, QuoteRequest, Rejection};
use starkroute_store::Timestamp;
use starkroute_types::{Amount, Asset, Route};

use super::body::{parse_json, read_bytes};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::{AppState, StoredQuote};

#[utoipa::path(post, path = "/v1/quotes", operation_id = "createQuote", tag = "quotes",
    summary = "Quote ranked routes for moving an asset, with the paths not taken and why.",
    request_body(content = QuoteRequest, example = gift_example),
    responses(
        (status = 201, description = "The quote: routes best first, each with legs, fees and ETAs; rejected paths with reasons; an id and an expiry.", body = QuoteView<'static>,
            links(("startRoute" = (operation_id = "createRoute",
                request_body = json!({ "quote_id": "$response.body#/id", "route_index": 0 }),
                description = "Start the quote's best route.")))),
        (status = 422, description = "A field is invalid (an unknown token, a malformed account or amount, a disabled layer); `error.field` names it.", body = ErrorBody),
        (status = 503, description = "On a configured network: a layer's live fees are older than network.fees.max_age_secs because its node does not answer (`fees_unavailable`, the message naming the layer); or the request timed out.", body = ErrorBody),
    ))]
pub(crate) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let s = state.inner();
    let tenant = s.tenants.authenticate(&headers)?;
    let bytes = read_bytes(&headers, body, s.body_limit).await?;
    // Priced from fresh figures only (a configured network's live fees), even for a repeat.
    let costs = s.costs()?;
    // The same request from the same tenant a moment ago: the same quote (plans depend only on
    // the request and the configuration). It is served only while most of its life is left.
    let key = (tenant.clone(), <[u8; 32]>::from(Sha256::digest(&bytes)));
    let now = s.clock.now();
    if let Some(hit) = s.recent_quotes.get(&key).await {
        if now < hit.fresh_until {
            s.metrics.quote();
            return Ok(created(hit.body.clone()));
        }
    }
    let request: QuoteRequest = parse_json(&bytes, false)?;
    let plans = plan(&request, &s.topology, &costs).map_err(|e| plan_error(&e))?;
    let quote = Arc::new(StoredQuote {
        id: format!("q_{}", ulid::Ulid::new()),
        tenant,
        plans,
        created_at: now,
        expires_at: now.saturating_add(s.quote_ttl),
    });
    let body = Bytes::from(render(&quote)?);
    s.quotes.insert(quote.id.clone(), quote.clone()).await;
    let fresh_until = now.saturating_add(s.quote_ttl / RECENT_SHARE);
    s.recent_quotes.insert(key, Arc::new(RecentQuote { body: body.clone(), fresh_until })).await;
    s.metrics.quote();
    Ok(created(body))
}

/// The README's gift request (Alice → Bob in the sandbox), the documented example of a quote
/// request.
fn gift_example() -> serde_json::Value {
    serde_json::from_str(include_str!("../../../../examples/requests/alice_to_bob_gift.json"))
        .unwrap_or_default()
}

/// A quote is answered again for an identical request during this share of its life.
pub(crate) const RECENT_SHARE: u32 = 10;

/// A rendered quote, answered again for the same request while fresh.
#[derive(Debug)]
pub(crate) struct RecentQuote {
    body: Bytes,
    fresh_until: Timestamp,
}

fn created(body: Bytes) -> Response {
    (StatusCode::CREATED, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// The quote as the API shows it: the plans' fields, with its id and validity, serialised
/// straight to bytes.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Quote)]
pub(crate) struct QuoteView<'a> {
    /// `q_` and a ULID.
    #[schema(pattern = "^q_[0-9A-HJKMNP-TV-Z]{26}$")]
    id: &'a str,
    /// Milliseconds since the epoch.
    created_at: i64,
    /// Milliseconds since the epoch; after it the quote cannot start a route.
    expires_at: i64,
    /// The asset as resolved from the topology.
    #[schema(value_type = Object)]
    asset: &'a Asset,
    /// In base units (1 for an NFT).
    #[schema(value_type = Amount)]
    amount: &'a Amount,
    #[schema(value_type = Objective)]
    objective: &'a Objective,
    /// Alternatives, best first.
    #[schema(value_type = Vec<Route>)]
    routes: &'a [Route],
    /// The paths not taken, and why.
    #[schema(value_type = Vec<Rejection>)]
    rejected: &'a [Rejection],
}

fn render(q: &StoredQuote) -> ApiResult<Vec<u8>> {
    let p = &q.plans;
    let view = QuoteView {
        id: &q.id,
        created_at: q.created_at.as_millis(),
        expires_at: q.expires_at.as_millis(),
        asset: &p.asset,
        amount: &p.amount,
        objective: &p.objective,
        routes: &p.routes,
        rejected: &p.rejected,
    };
    serde_json::to_vec(&view).map_err(|e| ApiError::internal("rendering the quote", &e))
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
