//! The route-tracking page: `GET /track/{id}?t=TOKEN` for a marketplace's user, with a per-route
//! view token instead of the API key, and the tenant's view `GET /track`.
//!
//! - A view token (`vt_` and 64 hex digits: 256 bits from the OS's random source) is made when a
//!   route starts and shown once, in the `POST /v1/routes` answer (`view_token`, `track_url`);
//!   the store keeps only its SHA-256. `POST /v1/routes/{id}/view-token` makes a new one (the old
//!   one stops working), `DELETE` revokes it. It reads one route, nothing else.
//! - With the token: the page (`/track/{id}`), the route as JSON (`/track/{id}/route`) and its
//!   events as Server-Sent Events (`/track/{id}/events`, unnamed events, from `Last-Event-ID` or
//!   `?after=`). A missing, wrong or revoked token, a malformed or unknown route id: the same 404
//!   with no data, so the answer tells nothing about which routes exist.
//! - The page's HTML, CSS and JavaScript are files of this crate (`assets/`) embedded with
//!   `include_str!`: no CDN, no external fonts, no build step. Every answer under `/track` carries
//!   `Content-Security-Policy: default-src 'self'` (no inline script or style),
//!   `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer` (the token is in the URL;
//!   explorer links do not receive it) and `Cache-Control: no-store`.

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::Request;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use sha2::{Digest, Sha256};
use starkroute_store::{RouteId, RouteRecord, TenantId};
use utoipa::ToSchema;

use super::body::{read_json, NoFields};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::{events, view, AppState, Inner};

const PAGE_HTML: &str = include_str!("../../assets/track.html");
const TENANT_HTML: &str = include_str!("../../assets/tenant.html");
const NOT_FOUND_HTML: &str = include_str!("../../assets/not-found.html");
const ASSETS: &[(&str, &str, &str)] = &[
    ("track.css", "text/css; charset=utf-8", include_str!("../../assets/track.css")),
    ("track.js", "text/javascript; charset=utf-8", include_str!("../../assets/track.js")),
    ("tenant.js", "text/javascript; charset=utf-8", include_str!("../../assets/tenant.js")),
];

/// The policy of every `/track` answer: this origin only, nothing inline, no framing.
pub(crate) const CSP: &str = "default-src 'self'; base-uri 'none'; form-action 'self'; \
                              frame-ancestors 'none'; object-src 'none'";

/// A view token's prefix.
const PREFIX: &str = "vt_";

/// A new view token: `vt_` and 32 random bytes in hex.
fn new_token() -> ApiResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal("drawing a view token", &e))?;
    Ok(format!("{PREFIX}{}", hex::encode(bytes)))
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A route's new view token and the page it opens.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ViewToken)]
pub(crate) struct ViewTokenView {
    route: RouteId,
    /// `vt_` and 64 hex digits; shown in this answer only (the server keeps its SHA-256).
    #[schema(pattern = "^vt_[0-9a-f]{64}$")]
    pub(crate) view_token: String,
    /// The tracking page's path with its token, relative to the API's base URL.
    pub(crate) track_url: String,
}

/// Makes a view token for a route of `tenant`, replacing any earlier one. 404 if the tenant has
/// no such route.
pub(crate) async fn issue(s: &Inner, tenant: &TenantId, id: &RouteId) -> ApiResult<ViewTokenView> {
    let token = new_token()?;
    let hash = hex::encode(token_hash(&token));
    if !s.webhooks.set_view_token(tenant, id, Some(&hash), s.clock.now()).await? {
        return Err(ApiError::route_not_found(&id.to_string()));
    }
    tracing::info!(route_id = %id, %tenant, "view token issued");
    Ok(ViewTokenView { route: *id, track_url: format!("/track/{id}?t={token}"), view_token: token })
}

