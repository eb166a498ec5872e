//! Assets (ERC-721s on the exchange): `/v1/assets` and `/v1/assets/{token_address}/{token_id}`.
//!
//! Every NFT the engine has seen — deposited, or minted on the exchange — is an asset. Its owner and
//! status follow its records in transaction order: deposited or minted → `imx` with the receiving
//! key; transferred → `imx` with the receiver; withdrawn → `preparing_withdrawal` until a posted
//! batch credits it, then `withdrawable`. The owner (`user`) is the ETH address of the key (any
//! way it is known, see [`StarkExEngine::eth_of`]), else the Stark key itself.
//!
//! The sandbox keeps no token metadata: `name`, `description`, `image_url`, `uri` and `metadata`
//! are null. **[choice]** `status=eth` (claimed on L1) and `status=burned` are refused: the engine
//! does not see claims on L1, so it cannot tell a withdrawable NFT from a claimed one.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};
use starkroute_types::{parse_felt, parse_u256, AssetClass, Felt, StarkKey};

use super::pagination::{flag, list, Filter, ListSpec, Order, Row};
use super::parse::{eth_str, felt_str, parse_eth};
use super::render::{fees_json, rfc3339, who, METADATA_REFUSED};
use super::{bad, path, query, ApiResult, StarkExHost};
use crate::engine::StarkExEngine;
use crate::error::StarkExError;
use crate::port::StarkExContractPort;

/// Where an NFT is, after its records so far.
#[derive(Debug, Clone, Copy)]
struct NftState {
    owner: StarkKey,
    status: &'static str,
    created: u64,
    updated: u64,
}

