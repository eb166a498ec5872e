//! The ImmutableX-style REST API of the StarkEx engine (axum).
//!
//! Field names and JSON types follow `imx-openapi.json` (Swagger 2.0, PROTOCOL.md C): amounts,
//! keys, asset ids and hashes are strings; nonces, vault ids, expirations (hours), transaction ids
//! and `time` are integers. Errors are `{code, message}` with a 4xx status for the client's
//! mistakes and 503 for the operator's state (frozen contract or a fault switch); bad input never
//! gets a 5xx.
//!
//! Served: `/v1/signable-registration-offchain`, `/v1/signable-registration` (where the operator
//! holds the contract's user admin key; 501 otherwise), `/v1/users` (POST), `/v1/users/{user}`,
//! `/v1/signable-deposit-details`, `/v1/deposits[/{id}]`, `/v1/signable-withdrawal-details`,
//! `/v2/signable-withdrawal-details`, `/v1/withdrawals` (POST and GET), `/v2/withdrawals`,
//! `/v1/withdrawals/{id}`, `/v1/signable-transfer-details`, `/v1/transfers` (POST and GET),
//! `/v1/transfers/{id}`, `/v2/signable-transfer-details`, `/v2/transfers`, `/v2/balances/{owner}`,
//! `/v2/balances/{owner}/{address}`, `/v1/assets`, `/v1/assets/{token_address}/{token_id}`,
//! `/v2/mints`, `/v1/mints[/{id}]`, `/v1/mintable-token/{token_address}/{token_id}`,
//! `/v1/collections` (GET), `/v1/collections/{address}` (GET), `/v1/encode/{asset|mintable-asset}`,
//! `/v1/tokens[/{address}]`, and the data-availability endpoints `/v1/availability/roots` and
//! `/v1/availability/vaults/{vault_id}?root=0x…` (not an IMX endpoint: the committee's service
//! `escape` needs). Every other path of the spec (orders, trades, exchanges, the marketplace
//! services) answers `501 not_implemented` with the reason (`unserved`). Every list applies or
//! refuses (400, naming it) each query parameter the spec defines for it, and refuses others
//! (`pagination`).

//! Sandbox choices where IMX is unknown or unpublished:
//! - `payload_hash` of a transfer (v1 and v2) is the StarkEx type-1 transfer hash
//!   ([`TransferOrder::message_hash`]); v2 transfers carry no fee fields, so they are not type 4.
//!   Withdrawals use [`WithdrawalOrder::message_hash`].
//! - Amounts: the signable endpoints take base units. A transfer's create request carries the
//!   quantized `amount` its signable details answered (the clients echo it). A withdrawal's
//!   signable details answer `amount` in base units in v1 and v2 alike (v2 adds
//!   `quantized_amount`); `POST /v1/withdrawals` and `POST /v2/withdrawals` take base units, as
//!   the official clients send them (their `prepareWithdrawal` workflows send the amount they
//!   asked the details for), and quantize it by the asset's quantum before rebuilding the order.
//! - `POST /v1/users` answers `tx_hash: ""`: an off-chain registration sends no transaction.
//! - Accounts: an ETH address's Stark keys are those registered through `POST /v1/users` or seen
//!   in a deposit, and those registered on the L1 contract (read live); users, balances and
//!   assets all resolve through the same lookup.
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
//! Batches: `/v2/transfers` and `/v2/signable-transfer-details` take 1 to
//! [`MAX_BATCH_TRANSFERS`] transfers (the spec sets no bound), a 400 naming the field beyond.
//! Signatures are checked away from the host's lock: the ETH recovery and every Stark signature
//! of a transfer ([`verify_transfers`], whose [`VerifiedTransfer`]s the engine applies without
//! checking again) before it is taken; the operator's `verification_signature`s of
//! `/v2/signable-transfer-details` after it is released (the lock only allocates vaults and
//! nonces). The refusals are still reported in the same order, the operator's own first.
//!
//! A missing, malformed or wrong ETH signature is a 401 `unauthorised_request` and changes nothing.
//! Stark signatures are verified everywhere too (400 `invalid_signature`).
//!
//! One module per resource: `users` (registration), `deposits`, `withdrawals`, `transfers`,
//! `balances`, `assets`, `mints`, `collections`, `tokens` (listings and asset encoding),
//! `availability` and `unserved` (the 501s); `parse` reads and authenticates what requests carry,
//! `render` writes the shared objects (tokens, times, fees), `pagination` filters, orders and
//! pages the lists. This module holds the host, the router and the
//! error answer.
//!
//! [`TransferOrder::message_hash`]: crate::engine::TransferOrder::message_hash
//! [`WithdrawalOrder::message_hash`]: crate::engine::WithdrawalOrder::message_hash
//! [`recover_personal_sign`]: starkroute_crypto::keys::recover_personal_sign
//! [`verify_transfers`]: crate::engine::verify_transfers
//! [`VerifiedTransfer`]: crate::engine::VerifiedTransfer

mod assets;
mod availability;
mod balances;
mod collections;
mod deposits;
mod mints;
mod pagination;
mod parse;
mod render;
mod tokens;
mod transfers;
mod unserved;
mod users;
mod withdrawals;

