//! Web3 Secret Storage v3 keystores: the JSON format geth, foundry's `cast wallet` and starkli
//! write. Decrypts scrypt and PBKDF2-HMAC-SHA256 files; writes scrypt files.
//!
//! `derived = KDF(password, salt)`; `mac = keccak256(derived[16..32] ‖ ciphertext)`;
//! `key = AES-128-CTR(derived[0..16], iv).decrypt(ciphertext)`.

use aes::cipher::{KeyIvInit, StreamCipher};
use alloy_primitives::keccak256;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::error::{KeyError, Result};
use crate::secret::{Password, SecretKeyBytes};
use crate::{random_bytes, KeyKind};

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// Largest scrypt memory a file may ask for (`128 · r · n` bytes): 1 GiB, four times geth's
/// standard parameters. A file asking for more is refused rather than exhausting the machine.
const MAX_SCRYPT_MEMORY: u64 = 1 << 30;
/// Largest scrypt work a file may ask for (`n · r · p`): 32 times geth's standard parameters.
const MAX_SCRYPT_WORK: u64 = 1 << 26;
/// Largest PBKDF2 iteration count a file may ask for.
const MAX_PBKDF2_ROUNDS: u32 = 10_000_000;

/// scrypt cost parameters for new keystores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScryptParams {
    /// log2 of `n`.
    pub log_n: u8,
    /// Block size.
    pub r: u32,
    /// Parallelism.
    pub p: u32,
}

impl ScryptParams {
    /// geth's standard parameters (`n = 2^18, r = 8, p = 1`: 256 MiB, about a second).
    pub const STANDARD: Self = Self { log_n: 18, r: 8, p: 1 };
    /// geth's `--lightkdf` parameters (`n = 2^12, r = 8, p = 6`: 4 MiB, milliseconds).
    pub const LIGHT: Self = Self { log_n: 12, r: 8, p: 6 };
}

/// The key-derivation function of a keystore, with its parameters.
#[derive(Clone, PartialEq, Eq)]
pub enum Kdf {
    /// scrypt.
    Scrypt {
        /// log2 of `n`.
        log_n: u8,
        /// Block size.
        r: u32,
        /// Parallelism.
        p: u32,
        /// Salt.
        salt: Vec<u8>,
    },
    /// PBKDF2 with HMAC-SHA256.
    Pbkdf2 {
        /// Iterations.
        c: u32,
        /// Salt.
        salt: Vec<u8>,
    },
}

impl std::fmt::Debug for Kdf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Scrypt { log_n, r, p, .. } => write!(f, "scrypt(n=2^{log_n}, r={r}, p={p})"),
            Self::Pbkdf2 { c, .. } => write!(f, "pbkdf2-hmac-sha256(c={c})"),
        }
    }
}

impl Kdf {
    fn derive(&self, password: &Password) -> Result<Zeroizing<[u8; 32]>> {
        let mut out = Zeroizing::new([0u8; 32]);
        match self {
            Self::Scrypt { log_n, r, p, salt } => {
                let params = scrypt::Params::new(*log_n, *r, *p).map_err(|e| {
                    KeyError::KdfParams { field: "n", reason: format!("refused by scrypt: {e}") }
                })?;
                scrypt::scrypt(password.expose().as_bytes(), salt, &params, &mut out[..]).map_err(
                    |e| KeyError::KdfParams { field: "dklen", reason: format!("scrypt: {e}") },
                )?;
            }
            Self::Pbkdf2 { c, salt } => {
                pbkdf2::pbkdf2_hmac::<pbkdf2::sha2::Sha256>(
                    password.expose().as_bytes(),
                    salt,
                    *c,
                    &mut out[..],
                );
            }
        }
        Ok(out)
    }

    fn to_json(&self) -> (&'static str, Value) {
        match self {
            Self::Scrypt { log_n, r, p, salt } => (
                "scrypt",
                json!({"dklen": 32, "n": 1u64 << log_n, "p": p, "r": r, "salt": hex::encode(salt)}),
            ),
            Self::Pbkdf2 { c, salt } => (
                "pbkdf2",
                json!({"c": c, "dklen": 32, "prf": "hmac-sha256", "salt": hex::encode(salt)}),
            ),
        }
    }
}

