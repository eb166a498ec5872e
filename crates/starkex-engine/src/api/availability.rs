//! Data availability (not an IMX endpoint: the committee's service `escape` needs):
//! `/v1/availability/roots` and `/v1/availability/vaults/{vault_id}?root=0x…`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};
use starkroute_types::VaultId;

use super::parse::{felt_str, parse_felt_field};
use super::render::rfc3339;
use super::{bad, path, query, ApiResult, StarkExHost};

pub(super) async fn list_roots<H: StarkExHost>(State(host): State<Arc<H>>) -> ApiResult {
    host.with(|e, _, _| {
        let roots: Vec<Value> = e
            .posted_batches()
            .iter()
            .map(|b| {
                json!({
                    "sequence_number": b.update.sequence_number,
                    "batch_id": b.update.batch_id,
                    "root": felt_str(&b.update.vault_root),
                    "timestamp": rfc3339(b.posted_at),
                })
            })
            .collect();
        Ok(Json(json!({ "result": roots })))
    })
}

pub(super) async fn availability<H: StarkExHost>(
    State(host): State<Arc<H>>,
    vault: std::result::Result<Path<String>, PathRejection>,
    q: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    let vault: VaultId = path(vault)?.parse().map_err(|e| bad(format!("vault_id: {e}")))?;
    let q = query(q)?;
    let root = q.get("root").map(|r| parse_felt_field("root", r)).transpose()?;
    host.with(|e, _, _| {
        let p = e.availability(vault, root.as_ref())?;
        Ok(Json(json!({
            "root": felt_str(&p.root),
            "sequence_number": p.sequence_number,
            "batch_id": p.batch_id,
            "vault_id": p.vault_id.get(),
            "stark_key": felt_str(&p.stark_key),
            "asset_id": felt_str(&p.asset_id),
            "quantized_balance": p.quantized_balance.to_string(),
            "leaf": felt_str(&p.proof.leaf),
            "siblings": p.proof.siblings.iter().map(felt_str).collect::<Vec<_>>(),
        })))
    })
}
