//! Mints: `POST /v2/mints`, `/v1/mints[/{id}]`, `/v1/mintable-token/{token_address}/{token_id}`.
//!
//! `POST /v2/mints` mints ERC-721s of a listed collection whose `MintableERC721` asset type
//! (quantum 1) is registered on the L1 contract. `auth_signature` is the collection owner's ETH
//! signature, exactly as imx-core-sdk's `mint` makes it: `personal_sign` over the text of
//! `keccak256(JSON.stringify(payload))` (`0x…` lower case), where `payload` is
//! `{contract_address, [royalties: [{recipient, percentage}]], users: [{ether_key, tokens: [{id,
//! blueprint, [royalties]}]}], auth_signature: ""}` with the request's own strings, in that key
//! order, the royalties only when non-empty. The server rebuilds it from the request; the
//! signature is recovered before the engine is locked.
//!
//! A request is all or nothing: every token is checked (collection, owner's signature, receivers
//! registered, ids unminted and distinct) before the first is minted. At most
//! [`MAX_MINT_TOKENS`] tokens per request (the spec sets no bound; this one is the sandbox's).
//! A minted token is withdrawable like any NFT; on L1 `withdrawAndMint` creates it with the blob
//! `{id}:{blueprint}`.

use std::collections::HashMap;
use std::sync::Arc;

use alloy_primitives::{keccak256, U256};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Number, Value};
use starkroute_crypto::keys::recover_personal_sign;
use starkroute_types::{parse_u256, AssetClass, EthAddress};

use super::pagination::{list, Filter, ListSpec, Order, Row};
use super::parse::{
    eth_str, felt_str, parse_eth, parse_eth_signature, parse_id, registered_key, type_of,
};
use super::render::{fee_json, rfc3339, token_json, token_name, who, METADATA_REFUSED};
use super::{bad, body, path, query, ApiResult, StarkExHost};
use crate::assets::Royalty;
use crate::engine::{MintRecord, MintRequest, StarkExEngine};
use crate::error::{Result, StarkExError};
use crate::port::StarkExContractPort;

/// The most tokens one `POST /v2/mints` may mint (all its requests and users together).
pub const MAX_MINT_TOKENS: usize = 100;

#[derive(Deserialize)]
pub(super) struct MintFeeIn {
    recipient: String,
    percentage: Number,
}

#[derive(Deserialize)]
pub(super) struct MintTokenIn {
    id: String,
    blueprint: String,
    #[serde(default)]
    royalties: Option<Vec<MintFeeIn>>,
}

#[derive(Deserialize)]
pub(super) struct MintUserIn {
    user: String,
    tokens: Vec<MintTokenIn>,
}

#[derive(Deserialize)]
pub(super) struct MintRequestIn {
    auth_signature: String,
    contract_address: String,
    #[serde(default)]
    royalties: Option<Vec<MintFeeIn>>,
    users: Vec<MintUserIn>,
}

/// A JSON number as JavaScript's `JSON.stringify` writes it (integral values without `.0`).
fn js_number(n: &Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
        _ => n.to_string(),
    }
}

