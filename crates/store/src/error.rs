//! How the driver's errors become [`StoreError`]s: which are transient.
//!
//! [`StoreError`] lives in the driver-free port crate, so the conversion from `sqlx` errors is a
//! local wrapper, [`Db`], that the backends' code returns and `?` converts from both.

use crate::StoreError;

/// A store error on its way out of the backend code: `?` turns a `sqlx::Error`, a migration
/// error or a [`StoreError`] into one, and it turns into the [`StoreError`] callers see.
#[derive(Debug)]
pub(crate) struct Db(pub(crate) StoreError);

/// The backends' internal result.
pub(crate) type DbResult<T> = std::result::Result<T, Db>;

impl From<StoreError> for Db {
    fn from(e: StoreError) -> Self {
        Self(e)
    }
}

impl From<Db> for StoreError {
    fn from(e: Db) -> Self {
        e.0
    }
}

impl From<sqlx::Error> for Db {
    fn from(e: sqlx::Error) -> Self {
        Self(backend(e))
    }
}

impl From<sqlx::migrate::MigrateError> for Db {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::Execute(e) => e.into(),
            e => Self(StoreError::Migrate(Box::new(e))),
        }
    }
}

/// A driver error as a [`StoreError::Backend`], retryable if it is transient.
pub(crate) fn backend(e: sqlx::Error) -> StoreError {
    StoreError::backend(sqlx_retryable(&e), e)
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
        assert!(backend(sqlx::Error::PoolTimedOut).is_retryable());
        assert!(!backend(sqlx::Error::RowNotFound).is_retryable());
        let e: StoreError = Db::from(sqlx::Error::PoolTimedOut).into();
        assert!(matches!(e, StoreError::Backend { retryable: true, .. }));
        assert!(!StoreError::Invalid("x".into()).is_retryable());
    }
}
