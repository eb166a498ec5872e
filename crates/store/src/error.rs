//! The store's one error type.

use std::path::PathBuf;

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
        /// The driver's error (a `sqlx::Error` from this crate's stores; downcast to inspect).
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

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        Self::Corrupt(what.to_string())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Backend { retryable: sqlx_retryable(&e), source: Box::new(e) }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::Execute(e) => e.into(),
            e => Self::Migrate(Box::new(e)),
        }
    }
}

/// Whether a driver error is transient.
fn sqlx_retryable(e: &sqlx::Error) -> bool {
    use sqlx::Error as E;
    match e {
        E::Io(_) | E::PoolTimedOut | E::WorkerCrashed => true,
        E::Database(db) => {
            let postgres = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>().is_some();
            db.code().is_some_and(|code| {
                if postgres {
                    retryable_sqlstate(&code)
                } else {
                    retryable_sqlite_code(&code)
                }
            })
        }
        _ => false,
    }
}

/// SQLite reports numeric extended result codes: SQLITE_BUSY (5) and SQLITE_LOCKED (6), with
/// any extension, are transient.
fn retryable_sqlite_code(code: &str) -> bool {
    code.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 5 | 6))
}

/// PostgreSQL reports five-character SQLSTATEs.
fn retryable_sqlstate(code: &str) -> bool {
    matches!(
        code,
        "40001" // serialization_failure
            | "40P01" // deadlock_detected
            | "55P03" // lock_not_available
            | "57014" // query_canceled (statement timeout)
            | "57P01" // admin_shutdown
            | "57P02" // crash_shutdown
            | "57P03" // cannot_connect_now
            | "53300" // too_many_connections
    ) || code.starts_with("08") // connection exceptions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_codes() {
        assert!(retryable_sqlite_code("5"));
        assert!(retryable_sqlite_code("517")); // SQLITE_BUSY_SNAPSHOT
        assert!(retryable_sqlite_code("262")); // SQLITE_LOCKED_SHAREDCACHE
        assert!(!retryable_sqlite_code("2067")); // SQLITE_CONSTRAINT_UNIQUE
        assert!(retryable_sqlstate("40001"));
        assert!(retryable_sqlstate("08006"));
        assert!(!retryable_sqlstate("23505"));
        assert!(StoreError::from(sqlx::Error::PoolTimedOut).is_retryable());
        assert!(!StoreError::from(sqlx::Error::RowNotFound).is_retryable());
        assert!(!StoreError::Invalid("x".into()).is_retryable());
    }
}
