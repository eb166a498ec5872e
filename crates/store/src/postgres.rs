//! The shared store: a PostgreSQL database that several router instances use at once.

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

/// A [`RouteStore`](crate::RouteStore) in a PostgreSQL database, through a connection pool.
///
/// Several instances share the work by leasing routes: the lease query locks the earliest-due
/// leasable route row with `FOR UPDATE SKIP LOCKED` (so concurrent leasers skip it instead of
/// waiting) and stamps the lease on it. Fenced writes lock the route row (`FOR UPDATE`) before
/// checking the lease and the compare-and-set, so they serialize with lease takeovers.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects with a pool of up to `max_connections` and migrates the database.
    ///
    /// `url` is a libpq-style URL, e.g. `postgres://user:pass@127.0.0.1:5432/starkroute`.
    pub async fn connect(url: &str, max_connections: u32) -> crate::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await
            .map_err(crate::error::backend)?;
        Self::from_pool(pool).await
    }

    /// Uses an existing pool; migrates the database (concurrent migrators wait on an advisory lock).
    pub async fn from_pool(pool: PgPool) -> crate::Result<Self> {
        crate::migrate::migrator(crate::migrate::POSTGRES)
            .await?
            .run(&pool)
            .await
            .map_err(crate::migrate::migrate_error)?;
        Ok(Self { pool })
    }

    /// Closes every connection; further calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

crate::sql::sql_backend! {
    store = PgStore,
    db = sqlx::Postgres,
    begin_write = "BEGIN",
    lock_route = " FOR UPDATE",
    lease_sql = "WITH next AS (SELECT id FROM routes \
            WHERE status IN ('pending', 'running') AND wake_at <= $3 \
              AND (lease_owner IS NULL OR lease_expires_at <= $3) \
            ORDER BY wake_at, id LIMIT 1 \
            FOR UPDATE SKIP LOCKED) \
        UPDATE routes SET lease_owner = $1, lease_expires_at = $2 \
        FROM next WHERE routes.id = next.id \
        RETURNING routes.id",
}
