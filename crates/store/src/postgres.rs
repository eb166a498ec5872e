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

crate::webhook_sql::webhook_backend! {
    store = crate::PgStore,
    db = sqlx::Postgres,
    begin_write = "BEGIN",
    lease_deliveries_sql = "WITH next AS (SELECT d.id FROM webhook_deliveries d \
            WHERE d.state = 'pending' AND d.next_attempt_at <= $3 \
              AND (d.lease_owner IS NULL OR d.lease_expires_at <= $3) \
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p \
                  WHERE p.webhook_id = d.webhook_id AND p.route_id = d.route_id \
                    AND p.state = 'pending' AND p.seq < d.seq) \
            ORDER BY d.next_attempt_at, d.id LIMIT $4 \
            FOR UPDATE SKIP LOCKED) \
        UPDATE webhook_deliveries SET lease_owner = $1, lease_expires_at = $2 \
        FROM next WHERE webhook_deliveries.id = next.id \
        RETURNING webhook_deliveries.id",
    event_cursor = "e.gid",
    // Numbers the committed events that have none yet, one numberer at a time (see migration 3):
    // a later commit gets a greater number than any event already numbered.
    number_events = &[
        "SELECT pg_advisory_xact_lock(7311400501)",
        "UPDATE events SET gid = n.g FROM ( \
             SELECT route_id, seq, \
                 (SELECT COALESCE(MAX(gid), 0) FROM events) \
                 + row_number() OVER (ORDER BY route_id, seq) AS g \
             FROM events WHERE gid IS NULL) n \
         WHERE events.route_id = n.route_id AND events.seq = n.seq",
    ],
}
