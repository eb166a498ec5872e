//! The store conformance suite on a real PostgreSQL server that this test starts and stops.
//!
//! Needs the server binaries (`initdb`, `pg_ctl`, `postgres`) on `PATH` or under
//! `/usr/lib/postgresql/*/bin` (Debian: `apt-get install -y postgresql`), and fails loudly without
//! them. The server runs from a temporary directory on a free loopback port with a Unix socket in
//! that directory; as root it runs as the `postgres` user (or `nobody`), since `initdb` refuses root.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../conformance/mod.rs"]
mod conformance;

use sqlx::Connection as _;
use starkroute_store::PgStore;

#[path = "../support/pg_server.rs"]
mod pg_server;
use pg_server::PgServer;

impl PgServer {
    /// A fresh database, migrated, behind a store.
    async fn store(&self, database: &str) -> PgStore {
        PgStore::connect(&self.create_database(database).await, 8).await.unwrap()
    }
}

macro_rules! on_postgres {
    ($name:ident, $server:expr) => {{
        let store = $server.store(stringify!($name)).await;
        eprintln!("postgres: {}", stringify!($name));
        conformance::$name(&store).await;
        store.close().await;
    }};
}

macro_rules! webhooks_on_postgres {
    ($name:ident, $server:expr) => {{
        let store = $server.store(stringify!($name)).await;
        eprintln!("postgres: {}", stringify!($name));
        conformance::webhooks::$name(&store).await;
        store.close().await;
    }};
}

/// One server for the whole suite (starting one takes seconds); a fresh database per behaviour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_on_postgres() {
    let server = PgServer::start();
    conformance::for_each_behaviour!(on_postgres, server);
    conformance::webhooks::for_each_webhook_behaviour!(webhooks_on_postgres, server);

    // Routes from before migration 2 get their asset and amount from their order event.
    let store = server.store("backfill").await;
    let url = server.url("backfill");
    let run = |sql: String| {
        let url = url.clone();
        async move {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap();
        }
    };
    let migration = include_str!("../../migrations/postgres/0002_route_order.sql");
    let backfill = conformance::backfill_of(migration);
    conformance::legacy_routes_get_their_order_from_the_event(&store, run, backfill).await;
    store.close().await;

    // Two instances (two pools) on one database.
    let x = server.store("two_instances").await;
    let y = PgStore::connect(&server.url("two_instances"), 8).await.unwrap();
    conformance::two_instances_never_share_a_route(&x, &y).await;

    // Migrations are idempotent: connecting again applies nothing and keeps the data.
    let a = conformance::tenant("acme");
    let (rec, _) = x
        .create_route(
            &a,
            None,
            &conformance::sample_route(1),
            &conformance::sample_order(),
            conformance::T0,
        )
        .await
        .unwrap();
    x.close().await;
    y.close().await;
    let again = PgStore::connect(&server.url("two_instances"), 2).await.unwrap();
    use starkroute_store::RouteStore as _;
    assert!(again.get_route(&a, &rec.id).await.unwrap().is_some());
    let mut conn = sqlx::PgConnection::connect(&server.url("two_instances")).await.unwrap();
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(applied, 4);
    again.close().await;
}