/// `POST /v1/routes/{id}/view-token`: a new view token for the route; the old one stops working.
#[utoipa::path(post, path = "/v1/routes/{id}/view-token", operation_id = "issueViewToken", tag = "track",
    summary = "A new view token for the route's tracking page; the previous one stops working.",
    description = "The token (`vt_` and 64 hex digits, 256 random bits) is shown in this answer only; the server keeps its SHA-256. It opens `/track/{id}?t=TOKEN` (the page), `/track/{id}/route` (the route as JSON) and `/track/{id}/events` (its events) read-only, for that route only.",
    params(("id" = RouteId, Path, description = "The route id (a ULID).")),
    request_body(content = Option<NoFields>, description = "Nothing, or `{}`."),
    responses(
        (status = 201, description = "The new token and the page's path.", body = ViewTokenView),
        (status = 404, description = "No such route for this tenant (`route_not_found`).", body = ErrorBody),
        (status = 422, description = "The route id is not a ULID.", body = ErrorBody),
    ))]
pub(crate) async fn reissue(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
    body: Body,
) -> ApiResult<Response> {
    let s = state.inner();
    let (tenant, id) = view::tenant_route(s, &headers, id)?;
    let NoFields {} = read_json(&headers, body, s.body_limit, true).await?;
    let answer = issue(s, &tenant, &id).await?;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// `DELETE /v1/routes/{id}/view-token`: the route's view token stops working (204).
#[utoipa::path(delete, path = "/v1/routes/{id}/view-token", operation_id = "revokeViewToken", tag = "track",
    summary = "Revoke the route's view token: its tracking page answers 404 from now on.",
    params(("id" = RouteId, Path, description = "The route id (a ULID).")),
    responses(
        (status = 204, description = "Revoked (or there was none)."),
        (status = 404, description = "No such route for this tenant (`route_not_found`).", body = ErrorBody),
        (status = 422, description = "The route id is not a ULID.", body = ErrorBody),
    ))]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let s = state.inner();
    let (tenant, id) = view::tenant_route(s, &headers, id)?;
    if !s.webhooks.set_view_token(&tenant, &id, None, s.clock.now()).await? {
        return Err(ApiError::route_not_found(&id.to_string()));
    }
    tracing::info!(route_id = %id, %tenant, "view token revoked");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Adds the `/track` headers to every answer under `/track` (the pages, their assets, the
/// token-authenticated reads, their errors and 404s included).
pub(crate) async fn secure(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let track = path == "/track" || path.starts_with("/track/");
    let mut res = next.run(req).await;
    if track {
        let h = res.headers_mut();
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
        h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

fn html(status: StatusCode, body: &'static str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// What every refused token gets, whatever the reason.
fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such route, or this tracking link is not valid (any more)",
    )
}

/// The query of a token-authenticated read: `t` (required), `after` (events only).
struct TrackQuery {
    token: Option<String>,
    after: Option<u64>,
}

fn track_query(
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
    allow_after: bool,
) -> ApiResult<TrackQuery> {
    let Query(params) =
        query.map_err(|e| ApiError::invalid("query", format!("bad query string: {e}")))?;
    let mut q = TrackQuery { token: None, after: None };
    for (name, value) in params {
        match name.as_str() {
            "t" => q.token = Some(value),
            "after" if allow_after => {
                q.after = Some(value.parse().map_err(|_| {
                    ApiError::invalid("after", "expected an event sequence number")
                })?);
            }
            other => {
                return Err(ApiError::invalid(
                    other,
                    if allow_after {
                        "unknown query parameter (t and after are)"
                    } else {
                        "unknown query parameter (t is)"
                    },
                ))
            }
        }
    }
    Ok(q)
}

/// The route a view token opens, or the one 404. The token is hashed before anything is looked
/// up, and compared with the stored hash in constant time.
async fn authorize(s: &Inner, id: &str, token: Option<&str>) -> ApiResult<RouteRecord> {
    let presented = token.filter(|t| t.len() <= 128).map(token_hash);
    let Ok(id) = id.parse::<RouteId>() else { return Err(not_found()) };
    let Some((tenant, stored)) = s.webhooks.view_token(&id).await? else {
        return Err(not_found());
    };
    let stored = crate::config::parse_sha256(&stored);
    let ok = matches!((presented, stored), (Some(p), Some(h)) if super::auth::ct_eq(&p, &h));
    if !ok {
        return Err(not_found());
    }
    s.store.get_route(&tenant, &id).await?.ok_or_else(not_found)
}

/// The route-tracking page.
#[utoipa::path(get, path = "/track/{id}", operation_id = "trackPage", tag = "track", security(),
    summary = "The route-tracking page, opened by the route's view token instead of an API key.",
    params(("id" = String, Path, description = "The route id."), ("t" = String, Query, description = "The route's view token.")),
    responses(
        (status = 200, description = "The page (HTML).", content_type = "text/html", body = String),
        (status = 404, description = "The same page for a missing, wrong or revoked token and for an unknown or malformed route id: no data.", content_type = "text/html", body = String),
    ))]
