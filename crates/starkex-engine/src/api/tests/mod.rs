//! The REST API's tests, over the in-test contract port and, once, over a real socket.
//!
//! Every request goes through [`call`], which checks the answer against the response schema the
//! spec gives for its path, method and status (see `schema`), so no test can skip conformance.

use super::parse::eth_str;
use super::*;
use crate::testing::{vid, TestPort};
use alloy_primitives::U256;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::Value;
use starkroute_crypto::mintable_asset_id;
use starkroute_crypto::{EthPrivateKey, MerkleProof, StarkPrivateKey};
use starkroute_types::{parse_felt, AssetClass, EthAddress, Felt, StarkExAssetType};
use tower::ServiceExt;

pub(super) const NOW: u64 = 1_767_225_600;

pub(super) async fn call(
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
    let v: Value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{method} {uri} → {status}: the body is not JSON ({e})"));
    if let Err(why) = schema::check_response(method, uri, status.as_u16(), &v) {
        panic!("the answer does not conform to the spec: {why}");
    }
    if let Some(template) = schema::spec_path(uri.split('?').next().unwrap_or(uri)) {
        answered().lock().insert((method.to_owned(), template, status.as_u16()));
    }
    (status, v)
}

/// `(method, spec path, status)` of an answer.
type Answered = std::collections::BTreeSet<(String, &'static str, u16)>;

/// Every `(method, spec path, status)` answered (and checked) in this test binary so far.
pub(super) fn answered() -> &'static parking_lot::Mutex<Answered> {
    static ANSWERED: std::sync::OnceLock<parking_lot::Mutex<Answered>> = std::sync::OnceLock::new();
    ANSWERED.get_or_init(Default::default)
}

pub(super) struct Party {
    pub(super) eth_key: EthPrivateKey,
    pub(super) stark: StarkPrivateKey,
}

impl Party {
    pub(super) fn new(n: u8) -> Self {
        Self {
            eth_key: EthPrivateKey::from_bytes(&[n; 32]).unwrap(),
            stark: StarkPrivateKey::from_felt(Felt::from(u64::from(n) * 1_000_003)).unwrap(),
        }
    }
    pub(super) fn eth(&self) -> String {
        eth_str(&self.eth_key.address())
    }
    pub(super) fn headers(&self, msg: &str) -> Vec<(&'static str, String)> {
        let sig = self.eth_key.personal_sign_imx(msg.as_bytes()).unwrap();
        vec![
            ("x-imx-eth-address", self.eth()),
            ("x-imx-eth-signature", format!("0x{}", hex::encode(sig))),
        ]
    }
    pub(super) fn sign(&self, payload_hash: &Value) -> String {
        let h = parse_felt(payload_hash.as_str().unwrap()).unwrap();
        self.stark.sign(&h).unwrap().to_hex()
    }
}

pub(super) async fn register(app: &Router, p: &Party) {
    let body = json!({"ether_key": p.eth(), "stark_key": p.stark.public_key().to_string()});
    let (s, r) = call(app, "POST", "/v1/signable-registration-offchain", Some(body), &[]).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let eth_sig =
        p.eth_key.personal_sign_imx(r["signable_message"].as_str().unwrap().as_bytes()).unwrap();
    let body = json!({
        "ether_key": p.eth(),
        "stark_key": p.stark.public_key().to_string(),
        "stark_signature": p.sign(&r["payload_hash"]),
        "eth_signature": format!("0x{}", hex::encode(eth_sig)),
    });
    let (s, r) = call(app, "POST", "/v1/users", Some(body), &[]).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["tx_hash"], "", "an off-chain registration sends no transaction");
}

/// Deposits `quantized` of a fungible asset type into `p`'s vault for it (allocated through the
/// signable deposit details) and lets the engine pick it up.
pub(super) async fn fund(
    host: &SharedHost<TestPort>,
    app: &Router,
    p: &Party,
    asset: Felt,
    token: Value,
    base: &str,
    quantized: u64,
) {
    let body = json!({"user": p.eth(), "token": token, "amount": base});
    let (s, d) = call(app, "POST", "/v1/signable-deposit-details", Some(body), &[]).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let vault = vid(d["vault_id"].as_u64().unwrap());
    host.lock().1.deposit(p.stark.public_key(), asset, vault, quantized);
    let now = host.now() + 60;
    host.tick(now);
}

/// The create request of a v1 signable transfer, signed by `p`, with its headers.
pub(super) fn signed_transfer_v1(p: &Party, st: &Value) -> (Value, Vec<(&'static str, String)>) {
    let create = json!({
        "amount": st["amount"], "asset_id": st["asset_id"], "expiration_timestamp": st["expiration_timestamp"],
        "nonce": st["nonce"], "receiver_stark_key": st["receiver_stark_key"], "receiver_vault_id": st["receiver_vault_id"],
        "sender_stark_key": st["sender_stark_key"], "sender_vault_id": st["sender_vault_id"],
        "stark_signature": p.sign(&st["payload_hash"]),
    });
    (create, p.headers(st["signable_message"].as_str().unwrap()))
}

pub(super) fn setup() -> (Arc<SharedHost<TestPort>>, Router, Felt) {
    let mut port = TestPort::default();
    let eth = port.register_asset(AssetClass::Eth, None, 100_000_000);
    let host = Arc::new(SharedHost::new(StarkExEngine::default(), port, NOW));
    let app = router(host.clone());
    (host, app, eth)
}

mod flows;
mod lists;
mod locking;
mod mints;
mod resolution;
mod schema;
mod tour;
mod unserved;