pub use mints::MAX_MINT_TOKENS;
pub use transfers::MAX_BATCH_TRANSFERS;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::engine::{StarkExEngine, TickReport};
use crate::error::{Result, StarkExError};
use crate::port::StarkExContractPort;

pub use crate::engine::REGISTRATION_SIGNABLE_MESSAGE;

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
    ///
    /// A tick holds the lock while its port posts the batch, which on a real node waits for a
    /// transaction's receipt. So a caller on a worker thread of a multi-threaded tokio runtime
    /// (an API handler) waits for the lock inside `block_in_place`: its worker's other tasks,
    /// and the runtime's I/O and timers, which the post itself needs, move to another thread.
    /// Waiting on the worker itself could leave no thread to drive them, and the post and every
    /// request would wait for each other for ever.
    pub fn lock(&self) -> parking_lot::MutexGuard<'_, (StarkExEngine, P)> {
        if let Some(g) = self.inner.try_lock() {
            return g;
        }
        let on_worker = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if on_worker {
            tokio::task::block_in_place(|| self.inner.lock())
        } else {
            self.inner.lock()
        }
    }

    /// Advances the clock and ticks the engine.
    pub fn tick(&self, now: u64) -> TickReport {
        self.set_now(now);
        let mut g = self.lock();
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
        let mut g = self.lock();
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

fn method_not_allowed() -> (StatusCode, Json<Value>) {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({"code": "method_not_allowed", "message": "method not allowed"})),
    )
}

/// The spec's endpoints the sandbox does not serve, each answering 501 (see `unserved`).
fn unserved_routes<H: StarkExHost>() -> Router<Arc<H>> {
    unserved::UNSERVED.iter().fold(Router::new(), |r, (path, methods, why)| {
        r.route(path, unserved::unserved(path, methods, why))
    })
}

/// Builds the router over a host.
pub fn router<H: StarkExHost>(host: Arc<H>) -> Router {
    Router::new()
        .route("/v1/signable-registration-offchain", post(users::signable_registration::<H>))
        .route("/v1/signable-registration", post(users::signable_registration_onchain::<H>))
        .route("/v1/users", post(users::register_user::<H>))
        .route("/v1/users/{user}", get(users::get_user::<H>))
        .route("/v1/signable-deposit-details", post(deposits::signable_deposit::<H>))
        .route("/v1/deposits", get(deposits::list_deposits::<H>))
        .route("/v1/deposits/{id}", get(deposits::get_deposit::<H>))
        .route("/v1/signable-withdrawal-details", post(withdrawals::signable_withdrawal_v1::<H>))
        .route("/v2/signable-withdrawal-details", post(withdrawals::signable_withdrawal_v2::<H>))
        .route(
            "/v1/withdrawals",
            post(withdrawals::create_withdrawal_v1::<H>).get(withdrawals::list_withdrawals::<H>),
        )
        .route("/v2/withdrawals", post(withdrawals::create_withdrawal_v2::<H>))
        .route("/v1/withdrawals/{id}", get(withdrawals::get_withdrawal::<H>))
        .route("/v1/signable-transfer-details", post(transfers::signable_transfer_v1::<H>))
        .route(
            "/v1/transfers",
            post(transfers::create_transfer_v1::<H>).get(transfers::list_transfers::<H>),
        )
        .route("/v1/transfers/{id}", get(transfers::get_transfer::<H>))
        .route("/v2/signable-transfer-details", post(transfers::signable_transfer_v2::<H>))
        .route("/v2/transfers", post(transfers::create_transfer_v2::<H>))
        .route("/v2/balances/{owner}", get(balances::list_balances::<H>))
        .route("/v2/balances/{owner}/{address}", get(balances::get_balance::<H>))
        .route("/v1/assets", get(assets::list_assets::<H>))
        .route("/v1/assets/{token_address}/{token_id}", get(assets::get_asset::<H>))
        .route("/v2/mints", post(mints::mint_tokens::<H>))
        .route("/v1/mints", get(mints::list_mints::<H>))
        .route("/v1/mints/{id}", get(mints::get_mint::<H>))
        .route("/v1/mintable-token/{token_address}/{token_id}", get(mints::mintable_token::<H>))
        .route(
            "/v1/collections",
            get(collections::list_collections::<H>).post(|m: axum::http::Method| async move {
                unserved::not_implemented(&m, "/v1/collections", unserved::COLLECTION_WRITES)
            }),
        )
        .route(
            "/v1/collections/{address}",
            get(collections::get_collection::<H>).patch(|m: axum::http::Method| async move {
                unserved::not_implemented(
                    &m,
                    "/v1/collections/{address}",
                    unserved::COLLECTION_WRITES,
                )
            }),
        )
        .route("/v1/encode/{asset_type}", post(tokens::encode_asset::<H>))
        .route("/v1/tokens", get(tokens::list_tokens::<H>))
        .route("/v1/tokens/{address}", get(tokens::get_token::<H>))
        .route("/v1/availability/roots", get(availability::list_roots::<H>))
        .route("/v1/availability/vaults/{vault_id}", get(availability::availability::<H>))
        .merge(unserved_routes::<H>())
        .fallback(|| async {
            ApiError(StarkExError::not_found("no such endpoint")).into_response()
        })
        .method_not_allowed_fallback(|| async { method_not_allowed() })
        .with_state(host)
}
