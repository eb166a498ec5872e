//! Serving adapters over HTTP.

use std::{collections::BTreeMap, sync::Arc};

use std::net::SocketAddr;

use axum::{
    body::Bytes,
    extract::{ConnectInfo, Path, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::de::DeserializeOwned;
use starkroute_layer::{AdapterError, LegIntent, Prepared, SettlementLayer};
use starkroute_types::Layer;

use crate::{AttachSignatureRequest, BalanceRequest, LayerToken, ReadinessRequest, WORKER_HEADER};

type Layers = Arc<BTreeMap<Layer, Arc<dyn SettlementLayer>>>;

/// An axum router serving `layers` (one adapter per layer; a later one for the same layer
/// replaces an earlier one) under `/v1/layers`.
///
/// With a `token`, every call must present it (`Authorization: Bearer <token>`), or it is
/// answered 401 before any adapter is reached: nothing is prepared, signed or sent. Without one,
/// the service is open to whoever reaches it: serve it on a loopback address only (`starkroute
/// sandbox` refuses another address without a token), and serve it so that requests carry
/// `ConnectInfo<SocketAddr>` (`starkroute_server::serve`, or axum's
/// `into_make_service_with_connect_info`): a caller from any other address is refused too.
pub fn router(
    layers: impl IntoIterator<Item = Arc<dyn SettlementLayer>>,
    token: Option<LayerToken>,
) -> Router {
    let layers: Layers = Arc::new(layers.into_iter().map(|l| (l.layer(), l)).collect());
    Router::new()
        .route("/v1/layers", get(list))
        .route("/v1/layers/{layer}/{call}", post(call))
        .with_state(layers)
        .layer(axum::middleware::from_fn_with_state(Arc::new(token), authorize))
}

/// Refuses a call without the token (or, with no token configured, from another host).
async fn authorize(
    State(token): State<Arc<Option<LayerToken>>>,
    req: Request,
    next: Next,
) -> Response {
    let refusal = match token.as_ref() {
        Some(t) => {
            let presented = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            match presented {
                Some(p) if t.matches(p) => None,
                Some(_) => Some("unauthorized: wrong layer token"),
                None => Some("unauthorized: missing Authorization: Bearer <layer token>"),
            }
        }
        None => match req.extensions().get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(peer)) if !peer.ip().is_loopback() => Some(
                "unauthorized: this layer service has no token and answers loopback callers only",
            ),
            _ => None,
        },
    };
    if let Some(message) = refusal {
        let worker = req
            .headers()
            .get(WORKER_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .chars()
            .take(64)
            .collect::<String>();
        tracing::warn!(path = %req.uri().path(), worker, "layer call refused: {message}");
        // Retryable for the caller: a worker with a stale token backs off until it is given the
        // right one, rather than failing the leg it was driving.
        let mut res =
            (StatusCode::UNAUTHORIZED, Json(AdapterError::retryable(message))).into_response();
        res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return res;
    }
    next.run(req).await
}

async fn list(State(layers): State<Layers>) -> Json<Vec<Layer>> {
    Json(layers.keys().copied().collect())
}

fn refuse(status: StatusCode, message: String) -> Response {
    (status, Json(AdapterError::permanent(message))).into_response()
}

fn adapter_error(e: AdapterError) -> Response {
    let status = if e.retryable {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, Json(e)).into_response()
}

fn answer<T: serde::Serialize>(layer: Layer, call: &str, r: Result<T, AdapterError>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => {
            // The worker that called gets the error and retries or fails the leg; this is the
            // adapters' side of it.
            tracing::debug!(
                layer = %layer,
                call,
                retryable = e.retryable,
                error = %e.message,
                "served layer call failed"
            );
            adapter_error(e)
        }
    }
}

/// The call's body, or why it is not one (a 400).
fn body<T: DeserializeOwned>(call: &str, bytes: &Bytes) -> Result<T, String> {
    serde_json::from_slice(bytes)
        .map_err(|e| format!("the body of a `{call}` call is invalid: {e}"))
}

async fn call(
    State(layers): State<Layers>,
    Path((layer, call)): Path<(String, String)>,
    bytes: Bytes,
) -> Response {
    let Ok(layer) = layer.parse::<Layer>() else {
        return refuse(StatusCode::NOT_FOUND, format!("`{layer}` is not a layer"));
    };
    let Some(adapter) = layers.get(&layer) else {
        return refuse(StatusCode::NOT_FOUND, format!("layer {layer} is not served here"));
    };
    match call.as_str() {
        "balance" => match body::<BalanceRequest>(&call, &bytes) {
            Ok(b) => answer(layer, &call, adapter.balance(&b.account, &b.asset).await),
            Err(m) => refuse(StatusCode::BAD_REQUEST, m),
        },
        "readiness" => match body::<ReadinessRequest>(&call, &bytes) {
            Ok(b) => answer(layer, &call, adapter.readiness(&b.account).await),
            Err(m) => refuse(StatusCode::BAD_REQUEST, m),
        },
        "prepare" => match body::<LegIntent>(&call, &bytes) {
            Ok(intent) => answer(layer, &call, adapter.prepare(&intent).await),
            Err(m) => refuse(StatusCode::BAD_REQUEST, m),
        },
        "attach-signature" => match body::<AttachSignatureRequest>(&call, &bytes) {
            Ok(b) => {
                answer(layer, &call, adapter.attach_signature(&b.prepared, &b.signature).await)
            }
            Err(m) => refuse(StatusCode::BAD_REQUEST, m),
        },
        "send" => match body::<Prepared>(&call, &bytes) {
            Ok(p) => answer(layer, &call, adapter.send(&p).await),
            Err(m) => refuse(StatusCode::BAD_REQUEST, m),
        },
        "status" => match body::<Prepared>(&call, &bytes) {
            Ok(p) => answer(layer, &call, adapter.status(&p).await),
            Err(m) => refuse(StatusCode::BAD_REQUEST, m),
        },
        other => refuse(StatusCode::NOT_FOUND, format!("`{other}` is not a layer call")),
    }
}
