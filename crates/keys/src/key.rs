//! Typed keys from keystores: Ethereum keys as alloy's `PrivateKeySigner`, Stark keys (StarkEx
//! and a Starknet account's signer) as `StarkPrivateKey`; Starknet accounts as a starkli account
//! file plus its signer's keystore.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use alloy_primitives::B256;
use alloy_signer_local::PrivateKeySigner;
use serde::{Deserialize, Serialize};
use starkroute_crypto::StarkPrivateKey;
use starkroute_types::{EthAddress, Felt, StarkKey, StarknetAddress};

use crate::account::AccountFile;
use crate::error::{KeyError, Result};
use crate::fs::{read_secret_file, write_new_file, PermissionPolicy};
use crate::keystore::{KeyMeta, Keystore, ScryptParams};
use crate::random_bytes;
use crate::secret::{Password, SecretKeyBytes};

/// What a key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    /// An Ethereum (secp256k1) key: L1 transactions, StarkEx's Ethereum signatures.
    Eth,
    /// A Stark key of a StarkEx account.
    Stark,
    /// The Stark-curve key that signs for a Starknet account.
    Starknet,
}

impl KeyKind {
    /// The kind's name (`eth`, `stark`, `starknet`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eth => "eth",
            Self::Stark => "stark",
            Self::Starknet => "starknet",
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KeyKind {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "eth" => Ok(Self::Eth),
            "stark" => Ok(Self::Stark),
            "starknet" => Ok(Self::Starknet),
            other => Err(KeyError::Field {
                field: "kind".into(),
                reason: format!("{other:?}: expected eth, stark or starknet"),
            }),
        }
    }
}

/// A decrypted key. `Debug` shows only the public side.
#[derive(Clone)]
pub enum PrivateKey {
    /// An Ethereum key.
    Eth(PrivateKeySigner),
    /// A Stark-curve key (`stark` or `starknet`).
    Stark(StarkPrivateKey),
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Eth(s) => write!(f, "PrivateKey::Eth(address {}, <redacted>)", s.address()),
            Self::Stark(k) => write!(f, "PrivateKey::Stark(public {}, <redacted>)", k.public_key()),
        }
    }
}

impl PrivateKey {
    /// The key of `kind` from its 32 big-endian bytes; refuses 0 and values not below the
    /// curve's order.
    pub fn from_bytes(kind: KeyKind, bytes: &SecretKeyBytes) -> Result<Self> {
        match kind {
            KeyKind::Eth => PrivateKeySigner::from_bytes(&B256::from(*bytes.expose()))
                .map(Self::Eth)
                .map_err(|_| KeyError::InvalidKey {
                    kind,
                    reason: "zero or not below the secp256k1 order".into(),
                }),
            KeyKind::Stark | KeyKind::Starknet => StarkPrivateKey::from_bytes_be(bytes.expose())
                .map(Self::Stark)
                .map_err(|e| KeyError::InvalidKey { kind, reason: e.to_string() }),
        }
    }

    /// Parses a private key given as hex (64 digits at most, `0x` optional, surrounding
    /// whitespace ignored). The error never echoes the input.
    pub fn from_hex(kind: KeyKind, text: &str) -> Result<Self> {
        let t = text.trim();
        let digits = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")).unwrap_or(t);
        let invalid = |reason: &str| KeyError::InvalidKey { kind, reason: reason.into() };
        if digits.is_empty() || digits.len() > 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(invalid("expected 1 to 64 hex digits, optionally 0x-prefixed"));
        }
        let padded = zeroize::Zeroizing::new(format!("{digits:0>64}"));
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(padded.as_bytes(), &mut bytes).map_err(|_| invalid("not hex"))?;
        let secret = SecretKeyBytes::new(bytes);
        zeroize::Zeroize::zeroize(&mut bytes);
        Self::from_bytes(kind, &secret)
    }

    /// A new random key of `kind` from the operating system's randomness.
    pub fn generate(kind: KeyKind) -> Result<Self> {
        // Rejection sampling: uniform below the order. For the Stark curve (order just above
        // 2^251) a 252-bit candidate is accepted about half the time.
        for _ in 0..256 {
            let mut bytes = [0u8; 32];
            random_bytes(&mut bytes)?;
            if kind != KeyKind::Eth {
                bytes[0] &= 0x0f;
            }
            let secret = SecretKeyBytes::new(bytes);
            zeroize::Zeroize::zeroize(&mut bytes);
            if let Ok(k) = Self::from_bytes(kind, &secret) {
                return Ok(k);
            }
        }
        Err(KeyError::Random("256 candidates in a row were not valid keys".into()))
    }

    /// The 32 big-endian bytes a keystore encrypts.
    pub fn to_bytes(&self) -> SecretKeyBytes {
        match self {
            Self::Eth(s) => SecretKeyBytes::new(s.to_bytes().0),
            Self::Stark(k) => SecretKeyBytes::new(k.expose_secret().to_bytes_be()),
        }
    }

    /// The public side: the Ethereum address, or the Stark public key.
    pub fn public(&self) -> PublicKey {
        match self {
            Self::Eth(s) => PublicKey::Eth(s.address()),
            Self::Stark(k) => PublicKey::Stark(k.public_key()),
        }
    }
}

