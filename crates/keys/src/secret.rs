//! Secrets in memory: redacted in `Debug`, wiped on drop.

use std::fmt;

use zeroize::Zeroizing;

/// A keystore password. `Debug` prints `<redacted>`; no `Display`; wiped on drop.
#[derive(Clone)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(Zeroizing::new(password.into()))
    }

    /// The password's text, for the key derivation. Named loudly so every use is greppable.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A private key's 32 big-endian bytes, as a keystore holds them. `Debug` prints `<redacted>`;
/// wiped on drop.
#[derive(Clone)]
pub struct SecretKeyBytes(Zeroizing<[u8; 32]>);

impl SecretKeyBytes {
    /// Wraps the bytes (the caller's copy is the caller's to wipe).
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The bytes. Named loudly so every use is greppable.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SecretKeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKeyBytes(<redacted>)")
    }
}
