//! The list endpoints' query: every parameter the spec defines for a list is either applied
//! (filters, `order_by`, `direction`, `cursor`, `page_size`) or refused with a 400 naming it, and
//! a parameter the spec does not define is refused too — none is ever ignored.
//!
//! Rows are rendered first (the JSON the list answers), each with the few facts a filter needs
//! that the JSON does not carry exactly (times as seconds, the token's name). Filters read the
//! rendered fields through JSON pointers.
//!
//! Paging: `page_size` in `[1, 200]` (default 100; the spec sets no bound, this one is the
//! sandbox's), `cursor` the opaque decimal offset of the next page (empty on the last page),
//! `remaining` 1 when a further page exists. `direction` is `desc` by default (IMX's), `asc` for
//! tokens and balances.

use std::collections::HashMap;

use alloy_primitives::U256;
use serde_json::{json, Value};
use starkroute_types::{parse_felt, parse_u256, EthAddress};

use super::bad;
use super::parse::parse_eth;
use crate::error::Result;

const DEFAULT_PAGE_SIZE: usize = 100;
/// The largest `page_size` (the spec sets none).
pub(super) const MAX_PAGE_SIZE: usize = 200;

/// A rendered row and the facts its filters and orderings read.
#[derive(Debug, Clone)]
pub(super) struct Row {
    /// The JSON the list answers.
    pub(super) value: Value,
    /// When it was created (virtual seconds).
    pub(super) created: u64,
    /// When it last changed (virtual seconds).
    pub(super) updated: u64,
    /// The token's name (a listing's, or an NFT's collection's), for `token_name`.
    pub(super) token_name: Option<String>,
}

impl Row {
    /// A row created and last changed at `t`.
    pub(super) fn at(value: Value, t: u64, token_name: Option<String>) -> Self {
        Self { value, created: t, updated: t, token_name }
    }
}

