//! Withdrawals: the v1 and v2 signable details, `POST /v1/withdrawals` and `/v2/withdrawals`,
//! `/v1/withdrawals[/{id}]`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use starkroute_types::{parse_u256, EthAddress};

use super::pagination::{list, Filter, ListSpec, Order, Row};
use super::parse::{
    check_eth_sender, eth_headers_signer, eth_str, felt_str, parse_eth, parse_felt_field, parse_id,
    parse_key, parse_sig, parse_vault, quantize, registered_key, resolve_asset_id, resolve_token,
    sender_vault, signable_message, SignableIn,
};
use super::render::{rfc3339, rollup_status, token_json, token_name, who, METADATA_REFUSED};
use super::{bad, body, path, query, ApiResult, StarkExHost};
use crate::engine::{
    StarkExEngine, WithdrawalOrder, WithdrawalReceiver, WithdrawalRecord, WithdrawalRequest,
    MAX_EXPIRATION_HOURS, WITHDRAWAL_RECEIVER_VAULT,
};
use crate::error::StarkExError;
use crate::port::StarkExContractPort;

pub(super) async fn signable_withdrawal_v1<H: StarkExHost>(
    State(host): State<Arc<H>>,
    req: std::result::Result<Json<SignableIn>, JsonRejection>,
) -> ApiResult {
    signable_withdrawal(&*host, &body(req)?, false)
}

pub(super) async fn signable_withdrawal_v2<H: StarkExHost>(
    State(host): State<Arc<H>>,
    req: std::result::Result<Json<SignableIn>, JsonRejection>,
) -> ApiResult {
    signable_withdrawal(&*host, &body(req)?, true)
}

fn signable_withdrawal<H: StarkExHost>(host: &H, req: &SignableIn, v2: bool) -> ApiResult {
    let user = parse_eth("user", &req.user)?;
    host.with(|e, port, now| {
        if e.faults().reject_all {
            return Err(StarkExError::OperatorUnavailable.into());
        }
        let key = registered_key(e, port, &user)?;
        let r = resolve_token(e, &req.token)?;
        let amount = quantize(&r, &req.amount)?;
        let vault = sender_vault(e, &key, &r.asset_id)?;
        let nonce = e.offer_nonce(&key);
        let order = WithdrawalOrder {
            sender: key,
            vault,
            asset_id: r.asset_id,
            amount,
            nonce,
            expiration_hours: if v2 {
                (now / 3600 + e.config().order_validity_hours).min(MAX_EXPIRATION_HOURS)
            } else {
                MAX_EXPIRATION_HOURS
            },
            receiver: if v2 {
                WithdrawalReceiver::EthAddress(user)
            } else {
                WithdrawalReceiver::StarkKey
            },
        };
        let hash = order.message_hash()?;
        let readable = json!({"type": "withdrawal", "sender_stark_key": key.to_string(),
            "sender_vault_id": vault.get(), "asset_id": felt_str(&r.asset_id),
            "quantized_amount": amount.to_string(), "nonce": nonce,
            "expiration_timestamp": order.expiration_hours})
        .to_string();
        // Both versions answer `amount` in base units, as the request gave it (v2 adds the
        // quantized amount the order signs).
        let base = (alloy_primitives::U256::from(amount) * alloy_primitives::U256::from(r.quantum))
            .to_string();
        let mut out = json!({
            "amount": base,
            "asset_id": felt_str(&r.asset_id),
            "nonce": nonce,
            "payload_hash": felt_str(&hash),
            "readable_transaction": readable,
            "signable_message": signable_message([&hash]),
            "verification_signature": e.operator_sign(&hash),
        });
        if v2 {
            out["quantized_amount"] = json!(amount.to_string());
            out["expiration_timestamp"] = json!(order.expiration_hours);
            out["receiver_stark_key"] = json!(eth_str(&user));
            out["receiver_vault_id"] = json!(WITHDRAWAL_RECEIVER_VAULT);
            out["sender_stark_key"] = json!(key.to_string());
            out["sender_vault_id"] = json!(vault.get());
        } else {
            out["stark_key"] = json!(key.to_string());
            out["vault_id"] = json!(vault.get());
        }
        Ok(Json(out))
    })
}

#[derive(Deserialize)]
pub(super) struct CreateWithdrawalV1In {
    amount: String,
    asset_id: String,
    nonce: u64,
    stark_key: String,
    stark_signature: String,
    vault_id: u64,
}

#[derive(Deserialize)]
pub(super) struct CreateWithdrawalV2In {
    amount: String,
    asset_id: String,
    expiration_timestamp: u64,
    nonce: u64,
    receiver_stark_key: String,
    #[serde(default)]
    receiver_vault_id: Option<u64>,
    sender_stark_key: String,
    sender_vault_id: u64,
    stark_signature: String,
}

