//! The delivery worker alone, over a SQLite store, against a real receiver on 127.0.0.1 whose
//! answer depends on the path: what is retried (timeouts, connection errors, 408, 429 with its
//! Retry-After, 5xx) and what stops (other 4xx, a redirect), the retry horizon, the response
//! prefix, and the SSRF guard at delivery time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use parking_lot::Mutex;
use starkroute_executor::{Clock, SystemClock};
use starkroute_server::config::WebhookSettings;
use starkroute_server::webhooks::{WebhookMetrics, WebhookWorker};
use starkroute_store::{
    DeliveryState, LeaseOwner, NewWebhook, RouteOrder, RouteStore, SqliteStore, TenantId,
    WebhookSecret, WebhookStore,
};
use starkroute_types::{
    Account, Amount, Asset, AssetClass, EtaRange, Layer, Leg, LegKind, Party, Position, Route,
    Token, Wei,
};

/// Requests per path.
type Hits = Arc<Mutex<HashMap<String, usize>>>;

async fn receiver(hits: Hits) -> String {
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let hits = hits.clone();
        async move {
            let path = uri.path().to_owned();
            *hits.lock().entry(path.clone()).or_default() += 1;
            match path.as_str() {
                "/404" => (StatusCode::NOT_FOUND, "no such hook").into_response(),
                "/408" => (StatusCode::REQUEST_TIMEOUT, "slow down").into_response(),
                "/429" => (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "120")], "later")
                    .into_response(),
                "/503" => (StatusCode::SERVICE_UNAVAILABLE, "down").into_response(),
                "/302" => (StatusCode::FOUND, [(header::LOCATION, "http://127.0.0.1:1/x")], "")
                    .into_response(),
                "/slow" => {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    (StatusCode::OK, "too late").into_response()
                }
                "/big" => (StatusCode::OK, "x".repeat(100_000)).into_response(),
                _ => (StatusCode::OK, "ok").into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn sample_route() -> Route {
    let alice = Account::L1("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".parse().unwrap());
    let position = Position::owned(alice);
    Route {
        summary: "one l1 transfer".into(),
        legs: vec![Leg {
            index: 0,
            kind: LegKind::L1Transfer,
            from: position,
            to: position,
            signer: Party::Sender,
            fees: vec![],
            eta: EtaRange::new(1, 2),
            description: "leg 0".into(),
        }],
        total_fee_wei: Wei::ZERO,
        eta: EtaRange::new(1, 2),
        destination: position,
        needs_recipient_action: false,
        assumptions: vec![],
    }
}

fn sample_order() -> RouteOrder {
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

fn settings(allow_private: bool, horizon_secs: u64) -> WebhookSettings {
    WebhookSettings {
        allow_private_targets: allow_private,
        retry_horizon_secs: horizon_secs,
        backoff_initial_ms: 60_000,
        backoff_max_ms: 600_000,
        connect_timeout_ms: 1_000,
        response_timeout_ms: 300,
        lease_ms: 10_000,
        concurrency: 32,
        ..WebhookSettings::default()
    }
}

/// A store with one endpoint per path (each receiving `route_created` only) and one route, so
/// each endpoint has exactly one delivery.
async fn store_with(
    base: &str,
    paths: &[&str],
) -> (tempfile::TempDir, Arc<SqliteStore>, HashMap<String, starkroute_store::WebhookId>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open_dir(dir.path()).await.unwrap());
    let tenant = TenantId::new("acme").unwrap();
    let mut ids = HashMap::new();
    for p in paths {
        let new = NewWebhook {
            url: format!("{base}{p}"),
            events: vec!["route_created".into()],
            description: String::new(),
            secret: WebhookSecret::new("whsec_worker_test_secret").unwrap(),
        };
        let hook = store.create_webhook(&tenant, &new, SystemClock.now()).await.unwrap();
        ids.insert((*p).to_owned(), hook.id);
    }
    let route = sample_route();
    store.create_route(&tenant, None, &route, &sample_order(), SystemClock.now()).await.unwrap();
    (dir, store, ids)
}

fn worker(store: &Arc<SqliteStore>, s: &WebhookSettings) -> WebhookWorker {
    let dyn_store: Arc<dyn WebhookStore> = store.clone();
    WebhookWorker::new(
        dyn_store,
        s,
        LeaseOwner::new("test-worker").unwrap(),
        Arc::new(SystemClock),
        Arc::new(WebhookMetrics::default()),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_decide_between_retry_and_give_up() {
    let hits = Hits::default();
    let base = receiver(hits.clone()).await;
    let paths = ["/ok", "/404", "/408", "/429", "/503", "/302", "/slow", "/big"];
    let (_dir, store, ids) = store_with(&base, &paths).await;
    // One more endpoint on a port nothing listens on: a connection error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let tenant = TenantId::new("acme").unwrap();
    let refused = store
        .create_webhook(
            &tenant,
            &NewWebhook {
                url: format!("http://{closed}/hook"),
                events: vec!["route_order".into()],
                description: String::new(),
                secret: WebhookSecret::new("whsec_worker_test_secret").unwrap(),
            },
            SystemClock.now(),
        )
        .await
        .unwrap();
    let route = sample_route();
    store.create_route(&tenant, None, &route, &sample_order(), SystemClock.now()).await.unwrap();

    let w = worker(&store, &settings(true, 86_400));
    let before = SystemClock.now();
    let sent = w.run_once().await.unwrap();
    assert_eq!(sent, paths.len() * 2 + 1, "every (endpoint, route)'s first delivery");

    let state = |path: &str| {
        let store = store.clone();
        let id = ids[path];
        let tenant = tenant.clone();
        async move { store.list_deliveries(&tenant, &id, None, 10).await.unwrap() }
    };
    let one = |d: Vec<starkroute_store::Delivery>| {
        assert!(!d.is_empty());
        d.into_iter().min_by_key(|d| d.id).unwrap()
    };
    let ok = one(state("/ok").await);
    assert_eq!((ok.state, ok.attempts), (DeliveryState::Delivered, 1));
    assert_eq!(ok.last_attempt.as_ref().unwrap().status, Some(200));
    for stop in ["/404", "/302"] {
        let d = one(state(stop).await);
        assert_eq!((d.state, d.attempts), (DeliveryState::Failed, 1), "{stop} stops");
    }
    for retry in ["/408", "/429", "/503", "/slow"] {
        let d = one(state(retry).await);
        assert_eq!((d.state, d.attempts), (DeliveryState::Pending, 1), "{retry} is retried");
        let wait = d.next_attempt_at.as_millis() - before.as_millis();
        // Backoff: 60 s doubled 0 times, half of it jitter (and 429's Retry-After: 120 s).
        let min = if retry == "/429" { 120_000 } else { 30_000 };
        assert!((min..=130_000).contains(&wait), "{retry}: retry in {wait} ms");
    }
    let slow = one(state("/slow").await);
    assert!(slow.last_attempt.as_ref().unwrap().error.as_deref().unwrap().contains("timed out"));
    let big = one(state("/big").await);
    assert_eq!(big.state, DeliveryState::Delivered);
    assert_eq!(big.last_attempt.as_ref().unwrap().response.as_deref().map(str::len), Some(256));
    let conn = store.list_deliveries(&tenant, &refused.id, None, 10).await.unwrap();
    assert_eq!(conn.len(), 1, "the second route's route_order");
    let first = &conn[0];
    assert_eq!((first.state, first.attempts), (DeliveryState::Pending, 1));
    assert!(first.last_attempt.as_ref().unwrap().error.as_deref().unwrap().contains("connection"));
    // Nothing else is due before the retries' time.
    assert_eq!(w.run_once().await.unwrap(), 0);
    let (d, r, f) = w.metrics().outcomes();
    assert_eq!((d, r, f), (4, 9, 4), "delivered, retried, given up");
    let mut text = String::new();
    w.refresh_stats().await;
    w.metrics().render(&mut text);
    assert!(text.contains("starkroute_webhook_queue_depth 9"), "{text}");
    assert_eq!(hits.lock().get("/404"), Some(&2), "one request per route, not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_horizon_a_delivery_is_given_up() {
    let hits = Hits::default();
    let base = receiver(hits.clone()).await;
    let (_dir, store, ids) = store_with(&base, &["/503"]).await;
    let w = worker(&store, &settings(true, 0));
    assert_eq!(w.run_once().await.unwrap(), 1);
    let tenant = TenantId::new("acme").unwrap();
    let d = store.list_deliveries(&tenant, &ids["/503"], None, 10).await.unwrap();
    assert_eq!((d[0].state, d[0].attempts), (DeliveryState::Failed, 1));
    assert_eq!(w.metrics().outcomes(), (0, 0, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_targets_are_never_contacted_on_a_configured_network() {
    let hits = Hits::default();
    let base = receiver(hits.clone()).await;
    let named = base.replace("127.0.0.1", "localhost");
    let (_dir, store, ids) = store_with(&base, &["/ok"]).await;
    let tenant = TenantId::new("acme").unwrap();
    // Registered by name (as if it had resolved elsewhere then): refused by the resolver.
    let by_name = store
        .create_webhook(
            &tenant,
            &NewWebhook {
                url: format!("{named}/named"),
                events: vec!["route_created".into()],
                description: String::new(),
                secret: WebhookSecret::new("whsec_worker_test_secret").unwrap(),
            },
            SystemClock.now(),
        )
        .await
        .unwrap();
    store
        .create_route(&tenant, None, &sample_route(), &sample_order(), SystemClock.now())
        .await
        .unwrap();
    let w = worker(&store, &settings(false, 86_400));
    w.run_once().await.unwrap();
    assert!(hits.lock().is_empty(), "no request reached the receiver: {:?}", hits.lock());
    let literal = store.list_deliveries(&tenant, &ids["/ok"], None, 10).await.unwrap();
    let first = literal.iter().min_by_key(|d| d.id).unwrap();
    assert_eq!(first.state, DeliveryState::Failed, "an internal IP literal is given up");
    assert!(first.last_attempt.as_ref().unwrap().error.as_deref().unwrap().contains("private"));
    let named = store.list_deliveries(&tenant, &by_name.id, None, 10).await.unwrap();
    assert_eq!(named[0].state, DeliveryState::Failed, "a name resolving inside is given up");
    let e = named[0].last_attempt.as_ref().unwrap().error.clone().unwrap();
    assert!(e.contains("private") || e.contains("loopback"), "{e}");
}
