//! The store conformance suite on SQLite (a temporary file per test), plus what only a file can
//! show: the data survives closing and reopening, and migrations run once.
#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../conformance/mod.rs"]
mod conformance;

use std::sync::Arc;

use conformance::{at, owner, sample_order, sample_route, tenant, LEASE, T0};
use serde_json::json;
use sqlx::Connection as _;
use starkroute_store::{Fence, LegChange, LegPatch, NewEvent, RouteStore, SqliteStore};
use starkroute_types::LegStatus;

async fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_dir(&dir.path().join("data")).await.unwrap();
    (dir, store)
}

macro_rules! on_sqlite {
    ($name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (_dir, store) = fresh().await;
            conformance::$name(&store).await;
            store.close().await;
        }
    };
}

conformance::for_each_behaviour!(on_sqlite);

macro_rules! webhooks_on_sqlite {
    ($name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (_dir, store) = fresh().await;
            conformance::webhooks::$name(&store).await;
            store.close().await;
        }
    };
}

conformance::webhooks::for_each_webhook_behaviour!(webhooks_on_sqlite);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_file_never_share_a_route() {
    let (dir, x) = fresh().await;
    let y = SqliteStore::open_dir(&dir.path().join("data")).await.unwrap();
    conformance::two_instances_never_share_a_route(&x, &y).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_payload_survives_reopening() {
    let (dir, store) = fresh().await;
    let a = tenant("acme");
    let me = owner("me");
    let (rec, _) =
        store.create_route(&a, None, &sample_route(2), &sample_order(), T0).await.unwrap();
    store.lease(&me, LEASE, T0).await.unwrap().unwrap();
    let payload = json!({"signed": "0xf86c", "hash": "0xdead", "nonce": 42});
    store.save_prepared(&rec.id, 0, payload.clone(), &me, at(1)).await.unwrap();
    let send = LegChange {
        index: 0,
        from: LegStatus::Prepared,
        to: LegStatus::Submitted,
        patch: LegPatch { submission: Some("0xdead".into()), ..LegPatch::default() },
    };
    let event = NewEvent::new("leg_submitted", json!({"leg": 0}));
    store
        .record_leg_transition(&rec.id, send, event, Fence::Lease(me.clone()), at(2))
        .await
        .unwrap();
    let before = store.get_route(&a, &rec.id).await.unwrap().unwrap();
    store.close().await;
    drop(store);

    let reopened = SqliteStore::open_dir(&dir.path().join("data")).await.unwrap();
    let after = reopened.get_route(&a, &rec.id).await.unwrap().unwrap();
    assert_eq!(after, before);
    assert_eq!(after.legs[0].prepared, Some(payload));
    assert_eq!(after.legs[0].status, LegStatus::Submitted);
    assert_eq!(after.lease.as_ref().map(|l| &l.owner), Some(&me), "the lease survives too");
    let events = reopened.events_since(&a, &rec.id, 0).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["route_created", "route_order", "leg_prepared", "leg_submitted"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_idempotent_and_the_file_is_wal() {
    let (dir, store) = fresh().await;
    let a = tenant("acme");
    let (rec, _) =
        store.create_route(&a, None, &sample_route(1), &sample_order(), T0).await.unwrap();
    // Open again while the first is open, then again after closing both.
    let second = SqliteStore::open_dir(&dir.path().join("data")).await.unwrap();
    assert!(second.get_route(&a, &rec.id).await.unwrap().is_some());
    store.close().await;
    second.close().await;
    let third = SqliteStore::open_dir(&dir.path().join("data")).await.unwrap();
    assert!(third.get_route(&a, &rec.id).await.unwrap().is_some());
    let path = third.path().to_owned();
    assert_eq!(path, dir.path().join("data").join(SqliteStore::FILE_NAME));
    third.close().await;

    let url = format!("sqlite://{}", path.display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let mode: String =
        sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await.unwrap();
    assert_eq!(mode, "wal");
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(applied, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_2_backfills_asset_and_amount_from_the_order_event() {
    let (_dir, store) = fresh().await;
    let url = format!("sqlite://{}", store.path().display());
    let run = |sql: String| {
        let url = url.clone();
        async move {
            let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap();
        }
    };
    let migration = include_str!("../../migrations/sqlite/0002_route_order.sql");
    let backfill = conformance::backfill_of(migration);
    conformance::legacy_routes_get_their_order_from_the_event(&store, run, backfill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usable_as_a_shared_trait_object() {
    let (_dir, store) = fresh().await;
    let store: Arc<dyn RouteStore> = Arc::new(store);
    let a = tenant("acme");
    let spawned = {
        let store = Arc::clone(&store);
        let a = a.clone();
        tokio::spawn(async move {
            store.create_route(&a, None, &sample_route(1), &sample_order(), T0).await
        })
    };
    let (rec, created) = spawned.await.unwrap().unwrap();
    assert!(created);
    assert!(store.get_route(&a, &rec.id).await.unwrap().is_some());
}

#[tokio::test]
async fn connect_opens_sqlite_from_a_url_a_path_or_a_directory_and_refuses_other_schemes() {
    use starkroute_store::{RouteId, TenantId};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nested/a.db");
    for url in [
        format!("sqlite://{}", file.display()),
        format!("sqlite:{}", file.display()),
        file.display().to_string(),
    ] {
        let store = starkroute_store::connect(&url, 2).await.unwrap();
        assert!(store
            .get_route(&TenantId::new("t").unwrap(), &RouteId::new())
            .await
            .unwrap()
            .is_none());
    }
    assert!(file.is_file());
    starkroute_store::connect(&format!("{}/", dir.path().display()), 2).await.unwrap();
    assert!(dir.path().join(SqliteStore::FILE_NAME).is_file());
    for bad in ["", "mysql://x/y", "sqlite://"] {
        let err = starkroute_store::connect(bad, 2).await.err().unwrap();
        assert!(err.to_string().contains("database"), "{bad}: {err}");
    }
}

/// The same suite through the group committer: it is a faithful `RouteStore`.
mod group_commit {
    use super::*;
    use starkroute_store::GroupCommit;

    async fn fresh_group() -> (tempfile::TempDir, GroupCommit) {
        let (dir, store) = fresh().await;
        (dir, GroupCommit::new(Arc::new(store), GroupCommit::MAX_BATCH))
    }

    macro_rules! on_group {
        ($name:ident) => {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (_dir, store) = fresh_group().await;
                conformance::$name(&store).await;
            }
        };
    }

    conformance::for_each_behaviour!(on_group);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_applies_share_commits_and_are_refused_one_by_one() {
        let (_dir, store) = fresh_group().await;
        let a = tenant("acme");
        let mut recs = Vec::new();
        for i in 0..64 {
            recs.push(
                store
                    .create_route(&a, None, &sample_route(1 + i % 3), &sample_order(), T0)
                    .await
                    .unwrap()
                    .0,
            );
        }
        let tasks: Vec<_> = recs
            .iter()
            .enumerate()
            .map(|(i, rec)| {
                let store = store.clone();
                // Every 8th is fenced on a version the route does not have: refused alone.
                let version = if i % 8 == 0 { rec.version + 5 } else { rec.version };
                let t = starkroute_store::Transition {
                    route: rec.id,
                    fence: Fence::Version(version),
                    leg: Some(LegChange {
                        index: 0,
                        from: LegStatus::Planned,
                        to: LegStatus::Planned,
                        patch: LegPatch { attempts: Some(1), ..LegPatch::default() },
                    }),
                    status: None,
                    events: vec![NewEvent::new("touched", json!({ "i": i }))],
                };
                tokio::spawn(async move { store.apply(t, at(1)).await })
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            let result = task.await.unwrap();
            assert_eq!(result.is_ok(), i % 8 != 0, "{i}: {result:?}");
        }
        for (i, rec) in recs.iter().enumerate() {
            let now = store.get_route(&a, &rec.id).await.unwrap().unwrap();
            assert_eq!(now.legs[0].attempts, u32::from(i % 8 != 0), "{i}");
            let events = store.events_since(&a, &rec.id, 0).await.unwrap();
            assert_eq!(events.iter().any(|e| e.kind == "touched"), i % 8 != 0, "{i}");
        }
    }
}
