//! Transfers: the v1 and v2 signable details, `POST /v1/transfers` and `/v2/transfers`,
//! `/v1/transfers[/{id}]`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use starkroute_types::{Felt, StarkKey};

use super::pagination::{list, Filter, ListSpec, Order, Row};
use super::parse::{
    check_eth_sender, eth_headers_signer, felt_str, parse_eth, parse_felt_field, parse_id,
    parse_key, parse_quantized, parse_sig, parse_vault, quantize, registered_key, resolve_token,
    sender_vault, signable_message, TokenIn,
};
use super::render::{rfc3339, token_json, token_name, who, METADATA_REFUSED};
use super::{bad, body, path, query, ApiError, ApiResult, StarkExHost};
use crate::engine::{
    verify_transfers, OperatorSigner, StarkExEngine, TransferOrder, TransferRecord,
    TransferRequest, MAX_EXPIRATION_HOURS,
};
use crate::error::{Result, StarkExError};
use crate::port::StarkExContractPort;

#[derive(Deserialize)]
pub(super) struct SignableTransferV1In {
    sender: String,
    receiver: String,
    token: TokenIn,
    amount: String,
}

/// The most transfers one `/v2/transfers` or `/v2/signable-transfer-details` request may carry
/// (the spec sets no bound; this one is the sandbox's).
pub const MAX_BATCH_TRANSFERS: usize = 100;

fn check_batch_size(field: &str, n: usize) -> Result<()> {
    if n == 0 {
        return Err(bad(format!("{field} is empty")));
    }
    if n > MAX_BATCH_TRANSFERS {
        return Err(bad(format!(
            "{field} has {n} transfers; at most {MAX_BATCH_TRANSFERS} are accepted in one request"
        )));
    }
    Ok(())
}

/// Builds one transfer order to sign (allocating the receiver's vault, offering a nonce).
fn transfer_order(
    e: &mut StarkExEngine,
    port: &dyn StarkExContractPort,
    now: u64,
    sender: StarkKey,
    receiver_eth: &str,
    token: &TokenIn,
    amount: &str,
) -> Result<TransferOrder> {
    let receiver = registered_key(e, port, &parse_eth("receiver", receiver_eth)?)?;
    let r = resolve_token(e, token)?;
    let amount = quantize(&r, amount)?;
    let sender_vault = sender_vault(e, &sender, &r.asset_id)?;
    let receiver_vault = e.vault_for(receiver, r.asset_id)?;
    Ok(TransferOrder {
        sender,
        sender_vault,
        receiver,
        receiver_vault,
        asset_id: r.asset_id,
        amount,
        nonce: e.offer_nonce(&sender),
        expiration_hours: (now / 3600 + e.config().order_validity_hours).min(MAX_EXPIRATION_HOURS),
    })
}

fn signable_transfer_json(operator: &OperatorSigner, o: &TransferOrder, hash: &Felt) -> Value {
    json!({
        "amount": o.amount.to_string(),
        "asset_id": felt_str(&o.asset_id),
        "expiration_timestamp": o.expiration_hours,
        "nonce": o.nonce,
        "payload_hash": felt_str(hash),
        "readable_transaction": json!({"type": "transfer", "sender_stark_key": o.sender.to_string(),
            "sender_vault_id": o.sender_vault.get(), "receiver_stark_key": o.receiver.to_string(),
            "receiver_vault_id": o.receiver_vault.get(), "asset_id": felt_str(&o.asset_id),
            "quantized_amount": o.amount.to_string(), "nonce": o.nonce,
            "expiration_timestamp": o.expiration_hours}).to_string(),
        "receiver_stark_key": o.receiver.to_string(),
        "receiver_vault_id": o.receiver_vault.get(),
        "sender_vault_id": o.sender_vault.get(),
        "verification_signature": operator.sign(hash),
    })
}

pub(super) async fn signable_transfer_v1<H: StarkExHost>(
    State(host): State<Arc<H>>,
    req: std::result::Result<Json<SignableTransferV1In>, JsonRejection>,
) -> ApiResult {
    let req = body(req)?;
    let sender_eth = parse_eth("sender", &req.sender)?;
    host.with(|e, port, now| {
        if e.faults().reject_all {
            return Err(StarkExError::OperatorUnavailable.into());
        }
        let sender = registered_key(e, port, &sender_eth)?;
        let o = transfer_order(e, port, now, sender, &req.receiver, &req.token, &req.amount)?;
        let hash = o.message_hash()?;
        let mut out = signable_transfer_json(&e.operator_signer(), &o, &hash);
        out["sender_stark_key"] = json!(sender.to_string());
        out["signable_message"] = json!(signable_message([&hash]));
        Ok(Json(out))
    })
}

