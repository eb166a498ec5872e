//! Writing the objects the lists and lookups share: times, tokens, account names.

use alloy_primitives::U256;
use serde_json::{json, Value};
use starkroute_types::{AssetClass, Felt, StarkKey};

use super::parse::{eth_str, felt_str};
use crate::assets::{AssetMeta, Royalty, TokenListing};
use crate::engine::StarkExEngine;
use crate::port::StarkExContractPort;

/// Why `metadata` filters are refused: the sandbox keeps no token metadata (no metadata API).
pub(super) const METADATA_REFUSED: &str =
    "the sandbox keeps no token metadata, so it cannot filter on it";

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds (proleptic Gregorian, Hinnant's civil_from_days).
pub(super) fn rfc3339(t: u64) -> String {
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
}

fn listing_of<'a>(e: &'a StarkExEngine, m: &AssetMeta) -> Option<&'a TokenListing> {
    match m.class {
        AssetClass::Eth | AssetClass::Erc20 => e.listing(m.token.as_ref()),
        _ => None,
    }
}

/// A `Token` object (`{type, data: TokenData}`) for a quantized amount of an asset id.
pub(super) fn token_json(e: &StarkExEngine, asset_id: &Felt, quantized: u64) -> Value {
    let Some(m) = e.asset(asset_id) else {
        return json!({"type": "", "data": {"quantity": quantized.to_string(),
            "quantity_with_fees": quantized.to_string(), "id": felt_str(asset_id)}});
    };
    let qty = (U256::from(quantized) * U256::from(m.quantum)).to_string();
    let mut data = json!({"quantity": qty, "quantity_with_fees": qty, "id": felt_str(asset_id)});
    if let Some(l) = listing_of(e, m) {
        data["decimals"] = json!(l.decimals);
        data["symbol"] = json!(l.symbol);
    }
    if let Some(t) = &m.token {
        data["token_address"] = json!(eth_str(t));
    }
    if let Some(id) = m.token_id {
        data["token_id"] = json!(id.to_string());
    }
    json!({"type": m.imx_type(), "data": data})
}

pub(super) fn who(e: &StarkExEngine, port: &dyn StarkExContractPort, key: &StarkKey) -> String {
    e.eth_of(port, key).map_or_else(|| key.to_string(), |a| eth_str(&a))
}

pub(super) fn rollup_status(e: &StarkExEngine, tx: u64) -> &'static str {
    if e.batch_of(tx).is_some() {
        "confirmed"
    } else {
        "pending"
    }
}

/// The name of an asset's token: its listing's (ETH, ERC-20) or its collection's (ERC-721).
pub(super) fn token_name(e: &StarkExEngine, asset_id: &Felt) -> Option<String> {
    let m = e.asset(asset_id)?;
    match listing_of(e, m) {
        Some(l) => Some(l.name.clone()),
        None => m.token.as_ref().and_then(|t| e.collection(t)).map(|c| c.name.clone()),
    }
}

/// A royalty as a `Fee` (`{address, percentage, type: "royalty"}`) or a `MintFee`
/// (`{recipient, percentage}`).
pub(super) fn fee_json(r: &Royalty, mint_fee: bool) -> Value {
    // The percentage was checked to be a decimal when it was accepted.
    let pct: Value = serde_json::from_str(&r.percentage).unwrap_or(Value::Null);
    if mint_fee {
        json!({"recipient": eth_str(&r.recipient), "percentage": pct})
    } else {
        json!({"address": eth_str(&r.recipient), "percentage": pct, "type": "royalty"})
    }
}

/// The royalties of an asset as `Fee`s.
pub(super) fn fees_json(e: &StarkExEngine, asset_id: &Felt) -> Value {
    Value::Array(e.royalties(asset_id).iter().map(|r| fee_json(r, false)).collect())
}
