//! The crate's error type.

use std::path::PathBuf;

use crate::{KeyKind, INSECURE_PERMISSIONS_ENV};

/// Everything that can go wrong with a key file, a password or a signers section.
///
/// No variant ever carries a private key or a password: a refused key is described by its
/// reason, never echoed.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A file could not be read, created or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A key or password file may be read (or changed) by the file's group or by others.
    #[error(
        "{}: mode {mode:04o} lets group or others access this key material; run `chmod 600 {}` \
         (or set {INSECURE_PERMISSIONS_ENV}=1 to only warn)",
        path.display(), path.display()
    )]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is not JSON, or not a JSON object of the expected shape.
    #[error("corrupt JSON: {reason}")]
    Json {
        /// serde's description, with the field path and the line.
        reason: String,
    },
    /// A keystore or account field has a value this version cannot use.
    #[error("{field}: {reason}")]
    Field {
        /// The field's path in the JSON (`crypto.cipher`).
        field: String,
        /// Why it is refused.
        reason: String,
    },
    /// The key-derivation parameters are malformed or outside the accepted bounds.
    #[error("crypto.kdfparams.{field}: {reason}")]
    KdfParams {
        /// The parameter (`n`, `r`, `p`, `dklen`, `salt`, `c`, `prf`).
        field: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// The MAC does not match: the password is wrong, or the ciphertext or the MAC was altered.
    #[error("wrong password, or the file was altered (MAC mismatch)")]
    MacMismatch,
    /// The decrypted (or imported) bytes are not a valid private key of this kind.
    #[error("not a valid {kind} private key: {reason}")]
    InvalidKey {
        /// The kind of key expected.
        kind: KeyKind,
        /// Why (never the key itself).
        reason: String,
    },
    /// A public field of the file names another key than the one it decrypts to.
    #[error(
        "{field} is {in_file} but the key decrypts to {derived}: the file was altered or mixed up"
    )]
    PublicMismatch {
        /// The field (`address`, `starkroute.public_key`, `variant.public_key`).
        field: &'static str,
        /// What the file says.
        in_file: String,
        /// What the key gives.
        derived: String,
    },
    /// A keystore does not say which curve its key is for.
    #[error(
        "the keystore does not say which kind of key it holds (no `address` field, no \
         `starkroute.kind`): give the kind (eth, stark or starknet)"
    )]
    UnknownKind,
    /// The kind asked for does not match the kind the file records.
    #[error("the file holds a {in_file} key, not a {asked} key")]
    KindMismatch {
        /// What the file records.
        in_file: KeyKind,
        /// What was asked for.
        asked: KeyKind,
    },
    /// No password could be had, or it was refused.
    #[error("password: {0}")]
    Password(String),
    /// Refused to overwrite an existing file.
    #[error("{}: already exists; refusing to overwrite a key file", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// The operating system gave no randomness.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
    /// A field of the signers section of the configuration.
    #[error("{field}: {reason}")]
    Config {
        /// The key (`signers.starknet[0].password_env`).
        field: String,
        /// Why.
        reason: String,
    },
    /// An error about one entry of the signers section (`signers.l1[0]`), then the error.
    #[error("{entry}: {source}")]
    InEntry {
        /// The entry.
        entry: String,
        /// What is wrong with it.
        #[source]
        source: Box<KeyError>,
    },
    /// An error about one file: its path, then the error.
    #[error("{}: {source}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: Box<KeyError>,
    },
}

impl KeyError {
    /// Wraps the error with the file it is about (unless it already names it).
    pub fn in_file(self, path: impl Into<PathBuf>) -> Self {
        match self {
            e @ (Self::Io { .. }
            | Self::InsecurePermissions { .. }
            | Self::Exists { .. }
            | Self::InFile { .. }) => e,
            e => Self::InFile { path: path.into(), source: Box::new(e) },
        }
    }

    /// The innermost error (under the [`KeyError::InFile`] and [`KeyError::InEntry`] wrappers).
    pub fn root(&self) -> &KeyError {
        match self {
            Self::InFile { source, .. } | Self::InEntry { source, .. } => source.root(),
            e => e,
        }
    }
}

/// The crate's result.
pub type Result<T, E = KeyError> = std::result::Result<T, E>;
