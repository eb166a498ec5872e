//! Reading what requests carry: fields, tokens and amounts, the accounts they name, and the ETH
//! signature headers that authenticate them.

use alloy_primitives::U256;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::Value;
use starkroute_crypto::keys::recover_personal_sign;
use starkroute_crypto::{asset_info, asset_type, nft_asset_id, StarkSignature};
use starkroute_types::{
    parse_felt, parse_u256, AssetClass, EthAddress, Felt, Quantum, StarkExAssetType, StarkKey,
    TokenId, VaultId,
};

use super::bad;
use crate::engine::StarkExEngine;
use crate::error::{Result, StarkExError};
use crate::port::StarkExContractPort;

pub(super) fn parse_eth(field: &str, s: &str) -> Result<EthAddress> {
    s.parse().map_err(|e| bad(format!("{field}: {e}")))
}

pub(super) fn parse_key(field: &str, s: &str) -> Result<StarkKey> {
    s.parse().map_err(|e| bad(format!("{field}: {e}")))
}

pub(super) fn parse_felt_field(field: &str, s: &str) -> Result<Felt> {
    parse_felt(s).map_err(|e| bad(format!("{field}: {e}")))
}

pub(super) fn parse_vault(field: &str, v: u64) -> Result<VaultId> {
    VaultId::new(v).map_err(|e| bad(format!("{field}: {e}")))
}

pub(super) fn parse_sig(s: &str) -> Result<StarkSignature> {
    StarkSignature::from_hex(s).map_err(|e| StarkExError::InvalidSignature(e.to_string()))
}

pub(super) fn parse_quantized(field: &str, s: &str) -> Result<u64> {
    let v: u64 = s.parse().map_err(|_| bad(format!("{field}: {s:?} is not a decimal integer")))?;
    if v == 0 || v >= 1 << 63 {
        return Err(StarkExError::InvalidAmount(format!("{field} must be in [1, 2^63)")));
    }
    Ok(v)
}