fn js_string(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

fn fees_payload(fees: Option<&Vec<MintFeeIn>>) -> Option<String> {
    let fees = fees.filter(|f| !f.is_empty())?;
    let items: Vec<String> = fees
        .iter()
        .map(|f| {
            format!(
                "{{\"recipient\":{},\"percentage\":{}}}",
                js_string(&f.recipient),
                js_number(&f.percentage)
            )
        })
        .collect();
    Some(format!("[{}]", items.join(",")))
}

/// The text the minter's wallet signs: `keccak256(JSON.stringify(payload))` as `0x…` hex.
fn signable_mint_message(r: &MintRequestIn) -> String {
    let mut out = format!("{{\"contract_address\":{}", js_string(&r.contract_address));
    if let Some(f) = fees_payload(r.royalties.as_ref()) {
        out.push_str(&format!(",\"royalties\":{f}"));
    }
    let users: Vec<String> = r
        .users
        .iter()
        .map(|u| {
            let tokens: Vec<String> = u
                .tokens
                .iter()
                .map(|t| {
                    let mut s = format!(
                        "{{\"id\":{},\"blueprint\":{}",
                        js_string(&t.id),
                        js_string(&t.blueprint)
                    );
                    if let Some(f) = fees_payload(t.royalties.as_ref()) {
                        s.push_str(&format!(",\"royalties\":{f}"));
                    }
                    s.push('}');
                    s
                })
                .collect();
            format!("{{\"ether_key\":{},\"tokens\":[{}]}}", js_string(&u.user), tokens.join(","))
        })
        .collect();
    out.push_str(&format!(",\"users\":[{}],\"auth_signature\":\"\"}}", users.join(",")));
    format!("{:#x}", keccak256(out.as_bytes()))
}

fn royalties(field: &str, fees: Option<&Vec<MintFeeIn>>) -> Result<Vec<Royalty>> {
    let mut total = 0.0;
    let mut out = Vec::new();
    for (i, f) in fees.into_iter().flatten().enumerate() {
        let recipient = parse_eth(&format!("{field}[{i}].recipient"), &f.recipient)?;
        let pct = f.percentage.as_f64().filter(|p| *p > 0.0 && *p <= 100.0).ok_or_else(|| {
            bad(format!("{field}[{i}].percentage must be in (0, 100], not {}", f.percentage))
        })?;
        total += pct;
        out.push(Royalty { recipient, percentage: js_number(&f.percentage) });
    }
    if total > 100.0 {
        return Err(bad(format!("{field}: the percentages add up to more than 100")));
    }
    Ok(out)
}

/// One token to mint, checked.
struct Planned {
    contract: EthAddress,
    id: U256,
    id_text: String,
    royalties: Vec<Royalty>,
}

fn plan(
    e: &StarkExEngine,
    port: &dyn StarkExContractPort,
    reqs: &[MintRequestIn],
    signers: &[EthAddress],
) -> Result<Vec<(Planned, MintRequest)>> {
    let mut out: Vec<(Planned, MintRequest)> = Vec::new();
    for (i, (r, signer)) in reqs.iter().zip(signers).enumerate() {
        let contract = parse_eth(&format!("[{i}].contract_address"), &r.contract_address)?;
        let c = e.collection(&contract).ok_or_else(|| {
            bad(format!("[{i}].contract_address {} is not a listed collection", eth_str(&contract)))
        })?;
        if c.owner != Some(*signer) {
            return Err(StarkExError::Unauthorised(format!(
                "[{i}].auth_signature is by {}, not by the owner of collection {}",
                eth_str(signer),
                eth_str(&contract)
            )));
        }
        let asset_type = type_of(AssetClass::MintableErc721, Some(&contract), 1)?;
        if port.registered_asset(&asset_type).is_none() {
            return Err(StarkExError::AssetNotRegistered(format!(
                "[{i}].contract_address: its mintable ERC-721 asset type {} is not registered on the StarkEx contract",
                felt_str(&asset_type)
            )));
        }
        let global = royalties(&format!("[{i}].royalties"), r.royalties.as_ref())?;
        if r.users.is_empty() {
            return Err(bad(format!("[{i}].users is empty")));
        }
        for (j, u) in r.users.iter().enumerate() {
            let at = format!("[{i}].users[{j}]");
            let receiver_eth = parse_eth(&format!("{at}.user"), &u.user)?;
            let receiver = registered_key(e, port, &receiver_eth)?;
            if u.tokens.is_empty() {
                return Err(bad(format!("{at}.tokens is empty")));
            }
            for (k, t) in u.tokens.iter().enumerate() {
                let at = format!("{at}.tokens[{k}]");
                let id = parse_u256(&t.id).map_err(|err| bad(format!("{at}.id: {err}")))?;
                let own = royalties(&format!("{at}.royalties"), t.royalties.as_ref())?;
                let request = MintRequest {
                    receiver,
                    asset_type,
                    token_id: id,
                    blueprint: t.blueprint.clone(),
                    amount: 1,
                };
                let taken =
                    e.assets().any(|(_, m)| m.token == Some(contract) && m.token_id == Some(id))
                        || out.iter().any(|(p, _)| p.contract == contract && p.id == id);
                if taken {
                    return Err(StarkExError::AlreadyMinted(format!(
                        "{at}: token {id} of {} already exists",
                        eth_str(&contract)
                    )));
                }
                let planned = Planned {
                    contract,
                    id,
                    id_text: id.to_string(),
                    // A token's own royalties replace the contract-level ones.
                    royalties: if own.is_empty() { global.clone() } else { own },
                };
                out.push((planned, request));
            }
        }
    }
    Ok(out)
}

pub(super) async fn mint_tokens<H: StarkExHost>(
    State(host): State<Arc<H>>,
    req: std::result::Result<Json<Vec<MintRequestIn>>, JsonRejection>,
) -> ApiResult {
    let reqs = body(req)?;
    if reqs.is_empty() {
        return Err(bad("the body is an empty list of mint requests").into());
    }
    let count: usize = reqs.iter().flat_map(|r| &r.users).map(|u| u.tokens.len()).sum();
    if count > MAX_MINT_TOKENS {
        return Err(bad(format!(
            "{count} tokens in one request; at most {MAX_MINT_TOKENS} may be minted at once"
        ))
        .into());
    }
    // The minters' signatures, recovered before the engine is locked.
    let signers = reqs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let field = format!("[{i}].auth_signature");
            let sig = parse_eth_signature(&field, &r.auth_signature)?;
            recover_personal_sign(signable_mint_message(r).as_bytes(), &sig)
                .map_err(|e| StarkExError::Unauthorised(format!("{field}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    host.with(|e, port, now| {
        if e.faults().reject_all {
            return Err(StarkExError::OperatorUnavailable.into());
        }
        let planned = plan(e, port, &reqs, &signers)?;
        let mut results = Vec::new();
        for (p, request) in planned {
            let (tx, _, _) = e.mint_with_royalties(port, now, &request, p.royalties)?;
            results.push(json!({
                "contract_address": eth_str(&p.contract),
                "token_id": p.id_text,
                "tx_id": tx,
            }));
        }
        Ok(Json(json!({ "results": results })))
    })
}

fn mint_json(e: &StarkExEngine, port: &dyn StarkExContractPort, m: &MintRecord) -> Value {
    json!({
        "transaction_id": m.transaction_id,
        "status": "success",
        "user": who(e, port, &m.receiver),
        "timestamp": rfc3339(m.timestamp),
        "token": token_json(e, &m.asset_id, m.amount),
        "fees": e.royalties(&m.asset_id).iter().map(|r| fee_json(r, false)).collect::<Vec<_>>(),
    })
}

/// `GET /v1/mints`'s parameters.
const MINTS: ListSpec = ListSpec {
    filters: &[
        ("user", Filter::Eth("/user")),
        ("status", Filter::Eq("/status")),
        ("min_timestamp", Filter::MinCreated),
        ("max_timestamp", Filter::MaxCreated),
        ("token_type", Filter::Eq("/token/type")),
        ("token_id", Filter::Eq("/token/data/token_id")),
        ("token_name", Filter::TokenName),
        ("token_address", Filter::Eth("/token/data/token_address")),
        ("min_quantity", Filter::MinQuantity("/token/data/quantity")),
        ("max_quantity", Filter::MaxQuantity("/token/data/quantity")),
        ("metadata", Filter::Refused(METADATA_REFUSED)),
    ],
    orders: &[
        ("transaction_id", Order::Natural),
        ("token_id", Order::Number("/token/data/token_id")),
        ("created_at", Order::Created),
        ("updated_at", Order::Updated),
    ],
    default_desc: true,
    with_remaining: true,
};

pub(super) async fn list_mints<H: StarkExHost>(
    State(host): State<Arc<H>>,
    q: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    host.with(|e, port, _| {
        let rows = e
            .mints()
            .iter()
            .map(|m| Row::at(mint_json(e, port, m), m.timestamp, token_name(e, &m.asset_id)));
        Ok(Json(list(rows.collect(), &q, &MINTS)?))
    })
}

/// `GET /v1/mints/{id}`: the mint with that transaction id, as a one-element list (the spec's
/// answer is an array).
pub(super) async fn get_mint<H: StarkExHost>(
    State(host): State<Arc<H>>,
    id: std::result::Result<Path<String>, PathRejection>,
) -> ApiResult {
    let id = parse_id(&path(id)?)?;
    host.with(|e, port, _| {
        let m = e
            .mints()
            .iter()
            .find(|m| m.transaction_id == id)
            .ok_or_else(|| StarkExError::not_found(format!("mint {id} not found")))?;
        Ok(Json(json!([mint_json(e, port, m)])))
    })
}

/// `GET /v1/mintable-token/{token_address}/{token_id}`: a minted token's asset id and blueprint.
pub(super) async fn mintable_token<H: StarkExHost>(
    State(host): State<Arc<H>>,
    p: std::result::Result<Path<(String, String)>, PathRejection>,
) -> ApiResult {
    let (address, token_id) = path(p)?;
    let address = parse_eth("token_address", &address)?;
    let id = parse_u256(&token_id).map_err(|e| bad(format!("token_id: {e}")))?;
    host.with(|e, _, _| {
        let (asset_id, m) = e
            .assets()
            .find(|(_, m)| {
                m.class == AssetClass::MintableErc721
                    && m.token == Some(address)
                    && m.token_id == Some(id)
            })
            .ok_or_else(|| {
                StarkExError::not_found(format!(
                    "token {id} of {} was not minted",
                    eth_str(&address)
                ))
            })?;
        // The blob is `{id}:{blueprint}`.
        let blob = m.minting_blob.as_deref().unwrap_or_default();
        let blueprint =
            blob.split_once("}:{").and_then(|(_, b)| b.strip_suffix('}')).unwrap_or_default();
        Ok(Json(json!({
            "token_id": felt_str(asset_id),
            "client_token_id": id.to_string(),
            "blueprint": blueprint,
        })))
    })
}
