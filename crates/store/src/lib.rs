#![doc = include_str!("../README.md")]

mod codec;
mod error;
mod migrate;
mod postgres;
mod sql;
mod sqlite;
mod webhook_sql;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;
/// The port and its model (the trait, records, transitions, errors, [`GroupCommit`]), re-exported
/// so that callers of the backends need one crate.
pub use starkroute_store_api::*;

/// Opens the store a URL names, migrated and ready:
/// - `postgres://…` or `postgresql://…`: PostgreSQL, through a pool of up to `max_connections`;
/// - `sqlite://PATH`, `sqlite:PATH` or a plain path: the SQLite file at `PATH` (created with its
///   directory if missing; a path ending in `/` or naming a directory means
///   `<dir>/starkroute.db`).
pub async fn connect(url: &str, max_connections: u32) -> Result<std::sync::Arc<dyn RouteStore>> {
    Ok(connect_with_webhooks(url, max_connections).await?.0)
}

/// [`connect`], with the same store as the [`WebhookStore`] of its endpoints and outbox.
pub async fn connect_with_webhooks(
    url: &str,
    max_connections: u32,
) -> Result<(std::sync::Arc<dyn RouteStore>, std::sync::Arc<dyn WebhookStore>)> {
    fn both<S: RouteStore + WebhookStore + 'static>(
        s: S,
    ) -> (std::sync::Arc<dyn RouteStore>, std::sync::Arc<dyn WebhookStore>) {
        let s = std::sync::Arc::new(s);
        (s.clone(), s)
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(both(PgStore::connect(url, max_connections).await?));
    }
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
    if path.is_empty() || path.contains("://") {
        return Err(StoreError::Invalid(format!(
            "database `{url}`: expected postgres://…, sqlite://PATH or a file path"
        )));
    }
    let path = std::path::Path::new(path);
    if path.is_dir() || url.ends_with('/') {
        return Ok(both(SqliteStore::open_dir(path).await?));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|source| StoreError::Io { path: parent.to_owned(), source })?;
    }
    Ok(both(SqliteStore::open(path).await?))
}
