//! Routes: start one from a quote (idempotently), read, list, sign a paused leg, cancel.

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use starkroute_executor::RouteOrder;
use starkroute_store::{IdempotencyKey, ListQuery, RouteId, TenantId};
use starkroute_types::{RouteId as RouteIdSchema, RouteStatus};
use utoipa::ToSchema;

use super::body::{path_error, read_json, NoFields};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::quotes::is_live;
use super::view::{RoutePageView, RouteView};
use super::{view, AppState, IdempotentStart};

/// The header naming a create request for retries.
const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// `POST /v1/routes`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StartRoute {
    /// The quote's id (`id` of a quote answer).
    quote_id: String,
    /// Which of its routes, 0 = the best ranked.
    #[schema(maximum = 65535)]
    route_index: u16,
}

/// `POST /v1/routes/{id}/legs/{n}/signature`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Signature)]
pub(crate) struct SignatureBody {
    /// 0x-prefixed hex (at most 1024 digits): r‖s for Stark, r‖s‖v (65 bytes) for Ethereum
    /// personal_sign.
    signature: String,
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(v) = headers.get(IDEMPOTENCY_HEADER) else { return Ok(None) };
    let key = v
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::invalid(
                IDEMPOTENCY_HEADER,
                "an idempotency key is 1 to 255 printable ASCII characters without spaces",
            )
        })?;
    Ok(Some(key.to_owned()))
}

async fn load(state: &AppState, tenant: &TenantId, id: &RouteId) -> ApiResult<Response> {
    let rec = state
        .inner()
        .store
        .get_route(tenant, id)
        .await?
        .ok_or_else(|| ApiError::route_not_found(&id.to_string()))?;
    Ok(Json(view::route(state.inner(), &rec)).into_response())
}

#[utoipa::path(post, path = "/v1/routes", operation_id = "createRoute", tag = "routes",
    summary = "Start one of a quote's routes.",
    description = "With an `Idempotency-Key`, the same key and body return the same route, never a second one; the same key with another body is a 409.",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$",
        description = "1 to 255 printable ASCII characters without spaces; anything else is a 422 naming `idempotency-key`.")),
    request_body = StartRoute,
    responses(
        (status = 201, description = "The route, pending.", body = RouteView, links(
                ("getRoute" = (operation_id = "getRoute", parameters(("id" = "$response.body#/id")))),
                ("cancelRoute" = (operation_id = "cancelRoute", parameters(("id" = "$response.body#/id")))),
            )),
        (status = 200, description = "The route this Idempotency-Key started before: every replay of the key (concurrent ones included) is a 200, only the call that created the route is a 201.", body = RouteView),
        (status = 404, description = "No such quote for this tenant (`quote_not_found`).", body = ErrorBody),
        (status = 409, description = "The Idempotency-Key was used with another body (`idempotency_conflict`).", body = ErrorBody),
        (status = 410, description = "The quote has expired (`quote_expired`).", body = ErrorBody),
        (status = 503, description = "On a configured network: a layer's live fees are too old (`fees_unavailable`): a route does not start on prices read before a node stopped answering; or the request timed out.", body = ErrorBody),
        (status = 422, description = "A field is invalid (`route_index` beyond the quote's routes, the Idempotency-Key); `error.field` names it.", body = ErrorBody),
    ))]
