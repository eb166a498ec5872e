//! The crash harness: many routes on the sandbox while the executor *process* is killed with
//! SIGKILL at random points and restarted, on SQLite and on a real PostgreSQL server with two
//! executor instances.
//!
//! This process holds the sandbox (L1 and Starknet on one virtual clock, advanced continuously)
//! and serves its settlement-layer adapters over HTTP (`starkroute_layer_http`); the keys stay
//! here. The executors are `starkroute worker` processes (the real binary) reaching the layers
//! through `RemoteLayer`. A supervisor kills them with SIGKILL and restarts them:
//! - at chosen points of a leg, by a middleware in front of the adapters that knows which
//!   worker is calling: after `prepare` answered (payload built, not yet stored), before `send`
//!   (payload stored, not sent), after `send` executed (sent, not recorded), during `status`
//!   (mid-poll);
//! - at random moments (wherever the worker is: in a store commit, between routes).
//!
//! Then: every route is completed with every leg final; no payload was executed twice (each
//! sender's nonces equal the transactions of its route's stored payloads, each stored L1
//! transaction has exactly one successful receipt, each StarkEx deposit happened once); at the
//! adapters (`record`), nothing was prepared for a leg after the preparation whose payload the
//! store holds had answered, and every preparation dropped between `prepare` and the store (a
//! kill, a lost lease) used the stored payload's nonce and never executed; the sandbox's
//! conservation check holds. The workers also deliver every route event to a webhook receiver in
//! this process: each arrives (at least once), verified, in order per route. `mutant.sh` shows the harness fails against an executor that
//! re-signs instead of reconciling.
//!
//! Separate target (slow: about a minute per backend): `cargo test --test crash -- --test-threads=1`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, unreachable_pub)]

#[path = "../../crates/store/tests/support/pg_server.rs"]
mod pg_server;

mod faults;
mod harness;
mod record;
mod webhooks;

use harness::{run_harness, Backend};

/// Routes per run (the figure).
const ROUTES: usize = 200;
/// SIGKILLs per run.
const KILLS: usize = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_200_routes_50_kills() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("starkroute.db").display());
    run_harness(Backend { url, workers: 1, name: "sqlite" }, ROUTES, KILLS, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_workers_200_routes_50_kills() {
    let server = pg_server::PgServer::start();
    let url = server.create_database("crash").await;
    let dir = tempfile::tempdir().unwrap();
    run_harness(Backend { url, workers: 2, name: "postgres" }, ROUTES, KILLS, dir.path()).await;
}