/// Every NFT the engine has seen, by asset id, from its records in transaction order.
fn nft_states(e: &StarkExEngine) -> BTreeMap<Felt, NftState> {
    let is_nft = |id: &Felt| {
        e.asset(id)
            .is_some_and(|m| matches!(m.class, AssetClass::Erc721 | AssetClass::MintableErc721))
    };
    // (transaction id, asset, owner after it, status after it, time).
    let mut events: Vec<(u64, Felt, StarkKey, &'static str, u64)> = Vec::new();
    for d in e.deposits().iter().filter(|d| d.refused.is_none() && is_nft(&d.event.asset_id)) {
        events.push((d.transaction_id, d.event.asset_id, d.event.stark_key, "imx", d.timestamp));
    }
    for m in e.mints().iter().filter(|m| is_nft(&m.asset_id)) {
        events.push((m.transaction_id, m.asset_id, m.receiver, "imx", m.timestamp));
    }
    for t in e.transfers().iter().filter(|t| is_nft(&t.request.order.asset_id)) {
        let o = &t.request.order;
        events.push((t.transaction_id, o.asset_id, o.receiver, "imx", t.timestamp));
    }
    for w in e.withdrawals().iter().filter(|w| is_nft(&w.asset_id)) {
        let status = if e.batch_of(w.transaction_id).is_some() {
            "withdrawable"
        } else {
            "preparing_withdrawal"
        };
        events.push((w.transaction_id, w.asset_id, w.stark_key, status, w.timestamp));
    }
    events.sort_unstable_by_key(|ev| ev.0);
    let mut out: BTreeMap<Felt, NftState> = BTreeMap::new();
    for (_, asset, owner, status, t) in events {
        out.entry(asset)
            .and_modify(|s| {
                s.owner = owner;
                s.status = status;
                s.updated = t;
            })
            .or_insert(NftState { owner, status, created: t, updated: t });
    }
    out
}

fn asset_json(
    e: &StarkExEngine,
    port: &dyn StarkExContractPort,
    id: &Felt,
    s: &NftState,
    include_fees: bool,
) -> Value {
    let m = e.asset(id);
    let token = m.and_then(|m| m.token);
    let collection = token.as_ref().and_then(|t| e.collection(t));
    let mut v = json!({
        "token_address": token.as_ref().map(eth_str).unwrap_or_default(),
        "token_id": m.and_then(|m| m.token_id).map(|t| t.to_string()).unwrap_or_default(),
        "id": felt_str(id),
        "user": who(e, port, &s.owner),
        "status": s.status,
        "uri": null,
        "name": null,
        "description": null,
        "image_url": null,
        "metadata": null,
        "collection": {"name": collection.map(|c| c.name.clone()).unwrap_or_default(), "icon_url": null},
        "created_at": rfc3339(s.created),
        "updated_at": rfc3339(s.updated),
    });
    if include_fees {
        v["fees"] = fees_json(e, id);
    }
    v
}

/// `GET /v1/assets`'s parameters.
const ASSETS: ListSpec = ListSpec {
    filters: &[
        ("user", Filter::Eth("/user")),
        ("status", Filter::Endpoint),
        ("name", Filter::Contains("/name")),
        ("metadata", Filter::Refused(METADATA_REFUSED)),
        ("sell_orders", Filter::Endpoint),
        ("buy_orders", Filter::Endpoint),
        ("include_fees", Filter::Endpoint),
        ("collection", Filter::Eth("/token_address")),
        ("updated_min_timestamp", Filter::MinUpdated),
        ("updated_max_timestamp", Filter::MaxUpdated),
        (
            "auxiliary_fee_percentages",
            Filter::Refused("the sandbox runs no order book, so it quotes no auxiliary fees"),
        ),
        (
            "auxiliary_fee_recipients",
            Filter::Refused("the sandbox runs no order book, so it quotes no auxiliary fees"),
        ),
    ],
    orders: &[("updated_at", Order::Updated), ("name", Order::Text("/name"))],
    default_desc: true,
    with_remaining: true,
};

const STATUSES: [&str; 3] = ["imx", "preparing_withdrawal", "withdrawable"];

pub(super) async fn list_assets<H: StarkExHost>(
    State(host): State<Arc<H>>,
    q: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    for orders in ["sell_orders", "buy_orders"] {
        if flag(&q, orders)? {
            return Err(bad(format!(
                "{orders}: the sandbox runs no order book (orders answer 501)"
            ))
            .into());
        }
    }
    let include_fees = flag(&q, "include_fees")?;
    let status = match q.get("status").map(String::as_str) {
        None => None,
        Some(s) if STATUSES.contains(&s) => Some(s),
        Some(s @ ("eth" | "burned")) => {
            return Err(bad(format!(
                "status {s:?}: the engine does not see L1 claims or burns, so it cannot list them"
            ))
            .into())
        }
        Some(s) => return Err(bad(format!("status must be one of {STATUSES:?}, not {s:?}")).into()),
    };
    host.with(|e, port, _| {
        let rows = nft_states(e)
            .iter()
            .filter(|(_, s)| status.is_none_or(|want| s.status == want))
            .map(|(id, s)| Row {
                value: asset_json(e, port, id, s, include_fees),
                created: s.created,
                updated: s.updated,
                token_name: None,
            })
            .collect();
        Ok(Json(list(rows, &q, &ASSETS)?))
    })
}

/// `token_id` is the ERC-721 token id (decimal) or the asset id (`0x…`, "internal IMX ID").
pub(super) async fn get_asset<H: StarkExHost>(
    State(host): State<Arc<H>>,
    p: std::result::Result<Path<(String, String)>, PathRejection>,
    q: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    let (address, token_id) = path(p)?;
    let q = query(q)?;
    if let Some(name) = q.keys().find(|k| *k != "include_fees") {
        return Err(bad(format!("{name} is not a query parameter of this endpoint")).into());
    }
    let include_fees = flag(&q, "include_fees")?;
    let address = parse_eth("token_address", &address)?;
    let by_asset_id = token_id.starts_with("0x");
    let wanted = if by_asset_id {
        parse_felt(&token_id).map_err(|e| bad(format!("token_id: {e}")))?;
        None
    } else {
        Some(parse_u256(&token_id).map_err(|e| bad(format!("token_id: {e}")))?)
    };
    host.with(|e, port, _| {
        let states = nft_states(e);
        let found = states.iter().find(|(id, _)| {
            let Some(m) = e.asset(id) else { return false };
            m.token == Some(address)
                && match wanted {
                    Some(t) => m.token_id == Some(t),
                    None => parse_felt(&token_id).is_ok_and(|f| f == **id),
                }
        });
        let (id, s) = found.ok_or_else(|| {
            StarkExError::not_found(format!("no asset {token_id} of {}", eth_str(&address)))
        })?;
        Ok(Json(asset_json(e, port, id, s, include_fees)))
    })
}
