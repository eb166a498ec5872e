//! The crate's single error type.

use starkroute_types::ParseError;

/// Everything that can go wrong in `starkroute-crypto`.
///
/// Every failure is a refusal of the input: nothing here is transient, so retrying with the same
/// input never helps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A numeric field of a message (or another bounded input) is outside its allowed range.
    #[error("{field} = {value} is out of range: must be {bound}")]
    OutOfRange {
        /// The name of the field, as StarkEx/crypto-utils call it.
        field: &'static str,
        /// The refused value.
        value: String,
        /// The allowed range, in words.
        bound: &'static str,
    },
    /// A value could not be parsed (hex, decimal, felt, address).
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A Stark private key is zero or not below the curve order.
    #[error("invalid Stark private key: {0}")]
    InvalidPrivateKey(String),
    /// A Stark public key is zero or not the x-coordinate of a curve point.
    #[error("invalid Stark key {0}: not the x-coordinate of a point on the Stark curve")]
    InvalidStarkKey(String),
    /// A Stark signature is malformed or its parts are out of range.
    #[error("invalid Stark signature: {0}")]
    InvalidSignature(String),
    /// A message hash is not below 2^251, the bound of Stark ECDSA.
    #[error("message hash {0} is not below 2^251 and cannot be signed or verified")]
    MessageHashOutOfRange(String),
    /// Signing failed (no valid nonce was found; practically impossible).
    #[error("signing failed: {0}")]
    SigningFailed(String),
    /// An asset cannot be encoded for StarkEx (missing listing, token, id or blob, bad quantum).
    #[error("cannot encode {symbol} for StarkEx: {reason}")]
    Asset {
        /// The asset's label.
        symbol: String,
        /// Why.
        reason: String,
    },
    /// An Ethereum private key is zero or not below the secp256k1 order.
    #[error("invalid Ethereum private key: {0}")]
    InvalidEthPrivateKey(String),
    /// BIP32 derivation hit an invalid child key (probability below 2^-127 per step).
    #[error("key derivation failed: {0}")]
    KeyDerivation(String),
}

/// The crate's result alias.
pub type Result<T, E = CryptoError> = std::result::Result<T, E>;

impl CryptoError {
    pub(crate) fn out_of_range(
        field: &'static str,
        value: impl std::fmt::Display,
        bound: &'static str,
    ) -> Self {
        Self::OutOfRange { field, value: value.to_string(), bound }
    }
}
