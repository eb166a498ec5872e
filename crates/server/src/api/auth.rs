//! API keys: each maps to a tenant. Only SHA-256 hashes of the keys are held; a presented key is
//! hashed and compared with every configured hash in constant time.

use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};
use starkroute_store::TenantId;

use super::error::ApiError;
use crate::config::{parse_sha256, TenantKey};

/// The documented sandbox API key (its hash is in `config/sandbox.toml`). A published test key:
/// it is printed by `starkroute serve` only because it is public.
pub const SANDBOX_DEMO_KEY: &str = "sr_sandbox_demo";

/// Longest API key accepted (anything longer is refused before hashing).
const MAX_KEY_LEN: usize = 256;

/// The configured API keys.
#[derive(Clone, Default)]
pub struct Tenants {
    keys: Vec<([u8; 32], TenantId)>,
}

impl std::fmt::Debug for Tenants {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: even hashes of keys stay out of logs.
        f.debug_list().entries(self.keys.iter().map(|(_, t)| t.as_str())).finish()
    }
}

/// SHA-256 of a key, as stored in the configuration.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Compares two hashes without an early exit.
pub(crate) fn ct_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // black_box keeps the optimiser from turning the fold back into a short-circuit compare.
    std::hint::black_box(diff) == 0
}

impl Tenants {
    /// The keys of a validated configuration.
    pub fn from_config(keys: &[TenantKey]) -> crate::Result<Self> {
        let mut out = Vec::with_capacity(keys.len());
        for (index, k) in keys.iter().enumerate() {
            let hash = parse_sha256(&k.key_sha256).ok_or(crate::Error::TenantKeyHash { index })?;
            let tenant = TenantId::new(k.name.clone())
                .map_err(|source| crate::Error::TenantName { index, source })?;
            out.push((hash, tenant));
        }
        Ok(Self { keys: out })
    }

    /// Whether a key is configured (e.g. the sandbox demo key).
    pub fn knows(&self, key: &str) -> Option<&TenantId> {
        self.find(&hash_key(key))
    }

    fn find(&self, hash: &[u8; 32]) -> Option<&TenantId> {
        // Every entry is compared, so the time does not depend on which one matched.
        let mut found = None;
        for (h, t) in &self.keys {
            if ct_eq(h, hash) {
                found = Some(t);
            }
        }
        found
    }

    /// The tenant of a request's `Authorization: Bearer <key>` header.
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<TenantId, ApiError> {
        let value = headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <API key>"))?;
        let value = value
            .to_str()
            .map_err(|_| ApiError::unauthorized("the Authorization header is not ASCII"))?;
        let key = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| ApiError::unauthorized("expected Authorization: Bearer <API key>"))?;
        if key.len() > MAX_KEY_LEN {
            return Err(ApiError::unauthorized("unknown API key"));
        }
        self.find(&hash_key(key)).cloned().ok_or_else(|| ApiError::unauthorized("unknown API key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn keys_map_to_tenants_by_hash() {
        let cfg = vec![
            TenantKey { name: "a".into(), key_sha256: hex::encode(hash_key("ka")) },
            TenantKey { name: "b".into(), key_sha256: hex::encode(hash_key("kb")) },
        ];
        let t = Tenants::from_config(&cfg).unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(t.authenticate(&h).unwrap_err().status, 401);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer kb"));
        assert_eq!(t.authenticate(&h).unwrap().as_str(), "b");
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer kc"));
        assert_eq!(t.authenticate(&h).unwrap_err().code, "unauthorized");
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic kb"));
        assert!(t.authenticate(&h).is_err());
        assert!(!format!("{t:?}").contains(&hex::encode(hash_key("ka"))));
    }

    #[test]
    fn sandbox_key_hash_is_the_configured_one() {
        let c = crate::config::Config::sandbox().unwrap();
        let t = Tenants::from_config(&c.api.tenants).unwrap();
        assert_eq!(t.knows(SANDBOX_DEMO_KEY).map(TenantId::as_str), Some("demo"));
    }
}