pub(crate) async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    let s = state.inner();
    let tenant = s.tenants.authenticate(&headers)?;
    let key = idempotency_key(&headers)?;
    let start: StartRoute = read_json(&headers, body, s.body_limit, false).await?;
    // The fingerprint of the request is its canonical form, so formatting does not matter.
    let canonical =
        serde_json::to_vec(&start).map_err(|e| ApiError::internal("fingerprinting", &e))?;
    let fingerprint = hex::encode(Sha256::digest(&canonical));
    if let Some(k) = &key {
        if let Some(prev) = s.starts.get(&(tenant.clone(), k.clone())).await {
            if prev.fingerprint != fingerprint {
                return Err(idempotency_conflict());
            }
            return load(&state, &tenant, &prev.route).await;
        }
    }
    let quote =
        s.quotes.get(&start.quote_id).await.filter(|q| q.tenant == tenant).ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "quote_not_found",
                "no such quote (or it is long gone)",
            )
            .field("quote_id")
        })?;
    let route = quote.plans.routes.get(usize::from(start.route_index)).ok_or_else(|| {
        ApiError::invalid(
            "route_index",
            format!(
                "the quote has {} routes (0 to {})",
                quote.plans.routes.len(),
                quote.plans.routes.len().saturating_sub(1)
            ),
        )
    })?;
    if !is_live(&quote, s.clock.now()) {
        return Err(ApiError::new(
            StatusCode::GONE,
            "quote_expired",
            format!("the quote expired at {} ms; ask for a new one", quote.expires_at.as_millis()),
        )
        .field("quote_id"));
    }
    // On a configured network, a route starts only while its layers' fees are fresh: a quote
    // priced before a node stopped answering does not start a route on stale prices.
    s.costs()?;
    let idem = match &key {
        Some(k) => Some(
            IdempotencyKey::new(k.clone(), fingerprint.clone())
                .map_err(|e| ApiError::invalid(IDEMPOTENCY_HEADER, e.to_string()))?,
        ),
        None => None,
    };
    let order = RouteOrder { asset: quote.plans.asset.clone(), amount: quote.plans.amount };
    let (rec, created) =
        s.executor.create_route_once(&tenant, idem.as_ref(), route, &order).await?;
    if let Some(k) = key {
        s.starts.insert((tenant, k), IdempotentStart { fingerprint, route: rec.id }).await;
    }
    // 201 only for the call that created the route; every replay of its key is a 200, however
    // the calls interleave.
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    let mut answer = view::route(s, &rec);
    if created {
        // The tracking page's read-only token, shown in this answer only (its hash is stored).
        let token = super::track::issue(s, &rec.tenant, &rec.id).await?;
        answer.view_token = Some(token.view_token);
        answer.track_url = Some(token.track_url);
    }
    Ok((status, Json(answer)).into_response())
}

fn idempotency_conflict() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "idempotency_conflict",
        "this Idempotency-Key was already used with a different request body",
    )
    .field(IDEMPOTENCY_HEADER)
}

#[utoipa::path(get, path = "/v1/routes/{id}", operation_id = "getRoute", tag = "routes",
    summary = "A route: its legs' progress, what a paused leg needs signed, its outcome.",
    params(("id" = RouteIdSchema, Path, description = "The route id (a ULID); anything else is a 422 naming `id`.")),
    responses(
        (status = 200, description = "The route.", body = RouteView),
        (status = 404, description = "No such route for this tenant, another tenant's included (`route_not_found`).", body = ErrorBody),
        (status = 422, description = "The route id is not a ULID.", body = ErrorBody),
    ))]
pub(crate) async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let (tenant, id) = view::tenant_route(state.inner(), &headers, id)?;
    load(&state, &tenant, &id).await
}

#[utoipa::path(get, path = "/v1/routes", operation_id = "listRoutes", tag = "routes",
    summary = "The tenant's routes, newest first, a page at a time.",
    params(
        ("status" = Option<RouteStatus>, Query, description = "Only routes in this status."),
        ("limit" = Option<u32>, Query, minimum = 1, description = "1 to api.max_page (100 by default; 50 when absent); anything else is a 422 naming `limit`."),
        ("cursor" = Option<RouteIdSchema>, Query, description = "`next` of the previous page."),
    ),
    responses(
        (status = 200, description = "A page.", body = RoutePageView),
        (status = 422, description = "A query parameter is invalid or unknown; `error.field` names it.", body = ErrorBody),
    ))]
