//! Strict edges (issue 16): only JSON objects where objects are meant, at any depth; route ids
//! with an overflow check; one spelling of amounts; `Content-Type: application/json` on every
//! body; event streams resumed from anywhere end when the route is final; idempotent starts
//! answer one status per role however they interleave.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::{bob_deposit_request, gift_request, straight_into_bobs_vault, Harness, DEMO};

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error body: {v}"))
}

fn field(v: &Value) -> &str {
    v["error"]["field"].as_str().unwrap_or_else(|| panic!("no field named: {v}"))
}

async fn routes_of(h: &Harness) -> Vec<Value> {
    let (s, v) = h.call(Method::GET, "/v1/routes?limit=100", Some(DEMO), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["routes"].as_array().unwrap().clone()
}

/// A POST with a raw body and the given content type (none when `None`).
async fn post_raw(
    h: &Harness,
    uri: &str,
    body: &str,
    content_type: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = Request::post(uri).header(header::AUTHORIZATION, format!("Bearer {DEMO}"));
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    let (s, _, v) = h.send(req.body(Body::from(body.to_owned())).unwrap()).await;
    (s, v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrays_and_other_non_objects_are_refused_where_an_object_is_meant() {
    let h = Harness::start().await;
    let q = h.quote(DEMO, gift_request()).await;
    let quote_id = q["id"].as_str().unwrap();
    // The positional form serde would read as the struct's fields in order: it used to start a
    // route.
    let positional = json!([quote_id, 0]).to_string();
    let (s, v) = post_raw(&h, "/v1/routes", &positional, Some("application/json")).await;
    assert_eq!((s, code(&v), field(&v)), (StatusCode::BAD_REQUEST, "not_an_object", "body"), "{v}");
    let g = gift_request();
    let positional_quote =
        json!([g["asset"], g["amount"], g["from"], g["to"], g["sender"], g["recipient"]])
            .to_string();
    let (s, v) = post_raw(&h, "/v1/quotes", &positional_quote, Some("application/json")).await;
    assert_eq!((s, code(&v), field(&v)), (StatusCode::BAD_REQUEST, "not_an_object", "body"), "{v}");
    for uri in [
        "/v1/quotes",
        "/v1/routes",
        "/v1/routes/01JZZZZZZZZZZZZZZZZZZZZZZZ/legs/0/signature",
        "/v1/routes/01JZZZZZZZZZZZZZZZZZZZZZZZ/cancel",
    ] {
        for body in ["[]", "[\"0x01\"]", "null", "7", "\"x\"", "true"] {
            let (s, v) = post_raw(&h, uri, body, Some("application/json")).await;
            assert_eq!(
                (s, code(&v), field(&v)),
                (StatusCode::BAD_REQUEST, "not_an_object", "body"),
                "{uri} {body}: {v}"
            );
        }
    }
    // Nested: an array where a nested object is meant names the field.
    for (path, value) in [
        ("sender", json!(["0x95cf5c1b78ed03db3a1d69e722f2e2fa40cdf584"])),
        ("asset", json!(["ETH"])),
        ("recipient", json!([])),
    ] {
        let mut r = gift_request();
        r[path] = value;
        let (s, v) = h.call(Method::POST, "/v1/quotes", Some(DEMO), Some(r)).await;
        assert_eq!((s, field(&v)), (StatusCode::UNPROCESSABLE_ENTITY, path), "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains("a JSON object"), "{v}");
    }
    // A key given twice is malformed, not "the last one wins".
    let twice = format!(r#"{{"quote_id": "{quote_id}", "route_index": 0, "route_index": 1}}"#);
    let (s, v) = post_raw(&h, "/v1/routes", &twice, Some("application/json")).await;
    assert_eq!((s, code(&v)), (StatusCode::BAD_REQUEST, "malformed_json"), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("duplicate key"), "{v}");
    assert!(routes_of(&h).await.is_empty(), "no refused body started a route");
    // The object form still works.
    let (s, v) = h.start_route(DEMO, &q, 0, None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_needs_content_type_application_json() {
    let h = Harness::start().await;
    let body = gift_request().to_string();
    for ct in [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("json")] {
        let (s, v) = post_raw(&h, "/v1/quotes", &body, ct).await;
        assert_eq!(
            (s, code(&v), field(&v)),
            (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "content-type"),
            "{ct:?}: {v}"
        );
    }
    let (_, m) = h.call(Method::GET, "/metrics", None, None).await;
    assert!(m.as_str().unwrap().contains("starkroute_quotes_total 0"), "{m}");
    for ct in ["application/json", "application/json; charset=utf-8", "Application/JSON"] {
        let (s, v) = post_raw(&h, "/v1/quotes", &body, Some(ct)).await;
        assert_eq!(s, StatusCode::CREATED, "{ct}: {v}");
    }
    // A route start and a signature without it are refused before anything happens.
    let q = h.quote(DEMO, bob_deposit_request(&h)).await;
    let start = json!({ "quote_id": q["id"], "route_index": 0 }).to_string();
    let (s, _) = post_raw(&h, "/v1/routes", &start, None).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(routes_of(&h).await.is_empty());
    let (s, r) = post_raw(&h, "/v1/routes", &start, Some("application/json")).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap();
    let (s, _) = post_raw(
        &h,
        &format!("/v1/routes/{id}/legs/0/signature"),
        r#"{"signature": "0x01"}"#,
        Some("text/plain"),
    )
    .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A cancel with `{}` needs it; a cancel with no body needs none.
    let (s, _) = post_raw(&h, &format!("/v1/routes/{id}/cancel"), "{}", None).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    h.wait_for(DEMO, id, |r| r["status"] == "awaiting_signature").await;
    let (s, v) = post_raw(&h, &format!("/v1/routes/{id}/cancel"), "", None).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("cancelled")), "{v}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amounts_have_one_decimal_spelling() {
    let h = Harness::start().await;
    let mut r = bob_deposit_request(&h);
    for amount in ["0x2386f26fc10000", "010000000000000000", "+10000000000000000", "1e16", ""] {
        r["amount"] = json!(amount);
        let (s, v) = h.call(Method::POST, "/v1/quotes", Some(DEMO), Some(r.clone())).await;
        assert_eq!((s, field(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "amount"), "{amount}: {v}");
    }
    // A JSON number is not an amount either (amounts are strings of digits).
    r["amount"] = json!(10_000_000_000_000_000u64);
    let (s, v) = h.call(Method::POST, "/v1/quotes", Some(DEMO), Some(r.clone())).await;
    assert_eq!((s, field(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "amount"), "{v}");
    r["amount"] = json!("10000000000000000");
    let (s, v) = h.call(Method::POST, "/v1/quotes", Some(DEMO), Some(r)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["amount"], "10000000000000000");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_ids_beyond_128_bits_never_reach_another_route() {
    let h = Harness::start().await;
    let q = h.quote(DEMO, bob_deposit_request(&h)).await;
    let (_, r) = h.start_route(DEMO, &q, 0, None).await;
    let id = r["id"].as_str().unwrap().to_owned();
    let before = h.wait_for(DEMO, &id, |r| r["status"] == "awaiting_signature").await;
    assert!(id.starts_with('0'), "{id}");
    // The same 128 low bits with 2^128 (first digit 8) or more added, and other spellings.
    let lower = id.to_lowercase();
    let wrapped: Vec<String> = ["8", "9", "Z"]
        .iter()
        .map(|d| format!("{d}{}", &id[1..]))
        .chain([lower, format!("{id}0"), id[1..].to_owned()])
        .collect();
    for other in &wrapped {
        for (method, uri, body) in [
            (Method::GET, format!("/v1/routes/{other}"), None),
            (Method::GET, format!("/v1/routes/{other}/events"), None),
            (Method::POST, format!("/v1/routes/{other}/cancel"), None),
            (
                Method::POST,
                format!("/v1/routes/{other}/legs/0/signature"),
                Some(json!({ "signature": "0x01" })),
            ),
        ] {
            let (s, v) = h.call(method, &uri, Some(DEMO), body).await;
            assert_eq!((s, field(&v)), (StatusCode::UNPROCESSABLE_ENTITY, "id"), "{uri}: {v}");
        }
    }
    let after = h.route(DEMO, &id).await;
    assert_eq!(after["status"], "awaiting_signature", "the cancels reached nothing");
    assert_eq!(after["last_event_seq"], before["last_event_seq"]);
    h.stop().await;
}

/// The events of one SSE stream `(seq, type)`, read until the server ends it (at most 30 s).
async fn stream(h: &Harness, id: &str, last_event_id: Option<u64>) -> Vec<(u64, String)> {
    let mut req = Request::get(format!("/v1/routes/{id}/events"))
        .header(header::AUTHORIZATION, format!("Bearer {DEMO}"));
    if let Some(n) = last_event_id {
        req = req.header("last-event-id", n.to_string());
    }
    let res = h.app.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = tokio::time::timeout(
        Duration::from_secs(30),
        axum::body::to_bytes(res.into_body(), 1 << 24),
    )
    .await
    .unwrap_or_else(|_| panic!("the stream from {last_event_id:?} never ended"))
    .unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let mut seq = None;
        let mut kind = None;
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("id: ") {
                seq = Some(v.parse::<u64>().unwrap());
            }
            if let Some(v) = line.strip_prefix("event: ") {
                kind = Some(v.to_owned());
            }
        }
        if let (Some(s), Some(k)) = (seq, kind) {
            out.push((s, k));
        }
    }
    out
}

fn assert_contiguous(events: &[(u64, String)], from: u64, last: u64) {
    let seqs: Vec<u64> = events.iter().map(|(s, _)| *s).collect();
    let expected: Vec<u64> = (from + 1..=last).collect();
    assert_eq!(seqs, expected, "no gap, no duplicate, from {from}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_resumed_from_anywhere_ends_when_the_route_is_final() {
    let mut h = Harness::start().await;
    let q = h.quote(DEMO, gift_request()).await;
    let (_, r) = h.start_route(DEMO, &q, straight_into_bobs_vault(&q), None).await;
    let id = r["id"].as_str().unwrap().to_owned();
    // Opened while the route runs: from the start, and from far beyond its last event.
    let h = std::sync::Arc::new({
        h.run_world();
        h
    });
    let (h1, h2, i1, i2) = (h.clone(), h.clone(), id.clone(), id.clone());
    let live_all = tokio::spawn(async move { stream(&h1, &i1, None).await });
    let live_beyond = tokio::spawn(async move { stream(&h2, &i2, Some(1_000_000)).await });
    let done = h.wait_for(DEMO, &id, |r| r["status"] == "completed").await;
    let last = done["last_event_seq"].as_u64().unwrap();
    let all = live_all.await.unwrap();
    assert_contiguous(&all, 0, last);
    assert_eq!(all.last().unwrap().1, "route_completed");
    assert!(live_beyond.await.unwrap().is_empty(), "nothing beyond the last event, and it ended");
    // Resumed once final: before, at and beyond the last event.
    for from in [0, 1, last / 2, last - 1, last, last + 1, u64::MAX] {
        let events = stream(&h, &id, Some(from)).await;
        assert_contiguous(&events, from.min(last), last);
    }
    let h = std::sync::Arc::into_inner(h).expect("the streams are done");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_idempotent_starts_make_one_route_and_one_201() {
    let h = Harness::start().await;
    let q = h.quote(DEMO, bob_deposit_request(&h)).await;
    let body = json!({ "quote_id": q["id"], "route_index": 0 }).to_string();
    let calls: Vec<_> = (0..200)
        .map(|_| {
            let app = h.app.clone();
            let req = Request::post("/v1/routes")
                .header(header::AUTHORIZATION, format!("Bearer {DEMO}"))
                .header(header::CONTENT_TYPE, "application/json")
                .header("idempotency-key", "order-200")
                .body(Body::from(body.clone()))
                .unwrap();
            tokio::spawn(async move {
                let res = app.oneshot(req).await.unwrap();
                let status = res.status();
                let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
                (status, serde_json::from_slice::<Value>(&bytes).unwrap())
            })
        })
        .collect();
    let mut created = 0;
    let mut ids = std::collections::BTreeSet::new();
    for c in calls {
        let (s, v) = c.await.unwrap();
        match s {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => {}
            other => panic!("{other}: {v}"),
        }
        ids.insert(v["id"].as_str().unwrap().to_owned());
    }
    assert_eq!(ids.len(), 1, "one route");
    assert_eq!(created, 1, "201 for the call that created it, 200 for every replay");
    assert_eq!(routes_of(&h).await.len(), 1);
    h.stop().await;
}

/// Found by schemathesis (`tests/schemathesis/run.sh`): a body with a field the endpoint does not
/// take is a 422 naming it on every endpoint that reads a body — including those whose body is
/// empty or `{}` — and the document lists that 422 (the harness checks each answer against it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_body_field_is_a_documented_422_everywhere_a_body_is_read() {
    let h = Harness::start().await;
    let (s, hook) = h
        .call(
            Method::POST,
            "/v1/webhooks",
            Some(DEMO),
            Some(json!({ "url": "http://127.0.0.1:9/hook", "events": ["*"] })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hook}");
    let wh = hook["id"].as_str().unwrap();
    let unknown = json!({ "surprise": 1 });
    for uri in [
        "/v1/quotes".to_owned(),
        "/v1/routes".to_owned(),
        "/v1/routes/01JZZZZZZZZZZZZZZZZZZZZZZZ/cancel".to_owned(),
        format!("/v1/webhooks/{wh}/rotate-secret"),
        "/v1/webhooks".to_owned(),
    ] {
        let (s, v) = h.call(Method::POST, &uri, Some(DEMO), Some(unknown.clone())).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "POST {uri}: {v}");
        assert_eq!(code(&v), "invalid_field", "POST {uri}");
        assert_eq!(field(&v), "surprise", "POST {uri}");
    }
    h.stop().await;
}
