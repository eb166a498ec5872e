//! The router's signers, as a configuration file lists them: keystore paths and where each
//! password comes from — never a key or a password.
//!
//! ```toml
//! [[signers.l1]]
//! keystore = "keys/router-l1.json"
//! password_env = "STARKROUTE_L1_PASSWORD"
//!
//! [[signers.starkex]]
//! keystore = "keys/router-stark.json"
//! password_file = "/run/secrets/stark-password"
//!
//! [[signers.starknet]]
//! account = "keys/router-account.json"     # starkli's account file
//! keystore = "keys/router-starknet.json"   # its signer's keystore
//! password_prompt = true                   # asked on the terminal at start
//! ```
//!
//! Relative paths are relative to the configuration file's directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use alloy_signer_local::PrivateKeySigner;
use serde::{Deserialize, Serialize};
use starkroute_crypto::{EthPrivateKey, StarkPrivateKey};
use starkroute_types::{EthAddress, Felt, StarkKey, StarknetAddress};

use crate::error::{KeyError, Result};
use crate::fs::PermissionPolicy;
use crate::key::{
    eth_address, load_eth_key, load_stark_key, load_starknet_account, StarknetAccount,
};
use crate::password::PasswordSource;
use crate::secret::Password;

/// Where one password comes from: exactly one of the three.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfig {
    /// The name of the environment variable holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// A file holding it (first line; the file must be private).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// Ask on the terminal at start.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub password_prompt: bool,
}

impl PasswordConfig {
    /// The source; `at` names the entry in errors (`signers.l1[0]`).
    pub fn source(&self, at: &str, base: &Path) -> Result<PasswordSource> {
        let given = usize::from(self.password_env.is_some())
            + usize::from(self.password_file.is_some())
            + usize::from(self.password_prompt);
        if given != 1 {
            return Err(KeyError::Config {
                field: format!("{at}.password_env"),
                reason: format!(
                    "give exactly one of password_env, password_file, password_prompt ({given} given)"
                ),
            });
        }
        Ok(match (&self.password_env, &self.password_file) {
            (Some(var), _) if var.is_empty() => {
                return Err(KeyError::Config {
                    field: format!("{at}.password_env"),
                    reason: "empty variable name".into(),
                })
            }
            (Some(var), _) => PasswordSource::Env(var.clone()),
            (None, Some(file)) => PasswordSource::File(base.join(file)),
            (None, None) => PasswordSource::Prompt,
        })
    }
}

/// An Ethereum or Stark key in a keystore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeystoreEntry {
    /// The keystore file.
    pub keystore: PathBuf,
    /// Its password's source.
    #[serde(flatten)]
    pub password: PasswordConfig,
}

/// A Starknet account: starkli's account file and its signer's keystore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountEntry {
    /// starkli's account file.
    pub account: PathBuf,
    /// The signer's keystore.
    pub keystore: PathBuf,
    /// Its password's source.
    #[serde(flatten)]
    pub password: PasswordConfig,
}

/// The `[signers]` section: the keys the router signs with, per layer. A party whose key is not
/// here gets its legs paused for a signature.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignersConfig {
    /// Ethereum keys (L1 transactions; the Ethereum signature of StarkEx withdrawals).
    #[serde(default)]
    pub l1: Vec<KeystoreEntry>,
    /// StarkEx Stark keys.
    #[serde(default)]
    pub starkex: Vec<KeystoreEntry>,
    /// Starknet accounts.
    #[serde(default)]
    pub starknet: Vec<AccountEntry>,
}

/// The loaded signers. `Debug` shows addresses and public keys only.
#[derive(Debug, Clone, Default)]
pub struct Signers {
    /// Ethereum keys.
    pub l1: Vec<PrivateKeySigner>,
    /// StarkEx Stark keys.
    pub starkex: Vec<StarkPrivateKey>,
    /// Starknet accounts.
    pub starknet: Vec<StarknetAccount>,
}

fn at(entry: String, e: KeyError) -> KeyError {
    KeyError::InEntry { entry, source: Box::new(e) }
}

impl SignersConfig {
    /// Checks the section without reading any file: each entry has a path and exactly one
    /// password source.
    pub fn validate(&self) -> Result<()> {
        let base = Path::new(".");
        let check_path = |field: String, p: &Path| {
            if p.as_os_str().is_empty() {
                Err(KeyError::Config { field, reason: "empty path".into() })
            } else {
                Ok(())
            }
        };
        for (i, e) in self.l1.iter().enumerate() {
            check_path(format!("signers.l1[{i}].keystore"), &e.keystore)?;
            e.password.source(&format!("signers.l1[{i}]"), base)?;
        }
        for (i, e) in self.starkex.iter().enumerate() {
            check_path(format!("signers.starkex[{i}].keystore"), &e.keystore)?;
            e.password.source(&format!("signers.starkex[{i}]"), base)?;
        }
        for (i, e) in self.starknet.iter().enumerate() {
            check_path(format!("signers.starknet[{i}].account"), &e.account)?;
            check_path(format!("signers.starknet[{i}].keystore"), &e.keystore)?;
            e.password.source(&format!("signers.starknet[{i}]"), base)?;
        }
        Ok(())
    }

