//! Signing paused legs with keys held by the caller, and resuming them.
//!
//! A leg the router holds no key for pauses at `awaiting_signature`; its view (and its
//! `leg_awaiting_signature` event) says exactly what to sign: the scheme, the signer and the
//! hash. [`LocalKeys`] signs it with the signer's key:
//!
//! - [`SignatureScheme::Stark`]: a Stark ECDSA signature over the felt hash (a StarkEx order).
//! - [`SignatureScheme::StarknetAccount`]: the same Stark signature over a Starknet transaction
//!   hash, by the account's key.
//! - [`SignatureScheme::Ethereum`]: on an L1 leg, `personal_sign` over the 32-byte transaction
//!   hash. On a StarkEx leg, the hash is the EIP-191 hash of the operator's signable message:
//!   the message is taken from the prepared payload the event carries, checked to hash to exactly
//!   the requested hash, and `personal_sign`ed — the key never signs a bare digest it cannot
//!   check.
//!
//! Keys never leave this module: nothing logs them and every `Debug` here is redacted.

use serde_json::Value;
use starkroute_crypto::{EthPrivateKey, StarkPrivateKey};
use starkroute_layer::{SignatureRequest, SignatureScheme};
use starkroute_types::{parse_felt, Account, Layer, StarknetAddress};

use futures_util::StreamExt;
use starkroute_types::LegStatus;

use crate::error::{Error, Result};
use crate::view::RouteView;
use crate::Client;

/// One key the caller holds, with the account it signs for.
#[derive(Clone)]
pub enum LocalKey {
    /// A StarkEx account's Stark key (signs StarkEx orders).
    Stark(StarkPrivateKey),
    /// A Starknet account's signing key (signs its transactions).
    StarknetAccount {
        /// The account's address.
        address: StarknetAddress,
        /// Its key.
        key: StarkPrivateKey,
    },
    /// An Ethereum account's key (signs L1 transactions and StarkEx's Ethereum messages).
    Ethereum(EthPrivateKey),
}

impl std::fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The account only: never the key.
        write!(f, "LocalKey({}, <redacted>)", self.account())
    }
}

impl LocalKey {
    /// The account this key signs for.
    pub fn account(&self) -> Account {
        match self {
            Self::Stark(k) => Account::StarkEx(k.public_key()),
            Self::StarknetAccount { address, .. } => Account::Starknet(*address),
            Self::Ethereum(k) => Account::L1(k.address()),
        }
    }

    /// Signs `request` for a leg on `layer`; `payload` is the prepared payload the leg's
    /// `leg_awaiting_signature` event carries (needed only for a StarkEx leg's Ethereum
    /// signature). Returns the `0x`-prefixed hex the API takes.
    pub fn sign(
        &self,
        request: &SignatureRequest,
        layer: Layer,
        payload: Option<&Value>,
    ) -> Result<String> {
        if request.signer != self.account() {
            return Err(Error::Signing(format!(
                "this key signs for {}, the request is {}'s",
                self.account(),
                request.signer
            )));
        }
        match (request.scheme, self) {
            (SignatureScheme::Stark, Self::Stark(k))
            | (SignatureScheme::StarknetAccount, Self::StarknetAccount { key: k, .. }) => {
                let hash = parse_felt(&request.hash)
                    .map_err(|e| Error::Signing(format!("hash {:?}: {e}", request.hash)))?;
                let sig = k.sign(&hash).map_err(|e| Error::Signing(e.to_string()))?;
                Ok(sig.to_hex())
            }
            (SignatureScheme::Ethereum, Self::Ethereum(k)) => {
                let hash = hash32(&request.hash)?;
                let message: Vec<u8> = match layer {
                    Layer::L1 => hash.to_vec(),
                    Layer::StarkEx => signable_message(payload, &hash)?.into_bytes(),
                    Layer::Starknet => {
                        return Err(Error::Signing(
                            "a Starknet leg does not take an Ethereum signature".into(),
                        ))
                    }
                };
                let sig = k.personal_sign(&message).map_err(|e| Error::Signing(e.to_string()))?;
                Ok(format!("0x{}", hex::encode(sig)))
            }
            (scheme, _) => Err(Error::Signing(format!(
                "a {scheme:?} signature for {} needs another kind of key",
                request.signer
            ))),
        }
    }
}

fn hash32(s: &str) -> Result<[u8; 32]> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    let mut out = [0u8; 32];
    hex::decode_to_slice(digits, &mut out)
        .map_err(|_| Error::Signing(format!("hash {s:?} is not 32 bytes of hex")))?;
    Ok(out)
}

