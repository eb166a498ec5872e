//! Collections: `/v1/collections` and `/v1/collections/{address}`, the ERC-721 contracts the
//! exchange lists ([`crate::CollectionListing`]). Creating or updating one over the API answers
//! 501 (see `unserved`): the sandbox's collections are its configuration.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::{json, Value};

use super::pagination::{list, Filter, ListSpec, Order, Row};
use super::parse::{eth_str, parse_eth};
use super::{path, query, ApiResult, StarkExHost};
use crate::assets::CollectionListing;
use crate::error::StarkExError;

fn collection_json(c: &CollectionListing) -> Value {
    json!({
        "address": eth_str(&c.address),
        "name": c.name,
        "description": c.description,
        "icon_url": null,
        "collection_image_url": null,
        "metadata_api_url": null,
        "project_id": c.project_id,
        "project_owner_address": c.owner.as_ref().map(eth_str).unwrap_or_default(),
        // The sandbox's collections exist from genesis: no creation or update time.
        "created_at": null,
        "updated_at": null,
    })
}

/// `GET /v1/collections`'s parameters.
const COLLECTIONS: ListSpec = ListSpec {
    filters: &[
        ("blacklist", Filter::NotEth("/address")),
        ("whitelist", Filter::Eth("/address")),
        ("keyword", Filter::ContainsAny(&["/name", "/description"])),
    ],
    orders: &[
        ("name", Order::Text("/name")),
        ("address", Order::Text("/address")),
        ("project_id", Order::Number("/project_id")),
        ("created_at", Order::Created),
        ("updated_at", Order::Updated),
    ],
    default_desc: true,
    with_remaining: true,
};

pub(super) async fn list_collections<H: StarkExHost>(
    State(host): State<Arc<H>>,
    q: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    host.with(|e, _, _| {
        let rows = e.collections().iter().map(|c| Row::at(collection_json(c), 0, None));
        Ok(Json(list(rows.collect(), &q, &COLLECTIONS)?))
    })
}

pub(super) async fn get_collection<H: StarkExHost>(
    State(host): State<Arc<H>>,
    address: std::result::Result<Path<String>, PathRejection>,
) -> ApiResult {
    let address = parse_eth("address", &path(address)?)?;
    host.with(|e, _, _| {
        let c = e.collection(&address).ok_or_else(|| {
            StarkExError::not_found(format!("collection {} is not listed", eth_str(&address)))
        })?;
        Ok(Json(collection_json(c)))
    })
}
