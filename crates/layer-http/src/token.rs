//! The shared token between the layer service and the workers that call it.

use std::path::Path;

use sha2::{Digest, Sha256};

/// The environment variable a token is read from ([`LayerToken::from_env`]).
pub const TOKEN_ENV: &str = "STARKROUTE_LAYERS_TOKEN";

/// Shortest token accepted: 32 characters (e.g. `openssl rand -hex 16`).
pub const MIN_TOKEN_LEN: usize = 32;

/// Longest token accepted.
const MAX_TOKEN_LEN: usize = 1024;

/// A bearer token shared by the layer service ([`router`](crate::router)) and its callers
/// ([`RemoteLayer::with_token`](crate::RemoteLayer::with_token)). It is read from a file or an
/// environment variable, never a command-line flag; `Debug` never shows it, and a presented token
/// is compared with it in constant time (both are hashed with SHA-256 first, so not even the
/// length leaks).
#[derive(Clone)]
pub struct LayerToken {
    token: String,
    hash: [u8; 32],
}

impl std::fmt::Debug for LayerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LayerToken(<redacted>)")
    }
}

/// Why a token was refused (the message never contains the token).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    /// Too short or too long.
    #[error("a layer token is {MIN_TOKEN_LEN} to {MAX_TOKEN_LEN} characters, this one has {0}")]
    Length(usize),
    /// Not printable ASCII.
    #[error("a layer token is printable ASCII without spaces")]
    Charset,
    /// The file could not be read.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

impl LayerToken {
    /// A token from its text: 32 to 1024 printable ASCII characters without spaces.
    pub fn new(token: impl Into<String>) -> Result<Self, TokenError> {
        let token = token.into();
        if !(MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&token.len()) {
            return Err(TokenError::Length(token.len()));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(TokenError::Charset);
        }
        let hash = Sha256::digest(token.as_bytes()).into();
        Ok(Self { token, hash })
    }

    /// The token in a file (its content, without the trailing newline).
    pub fn from_file(path: &Path) -> Result<Self, TokenError> {
        let text = std::fs::read_to_string(path).map_err(|e| TokenError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::new(text.trim_end_matches(['\n', '\r'])).map_err(|e| TokenError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// The token in [`TOKEN_ENV`], if it is set.
    pub fn from_env() -> Result<Option<Self>, TokenError> {
        match std::env::var(TOKEN_ENV) {
            Ok(v) => Self::new(v).map(Some),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(TokenError::Charset),
        }
    }

    /// The `Authorization` header value that presents it, marked sensitive (kept out of HTTP
    /// client logs and HPACK tables).
    pub(crate) fn sensitive_header(&self) -> reqwest::header::HeaderValue {
        let mut v = reqwest::header::HeaderValue::from_str(&format!("Bearer {}", self.token))
            .unwrap_or_else(|_| reqwest::header::HeaderValue::from_static("Bearer -"));
        v.set_sensitive(true);
        v
    }

    /// Whether `presented` is this token, in time independent of where they differ.
    pub fn matches(&self, presented: &str) -> bool {
        let other: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let diff = self.hash.iter().zip(&other).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        // black_box keeps the optimiser from turning the fold back into an early-exit compare.
        std::hint::black_box(diff) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_validate_match_and_never_show() {
        let t = LayerToken::new("a".repeat(32)).unwrap();
        assert!(t.matches(&"a".repeat(32)));
        assert!(!t.matches(&"a".repeat(31)));
        assert!(!t.matches(&format!("{}b", "a".repeat(31))));
        assert!(!t.matches(""));
        assert_eq!(LayerToken::new("short").unwrap_err(), TokenError::Length(5));
        assert_eq!(
            LayerToken::new(format!("{} ", "a".repeat(32))).unwrap_err(),
            TokenError::Charset
        );
        let secret = "s3cret-layer-token-0123456789abcdef";
        let t = LayerToken::new(secret).unwrap();
        assert!(!format!("{t:?} {t:#?}").contains(secret));
        let dir = std::env::temp_dir().join(format!("lt-{}", std::process::id()));
        std::fs::write(&dir, format!("{secret}\n")).unwrap();
        assert!(LayerToken::from_file(&dir).unwrap().matches(secret));
        std::fs::remove_file(&dir).unwrap();
        let e = LayerToken::from_file(&dir).unwrap_err();
        assert!(!e.to_string().contains(secret));
    }
}