#[derive(Deserialize)]
struct SignableTransferV2Item {
    amount: String,
    receiver: String,
    token: TokenIn,
}

#[derive(Deserialize)]
pub(super) struct SignableTransferV2In {
    sender_ether_key: String,
    signable_requests: Vec<SignableTransferV2Item>,
}

pub(super) async fn signable_transfer_v2<H: StarkExHost>(
    State(host): State<Arc<H>>,
    req: std::result::Result<Json<SignableTransferV2In>, JsonRejection>,
) -> ApiResult {
    let req = body(req)?;
    let sender_eth = parse_eth("sender_ether_key", &req.sender_ether_key)?;
    check_batch_size("signable_requests", req.signable_requests.len())?;
    // The lock allocates vaults and nonces; hashing and the operator's signatures come after.
    let (sender, orders, operator) = host.with(|e, port, now| {
        if e.faults().reject_all {
            return Err(StarkExError::OperatorUnavailable);
        }
        let sender = registered_key(e, port, &sender_eth)?;
        let orders = req
            .signable_requests
            .iter()
            .enumerate()
            .map(|(i, item)| {
                transfer_order(e, port, now, sender, &item.receiver, &item.token, &item.amount)
                    .map_err(|err| match err {
                        StarkExError::BadRequest(m) => bad(format!("signable_requests[{i}]: {m}")),
                        other => other,
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((sender, orders, e.operator_signer()))
    })?;
    let mut responses = Vec::new();
    let mut hashes = Vec::new();
    for (item, o) in req.signable_requests.iter().zip(&orders) {
        let hash = o.message_hash()?;
        let mut v = signable_transfer_json(&operator, o, &hash);
        v["token"] = json!(item.token);
        hashes.push(hash);
        responses.push(v);
    }
    Ok(Json(json!({
        "sender_stark_key": sender.to_string(),
        "signable_message": signable_message(&hashes),
        "signable_responses": responses,
    })))
}

#[derive(Deserialize)]
pub(super) struct CreateTransferV1In {
    amount: String,
    asset_id: String,
    expiration_timestamp: u64,
    nonce: u64,
    receiver_stark_key: String,
    receiver_vault_id: u64,
    sender_stark_key: String,
    sender_vault_id: u64,
    stark_signature: String,
}

#[derive(Deserialize)]
struct TransferItemIn {
    amount: String,
    asset_id: String,
    expiration_timestamp: u64,
    nonce: u64,
    receiver_stark_key: String,
    receiver_vault_id: u64,
    sender_vault_id: u64,
    stark_signature: String,
}

#[derive(Deserialize)]
pub(super) struct CreateTransferV2In {
    sender_stark_key: String,
    requests: Vec<TransferItemIn>,
}

fn transfer_request(sender: StarkKey, t: &TransferItemIn) -> Result<TransferRequest> {
    Ok(TransferRequest {
        order: TransferOrder {
            sender,
            sender_vault: parse_vault("sender_vault_id", t.sender_vault_id)?,
            receiver: parse_key("receiver_stark_key", &t.receiver_stark_key)?,
            receiver_vault: parse_vault("receiver_vault_id", t.receiver_vault_id)?,
            asset_id: parse_felt_field("asset_id", &t.asset_id)?,
            amount: parse_quantized("amount", &t.amount)?,
            nonce: t.nonce,
            expiration_hours: t.expiration_timestamp,
        },
        signature: parse_sig(&t.stark_signature)?,
    })
}

pub(super) async fn create_transfer_v1<H: StarkExHost>(
    State(host): State<Arc<H>>,
    headers: HeaderMap,
    req: std::result::Result<Json<CreateTransferV1In>, JsonRejection>,
) -> ApiResult {
    let r = body(req)?;
    let sender = parse_key("sender_stark_key", &r.sender_stark_key)?;
    let item = TransferItemIn {
        amount: r.amount,
        asset_id: r.asset_id,
        expiration_timestamp: r.expiration_timestamp,
        nonce: r.nonce,
        receiver_stark_key: r.receiver_stark_key,
        receiver_vault_id: r.receiver_vault_id,
        sender_vault_id: r.sender_vault_id,
        stark_signature: r.stark_signature,
    };
    let t = transfer_request(sender, &item)?;
    let signer = eth_headers_signer(&headers, &signable_message([&t.order.message_hash()?]));
    // The Stark signature is verified before the engine is locked.
    let verified = verify_transfers(std::slice::from_ref(&t), 1);
    host.with(|e, port, now| {
        if e.faults().reject_all {
            return Err(StarkExError::OperatorUnavailable.into());
        }
        check_eth_sender(e, port, signer, &sender)?;
        let verified = verified.into_iter().collect::<Result<Vec<_>>>()?;
        let id = e
            .transfer_batch_verified(port, now, &verified)
            .map_err(|(_, err)| err)?
            .first()
            .copied()
            .ok_or_else(|| bad("no transfer was applied"))?;
        Ok(Json(json!({
            "transfer_id": id,
            "sent_signature": t.signature.to_hex(),
            "status": "success",
            "time": now,
        })))
    })
}

pub(super) async fn create_transfer_v2<H: StarkExHost>(
    State(host): State<Arc<H>>,
    headers: HeaderMap,
    req: std::result::Result<Json<CreateTransferV2In>, JsonRejection>,
) -> ApiResult {
    let r = body(req)?;
    let sender = parse_key("sender_stark_key", &r.sender_stark_key)?;
    check_batch_size("requests", r.requests.len())?;
    let reqs = r
        .requests
        .iter()
        .enumerate()
        .map(|(i, t)| transfer_request(sender, t).map_err(|e| bad(format!("requests[{i}]: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    let hashes = reqs
        .iter()
        .enumerate()
        .map(|(i, t)| t.order.message_hash().map_err(|e| bad(format!("requests[{i}]: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    let signer = eth_headers_signer(&headers, &signable_message(&hashes));
    // Every Stark signature is verified before the engine is locked (on two threads).
    let verified = verify_transfers(&reqs, 2);
    host.with(|e, port, now| {
        if e.faults().reject_all {
            return Err(StarkExError::OperatorUnavailable.into());
        }
        check_eth_sender(e, port, signer, &sender)?;
        let verified = verified
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                v.map_err(|err| match err {
                    StarkExError::BadRequest(m) => bad(format!("requests[{i}]: {m}")),
                    StarkExError::InvalidSignature(m) => {
                        StarkExError::InvalidSignature(format!("requests[{i}]: {m}"))
                    }
                    other => other,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let ids = e.transfer_batch_verified(port, now, &verified).map_err(|(i, err)| {
            // Keep the refusal's code; say which request it was.
            ApiError(match err {
                StarkExError::BadRequest(m) => bad(format!("requests[{i}]: {m}")),
                other => other,
            })
        })?;
        Ok(Json(json!({ "transfer_ids": ids })))
    })
}

/// `GET /v1/transfers`'s parameters.
const TRANSFERS: ListSpec = ListSpec {
    filters: &[
        ("user", Filter::Eth("/user")),
        ("receiver", Filter::Eth("/receiver")),
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
        ("sender_ether_key", Order::Text("/user")),
        ("receiver_ether_key", Order::Text("/receiver")),
    ],
    default_desc: true,
    with_remaining: true,
};

pub(super) async fn list_transfers<H: StarkExHost>(
    State(host): State<Arc<H>>,
    q: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    host.with(|e, port, _| {
        let rows = e.transfers().iter().map(|t| {
            let name = token_name(e, &t.request.order.asset_id);
            Row::at(transfer_json(e, port, t), t.timestamp, name)
        });
        Ok(Json(list(rows.collect(), &q, &TRANSFERS)?))
    })
}

pub(super) async fn get_transfer<H: StarkExHost>(
    State(host): State<Arc<H>>,
    id: std::result::Result<Path<String>, PathRejection>,
) -> ApiResult {
    let id = parse_id(&path(id)?)?;
    host.with(|e, port, _| {
        let t = e
            .transfers()
            .iter()
            .find(|t| t.transaction_id == id)
            .ok_or_else(|| StarkExError::not_found(format!("transfer {id} not found")))?;
        Ok(Json(transfer_json(e, port, t)))
    })
}

fn transfer_json(e: &StarkExEngine, port: &dyn StarkExContractPort, t: &TransferRecord) -> Value {
    let o = &t.request.order;
    json!({
        "transaction_id": t.transaction_id,
        "status": "success",
        "user": who(e, port, &o.sender),
        "receiver": who(e, port, &o.receiver),
        "timestamp": rfc3339(t.timestamp),
        "token": token_json(e, &o.asset_id, o.amount),
    })
}