/// The string in `payload` whose EIP-191 hash is `hash` (StarkEx's signable message).
fn signable_message(payload: Option<&Value>, hash: &[u8; 32]) -> Result<String> {
    fn find(v: &Value, hash: &[u8; 32], depth: u8) -> Option<String> {
        match v {
            Value::String(s) => {
                (alloy_primitives::eip191_hash_message(s.as_bytes()).0 == *hash).then(|| s.clone())
            }
            Value::Object(m) if depth > 0 => m.values().find_map(|v| find(v, hash, depth - 1)),
            Value::Array(a) if depth > 0 => a.iter().find_map(|v| find(v, hash, depth - 1)),
            _ => None,
        }
    }
    let payload = payload.ok_or_else(|| {
        Error::Signing("a StarkEx Ethereum signature needs the leg's prepared payload".into())
    })?;
    find(payload, hash, 8).ok_or_else(|| {
        Error::Signing(
            "no message in the leg's payload hashes to the requested hash; not signing".into(),
        )
    })
}

/// The keys a caller holds, by account. `Debug` shows the accounts, never the keys.
#[derive(Clone, Default)]
pub struct LocalKeys {
    keys: Vec<LocalKey>,
}

impl std::fmt::Debug for LocalKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.keys.iter().map(LocalKey::account)).finish()
    }
}

impl LocalKeys {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key.
    #[must_use]
    pub fn with(mut self, key: LocalKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Adds a StarkEx Stark key.
    #[must_use]
    pub fn with_stark(self, key: StarkPrivateKey) -> Self {
        self.with(LocalKey::Stark(key))
    }

    /// Adds a Starknet account's key.
    #[must_use]
    pub fn with_starknet_account(self, address: StarknetAddress, key: StarkPrivateKey) -> Self {
        self.with(LocalKey::StarknetAccount { address, key })
    }

    /// Adds an Ethereum key.
    #[must_use]
    pub fn with_ethereum(self, key: EthPrivateKey) -> Self {
        self.with(LocalKey::Ethereum(key))
    }

    /// The key that signs for `account`, if held.
    pub fn key_for(&self, account: &Account) -> Option<&LocalKey> {
        self.keys.iter().find(|k| k.account() == *account)
    }

    /// Signs `request` with the signer's key (see [`LocalKey::sign`]).
    pub fn sign(
        &self,
        request: &SignatureRequest,
        layer: Layer,
        payload: Option<&Value>,
    ) -> Result<String> {
        self.key_for(&request.signer)
            .ok_or_else(|| Error::Signing(format!("no key held for {}", request.signer)))?
            .sign(request, layer, payload)
    }
}

/// Most signatures one leg may ask for in turn before [`Client::sign_until_resumed`] gives up (an
/// L1 approve and its deposit, a StarkEx order's Stark and Ethereum signatures: two; the bound
/// only stops a server that keeps asking).
const MAX_SIGNATURES_PER_LEG: usize = 16;

impl Client {
    /// Signs, once, what leg `leg` of route `id` asks for right now, and submits it. Returns the
    /// route as the server shows it after the signature (the leg may ask for another one).
    pub async fn sign_leg(&self, id: &str, leg: u16, keys: &LocalKeys) -> Result<RouteView> {
        let route = self.route(id).await?;
        let view = route.leg(leg).ok_or_else(|| Error::Argument {
            what: "leg",
            message: format!("route {id} has no leg {leg}"),
        })?;
        let request = view.signature_request.clone().ok_or_else(|| {
            Error::Signing(format!("leg {leg} is {:?}, not awaiting a signature", view.status))
        })?;
        let layer = view.layer();
        let payload = if needs_payload(&request, layer) {
            self.awaiting_payload(id, leg, &request, route.last_event_seq).await?
        } else {
            None
        };
        let signature = keys.sign(&request, layer, payload.as_ref())?;
        self.submit_signature(id, leg, &signature).await
    }

    /// Signs leg `leg` of route `id` until it no longer awaits a signature: each signature
    /// accepted may be followed by the next one the leg needs. Returns the route once the leg has
    /// resumed (or at once, if the leg is not paused).
    pub async fn sign_until_resumed(
        &self,
        id: &str,
        leg: u16,
        keys: &LocalKeys,
    ) -> Result<RouteView> {
        for _ in 0..MAX_SIGNATURES_PER_LEG {
            let route = self.route(id).await?;
            let paused = route.leg(leg).is_some_and(|l| {
                l.status == LegStatus::AwaitingSignature && l.signature_request.is_some()
            });
            if !paused {
                return Ok(route);
            }
            self.sign_leg(id, leg, keys).await?;
        }
        Err(Error::Signing(format!(
            "leg {leg} still asks for a signature after {MAX_SIGNATURES_PER_LEG}"
        )))
    }

    /// Follows route `id` to its end, signing with `keys` every signature a leg asks for on
    /// the way; returns the final route. A request for a signer whose key is not in `keys` is an
    /// [`Error::Signing`] (the route stays paused; another party can still sign it).
    pub async fn follow_and_sign(&self, id: &str, keys: &LocalKeys) -> Result<RouteView> {
        let mut events = std::pin::pin!(self.watch(id, None));
        while let Some(event) = events.next().await {
            let Some(ask) = event?.signature_ask() else { continue };
            // The log replays old requests too: sign only the one the leg waits for now.
            let route = self.route(id).await?;
            let Some(leg) = route.leg(ask.leg) else { continue };
            if leg.signature_request.as_ref() != Some(&ask.request) {
                continue;
            }
            let signature = keys.sign(&ask.request, leg.layer(), ask.payload.as_ref())?;
            self.submit_signature(id, ask.leg, &signature).await?;
        }
        self.route(id).await
    }