pub(super) async fn create_withdrawal_v1<H: StarkExHost>(
    State(host): State<Arc<H>>,
    headers: HeaderMap,
    req: std::result::Result<Json<CreateWithdrawalV1In>, JsonRejection>,
) -> ApiResult {
    let req = body(req)?;
    let sender = parse_key("stark_key", &req.stark_key)?;
    let vault = parse_vault("vault_id", req.vault_id)?;
    let asset_id = parse_felt_field("asset_id", &req.asset_id)?;
    // The official clients (imx-core-sdk's `prepareWithdrawal`, the Go SDK) send the amount they
    // asked the signable details for: base units. The order the Stark key signed is quantized.
    let asset = host.with(|e, port, _| resolve_asset_id(e, port, &asset_id))?;
    let order = WithdrawalOrder {
        sender,
        vault,
        asset_id,
        amount: quantize(&asset, &req.amount)?,
        nonce: req.nonce,
        expiration_hours: MAX_EXPIRATION_HOURS,
        receiver: WithdrawalReceiver::StarkKey,
    };
    let request = WithdrawalRequest { order, signature: parse_sig(&req.stark_signature)? };
    create_withdrawal(&*host, &headers, &request)
}

pub(super) async fn create_withdrawal_v2<H: StarkExHost>(
    State(host): State<Arc<H>>,
    headers: HeaderMap,
    req: std::result::Result<Json<CreateWithdrawalV2In>, JsonRejection>,
) -> ApiResult {
    let req = body(req)?;
    if req.receiver_vault_id.is_some_and(|v| v != WITHDRAWAL_RECEIVER_VAULT) {
        return Err(bad("receiver_vault_id must be 0 (the withdrawal vault)").into());
    }
    let receiver = parse_u256(&req.receiver_stark_key)
        .ok()
        .filter(|v| v.bit_len() <= 160)
        .and_then(|v| {
            EthAddress::new(alloy_primitives::Address::from_slice(&v.to_be_bytes::<32>()[12..]))
                .ok()
        })
        .ok_or_else(|| bad("receiver_stark_key must be the L1 wallet address"))?;
    let sender = parse_key("sender_stark_key", &req.sender_stark_key)?;
    let vault = parse_vault("sender_vault_id", req.sender_vault_id)?;
    let asset_id = parse_felt_field("asset_id", &req.asset_id)?;
    // Base units, as in v1 (the official v2 workflow sends the amount it asked the details for).
    let asset = host.with(|e, port, _| resolve_asset_id(e, port, &asset_id))?;
    let order = WithdrawalOrder {
        sender,
        vault,
        asset_id,
        amount: quantize(&asset, &req.amount)?,
        nonce: req.nonce,
        expiration_hours: req.expiration_timestamp,
        receiver: WithdrawalReceiver::EthAddress(receiver),
    };
    let request = WithdrawalRequest { order, signature: parse_sig(&req.stark_signature)? };
    create_withdrawal(&*host, &headers, &request)
}

fn create_withdrawal<H: StarkExHost>(
    host: &H,
    headers: &HeaderMap,
    request: &WithdrawalRequest,
) -> ApiResult {
    let hash = request.order.message_hash()?;
    let signer = eth_headers_signer(headers, &signable_message([&hash]));
    host.with(|e, port, now| {
        if e.faults().reject_all {
            return Err(StarkExError::OperatorUnavailable.into());
        }
        check_eth_sender(e, port, signer, &request.order.sender)?;
        let id = e.withdraw(port, now, request)?;
        Ok(Json(json!({"status": "success", "time": now, "withdrawal_id": id})))
    })
}

/// `GET /v1/withdrawals`'s parameters.
const WITHDRAWALS: ListSpec = ListSpec {
    filters: &[
        ("withdrawn_to_wallet", Filter::Bool("/withdrawn_to_wallet")),
        ("rollup_status", Filter::Eq("/rollup_status")),
        ("user", Filter::Eth("/sender")),
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

pub(super) async fn list_withdrawals<H: StarkExHost>(
    State(host): State<Arc<H>>,
    q: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    host.with(|e, port, _| {
        let rows = e
            .withdrawals()
            .iter()
            .map(|w| Row::at(withdrawal_json(e, port, w), w.timestamp, token_name(e, &w.asset_id)));
        Ok(Json(list(rows.collect(), &q, &WITHDRAWALS)?))
    })
}

pub(super) async fn get_withdrawal<H: StarkExHost>(
    State(host): State<Arc<H>>,
    id: std::result::Result<Path<String>, PathRejection>,
) -> ApiResult {
    let id = parse_id(&path(id)?)?;
    host.with(|e, port, _| {
        let w = e
            .withdrawals()
            .iter()
            .find(|w| w.transaction_id == id)
            .ok_or_else(|| StarkExError::not_found(format!("withdrawal {id} not found")))?;
        Ok(Json(withdrawal_json(e, port, w)))
    })
}

fn withdrawal_json(
    e: &StarkExEngine,
    port: &dyn StarkExContractPort,
    w: &WithdrawalRecord,
) -> Value {
    json!({
        "transaction_id": w.transaction_id,
        "status": "success",
        "rollup_status": rollup_status(e, w.transaction_id),
        "sender": who(e, port, &w.stark_key),
        "timestamp": rfc3339(w.timestamp),
        "token": token_json(e, &w.asset_id, w.amount),
        // Claims on L1 are the L1's business; the engine does not see them.
        "withdrawn_to_wallet": false,
    })
}
