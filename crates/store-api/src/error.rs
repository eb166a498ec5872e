//! The store's one error type.

use std::path::PathBuf;

use starkroute_types::ParseError;

use crate::{LeaseOwner, RouteId, Timestamp};

/// A boxed error from the database driver, kept for `source()` and downcasting.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result of a store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything a [`RouteStore`](crate::RouteStore) operation can refuse or fail with.
///
/// The refusals (`Conflict`, `LeaseLost`, `IdempotencyConflict`, `NotFound`, `Invalid`) leave the
/// store untouched; the caller must re-read before trying anything else. Only
/// [`StoreError::is_retryable`] errors may be retried as they are.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The route (or the leg of a route) does not exist, or belongs to another tenant.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `route 01J…` or `leg 2 of route 01J…`.
        what: String,
    },
    /// The idempotency key was already used by this tenant for a request with another fingerprint.
    #[error("idempotency key {key:?} was already used for a different request (route {route})")]
    IdempotencyConflict {
        /// The key.
        key: String,
        /// The route the key was first used for.
        route: RouteId,
    },
    /// Compare-and-set refused: the current status (or version) is not the expected one.
    #[error("conflict on route {route}: expected {expected}, found {found}")]
    Conflict {
        /// The route.
        route: RouteId,
        /// What the caller expected, e.g. `leg 0 prepared` or `version 3`.
        expected: String,
        /// What the store holds.
        found: String,
    },
    /// A lease-fenced write from an owner that no longer holds the route's lease (it expired or
    /// another instance took the route over). The caller must stop driving the route.
    #[error("route {route}: lease lost by {owner}")]
    LeaseLost {
        /// The route.
        route: RouteId,
        /// The caller that thought it held the lease.
        owner: LeaseOwner,
    },
    /// A version-fenced write while an executor holds the route's lease; retry once it is released.
    #[error("route {route} is leased by {owner} until {until}")]
    Leased {
        /// The route.
        route: RouteId,
        /// The current lease owner.
        owner: LeaseOwner,
        /// When the lease expires if not renewed.
        until: Timestamp,
    },
    /// The input cannot be stored (an empty id, a malformed route, a zero page size…).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A stored value could not be decoded (the database was edited by hand or by a newer version).
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Running the schema migrations failed.
    #[error("schema migration failed: {0}")]
    Migrate(#[source] BoxError),
    /// The database failed; `retryable` says whether trying again may help (connection lost,
    /// pool timeout, SQLite busy/locked, PostgreSQL serialization failure or deadlock).
    #[error("database error: {source}")]
    Backend {
        /// Whether retrying the same operation may succeed.
        retryable: bool,
        /// The driver's error (a `sqlx::Error` from the `starkroute-store` backends; downcast to
        /// inspect).
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// Whether retrying the same operation unchanged may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Backend { retryable, .. } => *retryable,
            Self::Leased { .. } => true,
            _ => false,
        }
    }

    /// A [`StoreError::NotFound`] for `what` (for backends).
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// A [`StoreError::Corrupt`] saying what could not be decoded (for backends).
    pub fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }

    /// A [`StoreError::Backend`] failure from any driver error (for backends).
    pub fn backend(retryable: bool, source: impl Into<BoxError>) -> Self {
        Self::Backend { retryable, source: source.into() }
    }
}

/// An id that does not parse (a malformed route id, an empty tenant name) is invalid input.
impl From<ParseError> for StoreError {
    fn from(e: ParseError) -> Self {
        Self::Invalid(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_errors_are_retryable() {
        assert!(StoreError::backend(true, "connection reset").is_retryable());
        assert!(!StoreError::backend(false, "syntax error").is_retryable());
        assert!(!StoreError::Invalid("x".into()).is_retryable());
        assert!(!StoreError::corrupt("x").is_retryable());
        let parse = "nope".parse::<RouteId>().unwrap_err();
        assert!(matches!(StoreError::from(parse), StoreError::Invalid(m) if m.contains("ULID")));
    }
}
