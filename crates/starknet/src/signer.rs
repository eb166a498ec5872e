//! The signer starknet-rs' account and factory types are built with: it knows the public key
//! and holds the private key only when the router signs for the account. Without the key it is
//! "interactive", so fee estimation skips validation instead of signing.

use async_trait::async_trait;
use starknet_core::types::Felt;
use starknet_signers::{Signer, SignerInteractivityContext, SigningKey, VerifyingKey};

/// Signing was asked of a key the router does not hold.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// No private key: the account's owner signs the transaction hash.
    #[error("the router does not hold this account's key")]
    NoKey,
    /// The key could not sign (a hash out of range).
    #[error("signing failed: {0}")]
    Ecdsa(String),
}

pub(crate) struct LegSigner {
    public: VerifyingKey,
    key: Option<SigningKey>,
}

impl LegSigner {
    pub(crate) fn with_key(key: SigningKey) -> Self {
        Self { public: key.verifying_key(), key: Some(key) }
    }

    pub(crate) fn public_only(public: VerifyingKey) -> Self {
        Self { public, key: None }
    }

    pub(crate) fn public_key(&self) -> Felt {
        self.public.scalar()
    }
}

#[async_trait]
impl Signer for LegSigner {
    type GetPublicKeyError = SignerError;
    type SignError = SignerError;

    async fn get_public_key(&self) -> Result<VerifyingKey, Self::GetPublicKeyError> {
        Ok(self.public.clone())
    }

    async fn sign_hash(
        &self,
        hash: &Felt,
    ) -> Result<starknet_core::crypto::Signature, Self::SignError> {
        let k = self.key.as_ref().ok_or(SignerError::NoKey)?;
        k.sign(hash).map_err(|e| SignerError::Ecdsa(e.to_string()))
    }

    fn is_interactive(&self, _context: SignerInteractivityContext<'_>) -> bool {
        self.key.is_none()
    }
}
