//! The ImmutableX-style REST API of the StarkEx engine (axum).
//!
//! Field names and JSON types follow `imx-openapi.json` (Swagger 2.0, PROTOCOL.md C): amounts,
//! keys, asset ids and hashes are strings; nonces, vault ids, expirations (hours), transaction ids
//! and `time` are integers. Errors are `{code, message}` with a 4xx status for the client's
//! mistakes and 503 for the operator's state (frozen contract or a fault switch); bad input never
//! gets a 5xx.
//!
//! Served: `/v1/signable-registration-offchain`, `/v1/users` (POST), `/v1/users/{user}`,
//! `/v1/signable-deposit-details`, `/v1/deposits[/{id}]`, `/v1/signable-withdrawal-details`,
//! `/v2/signable-withdrawal-details`, `/v1/withdrawals` (POST and GET), `/v2/withdrawals`,
//! `/v1/withdrawals/{id}`, `/v1/signable-transfer-details`, `/v1/transfers` (POST and GET),
//! `/v1/transfers/{id}`, `/v2/signable-transfer-details`, `/v2/transfers`, `/v2/balances/{owner}`,
//! `/v1/encode/{asset|mintable-asset}`, `/v1/tokens[/{address}]`, and the data-availability
//! endpoints `/v1/availability/roots` and `/v1/availability/vaults/{vault_id}?root=0x…` (not an
//! IMX endpoint: the committee's service `escape` needs).
//!
//! Sandbox choices where IMX is unknown or unpublished:
//! - `payload_hash` of a transfer (v1 and v2) is the StarkEx type-1 transfer hash
//!   ([`TransferOrder::message_hash`]); v2 transfers carry no fee fields, so they are not type 4.
//!   Withdrawals use [`WithdrawalOrder::message_hash`].
//! - The `amount` of a create request (transfer or withdrawal) is quantized, as signed; the
//!   signable endpoints take base units and answer with the quantized amount.
//! - `rollup_status` is `pending` until the batch is posted, then `confirmed`.
//!
//! ETH signatures (`r ‖ s ‖ v`, `v ∈ {0, 1, 27, 28}`, low `s`) are verified by public-key
//! recovery ([`recover_personal_sign`]), as the imx-core-sdk workflows produce them (`signRaw`
//! over the `signable_message` of the matching signable-details call, PROTOCOL.md B.7):
//! - `POST /v1/users`: `eth_signature` over [`REGISTRATION_SIGNABLE_MESSAGE`] must recover
//!   `ether_key` (checked by [`StarkExEngine::register_user`]).
//! - `POST /v1/withdrawals`, `/v2/withdrawals`, `/v1/transfers`, `/v2/transfers`:
//!   `x-imx-eth-signature` must recover `x-imx-eth-address`, which must be the sender's registered
//!   address. The server never stored the `signable_message` it handed out, so it rebuilds it
//!   from the create request: the fixed preamble, then the request's payload hash (withdrawals and
//!   v1 transfers), or for `/v2/transfers` the payload hashes of `requests` in request order, one a
//!   line, exactly as `/v2/signable-transfer-details` joins them. The signature therefore covers
//!   the very order the Stark key signed, not just the account. **[choice]** The spec marks the
//!   headers optional on transfers because IMX Passport's `Authorization` bearer token is the
//!   alternative; the sandbox has no Passport, so it requires the headers there too rather than
//!   accept unauthenticated transfers.
//!
//! A missing, malformed or wrong ETH signature is a 401 `unauthorised_request` and changes nothing.
//! Stark signatures are verified everywhere too (400 `invalid_signature`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use alloy_primitives::U256;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use starkroute_crypto::keys::recover_personal_sign;
use starkroute_crypto::{
    asset_info, asset_type, mintable_asset_id, nft_asset_id, registration_message_hash,
    StarkSignature,
};
use starkroute_types::{
    parse_felt, parse_u256, AssetClass, EthAddress, Felt, Quantum, StarkExAssetType, StarkKey,
    TokenId, VaultId,
};

use super::assets::{AssetMeta, TokenListing};
use super::engine::{
    StarkExEngine, TransferOrder, TransferRequest, WithdrawalOrder, WithdrawalReceiver,
    WithdrawalRequest, MAX_EXPIRATION_HOURS, WITHDRAWAL_RECEIVER_VAULT,
};
use super::error::{Result, StarkExError};
use crate::port::StarkExContractPort;

pub use super::engine::REGISTRATION_SIGNABLE_MESSAGE;

/// Whatever owns the engine, the StarkEx contract port and the virtual clock, and lends them to
/// the API one request at a time.
pub trait StarkExHost: Send + Sync + 'static {
    /// Runs `f` with the engine, the port and the current virtual time (seconds).
    fn with<R>(
        &self,
        f: impl FnOnce(&mut StarkExEngine, &mut dyn StarkExContractPort, u64) -> R,
    ) -> R;
}

/// A ready-made host: the engine and a port behind one mutex, with a settable clock. The world
/// may use its own host instead (e.g. one that locks the whole world).
#[derive(Debug)]
pub struct SharedHost<P> {
    inner: parking_lot::Mutex<(StarkExEngine, P)>,
    now: AtomicU64,
}

impl<P: StarkExContractPort + Send + 'static> SharedHost<P> {
    /// A host over an engine and a port, at virtual time `now`.
    pub fn new(engine: StarkExEngine, port: P, now: u64) -> Self {
        Self { inner: parking_lot::Mutex::new((engine, port)), now: AtomicU64::new(now) }
    }

    /// Sets the virtual time.
    pub fn set_now(&self, now: u64) {
        self.now.store(now, Ordering::SeqCst);
    }

    /// The virtual time.
    pub fn now(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }

    /// Locks the engine and the port (for the driver and for tests).
    pub fn lock(&self) -> parking_lot::MutexGuard<'_, (StarkExEngine, P)> {
        self.inner.lock()
    }

    /// Advances the clock and ticks the engine.
    pub fn tick(&self, now: u64) -> super::TickReport {
        self.set_now(now);
        let mut g = self.inner.lock();
        let (engine, port) = &mut *g;
        engine.tick(now, port)
    }
}

impl<P: StarkExContractPort + Send + 'static> StarkExHost for SharedHost<P> {
    fn with<R>(
        &self,
        f: impl FnOnce(&mut StarkExEngine, &mut dyn StarkExContractPort, u64) -> R,
    ) -> R {
        let now = self.now();
        let mut g = self.inner.lock();
        let (engine, port) = &mut *g;
        f(engine, port, now)
    }
}

/// An error answered as `{code, message}`.
#[derive(Debug)]
struct ApiError(StarkExError);

impl From<StarkExError> for ApiError {
    fn from(e: StarkExError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        (status, Json(json!({"code": self.0.code(), "message": self.0.to_string()})))
            .into_response()
    }
}

type ApiResult = std::result::Result<Json<Value>, ApiError>;

fn bad(msg: impl Into<String>) -> StarkExError {
    StarkExError::BadRequest(msg.into())
}

fn body<T>(r: std::result::Result<Json<T>, JsonRejection>) -> Result<T> {
    r.map(|Json(t)| t).map_err(|e| bad(e.body_text()))
}

fn path<T>(r: std::result::Result<Path<T>, PathRejection>) -> Result<T> {
    r.map(|Path(t)| t).map_err(|e| bad(e.body_text()))
}

fn query(
    r: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>> {
    r.map(|Query(q)| q).map_err(|e| bad(e.body_text()))
}

/// Builds the router over a host.
pub fn router<H: StarkExHost>(host: Arc<H>) -> Router {
    Router::new()
        .route("/v1/signable-registration-offchain", post(signable_registration::<H>))
        .route("/v1/users", post(register_user::<H>))
        .route("/v1/users/{user}", get(get_user::<H>))
        .route("/v1/signable-deposit-details", post(signable_deposit::<H>))
        .route("/v1/deposits", get(list_deposits::<H>))
        .route("/v1/deposits/{id}", get(get_deposit::<H>))
        .route("/v1/signable-withdrawal-details", post(signable_withdrawal_v1::<H>))
        .route("/v2/signable-withdrawal-details", post(signable_withdrawal_v2::<H>))
        .route("/v1/withdrawals", post(create_withdrawal_v1::<H>).get(list_withdrawals::<H>))
        .route("/v2/withdrawals", post(create_withdrawal_v2::<H>))
        .route("/v1/withdrawals/{id}", get(get_withdrawal::<H>))
        .route("/v1/signable-transfer-details", post(signable_transfer_v1::<H>))
        .route("/v1/transfers", post(create_transfer_v1::<H>).get(list_transfers::<H>))
        .route("/v1/transfers/{id}", get(get_transfer::<H>))
        .route("/v2/signable-transfer-details", post(signable_transfer_v2::<H>))
        .route("/v2/transfers", post(create_transfer_v2::<H>))
        .route("/v2/balances/{owner}", get(list_balances::<H>))
        .route("/v1/encode/{asset_type}", post(encode_asset::<H>))
        .route("/v1/tokens", get(list_tokens::<H>))
        .route("/v1/tokens/{address}", get(get_token::<H>))
        .route("/v1/availability/roots", get(list_roots::<H>))
        .route("/v1/availability/vaults/{vault_id}", get(availability::<H>))
        .fallback(|| async {
            ApiError(StarkExError::not_found("no such endpoint")).into_response()
        })
        .method_not_allowed_fallback(|| async {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                Json(json!({"code": "method_not_allowed", "message": "method not allowed"})),
            )
        })
        .with_state(host)
}

