//! Health, readiness, metrics and the OpenAPI document: no API key needed.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use starkroute_store::{ListQuery, TenantId};

use super::error::{ApiError, ApiResult, ErrorBody};
use super::AppState;

/// `GET /healthz`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema: the answer is a constant
pub(crate) struct Health {
    #[schema(pattern = "^ok$")]
    status: String,
}

/// `GET /readyz`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a schema: the answer is a constant
pub(crate) struct Ready {
    #[schema(pattern = "^ready$")]
    status: String,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", operation_id = "healthz", tag = "ops", security(),
    summary = "The process is up.",
    responses((status = 200, description = "Up.", body = Health)))]
pub(crate) async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

/// The process can serve: its store answers.
#[utoipa::path(get, path = "/readyz", operation_id = "readyz", tag = "ops", security(),
    summary = "The process can serve (its store answers).",
    responses(
        (status = 200, description = "Ready.", body = Ready),
        (status = 503, description = "The store does not answer (`store_unreachable`).", body = ErrorBody),
    ))]
pub(crate) async fn readyz(State(state): State<AppState>) -> ApiResult<Response> {
    // A tenant name no API key maps to: the probe reads an empty page.
    let probe = TenantId::new("-readyz-").map_err(|e| ApiError::internal("readyz", &e))?;
    match state.inner().store.list_routes(&probe, &ListQuery::first(1)).await {
        Ok(_) => Ok(Json(json!({ "status": "ready" })).into_response()),
        Err(e) => {
            tracing::warn!(error = %e, "readyz: the route store does not answer");
            Ok((
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": { "code": "store_unreachable", "message": "the route store does not answer" } })),
            )
                .into_response())
        }
    }
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", operation_id = "metrics", tag = "ops", security(),
    summary = "Counters in the Prometheus text format.",
    responses((status = 200, description = "Metrics.", content_type = "text/plain", body = String)))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = state.metrics().render();
    super::metrics::render_executor(&mut text, &state.inner().executor.metrics().snapshot());
    super::limits::render(&mut text, &state.inner().limits);
    state.inner().webhook_metrics.render(&mut text);
    if let Some(fees) = &state.inner().fees {
        fees.metrics().render(&mut text);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// The OpenAPI 3.1 document.
#[utoipa::path(get, path = "/openapi.json", operation_id = "openapi", tag = "ops", security(),
    summary = "This document.",
    responses((status = 200, description = "OpenAPI 3.1.", body = Object)))]
pub(crate) async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        axum::body::Bytes::from_static(super::openapi::document_bytes()),
    )
        .into_response()
}
