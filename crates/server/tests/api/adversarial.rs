//! Adversarial input (issue 16): property-based bodies, headers, ids and query strings for every
//! endpoint never make the API answer 5xx or panic, every answer conforms to the OpenAPI document
//! (checked by the harness, `conform.rs`), and a refused request starts no route. And another
//! tenant's route is a 404 on every route-scoped endpoint the document lists.

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Value};

use crate::{bob_deposit_request, gift_request, Harness, ACME, DEMO};

/// Keys the request bodies use, so that generated objects often hit real fields.
const KEYS: &[&str] = &[
    "asset",
    "token",
    "token_id",
    "amount",
    "from",
    "to",
    "sender",
    "recipient",
    "l1",
    "starkex",
    "starknet",
    "objective",
    "allow_other_destinations",
    "quote_id",
    "route_index",
    "signature",
    "x",
];

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e300f64..1e300).prop_map(Value::from),
        "[ -~]{0,16}".prop_map(Value::String),
        prop_oneof![
            Just("0x5f5e100"),
            Just("100000000"),
            Just("-1"),
            Just("1.5"),
            Just("ETH"),
            Just("USDC"),
            Just("l1"),
            Just("starkex"),
            Just("starknet"),
            Just("0x95cf5c1b78ed03db3a1d69e722f2e2fa40cdf584"),
            Just("81M9ZZZZZZZZZZZZZZZZZZZZZZ"),
            Just("\u{0}\u{ffff}"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(prop::sample::select(KEYS), inner, 0..4).prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

/// A valid body with one change: a key's value replaced (at any depth), a key removed or added.
fn mutated(base: Value) -> impl Strategy<Value = Value> {
    let paths = leaf_paths(&base);
    (prop::sample::select(paths), 0..3u8, json_value(), prop::sample::select(KEYS)).prop_map(
        move |(path, how, value, key)| {
            let mut body = base.clone();
            let Some((last, parents)) = path.split_last() else { return value };
            let mut at = &mut body;
            for p in parents {
                at = &mut at[p.as_str()];
            }
            if let Some(obj) = at.as_object_mut() {
                match how {
                    0 => {
                        obj.insert(last.clone(), value);
                    }
                    1 => {
                        obj.remove(last);
                    }
                    _ => {
                        obj.insert(key.to_owned(), value);
                    }
                }
            }
            body
        },
    )
}

fn leaf_paths(v: &Value) -> Vec<Vec<String>> {
    let mut out = vec![];
    if let Some(obj) = v.as_object() {
        for (k, sub) in obj {
            out.push(vec![k.clone()]);
            for mut p in leaf_paths(sub) {
                p.insert(0, k.clone());
                out.push(p);
            }
        }
    }
    out
}

/// A body as bytes: generated JSON, a mutated valid body, or raw bytes.
fn body(base: Value) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => json_value().prop_map(|v| v.to_string().into_bytes()),
        5 => mutated(base).prop_map(|v| v.to_string().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..48),
        1 => Just(Vec::new()),
    ]
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        6 => Just(Some("application/json")),
        1 => Just(Some("application/json; charset=utf-8")),
        1 => Just(None),
        1 => Just(Some("text/plain")),
        1 => Just(Some("application/x-www-form-urlencoded")),
    ]
}

/// An id-like path segment: a real one, one with its first digit pushed beyond 128 bits, or
/// generated characters.
fn segment(real: String) -> impl Strategy<Value = String> {
    let wrapped = format!("8{}", &real[1..]);
    prop_oneof![
        2 => Just(real),
        1 => Just(wrapped),
        3 => "[0-9A-Za-z._~-]{1,30}",
    ]
}