// ----- parsing -----

fn parse_eth(field: &str, s: &str) -> Result<EthAddress> {
    s.parse().map_err(|e| bad(format!("{field}: {e}")))
}

fn parse_key(field: &str, s: &str) -> Result<StarkKey> {
    s.parse().map_err(|e| bad(format!("{field}: {e}")))
}

fn parse_felt_field(field: &str, s: &str) -> Result<Felt> {
    parse_felt(s).map_err(|e| bad(format!("{field}: {e}")))
}

fn parse_vault(field: &str, v: u64) -> Result<VaultId> {
    VaultId::new(v).map_err(|e| bad(format!("{field}: {e}")))
}

fn parse_sig(s: &str) -> Result<StarkSignature> {
    StarkSignature::from_hex(s).map_err(|e| StarkExError::InvalidSignature(e.to_string()))
}

fn parse_quantized(field: &str, s: &str) -> Result<u64> {
    let v: u64 = s.parse().map_err(|_| bad(format!("{field}: {s:?} is not a decimal integer")))?;
    if v == 0 || v >= 1 << 63 {
        return Err(StarkExError::InvalidAmount(format!("{field} must be in [1, 2^63)")));
    }
    Ok(v)
}

/// Parses a 65-byte ETH signature `0x‖r‖s‖v` (the range checks are the recovery's).
fn parse_eth_signature(field: &str, s: &str) -> Result<[u8; 65]> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    let mut raw = [0u8; 65];
    hex::decode_to_slice(digits, &mut raw)
        .map_err(|_| StarkExError::Unauthorised(format!("{field}: expected 65 bytes of hex")))?;
    Ok(raw)
}

/// The address the `x-imx-eth-address` / `x-imx-eth-signature` headers authenticate: both present,
/// and the signature over `message` recovers the address. Whether that address may act for the
/// sender is [`check_eth_sender`]'s question.
///
/// Handlers call this before taking the host's lock (recovery is the expensive part) and apply
/// the result inside it, after the operator's own refusals, so the order of errors is unchanged.
fn eth_headers_signer(headers: &HeaderMap, message: &str) -> Result<EthAddress> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(addr), Some(sig)) = (get("x-imx-eth-address"), get("x-imx-eth-signature")) else {
        return Err(StarkExError::Unauthorised(
            "x-imx-eth-address and x-imx-eth-signature are required".into(),
        ));
    };
    let addr: EthAddress =
        addr.parse().map_err(|e| StarkExError::Unauthorised(format!("x-imx-eth-address: {e}")))?;
    let sig = parse_eth_signature("x-imx-eth-signature", sig)?;
    let signer = recover_personal_sign(message.as_bytes(), &sig)
        .map_err(|e| StarkExError::Unauthorised(format!("x-imx-eth-signature: {e}")))?;
    if signer != addr {
        return Err(StarkExError::Unauthorised(format!(
            "x-imx-eth-signature was not made by {} over this request's signable_message",
            eth_str(&addr)
        )));
    }
    Ok(addr)
}

/// The authenticated address must be the sender's registered ETH address.
fn check_eth_sender(
    e: &StarkExEngine,
    port: &dyn StarkExContractPort,
    signer: Result<EthAddress>,
    sender: &StarkKey,
) -> Result<()> {
    let signer = signer?;
    if e.eth_of(port, sender) == Some(signer) {
        Ok(())
    } else {
        Err(StarkExError::Unauthorised(format!(
            "{} is not the registered Ethereum address of the sender",
            eth_str(&signer)
        )))
    }
}

/// The lower-case hex form IMX uses for addresses.
fn eth_str(a: &EthAddress) -> String {
    format!("{:#x}", a.address())
}

fn felt_str(f: &Felt) -> String {
    f.to_fixed_hex_string()
}

/// A token as the signable endpoints take it: `{type, data}`.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
struct TokenIn {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Value,
}

impl TokenIn {
    fn field(&self, name: &str) -> Option<&str> {
        self.data.get(name).and_then(Value::as_str)
    }
}

/// An asset the request names, resolved to its StarkEx identity.
struct Resolved {
    asset_type: Felt,
    asset_id: Felt,
    quantum: u128,
    nft: bool,
}

fn resolve_token(e: &StarkExEngine, tok: &TokenIn) -> Result<Resolved> {
    let listed = |token: Option<&EthAddress>| -> Result<Resolved> {
        let l = e.listing(token).ok_or_else(|| {
            StarkExError::AssetNotRegistered(format!(
                "{} is not listed by the exchange",
                token.map_or("ETH".into(), eth_str)
            ))
        })?;
        let class = if token.is_some() { AssetClass::Erc20 } else { AssetClass::Eth };
        let t = type_of(class, token, l.quantum)?;
        Ok(Resolved { asset_type: t, asset_id: t, quantum: l.quantum, nft: false })
    };
    match tok.kind.as_str() {
        "ETH" => listed(None),
        "ERC20" => {
            let a =
                parse_eth("token.data.token_address", tok.field("token_address").unwrap_or(""))?;
            listed(Some(&a))
        }
        "ERC721" => {
            let a =
                parse_eth("token.data.token_address", tok.field("token_address").unwrap_or(""))?;
            let id = parse_u256(tok.field("token_id").unwrap_or(""))
                .map_err(|err| bad(format!("token.data.token_id: {err}")))?;
            // A token minted on the exchange is known by its mintable asset id.
            let known = e.assets().find(|(_, m)| {
                matches!(m.class, AssetClass::Erc721 | AssetClass::MintableErc721)
                    && m.token == Some(a)
                    && m.token_id == Some(id)
            });
            if let Some((asset_id, m)) = known {
                return Ok(Resolved {
                    asset_type: m.asset_type,
                    asset_id: *asset_id,
                    quantum: 1,
                    nft: true,
                });
            }
            let t = type_of(AssetClass::Erc721, Some(&a), 1)?;
            let asset_id = nft_asset_id(&StarkExAssetType(t), &TokenId(id)).0;
            Ok(Resolved { asset_type: t, asset_id, quantum: 1, nft: true })
        }
        other => Err(bad(format!("token.type {other:?} is not ETH, ERC20 or ERC721"))),
    }
}

fn type_of(class: AssetClass, token: Option<&EthAddress>, quantum: u128) -> Result<Felt> {
    let info = asset_info(class, token).map_err(|e| bad(e.to_string()))?;
    let q = Quantum::new(quantum).map_err(|e| bad(e.to_string()))?;
    Ok(asset_type(&info, q).0)
}

/// Base units → quantized units (`"1"` for an NFT).
fn quantize(r: &Resolved, amount: &str) -> Result<u64> {
    let v = parse_u256(amount).map_err(|e| StarkExError::InvalidAmount(format!("amount: {e}")))?;
    if r.nft {
        return if v == U256::from(1u64) {
            Ok(1)
        } else {
            Err(StarkExError::InvalidAmount("an ERC721 amount must be 1".into()))
        };
    }
    let q = U256::from(r.quantum);
    if v.is_zero() || !(v % q).is_zero() {
        return Err(StarkExError::InvalidAmount(format!(
            "{amount} is not a positive multiple of the quantum {}",
            r.quantum
        )));
    }
    u64::try_from(v / q)
        .ok()
        .filter(|x| *x < 1 << 63)
        .ok_or_else(|| StarkExError::InvalidAmount(format!("{amount} is too large")))
}

/// The Stark key of an Ethereum address: registered through the API or seen in a deposit, else
/// registered on the L1 contract (`registerEthAddress`).
fn registered_key(
    e: &StarkExEngine,
    port: &dyn StarkExContractPort,
    eth: &EthAddress,
) -> Result<StarkKey> {
    let known = e.accounts_of(eth).first().copied();
    known.or_else(|| port.stark_keys_of(eth).first().copied()).ok_or_else(|| {
        StarkExError::NotFound {
            code: "account_not_found",
            message: format!("{} is not registered", eth_str(eth)),
        }
    })
}