/// The public side of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicKey {
    /// An Ethereum address.
    Eth(alloy_primitives::Address),
    /// A Stark public key.
    Stark(StarkKey),
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // EIP-55 checksummed.
            Self::Eth(a) => write!(f, "{a}"),
            Self::Stark(k) => write!(f, "{:#066x}", k.felt()),
        }
    }
}

/// Encrypts `key` into a keystore of `kind`: an Ethereum key's keystore carries geth's `address`
/// field; a Stark key's carries `starkroute` (its kind and public key).
pub fn encrypt_key(
    kind: KeyKind,
    key: &PrivateKey,
    password: &Password,
    params: ScryptParams,
) -> Result<Keystore> {
    let (address, meta) = match key.public() {
        PublicKey::Eth(a) => (Some(hex::encode(a.as_slice())), None),
        p @ PublicKey::Stark(_) => (None, Some(KeyMeta { kind, public_key: Some(p.to_string()) })),
    };
    Keystore::encrypt(&key.to_bytes(), password, params, address, meta)
}

/// Decrypts `keystore` as a key of `kind`, and checks the file's public fields (geth's
/// `address`, `starkroute.kind` and `starkroute.public_key`) against the key.
pub fn decrypt_key(keystore: &Keystore, kind: KeyKind, password: &Password) -> Result<PrivateKey> {
    if let Some(recorded) = keystore.recorded_kind() {
        let compatible = recorded == kind || (recorded != KeyKind::Eth && kind != KeyKind::Eth);
        if !compatible {
            return Err(KeyError::KindMismatch { in_file: recorded, asked: kind });
        }
    }
    let bytes = keystore.decrypt(password)?;
    let key = PrivateKey::from_bytes(kind, &bytes)?;
    match (key.public(), keystore.address_field(), keystore.meta()) {
        (PublicKey::Eth(derived), Some(in_file), _) => {
            let parsed: Option<alloy_primitives::Address> =
                in_file.strip_prefix("0x").unwrap_or(in_file).parse().ok();
            if parsed != Some(derived) {
                return Err(KeyError::PublicMismatch {
                    field: "address",
                    in_file: in_file.to_owned(),
                    derived: derived.to_string(),
                });
            }
        }
        (p @ PublicKey::Stark(derived), _, Some(KeyMeta { public_key: Some(in_file), .. })) => {
            let parsed = starkroute_types::parse_felt(in_file).ok();
            if parsed != Some(derived.felt()) {
                return Err(KeyError::PublicMismatch {
                    field: "starkroute.public_key",
                    in_file: in_file.clone(),
                    derived: p.to_string(),
                });
            }
        }
        _ => {}
    }
    Ok(key)
}

/// Reads and parses a keystore file after checking its permissions.
pub fn read_keystore(path: &Path, policy: PermissionPolicy) -> Result<Keystore> {
    let text = read_secret_file(path, policy)?;
    Keystore::parse(&text).map_err(|e| e.in_file(path))
}

/// Writes a keystore to a new file (mode 0600; refuses to overwrite).
pub fn write_keystore(path: &Path, keystore: &Keystore) -> Result<()> {
    let mut json = keystore.to_json();
    json.push('\n');
    write_new_file(path, json.as_bytes())
}

