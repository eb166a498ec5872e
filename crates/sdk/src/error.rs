//! The SDK's errors: the server's `{ "error": { "code", "message", "field" } }` answers mapped to
//! one enum by HTTP status, plus the failures that happen on this side (transport, decoding,
//! signing).

/// An error answer from the server, as it sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// The server's stable machine-readable code (e.g. `route_not_found`, `idempotency_conflict`);
    /// `http_<status>` when the body was not the API's error shape.
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
    /// The request field at fault (a JSON path, a path or query parameter, or a header).
    pub field: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)?;
        if let Some(field) = &self.field {
            write!(f, " (field {field})")?;
        }
        Ok(())
    }
}

/// Everything an SDK call can fail with. No server answer makes the SDK panic: anything it does
/// not understand is a [`Error::Decode`] or, for an unexpected status, [`Error::Server`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// 401: no API key, or one the server does not know.
    #[error("unauthorized: {0}")]
    Unauthorized(ApiError),
    /// 404: no such route (another tenant's included), quote, leg or endpoint.
    #[error("not found: {0}")]
    NotFound(ApiError),
    /// 409: an idempotency key reused with another body, a leg not awaiting a signature, a
    /// route already terminal or past its irreversible leg, or a route busy right now
    /// (`route_busy`, which [`Error::is_retryable`] says may be retried).
    #[error("conflict: {0}")]
    Conflict(ApiError),
    /// 410: the quote expired; ask for a new one.
    #[error("expired: {0}")]
    Expired(ApiError),
    /// 400, 415 or 422: a request field has a bad value (`field` names it when the server did).
    #[error("invalid {}: {message}", field.as_deref().unwrap_or("request"))]
    Invalid {
        /// The field at fault.
        field: Option<String>,
        /// The server's code (`invalid_field`, `signature_refused`, …).
        code: String,
        /// Why.
        message: String,
    },
    /// 413: the request body is larger than the server accepts.
    #[error("request too large: {0}")]
    TooLarge(ApiError),
    /// 5xx, or any status the API does not document.
    #[error("server error: {0}")]
    Server(ApiError),
    /// The request did not get an answer (connection refused or dropped, timeout).
    #[error("transport: {0}")]
    Transport(#[source] reqwest::Error),
    /// The server answered something this SDK cannot read.
    #[error("unexpected answer ({what}): {message}")]
    Decode {
        /// What was being read.
        what: &'static str,
        /// The parser's complaint.
        message: String,
    },
    /// A signature could not be made locally (no key for the signer, an unknown scheme, a hash
    /// that is not one).
    #[error("signing: {0}")]
    Signing(String),
    /// The arguments given to the SDK cannot make a request (e.g. a base URL that is not one).
    #[error("bad argument {what}: {message}")]
    Argument {
        /// Which argument.
        what: &'static str,
        /// Why.
        message: String,
    },
}

/// SDK results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The error of a non-2xx answer with status `status` and body `body`.
    pub(crate) fn from_answer(status: u16, body: &[u8]) -> Self {
        #[derive(serde::Deserialize)]
        struct Envelope {
            error: Shape,
        }
        #[derive(serde::Deserialize)]
        struct Shape {
            code: String,
            message: String,
            #[serde(default)]
            field: Option<String>,
        }
        let api = match serde_json::from_slice::<Envelope>(body) {
            Ok(Envelope { error }) => {
                ApiError { status, code: error.code, message: error.message, field: error.field }
            }
            Err(_) => {
                // Not the API's shape (a proxy's page, a truncated body): keep a short excerpt.
                let text = String::from_utf8_lossy(body);
                let excerpt: String = text.chars().take(200).collect();
                ApiError { status, code: format!("http_{status}"), message: excerpt, field: None }
            }
        };
        match status {
            401 => Self::Unauthorized(api),
            404 => Self::NotFound(api),
            409 => Self::Conflict(api),
            410 => Self::Expired(api),
            413 => Self::TooLarge(api),
            400 | 415 | 422 => {
                Self::Invalid { field: api.field, code: api.code, message: api.message }
            }
            _ => Self::Server(api),
        }
    }

    /// The server's error code, when the server answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Unauthorized(a)
            | Self::NotFound(a)
            | Self::Conflict(a)
            | Self::Expired(a)
            | Self::TooLarge(a)
            | Self::Server(a) => Some(&a.code),
            Self::Invalid { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The request field the server named, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::Unauthorized(a)
            | Self::NotFound(a)
            | Self::Conflict(a)
            | Self::Expired(a)
            | Self::TooLarge(a)
            | Self::Server(a) => a.field.as_deref(),
            Self::Invalid { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// Whether the same call may succeed later: the connection failed, the server is
    /// unavailable (502/503/504), a limit of the server was reached (429: the rate limit or the
    /// open event streams, retry after `Retry-After`; 408: a body too slow), or the route was
    /// busy (`route_busy`).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(e) => !e.is_builder() && !e.is_redirect(),
            // 408 (the body was too slow), 429 (the tenant's rate limit or its open event
            // streams: wait `Retry-After`), 502-504 (a gateway, a dependency, the timeout).
            Self::Server(a) => matches!(a.status, 408 | 429 | 502..=504),
            Self::Conflict(a) => a.code == "route_busy",
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_variants_and_keep_the_field() {
        let body = br#"{"error":{"code":"invalid_field","message":"bad","field":"sender.l1"}}"#;
        let e = Error::from_answer(422, body);
        assert!(
            matches!(&e, Error::Invalid { field: Some(f), code, .. } if f == "sender.l1" && code == "invalid_field")
        );
        assert_eq!(e.field(), Some("sender.l1"));
        let busy = br#"{"error":{"code":"route_busy","message":"retry"}}"#;
        assert!(Error::from_answer(409, busy).is_retryable());
        assert!(!Error::from_answer(409, br#"{"error":{"code":"x","message":"m"}}"#).is_retryable());
        assert!(matches!(Error::from_answer(410, b"{}"), Error::Expired(_)));
        assert!(matches!(Error::from_answer(413, b""), Error::TooLarge(_)));
        assert!(matches!(Error::from_answer(401, b"nope"), Error::Unauthorized(_)));
        let e = Error::from_answer(502, b"<html>bad gateway</html>");
        assert_eq!(e.code(), Some("http_502"));
        assert!(e.is_retryable());
        assert!(matches!(Error::from_answer(418, &[0xff, 0xfe]), Error::Server(_)));
        assert!(!Error::from_answer(418, b"").is_retryable());
        // The server's limits: retry later.
        let limited = br#"{"error":{"code":"rate_limited","message":"slow down"}}"#;
        assert!(Error::from_answer(429, limited).is_retryable());
        let streams = br#"{"error":{"code":"too_many_streams","message":"close one"}}"#;
        assert!(Error::from_answer(429, streams).is_retryable());
        assert!(Error::from_answer(503, streams).is_retryable());
        assert!(Error::from_answer(408, b"").is_retryable());
    }
}
