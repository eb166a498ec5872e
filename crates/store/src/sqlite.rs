//! The embedded store: one SQLite file under the data directory.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

/// A [`RouteStore`](crate::RouteStore) in a SQLite file.
///
/// WAL journal with `synchronous=FULL`: a commit is on disk (fsynced) when the call returns.
/// Writers take the database lock up front (`BEGIN IMMEDIATE`) and wait for it (busy timeout)
/// rather than failing on a lock upgrade; readers run beside them on WAL snapshots. Leasing is an
/// `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING id` in that transaction, so two leasers
/// (even in two processes) never take the same route.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: PathBuf,
}

impl SqliteStore {
    /// The database file's name inside the data directory.
    pub const FILE_NAME: &'static str = "starkroute.db";

    /// How long a writer waits for another writer's lock before failing (retryably).
    pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

    /// Opens (creating it and the directory if needed) `<data_dir>/starkroute.db` and migrates it.
    pub async fn open_dir(data_dir: &Path) -> crate::Result<Self> {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| crate::StoreError::Io { path: data_dir.to_owned(), source })?;
        Self::open(&data_dir.join(Self::FILE_NAME)).await
    }

    /// Opens (creating it if needed) the database file at `path` and migrates it.
    pub async fn open(path: &Path) -> crate::Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Self::BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(crate::error::backend)?;
        crate::migrate::migrator(crate::migrate::SQLITE)
            .await?
            .run(&pool)
            .await
            .map_err(crate::migrate::migrate_error)?;
        Ok(Self { pool, path: path.to_owned() })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes every connection (checkpointing the WAL); further calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

crate::sql::sql_backend! {
    store = SqliteStore,
    db = sqlx::Sqlite,
    begin_write = "BEGIN IMMEDIATE",
    lock_route = "",
    lease_sql = "UPDATE routes SET lease_owner = $1, lease_expires_at = $2 \
        WHERE id = (SELECT id FROM routes \
            WHERE status IN ('pending', 'running') AND wake_at <= $3 \
              AND (lease_owner IS NULL OR lease_expires_at <= $3) \
            ORDER BY wake_at, id LIMIT 1) \
        RETURNING id",
}

crate::webhook_sql::webhook_backend! {
    store = crate::SqliteStore,
    db = sqlx::Sqlite,
    begin_write = "BEGIN IMMEDIATE",
    lease_deliveries_sql = "UPDATE webhook_deliveries SET lease_owner = $1, lease_expires_at = $2 \
        WHERE id IN (SELECT d.id FROM webhook_deliveries d \
            WHERE d.state = 'pending' AND d.next_attempt_at <= $3 \
              AND (d.lease_owner IS NULL OR d.lease_expires_at <= $3) \
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p \
                  WHERE p.webhook_id = d.webhook_id AND p.route_id = d.route_id \
                    AND p.state = 'pending' AND p.seq < d.seq) \
            ORDER BY d.next_attempt_at, d.id LIMIT $4) \
        RETURNING id",
    // Writers are serialized, so rowids grow in commit order (routes, and so events, are never
    // deleted: a rowid is never reused).
    event_cursor = "e.rowid",
    number_events = &[],
}