/// How a query parameter applies to a row.
#[derive(Debug, Clone, Copy)]
pub(super) enum Filter {
    /// The string at the pointer equals the value (ASCII case-insensitive).
    Eq(&'static str),
    /// The address at the pointer is one of the comma-separated addresses.
    Eth(&'static str),
    /// The felt at the pointer equals the value (any hex form).
    Felt(&'static str),
    /// The boolean at the pointer equals `true`/`false`.
    Bool(&'static str),
    /// The string at the pointer contains the value (case-insensitive); a null never does.
    Contains(&'static str),
    /// The string at one of the pointers contains the value (case-insensitive).
    ContainsAny(&'static [&'static str]),
    /// The string at the pointer is one of the comma-separated values (case-insensitive).
    OneOf(&'static str),
    /// None of the comma-separated addresses is the address at the pointer.
    NotEth(&'static str),
    /// The decimal at the pointer is at least / at most the value.
    MinQuantity(&'static str),
    /// See [`Filter::MinQuantity`].
    MaxQuantity(&'static str),
    /// [`Row::created`] at or after / at or before an ISO 8601 UTC time.
    MinCreated,
    /// See [`Filter::MinCreated`].
    MaxCreated,
    /// [`Row::updated`] at or after / at or before an ISO 8601 UTC time.
    MinUpdated,
    /// See [`Filter::MinUpdated`].
    MaxUpdated,
    /// [`Row::token_name`] equals the value (case-insensitive).
    TokenName,
    /// Handled by the endpoint itself (not a row filter); allowed here.
    Endpoint,
    /// Refused with this reason whenever given.
    Refused(&'static str),
}

/// How `order_by` sorts (ties keep the rows' order, the transaction order).
#[derive(Debug, Clone, Copy)]
pub(super) enum Order {
    /// Keep the rows' order (transaction id, creation).
    Natural,
    /// The string at the pointer (nulls first).
    Text(&'static str),
    /// The decimal (or integer) at the pointer, as a number.
    Number(&'static str),
    /// [`Row::created`].
    Created,
    /// [`Row::updated`].
    Updated,
}

/// What a list endpoint accepts.
#[derive(Debug, Clone, Copy)]
pub(super) struct ListSpec {
    /// Its filters, by query parameter.
    pub(super) filters: &'static [(&'static str, Filter)],
    /// Its `order_by` values.
    pub(super) orders: &'static [(&'static str, Order)],
    /// `direction` when absent.
    pub(super) default_desc: bool,
    /// Whether the answer has `remaining` (every list but tokens).
    pub(super) with_remaining: bool,
}

fn text_at<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

fn number_at(v: &Value, ptr: &str) -> Option<U256> {
    match v.pointer(ptr)? {
        Value::String(s) => parse_u256(s).ok(),
        Value::Number(n) => n.as_u64().map(U256::from),
        _ => None,
    }
}

fn quantity(param: &str, s: &str) -> Result<U256> {
    parse_u256(s).map_err(|e| bad(format!("{param}: {e}")))
}

/// Unix seconds of an ISO 8601 UTC time `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (the
/// fraction is dropped; an offset is applied).
pub(super) fn parse_time(param: &str, s: &str) -> Result<u64> {
    let err =
        || bad(format!("{param}: {s:?} is not an ISO 8601 UTC time like 2022-05-27T00:10:22Z"));
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't') {
        return Err(err());
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(err());
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64> {
        let part = s.get(r).ok_or_else(err)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(err());
        }
        part.parse().map_err(|_| err())
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return Err(err());
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(err());
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let hh: i64 = o[1..3].parse().map_err(|_| err())?;
            let mm: i64 = o[4..6].parse().map_err(|_| err())?;
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (hh * 3600 + mm * 60)
        }
        _ => return Err(err()),
    };
    // Hinnant's days_from_civil.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let t = days * 86_400 + h * 3600 + mi * 60 + sec - offset;
    u64::try_from(t).map_err(|_| err())
}

fn eth_list(param: &str, s: &str) -> Result<Vec<EthAddress>> {
    s.split(',').map(|a| parse_eth(param, a.trim())).collect()
}

fn bool_param(param: &str, s: &str) -> Result<bool> {
    match s {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(bad(format!("{param} must be true or false, not {s:?}"))),
    }
}

/// A boolean query parameter (absent: `false`).
pub(super) fn flag(q: &HashMap<String, String>, param: &str) -> Result<bool> {
    q.get(param).map_or(Ok(false), |s| bool_param(param, s))
}

/// One parameter's verdict on one row (the parameter's value already checked well-formed).
fn keep(row: &Row, param: &str, want: &str, f: Filter) -> Result<bool> {
    let v = &row.value;
    Ok(match f {
        Filter::Eq(p) => text_at(v, p).is_some_and(|h| h.eq_ignore_ascii_case(want)),
        Filter::Eth(p) => {
            let want = eth_list(param, want)?;
            text_at(v, p)
                .and_then(|h| h.parse::<EthAddress>().ok())
                .is_some_and(|h| want.contains(&h))
        }
        Filter::NotEth(p) => {
            let refused = eth_list(param, want)?;
            !text_at(v, p)
                .and_then(|h| h.parse::<EthAddress>().ok())
                .is_some_and(|h| refused.contains(&h))
        }
        Filter::Felt(p) => {
            let want = parse_felt(want).map_err(|e| bad(format!("{param}: {e}")))?;
            text_at(v, p).and_then(|h| parse_felt(h).ok()) == Some(want)
        }
        Filter::Bool(p) => v.pointer(p).and_then(Value::as_bool) == Some(bool_param(param, want)?),
        Filter::Contains(p) => text_at(v, p)
            .is_some_and(|h| h.to_ascii_lowercase().contains(&want.to_ascii_lowercase())),
        Filter::ContainsAny(ps) => {
            let want = want.to_ascii_lowercase();
            ps.iter().any(|p| text_at(v, p).is_some_and(|h| h.to_ascii_lowercase().contains(&want)))
        }
        Filter::OneOf(p) => {
            text_at(v, p).is_some_and(|h| want.split(',').any(|w| w.trim().eq_ignore_ascii_case(h)))
        }
        Filter::MinQuantity(p) => {
            number_at(v, p).is_some_and(|h| h >= quantity(param, want).unwrap_or_default())
        }
        Filter::MaxQuantity(p) => {
            number_at(v, p).is_some_and(|h| h <= quantity(param, want).unwrap_or_default())
        }
        Filter::MinCreated => row.created >= parse_time(param, want)?,
        Filter::MaxCreated => row.created <= parse_time(param, want)?,
        Filter::MinUpdated => row.updated >= parse_time(param, want)?,
        Filter::MaxUpdated => row.updated <= parse_time(param, want)?,
        Filter::TokenName => {
            row.token_name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(want))
        }
        Filter::Endpoint => true,
        Filter::Refused(why) => return Err(bad(format!("{param}: {why}"))),
    })
}

/// Checks every parameter's value once (so a malformed one is refused even when no row is left
/// to test it on) and refuses parameters the list does not define.
fn check_params(q: &HashMap<String, String>, spec: &ListSpec) -> Result<()> {
    let mut names: Vec<&String> = q.keys().collect();
    names.sort();
    for name in names {
        let want = &q[name];
        match name.as_str() {
            "page_size" | "cursor" | "direction" | "order_by" => continue,
            _ => {}
        }
        let Some((_, f)) = spec.filters.iter().find(|(p, _)| p == name) else {
            return Err(bad(format!("{name} is not a query parameter of this list")));
        };
        match *f {
            Filter::Eth(_) | Filter::NotEth(_) => {
                eth_list(name, want)?;
            }
            Filter::Felt(_) => {
                parse_felt(want).map_err(|e| bad(format!("{name}: {e}")))?;
            }
            Filter::Bool(_) => {
                bool_param(name, want)?;
            }
            Filter::MinQuantity(_) | Filter::MaxQuantity(_) => {
                quantity(name, want)?;
            }
            Filter::MinCreated | Filter::MaxCreated | Filter::MinUpdated | Filter::MaxUpdated => {
                parse_time(name, want)?;
            }
            Filter::Refused(why) => return Err(bad(format!("{name}: {why}"))),
            _ => {}
        }
    }
    Ok(())
}

/// Filters, orders and pages rows given in their natural (transaction) order.
pub(super) fn list(rows: Vec<Row>, q: &HashMap<String, String>, spec: &ListSpec) -> Result<Value> {
    check_params(q, spec)?;
    let size = match q.get("page_size") {
        None => DEFAULT_PAGE_SIZE,
        Some(s) => {
            s.parse::<usize>().ok().filter(|n| (1..=MAX_PAGE_SIZE).contains(n)).ok_or_else(
                || bad(format!("page_size must be in [1, {MAX_PAGE_SIZE}], not {s:?}")),
            )?
        }
    };
    let start = match q.get("cursor").map(String::as_str) {
        None | Some("") => 0,
        Some(c) => c.parse::<usize>().map_err(|_| bad(format!("cursor: invalid cursor {c:?}")))?,
    };
    let desc = match q.get("direction").map(String::as_str) {
        None => spec.default_desc,
        Some("desc") => true,
        Some("asc") => false,
        Some(d) => return Err(bad(format!("direction must be asc or desc, not {d:?}"))),
    };
    let order = match q.get("order_by") {
        None => Order::Natural,
        Some(o) => {
            spec.orders.iter().find(|(name, _)| name == o).map(|(_, k)| *k).ok_or_else(|| {
                let names: Vec<&str> = spec.orders.iter().map(|(n, _)| *n).collect();
                bad(format!("order_by must be one of {names:?}, not {o:?}"))
            })?
        }
    };
    let mut items = Vec::new();
    for row in rows {
        let mut kept = true;
        for (name, want) in q {
            if let Some((_, f)) = spec.filters.iter().find(|(p, _)| p == name) {
                if !keep(&row, name, want, *f)? {
                    kept = false;
                    break;
                }
            }
        }
        if kept {
            items.push(row);
        }
    }
    match order {
        Order::Natural => {}
        Order::Text(p) => items.sort_by(|a, b| {
            text_at(&a.value, p)
                .map(str::to_ascii_lowercase)
                .cmp(&text_at(&b.value, p).map(str::to_ascii_lowercase))
        }),
        Order::Number(p) => items.sort_by_key(|r| number_at(&r.value, p)),
        Order::Created => items.sort_by_key(|r| r.created),
        Order::Updated => items.sort_by_key(|r| r.updated),
    }
    if desc {
        items.reverse();
    }
    let end = start.saturating_add(size).min(items.len());
    let result: Vec<Value> = items
        .get(start.min(items.len())..end)
        .unwrap_or(&[])
        .iter()
        .map(|r| r.value.clone())
        .collect();
    let more = end < items.len();
    let mut out = json!({
        "cursor": if more { end.to_string() } else { String::new() },
        "result": result,
    });
    if spec.with_remaining {
        out["remaining"] = json!(u8::from(more));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_times_parse_to_unix_seconds() {
        assert_eq!(parse_time("t", "1970-01-01T00:00:00Z").unwrap(), 0);
        assert_eq!(parse_time("t", "2026-01-01T00:00:00Z").unwrap(), 1_767_225_600);
        assert_eq!(parse_time("t", "2000-02-29T23:59:59.123Z").unwrap(), 951_782_400 + 86_399);
        assert_eq!(parse_time("t", "2026-01-01T02:00:00+02:00").unwrap(), 1_767_225_600);
        for bad in [
            "2026-01-01",
            "2026-13-01T00:00:00Z",
            "2026-01-01T00:00:00",
            "x",
            "2026-01-01T00:00:00.Z",
        ] {
            let e = parse_time("min_timestamp", bad).unwrap_err().to_string();
            assert!(e.contains("min_timestamp"), "{bad}: {e}");
        }
    }
}
