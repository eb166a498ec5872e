//! The HTTP API over the embedded sandbox stack: through the `Router` with `oneshot`, and through
//! a real socket on 127.0.0.1 with reqwest.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A failure is the test failing.

mod errors;
mod flows;
mod socket;
mod webhook_worker;
mod webhooks;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use starkroute_executor::{Clock, SystemClock};
use starkroute_server::api::hash_key;
use starkroute_server::config::{Config, Overrides};
use starkroute_server::stack::SandboxStack;
use starkroute_store::Timestamp;
use tokio::task::JoinHandle;
use tower::ServiceExt;

/// The sandbox's documented demo key (tenant `demo`).
pub(crate) const DEMO: &str = "sr_sandbox_demo";
/// A second tenant's key (tenant `acme`).
pub(crate) const ACME: &str = "sr_test_acme_key";
/// Quote lifetime in these tests.
pub(crate) const QUOTE_TTL_SECS: i64 = 60;

pub(crate) fn gift_request() -> Value {
    serde_json::from_str(include_str!("../../../../examples/requests/alice_to_bob_gift.json"))
        .unwrap()
}

/// The API's clock: the wall clock plus an offset the test can move forward.
#[derive(Default)]
pub(crate) struct ShiftedClock(AtomicI64);

impl ShiftedClock {
    pub(crate) fn advance(&self, d: Duration) {
        self.0.fetch_add(i64::try_from(d.as_millis()).unwrap(), Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(SystemClock.now().as_millis() + self.0.load(Ordering::SeqCst))
    }
}

/// A sandbox stack on a temporary data directory with two tenants.
pub(crate) struct Harness {
    pub(crate) stack: SandboxStack,
    pub(crate) app: Router,
    pub(crate) clock: Arc<ShiftedClock>,
    tasks: Vec<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// The stack, with its executor running (fast polls) and the world's clock stopped.
    pub(crate) async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// [`Harness::start`] with more `STARKROUTE_…` settings.
    pub(crate) async fn start_with(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tenants = format!(
            "[{{ name = \"demo\", key_sha256 = \"{}\" }}, {{ name = \"acme\", key_sha256 = \"{}\" }}]",
            hex::encode(hash_key(DEMO)),
            hex::encode(hash_key(ACME)),
        );
        let overrides = Overrides::new()
            .with_env([
                ("STARKROUTE_API__TENANTS".to_owned(), tenants),
                ("STARKROUTE_API__BODY_LIMIT_BYTES".to_owned(), "16384".to_owned()),
                ("STARKROUTE_API__QUOTE_TTL_SECS".to_owned(), QUOTE_TTL_SECS.to_string()),
                ("STARKROUTE_STORE__DATA_DIR".to_owned(), dir.path().display().to_string()),
                ("STARKROUTE_EXECUTOR__POLL_INTERVAL_MS".to_owned(), "20".to_owned()),
                ("STARKROUTE_EXECUTOR__BACKOFF_INITIAL_MS".to_owned(), "20".to_owned()),
                ("STARKROUTE_EXECUTOR__BACKOFF_MAX_MS".to_owned(), "200".to_owned()),
            ])
            .with_env(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let config = Config::layered(None, &overrides).unwrap();
        let clock = Arc::new(ShiftedClock::default());
        let stack = SandboxStack::start(&config, clock.clone()).await.unwrap();
        let app = stack.core.router();
        let tasks = vec![stack.core.spawn_executor()];
        Self { stack, app, clock, tasks, _dir: dir }
    }

    /// Runs the world's clock fast: ten simulated hours per real second.
    pub(crate) fn run_world(&mut self) {
        self.tasks.push(self.stack.spawn_world_clock(36_000));
    }

    /// Runs the webhook delivery worker.
    pub(crate) fn run_webhooks(&mut self) {
        self.tasks.push(self.stack.core.spawn_webhooks());
    }

    /// A request through the router.
    pub(crate) async fn call(
        &self,
        method: Method,
        uri: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, _, v) = self.call_with(method, uri, key, body, &[]).await;
        (status, v)
    }

    pub(crate) async fn call_with(
        &self,
        method: Method,
        uri: &str,
        key: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(k) = key {
            req = req.header(header::AUTHORIZATION, format!("Bearer {k}"));
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        self.send(req.body(body).unwrap()).await
    }

    pub(crate) async fn send(&self, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 16 << 20).await.unwrap();
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, headers, v)
    }

    /// Quotes `request` as `key`'s tenant.
    pub(crate) async fn quote(&self, key: &str, request: Value) -> Value {
        let (s, q) = self.call(Method::POST, "/v1/quotes", Some(key), Some(request)).await;
        assert_eq!(s, StatusCode::CREATED, "{q}");
        q
    }

    /// Starts a quote's route.
    pub(crate) async fn start_route(
        &self,
        key: &str,
        quote: &Value,
        index: usize,
        idem: Option<&str>,
    ) -> (StatusCode, Value) {
        let body = json!({ "quote_id": quote["id"], "route_index": index });
        let headers: Vec<(&str, &str)> = idem.map(|k| ("idempotency-key", k)).into_iter().collect();
        let (s, _, v) =
            self.call_with(Method::POST, "/v1/routes", Some(key), Some(body), &headers).await;
        (s, v)
    }

    pub(crate) async fn route(&self, key: &str, id: &str) -> Value {
        let (s, v) = self.call(Method::GET, &format!("/v1/routes/{id}"), Some(key), None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// Polls the route until `done` says so (at most 20 s).
    pub(crate) async fn wait_for(
        &self,
        key: &str,
        id: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        for _ in 0..2_000 {
            let r = self.route(key, id).await;
            if done(&r) {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("route {id} never got there: {}", self.route(key, id).await);
    }

    /// Stops everything; returns the data directory (deleted when dropped).
    pub(crate) async fn stop(self) -> tempfile::TempDir {
        self.stack.core.signal_shutdown();
        for t in self.tasks {
            t.await.unwrap();
        }
        self.stack.close().await;
        self._dir
    }
}

/// The index of the gift's route that deposits straight into Bob's StarkEx vault.
pub(crate) fn straight_into_bobs_vault(quote: &Value) -> usize {
    quote["routes"]
        .as_array()
        .unwrap()
        .iter()
        .position(|r| {
            let kinds: Vec<&str> =
                r["legs"].as_array().unwrap().iter().map(|l| l["kind"].as_str().unwrap()).collect();
            kinds == ["starknet_nft_withdraw", "l1_claim_from_nft_bridge", "l1_deposit_to_starkex"]
        })
        .expect("the gift has the deposit-into-Bob's-vault route")
}

/// Bob deposits 0.01 ETH from L1 into his own StarkEx vault: the router holds no key of Bob's,
/// so the leg pauses for his signature.
pub(crate) fn bob_deposit_request(h: &Harness) -> Value {
    let bob = &h.stack.demo.bob;
    json!({
        "asset": { "token": "ETH" },
        "amount": "10000000000000000",
        "from": "l1",
        "to": "starkex",
        "sender": { "l1": bob.l1().to_string(), "starkex": bob.stark_key().to_string() },
        "recipient": { "starkex": bob.stark_key().to_string() },
    })
}