/// What starkroute records beside the standard fields of a Stark key's keystore, so that
/// `keys list` and `keys address` know the kind (other tools ignore the field).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyMeta {
    /// The kind of key.
    pub kind: KeyKind,
    /// Its public key (`0x…`): the Stark key for `stark`, the signer's public key for `starknet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

#[derive(Deserialize)]
struct RawKeystore {
    #[serde(alias = "Crypto")]
    crypto: RawCrypto,
    #[serde(default)]
    id: Option<String>,
    version: Value,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    starkroute: Option<KeyMeta>,
}

#[derive(Deserialize)]
struct RawCrypto {
    cipher: String,
    cipherparams: RawCipherParams,
    ciphertext: String,
    kdf: String,
    kdfparams: serde_json::Map<String, Value>,
    mac: String,
}

#[derive(Deserialize)]
struct RawCipherParams {
    iv: String,
}

/// A parsed and checked v3 keystore (still encrypted).
#[derive(Clone)]
pub struct Keystore {
    kdf: Kdf,
    iv: [u8; 16],
    ciphertext: Vec<u8>,
    mac: [u8; 32],
    id: String,
    address: Option<String>,
    meta: Option<KeyMeta>,
}

impl std::fmt::Debug for Keystore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keystore")
            .field("id", &self.id)
            .field("kdf", &self.kdf)
            .field("address", &self.address)
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

fn hex_field(field: &str, s: &str) -> Result<Vec<u8>> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    hex::decode(digits)
        .map_err(|e| KeyError::Field { field: field.to_owned(), reason: format!("not hex: {e}") })
}

fn kdf_u64(params: &serde_json::Map<String, Value>, field: &'static str) -> Result<u64> {
    match params.get(field) {
        None => Err(KeyError::KdfParams { field, reason: "missing".into() }),
        Some(v) => v.as_u64().ok_or_else(|| KeyError::KdfParams {
            field,
            reason: format!("{v} is not a non-negative integer"),
        }),
    }
}

fn kdf_salt(params: &serde_json::Map<String, Value>) -> Result<Vec<u8>> {
    let s = params
        .get("salt")
        .and_then(Value::as_str)
        .ok_or(KeyError::KdfParams { field: "salt", reason: "missing or not a string".into() })?;
    let salt = hex::decode(s.strip_prefix("0x").unwrap_or(s))
        .map_err(|e| KeyError::KdfParams { field: "salt", reason: format!("not hex: {e}") })?;
    if salt.is_empty() {
        return Err(KeyError::KdfParams { field: "salt", reason: "empty".into() });
    }
    Ok(salt)
}