pub(crate) async fn page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    let Ok(q) = track_query(query, false) else {
        return html(StatusCode::NOT_FOUND, NOT_FOUND_HTML);
    };
    match authorize(state.inner(), &id, q.token.as_deref()).await {
        Ok(_) => html(StatusCode::OK, PAGE_HTML),
        Err(e) if e.status == StatusCode::NOT_FOUND => html(StatusCode::NOT_FOUND, NOT_FOUND_HTML),
        Err(e) => e.into_response(),
    }
}

/// The route, read with its view token.
#[utoipa::path(get, path = "/track/{id}/route", operation_id = "trackRoute", tag = "track", security(),
    summary = "The route, read with its view token (the page reads it).",
    params(("id" = String, Path, description = "The route id."), ("t" = String, Query, description = "The route's view token.")),
    responses(
        (status = 200, description = "The route.", body = super::view::RouteView),
        (status = 404, description = "A missing, wrong or revoked token, or an unknown or malformed route id: one answer, no data (`not_found`).", body = ErrorBody),
        (status = 422, description = "An unknown query parameter (only `t` is).", body = ErrorBody),
    ))]
pub(crate) async fn route_json(
    State(state): State<AppState>,
    Path(id): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult<Response> {
    let s = state.inner();
    let q = track_query(query, false)?;
    let rec = authorize(s, &id, q.token.as_deref()).await?;
    Ok(Json(view::route(s, &rec)).into_response())
}

/// The route's events, read with its view token.
#[utoipa::path(get, path = "/track/{id}/events", operation_id = "trackEvents", tag = "track", security(),
    summary = "The route's events as Server-Sent Events, read with its view token; unnamed events (an `EventSource`'s `message`), from `Last-Event-ID` or `after`, ending when the route is final.",
    params(("id" = String, Path, description = "The route id."), ("t" = String, Query, description = "The route's view token."),
        ("after" = Option<u64>, Query, description = "Only events after this sequence number."),
        ("Last-Event-ID" = Option<u64>, Header, description = "As `after`, set by an `EventSource` when it reconnects.")),
    responses(
        (status = 200, description = "The stream; each `data:` is an Event.", content_type = "text/event-stream", body = super::events::SseMessage),
        (status = 404, description = "A missing, wrong or revoked token, or an unknown or malformed route id: one answer, no data (`not_found`).", body = ErrorBody),
        (status = 422, description = "`after` or `Last-Event-ID` is not a sequence number, or an unknown query parameter.", body = ErrorBody),
        (status = 429, description = "Too many open streams of this route's page (`too_many_streams`).", body = ErrorBody),
    ))]
pub(crate) async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> ApiResult<Response> {
    let s = state.inner();
    let q = track_query(query, true)?;
    let mut after = q.after;
    if let Some(v) = headers.get("last-event-id") {
        let seq = v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()).ok_or_else(|| {
            ApiError::invalid("last-event-id", "expected an event sequence number")
        })?;
        after = Some(seq);
    }
    let rec = authorize(s, &id, q.token.as_deref()).await?;
    events::follow(s, rec.tenant, rec.id, after, false).await
}

