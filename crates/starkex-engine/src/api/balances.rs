//! Balances: `/v2/balances/{owner}` and `/v2/balances/{owner}/{address}`.
//!
//! An owner's balance of a listed token sums the vaults of every Stark key of the address (see
//! [`keys_of`]), however the vault was funded (deposit, transfer received). `preparing_withdrawal`
//! is what its withdrawals debited that no posted batch has credited on L1 yet; `withdrawable` what
//! posted batches credited (the engine does not see claims on L1, so it stays counted after one).

use std::collections::HashMap;
use std::sync::Arc;

use alloy_primitives::U256;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};
use starkroute_types::{AssetClass, EthAddress, StarkKey};

use super::pagination::{list, ListSpec, Order, Row};
use super::parse::{eth_str, keys_of, parse_eth, type_of};
use super::{path, query, ApiResult, StarkExHost};
use crate::assets::TokenListing;
use crate::engine::StarkExEngine;
use crate::error::{Result, StarkExError};

/// `GET /v2/balances/{owner}`'s parameters (the spec names `order_by` without values; these are
/// the sandbox's).
const BALANCES: ListSpec = ListSpec {
    filters: &[],
    orders: &[("symbol", Order::Text("/symbol")), ("token_address", Order::Text("/token_address"))],
    default_desc: false,
    with_remaining: true,
};

/// The `Balance` of one listed token, and whether it is all zero.
fn balance_row(
    e: &StarkExEngine,
    keys: &[StarkKey],
    owner: &EthAddress,
    l: &TokenListing,
) -> Result<(Value, bool)> {
    let owner_keys: Vec<U256> =
        keys.iter().map(StarkKey::to_u256).chain([owner.to_u256()]).collect();
    let class = if l.token.is_some() { AssetClass::Erc20 } else { AssetClass::Eth };
    let asset = type_of(class, l.token.as_ref(), l.quantum)?;
    let q = U256::from(l.quantum);
    let balance: u64 = e
        .vaults()
        .values()
        .filter(|v| v.asset_id == asset && keys.contains(&v.stark_key))
        .map(|v| v.balance)
        .sum();
    let (mut preparing, mut withdrawable) = (0u64, 0u64);
    for w in e.withdrawals() {
        if w.asset_id != asset || !owner_keys.contains(&w.owner_key) {
            continue;
        }
        if e.batch_of(w.transaction_id).is_some() {
            withdrawable += w.amount;
        } else {
            preparing += w.amount;
        }
    }
    let zero = balance == 0 && preparing == 0 && withdrawable == 0;
    Ok((
        json!({
            "balance": (U256::from(balance) * q).to_string(),
            "preparing_withdrawal": (U256::from(preparing) * q).to_string(),
            "withdrawable": (U256::from(withdrawable) * q).to_string(),
            "symbol": l.symbol,
            "token_address": l.token.as_ref().map(eth_str).unwrap_or_default(),
        }),
        zero,
    ))
}

pub(super) async fn list_balances<H: StarkExHost>(
    State(host): State<Arc<H>>,
    owner: std::result::Result<Path<String>, PathRejection>,
    q: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    let owner = parse_eth("owner", &path(owner)?)?;
    let q = query(q)?;
    host.with(|e, port, _| {
        let keys = keys_of(e, port, &owner);
        let mut rows = Vec::new();
        for l in e.listings() {
            let (v, zero) = balance_row(e, &keys, &owner, l)?;
            if !zero {
                rows.push(Row::at(v, 0, Some(l.name.clone())));
            }
        }
        Ok(Json(list(rows, &q, &BALANCES)?))
    })
}

/// `GET /v2/balances/{owner}/{address}`: `address` is a listed ERC-20's address, or `eth`
/// (also the zero address) for ETH; a listed token the owner never held answers zeros.
pub(super) async fn get_balance<H: StarkExHost>(
    State(host): State<Arc<H>>,
    p: std::result::Result<Path<(String, String)>, PathRejection>,
) -> ApiResult {
    let (owner, address) = path(p)?;
    let owner = parse_eth("owner", &owner)?;
    let token = match address.to_ascii_lowercase().as_str() {
        "eth" | "0x0000000000000000000000000000000000000000" => None,
        _ => Some(parse_eth("address", &address)?),
    };
    host.with(|e, port, _| {
        let l = e
            .listing(token.as_ref())
            .ok_or_else(|| StarkExError::not_found(format!("token {address} is not listed")))?;
        let keys = keys_of(e, port, &owner);
        Ok(Json(balance_row(e, &keys, &owner, l)?.0))
    })
}