    /// Reads every password and decrypts every key; relative paths are taken from `base` (the
    /// configuration file's directory). The first failure is returned, naming its entry
    /// (`signers.starknet[0]: keys/a.json: wrong password, or the file was altered …`); a key
    /// listed twice is refused.
    pub fn load(&self, base: &Path, policy: PermissionPolicy) -> Result<Signers> {
        self.validate()?;
        let l1 = load_each(("l1", "key"), &self.l1, base, policy, |_, path, password| {
            let signer = load_eth_key(path, password, policy)?;
            let address = signer.address();
            Ok((signer, address, Some(address.to_string())))
        })?;
        let starkex = load_each(("starkex", "key"), &self.starkex, base, policy, |_, path, pw| {
            let key = load_stark_key(path, pw, policy)?;
            let public = key.public_key();
            Ok((key, public, None))
        })?;
        let starknet =
            load_each(("starknet", "account"), &self.starknet, base, policy, |e, path, pw| {
                let account = load_starknet_account(&base.join(&e.account), path, pw, policy)?;
                let address = account.address();
                Ok((account, address, None))
            })?;
        Ok(Signers { l1, starkex, starknet })
    }
}

/// An entry of `[signers]` that names a keystore and its password's source.
trait Keyed {
    fn keystore(&self) -> &Path;
    fn password(&self) -> &PasswordConfig;
}

impl Keyed for KeystoreEntry {
    fn keystore(&self) -> &Path {
        &self.keystore
    }
    fn password(&self) -> &PasswordConfig {
        &self.password
    }
}

impl Keyed for AccountEntry {
    fn keystore(&self) -> &Path {
        &self.keystore
    }
    fn password(&self) -> &PasswordConfig {
        &self.password
    }
}

/// Loads the entries of `signers.<list>` in order: reads each one's password, then `load`
/// (entry, keystore path, password) answers the key, its identity and what a refusal of a repeat
/// shows of it. Each failure names its entry; a `what` (key, account) listed twice is refused.
fn load_each<E: Keyed, T, K: Eq + std::hash::Hash>(
    (list, what): (&str, &str),
    entries: &[E],
    base: &Path,
    policy: PermissionPolicy,
    load: impl Fn(&E, &Path, &Password) -> Result<(T, K, Option<String>)>,
) -> Result<Vec<T>> {
    let mut seen = HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let name = format!("signers.{list}[{i}]");
        let path = base.join(e.keystore());
        let password = e
            .password()
            .source(&name, base)?
            .read(&path.display().to_string(), policy)
            .map_err(|err| at(name.clone(), err))?;
        let (key, identity, shown) =
            load(e, &path, &password).map_err(|err| at(name.clone(), err))?;
        if let Some(j) = seen.insert(identity, i) {
            let shown = shown.map(|s| format!(" ({s})")).unwrap_or_default();
            let reason = format!("the same {what} as signers.{list}[{j}]{shown}");
            return Err(KeyError::Config { field: name, reason });
        }
        out.push(key);
    }
    Ok(out)
}

impl Signers {
    /// The L1 addresses the router signs for.
    pub fn l1_addresses(&self) -> Result<Vec<EthAddress>> {
        self.l1.iter().map(eth_address).collect()
    }

    /// The Stark keys by public key, as the StarkEx adapter takes them.
    pub fn stark_keys(&self) -> HashMap<StarkKey, StarkPrivateKey> {
        self.starkex.iter().map(|k| (k.public_key(), k.clone())).collect()
    }

    /// The Starknet accounts by address.
    pub fn starknet_accounts(&self) -> HashMap<StarknetAddress, &StarknetAccount> {
        self.starknet.iter().map(|a| (a.address(), a)).collect()
    }

    /// The Ethereum keys as `starkroute-crypto` types them, by address, as the StarkEx adapter
    /// takes them (for the Ethereum signature of a StarkEx withdrawal).
    pub fn eth_private_keys(&self) -> Result<HashMap<EthAddress, EthPrivateKey>> {
        self.l1
            .iter()
            .map(|s| {
                let key = EthPrivateKey::from_bytes(&s.to_bytes().0).map_err(|e| {
                    KeyError::InvalidKey { kind: crate::KeyKind::Eth, reason: e.to_string() }
                })?;
                Ok((key.address(), key))
            })
            .collect()
    }

    /// Each Starknet account's signing scalar by address, as the Starknet adapter takes them.
    /// Named loudly: the values are secrets.
    pub fn starknet_secret_scalars(&self) -> HashMap<StarknetAddress, Felt> {
        self.starknet.iter().map(|a| (a.address(), a.key().expose_secret())).collect()
    }

    /// Each Starknet account's public key by address, for the accounts the router deploys.
    pub fn starknet_public_keys(&self) -> HashMap<StarknetAddress, Felt> {
        self.starknet.iter().map(|a| (a.address(), a.public_key())).collect()
    }
}