/// Parses a 65-byte ETH signature `0x‖r‖s‖v` (the range checks are the recovery's).
pub(super) fn parse_eth_signature(field: &str, s: &str) -> Result<[u8; 65]> {
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
pub(super) fn eth_headers_signer(headers: &HeaderMap, message: &str) -> Result<EthAddress> {
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
pub(super) fn check_eth_sender(
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
pub(super) fn eth_str(a: &EthAddress) -> String {
    format!("{:#x}", a.address())
}

pub(super) fn felt_str(f: &Felt) -> String {
    f.to_fixed_hex_string()
}

/// A token as the signable endpoints take it: `{type, data}`.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub(super) struct TokenIn {
    #[serde(rename = "type")]
    pub(super) kind: String,
    #[serde(default)]
    pub(super) data: Value,
}

impl TokenIn {
    pub(super) fn field(&self, name: &str) -> Option<&str> {
        self.data.get(name).and_then(Value::as_str)
    }
}

/// An asset the request names, resolved to its StarkEx identity.
pub(super) struct Resolved {
    pub(super) asset_type: Felt,
    pub(super) asset_id: Felt,
    pub(super) quantum: u128,
    pub(super) nft: bool,
}

pub(super) fn resolve_token(e: &StarkExEngine, tok: &TokenIn) -> Result<Resolved> {
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

pub(super) fn type_of(
    class: AssetClass,
    token: Option<&EthAddress>,
    quantum: u128,
) -> Result<Felt> {
    let info = asset_info(class, token).map_err(|e| bad(e.to_string()))?;
    let q = Quantum::new(quantum).map_err(|e| bad(e.to_string()))?;
    Ok(asset_type(&info, q).0)
}

/// Base units → quantized units (`"1"` for an NFT).
pub(super) fn quantize(r: &Resolved, amount: &str) -> Result<u64> {
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

/// Every Stark key of an Ethereum address, however it became known: registered through the API
/// (`POST /v1/users`) or seen in a deposit (the engine's accounts), then registered on the L1
/// contract (`registerEthAddress`, read live through the port), without duplicates. A key that
/// only *received* something (a transfer, a mint) is the receiver's through one of these: the
/// API only sends to registered users.
pub(super) fn keys_of(
    e: &StarkExEngine,
    port: &dyn StarkExContractPort,
    eth: &EthAddress,
) -> Vec<StarkKey> {
    let mut keys = e.accounts_of(eth).to_vec();
    for k in port.stark_keys_of(eth) {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

/// The (first) Stark key of an Ethereum address ([`keys_of`]), or 404 `account_not_found`.
pub(super) fn registered_key(
    e: &StarkExEngine,
    port: &dyn StarkExContractPort,
    eth: &EthAddress,
) -> Result<StarkKey> {
    keys_of(e, port, eth).first().copied().ok_or_else(|| StarkExError::NotFound {
        code: "account_not_found",
        message: format!("{} is not registered", eth_str(eth)),
    })
}

/// The quantum and kind of an asset id a create request names: an asset the engine holds (from a
/// deposit or a mint), else a fungible asset type registered on the L1 contract (its asset id is
/// its asset type).
pub(super) fn resolve_asset_id(
    e: &StarkExEngine,
    port: &dyn StarkExContractPort,
    asset_id: &Felt,
) -> Result<Resolved> {
    if let Some(m) = e.asset(asset_id) {
        let nft = matches!(m.class, AssetClass::Erc721 | AssetClass::MintableErc721);
        return Ok(Resolved {
            asset_type: m.asset_type,
            asset_id: *asset_id,
            quantum: if nft { 1 } else { m.quantum },
            nft,
        });
    }
    let fungible = port.registered_asset(asset_id).and_then(|(info, quantum)| {
        let (class, _) = crate::assets::parse_asset_info(&info)?;
        matches!(class, AssetClass::Eth | AssetClass::Erc20).then_some(quantum)
    });
    fungible
        .map(|quantum| Resolved { asset_type: *asset_id, asset_id: *asset_id, quantum, nft: false })
        .ok_or_else(|| {
            StarkExError::AssetNotRegistered(format!(
                "asset_id {} is neither held on the exchange nor a registered fungible asset",
                felt_str(asset_id)
            ))
        })
}

pub(super) fn check_registered_on_l1(port: &dyn StarkExContractPort, r: &Resolved) -> Result<()> {
    port.registered_asset(&r.asset_type).map(|_| ()).ok_or_else(|| {
        StarkExError::AssetNotRegistered(format!(
            "asset type {} is not registered on the StarkEx contract",
            felt_str(&r.asset_type)
        ))
    })
}

/// The `signable_message` of a signable-details answer: a fixed preamble, then the payload
/// hashes one a line (one for a withdrawal or a v1 transfer, one per request for v2 transfers).
pub(super) fn signable_message<'a>(payload_hashes: impl IntoIterator<Item = &'a Felt>) -> String {
    let hashes: Vec<String> = payload_hashes.into_iter().map(felt_str).collect();
    format!(
        "Only sign this request if you\u{2019}ve initiated an action with Immutable X.\n\nFor internal use:\n{}",
        hashes.join("\n")
    )
}

pub(super) fn parse_id(s: &str) -> Result<u64> {
    s.parse().map_err(|_| bad(format!("{s:?} is not a transaction id")))
}

#[derive(Deserialize)]
pub(super) struct SignableIn {
    pub(super) user: String,
    pub(super) token: TokenIn,
    pub(super) amount: String,
}

/// The sender's vault of an asset, for the signable endpoints.
pub(super) fn sender_vault(e: &StarkExEngine, key: &StarkKey, asset: &Felt) -> Result<VaultId> {
    e.allocated_vault(key, asset).ok_or(StarkExError::InsufficientBalance {
        vault: 0,
        balance: 0,
        amount: 1,
    })
}