/// Loads a key of `kind` from a keystore file.
pub fn load_key(
    path: &Path,
    kind: KeyKind,
    password: &Password,
    policy: PermissionPolicy,
) -> Result<PrivateKey> {
    let keystore = read_keystore(path, policy)?;
    decrypt_key(&keystore, kind, password).map_err(|e| e.in_file(path))
}

/// Loads an Ethereum key from a keystore file (geth's, cast's, or one `keys new` wrote).
pub fn load_eth_key(
    path: &Path,
    password: &Password,
    policy: PermissionPolicy,
) -> Result<PrivateKeySigner> {
    match load_key(path, KeyKind::Eth, password, policy)? {
        PrivateKey::Eth(s) => Ok(s),
        PrivateKey::Stark(_) => unreachable_kind(path),
    }
}

/// Loads a StarkEx Stark key from a keystore file.
pub fn load_stark_key(
    path: &Path,
    password: &Password,
    policy: PermissionPolicy,
) -> Result<StarkPrivateKey> {
    match load_key(path, KeyKind::Stark, password, policy)? {
        PrivateKey::Stark(k) => Ok(k),
        PrivateKey::Eth(_) => unreachable_kind(path),
    }
}

fn unreachable_kind<T>(path: &Path) -> Result<T> {
    Err(KeyError::Field { field: "kind".into(), reason: "decrypted to another kind".into() })
        .map_err(|e| e.in_file(path))
}

/// A Starknet account the router can sign for: starkli's account file and its signer's key.
/// `Debug` shows the address and the public key only.
#[derive(Clone)]
pub struct StarknetAccount {
    address: StarknetAddress,
    file: AccountFile,
    key: StarkPrivateKey,
}

impl fmt::Debug for StarknetAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StarknetAccount")
            .field("address", &self.address)
            .field("public_key", &self.key.public_key())
            .field("deployed", &self.file.is_deployed())
            .finish_non_exhaustive()
    }
}

impl StarknetAccount {
    /// Pairs an account file with its signer's key; refuses a key that is not the account's
    /// signer.
    pub fn new(file: AccountFile, key: StarkPrivateKey) -> Result<Self> {
        let expected = file.signer_public_key()?;
        let derived = key.public_key().felt();
        if expected != derived {
            return Err(KeyError::PublicMismatch {
                field: "the account's signer public key",
                in_file: format!("{expected:#x}"),
                derived: format!("{derived:#x}"),
            });
        }
        Ok(Self { address: file.address()?, file, key })
    }

    /// The account's address (deployed, or where deploying it puts it).
    pub fn address(&self) -> StarknetAddress {
        self.address
    }

    /// The signer's public key.
    pub fn public_key(&self) -> Felt {
        self.key.public_key().felt()
    }

    /// The account file.
    pub fn file(&self) -> &AccountFile {
        &self.file
    }

    /// The signing key.
    pub fn key(&self) -> &StarkPrivateKey {
        &self.key
    }
}

/// Reads a starkli account file (not secret: no permission check).
pub fn read_account_file(path: &Path) -> Result<AccountFile> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| KeyError::Io { path: path.to_owned(), source })?;
    AccountFile::parse(&text).map_err(|e| e.in_file(path))
}

/// Loads a Starknet account: starkli's account file and the keystore of its signer.
pub fn load_starknet_account(
    account: &Path,
    keystore: &Path,
    password: &Password,
    policy: PermissionPolicy,
) -> Result<StarknetAccount> {
    let file = read_account_file(account)?;
    let key = match load_key(keystore, KeyKind::Starknet, password, policy)? {
        PrivateKey::Stark(k) => k,
        PrivateKey::Eth(_) => return unreachable_kind(keystore),
    };
    StarknetAccount::new(file, key).map_err(|e| e.in_file(keystore))
}

/// An Ethereum address as the rest of starkroute types it.
pub fn eth_address(signer: &PrivateKeySigner) -> Result<EthAddress> {
    EthAddress::new(signer.address())
        .map_err(|e| KeyError::InvalidKey { kind: KeyKind::Eth, reason: e.to_string() })
}
