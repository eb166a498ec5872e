//! Paging and filtering of the list endpoints (`cursor`, `page_size`, `direction`, and the
//! per-resource filters on the rendered objects).

use std::collections::HashMap;

use serde_json::{json, Value};
use starkroute_types::EthAddress;

use super::bad;
use super::parse::parse_eth;
use crate::error::Result;

const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 200;

/// `{cursor, remaining, result}` over items already in ascending order. The cursor is the
/// decimal offset of the next page (opaque to clients); `direction` is `desc` by default, as IMX.
pub(super) fn page(
    items: Vec<Value>,
    q: &HashMap<String, String>,
    with_remaining: bool,
) -> Result<Value> {
    let size = match q.get("page_size") {
        None => DEFAULT_PAGE_SIZE,
        Some(s) => s
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
            .ok_or_else(|| bad(format!("page_size must be in [1, {MAX_PAGE_SIZE}]")))?,
    };
    let start = match q.get("cursor").map(String::as_str) {
        None | Some("") => 0,
        Some(c) => c.parse::<usize>().map_err(|_| bad(format!("invalid cursor {c:?}")))?,
    };
    let mut items = items;
    match q.get("direction").map(String::as_str) {
        None | Some("desc") => items.reverse(),
        Some("asc") => {}
        Some(d) => return Err(bad(format!("direction must be asc or desc, not {d:?}"))),
    }
    let end = start.saturating_add(size).min(items.len());
    let result: Vec<Value> = items.get(start.min(items.len())..end).unwrap_or(&[]).to_vec();
    let more = end < items.len();
    let mut out = json!({
        "cursor": if more { end.to_string() } else { String::new() },
        "result": result,
    });
    if with_remaining {
        out["remaining"] = json!(u8::from(more));
    }
    Ok(out)
}

/// Filters shared by the list endpoints, on the rendered objects.
fn keep(v: &Value, q: &HashMap<String, String>, fields: &[(&str, &str)]) -> Result<bool> {
    for (param, field) in fields {
        let Some(want) = q.get(*param) else { continue };
        let have = match *field {
            "token.type" => v["token"]["type"].as_str().map(str::to_owned),
            "token.token_address" => {
                v["token"]["data"]["token_address"].as_str().map(str::to_owned)
            }
            "token.token_id" => v["token"]["data"]["token_id"].as_str().map(str::to_owned),
            f => match &v[f] {
                Value::String(s) => Some(s.clone()),
                Value::Bool(b) => Some(b.to_string()),
                _ => None,
            },
        };
        let matches = match (*param, have) {
            ("user" | "receiver" | "token_address", Some(h)) => {
                let want = parse_eth(param, want)?;
                h.parse::<EthAddress>().is_ok_and(|h| h == want)
            }
            (_, Some(h)) => h.eq_ignore_ascii_case(want),
            (_, None) => false,
        };
        if !matches {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Keeps the rendered records that match the query's filters and pages them.
pub(super) fn filtered_page(
    records: impl Iterator<Item = Value>,
    q: &HashMap<String, String>,
    fields: &[(&str, &str)],
) -> Result<Value> {
    let mut items = Vec::new();
    for v in records {
        if keep(&v, q, fields)? {
            items.push(v);
        }
    }
    page(items, q, true)
}