/// The tenant's page.
#[utoipa::path(get, path = "/track", operation_id = "trackTenantPage", tag = "track", security(),
    summary = "The tenant's page: a form where the API key is typed (kept in the page, sent as a bearer header to `GET /v1/routes`, never in an address), listing the tenant's routes with a status filter.",
    responses((status = 200, description = "The page (HTML).", content_type = "text/html", body = String)))]
pub(crate) async fn tenant_page() -> Response {
    html(StatusCode::OK, TENANT_HTML)
}

/// A file of the pages.
#[utoipa::path(get, path = "/track/assets/{file}", operation_id = "trackAsset", tag = "track", security(),
    summary = "The tracking pages' stylesheet and scripts, embedded in the binary.",
    params(("file" = String, Path, description = "`track.css`, `track.js` or `tenant.js`.")),
    responses(
        (status = 200, description = "The file.", content_type = "text/css", body = String),
        (status = 200, description = "The file.", content_type = "text/javascript", body = String),
        (status = 404, description = "No such file.", content_type = "text/html", body = String),
    ))]
pub(crate) async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, mime, body)) => ([(header::CONTENT_TYPE, *mime)], *body).into_response(),
        None => html(StatusCode::NOT_FOUND, NOT_FOUND_HTML),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_bits_of_hex_and_differ() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), PREFIX.len() + 64);
        assert!(a[PREFIX.len()..].bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn every_asset_is_self_contained() {
        for (name, _, body) in ASSETS {
            for banned in ["http://", "https://", "@import", "fonts.googleapis", "cdn"] {
                assert!(!body.contains(banned), "{name} refers to {banned}");
            }
        }
        for page in [PAGE_HTML, TENANT_HTML, NOT_FOUND_HTML] {
            assert!(!page.contains("<script>"), "no inline script (CSP)");
            assert!(!page.contains("style="), "no inline style (CSP)");
            assert!(!page.contains("http://") && !page.contains("https://"));
        }
    }

    /// WCAG relative luminance of `#rgb` / `#rrggbb`.
    fn luminance(hex: &str) -> f64 {
        let h = hex.trim_start_matches('#');
        let h: String =
            if h.len() == 3 { h.chars().flat_map(|c| [c, c]).collect() } else { h.into() };
        let c = |i: usize| {
            let v = f64::from(u8::from_str_radix(&h[i..i + 2], 16).unwrap()) / 255.0;
            if v <= 0.039_28 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * c(0) + 0.7152 * c(2) + 0.0722 * c(4)
    }

    /// Every text colour of the stylesheet, in light and dark mode, is at least 7:1 (WCAG AAA)
    /// against the page and the card behind it.
    #[test]
    fn text_contrast_is_at_least_seven_to_one_in_both_modes() {
        let css = ASSETS.iter().find(|(n, _, _)| *n == "track.css").unwrap().2;
        let blocks: Vec<&str> = css.split(":root {").skip(1).collect();
        assert_eq!(blocks.len(), 2, "a light and a dark palette");
        for block in blocks {
            let block = &block[..block.find('}').unwrap()];
            let var = |name: &str| {
                let at = block.find(&format!("--{name}:")).unwrap() + name.len() + 3;
                block[at..].trim_start().split(';').next().unwrap().trim().to_owned()
            };
            for back in ["bg", "card"] {
                let b = luminance(&var(back));
                for text in ["fg", "muted", "ok", "warn", "bad", "run"] {
                    let t = luminance(&var(text));
                    let ratio = (t.max(b) + 0.05) / (t.min(b) + 0.05);
                    assert!(ratio >= 7.0, "--{text} on --{back}: {ratio:.2}:1");
                }
            }
        }
    }
}