fn parse_kdf(kdf: &str, params: &serde_json::Map<String, Value>) -> Result<Kdf> {
    let dklen = kdf_u64(params, "dklen")?;
    if dklen != 32 {
        return Err(KeyError::KdfParams {
            field: "dklen",
            reason: format!("{dklen}: must be 32 (16 bytes of AES key, 16 of MAC key)"),
        });
    }
    match kdf {
        "scrypt" => {
            let n = kdf_u64(params, "n")?;
            if n < 2 || !n.is_power_of_two() {
                return Err(KeyError::KdfParams {
                    field: "n",
                    reason: format!("{n}: must be a power of two, at least 2"),
                });
            }
            let r = kdf_u64(params, "r")?;
            let p = kdf_u64(params, "p")?;
            if r == 0 || r > 1024 {
                return Err(KeyError::KdfParams {
                    field: "r",
                    reason: format!("{r}: must be 1 to 1024"),
                });
            }
            if p == 0 || p > 1024 {
                return Err(KeyError::KdfParams {
                    field: "p",
                    reason: format!("{p}: must be 1 to 1024"),
                });
            }
            let memory = 128u64.saturating_mul(r).saturating_mul(n);
            if memory > MAX_SCRYPT_MEMORY {
                return Err(KeyError::KdfParams {
                    field: "n",
                    reason: format!(
                        "n = {n} with r = {r} needs {} MiB; at most {} MiB is accepted",
                        memory >> 20,
                        MAX_SCRYPT_MEMORY >> 20
                    ),
                });
            }
            if n.saturating_mul(r).saturating_mul(p) > MAX_SCRYPT_WORK {
                return Err(KeyError::KdfParams {
                    field: "p",
                    reason: format!(
                        "n · r · p = {n} · {r} · {p} is above the accepted {MAX_SCRYPT_WORK}"
                    ),
                });
            }
            // Bounded above: n <= 2^23, r, p <= 1024.
            Ok(Kdf::Scrypt {
                log_n: n.trailing_zeros() as u8,
                r: r as u32,
                p: p as u32,
                salt: kdf_salt(params)?,
            })
        }
        "pbkdf2" => {
            let prf = params.get("prf").and_then(Value::as_str).unwrap_or("");
            if prf != "hmac-sha256" {
                return Err(KeyError::KdfParams {
                    field: "prf",
                    reason: format!("{prf:?}: only hmac-sha256 is supported"),
                });
            }
            let c = kdf_u64(params, "c")?;
            if c == 0 || c > u64::from(MAX_PBKDF2_ROUNDS) {
                return Err(KeyError::KdfParams {
                    field: "c",
                    reason: format!("{c}: must be 1 to {MAX_PBKDF2_ROUNDS}"),
                });
            }
            Ok(Kdf::Pbkdf2 { c: c as u32, salt: kdf_salt(params)? })
        }
        other => Err(KeyError::Field {
            field: "crypto.kdf".into(),
            reason: format!("{other:?}: only scrypt and pbkdf2 are supported"),
        }),
    }
}

/// Compares in time independent of where the inputs differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn mac_of(derived: &[u8; 32], ciphertext: &[u8]) -> [u8; 32] {
    // Half of the derived key: wiped after use.
    let mut data = Zeroizing::new(Vec::with_capacity(16 + ciphertext.len()));
    data.extend_from_slice(&derived[16..32]);
    data.extend_from_slice(ciphertext);
    keccak256(&*data).0
}

/// A random RFC 4122 version-4 UUID, as keystores name themselves.
fn uuid_v4() -> Result<String> {
    let mut b = [0u8; 16];
    random_bytes(&mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    Ok(format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32]))
}

