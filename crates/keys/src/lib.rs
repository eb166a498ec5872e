#![doc = include_str!("../README.md")]

pub mod account;
mod config;
mod error;
mod fs;
mod key;
pub mod keystore;
mod password;
mod secret;

pub use account::{random_salt, AccountFile, AccountVariant, Deployment, OZ_ACCOUNT_CLASS_HASH};
pub use config::{AccountEntry, KeystoreEntry, PasswordConfig, Signers, SignersConfig};
pub use error::{KeyError, Result};
pub use fs::{
    check_permissions, read_secret_file, write_new_file, PermissionPolicy, INSECURE_PERMISSIONS_ENV,
};
pub use key::{
    decrypt_key, encrypt_key, eth_address, load_eth_key, load_key, load_stark_key,
    load_starknet_account, read_account_file, read_keystore, write_keystore, KeyKind, PrivateKey,
    PublicKey, StarknetAccount,
};
pub use keystore::{Kdf, KeyMeta, Keystore, ScryptParams};
pub use password::PasswordSource;
pub use secret::{Password, SecretKeyBytes};

/// Fills `buf` from the operating system's randomness.
pub(crate) fn random_bytes(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| KeyError::Random(e.to_string()))
}