#[test]
fn generated_requests_never_get_a_5xx_and_every_answer_conforms() {
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let h = rt.block_on(Harness::start());
    let (quote, paused) = rt.block_on(async {
        let q = h.quote(DEMO, gift_request()).await;
        let bq = h.quote(DEMO, bob_deposit_request(&h)).await;
        let (_, r) = h.start_route(DEMO, &bq, 0, None).await;
        let id = r["id"].as_str().unwrap().to_owned();
        h.wait_for(DEMO, &id, |r| r["status"] == "awaiting_signature").await;
        (q, id)
    });
    let created = std::sync::atomic::AtomicUsize::new(1);
    let seen = std::sync::Mutex::new(BTreeMap::<(u8, u16), usize>::new());
    let cases = Config { cases: 1000, failure_persistence: None, ..Config::default() };
    let start_body = json!({ "quote_id": quote["id"], "route_index": 0 });
    let strategy = (
        0..6u8,
        body(gift_request()),
        body(start_body),
        body(json!({ "signature": "0x01" })),
        content_type(),
        segment(paused.clone()),
        "[0-9A-Za-z=&%._~-]{0,24}",
    );
    let mut runner = TestRunner::new(cases);
    let result = runner.run(&strategy, |(endpoint, quote_body, start, sig, ct, id, query)| {
        let (method, uri, bytes) = match endpoint {
            0 => (Method::POST, "/v1/quotes".to_owned(), quote_body),
            1 => (Method::POST, "/v1/routes".to_owned(), start),
            2 => (Method::POST, format!("/v1/routes/{id}/legs/0/signature"), sig),
            3 => (Method::GET, format!("/v1/routes/{id}?{query}"), Vec::new()),
            4 => (Method::GET, format!("/v1/routes?{query}"), Vec::new()),
            _ => (Method::GET, format!("/v1/routes/{id}/events?{query}"), Vec::new()),
        };
        let mut req = Request::builder()
            .method(method.clone())
            .uri(&uri)
            .header(header::AUTHORIZATION, format!("Bearer {DEMO}"));
        if let Some(ct) = ct {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let Ok(req) = req.body(Body::from(bytes.clone())) else {
            return Err(TestCaseError::reject("not a URI"));
        };
        // An event stream of a live route stays open: read only its head.
        if endpoint == 5 {
            let res = rt.block_on(tower::ServiceExt::oneshot(h.app.clone(), req)).unwrap();
            prop_assert!(!res.status().is_server_error(), "{uri}: {}", res.status());
            return Ok(());
        }
        let (status, _, v) = rt.block_on(h.send(req));
        prop_assert!(
            !status.is_server_error(),
            "{method} {uri} {:?} → {status} {v}",
            String::from_utf8_lossy(&bytes)
        );
        *seen.lock().unwrap().entry((endpoint, status.as_u16())).or_default() += 1;
        // What the server accepted, the document allows.
        if status.is_success() && method == Method::POST {
            if let Ok(sent) = serde_json::from_slice::<Value>(&bytes) {
                crate::conform::check_request(&method, &uri, &sent);
            }
        }
        if status == StatusCode::CREATED && endpoint == 1 {
            created.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The generated requests reached every kind of answer, accepted ones included.
    let seen = seen.into_inner().unwrap();
    for (endpoint, status) in [(0, 201), (0, 400), (0, 415), (0, 422), (1, 422), (2, 422), (3, 200)]
    {
        assert!(seen.contains_key(&(endpoint, status)), "never {status} on {endpoint}: {seen:?}");
    }
    // Refused requests started nothing: the routes are those answered 201 (and the signature
    // posts changed nothing: the paused route still waits, unless a generated body signed it,
    // which a random signature cannot).
    let listed = rt.block_on(h.call(Method::GET, "/v1/routes?limit=100", Some(DEMO), None)).1;
    assert_eq!(listed["routes"].as_array().unwrap().len(), created.into_inner(), "{listed}");
    let r = rt.block_on(h.route(DEMO, &paused));
    assert_eq!(r["status"], "awaiting_signature");
    rt.block_on(h.stop());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenants_route_is_404_on_every_route_scoped_endpoint() {
    let h = Harness::start().await;
    let q = h.quote(DEMO, bob_deposit_request(&h)).await;
    let (_, r) = h.start_route(DEMO, &q, 0, None).await;
    let id = r["id"].as_str().unwrap().to_owned();
    let before = h.wait_for(DEMO, &id, |r| r["status"] == "awaiting_signature").await;
    let doc = starkroute_server::api::openapi_document();
    let mut checked = BTreeMap::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/v1/routes/{id}") {
            continue;
        }
        let uri = path.replace("{id}", &id).replace("{n}", "0");
        for (method, op) in ops.as_object().unwrap() {
            let m: Method = method.to_uppercase().parse().unwrap();
            // A valid body for the operation, so that only the tenant is wrong.
            let body = op.get("requestBody").map(|_| json!({ "signature": "0x01" }));
            let empty = path.ends_with("/cancel") || path.ends_with("/view-token");
            let body = if empty { Some(json!({})) } else { body };
            let (s, v) = h.call(m.clone(), &uri, Some(ACME), body).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{method} {uri}: {v}");
            assert_eq!(v["error"]["code"], "route_not_found", "{method} {uri}: {v}");
            checked.insert(format!("{method} {path}"), s);
        }
    }
    assert!(checked.len() >= 4, "the route-scoped endpoints: {checked:?}");
    let after = h.route(DEMO, &id).await;
    assert_eq!(after["last_event_seq"], before["last_event_seq"], "nothing changed");
    h.stop().await;
}