impl Keystore {
    /// Parses and checks a keystore's JSON. Errors name the field (`crypto.kdfparams.n: …`);
    /// nothing is decrypted yet.
    pub fn parse(text: &str) -> Result<Self> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| KeyError::Json { reason: e.to_string() })?;
        if !value.is_object() {
            return Err(KeyError::Json { reason: "expected a JSON object".into() });
        }
        let raw: RawKeystore = serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let reason = if path == "." { inner.to_string() } else { format!("{path}: {inner}") };
            KeyError::Json { reason }
        })?;
        match raw.version.as_u64() {
            Some(3) => {}
            _ => {
                return Err(KeyError::Field {
                    field: "version".into(),
                    reason: format!("{}: only version 3 keystores are supported", raw.version),
                })
            }
        }
        let c = raw.crypto;
        if c.cipher != "aes-128-ctr" {
            return Err(KeyError::Field {
                field: "crypto.cipher".into(),
                reason: format!("{:?}: only aes-128-ctr is supported", c.cipher),
            });
        }
        let iv: [u8; 16] = hex_field("crypto.cipherparams.iv", &c.cipherparams.iv)?
            .try_into()
            .map_err(|v: Vec<u8>| KeyError::Field {
                field: "crypto.cipherparams.iv".into(),
                reason: format!("{} bytes: must be 16", v.len()),
            })?;
        let ciphertext = hex_field("crypto.ciphertext", &c.ciphertext)?;
        if ciphertext.is_empty() || ciphertext.len() > 32 {
            return Err(KeyError::Field {
                field: "crypto.ciphertext".into(),
                reason: format!("{} bytes: a private key is at most 32", ciphertext.len()),
            });
        }
        let mac: [u8; 32] =
            hex_field("crypto.mac", &c.mac)?.try_into().map_err(|v: Vec<u8>| KeyError::Field {
                field: "crypto.mac".into(),
                reason: format!("{} bytes: must be 32", v.len()),
            })?;
        let kdf = parse_kdf(&c.kdf, &c.kdfparams)?;
        Ok(Self {
            kdf,
            iv,
            ciphertext,
            mac,
            id: raw.id.unwrap_or_default(),
            address: raw.address,
            meta: raw.starkroute,
        })
    }

    /// Encrypts a key under a password with fresh random salt, IV and id.
    pub fn encrypt(
        key: &SecretKeyBytes,
        password: &Password,
        params: ScryptParams,
        address: Option<String>,
        meta: Option<KeyMeta>,
    ) -> Result<Self> {
        let mut salt = vec![0u8; 32];
        random_bytes(&mut salt)?;
        let mut iv = [0u8; 16];
        random_bytes(&mut iv)?;
        let kdf = Kdf::Scrypt { log_n: params.log_n, r: params.r, p: params.p, salt };
        let derived = kdf.derive(password)?;
        let mut ciphertext = key.expose().to_vec();
        Aes128Ctr::new(derived[..16].into(), (&iv).into()).apply_keystream(&mut ciphertext);
        let mac = mac_of(&derived, &ciphertext);
        Ok(Self { kdf, iv, ciphertext, mac, id: uuid_v4()?, address, meta })
    }

    /// Decrypts the key: the 32 big-endian bytes (a shorter plaintext, as very old geth files
    /// hold, is left-padded with zeros).
    pub fn decrypt(&self, password: &Password) -> Result<SecretKeyBytes> {
        let derived = self.kdf.derive(password)?;
        if !ct_eq(&mac_of(&derived, &self.ciphertext), &self.mac) {
            return Err(KeyError::MacMismatch);
        }
        let mut plain = Zeroizing::new(self.ciphertext.clone());
        Aes128Ctr::new(derived[..16].into(), (&self.iv).into()).apply_keystream(&mut plain);
        let mut bytes = [0u8; 32];
        bytes[32 - plain.len()..].copy_from_slice(&plain);
        let key = SecretKeyBytes::new(bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        Ok(key)
    }

    /// The JSON: the standard fields (`crypto`, `id`, `version`, and `address` for an Ethereum
    /// key, as geth writes it), plus `starkroute` for Stark keys.
    pub fn to_json(&self) -> String {
        let (kdf, kdfparams) = self.kdf.to_json();
        let mut v = json!({
            "crypto": {
                "cipher": "aes-128-ctr",
                "cipherparams": {"iv": hex::encode(self.iv)},
                "ciphertext": hex::encode(&self.ciphertext),
                "kdf": kdf,
                "kdfparams": kdfparams,
                "mac": hex::encode(self.mac),
            },
            "id": self.id,
            "version": 3,
        });
        if let Some(a) = &self.address {
            v["address"] = json!(a);
        }
        if let Some(m) = &self.meta {
            v["starkroute"] = json!(m);
        }
        // A Value built above always serializes.
        serde_json::to_string_pretty(&v).unwrap_or_default()
    }

    /// The `address` field (geth's: 40 hex digits, no `0x`), if any.
    pub fn address_field(&self) -> Option<&str> {
        self.address.as_deref()
    }

    /// What starkroute recorded beside the standard fields, if anything.
    pub fn meta(&self) -> Option<&KeyMeta> {
        self.meta.as_ref()
    }

    /// The key-derivation function and its parameters.
    pub fn kdf(&self) -> &Kdf {
        &self.kdf
    }

    /// The file's id (a UUID).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The kind of key the file says it holds: `starkroute.kind`, or Ethereum when it has an
    /// `address` field; `None` when it does not say.
    pub fn recorded_kind(&self) -> Option<KeyKind> {
        match (&self.meta, &self.address) {
            (Some(m), _) => Some(m.kind),
            (None, Some(_)) => Some(KeyKind::Eth),
            (None, None) => None,
        }
    }
}