    /// The payload of the `leg_awaiting_signature` event that asked for `request` (read from the
    /// route's log up to `upto`).
    async fn awaiting_payload(
        &self,
        id: &str,
        leg: u16,
        request: &SignatureRequest,
        upto: u64,
    ) -> Result<Option<Value>> {
        let mut payload = None;
        let mut events = std::pin::pin!(self.watch(id, None));
        while let Some(event) = events.next().await {
            let event = event?;
            if let Some(ask) = event.signature_ask() {
                if ask.leg == leg && ask.request == *request {
                    payload = ask.payload;
                }
            }
            if event.seq >= upto {
                break;
            }
        }
        Ok(payload)
    }
}

/// Whether signing `request` on `layer` needs the prepared payload (StarkEx's signable message).
fn needs_payload(request: &SignatureRequest, layer: Layer) -> bool {
    request.scheme == SignatureScheme::Ethereum && layer == Layer::StarkEx
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use starkroute_crypto::keys::recover_personal_sign;
    use starkroute_crypto::{verify, StarkSignature};

    const ETH: &str = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    const STARK: &str = "019b5de47e5fc8f2e8c3415b42a126aadb462637f2feca1df3733fe3f37cf50f";

    #[test]
    fn each_scheme_signs_what_its_layer_checks() {
        let eth = EthPrivateKey::from_hex(ETH).unwrap();
        let stark = StarkPrivateKey::from_hex(STARK).unwrap();
        let keys = LocalKeys::new().with_ethereum(eth.clone()).with_stark(stark.clone());
        assert!(!format!("{keys:?}").contains(&ETH[..16]));

        // Stark over a felt.
        let req = SignatureRequest {
            scheme: SignatureScheme::Stark,
            signer: Account::StarkEx(stark.public_key()),
            hash: "0x1234abcd".into(),
        };
        let sig =
            StarkSignature::from_hex(&keys.sign(&req, Layer::StarkEx, None).unwrap()).unwrap();
        let h = parse_felt("0x1234abcd").unwrap();
        assert!(verify(&stark.public_key(), &h, &sig).unwrap());

        // Ethereum on L1: personal_sign over the 32 hash bytes.
        let hash = [7u8; 32];
        let req = SignatureRequest {
            scheme: SignatureScheme::Ethereum,
            signer: Account::L1(eth.address()),
            hash: format!("0x{}", hex::encode(hash)),
        };
        let sig = keys.sign(&req, Layer::L1, None).unwrap();
        let raw: [u8; 65] = hex::decode(&sig[2..]).unwrap().try_into().unwrap();
        assert_eq!(recover_personal_sign(&hash, &raw).unwrap(), eth.address());

        // Ethereum on StarkEx: the message from the payload that hashes to the request.
        let msg = "Only sign this request if you've initiated the action.";
        let digest = alloy_primitives::eip191_hash_message(msg.as_bytes());
        let req = SignatureRequest { hash: format!("{digest:#x}"), ..req };
        let payload = json!({ "payload": { "sig": { "signable_message": msg, "other": "x" } } });
        let sig = keys.sign(&req, Layer::StarkEx, Some(&payload)).unwrap();
        let raw: [u8; 65] = hex::decode(&sig[2..]).unwrap().try_into().unwrap();
        assert_eq!(recover_personal_sign(msg.as_bytes(), &raw).unwrap(), eth.address());
        // No matching message: refused, not a blind signature.
        let other = json!({ "signable_message": "something else" });
        assert!(matches!(keys.sign(&req, Layer::StarkEx, Some(&other)), Err(Error::Signing(_))));
        assert!(matches!(keys.sign(&req, Layer::StarkEx, None), Err(Error::Signing(_))));
    }

    #[test]
    fn a_request_for_someone_else_or_another_scheme_is_refused() {
        let stark = StarkPrivateKey::from_hex(STARK).unwrap();
        let keys = LocalKeys::new().with_stark(stark.clone());
        let eth = EthPrivateKey::from_hex(ETH).unwrap();
        let req = SignatureRequest {
            scheme: SignatureScheme::Ethereum,
            signer: Account::L1(eth.address()),
            hash: format!("0x{}", "00".repeat(32)),
        };
        assert!(matches!(keys.sign(&req, Layer::L1, None), Err(Error::Signing(_))));
        let wrong_scheme = SignatureRequest {
            scheme: SignatureScheme::StarknetAccount,
            signer: Account::StarkEx(stark.public_key()),
            hash: "0x1".into(),
        };
        assert!(matches!(keys.sign(&wrong_scheme, Layer::Starknet, None), Err(Error::Signing(_))));
        let bad_hash = SignatureRequest {
            scheme: SignatureScheme::Stark,
            hash: "0xzz".into(),
            ..wrong_scheme
        };
        assert!(matches!(keys.sign(&bad_hash, Layer::StarkEx, None), Err(Error::Signing(_))));
    }
}
