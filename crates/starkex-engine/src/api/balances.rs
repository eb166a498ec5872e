//! Balances: `/v2/balances/{owner}`.

use std::collections::HashMap;
use std::sync::Arc;

use alloy_primitives::U256;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::json;
use starkroute_types::{AssetClass, StarkKey};

use super::pagination::page;
use super::parse::{eth_str, keys_of, parse_eth, type_of};
use super::{path, query, ApiResult, StarkExHost};

pub(super) async fn list_balances<H: StarkExHost>(
    State(host): State<Arc<H>>,
    owner: std::result::Result<Path<String>, PathRejection>,
    q: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    let owner = parse_eth("owner", &path(owner)?)?;
    let q = query(q)?;
    host.with(|e, port, _| {
        let keys = keys_of(e, port, &owner);
        let owner_keys: Vec<U256> =
            keys.iter().map(StarkKey::to_u256).chain([owner.to_u256()]).collect();
        let mut rows = Vec::new();
        for l in e.listings() {
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
            if balance == 0 && preparing == 0 && withdrawable == 0 {
                continue;
            }
            rows.push(json!({
                "balance": (U256::from(balance) * q).to_string(),
                "preparing_withdrawal": (U256::from(preparing) * q).to_string(),
                // Credited on L1 by a posted batch; claims are not tracked by the engine.
                "withdrawable": (U256::from(withdrawable) * q).to_string(),
                "symbol": l.symbol,
                "token_address": l.token.as_ref().map(eth_str).unwrap_or_default(),
            }));
        }
        let mut q = q;
        q.entry("direction".into()).or_insert_with(|| "asc".into());
        Ok(Json(page(rows, &q, true)?))
    })
}
