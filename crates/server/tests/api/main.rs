//! The HTTP API over the embedded sandbox stack: through the `Router` with `oneshot`, and through
//! a real socket on 127.0.0.1 with reqwest.

#![allow(clippy::unwrap_used, clippy::expect_used)] // A failure is the test failing.

mod adversarial;
mod conform;
mod errors;
mod flows;
mod limits;
mod socket;
mod strict;
mod track;
mod webhook_worker;
mod webhooks;

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use serde_json::{json, Value};
use starkroute_testkit::server::{self, Options};
use tower::ServiceExt;

pub(crate) use starkroute_testkit::files::gift_request;
pub(crate) use starkroute_testkit::server::{ACME_KEY as ACME, DEMO_KEY as DEMO, QUOTE_TTL_SECS};

/// The shared serve-stack harness with two tenants (`demo`, `acme`), and requests through its
/// router.
pub(crate) struct Harness(server::Harness);

impl Deref for Harness {
    type Target = server::Harness;
    fn deref(&self) -> &server::Harness {
        &self.0
    }
}

impl DerefMut for Harness {
    fn deref_mut(&mut self) -> &mut server::Harness {
        &mut self.0
    }
}

impl Harness {
    /// The stack, with its executor running (fast polls) and the world's clock stopped.
    pub(crate) async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// [`Harness::start`] with more `STARKROUTE_…` settings. The tests poll fast: the rate
    /// limit is off unless a test sets it (tests/api/limits.rs).
    pub(crate) async fn start_with(env: &[(&str, &str)]) -> Self {
        let options = env.iter().fold(
            Options::default().tenant("acme", ACME).set("STARKROUTE_API__RATE_LIMIT_PER_SEC", 0),
            |o, (k, v)| o.set(k, v),
        );
        Self(server::Harness::start_with(options).await)
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
        let sent = body.clone();
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let method = req.method_ref().cloned().unwrap_or_default();
        let answer = self.send(req.body(body).unwrap()).await;
        // A body the server accepted is one the document allows.
        if let (true, Some(sent)) = (answer.0.is_success(), &sent) {
            conform::check_request(&method, uri, sent);
        }
        answer
    }

    /// A request through the router; the answer is checked against the OpenAPI document
    /// (`conform.rs`).
    pub(crate) async fn send(&self, req: Request<Body>) -> (StatusCode, HeaderMap, Value) {
        let (method, uri) = (req.method().clone(), req.uri().to_string());
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 16 << 20).await.unwrap();
        let v = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        conform::check(&method, &uri, status, &headers, &v);
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
        self.0.stop().await
    }
}

/// The index of the gift's route that deposits straight into Bob's StarkEx vault.
pub(crate) fn straight_into_bobs_vault(quote: &Value) -> usize {
    let want: Vec<Value> =
        server::STRAIGHT_INTO_BOBS_VAULT.iter().map(|k| serde_json::to_value(k).unwrap()).collect();
    quote["routes"]
        .as_array()
        .unwrap()
        .iter()
        .position(|r| {
            let kinds: Vec<&Value> =
                r["legs"].as_array().unwrap().iter().map(|l| &l["kind"]).collect();
            kinds.iter().copied().eq(want.iter())
        })
        .expect("the gift has the deposit-into-Bob's-vault route")
}

/// Bob deposits 0.01 ETH from L1 into his own StarkEx vault: the router holds no key of Bob's,
/// so the leg pauses for his signature.
pub(crate) fn bob_deposit_request(h: &Harness) -> Value {
    h.0.bob_deposit_request()
}
