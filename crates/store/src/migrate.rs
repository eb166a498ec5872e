//! The schema, embedded in the binary and applied on open (already-applied versions are skipped).

use std::{borrow::Cow, future::Future, pin::Pin};

use sqlx::{
    error::BoxDynError,
    migrate::{Migration, MigrationSource, MigrationType, Migrator},
};

use crate::{error::Db, Result, StoreError};

/// `(version, description, SQL)` of each migration, in order.
type Steps = &'static [(i64, &'static str, &'static str)];

pub(crate) const SQLITE: Steps = &[
    (1, "routes", include_str!("../migrations/sqlite/0001_routes.sql")),
    (2, "route order", include_str!("../migrations/sqlite/0002_route_order.sql")),
    (3, "webhooks", include_str!("../migrations/sqlite/0003_webhooks.sql")),
    (4, "view tokens", include_str!("../migrations/sqlite/0004_view_tokens.sql")),
];

pub(crate) const POSTGRES: Steps = &[
    (1, "routes", include_str!("../migrations/postgres/0001_routes.sql")),
    (2, "route order", include_str!("../migrations/postgres/0002_route_order.sql")),
    (3, "webhooks", include_str!("../migrations/postgres/0003_webhooks.sql")),
    (4, "view tokens", include_str!("../migrations/postgres/0004_view_tokens.sql")),
];

/// The embedded SQL as a sqlx migration source (what `sqlx::migrate!` would build, without
/// compiling sqlx's proc macros).
#[derive(Debug)]
struct Embedded(Steps);

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<Vec<Migration>, BoxDynError>> + Send + 's>>
    {
        let migrations = self
            .0
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    Cow::Borrowed(*sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

pub(crate) async fn migrator(steps: Steps) -> Result<Migrator> {
    Migrator::new(Embedded(steps)).await.map_err(migrate_error)
}

/// A failed migration as a [`StoreError`] (a statement that failed keeps its driver error).
pub(crate) fn migrate_error(e: sqlx::migrate::MigrateError) -> StoreError {
    Db::from(e).into()
}