fn check_registered_on_l1(port: &dyn StarkExContractPort, r: &Resolved) -> Result<()> {
    port.registered_asset(&r.asset_type).map(|_| ()).ok_or_else(|| {
        StarkExError::AssetNotRegistered(format!(
            "asset type {} is not registered on the StarkEx contract",
            felt_str(&r.asset_type)
        ))
    })
}

/// The `signable_message` of a signable-details answer: a fixed preamble, then the payload
/// hashes one a line (one for a withdrawal or a v1 transfer, one per request for v2 transfers).
fn signable_message<'a>(payload_hashes: impl IntoIterator<Item = &'a Felt>) -> String {
    let hashes: Vec<String> = payload_hashes.into_iter().map(felt_str).collect();
    format!(
        "Only sign this request if you\u{2019}ve initiated an action with Immutable X.\n\nFor internal use:\n{}",
        hashes.join("\n")
    )
}

// ----- rendering -----

/// `YYYY-MM-DDTHH:MM:SSZ` for Unix seconds (proleptic Gregorian, Hinnant's civil_from_days).
fn rfc3339(t: u64) -> String {
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
fn token_json(e: &StarkExEngine, asset_id: &Felt, quantized: u64) -> Value {
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

fn who(e: &StarkExEngine, port: &dyn StarkExContractPort, key: &StarkKey) -> String {
    e.eth_of(port, key).map_or_else(|| key.to_string(), |a| eth_str(&a))
}

fn deposit_json(e: &StarkExEngine, d: &super::engine::DepositRecord) -> Value {
    json!({
        "transaction_id": d.transaction_id,
        "status": if d.refused.is_none() { "success" } else { "failed" },
        "user": eth_str(&d.event.depositor),
        "timestamp": rfc3339(d.timestamp),
        "token": token_json(e, &d.event.asset_id, d.event.quantized_amount),
    })
}

fn rollup_status(e: &StarkExEngine, tx: u64) -> &'static str {
    if e.batch_of(tx).is_some() {
        "confirmed"
    } else {
        "pending"
    }
}

fn withdrawal_json(
    e: &StarkExEngine,
    port: &dyn StarkExContractPort,
    w: &super::engine::WithdrawalRecord,
) -> Value {
    json!({
        "transaction_id": w.transaction_id,
        "status": "success",
        "rollup_status": rollup_status(e, w.transaction_id),
        "sender": who(e, port, &w.stark_key),
        "timestamp": rfc3339(w.timestamp),
        "token": token_json(e, &w.asset_id, w.amount),
        // Claims on L1 are the L1's business; the engine does not see them.
        "withdrawn_to_wallet": false,
    })
}

fn transfer_json(
    e: &StarkExEngine,
    port: &dyn StarkExContractPort,
    t: &super::engine::TransferRecord,
) -> Value {
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

const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 200;

/// `{cursor, remaining, result}` over items already in ascending order. The cursor is the
/// decimal offset of the next page (opaque to clients); `direction` is `desc` by default, as IMX.
fn page(items: Vec<Value>, q: &HashMap<String, String>, with_remaining: bool) -> Result<Value> {
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
fn filtered_page(
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

fn parse_id(s: &str) -> Result<u64> {
    s.parse().map_err(|_| bad(format!("{s:?} is not a transaction id")))
}

// ----- registration -----

#[derive(Deserialize)]
struct SignableRegistrationIn {
    ether_key: String,
    stark_key: String,
}

async fn signable_registration<H: StarkExHost>(
    State(host): State<Arc<H>>,
    req: std::result::Result<Json<SignableRegistrationIn>, JsonRejection>,
) -> ApiResult {
    let req = body(req)?;
    let eth = parse_eth("ether_key", &req.ether_key)?;
    let key = parse_key("stark_key", &req.stark_key)?;
    host.with(|e, port, _| {
        if !starkroute_crypto::is_valid_stark_key(&key.felt()) {
            return Err(bad(format!("{key} is not a valid Stark key")).into());
        }
        if let Some(existing) = e.eth_of(port, &key) {
            return Err(StarkExError::AlreadyRegistered(format!(
                "stark key {key} is already registered to {}",
                eth_str(&existing)
            ))
            .into());
        }
        let hash = registration_message_hash(&eth, &key);
        Ok(Json(json!({
            "payload_hash": felt_str(&hash),
            "readable_transaction": json!({"type": "register", "ether_key": eth_str(&eth),
                "stark_key": key.to_string()}).to_string(),
            "signable_message": REGISTRATION_SIGNABLE_MESSAGE,
            "verification_signature": e.operator_sign(&hash),
        })))
    })
}

#[derive(Deserialize)]
struct RegisterUserIn {
    eth_signature: String,
    ether_key: String,
    stark_key: String,
    stark_signature: String,
    #[serde(default)]
    #[allow(dead_code)]
    email: Option<String>,
}

async fn register_user<H: StarkExHost>(
    State(host): State<Arc<H>>,
    req: std::result::Result<Json<RegisterUserIn>, JsonRejection>,
) -> ApiResult {
    let req = body(req)?;
    let eth = parse_eth("ether_key", &req.ether_key)?;
    let key = parse_key("stark_key", &req.stark_key)?;
    let sig = parse_sig(&req.stark_signature)?;
    let eth_sig = parse_eth_signature("eth_signature", &req.eth_signature)?;
    host.with(|e, port, _| {
        e.register_user(port, eth, key, &sig, &eth_sig)?;
        let hash = registration_message_hash(&eth, &key);
        Ok(Json(json!({"tx_hash": e.operator_sign(&hash)})))
    })
}

async fn get_user<H: StarkExHost>(
    State(host): State<Arc<H>>,
    user: std::result::Result<Path<String>, PathRejection>,
) -> ApiResult {
    let user = parse_eth("user", &path(user)?)?;
    host.with(|e, port, _| {
        let mut keys = e.accounts_of(&user).to_vec();
        for k in port.stark_keys_of(&user) {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        let accounts: Vec<String> = keys.iter().map(ToString::to_string).collect();
        if accounts.is_empty() {
            return Err(StarkExError::NotFound {
                code: "account_not_found",
                message: format!("{} is not registered", eth_str(&user)),
            }
            .into());
        }
        Ok(Json(json!({ "accounts": accounts })))
    })
}

// ----- deposits -----

#[derive(Deserialize)]
struct SignableIn {
    user: String,
    token: TokenIn,
    amount: String,
}

async fn signable_deposit<H: StarkExHost>(
    State(host): State<Arc<H>>,
    req: std::result::Result<Json<SignableIn>, JsonRejection>,
) -> ApiResult {
    let req = body(req)?;
    let user = parse_eth("user", &req.user)?;
    host.with(|e, port, _| {
        if e.faults().reject_all {
            return Err(StarkExError::OperatorUnavailable.into());
        }
        let key = registered_key(e, port, &user)?;
        let r = resolve_token(e, &req.token)?;
        check_registered_on_l1(port, &r)?;
        let amount = quantize(&r, &req.amount)?;
        let vault = e.vault_for(key, r.asset_id)?;
        let nonce = e.offer_nonce(&key);
        Ok(Json(json!({
            "amount": amount.to_string(),
            "asset_id": felt_str(&r.asset_id),
            "nonce": nonce,
            "stark_key": key.to_string(),
            "vault_id": vault.get(),
        })))
    })
}

async fn list_deposits<H: StarkExHost>(
    State(host): State<Arc<H>>,
    q: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    host.with(|e, _, _| {
        let records = e.deposits().iter().map(|d| deposit_json(e, d));
        Ok(Json(filtered_page(
            records,
            &q,
            &[
                ("user", "user"),
                ("status", "status"),
                ("token_type", "token.type"),
                ("token_address", "token.token_address"),
                ("token_id", "token.token_id"),
            ],
        )?))
    })
}

async fn get_deposit<H: StarkExHost>(
    State(host): State<Arc<H>>,
    id: std::result::Result<Path<String>, PathRejection>,
) -> ApiResult {
    let id = parse_id(&path(id)?)?;
    host.with(|e, _, _| {
        let d = e
            .deposits()
            .iter()
            .find(|d| d.transaction_id == id)
            .ok_or_else(|| StarkExError::not_found(format!("deposit {id} not found")))?;
        Ok(Json(deposit_json(e, d)))
    })
}

// ----- withdrawals -----

/// The sender's vault of an asset, for the signable endpoints.
fn sender_vault(e: &StarkExEngine, key: &StarkKey, asset: &Felt) -> Result<VaultId> {
    e.allocated_vault(key, asset).ok_or(StarkExError::InsufficientBalance {
        vault: 0,
        balance: 0,
        amount: 1,
    })
}

async fn signable_withdrawal_v1<H: StarkExHost>(
    State(host): State<Arc<H>>,
    req: std::result::Result<Json<SignableIn>, JsonRejection>,
) -> ApiResult {
    signable_withdrawal(&*host, &body(req)?, false)
}

async fn signable_withdrawal_v2<H: StarkExHost>(
    State(host): State<Arc<H>>,
    req: std::result::Result<Json<SignableIn>, JsonRejection>,
) -> ApiResult {
    signable_withdrawal(&*host, &body(req)?, true)
}

fn signable_withdrawal<H: StarkExHost>(host: &H, req: &SignableIn, v2: bool) -> ApiResult {
    let user = parse_eth("user", &req.user)?;
    host.with(|e, port, now| {
        if e.faults().reject_all {
            return Err(StarkExError::OperatorUnavailable.into());
        }
        let key = registered_key(e, port, &user)?;
        let r = resolve_token(e, &req.token)?;
        let amount = quantize(&r, &req.amount)?;
        let vault = sender_vault(e, &key, &r.asset_id)?;
        let nonce = e.offer_nonce(&key);
        let order = WithdrawalOrder {
            sender: key,
            vault,
            asset_id: r.asset_id,
            amount,
            nonce,
            expiration_hours: if v2 {
                (now / 3600 + e.config().order_validity_hours).min(MAX_EXPIRATION_HOURS)
            } else {
                MAX_EXPIRATION_HOURS
            },
            receiver: if v2 {
                WithdrawalReceiver::EthAddress(user)
            } else {
                WithdrawalReceiver::StarkKey
            },
        };
        let hash = order.message_hash()?;
        let readable = json!({"type": "withdrawal", "sender_stark_key": key.to_string(),
            "sender_vault_id": vault.get(), "asset_id": felt_str(&r.asset_id),
            "quantized_amount": amount.to_string(), "nonce": nonce,
            "expiration_timestamp": order.expiration_hours})
        .to_string();
        let mut out = json!({
            "amount": amount.to_string(),
            "asset_id": felt_str(&r.asset_id),
            "nonce": nonce,
            "payload_hash": felt_str(&hash),
            "readable_transaction": readable,
            "signable_message": signable_message([&hash]),
            "verification_signature": e.operator_sign(&hash),
        });
        if v2 {
            out["amount"] = json!(req.amount);
            out["quantized_amount"] = json!(amount.to_string());
            out["expiration_timestamp"] = json!(order.expiration_hours);
            out["receiver_stark_key"] = json!(eth_str(&user));
            out["receiver_vault_id"] = json!(WITHDRAWAL_RECEIVER_VAULT);
            out["sender_stark_key"] = json!(key.to_string());
            out["sender_vault_id"] = json!(vault.get());
        } else {
            out["stark_key"] = json!(key.to_string());
            out["vault_id"] = json!(vault.get());
        }
        Ok(Json(out))
    })
}

#[derive(Deserialize)]
struct CreateWithdrawalV1In {
    amount: String,
    asset_id: String,
    nonce: u64,
    stark_key: String,
    stark_signature: String,
    vault_id: u64,
}

#[derive(Deserialize)]
struct CreateWithdrawalV2In {
    amount: String,
    asset_id: String,
    expiration_timestamp: u64,
    nonce: u64,
    receiver_stark_key: String,
    #[serde(default)]
    receiver_vault_id: Option<u64>,
    sender_stark_key: String,
    sender_vault_id: u64,
    stark_signature: String,
}

async fn create_withdrawal_v1<H: StarkExHost>(
    State(host): State<Arc<H>>,
    headers: HeaderMap,
    req: std::result::Result<Json<CreateWithdrawalV1In>, JsonRejection>,
) -> ApiResult {
    let req = body(req)?;
    let order = WithdrawalOrder {
        sender: parse_key("stark_key", &req.stark_key)?,
        vault: parse_vault("vault_id", req.vault_id)?,
        asset_id: parse_felt_field("asset_id", &req.asset_id)?,
        amount: parse_quantized("amount", &req.amount)?,
        nonce: req.nonce,
        expiration_hours: MAX_EXPIRATION_HOURS,
        receiver: WithdrawalReceiver::StarkKey,
    };
    let request = WithdrawalRequest { order, signature: parse_sig(&req.stark_signature)? };
    create_withdrawal(&*host, &headers, &request)
}

async fn create_withdrawal_v2<H: StarkExHost>(
    State(host): State<Arc<H>>,
    headers: HeaderMap,
    req: std::result::Result<Json<CreateWithdrawalV2In>, JsonRejection>,
) -> ApiResult {
    let req = body(req)?;
    if req.receiver_vault_id.is_some_and(|v| v != WITHDRAWAL_RECEIVER_VAULT) {
        return Err(bad("receiver_vault_id must be 0 (the withdrawal vault)").into());
    }
    let receiver = parse_u256(&req.receiver_stark_key)
        .ok()
        .filter(|v| v.bit_len() <= 160)
        .and_then(|v| {
            EthAddress::new(alloy_primitives::Address::from_slice(&v.to_be_bytes::<32>()[12..]))
                .ok()
        })
        .ok_or_else(|| bad("receiver_stark_key must be the L1 wallet address"))?;
    let order = WithdrawalOrder {
        sender: parse_key("sender_stark_key", &req.sender_stark_key)?,
        vault: parse_vault("sender_vault_id", req.sender_vault_id)?,
        asset_id: parse_felt_field("asset_id", &req.asset_id)?,
        amount: parse_quantized("amount", &req.amount)?,
        nonce: req.nonce,
        expiration_hours: req.expiration_timestamp,
        receiver: WithdrawalReceiver::EthAddress(receiver),
    };
    let request = WithdrawalRequest { order, signature: parse_sig(&req.stark_signature)? };
    create_withdrawal(&*host, &headers, &request)
}

fn create_withdrawal<H: StarkExHost>(
    host: &H,
    headers: &HeaderMap,
    request: &WithdrawalRequest,
) -> ApiResult {
    let hash = request.order.message_hash()?;
    let signer = eth_headers_signer(headers, &signable_message([&hash]));
    host.with(|e, port, now| {
        if e.faults().reject_all {
            return Err(StarkExError::OperatorUnavailable.into());
        }
        check_eth_sender(e, port, signer, &request.order.sender)?;
        let id = e.withdraw(port, now, request)?;
        Ok(Json(json!({"status": "success", "time": now, "withdrawal_id": id})))
    })
}

async fn list_withdrawals<H: StarkExHost>(
    State(host): State<Arc<H>>,
    q: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    host.with(|e, port, _| {
        let records = e.withdrawals().iter().map(|w| withdrawal_json(e, port, w));
        Ok(Json(filtered_page(
            records,
            &q,
            &[
                ("user", "sender"),
                ("status", "status"),
                ("rollup_status", "rollup_status"),
                ("withdrawn_to_wallet", "withdrawn_to_wallet"),
                ("token_type", "token.type"),
                ("token_address", "token.token_address"),
                ("token_id", "token.token_id"),
            ],
        )?))
    })
}

async fn get_withdrawal<H: StarkExHost>(
    State(host): State<Arc<H>>,
    id: std::result::Result<Path<String>, PathRejection>,
) -> ApiResult {
    let id = parse_id(&path(id)?)?;
    host.with(|e, port, _| {
        let w = e
            .withdrawals()
            .iter()
            .find(|w| w.transaction_id == id)
            .ok_or_else(|| StarkExError::not_found(format!("withdrawal {id} not found")))?;
        Ok(Json(withdrawal_json(e, port, w)))
    })
}

// ----- transfers -----

#[derive(Deserialize)]
struct SignableTransferV1In {
    sender: String,
    receiver: String,
    token: TokenIn,
    amount: String,
}

/// Builds one signable transfer (allocating the receiver's vault, offering a nonce).
fn signable_transfer(
    e: &mut StarkExEngine,
    port: &dyn StarkExContractPort,
    now: u64,
    sender: StarkKey,
    receiver_eth: &str,
    token: &TokenIn,
    amount: &str,
) -> Result<(TransferOrder, Felt)> {
    let receiver = registered_key(e, port, &parse_eth("receiver", receiver_eth)?)?;
    let r = resolve_token(e, token)?;
    let amount = quantize(&r, amount)?;
    let sender_vault = sender_vault(e, &sender, &r.asset_id)?;
    let receiver_vault = e.vault_for(receiver, r.asset_id)?;
    let order = TransferOrder {
        sender,
        sender_vault,
        receiver,
        receiver_vault,
        asset_id: r.asset_id,
        amount,
        nonce: e.offer_nonce(&sender),
        expiration_hours: (now / 3600 + e.config().order_validity_hours).min(MAX_EXPIRATION_HOURS),
    };
    let hash = order.message_hash()?;
    Ok((order, hash))
}

fn signable_transfer_json(e: &StarkExEngine, o: &TransferOrder, hash: &Felt) -> Value {
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
        "verification_signature": e.operator_sign(hash),
    })
}

async fn signable_transfer_v1<H: StarkExHost>(
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
        let (o, hash) =
            signable_transfer(e, port, now, sender, &req.receiver, &req.token, &req.amount)?;
        let mut out = signable_transfer_json(e, &o, &hash);
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
struct SignableTransferV2In {
    sender_ether_key: String,
    signable_requests: Vec<SignableTransferV2Item>,
}

async fn signable_transfer_v2<H: StarkExHost>(
    State(host): State<Arc<H>>,
    req: std::result::Result<Json<SignableTransferV2In>, JsonRejection>,
) -> ApiResult {
    let req = body(req)?;
    let sender_eth = parse_eth("sender_ether_key", &req.sender_ether_key)?;
    if req.signable_requests.is_empty() {
        return Err(bad("signable_requests is empty").into());
    }
    host.with(|e, port, now| {
        if e.faults().reject_all {
            return Err(StarkExError::OperatorUnavailable.into());
        }
        let sender = registered_key(e, port, &sender_eth)?;
        let mut responses = Vec::new();
        let mut hashes = Vec::new();
        for item in &req.signable_requests {
            let (o, hash) =
                signable_transfer(e, port, now, sender, &item.receiver, &item.token, &item.amount)?;
            let mut v = signable_transfer_json(e, &o, &hash);
            v["token"] = json!(item.token);
            hashes.push(hash);
            responses.push(v);
        }
        Ok(Json(json!({
            "sender_stark_key": sender.to_string(),
            "signable_message": signable_message(&hashes),
            "signable_responses": responses,
        })))
    })
}

#[derive(Deserialize)]
struct CreateTransferV1In {
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
struct CreateTransferV2In {
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

async fn create_transfer_v1<H: StarkExHost>(
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
    host.with(|e, port, now| {
        if e.faults().reject_all {
            return Err(StarkExError::OperatorUnavailable.into());
        }
        check_eth_sender(e, port, signer, &sender)?;
        let id = e.transfer(port, now, &t)?;
        Ok(Json(json!({
            "transfer_id": id,
            "sent_signature": t.signature.to_hex(),
            "status": "success",
            "time": now,
        })))
    })
}

async fn create_transfer_v2<H: StarkExHost>(
    State(host): State<Arc<H>>,
    headers: HeaderMap,
    req: std::result::Result<Json<CreateTransferV2In>, JsonRejection>,
) -> ApiResult {
    let r = body(req)?;
    let sender = parse_key("sender_stark_key", &r.sender_stark_key)?;
    if r.requests.is_empty() {
        return Err(bad("requests is empty").into());
    }
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
    host.with(|e, port, now| {
        if e.faults().reject_all {
            return Err(StarkExError::OperatorUnavailable.into());
        }
        check_eth_sender(e, port, signer, &sender)?;
        let ids = e.transfer_batch(port, now, &reqs).map_err(|(i, err)| {
            // Keep the refusal's code; say which request it was.
            ApiError(match err {
                StarkExError::BadRequest(m) => bad(format!("requests[{i}]: {m}")),
                other => other,
            })
        })?;
        Ok(Json(json!({ "transfer_ids": ids })))
    })
}

async fn list_transfers<H: StarkExHost>(
    State(host): State<Arc<H>>,
    q: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    let q = query(q)?;
    host.with(|e, port, _| {
        let records = e.transfers().iter().map(|t| transfer_json(e, port, t));
        Ok(Json(filtered_page(
            records,
            &q,
            &[
                ("user", "user"),
                ("receiver", "receiver"),
                ("status", "status"),
                ("token_type", "token.type"),
                ("token_address", "token.token_address"),
                ("token_id", "token.token_id"),
            ],
        )?))
    })
}

async fn get_transfer<H: StarkExHost>(
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

// ----- balances, encoding, tokens -----

async fn list_balances<H: StarkExHost>(
    State(host): State<Arc<H>>,
    owner: std::result::Result<Path<String>, PathRejection>,
    q: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    let owner = parse_eth("owner", &path(owner)?)?;
    let q = query(q)?;
    host.with(|e, _, _| {
        let keys = e.accounts_of(&owner).to_vec();
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

#[derive(Deserialize)]
struct EncodeIn {
    token: TokenIn,
}

async fn encode_asset<H: StarkExHost>(
    State(host): State<Arc<H>>,
    kind: std::result::Result<Path<String>, PathRejection>,
    req: std::result::Result<Json<EncodeIn>, JsonRejection>,
) -> ApiResult {
    let kind = path(kind)?;
    let tok = body(req)?.token;
    host.with(|e, _, _| {
        let (t, id) = match kind.as_str() {
            "asset" => {
                let r = resolve_token(e, &tok)?;
                (r.asset_type, r.asset_id)
            }
            "mintable-asset" => {
                let a = parse_eth(
                    "token.data.token_address",
                    tok.field("token_address").unwrap_or(""),
                )?;
                let id = tok.field("id").ok_or_else(|| bad("token.data.id is required"))?;
                let blueprint = tok.field("blueprint").unwrap_or("");
                let t = match tok.kind.as_str() {
                    "ERC721" => type_of(AssetClass::MintableErc721, Some(&a), 1)?,
                    "ERC20" => {
                        let q = e.listing(Some(&a)).map_or(1, |l| l.quantum);
                        type_of(AssetClass::MintableErc20, Some(&a), q)?
                    }
                    other => return Err(bad(format!("{other:?} cannot be mintable")).into()),
                };
                let blob = format!("{{{id}}}:{{{blueprint}}}");
                (t, mintable_asset_id(&StarkExAssetType(t), blob.as_bytes()).0)
            }
            other => {
                return Err(bad(format!("{other:?} is neither asset nor mintable-asset")).into())
            }
        };
        Ok(Json(json!({"asset_id": felt_str(&id), "asset_type": felt_str(&t)})))
    })
}

fn token_details(l: &TokenListing) -> Value {
    json!({
        "decimals": l.decimals.to_string(),
        "image_url": "",
        "name": l.name,
        "quantum": l.quantum.to_string(),
        "symbol": l.symbol,
        "token_address": l.token.as_ref().map_or_else(
            || "0x0000000000000000000000000000000000000000".to_string(),
            eth_str,
        ),
    })
}

async fn list_tokens<H: StarkExHost>(
    State(host): State<Arc<H>>,
    q: std::result::Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult {
    let mut q = query(q)?;
    q.entry("direction".into()).or_insert_with(|| "asc".into());
    host.with(|e, _, _| {
        let items = e.listings().iter().map(token_details).collect();
        Ok(Json(page(items, &q, false)?))
    })
}

async fn get_token<H: StarkExHost>(
    State(host): State<Arc<H>>,
    address: std::result::Result<Path<String>, PathRejection>,
) -> ApiResult {
    let address = path(address)?;
    let token = match address.to_ascii_lowercase().as_str() {
        "eth" | "0x0000000000000000000000000000000000000000" => None,
        _ => Some(parse_eth("address", &address)?),
    };
    host.with(|e, _, _| {
        let l = e
            .listing(token.as_ref())
            .ok_or_else(|| StarkExError::not_found(format!("token {address} is not listed")))?;
        Ok(Json(token_details(l)))
    })
}

// ----- availability -----

async fn list_roots<H: StarkExHost>(State(host): State<Arc<H>>) -> ApiResult {
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

async fn availability<H: StarkExHost>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{vid, TestPort};
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use starkroute_crypto::{EthPrivateKey, MerkleProof, StarkPrivateKey};
    use tower::ServiceExt;

    const NOW: u64 = 1_767_225_600;

    async fn call(
        app: &Router,
        method: &str,
        uri: &str,
        body: Option<Value>,
        headers: &[(&str, String)],
    ) -> (StatusCode, Value) {
        let mut b = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, v);
        }
        let req = match body {
            Some(v) => b.header("content-type", "application/json").body(Body::from(v.to_string())),
            None => b.body(Body::empty()),
        }
        .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, v)
    }

    struct Party {
        eth_key: EthPrivateKey,
        stark: StarkPrivateKey,
    }

    impl Party {
        fn new(n: u8) -> Self {
            Self {
                eth_key: EthPrivateKey::from_bytes(&[n; 32]).unwrap(),
                stark: StarkPrivateKey::from_felt(Felt::from(u64::from(n) * 1_000_003)).unwrap(),
            }
        }
        fn eth(&self) -> String {
            eth_str(&self.eth_key.address())
        }
        fn headers(&self, msg: &str) -> Vec<(&'static str, String)> {
            let sig = self.eth_key.personal_sign_imx(msg.as_bytes()).unwrap();
            vec![
                ("x-imx-eth-address", self.eth()),
                ("x-imx-eth-signature", format!("0x{}", hex::encode(sig))),
            ]
        }
        fn sign(&self, payload_hash: &Value) -> String {
            let h = parse_felt(payload_hash.as_str().unwrap()).unwrap();
            self.stark.sign(&h).unwrap().to_hex()
        }
    }

    async fn register(app: &Router, p: &Party) {
        let body = json!({"ether_key": p.eth(), "stark_key": p.stark.public_key().to_string()});
        let (s, r) = call(app, "POST", "/v1/signable-registration-offchain", Some(body), &[]).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let eth_sig = p
            .eth_key
            .personal_sign_imx(r["signable_message"].as_str().unwrap().as_bytes())
            .unwrap();
        let body = json!({
            "ether_key": p.eth(),
            "stark_key": p.stark.public_key().to_string(),
            "stark_signature": p.sign(&r["payload_hash"]),
            "eth_signature": format!("0x{}", hex::encode(eth_sig)),
        });
        let (s, r) = call(app, "POST", "/v1/users", Some(body), &[]).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert!(r["tx_hash"].is_string());
    }

    fn setup() -> (Arc<SharedHost<TestPort>>, Router, Felt) {
        let mut port = TestPort::default();
        let eth = port.register_asset(AssetClass::Eth, None, 100_000_000);
        let host = Arc::new(SharedHost::new(StarkExEngine::default(), port, NOW));
        let app = router(host.clone());
        (host, app, eth)
    }

    /// A key registered only on the L1 contract (`registerEthAddress`, no `POST /v1/users`, no
    /// deposit yet) is the API's account of its address: `/v1/users` lists it and a transfer can
    /// name it as receiver.
    #[tokio::test]
    async fn a_key_registered_only_on_l1_is_an_account() {
        let mut port = TestPort::default();
        let eth = port.register_asset(AssetClass::Eth, None, 100_000_000);
        let (alice, bob) = (Party::new(0xa1), Party::new(0xb2));
        let bob_eth: EthAddress = bob.eth().parse().unwrap();
        port.eth.insert(bob.stark.public_key(), bob_eth);
        let host = Arc::new(SharedHost::new(StarkExEngine::default(), port, NOW));
        let app = router(host.clone());
        let (s, r) = call(&app, "GET", &format!("/v1/users/{}", bob.eth()), None, &[]).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["accounts"][0].as_str().unwrap(), bob.stark.public_key().to_string());
        register(&app, &alice).await;
        let body = json!({"sender": alice.eth(), "receiver": bob.eth(), "token": {"type": "ETH", "data": {}}, "amount": "100000000"});
        // Bob resolves (the refusal is Alice's empty vault, not an unknown receiver).
        let (s, r) = call(&app, "POST", "/v1/signable-transfer-details", Some(body), &[]).await;
        assert_eq!(
            (s, r["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("insufficient_balance")),
            "{r}"
        );
        let _ = eth;
        let (s, _) =
            call(&app, "GET", "/v1/users/0x00000000000000000000000000000000000000b3", None, &[])
                .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "unknown on both");
    }

    #[tokio::test]
    async fn deposit_transfer_withdraw_over_the_api() {
        let (host, app, eth) = setup();
        let (alice, bob) = (Party::new(0xa1), Party::new(0xb2));
        register(&app, &alice).await;
        register(&app, &bob).await;
        let (s, r) = call(&app, "GET", &format!("/v1/users/{}", alice.eth()), None, &[]).await;
        assert_eq!(
            (s, r["accounts"][0].as_str().unwrap()),
            (StatusCode::OK, alice.stark.public_key().to_string().as_str())
        );
        // Registering twice is a conflict.
        let body =
            json!({"ether_key": alice.eth(), "stark_key": alice.stark.public_key().to_string()});
        let (s, r) =
            call(&app, "POST", "/v1/signable-registration-offchain", Some(body), &[]).await;
        assert_eq!(
            (s, r["code"].as_str().unwrap()),
            (StatusCode::CONFLICT, "user_already_registered")
        );

        // Deposit 1 ETH.
        let body = json!({"user": alice.eth(), "token": {"type": "ETH", "data": {"decimals": 18}}, "amount": "1000000000000000000"});
        let (s, d) = call(&app, "POST", "/v1/signable-deposit-details", Some(body), &[]).await;
        assert_eq!(s, StatusCode::OK, "{d}");
        assert_eq!(d["amount"], "10000000000");
        assert_eq!(parse_felt(d["asset_id"].as_str().unwrap()).unwrap(), eth);
        assert!(d["nonce"].is_u64() && d["vault_id"].is_u64());
        let vault_a = vid(d["vault_id"].as_u64().unwrap());
        host.lock().1.deposit(alice.stark.public_key(), eth, vault_a, 10_000_000_000);
        host.tick(NOW + 60);
        let (_, list) = call(&app, "GET", "/v1/deposits", None, &[]).await;
        assert_eq!(list["remaining"], 0);
        assert_eq!(list["result"][0]["status"], "success");
        assert_eq!(list["result"][0]["token"]["data"]["quantity"], "1000000000000000000");
        assert!(list["result"][0]["timestamp"]
            .as_str()
            .unwrap()
            .starts_with("2026-01-01T00:01:00"));

        // Transfer 0.25 ETH to Bob (v1).
        let body = json!({"sender": alice.eth(), "receiver": bob.eth(), "token": {"type": "ETH", "data": {}}, "amount": "250000000000000000"});
        let (s, st) = call(&app, "POST", "/v1/signable-transfer-details", Some(body), &[]).await;
        assert_eq!(s, StatusCode::OK, "{st}");
        let create = json!({
            "amount": st["amount"], "asset_id": st["asset_id"], "expiration_timestamp": st["expiration_timestamp"],
            "nonce": st["nonce"], "receiver_stark_key": st["receiver_stark_key"], "receiver_vault_id": st["receiver_vault_id"],
            "sender_stark_key": st["sender_stark_key"], "sender_vault_id": st["sender_vault_id"],
            "stark_signature": alice.sign(&st["payload_hash"]),
        });
        let signed = alice.headers(st["signable_message"].as_str().unwrap());
        let (s, t) = call(&app, "POST", "/v1/transfers", Some(create.clone()), &signed).await;
        assert_eq!(s, StatusCode::OK, "{t}");
        let id = t["transfer_id"].as_u64().unwrap();
        // Replaying it is refused, state untouched.
        let root = host.lock().0.vault_root();
        let (s, r) = call(&app, "POST", "/v1/transfers", Some(create), &signed).await;
        assert_eq!(
            (s, r["code"].as_str().unwrap()),
            (StatusCode::BAD_REQUEST, "nonce_already_used")
        );
        assert_eq!(host.lock().0.vault_root(), root);
        let (_, tr) = call(&app, "GET", &format!("/v1/transfers/{id}"), None, &[]).await;
        assert_eq!(tr["receiver"], bob.eth());
        assert_eq!(tr["token"]["data"]["quantity"], "250000000000000000");

        // Withdraw 0.5 ETH (v2, credited to the ETH address).
        let body = json!({"user": alice.eth(), "token": {"type": "ETH", "data": {}}, "amount": "500000000000000000"});
        let (s, w) = call(&app, "POST", "/v2/signable-withdrawal-details", Some(body), &[]).await;
        assert_eq!(s, StatusCode::OK, "{w}");
        assert_eq!(w["receiver_vault_id"], 0);
        let create = json!({
            "amount": w["quantized_amount"], "asset_id": w["asset_id"], "expiration_timestamp": w["expiration_timestamp"],
            "nonce": w["nonce"], "receiver_stark_key": w["receiver_stark_key"], "receiver_vault_id": 0,
            "sender_stark_key": w["sender_stark_key"], "sender_vault_id": w["sender_vault_id"],
            "stark_signature": alice.sign(&w["payload_hash"]),
        });
        let (s, r) = call(&app, "POST", "/v2/withdrawals", Some(create.clone()), &[]).await;
        assert_eq!(
            (s, r["code"].as_str().unwrap()),
            (StatusCode::UNAUTHORIZED, "unauthorised_request")
        );
        let message = w["signable_message"].as_str().unwrap();
        let (s, r) =
            call(&app, "POST", "/v2/withdrawals", Some(create.clone()), &bob.headers(message))
                .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{r}");
        let (s, r) =
            call(&app, "POST", "/v2/withdrawals", Some(create.clone()), &alice.headers("x")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "a signature over another message: {r}");
        let (s, r) =
            call(&app, "POST", "/v2/withdrawals", Some(create), &alice.headers(message)).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        let wid = r["withdrawal_id"].as_u64().unwrap();
        let (_, g) = call(&app, "GET", &format!("/v1/withdrawals/{wid}"), None, &[]).await;
        assert_eq!(
            (g["rollup_status"].as_str(), g["withdrawn_to_wallet"].as_bool()),
            (Some("pending"), Some(false))
        );
        let (_, b) = call(&app, "GET", &format!("/v2/balances/{}", alice.eth()), None, &[]).await;
        assert_eq!(b["result"][0]["balance"], "250000000000000000");
        assert_eq!(b["result"][0]["preparing_withdrawal"], "500000000000000000");

        // The batch credits L1 and the status turns confirmed.
        let report = host.tick(NOW + 7 * 3600);
        assert_eq!(report.batch_posted, Some(2), "batch 1 was the deposit's");
        let (_, g) = call(&app, "GET", "/v1/withdrawals?rollup_status=confirmed", None, &[]).await;
        assert_eq!(g["result"][0]["transaction_id"], wid);
        let owner = alice.eth_key.address().to_u256();
        assert_eq!(host.lock().1.withdrawable[&(owner, eth)], 5_000_000_000);

        // Availability: the path of Alice's vault verifies against the posted root.
        let root = host.lock().1.updates[1].vault_root;
        let uri = format!("/v1/availability/vaults/{}?root={}", vault_a.get(), felt_str(&root));
        let (s, a) = call(&app, "GET", &uri, None, &[]).await;
        assert_eq!(s, StatusCode::OK, "{a}");
        let proof = MerkleProof {
            index: u64::from(vault_a.get()),
            leaf: parse_felt(a["leaf"].as_str().unwrap()).unwrap(),
            siblings: a["siblings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| parse_felt(s.as_str().unwrap()).unwrap())
                .collect(),
        };
        assert_eq!(proof.siblings.len(), 31);
        assert!(proof.verify(&root));
        assert_eq!(a["quantized_balance"], "2500000000");
        let (s, _) = call(&app, "GET", "/v1/availability/vaults/1?root=0x1234", None, &[]).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }

    /// `(r, n − s, 1 − v)`: the same ECDSA signature in its high-s form, which EIP-2 refuses.
    fn high_s(sig_hex: &str) -> String {
        let mut raw = [0u8; 65];
        hex::decode_to_slice(sig_hex.trim_start_matches("0x"), &mut raw).unwrap();
        let n = U256::from_str_radix(
            "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
            16,
        )
        .unwrap();
        let s = U256::from_be_slice(&raw[32..64]);
        raw[32..64].copy_from_slice(&(n - s).to_be_bytes::<32>());
        raw[64] ^= 1;
        format!("0x{}", hex::encode(raw))
    }

    /// What a refused request must leave untouched.
    fn snapshot(host: &SharedHost<TestPort>) -> (Felt, usize, usize, usize) {
        let g = host.lock();
        let e = &g.0;
        (e.vault_root(), e.transfers().len(), e.withdrawals().len(), e.accounts_of(&e_addr()).len())
    }

    fn e_addr() -> EthAddress {
        Party::new(0xe5).eth_key.address()
    }

    async fn assert_401(app: &Router, uri: &str, body: &Value, headers: &[(&str, String)]) {
        let (s, r) = call(app, "POST", uri, Some(body.clone()), headers).await;
        assert_eq!(
            (s, r["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorised_request")),
            "{uri} with {headers:?}: {r}"
        );
        assert!(r["message"].is_string(), "{r}");
    }

    #[tokio::test]
    async fn eth_signatures_are_verified_and_refusals_change_nothing() {
        let (host, app, eth) = setup();
        let (alice, bob, eve) = (Party::new(0xa1), Party::new(0xb2), Party::new(0xe5));
        register(&app, &alice).await;
        register(&app, &bob).await;

        // Registration: the eth_signature must be ether_key's over the signable_message.
        let body = json!({"ether_key": eve.eth(), "stark_key": eve.stark.public_key().to_string()});
        let (_, sr) =
            call(&app, "POST", "/v1/signable-registration-offchain", Some(body), &[]).await;
        let message = sr["signable_message"].as_str().unwrap();
        let reg = |eth_signature: String| {
            json!({
                "ether_key": eve.eth(),
                "stark_key": eve.stark.public_key().to_string(),
                "stark_signature": eve.sign(&sr["payload_hash"]),
                "eth_signature": eth_signature,
            })
        };
        let sig_hex = |p: &Party, m: &str| {
            format!("0x{}", hex::encode(p.eth_key.personal_sign_imx(m.as_bytes()).unwrap()))
        };
        let good = sig_hex(&eve, message);
        let mut wrong_v = good.clone();
        wrong_v.replace_range(wrong_v.len() - 2.., "1d"); // v = 29
        let before = snapshot(&host);
        for bad in [
            sig_hex(&bob, message),                // another wallet
            sig_hex(&eve, &format!("{message}.")), // another message
            high_s(&good),                         // EIP-2
            wrong_v,                               // v outside {0, 1, 27, 28}
            "0x1234".into(),                       // not 65 bytes
        ] {
            assert_401(&app, "/v1/users", &reg(bad), &[]).await;
        }
        assert_eq!(snapshot(&host), before, "refused registrations register nothing");
        let (s, _) = call(&app, "GET", &format!("/v1/users/{}", eve.eth()), None, &[]).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        // ethers' v ∈ {27, 28} is accepted as well.
        let ethers = eve.eth_key.personal_sign(message.as_bytes()).unwrap();
        let (s, r) =
            call(&app, "POST", "/v1/users", Some(reg(format!("0x{}", hex::encode(ethers)))), &[])
                .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(snapshot(&host).3, 1);

        // Fund Alice.
        let body = json!({"user": alice.eth(), "token": {"type": "ETH", "data": {}}, "amount": "1000000000000000000"});
        let (_, d) = call(&app, "POST", "/v1/signable-deposit-details", Some(body), &[]).await;
        let vault_a = vid(d["vault_id"].as_u64().unwrap());
        host.lock().1.deposit(alice.stark.public_key(), eth, vault_a, 10_000_000_000);
        host.tick(NOW + 60);

        // v1 transfer: headers over this request's signable_message, by the sender's address.
        let body = json!({"sender": alice.eth(), "receiver": bob.eth(), "token": {"type": "ETH", "data": {}}, "amount": "100000000000000000"});
        let (_, st) = call(&app, "POST", "/v1/signable-transfer-details", Some(body), &[]).await;
        let create = json!({
            "amount": st["amount"], "asset_id": st["asset_id"], "expiration_timestamp": st["expiration_timestamp"],
            "nonce": st["nonce"], "receiver_stark_key": st["receiver_stark_key"], "receiver_vault_id": st["receiver_vault_id"],
            "sender_stark_key": st["sender_stark_key"], "sender_vault_id": st["sender_vault_id"],
            "stark_signature": alice.sign(&st["payload_hash"]),
        });
        let message = st["signable_message"].as_str().unwrap();
        let good = alice.headers(message);
        let impostor = vec![good[0].clone(), bob.headers(message)[1].clone()];
        let high = vec![good[0].clone(), ("x-imx-eth-signature", high_s(&good[1].1))];
        let before = snapshot(&host);
        for headers in [
            vec![],                // missing
            vec![good[0].clone()], // half missing
            alice.headers("another message"),
            impostor,             // Bob's signature, Alice's address
            bob.headers(message), // valid, but Bob is not the sender
            high,
        ] {
            assert_401(&app, "/v1/transfers", &create, &headers).await;
        }
        assert_eq!(snapshot(&host), before, "refused transfers change nothing");
        let (s, r) = call(&app, "POST", "/v1/transfers", Some(create), &good).await;
        assert_eq!(s, StatusCode::OK, "the nonce was not consumed by the refusals: {r}");

        // v2 transfers: one signature over every payload hash, in request order.
        let item = json!({"receiver": bob.eth(), "token": {"type": "ETH", "data": {}}, "amount": "100000000000000000"});
        let body = json!({"sender_ether_key": alice.eth(), "signable_requests": [item, item]});
        let (s, sv) = call(&app, "POST", "/v2/signable-transfer-details", Some(body), &[]).await;
        assert_eq!(s, StatusCode::OK, "{sv}");
        let requests: Vec<Value> = sv["signable_responses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                json!({
                    "amount": r["amount"], "asset_id": r["asset_id"], "expiration_timestamp": r["expiration_timestamp"],
                    "nonce": r["nonce"], "receiver_stark_key": r["receiver_stark_key"],
                    "receiver_vault_id": r["receiver_vault_id"], "sender_vault_id": r["sender_vault_id"],
                    "stark_signature": alice.sign(&r["payload_hash"]),
                })
            })
            .collect();
        let create = json!({"sender_stark_key": sv["sender_stark_key"], "requests": requests});
        let message = sv["signable_message"].as_str().unwrap();
        let hashes: Vec<&str> = sv["signable_responses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["payload_hash"].as_str().unwrap())
            .collect();
        assert!(message.ends_with(&format!("\n{}\n{}", hashes[0], hashes[1])), "{message}");
        let reversed = message.replace(
            &format!("{}\n{}", hashes[0], hashes[1]),
            &format!("{}\n{}", hashes[1], hashes[0]),
        );
        let before = snapshot(&host);
        for headers in [vec![], alice.headers(&reversed), bob.headers(message)] {
            assert_401(&app, "/v2/transfers", &create, &headers).await;
        }
        // One request only: its signable_message differs from the batch's.
        let first_only =
            json!({"sender_stark_key": sv["sender_stark_key"], "requests": [requests[0]]});
        assert_401(&app, "/v2/transfers", &first_only, &alice.headers(message)).await;
        assert_eq!(snapshot(&host), before);
        let (s, r) =
            call(&app, "POST", "/v2/transfers", Some(create), &alice.headers(message)).await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["transfer_ids"].as_array().unwrap().len(), 2);

        // v1 withdrawal: headers required.
        let body = json!({"user": alice.eth(), "token": {"type": "ETH", "data": {}}, "amount": "100000000000000000"});
        let (_, w) = call(&app, "POST", "/v1/signable-withdrawal-details", Some(body), &[]).await;
        let create = json!({
            "amount": w["amount"], "asset_id": w["asset_id"], "nonce": w["nonce"],
            "stark_key": w["stark_key"], "vault_id": w["vault_id"],
            "stark_signature": alice.sign(&w["payload_hash"]),
        });
        let message = w["signable_message"].as_str().unwrap();
        let before = snapshot(&host);
        for headers in [vec![], alice.headers(&format!("{message} ")), bob.headers(message)] {
            assert_401(&app, "/v1/withdrawals", &create, &headers).await;
        }
        assert_eq!(snapshot(&host), before);
        let (s, r) =
            call(&app, "POST", "/v1/withdrawals", Some(create), &alice.headers(message)).await;
        assert_eq!(s, StatusCode::OK, "{r}");
    }

    #[tokio::test]
    async fn bad_input_is_a_4xx_with_code_and_message() {
        let (host, app, _) = setup();
        let cases: Vec<(&str, &str, Option<Value>, StatusCode)> = vec![
            ("POST", "/v1/users", Some(json!({"ether_key": 5})), StatusCode::BAD_REQUEST),
            (
                "POST",
                "/v1/transfers",
                Some(json!({"amount": "1", "nonce": "x"})),
                StatusCode::BAD_REQUEST,
            ),
            ("GET", "/v1/users/not-an-address", None, StatusCode::BAD_REQUEST),
            (
                "GET",
                "/v1/users/0x00000000000000000000000000000000000000aa",
                None,
                StatusCode::NOT_FOUND,
            ),
            ("GET", "/v1/deposits?page_size=0", None, StatusCode::BAD_REQUEST),
            ("GET", "/v1/deposits?cursor=zz", None, StatusCode::BAD_REQUEST),
            ("GET", "/v1/transfers/99", None, StatusCode::NOT_FOUND),
            ("GET", "/v1/withdrawals/abc", None, StatusCode::BAD_REQUEST),
            ("GET", "/v1/availability/vaults/4294967296", None, StatusCode::BAD_REQUEST),
            ("GET", "/v1/availability/vaults/3", None, StatusCode::NOT_FOUND),
            (
                "POST",
                "/v1/encode/asset",
                Some(
                    json!({"token": {"type": "ERC20", "data": {"token_address": "0x00000000000000000000000000000000000000aa"}}}),
                ),
                StatusCode::BAD_REQUEST,
            ),
            (
                "POST",
                "/v1/encode/nonsense",
                Some(json!({"token": {"type": "ETH"}})),
                StatusCode::BAD_REQUEST,
            ),
            ("GET", "/v9/nothing", None, StatusCode::NOT_FOUND),
            ("DELETE", "/v1/tokens", None, StatusCode::METHOD_NOT_ALLOWED),
        ];
        for (m, uri, body, want) in cases {
            let (s, v) = call(&app, m, uri, body, &[]).await;
            assert_eq!(s, want, "{m} {uri}: {v}");
            assert!(v["code"].is_string() && v["message"].is_string(), "{m} {uri}: {v}");
        }
        // Raw garbage body.
        let req = Request::post("/v2/transfers")
            .header("content-type", "application/json")
            .body(Body::from("{not json"))
            .unwrap();
        assert_eq!(app.clone().oneshot(req).await.unwrap().status(), StatusCode::BAD_REQUEST);
        // Fault switch: reject everything with a clear error.
        host.lock().0.set_faults(crate::FaultSwitches { reject_all: true, ..Default::default() });
        let body = json!({"user": "0x00000000000000000000000000000000000000aa", "token": {"type": "ETH"}, "amount": "1"});
        let (s, v) = call(&app, "POST", "/v1/signable-deposit-details", Some(body), &[]).await;
        assert_eq!(
            (s, v["code"].as_str().unwrap()),
            (StatusCode::SERVICE_UNAVAILABLE, "service_unavailable")
        );
    }

    #[tokio::test]
    async fn encode_and_tokens_match_the_published_values() {
        let (_, app, eth) = setup();
        let (s, v) = call(
            &app,
            "POST",
            "/v1/encode/asset",
            Some(json!({"token": {"type": "ETH", "data": {}}})),
            &[],
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        // IMX's ETH asset type (PROTOCOL.md B.2).
        assert_eq!(
            v["asset_type"],
            "0x02705737cd248ac819034b5de474c8f0368224f72a0fda9e031499d519992d9e"
        );
        assert_eq!(parse_felt(v["asset_id"].as_str().unwrap()).unwrap(), eth);
        let nft = json!({"token": {"type": "ERC721", "data": {"token_address": "0xB18ed4768F87b0fFAb83408014f1caF066b91380", "token_id": "4100"}}});
        let (_, v) = call(&app, "POST", "/v1/encode/asset", Some(nft), &[]).await;
        assert_eq!(
            v["asset_type"],
            "0x020c0e279ea2e027258d3056f34eca6e47ad9aaa995b896cafcb68d5a65b115b"
        );
        assert_eq!(
            v["asset_id"],
            "0x02b0ff0c09505bc40f9d1659becf16855a7b2298b010f8a54f4b05325885b40c"
        );
        let m = json!({"token": {"type": "ERC721", "data": {"token_address": "0x00000000000000000000000000000000000000c1", "id": "7", "blueprint": "gold"}}});
        let (s, v) = call(&app, "POST", "/v1/encode/mintable-asset", Some(m), &[]).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let t = parse_felt(v["asset_type"].as_str().unwrap()).unwrap();
        assert_eq!(
            parse_felt(v["asset_id"].as_str().unwrap()).unwrap(),
            mintable_asset_id(&StarkExAssetType(t), b"{7}:{gold}").0
        );
        let (_, v) = call(&app, "GET", "/v1/tokens", None, &[]).await;
        assert_eq!(v["result"][0]["quantum"], "100000000");
        assert_eq!(v["result"][0]["decimals"], "18");
        assert!(v.get("remaining").is_none());
        let (s, v) = call(&app, "GET", "/v1/tokens/eth", None, &[]).await;
        assert_eq!((s, v["symbol"].as_str()), (StatusCode::OK, Some("ETH")));
    }

    #[tokio::test]
    async fn serves_over_a_real_socket() {
        let (_, app, _) = setup();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        // A plain blocking HTTP/1.1 client on another thread (tokio's io-util is not enabled).
        let out = tokio::task::spawn_blocking(move || {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(
                b"GET /v1/tokens/eth HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            )
            .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        })
        .await
        .unwrap();
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(out.contains("\"quantum\":\"100000000\""), "{out}");
        server.abort();
    }

    #[test]
    fn rfc3339_formats_virtual_time() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(NOW), "2026-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400 + 86_399), "2000-02-29T23:59:59Z");
    }
}
