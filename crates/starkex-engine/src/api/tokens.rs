//! Tokens: `/v1/tokens[/{address}]` and asset encoding, `/v1/encode/{asset|mintable-asset}`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use starkroute_crypto::mintable_asset_id;
use starkroute_types::{AssetClass, StarkExAssetType};

use super::pagination::{list, Filter, ListSpec, Order, Row};
use super::parse::{eth_str, felt_str, parse_eth, resolve_token, type_of, TokenIn};
use super::{bad, body, path, query, ApiResult, StarkExHost};
use crate::assets::TokenListing;
use crate::error::StarkExError;

#[derive(Deserialize)]
pub(super) struct EncodeIn {
    token: TokenIn,
}

pub(super) async fn encode_asset<H: StarkExHost>(
    State(host): State<Arc<H>>,
    kind: std::result::Result<Path<String>, PathRejection>,
    req: std::result::Result<Json<EncodeIn>, JsonRejection>,
) -> ApiResult {
    let kind = path(kind)?;
    let tok = body(req)?.token;
    host.with(|e, _, _| {
        let (t, id) = match kind.as_str() {
            "asset" => {
                let r = resolve_token(e, &tok)?;
                (r.asset_type, r.asset_id)
            }
            "mintable-asset" => {
                let a = parse_eth(
                    "token.data.token_address",
                    tok.field("token_address").unwrap_or(""),
                )?;
                let id = tok.field("id").ok_or_else(|| bad("token.data.id is required"))?;
                let blueprint = tok.field("blueprint").unwrap_or("");
                let t = match tok.kind.as_str() {
                    "ERC721" => type_of(AssetClass::MintableErc721, Some(&a), 1)?,
                    "ERC20" => {
                        let q = e.listing(Some(&a)).map_or(1, |l| l.quantum);
                        type_of(AssetClass::MintableErc20, Some(&a), q)?
                    }
                    other => return Err(bad(format!("{other:?} cannot be mintable")).into()),
                };
                let blob = format!("{{{id}}}:{{{blueprint}}}");
                (t, mintable_asset_id(&StarkExAssetType(t), blob.as_bytes()).0)
            }
            other => {
                return Err(bad(format!("{other:?} is neither asset nor mintable-asset")).into())
            }
        };
        Ok(Json(json!({"asset_id": felt_str(&id), "asset_type": felt_str(&t)})))
    })
}

fn token_details(l: &TokenListing) -> Value {
    json!({
        "decimals": l.decimals.to_string(),
        "image_url": "",
        "name": l.name,
        "quantum": l.quantum.to_string(),
        "symbol": l.symbol,
        "token_address": l.token.as_ref().map_or_else(
            || "0x0000000000000000000000000000000000000000".to_string(),
            eth_str,
        ),
    })
}

/// `GET /v1/tokens`'s parameters.
const TOKENS: ListSpec = ListSpec {
    filters: &[("address", Filter::Eth("/token_address")), ("symbols", Filter::OneOf("/symbol"))],
    orders: &[
        ("contract_address", Order::Text("/token_address")),
        ("name", Order::Text("/name")),
        ("symbol", Order::Text("/symbol")),
    ],
    default_desc: false,
    with_remaining: false,
};

pub(super) async fn list_tokens<H: StarkExHost>(
    State(host): State<Arc<H>>,
    q: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    host.with(|e, _, _| {
        let rows = e.listings().iter().map(|l| Row::at(token_details(l), 0, Some(l.name.clone())));
        Ok(Json(list(rows.collect(), &q, &TOKENS)?))
    })
}

pub(super) async fn get_token<H: StarkExHost>(
    State(host): State<Arc<H>>,
    address: std::result::Result<Path<String>, PathRejection>,
) -> ApiResult {
    let address = path(address)?;
    let token = match address.to_ascii_lowercase().as_str() {
        "eth" | "0x0000000000000000000000000000000000000000" => None,
        _ => Some(parse_eth("address", &address)?),
    };
    host.with(|e, _, _| {
        let l = e
            .listing(token.as_ref())
            .ok_or_else(|| StarkExError::not_found(format!("token {address} is not listed")))?;
        Ok(Json(token_details(l)))
    })
}
