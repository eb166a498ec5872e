//! `GET /v1/assets` (the tokens the router knows, with their StarkEx asset types) and
//! `GET /v1/accounts/{layer}/{id}/readiness` (asked of the layer's adapter, cached briefly).

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use starkroute_types::{Account, AssetClass, Layer, Token};

use super::error::{ApiError, ApiResult, ErrorBody};

/// `GET /v1/assets`.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = Assets)]
pub(crate) struct AssetsView {
    /// The tokens with their representation on each layer (and StarkEx asset type).
    #[schema(value_type = Vec<Object>)]
    assets: Vec<Value>,
}

/// `GET /v1/accounts/{layer}/{id}/readiness`.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = Readiness)]
pub(crate) struct ReadinessView {
    account: Account,
    ready: bool,
    /// What is missing when not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    missing: Option<String>,
}
use super::AppState;

#[utoipa::path(get, path = "/v1/assets", operation_id = "listAssets", tag = "assets",
    summary = "The tokens the router knows, with their representation on each layer.",
    responses((status = 200, description = "The assets.", body = AssetsView)))]
pub(crate) async fn list(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let s = state.inner();
    s.tenants.authenticate(&headers)?;
    let topology = &s.topology;
    let assets = s
        .assets
        .get_with((), async {
            let view = AssetsView { assets: topology.tokens.iter().map(asset).collect() };
            Arc::new(serde_json::to_value(view).unwrap_or(Value::Null))
        })
        .await;
    Ok(Json(assets.as_ref().clone()).into_response())
}

/// A token with its StarkEx asset type (for fungible and ERC-721 listings; a mintable asset's
/// type is per collection too, its ids per minting blob).
fn asset(t: &Token) -> Value {
    let mut v = serde_json::to_value(t).unwrap_or(Value::Null);
    if let (Some(listing), Some(obj)) =
        (&t.starkex, v.get_mut("starkex").and_then(Value::as_object_mut))
    {
        let l1 = if t.class == AssetClass::Eth { None } else { t.l1.as_ref() };
        if let Ok(info) = starkroute_crypto::asset_info(t.class, l1) {
            let ty = starkroute_crypto::asset_type(&info, listing.quantum);
            obj.insert("asset_type".into(), json!(ty));
        }
    }
    v
}

#[utoipa::path(get, path = "/v1/accounts/{layer}/{id}/readiness", operation_id = "accountReadiness", tag = "assets",
    summary = "Whether an account can take part: a Stark key registered on StarkEx, a Starknet account deployed.",
    params(
        ("layer" = Layer, Path),
        ("id" = String, Path, description = "The account: an L1 address, a Stark key or a Starknet address."),
    ),
    responses(
        (status = 200, description = "The answer (cached for a few seconds).", body = ReadinessView),
        (status = 422, description = "The layer or the account is malformed, or no adapter serves the layer.", body = ErrorBody),
        (status = 503, description = "The layer does not answer.", body = ErrorBody),
    ))]
pub(crate) async fn readiness(
    State(state): State<AppState>,
    headers: HeaderMap,
    params: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<Response> {
    let s = state.inner();
    s.tenants.authenticate(&headers)?;
    let Path((layer, id)) =
        params.map_err(|e| ApiError::invalid("path", format!("bad path parameter: {e}")))?;
    let layer: Layer = layer
        .parse()
        .map_err(|_| ApiError::invalid("layer", "expected l1, starkex or starknet"))?;
    let account = Account::parse(layer, &id).map_err(|e| ApiError::invalid("id", e.to_string()))?;
    let adapter = s.layers.get(&layer).cloned().ok_or_else(|| {
        ApiError::invalid("layer", format!("no adapter for {layer} is configured"))
    })?;
    let answer = s
        .readiness
        .try_get_with(account, async move { adapter.readiness(&account).await })
        .await
        .map_err(|e| {
            if e.retryable {
                ApiError::unavailable("the layer", &e)
            } else {
                ApiError::invalid("id", e.message.clone())
            }
        })?;
    let view =
        ReadinessView { account: answer.account, ready: answer.ready, missing: answer.missing };
    Ok(Json(view).into_response())
}
