//! The crate's error type and the retry classification of node errors.

use alloy::transports::{RpcError, TransportErrorKind};
use starkroute_layer::AdapterError;

/// What went wrong talking to an Ethereum node.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EthError {
    /// The node could not be reached or answered with a transient error (connection refused,
    /// timeout, rate limit, a 5xx): a retry can help.
    #[error("Ethereum node unavailable: {0}")]
    Unavailable(String),
    /// The node refused the request for good (malformed, insufficient funds, …).
    #[error("Ethereum node refused the request: {0}")]
    Refused(String),
    /// A call or transaction reverted, with the contract's reason string when it gave one.
    #[error("reverted: {reason}")]
    Reverted {
        /// The decoded revert reason (`Error(string)` / `Panic(uint256)`), or the raw data.
        reason: String,
    },
    /// A prepared transaction's nonce was consumed by a different transaction.
    #[error("nonce {nonce} of {from} was used by another transaction; prepare the leg again")]
    NonceTaken {
        /// The sender.
        from: String,
        /// The nonce.
        nonce: u64,
    },
    /// The adapter cannot build this leg (wrong accounts, asset not on L1, no key, …).
    #[error("{0}")]
    Invalid(String),
}

/// Convenience alias.
pub type Result<T, E = EthError> = std::result::Result<T, E>;

impl EthError {
    /// Whether retrying later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }

    /// Classifies a node error: transport failures and transient JSON-RPC errors (rate limits,
    /// "header not found" on a lagging node) are retryable; an
    /// `execution reverted` carries its decoded reason; anything else is a refusal.
    #[allow(clippy::needless_pass_by_value)] // Used as `map_err(EthError::from_rpc)`.
    pub fn from_rpc(e: RpcError<TransportErrorKind>) -> Self {
        if let Some(resp) = e.as_error_resp() {
            if let Some(data) = resp.as_revert_data() {
                let reason = revert_reason(&data);
                tracing::debug!(layer = "l1", reason = %reason, "Ethereum call reverted");
                return Self::Reverted { reason };
            }
            if resp.message.contains("execution reverted") || resp.code == 3 {
                let reason = resp
                    .message
                    .trim_start_matches("execution reverted")
                    .trim_start_matches(':')
                    .trim()
                    .to_owned();
                return Self::Reverted { reason };
            }
        }
        let retryable = match &e {
            // Connection refused, timeouts, 429/503 from the HTTP layer: the node or the path
            // to it, not the request.
            RpcError::Transport(_) | RpcError::NullResp => true,
            RpcError::ErrorResp(resp) => {
                let m = resp.message.to_lowercase();
                resp.code == 429
                    || resp.code == -32005
                    || m.contains("rate limit")
                    || m.contains("header not found")
                    || m.contains("timeout")
                    || m.contains("try again")
            }
            _ => false,
        };
        log_rpc_failure(&e, retryable);
        if retryable {
            // A transport error's text names the node's URL (a provider key, maybe): its kind only.
            Self::Unavailable(match &e {
                RpcError::Transport(kind) => transport_kind(kind),
                other => other.to_string(),
            })
        } else {
            Self::Refused(e.to_string())
        }
    }
}

/// One event per failed node call: transient failures at `warn` (a node down shows in the log
/// at the default level), refusals at `debug` (the executor records them on the route). A
/// transport error's text names the node's URL, which may carry a provider key: only its kind is
/// logged.
fn log_rpc_failure(e: &RpcError<TransportErrorKind>, retryable: bool) {
    match e {
        RpcError::ErrorResp(resp) if retryable => tracing::warn!(
            layer = "l1",
            code = resp.code,
            message = %resp.message,
            "Ethereum node answered a transient error"
        ),
        RpcError::ErrorResp(resp) => tracing::debug!(
            layer = "l1",
            code = resp.code,
            message = %resp.message,
            "Ethereum node refused the request"
        ),
        RpcError::Transport(kind) => tracing::warn!(
            layer = "l1",
            kind = %transport_kind(kind),
            "Ethereum node unreachable"
        ),
        RpcError::NullResp => tracing::warn!(layer = "l1", "Ethereum node answered null"),
        _ => tracing::debug!(layer = "l1", retryable, "Ethereum node call failed"),
    }
}

/// What kind of transport failure, without the URL.
fn transport_kind(kind: &TransportErrorKind) -> String {
    use alloy::transports::http::reqwest;
    match kind {
        TransportErrorKind::HttpError(h) => format!("HTTP {}", h.status),
        TransportErrorKind::Custom(e) => match e.downcast_ref::<reqwest::Error>() {
            Some(r) if r.is_timeout() => "timeout".into(),
            Some(r) if r.is_connect() => "cannot connect".into(),
            Some(_) => "HTTP request failed".into(),
            None => "transport error".into(),
        },
        other => other.to_string(),
    }
}

/// The reason of a revert's return data: `Error(string)`, `Panic(uint256)`, or the raw hex.
pub fn revert_reason(data: &[u8]) -> String {
    use alloy::sol_types::{ContractError, GenericRevertReason};
    if data.is_empty() {
        return "reverted without a reason".to_owned();
    }
    match GenericRevertReason::decode(data) {
        Some(GenericRevertReason::ContractError(ContractError::Revert(r))) => r.reason,
        Some(GenericRevertReason::ContractError(other)) => other.to_string(),
        // Some nodes return the reason as bare text.
        Some(GenericRevertReason::RawString(s))
            if s.chars().all(|c| c.is_ascii_graphic() || c == ' ') =>
        {
            s
        }
        _ => format!("reverted with 0x{}", hex::encode(data)),
    }
}

impl From<EthError> for AdapterError {
    fn from(e: EthError) -> Self {
        if e.is_retryable() {
            AdapterError::retryable(e.to_string())
        } else {
            AdapterError::permanent(e.to_string())
        }
    }
}
