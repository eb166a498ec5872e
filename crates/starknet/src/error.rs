//! The crate's error, and how node errors become the executor's retryable/permanent
//! [`AdapterError`].

use starknet_core::types::StarknetError;
use starknet_providers::ProviderError;
use starkroute_layer::AdapterError;

/// What went wrong in the Starknet adapter.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The node (or the transport to it) failed.
    #[error("Starknet node: {0}")]
    Provider(#[from] ProviderError),
    /// A raw JSON-RPC call (one starknet-rs does not speak in the node's version) failed.
    #[error("{method}: {message}")]
    Rpc {
        /// The JSON-RPC method.
        method: String,
        /// The node's or the transport's message.
        message: String,
        /// Whether it was a transport failure (retryable) rather than a refusal.
        transport: bool,
    },
    /// A leg or payload that cannot be built (wrong accounts, missing contracts, bad input).
    #[error("{0}")]
    Build(String),
    /// A declaration, deployment or set-up call of [`crate::deploy`] was refused or reverted.
    #[error("deployment: {0}")]
    Deploy(String),
}

/// Convenience alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether a Starknet error can go away by itself (the node is behind, an account not yet
/// deployed, a nonce not yet reached) rather than being the chain's refusal.
pub fn starknet_error_is_retryable(e: &StarknetError) -> bool {
    use StarknetError as E;
    match e {
        E::FailedToReceiveTransaction
        | E::ContractNotFound
        | E::BlockNotFound
        | E::NoBlocks
        | E::UnexpectedError(_)
        | E::ReplacementTransactionUnderpriced
        | E::TransactionHashNotFound => true,
        E::InvalidTransactionNonce(_)
        | E::ValidationFailure(_)
        | E::InsufficientAccountBalance
        | E::InsufficientResourcesForValidate
        | E::DuplicateTx
        | E::FeeBelowMinimum
        | E::ContractError(_)
        | E::TransactionExecutionError(_)
        | E::NonAccount
        | E::UnsupportedTxVersion => false,
        _ => false,
    }
}

/// Whether a provider error is worth retrying: transport failures, rate limits and the
/// retryable Starknet errors.
pub fn provider_error_is_retryable(e: &ProviderError) -> bool {
    match e {
        ProviderError::StarknetError(s) => starknet_error_is_retryable(s),
        ProviderError::RateLimited => true,
        ProviderError::ArrayLengthMismatch => false,
        // Transport (connection refused, timeout, bad gateway) or a response this client
        // could not parse: the node may be restarting or behind.
        ProviderError::Other(_) => true,
    }
}

impl Error {
    /// Whether retrying can help.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Provider(e) => provider_error_is_retryable(e),
            Self::Rpc { transport, .. } => *transport,
            Self::Build(_) | Self::Deploy(_) => false,
        }
    }
}

impl From<Error> for AdapterError {
    fn from(e: Error) -> Self {
        let retryable = e.is_retryable();
        log_failure(&e, retryable);
        let message = match &e {
            Error::Provider(ProviderError::StarknetError(s)) => describe(s),
            // Its text names the node's URL (a provider key, maybe): the kind only.
            Error::Provider(ProviderError::Other(o)) => {
                format!("Starknet node: {}", other_kind(o.as_ref()))
            }
            other => other.to_string(),
        };
        Self { retryable, message, not_before: None }
    }
}

/// What kind of transport failure a provider's `Other` error is, without its text (which names
/// the URL): a timeout, a connection failure, or another one.
fn other_kind(e: &dyn starknet_providers::ProviderImplError) -> &'static str {
    use starknet_providers::jsonrpc::{HttpTransportError, JsonRpcClientError};
    let any = e.as_any();
    let transport = any
        .downcast_ref::<JsonRpcClientError<HttpTransportError>>()
        .and_then(|c| match c {
            JsonRpcClientError::TransportError(t) => Some(t),
            _ => None,
        })
        .or_else(|| any.downcast_ref::<HttpTransportError>());
    match transport {
        Some(HttpTransportError::Reqwest(r)) if r.is_timeout() => "timeout",
        Some(HttpTransportError::Reqwest(r)) if r.is_connect() => "cannot connect",
        Some(HttpTransportError::Reqwest(_)) => "HTTP request failed",
        _ => "unreachable, or its answer did not parse",
    }
}

/// The Starknet error with the node's own data (revert reasons, validation messages).
pub fn describe(e: &StarknetError) -> String {
    use StarknetError as E;
    match e {
        E::ValidationFailure(m) => format!("account validation failed: {m}"),
        E::InvalidTransactionNonce(m) => format!("invalid transaction nonce: {m}"),
        E::UnexpectedError(m) => format!("unexpected node error: {m}"),
        E::TransactionExecutionError(d) => {
            format!("transaction {} failed: {:?}", d.transaction_index, d.execution_error)
        }
        E::ContractError(d) => format!("contract error: {:?}", d.revert_error),
        other => other.to_string(),
    }
}

/// One event per node failure handed to the executor: transient ones at `warn` (a node down
/// shows in the log at the default level), refusals at `debug` (the executor records them on the
/// route). A transport error's text names the node's URL, which may carry a provider key: only
/// the method is logged for it.
fn log_failure(e: &Error, retryable: bool) {
    match e {
        Error::Provider(ProviderError::StarknetError(s)) if retryable => {
            tracing::warn!(layer = "starknet", error = %describe(s), "Starknet node: transient error");
        }
        Error::Provider(ProviderError::StarknetError(s)) => {
            tracing::debug!(layer = "starknet", error = %describe(s), "Starknet node refused");
        }
        Error::Provider(ProviderError::RateLimited) => {
            tracing::warn!(layer = "starknet", "Starknet node: rate limited");
        }
        Error::Provider(_) => tracing::warn!(
            layer = "starknet",
            "Starknet node unreachable or its answer did not parse"
        ),
        Error::Rpc { method, transport: true, .. } => {
            tracing::warn!(layer = "starknet", method = %method, "Starknet node unreachable");
        }
        Error::Rpc { method, message, transport: false } => tracing::debug!(
            layer = "starknet",
            method = %method,
            error = %message,
            "Starknet node refused the call"
        ),
        Error::Build(_) | Error::Deploy(_) => {}
    }
}
