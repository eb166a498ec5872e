//! Webhook delivery throughput to a local receiver, against the store's own commit rate measured
//! in the same run.
//!
//! `cargo bench -p starkroute-server --bench webhooks` (`ROUTES=500` by default). Prints one line
//! per figure.
//!
//! 1. *Commit rate*: routes created back to back on the SQLite file (WAL, `synchronous=FULL`),
//!    one durable commit each — with their two events and, the endpoint subscribing to `*`, their
//!    two outbox rows: what the executor's writes cost once webhooks are on.
//! 2. *Delivery*: the worker drains those deliveries to an axum receiver on 127.0.0.1 that checks
//!    each signature (HMAC-SHA256) and answers 200: lease a batch (one commit), POST each signed
//!    event, record each attempt (one commit each). Deliveries per second, for 16 and 64 at once.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use starkroute_executor::{Clock, SystemClock};
use starkroute_server::config::WebhookSettings;
use starkroute_server::webhooks::{WebhookMetrics, WebhookWorker};
use starkroute_store::{
    LeaseOwner, NewWebhook, RouteOrder, RouteStore, SqliteStore, TenantId, WebhookSecret,
    WebhookStore, ALL_EVENTS,
};
use starkroute_types::{
    Account, Amount, Asset, AssetClass, EtaRange, Layer, Leg, LegKind, Party, Position, Route,
    Token, Wei,
};

const SECRET: &str = "whsec_benchmark_secret_0000";

fn route() -> Route {
    let alice = Account::L1("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".parse().unwrap());
    let p = Position::owned(alice);
    Route {
        summary: "bench".into(),
        legs: vec![Leg {
            index: 0,
            kind: LegKind::L1Transfer,
            from: p,
            to: p,
            signer: Party::Sender,
            fees: vec![],
            eta: EtaRange::new(1, 2),
            description: "leg".into(),
        }],
        total_fee_wei: Wei::ZERO,
        eta: EtaRange::new(1, 2),
        destination: p,
        needs_recipient_action: false,
        assumptions: vec![],
    }
}

fn order() -> RouteOrder {
    let eth = Token {
        symbol: "ETH".into(),
        class: AssetClass::Eth,
        decimals: 18,
        home: Layer::L1,
        l1: None,
        starknet: None,
        starkex: None,
    };
    RouteOrder { asset: Asset::fungible(eth).unwrap(), amount: Amount::from_u128(1) }
}

async fn receive(State(n): State<Arc<AtomicU64>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = headers.get("starkroute-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut parts = header.split(',');
    let t = parts.next().and_then(|p| p.strip_prefix("t=")).unwrap_or("");
    let sig = parts.next().and_then(|p| p.strip_prefix("v1=")).unwrap_or("");
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&body);
    if hex::decode(sig).ok().is_some_and(|s| mac.verify_slice(&s).is_ok()) {
        n.fetch_add(1, Ordering::Relaxed);
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

async fn commit_rate(store: &SqliteStore, tenant: &TenantId, routes: usize) -> f64 {
    let (r, o) = (route(), order());
    let started = Instant::now();
    for _ in 0..routes {
        store.create_route(tenant, None, &r, &o, SystemClock.now()).await.unwrap();
    }
    routes as f64 / started.elapsed().as_secs_f64()
}

async fn drain(store: &Arc<SqliteStore>, concurrency: u32, expect: u64) -> f64 {
    let settings =
        WebhookSettings { allow_private_targets: true, concurrency, ..WebhookSettings::default() };
    let dyn_store: Arc<dyn WebhookStore> = store.clone();
    let worker = WebhookWorker::new(
        dyn_store,
        &settings,
        LeaseOwner::new(format!("bench-{concurrency}")).unwrap(),
        Arc::new(SystemClock),
        Arc::new(WebhookMetrics::default()),
    )
    .unwrap();
    let started = Instant::now();
    let mut sent = 0u64;
    while sent < expect {
        let n = worker.run_once().await.unwrap();
        assert!(n > 0, "the outbox ran dry after {sent} of {expect}");
        sent += n as u64;
    }
    let rate = sent as f64 / started.elapsed().as_secs_f64();
    let (delivered, retried, failed) = worker.metrics().outcomes();
    assert_eq!((delivered, retried, failed), (sent, 0, 0));
    rate
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let routes: usize = std::env::var("ROUTES").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    let tenant = TenantId::new("bench").unwrap();

    let received = Arc::new(AtomicU64::new(0));
    let app = axum::Router::new().fallback(receive).with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let hook = NewWebhook {
        url: url.clone(),
        events: vec![ALL_EVENTS.into()],
        description: "bench".into(),
        secret: WebhookSecret::new(SECRET).unwrap(),
    };
    store.create_webhook(&tenant, &hook, SystemClock.now()).await.unwrap();

    let mut commits = Vec::new();
    let mut deliveries = Vec::new();
    for concurrency in [16u32, 64] {
        commits.push(commit_rate(&store, &tenant, routes).await);
        let expect = 2 * routes as u64;
        deliveries.push((concurrency, drain(&store, concurrency, expect).await));
    }
    commits.push(commit_rate(&store, &tenant, routes).await);
    assert_eq!(received.load(Ordering::Relaxed), 4 * routes as u64, "every delivery verified");
    let baseline = commits.iter().copied().fold(0.0, f64::max);
    println!(
        "store: route creations (2 events + 2 outbox rows each), one durable commit each: {} commits/s (runs: {})",
        baseline.round(),
        commits.iter().map(|c| format!("{c:.0}")).collect::<Vec<_>>().join(", ")
    );
    for (c, rate) in deliveries {
        println!(
            "webhooks, {c} at once: {:.0} deliveries/s = {:.1}% of the commit rate",
            rate,
            100.0 * rate / baseline
        );
    }
}
