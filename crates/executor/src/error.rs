//! The executor's one error type.

use starkroute_layer::AdapterError;
use starkroute_store_api::{RouteId, StoreError};
use starkroute_types::Layer;

use crate::machine::Refusal;

/// The result of an executor operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything an [`Executor`](crate::Executor) operation can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed or refused; [`StoreError::is_retryable`] says whether to try again
    /// (`Leased`: the route is being driven right now, retry in a moment).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The state machine refused the request (a signature for a leg not awaiting one, a cancel
    /// after an irreversible leg was sent…); nothing changed.
    #[error("refused: {0}")]
    Refused(#[from] Refusal),
    /// The signature does not match the leg's payload; the leg stays paused.
    #[error("signature refused: {0}")]
    SignatureRefused(#[source] AdapterError),
    /// No route with that id for this tenant.
    #[error("route {0} not found")]
    NotFound(RouteId),
    /// No adapter is configured for a layer a leg goes to.
    #[error("no settlement-layer adapter for {0}")]
    NoAdapter(Layer),
    /// A stored value the executor wrote cannot be read back (a prepared payload, a route order).
    #[error("corrupt executor data on route {route}: {what}")]
    Corrupt {
        /// The route.
        route: RouteId,
        /// What could not be read.
        what: String,
    },
}

impl Error {
    /// Whether trying the same call again later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Store(e) => e.is_retryable(),
            Self::SignatureRefused(e) => e.retryable,
            _ => false,
        }
    }
}
