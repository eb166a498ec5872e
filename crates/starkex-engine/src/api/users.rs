//! Registration: `/v1/signable-registration-offchain`, `POST /v1/users`, `/v1/users/{user}`.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use starkroute_crypto::registration_message_hash;

use super::parse::{
    eth_str, felt_str, keys_of, parse_eth, parse_eth_signature, parse_key, parse_sig,
};
use super::{bad, body, path, ApiResult, StarkExHost};
use crate::engine::REGISTRATION_SIGNABLE_MESSAGE;
use crate::error::StarkExError;

#[derive(Deserialize)]
pub(super) struct SignableRegistrationIn {
    ether_key: String,
    stark_key: String,
}

pub(super) async fn signable_registration<H: StarkExHost>(
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

/// `POST /v1/signable-registration`: the user admin's signature for the v3 on-chain
/// registration (`registerUser`, or the client's `registerAnd…` helpers), with the same checks
/// as the off-chain one. 501 where the contract has no user admin the operator signs for.
pub(super) async fn signable_registration_onchain<H: StarkExHost>(
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
        // A key registered off-chain gets its on-chain registration here (that is what the
        // client asks it for), for the same address only.
        if let Some(existing) = port.eth_key_of(&key) {
            return Err(StarkExError::AlreadyRegistered(format!(
                "stark key {key} is already registered on the contract to {}",
                eth_str(&existing)
            ))
            .into());
        }
        if let Some(other) = e.eth_of(port, &key).filter(|a| *a != eth) {
            return Err(StarkExError::AlreadyRegistered(format!(
                "stark key {key} is registered to {}, not {}",
                eth_str(&other),
                eth_str(&eth)
            ))
            .into());
        }
        let Some(signature) = port.user_admin_signature(&eth, &key) else {
            return Err(StarkExError::NotImplemented(format!(
                "POST /v1/signable-registration: {}",
                super::unserved::NO_USER_ADMIN
            ))
            .into());
        };
        let hash = registration_message_hash(&eth, &key);
        Ok(Json(json!({
            "operator_signature": format!("0x{}", hex::encode(signature)),
            "payload_hash": felt_str(&hash),
            "readable_transaction": json!({"type": "register", "ether_key": eth_str(&eth),
                "stark_key": key.to_string()}).to_string(),
            "verification_signature": e.operator_sign(&hash),
        })))
    })
}

#[derive(Deserialize)]
pub(super) struct RegisterUserIn {
    eth_signature: String,
    ether_key: String,
    stark_key: String,
    stark_signature: String,
    #[serde(default)]
    #[allow(dead_code)]
    email: Option<String>,
}

pub(super) async fn register_user<H: StarkExHost>(
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
        // An off-chain registration sends no L1 transaction: there is no hash to give. (The
        // sandbox answered the operator's signature here once; a signature is not a hash.)
        Ok(Json(json!({ "tx_hash": "" })))
    })
}

pub(super) async fn get_user<H: StarkExHost>(
    State(host): State<Arc<H>>,
    user: std::result::Result<Path<String>, PathRejection>,
) -> ApiResult {
    let user = parse_eth("user", &path(user)?)?;
    host.with(|e, port, _| {
        let keys = keys_of(e, port, &user);
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
