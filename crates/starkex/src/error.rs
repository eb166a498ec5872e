//! The crate's one error type, and how it maps to the port's [`AdapterError`].

use starkroute_layer::AdapterError;

/// What went wrong talking to a StarkEx operator, or with what it answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The API answered with an error object `{code, message}` (or a bare status).
    #[error("StarkEx API {status} {code}: {message}")]
    Api {
        /// The HTTP status.
        status: u16,
        /// The API's error code (`nonce_already_used`, `insufficient_balance`, …), or
        /// `http_<status>` when the body was not an error object.
        code: String,
        /// The API's message.
        message: String,
    },
    /// The request did not get an answer: connection refused or reset, timeout, DNS.
    #[error("StarkEx API unreachable: {0}")]
    Transport(String),
    /// The answer was not what the API documents (a missing field, a malformed value).
    #[error("unexpected StarkEx API answer: {0}")]
    Decode(String),
    /// The operator answered with something the adapter will not sign or send: a payload hash
    /// that is not the hash of the fields it returned, or fields that are not the leg's.
    #[error("refused: {0}")]
    Refused(String),
    /// The adapter cannot do this leg (wrong layer, a missing key or address it needs).
    #[error("{0}")]
    Unsupported(String),
}

impl Error {
    /// Whether the same call can succeed later: transport failures, 5xx, 408 and 429.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Api { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            Self::Transport(_) => true,
            Self::Decode(_) | Self::Refused(_) | Self::Unsupported(_) => false,
        }
    }

    /// The API's error code, for an API error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the API said the looked-up resource does not exist (404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Api { status: 404, .. })
    }
}

impl From<reqwest::Error> for Error {
    fn from(e: reqwest::Error) -> Self {
        if e.is_decode() {
            Self::Decode(e.without_url().to_string())
        } else {
            // Connect, timeout, request and body errors: the request may not have arrived. The
            // URL may carry an API key: never in the message.
            Self::Transport(if e.is_timeout() {
                "timed out".to_owned()
            } else if e.is_connect() {
                "cannot connect".to_owned()
            } else {
                e.without_url().to_string()
            })
        }
    }
}

impl From<Error> for AdapterError {
    fn from(e: Error) -> Self {
        let retryable = e.is_retryable();
        log_failure(&e, retryable);
        Self { retryable, message: e.to_string(), not_before: None }
    }
}

/// One event per API failure handed to the executor: transient ones at `warn` (an operator down
/// shows in the log at the default level), refusals at `debug` (the executor records them on the
/// route). Transport and decoding errors name the URL: only their kind is logged.
fn log_failure(e: &Error, retryable: bool) {
    match e {
        Error::Api { status, code, message } if retryable => tracing::warn!(
            layer = "starkex",
            status,
            code = %code,
            message = %message,
            "StarkEx API: transient error"
        ),
        Error::Api { status, code, message } => tracing::debug!(
            layer = "starkex",
            status,
            code = %code,
            message = %message,
            "StarkEx API refused the request"
        ),
        Error::Transport(_) => tracing::warn!(layer = "starkex", "StarkEx API unreachable"),
        Error::Decode(_) => tracing::warn!(layer = "starkex", "StarkEx API: unexpected answer"),
        Error::Refused(m) | Error::Unsupported(m) => {
            tracing::debug!(layer = "starkex", error = %m, "StarkEx leg refused");
        }
    }
}

/// Convenience alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_classification() {
        let api = |status| Error::Api { status, code: "x".into(), message: "m".into() };
        assert!(!api(400).is_retryable());
        assert!(!api(401).is_retryable());
        assert!(!api(404).is_retryable());
        assert!(api(429).is_retryable());
        assert!(api(503).is_retryable());
        assert!(Error::Transport("reset".into()).is_retryable());
        assert!(!Error::Refused("hash".into()).is_retryable());
        let a: AdapterError = api(400).into();
        assert!(!a.retryable);
        assert!(a.message.contains("400 x"));
    }
}
