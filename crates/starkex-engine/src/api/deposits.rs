//! Deposits: `/v1/signable-deposit-details`, `/v1/deposits[/{id}]`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};

use super::pagination::{list, Filter, ListSpec, Order, Row};
use super::parse::{
    check_registered_on_l1, eth_str, felt_str, parse_eth, parse_id, quantize, registered_key,
    resolve_token, SignableIn,
};
use super::render::{rfc3339, token_json, token_name, METADATA_REFUSED};
use super::{body, path, query, ApiResult, StarkExHost};
use crate::engine::{DepositRecord, StarkExEngine};
use crate::error::StarkExError;

pub(super) async fn signable_deposit<H: StarkExHost>(
    State(host): State<Arc<H>>,
    req: std::result::Result<Json<SignableIn>, JsonRejection>,
) -> ApiResult {
    let req = body(req)?;
    let user = parse_eth("user", &req.user)?;
    host.with(|e, port, _| {
        if e.faults().reject_all {
            return Err(StarkExError::OperatorUnavailable.into());
        }
        let key = registered_key(e, port, &user)?;
        let r = resolve_token(e, &req.token)?;
        check_registered_on_l1(port, &r)?;
        let amount = quantize(&r, &req.amount)?;
        let vault = e.vault_for(key, r.asset_id)?;
        let nonce = e.offer_nonce(&key);
        Ok(Json(json!({
            "amount": amount.to_string(),
            "asset_id": felt_str(&r.asset_id),
            "nonce": nonce,
            "stark_key": key.to_string(),
            "vault_id": vault.get(),
        })))
    })
}

/// `GET /v1/deposits`'s parameters.
const DEPOSITS: ListSpec = ListSpec {
    filters: &[
        ("user", Filter::Eth("/user")),
        ("status", Filter::Eq("/status")),
        ("min_timestamp", Filter::MinCreated),
        ("max_timestamp", Filter::MaxCreated),
        ("token_type", Filter::Eq("/token/type")),
        ("token_id", Filter::Eq("/token/data/token_id")),
        ("asset_id", Filter::Felt("/token/data/id")),
        ("token_address", Filter::Eth("/token/data/token_address")),
        ("token_name", Filter::TokenName),
        ("min_quantity", Filter::MinQuantity("/token/data/quantity")),
        ("max_quantity", Filter::MaxQuantity("/token/data/quantity")),
        ("metadata", Filter::Refused(METADATA_REFUSED)),
    ],
    orders: &[
        ("transaction_id", Order::Natural),
        ("created_at", Order::Created),
        ("updated_at", Order::Updated),
    ],
    default_desc: true,
    with_remaining: true,
};

pub(super) async fn list_deposits<H: StarkExHost>(
    State(host): State<Arc<H>>,
    q: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    host.with(|e, _, _| {
        let rows = e
            .deposits()
            .iter()
            .map(|d| Row::at(deposit_json(e, d), d.timestamp, token_name(e, &d.event.asset_id)));
        Ok(Json(list(rows.collect(), &q, &DEPOSITS)?))
    })
}

pub(super) async fn get_deposit<H: StarkExHost>(
    State(host): State<Arc<H>>,
    id: std::result::Result<Path<String>, PathRejection>,
) -> ApiResult {
    let id = parse_id(&path(id)?)?;
    host.with(|e, _, _| {
        let d = e
            .deposits()
            .iter()
            .find(|d| d.transaction_id == id)
            .ok_or_else(|| StarkExError::not_found(format!("deposit {id} not found")))?;
        Ok(Json(deposit_json(e, d)))
    })
}

fn deposit_json(e: &StarkExEngine, d: &DepositRecord) -> Value {
    json!({
        "transaction_id": d.transaction_id,
        "status": if d.refused.is_none() { "success" } else { "failed" },
        "user": eth_str(&d.event.depositor),
        "timestamp": rfc3339(d.timestamp),
        "token": token_json(e, &d.event.asset_id, d.event.quantized_amount),
    })
}