pub(crate) async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult<Response> {
    let s = state.inner();
    let tenant = s.tenants.authenticate(&headers)?;
    let Query(params) =
        query.map_err(|e| ApiError::invalid("query", format!("bad query string: {e}")))?;
    let mut q = ListQuery::first(s.max_page.min(50));
    for (name, value) in params {
        match name.as_str() {
            "status" => {
                q.status = Some(
                    serde_json::from_value::<RouteStatus>(json!(value)).map_err(|_| {
                        ApiError::invalid(
                            "status",
                            "expected pending, running, awaiting_signature, completed, failed or cancelled",
                        )
                    })?,
                );
            }
            "limit" => {
                q.limit =
                    value.parse::<u32>().ok().filter(|n| (1..=s.max_page).contains(n)).ok_or_else(
                        || ApiError::invalid("limit", format!("expected 1 to {}", s.max_page)),
                    )?;
            }
            "cursor" => {
                q.cursor = Some(value.parse().map_err(|_| {
                    ApiError::invalid("cursor", "not a cursor from a previous page's `next`")
                })?);
            }
            other => {
                return Err(ApiError::invalid(
                    other,
                    "unknown query parameter (status, limit and cursor are)",
                ))
            }
        }
    }
    let page = s.store.list_routes(&tenant, &q).await?;
    let routes = page.routes.iter().map(|r| view::route(s, r)).collect();
    Ok(Json(RoutePageView { routes, next: page.next }).into_response())
}

#[utoipa::path(post, path = "/v1/routes/{id}/legs/{n}/signature", operation_id = "signLeg", tag = "routes",
    summary = "Sign a leg paused on a signature (its `signature_request` says what to sign), and resume the route.",
    params(
        ("id" = RouteIdSchema, Path, description = "The route id (a ULID)."),
        ("n" = u16, Path, minimum = 0, maximum = 65535, description = "The leg's index, from 0 (anything else is a 422 naming `n`)."),
    ),
    request_body = SignatureBody,
    responses(
        (status = 200, description = "The route, resumed.", body = RouteView),
        (status = 404, description = "No such route for this tenant (`route_not_found`), or no such leg.", body = ErrorBody),
        (status = 409, description = "The leg is not awaiting a signature.", body = ErrorBody),
        (status = 422, description = "The route id or leg index is malformed, or the signature is malformed or does not match; the leg still awaits one.", body = ErrorBody),
    ))]
pub(crate) async fn signature(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Path<(String, String)>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let s = state.inner();
    let tenant = s.tenants.authenticate(&headers)?;
    let Path((id, n)) = params.map_err(|e| path_error(&e))?;
    let id = view::route_id(&id)?;
    let leg: u16 =
        n.parse().map_err(|_| ApiError::invalid("n", format!("{n:?} is not a leg index")))?;
    let body: SignatureBody = read_json(&headers, body, s.body_limit, false).await?;
    let sig = body.signature.trim();
    let hex_ok = sig.strip_prefix("0x").is_some_and(|h| {
        !h.is_empty() && h.len() <= 1024 && h.bytes().all(|b| b.is_ascii_hexdigit())
    });
    if !hex_ok {
        return Err(ApiError::invalid("signature", "expected 0x-prefixed hex"));
    }
    s.executor.submit_signature(&tenant, &id, leg, sig).await?;
    load(&state, &tenant, &id).await
}

#[utoipa::path(post, path = "/v1/routes/{id}/cancel", operation_id = "cancelRoute", tag = "routes",
    summary = "Cancel a route before its first irreversible leg may have been sent.",
    params(("id" = RouteIdSchema, Path, description = "The route id (a ULID).")),
    request_body(content = Option<NoFields>, description = "Nothing, or `{}`."),
    responses(
        (status = 200, description = "The route, cancelled, with its outcome.", body = RouteView),
        (status = 404, description = "No such route for this tenant (`route_not_found`).", body = ErrorBody),
        (status = 409, description = "Refused: an irreversible leg may have been sent (the message names it), or the route is already final.", body = ErrorBody),
        (status = 422, description = "The route id is not a ULID.", body = ErrorBody),
    ))]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let s = state.inner();
    let (tenant, id) = view::tenant_route(s, &headers, id)?;
    let NoFields {} = read_json(&headers, body, s.body_limit, true).await?;
    s.executor.cancel(&tenant, &id).await?;
    load(&state, &tenant, &id).await
}
